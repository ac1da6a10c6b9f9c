"""With a network key the chunk protocol and the tracker link run inside
TLS 1.3 (docs/SECURITY.md): a relay on loopback sees no plaintext, and a
byte changed on the way ends the connection."""
import os
import socket

from conftest import SLOW, free_port, wait_until
from fakepeer import tags_line
from relay import Relay

CHUNK = 65536
MARKER = b"LANSWARM-PLAINTEXT-MARKER-7f3a"


def key_file(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(os.urandom(32).hex().encode() + b"\n")
    return str(p)


def marked_data(size):
    """Random bytes with the marker every 4 KiB: any plaintext shows it."""
    data = bytearray(os.urandom(size))
    for off in range(0, size - len(MARKER), 4096):
        data[off:off + len(MARKER)] = MARKER
    return bytes(data)


def serving(swarm, name, data, key=None):
    a = swarm.peer("alpha")
    (a.share / name).write_bytes(data)
    a.start("server", extra=["--chunk-size", str(CHUNK)] + (["--key-file", key] if key else []))
    wait_until(lambda: "shared" in a.procs["server"].output() or "hashed" in a.procs["server"].output(), 10,
               "alpha's catalog")
    return a


def fetch_via(swarm, relay, name, data, *extra):
    d = swarm.peer("fetcher")
    (d.dir / "tags.txt").write_text(tags_line("alpha", relay.port, data, CHUNK, name))
    return d, d.download(name, "--verbose", *extra)


def test_chunks_cross_the_wire_encrypted(swarm, tmp_path):
    key = key_file(tmp_path, "key")
    data = marked_data(3 * CHUNK + 777)
    a = serving(swarm, "m.bin", data, key)
    relay = Relay(a.tcp_port)
    try:
        d, r = fetch_via(swarm, relay, "m.bin", data, "--key-file", key)
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "m.bin").read_bytes() == data
        assert len(relay.from_server) > len(data)  # it all crossed the relay...
        assert MARKER not in relay.from_server       # ...and none of it in clear
        assert relay.from_server[0] == 0x16 and relay.from_client[0] == 0x16  # TLS handshake records
        root = bytes.fromhex(tags_line("x", 1, data, CHUNK, "m.bin").split("\t")[2])
        assert root not in relay.from_client         # nor what was asked for
    finally:
        relay.close()


def test_without_a_key_the_relay_sees_the_data(swarm, tmp_path):
    """The control: the same relay, no key, and the marker is on the wire."""
    data = marked_data(2 * CHUNK + 5)
    a = serving(swarm, "m.bin", data)
    relay = Relay(a.tcp_port)
    try:
        d, r = fetch_via(swarm, relay, "m.bin", data)
        assert r.returncode == 0, r.stderr
        assert MARKER in relay.from_server
    finally:
        relay.close()


def test_a_changed_byte_ends_the_connection(swarm, tmp_path):
    """One byte of a chunk changed in transit: the record fails its check, the
    connection ends, the downloader says so, and nothing unverified is kept."""
    key = key_file(tmp_path, "key")
    data = marked_data(8 * CHUNK)
    a = serving(swarm, "m.bin", data, key)
    relay = Relay(a.tcp_port, flip_at=5 * CHUNK)
    try:
        d, r = fetch_via(swarm, relay, "m.bin", data, "--key-file", key)
        assert relay.flipped
        assert r.returncode == 4, (r.returncode, r.stderr)
        assert "alpha dropped: a TLS record failed its check, changed on the way" in r.stderr, r.stderr
        assert not (d.dir / "downloads" / "m.bin").exists()
        assert d.chunks_held() < 8
        # Again through the same relay (it changes only its first connection's
        # bytes): the rest comes, and the whole file verifies.
        r = d.download("m.bin", "--key-file", key)
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "m.bin").read_bytes() == data
    finally:
        relay.close()


def test_tracker_link_encrypted_and_tamper_ends_it(swarm, tmp_path):
    key = key_file(tmp_path, "key")
    t = swarm.tracker("--key-file", key)
    relay = Relay(t.port)
    a = swarm.peer("alpha")
    a.udp_port = free_port(socket.SOCK_DGRAM)
    (a.share / "tracked-secret-name.txt").write_text("x")
    a.start("server", "announcer", extra=["--tracker", "127.0.0.1:%d" % relay.port, "--key-file", key])
    try:
        wait_until(lambda: "host registered name=alpha" in t.output(), 5 * SLOW, "alpha registered through the relay")
        wait_until(lambda: len(relay.from_client) > 200, 5 * SLOW, "the catalog published")
        assert b"tracked-secret-name" not in relay.from_client and b"register" not in relay.from_client
        assert relay.from_client[0] == 0x16
    finally:
        relay.close()
    # A byte changed in what the tracker sends: the link ends, the announcer says why.
    relay = Relay(t.port, flip_at=400)
    b = swarm.peer("beta")
    b.udp_port = free_port(socket.SOCK_DGRAM)
    (b.share / "b.txt").write_text("b")
    b.start("announcer", extra=["--tracker", "127.0.0.1:%d" % relay.port, "--key-file", key])
    try:
        wait_until(lambda: relay.flipped, 10 * SLOW, "a byte changed")
        wait_until(lambda: "connection lost (TLS record refused" in b.procs["announcer"].output(), 10 * SLOW,
                   "the announcer's link ended")
    finally:
        relay.close()
