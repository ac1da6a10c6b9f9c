"""What a person sees on a terminal: the progress bar, and the interactive
downloader (fetch, list, quit) when no NAME is given. Driven through a pty."""
import os
import re
import pty
import select
import subprocess
import time

from conftest import SLOW, make_file, prog, sha256_file, wait_until


def run_on_pty(args, inputs=(), timeout=30 * SLOW):
    """Runs args with stdin/stdout/stderr on a pty; types each input once the
    output so far contains its prompt. Returns everything printed."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    pending = list(inputs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending and pending[0][0].encode() in out:
            expect, line = pending.pop(0)
            os.write(master, (line + "\n").encode())
            out = out.replace(expect.encode(), b"<" + expect.encode() + b">", 1)  # consume the prompt
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=5)
    os.close(master)
    return p.returncode, out.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(swarm):
    s = swarm.peer("seed")
    src = make_file(s.share / "big.bin", 4 * 1024 * 1024, seed=3)
    s.start("server", "announcer", extra=["--rate-limit", "4M"])
    d = swarm.peer("me")
    d.start("listener")
    wait_until(lambda: "big.bin" in d.names_from("seed"), 5, "big.bin")
    rc, out = run_on_pty([prog("downloader")] + d.common() + ["big.bin"])
    assert rc == 0, out
    # The bar is redrawn in place: percent, bytes, speed, ETA, the peers by name.
    assert "\r" in out and "ETA" in out and "from seed" in out and "MiB/s" in out
    assert "100% [########################] 4.0 MiB in " in out and "peers 0" not in out
    # The speed is measured from the bytes received: never twice the 4 MiB/s limit.
    speeds = [float(x) for x in re.findall(r"([0-9.]+) MiB/s  ETA", out)]
    assert all(x < 6 for x in speeds), speeds
    # A tiny file: its size and time, not "0 B/s".
    make_file(s.share / "tiny.txt", 12, seed=5)
    wait_until(lambda: "tiny.txt" in d.names_from("seed"), 5, "tiny.txt")
    rc, out = run_on_pty([prog("downloader")] + d.common() + ["tiny.txt"])
    assert rc == 0 and re.search(r"100% \[#+\] 12 B in [0-9.]+ s", out), out
    assert " 0 B/s" not in out, out
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(src)


def test_interactive_downloader(swarm):
    s = swarm.peer("seed")
    src = make_file(s.share / "notes.txt", 5000, seed=4)
    s.start("server", "announcer")
    d = swarm.peer("me")
    d.start("listener")
    wait_until(lambda: "notes.txt" in d.names_from("seed"), 5, "notes.txt")
    rc, out = run_on_pty([prog("downloader")] + d.common(),
                         [("lanswarm> ", "list"), ("lanswarm> ", "fetch notes.txt"), ("lanswarm> ", "fetch nope"),
                          ("lanswarm> ", "dance"), ("lanswarm> ", "quit")])
    assert rc == 0, out
    assert "notes.txt" in out and "seed (127.0.0.1:%d)" % s.tcp_port in out
    assert "no peer in" in out and "fetch failed (exit status 3)" in out
    assert "usage: fetch NAME | list | quit" in out
    assert sha256_file(d.dir / "downloads" / "notes.txt") == sha256_file(src)


def test_colours_only_on_a_terminal_and_never_with_no_color(swarm):
    s = swarm.peer("seed")
    (s.share / "a.txt").write_text("a")
    s.start("announcer")
    d = swarm.peer("me")
    d.start("listener")
    wait_until(lambda: "a.txt" in d.names_from("seed"), 5, "a.txt")
    lanswarm = prog("").rstrip("-")
    rc, out = run_on_pty([lanswarm, "--dir", str(d.dir), "peers"])
    assert rc == 0 and "\033[1m" in out, out
    env_args = ["env", "NO_COLOR=1", lanswarm, "--dir", str(d.dir), "peers"]
    rc, out = run_on_pty(env_args)
    assert rc == 0 and "\033[" not in out and "seed" in out, out
