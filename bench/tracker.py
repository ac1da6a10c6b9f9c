#!/usr/bin/python3
"""Tracker benchmark: N simulated peers (asyncio, one TCP connection each, on
loopback) register and publish 100 files each; then lookups of random names
are timed one at a time (p50, p99), and the tracker's memory is read from
/proc. The same data and the same lookups against redis-server (a set per
name, SMEMBERS) give the well-known reference, in the same run, and the
ratios (tracker / redis) are printed beside it.

A lookup is timed from sending the request to holding the whole reply (its
length is known from the frame's prefix for the tracker, from the RESP
lines for redis); the tracker's JSON is decoded and checked after the clock
stops, so that Python's JSON speed is not counted as the tracker's.

Peers connect from 127.0.0.1 to 127.0.0.8 (all loopback): one source address
has about 28,000 ephemeral ports, too few for 100,000 connections. More than
about 9,000 peers need more open files than the usual soft limit: the script
raises its own limit (as root it can raise the hard one), or skips that size
with the reason.

Where the open-file limit cannot give a size, the tracker's registry alone
(bench/registry_load.c, REGISTRY_LOAD=path, built by `make bench`) is loaded
with the same data in one process and set beside redis holding it; the
tracker's memory there is projected from what a connection cost it at the
sizes it ran (labelled as a projection).

Usage: tracker.py BIN_DIR PEERS [PEERS ...]     (bounded: at most 100000 peers)
"""
import asyncio
import concurrent.futures
import json
import os
import random
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

FILES = 100
HOLDERS = 5          # each name is held by this many peers, whatever N is
LOOKUPS = 2000
ROOT = "ab" * 32


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def frame(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


async def read_frame(reader):
    n = struct.unpack(">I", await reader.readexactly(4))[0]
    return json.loads(await reader.readexactly(n))


SOURCES = 8          # source addresses 127.0.0.1 .. 127.0.0.8
MAX_PEERS = 100000
TIME_LIMIT = 240     # seconds for all peers to register and publish


def names_of(i):
    return ["f%d-%d" % (i // HOLDERS, j) for j in range(FILES)]


def source_of(i):
    return "127.0.0.%d" % (1 + i % SOURCES)


def port_of(i):
    return 10000 + i % 50000


_publish_cache = {}


def publish_frame(i):
    """The publish message of peer i: the same for the HOLDERS peers of a group."""
    g = i // HOLDERS
    if g not in _publish_cache:
        _publish_cache.clear()
        files = [{"name": n, "size": 1000, "chunk": 1048576, "root": ROOT, "complete": True} for n in names_of(i)]
        _publish_cache[g] = frame({"v": 1, "type": "publish", "id": 2, "replace": True, "files": files})
    return _publish_cache[g]


async def peer(i, port, ready, stop):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source_of(i), 0))
    writer.write(frame({"v": 1, "type": "register", "id": 1, "host": "peer%d" % i, "port": port_of(i)}))
    writer.write(publish_frame(i))
    await writer.drain()
    acks = 0
    while acks < 2:
        m = await read_frame(reader)
        if m["type"] in ("ok", "error"):
            acks += 1
    ready.release()
    # Stay connected and answer pings until the run ends (the task is cancelled).
    try:
        while True:
            m = await read_frame(reader)
            if m["type"] == "ping":
                writer.write(frame({"v": 1, "type": "pong", "id": m.get("id", 0)}))
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def time_lookups(port, names):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    lat, replies = [], []
    requests = [frame({"v": 1, "type": "lookup", "id": k + 1, "name": name}) for k, name in enumerate(names)]
    for req in requests:
        t0 = time.perf_counter()
        s.sendall(req)
        n = struct.unpack(">I", f.read(4))[0]
        replies.append(f.read(n))
        lat.append(time.perf_counter() - t0)
    s.close()
    for body in replies:
        reply = json.loads(body)
        assert len(reply["entries"]) == HOLDERS, reply
    return lat


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def redis_reference(npeers, names):
    """The same holders in redis (a set per name) and the same lookups."""
    if not shutil.which("redis-server"):
        return None
    port = free_port()
    d = tempfile.mkdtemp()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                s = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        f = s.makefile("rb")
        batch = []
        for g in range((npeers + HOLDERS - 1) // HOLDERS):
            peers = range(g * HOLDERS, min(npeers, (g + 1) * HOLDERS))
            members = ["peer%d %s:%d" % (i, source_of(i), port_of(i)) for i in peers]
            for name in names_of(g * HOLDERS):
                batch.append(resp("SADD", name, *members))
            if len(batch) >= 5000 or g == (npeers - 1) // HOLDERS:
                s.sendall(b"".join(batch))
                for _ in batch:
                    f.readline()
                batch = []
        lat = []
        for req in [resp("SMEMBERS", name) for name in names]:
            t0 = time.perf_counter()
            s.sendall(req)
            count = int(f.readline()[1:])
            for _ in range(count):
                f.readline()
                f.readline()
            lat.append(time.perf_counter() - t0)
            assert count == HOLDERS
        s.close()
        with open("/proc/%d/status" % p.pid) as st:
            rss = [int(l.split()[1]) for l in st if l.startswith("VmRSS")][0]
        return lat, rss
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


async def all_ready(ready, npeers, deadline):
    for _ in range(npeers):
        await asyncio.wait_for(ready.acquire(), max(1, deadline - time.monotonic()))


async def run(bin_dir, npeers):
    port = free_port()
    tr = subprocess.Popen([os.path.join(bin_dir, "lanswarm-tracker"), "--port", str(port), "--listen-addr",
                           "127.0.0.1", "--no-shell", "--ping-interval", "60", "--max-conns", str(npeers + 100),
                           "--log-level", "warn"], stdin=subprocess.DEVNULL)
    tasks = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        ready = asyncio.Semaphore(0)
        stop = asyncio.Event()
        t0 = time.perf_counter()
        deadline = time.monotonic() + TIME_LIMIT
        for i in range(npeers):
            tasks.append(asyncio.create_task(peer(i, port, ready, stop)))
            if i % 500 == 499:
                await asyncio.sleep(0)  # let the accept queue drain
        await all_ready(ready, npeers, deadline)
        t_reg = time.perf_counter() - t0
        names = lookup_names(npeers)
        # Timed from another process, so the simulated peers' Python does not share its GIL.
        with concurrent.futures.ProcessPoolExecutor(1) as pool:
            lat = await asyncio.get_running_loop().run_in_executor(pool, time_lookups, port, names)
        with open("/proc/%d/status" % tr.pid) as st:
            status = {l.split(":")[0]: l.split()[1] for l in st if len(l.split()) > 1}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks = []
        ref = redis_reference(npeers, names)
        return dict(peers=npeers, files=npeers * FILES, t_reg=t_reg, p50=percentile(lat, 0.5) * 1e6,
                    p99=percentile(lat, 0.99) * 1e6, rss=int(status["VmRSS"]) / 1024,
                    ref=None if ref is None else dict(p50=percentile(ref[0], 0.5) * 1e6,
                                                      p99=percentile(ref[0], 0.99) * 1e6, rss=ref[1] / 1024))
    finally:
        for task in tasks:
            task.cancel()
        tr.terminate()
        tr.wait(10)


def open_files_for(npeers):
    """Raises the open-file limit for npeers connections (this process holds
    one end, the tracker, which inherits the limit, the other). None if it
    could, else the reason."""
    want = npeers + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
        return None
    except (ValueError, OSError):
        return "needs %d open files; the hard limit is %d (run as root, or raise it)" % (want, hard)


def registry_only(n):
    """bench/registry_load.c (REGISTRY_LOAD, built by `make bench`): the
    tracker's registry alone with the same data, in one process; None if
    it was not built."""
    prog = os.environ.get("REGISTRY_LOAD", "")
    if not os.access(prog, os.X_OK):
        return None
    out = subprocess.run([prog, str(n)], capture_output=True, text=True, timeout=TIME_LIMIT, check=True).stdout.split()
    return {k: int(v) for k, v in zip(out[0::2], out[1::2])}


def lookup_names(npeers):
    return ["f%d-%d" % (random.randrange(npeers // HOLDERS), random.randrange(FILES)) for _ in range(LOOKUPS)]


def print_registry(rows):
    """The registry alone beside redis, at every size; and, where the real
    tracker could not be run, its memory projected from what a connection
    cost it at the sizes it ran (tracker RSS - registry RSS, per peer)."""
    done = [r for r in rows if r.get("reg") and not r.get("skipped")]
    per_conn = max(((r["rss"] * 1024 - r["reg"]["rss_kib"]) / r["peers"] for r in done), default=None)
    print("registry alone (bench/registry_load.c: the tracker's registry.c, same data, no sockets, no JSON):")
    print("%8s %10s %12s %12s | %-14s | %s" % ("peers", "RSS", "lookup p50", "lookup p99", "redis RSS", "ratio RSS"))
    for r in rows:
        reg, ref = r.get("reg"), r.get("ref")
        if not reg:
            continue
        rss = reg["rss_kib"] / 1024
        reftext = "n/a" if ref is None else "%9.0f MiB | %.2f" % (ref["rss"], rss / ref["rss"])
        print("%8d %6.0f MiB %9.2f us %9.2f us | %s" % (r["peers"], rss, reg["p50_ns"] / 1000, reg["p99_ns"] / 1000, reftext))
        if r.get("skipped") and per_conn is not None and ref is not None:
            proj = rss + per_conn * r["peers"] / 1024
            print("%8s projected tracker RSS with %d connections at %.2f KiB each (measured above): %.0f MiB, %.2f of redis"
                  % ("", r["peers"], per_conn, proj, proj / ref["rss"]))


def main():
    bin_dir = sys.argv[1]
    sizes = [min(int(a), MAX_PEERS) for a in sys.argv[2:]] or [10000, 100000]
    rows = []
    for n in sizes:
        why = open_files_for(n)
        r = dict(peers=n, skipped=why) if why else asyncio.run(run(bin_dir, n))
        r["reg"] = registry_only(n)
        if why and r["reg"]:
            ref = redis_reference(n, lookup_names(n))
            r["ref"] = None if ref is None else dict(p50=percentile(ref[0], 0.5) * 1e6,
                                                     p99=percentile(ref[0], 0.99) * 1e6, rss=ref[1] / 1024)
        rows.append(r)
    print("tracker: %d files per peer, each name held by %d peers, %d lookups one at a time" % (FILES, HOLDERS, LOOKUPS))
    print("%8s %10s %10s %11s %11s %9s | %-28s | %s" % (
        "peers", "files", "register+", "lookup p50", "lookup p99", "RSS", "redis-server: p50 / p99 / RSS",
        "ratio tracker/redis: RSS, p50"))
    for r in rows:
        if r.get("skipped"):
            print("%8d  skipped: %s" % (r["peers"], r["skipped"]))
            continue
        ref = r["ref"]
        reftext = "n/a" if ref is None else "%5.0f us / %5.0f us / %4.0f MiB | RSS %.2f, p50 %.2f" % (
            ref["p50"], ref["p99"], ref["rss"], r["rss"] / ref["rss"], r["p50"] / ref["p50"])
        print("%8d %10d %9.1fs %8.0f us %8.0f us %5.0f MiB | %s" % (
            r["peers"], r["files"], r["t_reg"], r["p50"], r["p99"], r["rss"], reftext))
    print("(register+: time for all peers to connect, register and publish; the goal is both ratios: RSS <= 1, p50 <= 1.5)")
    if any(r.get("reg") for r in rows):
        print()
        print_registry(rows)


if __name__ == "__main__":
    main()
