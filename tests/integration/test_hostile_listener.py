"""Hostile peers that speak the announcement protocol correctly but behave
badly (issue 15): the listener keeps room for honest peers, its memory follows
what it received, tags.txt stays within tags_max_bytes, the log within its
rate, and a captured sealed datagram cannot be replayed later."""
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import SLOW, BIN, BROADCAST, make_file, prog, sha256_file, wait_until

PEER_LOG_BURST, PEER_LOG_PERIOD_S = 20, 10  # listening.h
PER_ADDR_PEERS = 64                          # peer_table.h


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])


def udp_from(addr):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    u.bind((addr, 0))
    return u


def ann(tag, files=(), interval=3600, seq=1, page=0, pages=1, port=9, typ="announce"):
    d = {"v": 1, "type": typ, "tag": tag, "port": port}
    if typ != "bye":
        d.update(interval=interval, seq=seq, page=page, pages=pages, files=list(files))
    return json.dumps(d).encode()


def flood(sock, port, datagrams, seconds):
    """Sends each datagram once, paced so that the socket buffer is not what
    limits the listener; bounded in time. Returns how many went out."""
    t_end, sent = time.monotonic() + seconds * SLOW, 0
    for d in datagrams:
        if time.monotonic() > t_end:
            break
        sock.sendto(d, (BROADCAST, port))
        sent += 1
        if sent % 200 == 0:
            time.sleep(0.01 * SLOW)
    return sent


def peers_txt(peer):
    try:
        lines = (peer.dir / "peers.txt").read_text().splitlines()
    except FileNotFoundError:
        return []
    return [l.split("\t") for l in lines if l and not l.startswith("#")]


def canary(sock, port, listener, tag="canary"):
    """Once the canary is listed, every datagram sent before it was read."""
    sent_at = [0.0]

    def seen():
        if time.monotonic() - sent_at[0] > 0.5:
            sock.sendto(ann(tag, interval=60), (BROADCAST, port))
            sent_at[0] = time.monotonic()
        return any(r[0] == tag for r in peers_txt(listener))
    wait_until(seen, 20 * SLOW, "the canary after the flood", interval=0.1)


def test_fake_tags_from_one_address_leave_room_for_a_newcomer(swarm):
    watch = swarm.peer("watch")
    watch.start("listener")
    u = udp_from("127.0.0.2")
    sent = flood(u, swarm.udp_port, (ann("fake%05d" % i) for i in range(10000)), 20)
    canary(u, swarm.udp_port, watch)
    fakes = [r for r in peers_txt(watch) if r[1].startswith("127.0.0.2:")]
    print("\n%d fake tags sent from one address: %d kept" % (sent, len(fakes)))
    assert sent == 10000 and len(fakes) <= PER_ADDR_PEERS, (sent, len(fakes))
    assert all(int(r[5]) <= 600 for r in fakes), fakes[:3]  # the interval believed is capped
    # A real newcomer from another address is listed at once, in both files.
    new = swarm.peer("newcomer")
    (new.share / "hello.txt").write_text("hello")
    new.start("announcer")
    wait_until(lambda: "hello.txt" in watch.names_from("newcomer"), 5, "the newcomer in tags.txt")
    wait_until(lambda: any(r[0] == "newcomer" for r in peers_txt(watch)), 3, "the newcomer in peers.txt")
    u.close()


def test_claimed_pages_cost_no_memory(swarm):
    watch = swarm.peer("watch")
    watch.start("listener")
    wait_until(lambda: (watch.dir / "peers.txt").exists(), 5, "peers.txt")
    pid = watch.procs["listener"].p.pid
    before = rss_kib(pid)
    # 4096 fake peers (64 addresses x 64 tags), each claiming 65535 pages.
    socks = [udp_from("127.0.0.%d" % (10 + a)) for a in range(64)]
    f = [{"name": "x", "size": 1, "chunk": 4096, "root": "ab" * 32, "complete": True}]
    for a, s in enumerate(socks):
        flood(s, swarm.udp_port, (ann("pages%02d-%02d" % (a, i), f, pages=65535, page=i) for i in range(64)), 5)
    canary(socks[0], swarm.udp_port, watch)
    held = len(peers_txt(watch))
    after = rss_kib(pid)
    print("\nlistener RSS with %d peers claiming 65535 pages: %d KiB before, %d KiB after" % (held, before, after))
    assert held >= 4000, held
    # 64 KiB per peer before the fix (4096 peers: +256 MiB); now what was received.
    limit = 24 if "/san/" not in BIN and SLOW == 1 else 96
    assert after - before < limit * 1024, (before, after)
    for s in socks:
        s.close()


def test_join_and_leave_lines_are_rate_limited(swarm):
    watch = swarm.peer("watch")
    watch.start("listener")
    wait_until(lambda: "listening on UDP" in watch.procs["listener"].output(), 5, "the listener to start")
    u = udp_from("127.0.0.3")
    t0 = time.monotonic()
    sent = flood(u, swarm.udp_port,
                 (ann("j%d" % (i // 2 % 50), typ="announce" if i % 2 == 0 else "bye") for i in range(40000)), 20)
    canary(u, swarm.udp_port, watch)
    elapsed = time.monotonic() - t0
    out = watch.procs["listener"].output()
    lines = len(re.findall(r"peer (joined|left) ", out))
    allowed = PEER_LOG_BURST * (int(elapsed // PEER_LOG_PERIOD_S) + 2)
    print("\n%d join/goodbye datagrams in %.1f s: %d log lines (%d bytes of log)" % (sent, elapsed, lines, len(out)))
    assert sent == 40000 and PEER_LOG_BURST <= lines <= allowed, (sent, lines, allowed)
    u.close()


def test_long_names_keep_tags_txt_within_its_bound(swarm):
    bound = 2 << 20
    honest = swarm.peer("honest")
    src = make_file(honest.share / "honest.bin", 300000, seed=5)
    honest.start("server", "announcer")
    watch = swarm.peer("watch")
    watch.start("listener", extra=["--tags-max-bytes", str(bound)])
    wait_until(lambda: "honest.bin" in watch.names_from("honest"), 5, "the honest file")
    # Five tags x 2,000 names of about 1000 bytes from one address: 10 MB claimed.
    u = udp_from("127.0.0.4")
    root = "cd" * 32

    def names():
        for t in range(5):
            for i in range(2000):
                name = ("d%d/%05d-" % (t, i)) + "/".join(["n" * 240] * 4)  # components: 255 bytes at most
                yield ann("long%d" % t, [{"name": name, "size": 1, "chunk": 4096, "root": root, "complete": True}],
                          seq=1, page=i, pages=2000)
    sent = flood(u, swarm.udp_port, names(), 30)
    canary(u, swarm.udp_port, watch)
    size = os.path.getsize(watch.dir / "tags.txt")
    print("\n%d long-name datagrams: tags.txt %d bytes (bound %d)" % (sent, size, bound))
    assert sent == 10000 and size <= bound // 4 + 4096, size  # one address: a quarter of the bound
    wait_until(lambda: "over a limit: tags.txt's share of one address" in watch.procs["listener"].output(), 3,
               "the refusal in the log")
    r = watch.download("honest.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(watch.dir / "downloads" / "honest.bin") == sha256_file(src)
    u.close()


def test_readers_say_why_tags_txt_is_unreadable(swarm):
    p = swarm.peer("reader")
    with open(p.dir / "tags.txt", "wb") as f:
        f.truncate(300 << 20)  # sparse: over the 256 MiB any reader takes
    r = p.download("x.bin")
    assert r.returncode == 7, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read" in lines[0] and "over 256 MiB" in lines[0], r.stderr
    for sub in ("files", "peers"):
        r = subprocess.run([os.path.join(BIN, "lanswarm"), "--dir", str(p.dir), sub], capture_output=True, text=True,
                           timeout=10 * SLOW)
        assert "over 256 MiB" in r.stderr, (sub, r.stderr)
    web = p.start_web()
    wait_until(lambda: "over 256 MiB" in (web.get("files").get("problem") or ""), 5 * SLOW, "the dashboard's reason")


# ---------- the network key: no replays ----------

def seal(key, body, at_ms):
    """A sealed datagram as docs/PROTOCOL.md spells it (LSK2)."""
    stamp = b"%016x" % at_ms
    mac = hmac.new(key, b"announce2\0" + stamp + body, hashlib.sha256).hexdigest().encode()
    return b"LSK2" + stamp + mac + body


def test_a_captured_sealed_goodbye_cannot_be_replayed(swarm, tmp_path):
    keyf = tmp_path / "key"
    keyf.write_bytes(os.urandom(32).hex().encode() + b"\n")
    key = keyf.read_bytes().rstrip()
    alpha = swarm.peer("alpha")
    (alpha.share / "a.txt").write_text("a")
    watch = swarm.peer("watch")
    watch.start("listener", extra=["--key-file", str(keyf)])
    # An eavesdropper on the announcement port (broadcasts reach every socket bound to it).
    spy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    spy.bind(("", swarm.udp_port))
    spy.settimeout(0.2)
    alpha.start("announcer", extra=["--key-file", str(keyf)])
    wait_until(lambda: "a.txt" in watch.names_from("alpha"), 5, "alpha listed")
    alpha.stop("announcer")
    wait_until(lambda: "alpha" not in {r["tag"] for r in watch.tags()}, 3, "alpha's goodbye")
    bye = None
    deadline = time.monotonic() + 5
    while bye is None and time.monotonic() < deadline:
        try:
            d = spy.recv(2048)
        except socket.timeout:
            continue
        if d.startswith(b"LSK2") and json.loads(d[84:]).get("type") == "bye":
            bye = d
    spy.close()
    assert bye is not None, "no sealed goodbye captured"
    alpha.start("announcer", extra=["--key-file", str(keyf)])
    wait_until(lambda: "a.txt" in watch.names_from("alpha"), 5, "alpha back")
    time.sleep(0.01)  # alpha's next datagrams are sealed later than the goodbye
    replayer = udp_from("127.0.0.1")
    replayer.sendto(bye, (BROADCAST, swarm.udp_port))
    out = lambda: watch.procs["listener"].output()
    wait_until(lambda: "a replay: sealed before the newest" in out(), 3, "the replay refused")
    assert "a.txt" in watch.names_from("alpha")
    # Sealed with the key but two minutes ago (a capture kept that long): outside the window.
    body = json.loads(bye[84:])
    old = seal(key, json.dumps(body).encode(), int(time.time() * 1000) - 120000)
    replayer.sendto(old, (BROADCAST, swarm.udp_port))
    wait_until(lambda: "outside the 60s window" in out(), 3, "the old seal refused")
    # The old format, without a time, is refused with its reason.
    replayer.sendto(b"LSK1" + b"0" * 64 + json.dumps(body).encode(), (BROADCAST, swarm.udp_port))
    wait_until(lambda: "sealed the old way" in out(), 3, "LSK1 refused")
    time.sleep(0.3)
    assert "a.txt" in watch.names_from("alpha")
    # A fresh goodbye of the real peer still works.
    alpha.stop("announcer")
    wait_until(lambda: "alpha" not in {r["tag"] for r in watch.tags()}, 3, "alpha's real goodbye")
    replayer.close()
