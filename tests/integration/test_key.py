"""The optional network key: only peers holding it take part."""
import json
import os
import socket
import struct

from conftest import make_file, sha256_file, wait_until, free_port
from fakepeer import FakePeer, tags_line
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
    # A raw client: a challenge, then an error for any request, and not a byte of data.
    root = [x["root"] for x in friend.tags() if x["name"] == "secret.bin"][0]
    c = socket.create_connection(("127.0.0.1", a.tcp_port), timeout=3)
    hello = c.recv(64)
    assert hello[5] == 0x10 and len(hello) == 10 + 32
    c.sendall(struct.pack(">IBBI", 38, 1, 0x01, 5) + bytes.fromhex(root))
    reply = c.recv(4096)
    assert reply[5] == 0xFF and struct.unpack(">H", reply[10:12])[0] == 7
    assert c.recv(4096) == b""  # closed
    c.close()
    assert "end=auth-failed" in (a.dir / "server.log").read_text()


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
    # A raw client cannot even look up.
    c = socket.create_connection(("127.0.0.1", t.port), timeout=3)
    n = struct.unpack(">I", c.recv(4))[0]
    challenge = json.loads(c.recv(n))
    assert challenge["type"] == "challenge" and len(challenge["nonce"]) == 64
    body = json.dumps({"v": 1, "type": "lookup", "name": "a.txt", "id": 1}).encode()
    c.sendall(struct.pack(">I", len(body)) + body)
    n = struct.unpack(">I", c.recv(4))[0]
    reply = json.loads(c.recv(n))
    assert reply["type"] == "error" and reply["code"] == 6
    assert c.recv(100) == b""
    c.close()


def test_downloader_refuses_a_server_that_cannot_prove_the_key(swarm, tmp_path):
    """The key proves both ways: a server that answers the challenge without
    the key (here it serves true data) is not believed, and asked nothing."""
    key = key_file(tmp_path, "key")
    data = os.urandom(3 * 65536 + 5)
    with open(key, "rb") as f:
        key_bytes = f.read()
    # A fake server holding the key: the fake speaks the handshake right.
    keyed = FakePeer(data, 65536, key=key_bytes)
    impostor = FakePeer(data, 65536, mode="impostor", key=key_bytes)
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text(tags_line("keyed", keyed.port, data, 65536, "f.bin"))
        r = d.download("f.bin", "--key-file", key)
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "f.bin").read_bytes() == data
        (d.dir / "downloads" / "f.bin").unlink()
        (d.dir / "tags.txt").write_text(tags_line("impostor", impostor.port, data, 65536, "f.bin"))
        r = d.download("f.bin", "--key-file", key, "--verbose")
        # Banned like a liar: the download fails its integrity (5).
        assert r.returncode == 5, (r.returncode, r.stderr)
        assert "impostor (127.0.0.1:%d) banned: did not prove the network key" % impostor.port in r.stderr, r.stderr
        assert not (d.dir / "downloads" / "f.bin").exists()
        assert impostor.requests == 0
    finally:
        keyed.close()
        impostor.close()
