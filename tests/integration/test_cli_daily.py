"""`lanswarm` as a daily tool (issue 14): where the chunks are (loc), several
files at once, background downloads (get --detach, cancel, clean), unshare
and the download speed limit, each run as a user runs it."""
import json
import os
import subprocess

from conftest import SLOW, BIN, free_port, make_file, wait_until
from fakepeer import manifest_bytes, root_of, tags_line

LANSWARM = os.path.join(BIN, "lanswarm")
CHUNK = 64 * 1024


def run(*args, **kw):
    kw.setdefault("timeout", 60 * SLOW)
    return subprocess.run([LANSWARM] + [str(a) for a in args], capture_output=True, text=True, **kw)


def make_partial(peer_dir, data, chunk, name, held):
    """temp/ROOT.* as a downloader leaves them, with the chunks in `held` verified."""
    temp = peer_dir / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    root = root_of(data, chunk)
    nchunks = (len(data) + chunk - 1) // chunk
    (temp / (root + ".manifest")).write_bytes(manifest_bytes(data, chunk))
    (temp / (root + ".name")).write_text(name + "\n")
    (temp / (root + ".part")).write_bytes(data)
    (temp / (root + ".have")).write_bytes(bytes(1 if i in held else 0 for i in range(nchunks)))
    return root


def test_loc_shows_each_holders_chunks(swarm):
    data = os.urandom(20 * CHUNK)
    full = swarm.peer("full")
    (full.share / "big.bin").write_bytes(data)
    full.start("server", extra=["--chunk-size", "64K"])
    mid = swarm.peer("mid")
    make_partial(mid.dir, data, CHUNK, "big.bin", set(range(10)))
    mid.start("server", extra=["--chunk-size", "64K"])
    me = swarm.peer("me")
    gone = free_port()
    (me.dir / "tags.txt").write_text(tags_line("full", full.tcp_port, data, CHUNK, "big.bin")
                                     + tags_line("mid", mid.tcp_port, data, CHUNK, "big.bin", complete=False)
                                     + tags_line("gone", gone, data, CHUNK, "big.bin"))
    # The servers scan their folders once started: wait until both answer.
    r = wait_until(lambda: (lambda r: r if "10/20" in r.stdout and "20/20" in r.stdout else None)(
        run("--dir", me.dir, "loc", "big.bin")), 10, "both holders' maps")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("big.bin: 1.2 MiB in 20 chunk(s), root %s, 3 holder(s)" % root_of(data, CHUNK)[:8]), r.stdout
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    assert "[" + "#" * 20 + "] 100%  20/20" in rows["full"], r.stdout
    assert "[" + "#" * 10 + "." * 10 + "]  50%  10/20" in rows["mid"], r.stdout
    assert "cannot connect: connection refused" in rows["gone"], r.stdout
    j = json.loads(run("--dir", me.dir, "loc", "big.bin", "--json").stdout)
    held = {h["tag"]: h["chunks_held"] for h in j["holders"]}
    assert j["chunks"] == 20 and held == {"full": 20, "mid": 10, "gone": None}
    assert [h["bar"] for h in j["holders"] if h["tag"] == "mid"] == ["#" * 10 + "." * 10]
    r = run("--dir", me.dir, "loc", "nope.bin")
    assert r.returncode == 1 and "no peer in %s has 'nope.bin'" % (me.dir / "tags.txt") in r.stdout
    assert run("--dir", me.dir, "loc").returncode == 2
    # Nobody answers: 4, as get's "no live holder".
    (me.dir / "tags.txt").write_text(tags_line("gone", gone, data, CHUNK, "big.bin"))
    assert run("--dir", me.dir, "loc", "big.bin").returncode == 4
