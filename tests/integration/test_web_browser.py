"""The dashboard in a real browser: Debian's Chromium, headless, driven by
tests/browser/dashboard.mjs (playwright-core, installed by scripts/deps.sh test).

Three peers on loopback (two seeders and the one with the dashboard) and a
fourth that starts while the page is open and then falls silent. Screenshots
of every screen go to build/test-output/web/ (LANSWARM_TEST_OUTPUT).
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import SLOW, VALGRIND, make_file, prog, sha256_file, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
OUT = os.environ.get("LANSWARM_TEST_OUTPUT", os.path.join(ROOT, "build", "test-output"))


def test_dashboard_in_chromium(swarm, tmp_path):
    if VALGRIND:
        pytest.skip("Chromium against daemons slowed by valgrind: the plain and ASan passes run this test")
    node = shutil.which("node")
    assert node and os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")), \
        "node and tests/browser/node_modules are needed: run scripts/deps.sh test"
    assert os.path.exists(os.environ.get("CHROMIUM", "/usr/bin/chromium")), "chromium is needed: scripts/deps.sh test"

    size = 12 * 1024 * 1024
    for tag, extra_files in [("b", {"photos/beach.jpg": 300000, "notes.txt": 2000}),
                             ("c", {"music/song.ogg": 900000, "notes-old.txt": 1500})]:
        p = swarm.peer(tag)
        make_file(p.share / "movie.mkv", size, seed=1)
        for i, (name, n) in enumerate(extra_files.items()):
            make_file(p.share / name, n, seed=10 + i + (5 if tag == "c" else 0))
        # Slow seeders, so that the progress bar has time to move.
        p.start("server", "announcer", extra=["--chunk-size", "256K", "--rate-limit", "2M"])
    me = swarm.peer("me")
    me.start("listener", "server", "announcer", extra=["--chunk-size", "256K"])
    me.start_web()
    late = swarm.peer("d")
    make_file(late.share / "late.bin", 5000, seed=30)
    wait_until(lambda: {"b", "c"} <= {r["tag"] for r in me.tags()}, 10, "b and c in tags.txt")

    outside = tmp_path / "outside"
    make_file(outside / "holiday.mov", 64000, seed=40)
    out = os.path.join(OUT, "web")
    plan = {
        "url": me.web.url,
        "out": out,
        "slow": SLOW,
        "peers": ["b", "c"],
        "files": ["movie.mkv", "notes.txt", "photos/beach.jpg", "music/song.ogg", "notes-old.txt"],
        "search": {"query": "notes", "expect": ["notes.txt", "notes-old.txt"]},
        "download": "movie.mkv",
        # d announces every 2 s, the others every 1 s: once killed it is quiet
        # (2 of the dashboard's intervals) from 3 s until the listener drops it at 6 s.
        "late_peer": {"tag": "d", "argv": [prog("announcer")] + late.common() + ["--interval", "2"]},
        "add": {"path": str(outside / "holiday.mov"), "name": "videos/holiday.mov"},
    }
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    r = subprocess.run([node, os.path.join(BROWSER_DIR, "dashboard.mjs"), str(plan_path)], capture_output=True,
                       text=True, timeout=240, cwd=BROWSER_DIR)
    print(r.stdout)
    assert r.returncode == 0, "browser checks failed:\n%s\n%s" % (r.stdout, r.stderr)

    # What the clicks did, on disk: the download verified, logged; the added file shared.
    assert sha256_file(me.dir / "downloads" / "movie.mkv") == sha256_file(swarm.peers["b"].share / "movie.mkv")
    (line,) = me.client_log()
    assert line["name"] == "movie.mkv" and line["result"] == "ok"
    # Added, then removed: out of the share, kept in unshared/, the original untouched.
    assert not (me.share / "videos" / "holiday.mov").exists()
    assert sha256_file(me.dir / "unshared" / "videos" / "holiday.mov") == sha256_file(outside / "holiday.mov")
    for shot in ["peers", "files", "files-search", "transfers-running", "transfers", "share", "server", "phone-dark"]:
        path = os.path.join(out, shot + ".png")
        assert os.path.getsize(path) > 10000, path
