"""Hostile peers on loopback: each is refused and logged, and honest peers go
on being served, within the documented limits (docs/CONFIG.md)."""
import json
import os
import resource
import socket
import struct
import subprocess
import time

import pytest

from conftest import SAN, SLOW, VALGRIND, BROADCAST, make_file, prog, sha256_file, wait_until


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        st = {l.split(":")[0]: l.split()[1] for l in f if len(l.split()) > 1}
    return int(st["VmRSS"]), len(os.listdir("/proc/%d/fd" % pid))


def from_addr(addr, port):
    """A TCP connection to 127.0.0.1:port from source address addr."""
    s = socket.socket()
    s.bind((addr, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def flood_outcome(conns, window):
    """Reads every connection for `window` seconds at once: (busy, refused, held).
    busy: answered ERROR 4 (busy); refused: busy or closed; held: no answer."""
    import selectors
    sel = selectors.DefaultSelector()
    for c in conns:
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    busy = refused = 0
    pending = len(conns)
    deadline = time.monotonic() + window
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            c = key.fileobj
            sel.unregister(c)
            pending -= 1
            try:
                reply = c.recv(64)
            except OSError:
                reply = b""
            if reply[5:6] == b"\xff" and struct.unpack(">H", reply[10:12])[0] == 4:
                busy += 1
            if reply[5:6] == b"\xff" or reply == b"":
                refused += 1
    sel.close()
    for c in conns:
        c.setblocking(True)
    return busy, refused, pending


MAX_CONNS_PER_IP = 32  # docs/CONFIG.md's default


def test_slowloris_and_connection_flood_leave_honest_peers_served(swarm):
    s = swarm.peer("seed")
    src = make_file(s.share / "big.bin", 6 * 1024 * 1024, seed=11)
    # An idle timeout well past the 1 s the flood's answers are read in, so a
    # connection closed for idleness is never counted as turned away.
    idle = 12  # well past the time 2,000 connections take to open on a loaded machine
    s.start("server", "announcer", extra=["--idle-timeout", str(idle)])
    d = swarm.peer("honest")
    d.start("listener")
    wait_until(lambda: "big.bin" in d.names_from("seed"), 5, "big.bin")
    pid = s.procs["server"].p.pid
    # A slowloris from 127.0.0.2: a byte now and then, never a whole request.
    slow = [from_addr("127.0.0.2", s.tcp_port) for _ in range(20)]
    # A flood of thousands of connections from 127.0.0.3, far over the per-address limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    flood = []
    for _ in range(2000 if min(4096, hard) >= 4096 else 800):
        try:
            c = from_addr("127.0.0.3", s.tcp_port)
        except OSError:
            continue
        flood.append(c)
    busy, refused, held = flood_outcome(flood, 1.0 * SLOW)
    assert busy > 0
    if not VALGRIND:
        # Exactly max_conns_per_ip were kept; every other one was turned away.
        assert held == MAX_CONNS_PER_IP and refused == len(flood) - MAX_CONNS_PER_IP, (held, refused, len(flood))
    else:
        # Under valgrind opening 2,000 connections can outlast the idle
        # timeout, so the kept ones may already be closed as idle and count as
        # turned away: only none over the limit (the exact count and its
        # release are proved by the plain and ASan passes).
        assert held <= MAX_CONNS_PER_IP, (held, refused, len(flood))
    for c in slow:
        c.send(b"\x00")
    # The honest peer is served meanwhile, verified.
    r = d.download("big.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(src)
    rss_kib, fds = proc_status(pid)
    print("\nserver under slowloris + flood: %d MiB RSS, %d fds" % (rss_kib // 1024, fds))
    assert fds < 32 + 20 + 32, fds       # per-address limits bound the descriptors
    # ASan's shadow memory and valgrind's own bookkeeping inflate RSS several times.
    assert rss_kib < (64 if not SAN and not VALGRIND else 512) * 1024, rss_kib
    # The slowloris connections are closed as idle: a stray byte is not activity.
    deadline = time.monotonic() + (idle + 4) * SLOW
    while time.monotonic() < deadline:
        for c in slow:
            try:
                c.send(b"\x00")
            except OSError:
                pass
        log = (s.dir / "server.log").read_text()
        if log.count("peer=127.0.0.2:") >= 20 and log.count("end=idle") >= 20:
            break
        time.sleep(0.5)
    log = (s.dir / "server.log").read_text()
    assert log.count("end=idle") >= 20, log[-2000:]
    assert "max_conns_per_ip" in s.procs["server"].output()
    for c in slow + flood:
        c.close()
    # The per-address count goes back down: once the flood is gone, the same
    # address may hold max_conns_per_ip connections again, and no more.
    def again():
        conns = [from_addr("127.0.0.3", s.tcp_port) for _ in range(MAX_CONNS_PER_IP + 1)]
        try:
            return flood_outcome(conns, 0.5 * SLOW)
        finally:
            for c in conns:
                c.close()
    if not VALGRIND:
        wait_until(lambda: again() == (1, 1, MAX_CONNS_PER_IP), 10, "the per-address count to go back down")


def announce(sock, port, tag, tcp_port, files, seq=1, page=0, pages=1):
    sock.sendto(json.dumps({"v": 1, "type": "announce", "tag": tag, "port": tcp_port, "interval": 60, "seq": seq,
                            "page": page, "pages": pages, "files": files}).encode(), (BROADCAST, port))


def test_replayed_tag_from_another_address_takes_nothing_over(swarm):
    a = swarm.peer("alpha")
    (a.share / "real.txt").write_text("real")
    a.start("announcer")
    d = swarm.peer("watch")
    d.start("listener")
    wait_until(lambda: "real.txt" in d.names_from("alpha"), 5, "alpha")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    u.bind(("127.0.0.5", 0))
    fake = {"name": "real.txt", "size": 666, "chunk": 4096, "root": "66" * 32, "complete": True}
    announce(u, swarm.udp_port, "alpha", a.tcp_port, [fake])
    wait_until(lambda: any(r["addr"].startswith("127.0.0.5:") for r in d.tags()), 3, "the impostor's entry")
    real = lambda: [r for r in d.tags() if r["tag"] == "alpha" and r["addr"] == "127.0.0.1:%d" % a.tcp_port]
    assert len(real()) == 1 and real()[0]["size"] == 4  # the real peer keeps its entry, its address shows who is who
    # A goodbye in alpha's name from elsewhere removes only what came from there.
    u.sendto(json.dumps({"v": 1, "type": "bye", "tag": "alpha", "port": a.tcp_port}).encode(),
             (BROADCAST, swarm.udp_port))
    wait_until(lambda: not any(r["addr"].startswith("127.0.0.5:") for r in d.tags()), 3, "the impostor's entry to go")
    assert len(real()) == 1
    u.close()


def test_hundred_thousand_files_stay_within_limits(swarm):
    if VALGRIND:
        pytest.skip("12,500 datagrams outpace a listener under valgrind; this runs in the plain and ASan passes")
    d = swarm.peer("watch")
    d.start("listener")
    wait_until(lambda: (d.dir / "tags.txt").exists(), 3, "tags.txt")
    pid = d.procs["listener"].p.pid
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    per_page = 8
    pages = 100000 // per_page
    t_end = time.monotonic() + 30 * SLOW
    for p in range(pages):
        if time.monotonic() > t_end:
            break
        files = [{"name": "f%06d" % (p * per_page + k), "size": 1, "chunk": 4096, "root": "ab" * 32,
                  "complete": True} for k in range(per_page)]
        announce(u, swarm.udp_port, "hoarder", 9, files, seq=1, page=p, pages=pages)
        if p % 200 == 199:
            time.sleep(0.02 * SLOW)  # paced like a real announcer, so the socket buffer is not the limit
    u.close()
    wait_until(lambda: len(d.names_from("hoarder")) >= 50000, 20, "the per-peer cap to fill", interval=0.5)
    wait_until(lambda: "over a limit" in d.procs["listener"].output(), 10, "the refusal to be logged")
    assert len(d.names_from("hoarder")) == 50000
    rss_kib, fds = proc_status(pid)
    print("\nlistener after 100,000 files from one peer: %d MiB RSS, %d fds" % (rss_kib // 1024, fds))
    # ASan's shadow memory and quarantine inflate RSS several times.
    # ASan's shadow memory and valgrind's own bookkeeping inflate RSS several times.
    assert rss_kib < (64 if not SAN and not VALGRIND else 512) * 1024, rss_kib
    assert fds < 32, fds


# ---------- greedy connections: fair service (issue 15) ----------

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))


def request(typ, rid, root, index=None):
    payload = root + (struct.pack(">I", index) if index is not None else b"")
    return struct.pack(">IBBI", 6 + len(payload), 1, typ, rid) + payload


def non_reader(addr, port, root, nchunks, pipeline=16):
    """A connection from addr that pipelines chunk requests and never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((addr, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    s.sendall(b"".join(request(0x02, i + 1, root, i % nchunks) for i in range(pipeline)))
    return s


def served_swarm(swarm, size, extra=(), honest=("honest",)):
    """A seed sharing big.bin (1 MiB chunks) and listeners that see it: (seed, src, root, [peers])."""
    s = swarm.peer("seed")
    src = make_file(s.share / "big.bin", size, seed=15)
    s.start("server", "announcer", extra=list(extra))
    peers = []
    for tag in honest:
        d = swarm.peer(tag)
        d.start("listener")
        wait_until(lambda: "big.bin" in d.names_from("seed"), 5, "big.bin")
        peers.append(d)
    root = bytes.fromhex([r for r in peers[0].tags() if r["name"] == "big.bin"][0]["root"])
    return s, src, root, peers


def timed_download(d, src):
    t0 = time.monotonic()
    r = d.download("big.bin")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(src)
    return took


def test_two_non_readers_do_not_stop_honest_downloads(swarm):
    size = 16 << 20
    s, src, root, (d,) = served_swarm(swarm, size, extra=["--write-timeout", "3"])
    hogs = [non_reader("127.0.0.2", s.tcp_port, root, size >> 20) for _ in range(2)]
    time.sleep(0.5 * SLOW)  # their requests are queued first
    took = timed_download(d, src)
    assert took < 15 * SLOW, took
    # The non-readers are closed for it, their budget returned.
    log = lambda: (s.dir / "server.log").read_text()
    wait_until(lambda: log().count("end=write-timeout") >= 2, 3 + 5, "the non-readers' write timeout")
    assert all("peer=127.0.0.2:" in l for l in log().splitlines() if "end=write-timeout" in l), log()
    for h in hogs:
        h.close()


def test_closed_non_readers_leave_the_queue_moving(swarm):
    raise_nofile()
    size = 16 << 20
    s, src, root, (d,) = served_swarm(swarm, size)
    hogs = [non_reader("127.0.0.2", s.tcp_port, root, size >> 20) for _ in range(MAX_CONNS_PER_IP)]
    time.sleep(1.0 * SLOW)  # the buffer budget is theirs
    for h in hogs:
        h.close()
    # Well within the 10 s write timeout: the queue restarted as the budget came back.
    took = timed_download(d, src)
    assert took < 6 * SLOW, took


def test_idle_connections_from_ten_addresses_cannot_hold_every_slot(swarm):
    raise_nofile()
    size = 4 << 20
    s, src, root, (d,) = served_swarm(swarm, size)
    hogs = []
    for i in range(300):  # 30 per address, over max_conns (256) in all, within max_conns_per_ip (32) each
        try:
            hogs.append(from_addr("127.0.0.%d" % (10 + i % 10), s.tcp_port))
        except OSError:
            pass
    def have_round():
        for h in hogs:
            try:
                h.send(request(0x03, 1, root))
            except OSError:
                pass
    have_round()
    p = subprocess.Popen([prog("downloader")] + d.common() + ["big.bin"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30 * SLOW
    while p.poll() is None and time.monotonic() < deadline:
        have_round()  # each holds its slot with a HAVE every few seconds
        time.sleep(2)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(src)
    assert "end=evicted" in (s.dir / "server.log").read_text()
    assert "gives its slot to 127.0.0.1" in s.procs["server"].output()
    for h in hogs:
        h.close()


def test_honest_throughput_under_non_readers(swarm):
    size = 16 << 20
    s, src, root, (calm, attacked) = served_swarm(swarm, size, extra=["--rate-limit", "8M"],
                                                  honest=("calm", "attacked"))
    alone = timed_download(calm, src)
    hogs = [non_reader("127.0.0.2", s.tcp_port, root, size >> 20) for _ in range(2)]
    time.sleep(0.5 * SLOW)
    under = timed_download(attacked, src)
    mib = size / (1 << 20)
    print("\nhonest download, 16 MiB from a server limited to 8 MB/s: %.1f MiB/s alone, %.1f MiB/s beside two "
          "non-reading connections (%.0f%%)" % (mib / alone, mib / under, 100 * alone / under))
    assert alone / under >= 0.30, (alone, under)
    for h in hogs:
        h.close()
