"""Chunks past 1 MiB (a file over 128 GiB gets 2-16 MiB ones: docs/PROTOCOL.md,
section 2) are never held whole: the server sends them from the file
(sendfile, or with a network key a slice at a time), the downloader hashes
and writes each part as it arrives and marks the chunk in temp/ only once
all of it verified. The seeders here hash at 16 MiB or 2 MiB chunks
(--chunk-size), so a file of tens of MiB stands for a terabyte one."""
import json
import os

import pytest

from conftest import SLOW, make_file, sha256_file, wait_until
from fakepeer import FakePeer, tags_line
from relay import Relay

BIG = 16 * 1024 * 1024
SMALL = 2 * 1024 * 1024  # the smallest chunk that goes in parts
MARKER = b"LANSWARM-PLAINTEXT-MARKER-7f3a"


def key_args(tmp_path, keyed):
    if not keyed:
        return []
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32).hex().encode() + b"\n")
    return ["--key-file", str(key)]


@pytest.mark.parametrize("keyed", [False, True])
def test_16mib_chunks_from_several_sources(swarm, tmp_path, keyed):
    key = key_args(tmp_path, keyed)
    size = 2 * BIG + 5  # two 16 MiB chunks, in parts, and a 5-byte one, whole
    src = None
    tags = ""
    for tag in ("s0", "s1", "s2"):
        p = swarm.peer(tag)
        if src is None:
            src = make_file(p.share / "huge.bin", size, seed=7)
            data = src.read_bytes()
        else:
            os.link(src, p.share / "huge.bin")
        p.start("server", extra=["--chunk-size", "16M"] + key)
        tags += tags_line(tag, p.tcp_port, data, BIG, "huge.bin")
    for tag in ("s0", "s1", "s2"):  # each listens before its share is hashed
        out = swarm.peers[tag].procs["server"].output
        wait_until(lambda: "serving 1 file(s)" in out(), 20, "%s to serve the file" % tag)
    d = swarm.peer("fetcher")
    (d.dir / "tags.txt").write_text(tags)
    # One request per peer at a time: the chunks go to different sources.
    r = d.download("huge.bin", "--depth", "1", "--json", *key)
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "huge.bin") == sha256_file(src)
    (line,) = d.client_log()
    assert line["result"] == "ok" and int(line["fetched"]) == size
    peers = json.loads(r.stdout)["peers"]
    assert sum(p["bytes"] for p in peers) == size, peers
    assert len([p for p in peers if p["bytes"] >= BIG]) >= 2, peers


def test_big_chunks_cross_the_wire_encrypted(swarm, tmp_path):
    """With a key, a chunk the server sends from its file a slice at a time
    is encrypted like any other: no plaintext on the wire."""
    key = key_args(tmp_path, True)
    data = bytearray(os.urandom(2 * SMALL + 777))
    for off in range(0, len(data) - len(MARKER), 4096):
        data[off:off + len(MARKER)] = MARKER
    data = bytes(data)
    a = swarm.peer("alpha")
    (a.share / "m.bin").write_bytes(data)
    a.start("server", extra=["--chunk-size", "2M"] + key)
    wait_until(lambda: "serving 1 file(s)" in a.procs["server"].output(), 10, "alpha to serve the file")
    relay = Relay(a.tcp_port)
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text(tags_line("alpha", relay.port, data, SMALL, "m.bin"))
        r = d.download("m.bin", "--verbose", *key)
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "m.bin").read_bytes() == data
        assert len(relay.from_server) > len(data)
        assert MARKER not in relay.from_server
    finally:
        relay.close()


def fetch_from_fakes(swarm, data, fakes, *args, **kw):
    """Downloads f.bin from the fake peers (tag -> FakePeer) alone; closes them."""
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text("".join(tags_line(t, f.port, data, SMALL, "f.bin") for t, f in fakes.items()))
        return d, d.download("f.bin", *args, **kw)
    finally:
        for f in fakes.values():
            f.close()


def test_big_chunk_failing_its_hash_bans_its_sender(swarm):
    """The liar's chunks are wrong in their last byte: found when the last
    part is in, the liar banned, the chunk fetched again from the other
    (which waits before each reply, so that the liar's come first)."""
    data = os.urandom(3 * SMALL + 7)
    liar = FakePeer(data, SMALL, mode="corrupttail")
    d, r = fetch_from_fakes(swarm, data, {"liar": liar, "honest": FakePeer(data, SMALL, delay=0.2)}, "--verbose")
    assert r.returncode == 0, r.stderr
    assert (d.dir / "downloads" / "f.bin").read_bytes() == data
    (line,) = d.client_log()
    assert "liar@127.0.0.1:%d=0" % liar.port in line["peers"]
    assert "with a wrong hash: banned" in r.stderr, r.stderr


def test_peer_silent_mid_big_chunk_is_dropped(swarm):
    """A holder that stops three quarters into a chunk arriving in parts is
    dropped as stalled (no request of its own is left: the reply in parts
    keeps the stall clock running), and the chunk fetched from the other."""
    data = os.urandom(SMALL)  # one chunk
    fakes = {"stuck": FakePeer(data, SMALL, mode="stallmid"), "honest": FakePeer(data, SMALL, delay=0.2)}
    d, r = fetch_from_fakes(swarm, data, fakes, "--json", timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    assert (d.dir / "downloads" / "f.bin").read_bytes() == data
    ends = {p["tag"]: p["end"] for p in json.loads(r.stdout)["peers"]}
    assert ends["stuck"] == "dropped: stalled", ends


def test_unverified_parts_reach_temp_but_are_never_marked(swarm):
    """Parts are written to temp/ as they come; with only a liar, none of
    its chunks is marked held (nothing unverified is served or resumed)."""
    data = os.urandom(2 * SMALL)
    d, r = fetch_from_fakes(swarm, data, {"liar": FakePeer(data, SMALL, mode="corrupttail")}, "--verbose")
    assert r.returncode == 5, (r.returncode, r.stderr)
    part = [f for f in os.listdir(d.dir / "temp") if f.endswith(".part")]
    assert len(part) == 1
    with open(d.dir / "temp" / part[0], "rb") as f:
        assert f.read(1024 * 1024) == data[:1024 * 1024]  # its first part was written...
    assert d.have_file().read_bytes() == b"\0\0"          # ...and no chunk marked
