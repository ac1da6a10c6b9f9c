"""`lanswarm` telling the truth: paths, ports, errors and listings as a user
meets them (issue 14)."""
import json
import os
import socket
import subprocess

from conftest import SLOW, BIN, Proc, _port_open, free_port, prog, wait_until

LANSWARM = os.path.join(BIN, "lanswarm")


def run(*args, **kw):
    return subprocess.run([LANSWARM] + list(args), capture_output=True, text=True, timeout=30 * SLOW, **kw)


def test_init_writes_absolute_paths_and_status_says_the_share_is_missing(tmp_path):
    (tmp_path / "here").mkdir()
    r = run("init", "p", cwd=str(tmp_path / "here"))
    assert r.returncode == 0, r.stderr
    d = tmp_path / "here" / "p"
    conf = (d / "lanswarm.conf").read_text()
    assert "dir = %s\n" % d in conf and "# share = %s/share\n" % d in conf
    assert "lanswarm --dir %s up" % d in r.stdout
    # From elsewhere, with only --config: the peer's folder is the one init made.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("--config", str(d / "lanswarm.conf"), "status", cwd=str(elsewhere))
    assert r.returncode == 0 and "sharing 0 file(s) from %s/share" % d in r.stdout, r.stdout
    os.rmdir(d / "share")
    r = run("--config", str(d / "lanswarm.conf"), "status", cwd=str(elsewhere))
    assert "the share folder %s/share does not exist" % d in r.stdout, r.stdout
    st = json.loads(run("--config", str(d / "lanswarm.conf"), "status", "--json").stdout)
    assert st["share_exists"] is False and st["share_dir"] == "%s/share" % d


def test_tracker_beside_a_running_peer_takes_its_own_port(tmp_path):
    """The tracker's port is tracker_port (41772 by default), not the chunk
    server's: started with a peer's --dir it does not collide with it."""
    r = subprocess.run([prog("tracker"), "--help"], capture_output=True, text=True)
    assert "--tracker-port N" in r.stdout and "default 41772" in r.stdout
    assert run("init", str(tmp_path / "a")).returncode == 0
    a = tmp_path / "a"
    server_port, tracker_port = free_port(), free_port()
    conf = (a / "lanswarm.conf").read_text().replace("tcp_port = 41771", "tcp_port = %d" % server_port)
    (a / "lanswarm.conf").write_text(conf + "listen_addr = 127.0.0.1\n")
    server = Proc([prog("server"), "--dir", str(a)], str(tmp_path / "server.out"))
    tracker = None
    try:
        wait_until(lambda: _port_open(server_port), 10, "the peer's server")
        # Only the port the test may use is given: the file's tcp_port is not the tracker's.
        (a / "lanswarm.conf").write_text(conf + "listen_addr = 127.0.0.1\ntracker_port = %d\n" % tracker_port)
        tracker = Proc([prog("tracker"), "--dir", str(a), "--no-shell"], str(tmp_path / "tracker.out"))
        wait_until(lambda: _port_open(tracker_port), 10, "the tracker beside the peer")
        # The port opens a moment before the line is logged (long under valgrind).
        wait_until(lambda: "listening on TCP 127.0.0.1:%d" % tracker_port in tracker.output(), 5,
                   "the tracker to say where it listens")
        assert tracker.alive() and server.alive()
    finally:
        if tracker:
            tracker.stop()
        server.stop()


def test_up_with_a_port_taken_says_why_and_stops(tmp_path):
    """The server cannot listen: up prints the server's own reason, and after a
    few failed starts stops everything with a non-zero status."""
    assert run("init", str(tmp_path / "a")).returncode == 0
    a = tmp_path / "a"
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("0.0.0.0", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    conf = (a / "lanswarm.conf").read_text()
    conf = conf.replace("tcp_port = 41771", "tcp_port = %d" % port).replace("broadcast = auto", "broadcast = 127.255.255.255")
    conf = conf.replace("udp_port = 41770", "udp_port = %d" % free_port(socket.SOCK_DGRAM))
    (a / "lanswarm.conf").write_text(conf)
    try:
        r = run("--dir", str(a), "up")
    finally:
        taken.close()
    assert r.returncode == 1, r.stderr
    reason = "server: cannot listen on TCP 0.0.0.0:%d: address already in use" % port
    assert reason in r.stderr, r.stderr
    assert "failed to start 3 times in a row; stopping." in r.stderr
    assert "giving up" in (a / "logs" / "lanswarm-up.log").read_text()
    assert not (a / "run" / "lanswarm.pid").exists()


def test_files_shows_roots_filters_by_root_and_exits_1_on_no_match(tmp_path):
    from fakepeer import tags_line, root_of
    d = tmp_path / "p"
    d.mkdir()
    one, two = b"first content" * 100, b"second content" * 100
    (d / "tags.txt").write_text(tags_line("alpha", 9, one, 4096, "dup.bin") + tags_line("beta", 9, two, 4096, "dup.bin")
                                + tags_line("alpha", 9, one, 4096, "other.txt"))
    r1, r2 = root_of(one, 4096), root_of(two, 4096)
    r = run("--dir", str(d), "files", "dup.bin")
    assert r.returncode == 0, r.stderr
    rows = [l for l in r.stdout.splitlines() if l.startswith("dup.bin")]
    assert len(rows) == 2 and "ROOT" in r.stdout.splitlines()[0]
    assert any(r1[:8] in l and "alpha" in l for l in rows) and any(r2[:8] in l and "beta" in l for l in rows), r.stdout
    # --root PREFIX: that content only, its whole root shown for `get --root`.
    r = run("--dir", str(d), "files", "--root", r2[:6].upper())
    assert r.returncode == 0 and r2 in r.stdout and r1[:8] not in r.stdout and "other.txt" not in r.stdout, r.stdout
    r = run("--dir", str(d), "files", "zzz")
    assert r.returncode == 1 and "no files matching zzz" in r.stdout
    neither = next(h for h in "0123456789abcdef" if h not in (r1[0], r2[0]))
    r = run("--dir", str(d), "files", "dup.bin", "--root", neither)
    assert r.returncode == 1 and "no files matching dup.bin with root" in r.stdout, r.stdout
    assert run("--dir", str(d), "files", "--root", "xyz").returncode == 2
    r = run("--help")
    assert "Exit status, for every command:" in r.stdout and "nothing matched (grep's convention)" in r.stdout
