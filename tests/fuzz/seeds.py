#!/usr/bin/python3
"""Writes the seed corpus of valid messages (run once; the output is kept in
git under tests/fuzz/corpus/)."""
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


f1 = {"name": "docs/a b.txt", "size": 12, "chunk": 1048576, "root": ROOT, "complete": True}
f2 = {"name": "video.mp4", "size": 3000000, "chunk": 65536, "root": ROOT, "complete": False}
put("announce", "files", json.dumps({"v": 1, "type": "announce", "tag": "alpha", "port": 41771, "interval": 60,
                                     "seq": 7, "page": 0, "pages": 1, "files": [f1, f2]}))
put("announce", "bye", json.dumps({"v": 1, "type": "bye", "tag": "alpha", "port": 41771}))
put("announce", "beat", json.dumps({"v": 1, "type": "beat", "tag": "alpha", "port": 41771, "interval": 60, "seq": 8,
                                    "digest": "0123456789abcdef0123456789abcdef", "files": 20000}))
put("announce", "page-digest", json.dumps({"v": 1, "type": "announce", "tag": "alpha", "port": 41771, "interval": 60,
                                           "seq": 9, "page": 0, "pages": 1,
                                           "digest": "0123456789abcdef0123456789abcdef", "files": [f1]}))
put("announce", "page", json.dumps({"v": 1, "type": "announce", "tag": "b", "port": 1, "interval": 1, "seq": 2,
                                    "page": 1, "pages": 3, "files": []}))

def frame(t, rid, payload):
    return struct.pack(">IBBI", 6 + len(payload), 1, t, rid) + payload

root = bytes.fromhex(ROOT)
manifest_bytes = b"LSM1" + struct.pack(">QII", 5000, 4096, 2) + hashlib.sha256(b"a").digest() + hashlib.sha256(b"b").digest()
put("proto", "requests", frame(1, 1, root) + frame(2, 2, root + struct.pack(">I", 3)) + frame(3, 3, root))
put("proto", "replies", frame(0x81, 1, manifest_bytes) + frame(0x82, 2, struct.pack(">I", 0) + b"xyz") +
    frame(0x83, 3, struct.pack(">I", 10) + b"\xff\xc0") + frame(0xFF, 4, b"\x00\x03chunk not held"))
put("proto", "list", frame(4, 5, b""))
put("proto", "list-replies", frame(0x84, 5, b'{"v":1}') + frame(0x85, 5, b"0123456789abcdef0123456789abcdef"))
put("manifest", "two-chunks", manifest_bytes)
put("manifest", "empty", b"LSM1" + struct.pack(">QII", 0, 1048576, 0))

def tframe(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body

put("tmsg", "session", tframe({"v": 1, "type": "register", "id": 1, "host": "kitchen", "port": 41771}) +
    tframe({"v": 1, "type": "publish", "id": 2, "replace": True, "files": [f1, f2]}) +
    tframe({"v": 1, "type": "lookup", "id": 3, "name": "video.mp4"}) +
    tframe({"v": 1, "type": "list", "id": 4, "offset": 0, "limit": 100}) +
    tframe({"v": 1, "type": "ping", "id": 5}))
put("tmsg", "entries", json.dumps({"v": 1, "type": "entries", "id": 3, "total": 1, "offset": 0,
                                   "entries": [dict(f1, host="kitchen", addr="127.0.0.1", port=41771)]}))
put("tmsg", "subscribe", tframe({"v": 1, "type": "subscribe", "id": 7}) +
    tframe({"v": 1, "type": "entries", "id": 7, "total": 1, "offset": 0,
            "entries": [dict(f1, host="kitchen", addr="127.0.0.1", port=41771)]}))
put("tmsg", "error", json.dumps({"v": 1, "type": "error", "id": 1, "code": 2, "reason": "the name is taken"}))
put("tags", "complete", "alpha\t127.0.0.1:41771\t%s\t12\t1048576\tcomplete\t1795605240\tdocs/a b.txt" % ROOT)
put("tags", "partial", "b\t10.1.2.3:9\t%s\t3000000\t65536\tpartial\t0\tvideo.mp4" % ROOT)
put("announce", "query", json.dumps({"v": 1, "type": "query", "tag": "late"}))
put("peers", "file", "# lanswarm peers v1: tag\taddress:port\thow\tfirst_seen\tlast_seen\tinterval\tfiles\tdigest\n"
    "alpha\t127.0.0.1:41771\tbroadcast,unicast\t1795605000\t1795605240\t60\t12\t-\n"
    "empty\t10.1.2.3:9\ttracker\t0\t0\t3600\t0\t0123456789abcdef0123456789abcdef\n")
put("peers", "line", "b\t127.0.0.2:1\tbroadcast,multicast,unicast,tracker\t5\t6\t1\t4294967295\t-")
put("tags", "ipv6-link-local", "c\t[fe80::1%%eth0]:41771\t%s\t5\t1048576\tcomplete\t1795605240\tv6.txt" % ROOT)
put("tags", "ipv6-global", "d\t[fd00::2]:41771\t%s\t5\t1048576\tpartial\t1795605240\tv6.txt" % ROOT)
put("config", "full", "# a peer\ntag = kitchen\nudp_port = 41770\ntcp_port = 41771\nbroadcast = auto\n"
    "interval = 60\nchunk_size = 1M\nrate_limit = 25M\ntracker = 127.0.0.1:41772\nlog_level = info\n")
