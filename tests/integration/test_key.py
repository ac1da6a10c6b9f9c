"""The optional network key: only peers holding it take part."""
import json
import os
import socket
import struct

from conftest import make_file, sha256_file, wait_until, free_port
from fakepeer import tags_line
from test_tracker import shell


def key_file(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(os.urandom(32).hex().encode() + b"\n")
    return str(p)


def test_keyed_peers_share_strangers_get_nothing(swarm, tmp_path):
    key, other = key_file(tmp_path, "key"), key_file(tmp_path, "other")
    a = swarm.peer("alpha")
    src = make_file(a.share / "secret.bin", 2 * 1024 * 1024 + 3, seed=31)
    a.start("server", "announcer", extra=["--key-file", key])
    friend = swarm.peer("friend")
    friend.start("listener", extra=["--key-file", key])
    stranger = swarm.peer("stranger")
    stranger.start("listener")
    wrong = swarm.peer("wrong")
    wrong.start("listener", extra=["--key-file", other])
    wait_until(lambda: "secret.bin" in friend.names_from("alpha"), 5, "the keyed listener to hear alpha")
    # The others heard the same datagrams and kept nothing.
    wait_until(lambda: "dropped datagram" in stranger.procs["listener"].output(), 5, "the stranger's refusal")
    wait_until(lambda: "not authenticated" in wrong.procs["listener"].output(), 5, "the wrong key's refusal")
    assert stranger.names_from("alpha") == set() and wrong.names_from("alpha") == set()
    # The friend downloads; the stranger, handed the same tags.txt, gets nothing.
    r = friend.download("secret.bin", "--key-file", key)
    assert r.returncode == 0, r.stderr
    assert sha256_file(friend.dir / "downloads" / "secret.bin") == sha256_file(src)
    (stranger.dir / "tags.txt").write_text((friend.dir / "tags.txt").read_text())
    r = stranger.download("secret.bin")
    assert r.returncode == 4 and "requires a network key" in r.stderr, r.stderr
    (wrong.dir / "tags.txt").write_text((friend.dir / "tags.txt").read_text())
    r = wrong.download("secret.bin", "--key-file", other)
    assert r.returncode == 4 and "network key" in r.stderr, r.stderr
    assert not (stranger.dir / "downloads" / "secret.bin").exists()
    # A raw client speaking plaintext: an ERROR 7 in plaintext, the close, and not a byte of data.
    root = [x["root"] for x in friend.tags() if x["name"] == "secret.bin"][0]
    c = socket.create_connection(("127.0.0.1", a.tcp_port), timeout=3)
    c.sendall(struct.pack(">IBBI", 38, 1, 0x01, 5) + bytes.fromhex(root))
    reply = c.recv(4096)
    assert reply[5] == 0xFF and struct.unpack(">H", reply[10:12])[0] == 7
    assert c.recv(4096) == b""  # closed
    c.close()
    assert "end=auth-failed" in (a.dir / "server.log").read_text()
    assert "no network key (plaintext); closed" in a.procs["server"].output()
    assert "not our network key?" in a.procs["server"].output()  # the wrong key's handshake


def test_keyed_tracker(swarm, tmp_path):
    key = key_file(tmp_path, "key")
    t = swarm.tracker("--key-file", key)
    a = swarm.peer("alpha")
    a.udp_port = free_port(socket.SOCK_DGRAM)
    (a.share / "a.txt").write_text("a")
    a.start("server", "announcer", extra=["--tracker", "127.0.0.1:%d" % t.port, "--key-file", key])
    wait_until(lambda: "host registered name=alpha" in t.output(), 5, "alpha registered")
    b = swarm.peer("intruder")
    b.udp_port = free_port(socket.SOCK_DGRAM)
    b.start("announcer", extra=["--tracker", "127.0.0.1:%d" % t.port])
    wait_until(lambda: "requires a network key" in b.procs["announcer"].output(), 5, "the intruder told")
    assert "intruder" not in shell(t, "list", "connected since")
    # A raw client speaking plaintext cannot even look up: an error 6, and the close.
    c = socket.create_connection(("127.0.0.1", t.port), timeout=3)
    body = json.dumps({"v": 1, "type": "lookup", "name": "a.txt", "id": 1}).encode()
    c.sendall(struct.pack(">I", len(body)) + body)
    n = struct.unpack(">I", c.recv(4))[0]
    reply = json.loads(c.recv(n))
    assert reply["type"] == "error" and reply["code"] == 6
    assert c.recv(100) == b""
    c.close()
    # A peer with another key: no TLS, told why.
    w = swarm.peer("wrongkey")
    w.udp_port = free_port(socket.SOCK_DGRAM)
    w.start("announcer", extra=["--tracker", "127.0.0.1:%d" % t.port, "--key-file", key_file(tmp_path, "other")])
    wait_until(lambda: "no TLS with our network key" in w.procs["announcer"].output(), 5, "the wrong key told")
    assert "wrongkey" not in shell(t, "list", "connected since")


def test_downloader_refuses_servers_without_our_key(swarm, tmp_path):
    """A keyed downloader asks nothing of a server that cannot do the TLS
    handshake with its key: one with no key, one with another."""
    key, other = key_file(tmp_path, "key"), key_file(tmp_path, "other")
    data = os.urandom(3 * 65536 + 5)
    d = swarm.peer("fetcher")
    for tag, extra, says, end in (("nokey", [], "the peer does not use a network key (it answered in plaintext)",
                                   "protocol-error"),
                                  ("otherkey", ["--key-file", other], "TLS handshake failed", "auth-failed")):
        s = swarm.peer(tag)
        (s.share / "f.bin").write_bytes(data)
        s.start("server", extra=["--chunk-size", "65536"] + extra)
        wait_until(lambda: "hashed" in s.procs["server"].output(), 10, "its catalog")
        (d.dir / "tags.txt").write_text(tags_line(tag, s.tcp_port, data, 65536, "f.bin"))
        r = d.download("f.bin", "--key-file", key, "--verbose")
        assert r.returncode == 4, (r.returncode, r.stderr)
        assert "%s (127.0.0.1:%d) dropped: no TLS with our network key (%s" % (tag, s.tcp_port, says) in r.stderr, r.stderr
        assert not (d.dir / "downloads" / "f.bin").exists()
        last = (s.dir / "server.log").read_text().splitlines()[-1]
        assert "bytes=0 manifests=0 chunks=0" in last and last.endswith("end=" + end), last
