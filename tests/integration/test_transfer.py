"""Swarm transfer: chunk servers and the downloader, as a user runs them."""
import json
import os
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import SLOW, VALGRIND, make_file, parse_logfmt, prog, sha256_file, wait_until
from fakepeer import FakePeer, tags_line

CHUNK = "64K"


def seed(swarm, tags, name, size, rate=None, seed_no=1, chunk=CHUNK):
    """Peers sharing the same file; returns (peers, source path)."""
    peers = []
    src = None
    for tag in tags:
        p = swarm.peer(tag)
        src = make_file(p.share / name, size, seed=seed_no)
        extra = ["--chunk-size", chunk] + (["--rate-limit", rate] if rate else [])
        p.start("server", "announcer", extra=extra)
        peers.append(p)
    return peers, src


def fetcher(swarm, want_tags, name, tag="fetcher"):
    d = swarm.peer(tag)
    d.start("listener")
    wait_until(lambda: set(want_tags) <= {r["tag"] for r in d.tags() if r["name"] == name}, 5,
               "%s announced by %s" % (name, ", ".join(want_tags)))
    return d


@pytest.mark.parametrize("nseeders", [1, 3])
def test_download_is_byte_identical(swarm, nseeders):
    tags = ["s%d" % i for i in range(nseeders)]
    # Rate-limited seeders make every one of them contribute.
    seeders, src = seed(swarm, tags, "video/clip.bin", 3 * 1024 * 1024 + 12345, rate="4M" if nseeders > 1 else None)
    d = fetcher(swarm, tags, "video/clip.bin")
    r = d.download("video/clip.bin")
    assert r.returncode == 0, r.stderr
    out = d.dir / "downloads" / "video" / "clip.bin"
    assert sha256_file(out) == sha256_file(src)
    (line,) = d.client_log()
    assert line["name"] == "video/clip.bin" and line["result"] == "ok"
    assert int(line["size"]) == os.path.getsize(src) == int(line["fetched"])
    per_peer = {p.split("@")[0]: int(p.rsplit("=", 1)[1]) for p in line["peers"].split(",")}
    assert set(per_peer) == set(tags)
    assert sum(per_peer.values()) == os.path.getsize(src)
    if nseeders == 3:
        assert all(v > 0 for v in per_peer.values()), per_peer
    # Nothing is left in temp/, and the seeders logged the connections.
    assert os.listdir(d.dir / "temp") == []
    for s in seeders:
        wait_until(lambda: (s.dir / "server.log").exists() and (s.dir / "server.log").read_text(), 3, "server.log")
        entry = parse_logfmt((s.dir / "server.log").read_text().splitlines()[-1])
        assert entry["peer"].startswith("127.0.0.1:") and int(entry["bytes"]) > 0


@pytest.mark.parametrize("nseeders,bound", [(1, 1.01), (4, 1.05)])
def test_bytes_received_stay_near_the_file_size(swarm, nseeders, bound):
    """client.log's received= counts every byte read from the peers: one
    source never sends a chunk twice (none is asked for again while it is
    being verified); with four, the endgame copies only the last few."""
    tags = ["s%d" % i for i in range(nseeders)]
    # One source: 40 chunks, so that one chunk sent twice (2.5%) fails.
    size = 40 * 65536 if nseeders == 1 else 16 * 1024 * 1024
    _, src = seed(swarm, tags, "img.bin", size, rate="4M" if nseeders > 1 else None)
    d = fetcher(swarm, tags, "img.bin")
    # One thread to verify (a slow disk) and a deep pipeline: replies wait to
    # be verified, the time a chunk used to be asked for again. Three runs:
    # a race does not show every time.
    args = [prog("downloader")] + d.common() + ["--depth", "16", "img.bin"]
    runs = 3 if nseeders == 1 else 1
    for _ in range(runs):
        dest = d.dir / "downloads" / "img.bin"
        if dest.exists():
            dest.unlink()
        r = subprocess.run(args, capture_output=True, text=True, timeout=60 * SLOW,
                           env=dict(os.environ, UV_THREADPOOL_SIZE="1"))
        assert r.returncode == 0, r.stderr
        assert sha256_file(dest) == sha256_file(src)
    lines = d.client_log()
    assert len(lines) == runs
    if VALGRIND and nseeders > 1:
        # Holders slowed 20-50 times unevenly make the endgame race more of the
        # last chunks: only "each chunk fetched, not all twice" is a property
        # there; the 1.05 bound is proved by the plain and ASan passes.
        bound = 1.5
    for line in lines:
        received = int(line["received"])
        # Frames and the manifest add well under 1%; every chunk came once at least.
        assert size < received <= bound * size, (received / size, line)


def test_seeder_killed_mid_download(swarm):
    seeders, src = seed(swarm, ["s0", "s1"], "big.bin", 4 * 1024 * 1024, rate="2M")
    d = fetcher(swarm, ["s0", "s1"], "big.bin")
    args = [prog("downloader")] + d.common() + ["big.bin"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: d.chunks_held() >= 8, 15, "some chunks")
    seeders[0].procs["server"].stop(signal.SIGKILL)
    out, err = proc.communicate(timeout=60 * SLOW)
    assert proc.returncode == 0, err
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(src)
    (line,) = d.client_log()
    assert line["result"] == "ok"
    assert "s1@" in line["peers"]


def test_corrupt_seeder_is_banned_and_file_still_verified(swarm, tmp_path):
    data = os.urandom(20 * 65536 + 7)
    liar = FakePeer(data, 65536, mode="corrupt")
    honest = FakePeer(data, 65536)
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text(tags_line("liar", liar.port, data, 65536, "f.bin") +
                                        tags_line("honest", honest.port, data, 65536, "f.bin"))
        r = d.download("f.bin", "--verbose")  # the diagnostics on stderr too
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "f.bin").read_bytes() == data
        (line,) = d.client_log()
        assert "liar@127.0.0.1:%d=0" % liar.port in line["peers"]
        assert "wrong hash" in r.stderr and "banned" in r.stderr
    finally:
        liar.close()
        honest.close()


@pytest.mark.parametrize("modes", [["corrupt"], ["badmanifest"], ["corrupt", "corrupt"]])
def test_only_bad_holders_is_an_integrity_failure(swarm, modes):
    data = os.urandom(5 * 65536)
    fakes = [FakePeer(data, 65536, mode=m) for m in modes]
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text("".join(tags_line("p%d" % i, f.port, data, 65536, "f.bin")
                                                for i, f in enumerate(fakes)))
        r = d.download("f.bin", "--verbose")
        assert r.returncode == 5, (r.returncode, r.stderr)
        assert not (d.dir / "downloads" / "f.bin").exists()
        assert d.client_log()[0]["result"] == "integrity"
        # Found where it should be: each bad chunk or manifest as it arrived,
        # its sender banned; never by the whole-file check at the end.
        found = "with a wrong hash: banned" if modes[0] == "corrupt" else "does not hash to the root: banned"
        banned = {l.split("peer ", 1)[1].split(" ", 1)[0] for l in r.stderr.splitlines() if found in l}
        assert banned == {"p%d" % i for i in range(len(modes))}, r.stderr
        assert "whole file" not in r.stderr, r.stderr
    finally:
        for f in fakes:
            f.close()


@pytest.mark.parametrize("mode", ["hugechunk", "silent"])
def test_hostile_or_stalled_peer_is_dropped(swarm, mode):
    data = os.urandom(8 * 65536)
    bad = FakePeer(data, 65536, mode=mode)
    honest = FakePeer(data, 65536)
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text(tags_line("bad", bad.port, data, 65536, "f.bin") +
                                        tags_line("honest", honest.port, data, 65536, "f.bin"))
        r = d.download("f.bin", "--json", timeout=30)
        assert r.returncode == 0, r.stderr
        assert (d.dir / "downloads" / "f.bin").read_bytes() == data
        import json
        summary = json.loads(r.stdout)
        ends = {p["tag"]: p["end"] for p in summary["peers"]}
        assert ends["bad"].startswith("banned" if mode == "hugechunk" else "dropped"), ends
    finally:
        bad.close()
        honest.close()


# 2M: chunks over 1 MiB arrive, are hashed and are written in parts; the one
# arriving at the kill is in temp/ unmarked, fetched again; those before it kept.
@pytest.mark.parametrize("chunk,size,rate,first", [("64K", 6 << 20, "2M", 30), ("2M", (12 << 20) + 3, "4M", 2)],
                         ids=["64K", "2M"])
def test_kill9_then_resume_fetches_less(swarm, chunk, size, rate, first):
    seeders, src = seed(swarm, ["s0"], "movie.bin", size, rate=rate, chunk=chunk)
    d = fetcher(swarm, ["s0"], "movie.bin")
    args = [prog("downloader")] + d.common() + ["movie.bin"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: d.chunks_held() >= first, 15, "some chunks verified")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    held = d.chunks_held()
    r = d.download("movie.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "movie.bin") == sha256_file(src)
    (line,) = d.client_log()  # the killed run wrote no line
    chunk_bytes = int(chunk[:-1]) << (10 if chunk.endswith("K") else 20)
    assert int(line["resumed"]) >= held * chunk_bytes - chunk_bytes
    assert int(line["fetched"]) <= os.path.getsize(src) - int(line["resumed"])
    assert int(line["fetched"]) < os.path.getsize(src)


def test_resume_rechecks_torn_chunks_in_temp(swarm):
    """A chunk marked held in temp/ whose bytes were torn (a crash, a bad
    disk) is found by the resume check and fetched again, not resumed."""
    seeders, src = seed(swarm, ["s0"], "disk.img", 3 * 1024 * 1024, rate="2M")
    d = fetcher(swarm, ["s0"], "disk.img")
    args = [prog("downloader")] + d.common() + ["disk.img"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: d.chunks_held() >= 10, 15, "ten chunks")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    have = d.have_file()
    marks = have.read_bytes()
    held = marks.count(b"\x01")
    torn = [i for i, m in enumerate(marks) if m == 1][:2]
    part = have.with_suffix(".part")
    with open(part, "r+b") as f:
        for i in torn:
            f.seek(i * 65536 + 100)
            f.write(b"\xde\xad\xbe\xef")
    r = d.download("disk.img", "--verbose")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "disk.img") == sha256_file(src)
    assert "resume: 2 chunk(s) in temp/ failed their check" in r.stderr, r.stderr
    (line,) = d.client_log()
    assert int(line["resumed"]) == (held - 2) * 65536, (held, line)


def test_download_from_a_partial_peer(swarm):
    """A peer seeds the chunks it has while it downloads; a fetch from it alone
    fails clearly when it lacks chunks, and succeeds with a full seeder added."""
    (full,), src = seed(swarm, ["full"], "album.bin", 2 * 1024 * 1024, rate="1M")
    mid = fetcher(swarm, ["full"], "album.bin", tag="mid")
    args = [prog("downloader")] + mid.common() + ["album.bin"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: mid.chunks_held() >= 8, 15, "mid to hold 8 chunks")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    full.stop("server")
    full.stop("announcer")
    mid.start("server", "announcer", extra=["--chunk-size", CHUNK])
    last = fetcher(swarm, ["mid"], "album.bin", tag="last")
    assert [r["state"] for r in last.tags() if r["tag"] == "mid"] == ["partial"]
    r = last.download("album.bin")
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "no live peer holds chunk" in r.stderr
    # The full seeder comes back: now the fetch takes chunks from both.
    full.start("server", "announcer", extra=["--chunk-size", CHUNK])
    wait_until(lambda: "full" in {x["tag"] for x in last.tags()}, 5, "full back in tags.txt")
    r = last.download("album.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(last.dir / "downloads" / "album.bin") == sha256_file(src)
    # The partial peer served what it has: the first attempt took its chunks
    # (kept in temp/), the second resumed them and took the rest from full.
    first, second = last.client_log()
    served = lambda line: {p.split("@")[0]: int(p.rsplit("=", 1)[1]) for p in line["peers"].split(",")}
    assert first["result"] == "no-holder" and served(first).get("mid", 0) > 0, first
    assert int(second["resumed"]) == served(first)["mid"], (first, second)
    assert served(second).get("full", 0) > 0, second


def test_server_answers_hostile_requests_and_keeps_serving(swarm):
    (s,), src = seed(swarm, ["s"], "a.txt", 1000)
    wait_until(lambda: (s.dir / "server.log").exists(), 3, "server.log")
    def exchange(payload, read=True):
        c = socket.create_connection(("127.0.0.1", s.tcp_port), timeout=5)
        c.sendall(payload)
        data = b""
        if read:
            try:
                while True:
                    part = c.recv(65536)
                    if not part:
                        break
                    data += part
                    if len(data) >= 10 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
                        break
            except socket.timeout:
                pass
        c.close()
        return data
    def req(typ, payload, rid=7):
        return struct.pack(">IBBI", 6 + len(payload), 1, typ, rid) + payload
    def error_code(reply):
        assert reply[5] == 0xFF, reply[:16]
        return struct.unpack(">H", reply[10:12])[0]
    assert error_code(exchange(req(0x01, b"\0" * 32))) == 2               # unknown root
    assert error_code(exchange(req(0x02, b"\0" * 32 + struct.pack(">I", 2 ** 31)))) == 2
    assert error_code(exchange(b"GET /../../etc/passwd HTTP/1.0\r\n\r\n")) == 1  # malformed frame
    assert error_code(exchange(req(0x01, b"\0" * 31))) == 1               # root of the wrong length
    assert error_code(exchange(struct.pack(">IBBI", 0xFFFFFFFF, 1, 0x02, 1))) == 1  # 4 GB request
    from fakepeer import root_of
    root = bytes.fromhex(root_of(open(src, "rb").read(), 65536))
    # The server knows the root once its first scan hashed the file.
    wait_until(lambda: exchange(req(0x01, root))[5:6] == b"\x81", 5, "the server to have hashed a.txt")
    assert error_code(exchange(req(0x02, root + struct.pack(">I", 2 ** 31)))) == 1  # chunk index out of range
    reply = exchange(req(0x02, root + struct.pack(">I", 0)))
    assert reply[5] == 0x82 and reply[14:] == open(src, "rb").read()
    # A path never works as a root, and the server is still serving.
    reply = exchange(req(0x01, root))
    assert reply[5] == 0x81
    log = (s.dir / "server.log").read_text()
    assert "end=protocol" in log and s.procs["server"].alive()


def test_exit_codes(swarm):
    (s,), src = seed(swarm, ["s"], "doc.txt", 10)
    d = fetcher(swarm, ["s"], "doc.txt")
    r = d.download("missing.txt")
    assert r.returncode == 3 and "no peer" in r.stderr
    r = d.download("../etc/passwd")
    assert r.returncode == 2
    (d.dir / "downloads").mkdir(exist_ok=True)
    (d.dir / "downloads" / "doc.txt").write_text("mine, keep it")
    r = d.download("doc.txt")
    assert r.returncode == 6 and "not overwriting" in r.stderr
    assert (d.dir / "downloads" / "doc.txt").read_text() == "mine, keep it"
    s.stop("server")
    (d.dir / "downloads" / "doc.txt").unlink()
    r = d.download("doc.txt")
    assert r.returncode == 4, r.stderr


def test_interrupted_download_exits_130_and_resumes(swarm):
    """Ctrl-C: the downloader stops with 130, keeps what it verified, and the
    next run resumes from it."""
    seeders, src = seed(swarm, ["s0"], "long.bin", 4 * 1024 * 1024, rate="2M")
    d = fetcher(swarm, ["s0"], "long.bin")
    args = [prog("downloader")] + d.common() + ["long.bin"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: d.chunks_held() >= 8, 15, "some chunks")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10 * SLOW)
    assert proc.returncode == 130, (proc.returncode, err)
    assert not (d.dir / "downloads" / "long.bin").exists()
    held = d.chunks_held()
    assert held >= 8
    r = d.download("long.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "long.bin") == sha256_file(src)
    assert int(d.client_log()[-1]["resumed"]) == held * 65536


def test_rate_limit_is_kept(swarm):
    """2 MiB in 64 KiB chunks from one seeder limited to 512 KiB/s: its first
    chunk goes at once, each of the other 31 an eighth of a second later, so
    3.9 s. Never less (load only slows a transfer: a limit not kept, or kept
    at twice the rate, ends by 2 s), not much more (the limit applied twice:
    7.8 s). The downloader's own duration (client.log) leaves out its start."""
    size, rate = 2 * 1024 * 1024, 512 * 1024
    seeders, src = seed(swarm, ["s0"], "rated.bin", size, rate="512K")
    d = fetcher(swarm, ["s0"], "rated.bin")
    r = d.download("rated.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "rated.bin") == sha256_file(src)
    expected = (size // 65536 - 1) * 65536 / rate
    took = float(d.client_log()[-1]["duration_s"])
    assert 0.9 * expected <= took <= 1.5 * expected * SLOW, (took, expected)


def test_second_download_of_the_same_file_is_refused(swarm):
    seeders, src = seed(swarm, ["s0"], "one.bin", 4 * 1024 * 1024, rate="2M")
    d = fetcher(swarm, ["s0"], "one.bin")
    args = [prog("downloader")] + d.common() + ["one.bin"]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: d.chunks_held() >= 2, 10, "the first download to be under way")
    r = d.download("one.bin")
    assert r.returncode == 7 and "another download of this file is running" in r.stderr, r.stderr
    _, err = first.communicate(timeout=60 * SLOW)
    assert first.returncode == 0, err
    assert sha256_file(d.dir / "downloads" / "one.bin") == sha256_file(src)


def test_endgame_races_a_slow_peer_to_the_end(swarm):
    """Two holders, one limited to 16 KiB/s (a 64 KiB chunk every 4 s after
    its first), the other unlimited. The slow one is asked for --depth 4
    chunks at the start and delivers one at once; without the endgame the
    download would wait about 12 s for its other three. With it, the fast
    holder is asked for them as soon as nothing else is left: the download
    ends in about the fast holder's time, verified, and the fast holder
    served every chunk the slow one did not."""
    size, chunk = 8 * 1024 * 1024, 65536
    fast, slow = swarm.peer("fast"), swarm.peer("slow")
    for p, rate in ((fast, []), (slow, ["--rate-limit", "16K"])):
        src = make_file(p.share / "race.bin", size, seed=4)
        p.start("server", extra=["--chunk-size", CHUNK] + rate)
    for p in (fast, slow):  # it listens before its share is hashed
        wait_until(lambda: "serving 1 file(s)" in p.procs["server"].output(), 10, "%s to serve the file" % p.tag)
    data = src.read_bytes()
    d = swarm.peer("fetcher")
    (d.dir / "tags.txt").write_text(tags_line("slow", slow.tcp_port, data, chunk, "race.bin") +
                                    tags_line("fast", fast.tcp_port, data, chunk, "race.bin"))
    t0 = time.monotonic()
    # A stall timeout far above the slow holder's 4 s between chunks: it is
    # slow, never silent, and must not be dropped as stalled.
    # Without the endgame it would take about 12 s: cut off at 8 s.
    r = d.download("race.bin", "--depth", "4", "--stall-timeout", "60", "--json", timeout=8 * SLOW)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "race.bin") == sha256_file(src)
    peers = {p["tag"]: p for p in json.loads(r.stdout)["peers"]}
    assert not peers["slow"]["end"].startswith(("dropped", "banned")), peers
    slow_chunks = peers["slow"]["bytes"] // chunk
    # The slow holder had 4 requests and sent its burst's one (two at most,
    # on a machine slow enough to take 4 s): the rest of them came from fast.
    assert 1 <= slow_chunks <= 2, peers
    assert peers["fast"]["bytes"] + peers["slow"]["bytes"] == size, peers
    assert took < 4.0 * SLOW, took
    # What the holders saw: the fast one served every chunk the slow one did not.
    nchunks = size // chunk
    wait_until(lambda: (fast.dir / "server.log").exists() and (slow.dir / "server.log").exists(), 5, "server.log")
    fast_log = [parse_logfmt(l) for l in (fast.dir / "server.log").read_text().splitlines()]
    assert sum(int(e["chunks"]) for e in fast_log) >= nchunks - slow_chunks, fast_log
