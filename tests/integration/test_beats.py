"""Big shares (docs/PROTOCOL.md section 3, `beat`; section 5, LIST).

A peer whose round would need more than 4 pages sends one `beat` with its
catalog's digest instead; a listener that lacks that version fetches the list
from the peer's chunk server with LIST. All on loopback.
"""
import json
import os
import select
import socket
import struct
import threading
import time

import pytest

from conftest import VALGRIND, BROADCAST, wait_until

PER_SOURCE_S = 2.0  # answer_limit: one answer per source address per 2 s
NFILES = 300        # about 40 pages: far more than 4


def big_share(peer, n=NFILES):
    for i in range(n):
        (peer.share / ("photo-%04d.jpg" % i)).write_bytes(b"%d" % i * 7)
    return {"photo-%04d.jpg" % i for i in range(n)}


def sniffer(swarm):
    """A socket on the swarm's port beside the listeners: hears every broadcast."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("0.0.0.0", swarm.udp_port))
    return s


def datagrams_of(sock, tag, seconds):
    """The datagrams of `tag` heard for `seconds`, as JSON objects."""
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            continue
        data = sock.recv(4096)
        try:
            msg = json.loads(data)
        except ValueError:
            continue
        if msg.get("tag") == tag:
            got.append(msg)
    return got


def test_big_share_sends_beats_and_the_list_comes_by_list(swarm):
    sniff = sniffer(swarm)
    try:
        a = swarm.peer("alpha", interval=1)
        want = big_share(a)
        b = swarm.peer("beta", interval=1)
        a.start("server", "announcer")
        b.start("listener")
        wait_until(lambda: b.names_from("alpha") == want, 10, "beta to have alpha's 300 files")
        heard = datagrams_of(sniff, "alpha", 3.5)
    finally:
        sniff.close()
    # Interval 1: about 3 rounds in 3.5 s, each one datagram, a beat.
    assert 2 <= len(heard) <= 5, heard
    assert all(m["type"] == "beat" and m["files"] == NFILES and len(m["digest"]) == 32 for m in heard), heard
    assert len({m["digest"] for m in heard}) == 1
    out = b.procs["listener"].output()
    assert "fetched: 300 file(s)" in out, out[-2000:]
    # Unchanged share: the announced list is fetched once, then each beat only
    # refreshes. (A list fetched while alpha's server was still hashing is
    # older than the beat's digest and is fetched again at once: only such
    # lists may come before it.)
    fetched = [l for l in out.splitlines() if "fetched: " in l]
    assert sum(heard[0]["digest"] in l for l in fetched) == 1, out[-2000:]
    assert heard[0]["digest"] in fetched[-1], out[-2000:]
    peers = open(b.dir / "peers.txt").read()
    assert heard[0]["digest"] in peers, peers


def late_joiner(swarm, key=()):
    if VALGRIND:
        pytest.skip("a 3 s latency bound is not a property of programs slowed 20-50 times by valgrind; "
                    "the plain and ASan passes run it")
    a = swarm.peer("alpha", interval=60)
    want = big_share(a)
    a.start("server", "announcer", "listener", extra=list(key))
    b = swarm.peer("beta", interval=60)
    t_up = time.monotonic()
    b.start("listener", extra=list(key))
    wait_until(lambda: b.names_from("alpha") == want, 10, "beta to have alpha's 300 files")
    wait_until(lambda: time.monotonic() - t_up > PER_SOURCE_S + 0.2, PER_SOURCE_S + 1, "the answer window to pass")
    c = swarm.peer("gamma", interval=60)
    t0 = time.monotonic()
    c.start("listener", extra=list(key))
    wait_until(lambda: c.names_from("alpha") == want, 3.0, "every file at the late joiner")
    print("late joiner: 300 files through LIST in %.3f s" % (time.monotonic() - t0))
    return c


def test_late_joiner_gets_a_big_list_within_3s(swarm):
    late_joiner(swarm)


def test_late_joiner_gets_a_big_list_with_a_network_key(swarm, tmp_path):
    key = tmp_path / "key"
    key.write_text(os.urandom(32).hex() + "\n")
    c = late_joiner(swarm, ("--key-file", str(key)))
    assert "not fetched" not in c.procs["listener"].output()


def test_a_change_reaches_the_listener_within_3s(swarm):
    a = swarm.peer("alpha", interval=60)
    want = big_share(a)
    # alpha's listener answers beta's query with alpha's round (the beat): beta
    # may start before or after alpha's first beat has gone out.
    a.start("server", "announcer", "listener")
    b = swarm.peer("beta", interval=60)
    b.start("listener")
    wait_until(lambda: b.names_from("alpha") == want, 10, "beta to have alpha's 300 files")
    t0 = time.monotonic()
    (a.share / "new.jpg").write_bytes(b"a new photo")
    wait_until(lambda: "new.jpg" in b.names_from("alpha"), 3.0, "the new file at beta")
    print("change: at the listener %.3f s after the file was written" % (time.monotonic() - t0))
    (a.share / "photo-0000.jpg").unlink()
    wait_until(lambda: "photo-0000.jpg" not in b.names_from("alpha"), 3.0, "the removed file gone at beta")


class BadLister:
    """A chunk server that answers LIST with garbage (mode "garbage"), with
    pages that do not hash to its digest ("lying"), or never ("silent")."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            head = conn.recv(10)
            if len(head) < 10:
                return
            self.requests += 1
            rid = struct.unpack(">I", head[6:10])[0]
            if self.mode == "garbage":
                conn.sendall(struct.pack(">IBBI", 6 + 5, 1, 0x84, rid) + b"{{{{{")
            elif self.mode == "lying":
                page = json.dumps({"v": 1, "type": "announce", "tag": "liar", "port": self.port, "interval": 60,
                                   "seq": 0, "page": 0, "pages": 1, "files": [
                                       {"name": "lie.txt", "size": 1, "chunk": 1048576, "root": "ab" * 32,
                                        "complete": True}]}).encode()
                conn.sendall(struct.pack(">IBBI", 6 + len(page), 1, 0x84, rid) + page)
                conn.sendall(struct.pack(">IBBI", 6 + 32, 1, 0x85, rid) + b"0" * 32)
            time.sleep(30)  # never closes: the listener must
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def beat(tag, port, digest):
    return json.dumps({"v": 1, "type": "beat", "tag": tag, "port": port, "interval": 60, "seq": 1,
                       "digest": digest, "files": 1}).encode()


def listener_hearing_beats_of(swarm, tags, listers):
    """beta's listener, and a forged beat for each lister (broadcast): each gets its LIST request."""
    b = swarm.peer("beta", interval=60)
    b.start("listener")
    wait_until(lambda: (b.dir / "tags.txt").exists(), 5, "beta's tags.txt")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    for tag, bl in zip(tags, listers):
        s.sendto(beat(tag, bl.port, "1" * 32), (BROADCAST, swarm.udp_port))
    s.close()
    wait_until(lambda: all(bl.requests >= 1 for bl in listers), 3, "the LIST requests")
    return b


def test_a_bad_lister_does_not_hang_the_listener_or_keep_others_out(swarm):
    bad = [BadLister("silent"), BadLister("garbage"), BadLister("lying")]
    tags = ["mute", "junk", "liar"]
    try:
        b = listener_hearing_beats_of(swarm, tags, bad)
        # An honest big share is fetched meanwhile (a slot is left, and the
        # bad ones end within their timeout).
        a = swarm.peer("alpha", interval=60)
        want = big_share(a)
        a.start("server", "announcer")
        wait_until(lambda: b.names_from("alpha") == want, 5, "beta to have alpha's files beside the bad listers")
        assert not any(b.names_from(t) for t in tags)
        wait_until(lambda: b.procs["listener"].output().count("not fetched") >= 3, 8, "the bad fetches to end")
        assert b.procs["listener"].alive()
    finally:
        for bl in bad:
            bl.close()


def test_a_beat_heard_while_every_fetch_runs_waits_its_turn(swarm):
    """4 silent listers take every fetch; alpha's beat (interval 60) waits in
    the queue and is fetched once they time out, not a minute later."""
    bad = [BadLister("silent") for _ in range(4)]
    try:
        b = listener_hearing_beats_of(swarm, ["mute%d" % i for i in range(4)], bad)
        a = swarm.peer("alpha", interval=60)
        want = big_share(a)
        t0 = time.monotonic()
        a.start("server", "announcer")
        wait_until(lambda: b.names_from("alpha") == want, 10, "alpha's files once a fetch is free")
        print("queued fetch: alpha's list %.3f s after its start" % (time.monotonic() - t0))
    finally:
        for bl in bad:
            bl.close()
