"""Faults, with nothing lost: kill -9 at any moment, a full disk, a file that
changes while it is downloaded, clocks that jump."""
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import SAN, SLOW, VALGRIND, make_file, prog, read_tags, sha256_file, skip_unless_able, wait_until

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def tags_whole(path, entries):
    """tags.txt is there, whole: the header, then `entries` valid lines."""
    text = open(path, encoding="utf-8").read()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    return (text.startswith("# lanswarm tags v1") and text.endswith("\n") and
            len(lines) == len(read_tags(path)) == entries)


def test_kill9_any_daemon_then_restart(swarm):
    a = swarm.peer("alpha")
    src = make_file(a.share / "big.bin", 5 * 1024 * 1024, seed=21)
    for i in range(30):
        (a.share / ("small-%02d.txt" % i)).write_text("x" * i)
    a.start("server", "announcer", extra=["--rate-limit", "3M", "--chunk-size", "64K"])
    b = swarm.peer("beta")
    b.start("listener")
    wait_until(lambda: len(b.names_from("alpha")) == 31, 5, "alpha's 31 files")
    rnd = random.Random(7)
    for round_ in range(3):
        # The listener, at a random moment: tags.txt is never half written.
        time.sleep(rnd.uniform(0, 0.3))  # a random moment, not a wait for a condition
        b.procs["listener"].stop(signal.SIGKILL)
        assert tags_whole(b.dir / "tags.txt", 31)
        b.start("listener")
        # The announcer: a restart hashes nothing again (the manifest cache).
        a.procs["announcer"].stop(signal.SIGKILL)
        a.start("announcer")
        wait_until(lambda: "share:" in a.procs["announcer"].output(), 5, "the announcer's first scan")
        assert "hashed" not in a.procs["announcer"].output()
        wait_until(lambda: "big.bin" in b.names_from("alpha"), 5, "big.bin again")
    # The downloader and the server, mid-transfer: the download resumes, and
    # downloads/ never holds a partial file.
    args = [prog("downloader")] + b.common() + ["big.bin"]
    for victim in ("downloader", "server", "downloader"):
        dl = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        held = b.chunks_held()
        wait_until(lambda: b.chunks_held() >= held + 10, 20, "progress")
        if victim == "downloader":
            dl.send_signal(signal.SIGKILL)
            dl.wait()
        else:
            a.procs["server"].stop(signal.SIGKILL)
            assert dl.wait(30 * SLOW) == 4  # no live holder: exits, partial kept
            a.start("server", extra=["--rate-limit", "3M", "--chunk-size", "64K"])
        assert not os.path.exists(b.dir / "downloads" / "big.bin")
    r = b.download("big.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(b.dir / "downloads" / "big.bin") == sha256_file(src)
    last = b.client_log()[-1]
    assert int(last["resumed"]) > 0 and last["result"] == "ok"


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        skip_unless_able("needs root to mount a small tmpfs")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        skip_unless_able("cannot mount a tmpfs here: " + r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_disk_full_keeps_the_partial_and_resumes(swarm, small_disk):
    a = swarm.peer("alpha")
    src = make_file(a.share / "big.bin", 6 * 1024 * 1024, seed=22)
    a.start("server", "announcer")
    b = swarm.peer("beta")
    b.start("listener")
    wait_until(lambda: "big.bin" in b.names_from("alpha"), 5, "big.bin")
    disk = ["--temp", str(small_disk / "temp"), "--downloads", str(small_disk / "downloads")]
    r = b.download("big.bin", *disk)
    assert r.returncode == 7, (r.returncode, r.stderr)
    assert "no space left on device" in r.stderr.lower() and "kept" in r.stderr
    assert b.client_log()[-1]["result"] == "io-error"
    haves = [f for f in os.listdir(small_disk / "temp") if f.endswith(".have")]
    assert haves and open(small_disk / "temp" / haves[0], "rb").read().count(b"\x01") > 0
    # Space freed: the same command resumes and finishes.
    subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)
    r = b.download("big.bin", *disk)
    assert r.returncode == 0, r.stderr
    assert sha256_file(small_disk / "downloads" / "big.bin") == sha256_file(src)
    assert int(b.client_log()[-1]["resumed"]) > 0


def test_file_changed_while_downloading(swarm):
    a = swarm.peer("alpha")
    path = make_file(a.share / "doc.bin", 4 * 1024 * 1024, seed=23)
    a.start("server", "announcer", extra=["--rate-limit", "2M"])
    b = swarm.peer("beta")
    b.start("listener")
    wait_until(lambda: "doc.bin" in b.names_from("alpha"), 5, "doc.bin")
    old_root = [r["root"] for r in b.tags() if r["name"] == "doc.bin"][0]
    dl = subprocess.Popen([prog("downloader")] + b.common() + ["doc.bin"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    wait_until(lambda: b.chunks_held() >= 2, 10, "the download to start")
    make_file(path, 4 * 1024 * 1024, seed=99)  # rewritten in place
    out, err = dl.communicate(timeout=60 * SLOW)
    assert dl.returncode == 4, err
    assert "no longer holds this content" in err
    assert not os.path.exists(b.dir / "downloads" / "doc.bin")
    # The share announces the new content.
    wait_until(lambda: [r["root"] for r in b.tags() if r["name"] == "doc.bin"] not in ([], [old_root]), 5,
               "the new root in tags.txt")
    r = b.download("doc.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(b.dir / "downloads" / "doc.bin") == sha256_file(path)


def test_wall_clock_jumps_do_not_expire_or_keep_peers(swarm, tmp_path):
    if not os.path.exists(FAKETIME):
        skip_unless_able("libfaketime is not installed (Debian package faketime)")
    if SAN:
        pytest.skip("libfaketime cannot be preloaded ahead of the ASan runtime")
    if VALGRIND:
        pytest.skip("libfaketime is not preloaded into programs run under valgrind")
    a = swarm.peer("alpha")
    (a.share / "a.txt").write_text("a")
    a.start("announcer")
    b = swarm.peer("beta")
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(stamp), "FAKETIME_NO_CACHE": "1",
           "DONT_FAKE_MONOTONIC": "1"}
    old_env = dict(os.environ)
    os.environ.update(env)
    try:
        b.start("listener")
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    wait_until(lambda: "a.txt" in b.names_from("alpha"), 5, "a.txt")
    # The wall clock jumps a day forward, then back: peers neither expire nor linger.
    stamp.write_text("+1d\n")
    wait_until(lambda: any(r["seen"] > time.time() + 80000 for r in b.tags()), 5, "last_seen in the new time")
    assert "a.txt" in b.names_from("alpha")
    stamp.write_text("-1d\n")
    wait_until(lambda: any(r["seen"] < time.time() - 80000 for r in b.tags()), 5, "last_seen back in time")
    assert "a.txt" in b.names_from("alpha")
    # Expiry runs on the monotonic clock: a silent peer still goes after 3 intervals.
    a.procs["announcer"].stop(signal.SIGKILL)
    wait_until(lambda: "a.txt" not in b.names_from("alpha"), 6, "alpha to expire")
