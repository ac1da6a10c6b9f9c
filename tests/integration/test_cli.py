"""The `lanswarm` command, as an administrator uses it."""
import json
import os
import re
import signal
import subprocess
import time

from conftest import SLOW, BROADCAST, Proc, free_port, make_file, read_tags, sha256_file, wait_until, BIN

LANSWARM = os.path.join(BIN, "lanswarm")


def run(*args, **kw):
    return subprocess.run([LANSWARM] + list(args), capture_output=True, text=True, timeout=30 * SLOW, **kw)


def init_peer(tmp_path, swarm, name):
    d = tmp_path / name
    r = run("init", str(d))
    assert r.returncode == 0, r.stderr
    conf = (d / "lanswarm.conf").read_text()
    assert "broadcast = auto" in conf and "tag = " in conf and conf.startswith("#")
    # Loopback only in tests: the broadcast address is given explicitly.
    conf = conf.replace("broadcast = auto", "broadcast = " + BROADCAST)
    conf = conf.replace("udp_port = 41770", "udp_port = %d" % swarm.udp_port)
    conf = conf.replace("tcp_port = 41771", "tcp_port = %d" % free_port())
    conf = conf.replace("interval = 60", "interval = 1")
    conf += "tag = %s\n" % name
    (d / "lanswarm.conf").write_text(conf)
    return d


def test_init_refuses_to_overwrite(tmp_path):
    d = tmp_path / "p"
    assert run("init", str(d)).returncode == 0
    assert all((d / sub).is_dir() for sub in ("share", "downloads", "temp"))
    before = (d / "lanswarm.conf").read_text()
    r = run("init", str(d))
    assert r.returncode == 1 and "not overwriting" in r.stderr
    assert (d / "lanswarm.conf").read_text() == before


def test_help_and_unknown_commands():
    r = run("--help")
    assert r.returncode == 0 and "init" in r.stdout and "status" in r.stdout
    for cmd in ["init", "up", "down", "status", "peers", "files"]:
        r = run(cmd, "--help")
        assert r.returncode == 0 and ("lanswarm " + cmd) in r.stdout, cmd
    r = run("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr and "status" in r.stderr
    # get passes its options on to the downloader; its help is get's, with the downloader's options.
    r = run("get", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: lanswarm get NAME"), r.stdout
    assert "lanswarm-downloader [" not in r.stdout and "--root HASH" in r.stdout and "--stall-timeout" in r.stdout


def test_up_supervises_and_stops_cleanly(tmp_path, swarm):
    a = init_peer(tmp_path, swarm, "alpha")
    b = init_peer(tmp_path, swarm, "beta")
    src = make_file(a / "share" / "iso" / "debian.iso", 300000, seed=9)
    up_a = Proc([LANSWARM, "--dir", str(a), "up"], str(tmp_path / "up-a.out"))
    up_b = Proc([LANSWARM, "--dir", str(b), "up"], str(tmp_path / "up-b.out"))
    swarm.all += [up_a, up_b]
    wait_until(lambda: any(r["name"] == "iso/debian.iso" for r in read_tags(b / "tags.txt")), 5, "beta to see the iso")
    # Each daemon has its own log.
    for d in ("listener", "server", "announcer"):
        assert (a / "logs" / ("lanswarm-" + d + ".log")).exists()
    # status --json for scripts.
    st = json.loads(run("--dir", str(a), "status", "--json").stdout)
    assert {d["name"] for d in st["daemons"] if d["running"]} == {"listener", "server", "announcer"}
    assert [f["name"] for f in st["shared"]] == ["iso/debian.iso"]
    # alpha's own listener writes peers.txt (coalesced): poll for its row.
    wait_until(lambda: {p["tag"] for p in json.loads(run("--dir", str(a), "status", "--json").stdout)["peers"]}
               >= {"alpha"}, 5, "alpha's status to list the peers heard")
    # A daemon that dies is restarted, and the restart is logged.
    server_pid = [d["pid"] for d in st["daemons"] if d["name"] == "server"][0]
    os.kill(server_pid, signal.SIGKILL)
    wait_until(lambda: "restarting in" in (a / "logs" / "lanswarm-up.log").read_text(), 5, "the restart to be logged")
    wait_until(lambda: [d for d in json.loads(run("--dir", str(a), "status", "--json").stdout)["daemons"]
                        if d["name"] == "server" and d["running"] and d["restarts"] == 1], 5, "server restarted")
    # peers, files, get: tags.txt made readable, and the downloader.
    r = run("--dir", str(b), "peers")
    assert r.returncode == 0 and "alpha" in r.stdout and "s ago" in r.stdout
    r = run("--dir", str(b), "files", "*.iso")
    assert "iso/debian.iso" in r.stdout and "293.0 KiB" in r.stdout and "alpha" in r.stdout
    assert "no files matching" in run("--dir", str(b), "files", "nothing-like-it").stdout
    r = run("--dir", str(b), "get", "iso/debian.iso", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sha256_file(b / "downloads" / "iso" / "debian.iso") == sha256_file(src)
    r = run("--dir", str(b), "status")
    assert "last downloads" in r.stdout and "iso/debian.iso" in r.stdout
    # Uptime has a unit; the peer itself is not counted among the peers seen.
    assert re.search(r"listener +running +pid \d+ +up \d+(s|m \d+s) ", r.stdout), r.stdout
    assert "other peers seen: 1 " in r.stdout, r.stdout
    # What beta downloaded is shared from downloads/, not counted as share/'s.
    assert "sharing 0 file(s) from %s" % (b / "share") in r.stdout, r.stdout
    assert "sharing 1 downloaded file(s) from %s" % (b / "downloads") in r.stdout, r.stdout
    st = json.loads(run("--dir", str(b), "status", "--json").stdout)
    assert [(f["name"], f["from"]) for f in st["shared"]] == [("iso/debian.iso", "downloads")], st["shared"]
    assert {(p["tag"], p["self"]) for p in st["peers"]} == {("alpha", False), ("beta", True)}, st["peers"]
    assert "\033[" not in r.stdout  # not a terminal: no colours
    # SIGTERM: all daemons stop, the announcer says goodbye, up exits 0.
    assert up_a.stop() == 0
    wait_until(lambda: "alpha" not in {r["tag"] for r in read_tags(b / "tags.txt")}, 2, "alpha's goodbye")
    assert "all daemons stopped" in (a / "logs" / "lanswarm-up.log").read_text()


def test_up_restart_backoff_grows(tmp_path, swarm):
    """A daemon that keeps dying is restarted after 1 s, then 2 s: the
    supervisor backs off instead of restarting it in a tight loop."""
    a = init_peer(tmp_path, swarm, "flaky")
    up = Proc([LANSWARM, "--dir", str(a), "up"], str(tmp_path / "up.out"))
    swarm.all.append(up)

    def server():
        st = json.loads(run("--dir", str(a), "status", "--json").stdout)
        return next((d for d in st["daemons"] if d["name"] == "server"), {"running": False, "restarts": -1})

    wait_until(lambda: server()["running"], 5, "the server to start")
    delays = []
    for n in (1, 2):
        pid = server()["pid"]
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: server()["running"] and server()["restarts"] == n, 10, "restart %d" % n)
        delays.append(time.monotonic() - killed)
    said = re.findall(r"server died .*restarting in ([0-9.]+) s", (a / "logs" / "lanswarm-up.log").read_text())
    assert said == ["1.0", "2.0"], said
    assert delays[0] >= 0.9 and delays[1] >= 1.9, delays
    assert up.stop() == 0


def test_detach_and_down(tmp_path, swarm):
    a = init_peer(tmp_path, swarm, "solo")
    r = run("--dir", str(a), "up", "--detach")
    assert r.returncode == 0 and "background" in r.stdout, r.stderr
    pid = int((a / "run" / "lanswarm.pid").read_text())
    try:
        assert run("--dir", str(a), "up", "--detach").returncode == 1  # already up
        wait_until(lambda: len([d for d in json.loads(run("--dir", str(a), "status", "--json").stdout)["daemons"]
                                if d["running"]]) == 3, 5, "three daemons")
    finally:
        r = run("--dir", str(a), "down")
    assert r.returncode == 0 and "stopped" in r.stdout
    assert not os.path.exists(a / "run" / "lanswarm.pid")
    try:
        os.kill(pid, 0)
        alive = True
    except OSError:
        alive = False
    assert not alive
    assert run("--dir", str(a), "down").returncode == 1  # nothing to stop


def test_up_with_web_runs_the_dashboard(tmp_path, swarm):
    a = init_peer(tmp_path, swarm, "webby")
    with open(a / "lanswarm.conf", "a") as f:
        f.write("web_port = %d\n" % free_port())
    r = run("--dir", str(a), "up", "--detach", "--web")
    assert r.returncode == 0 and "web.url" in r.stdout, r.stderr
    try:
        wait_until(lambda: {d["name"] for d in json.loads(run("--dir", str(a), "status", "--json").stdout)["daemons"]
                            if d["running"]} == {"listener", "server", "announcer", "web"}, 10, "four daemons")
        wait_until(lambda: (a / "web.url").exists(), 10, "web.url")
        url = (a / "web.url").read_text().strip()
        port, token = int(url.split(":")[2].split("/")[0]), url.split("#token=")[1]
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5 * SLOW)
        wait_until(lambda: c.request("GET", "/api/status", headers={"Authorization": "Bearer " + token}) or
                   json.loads(c.getresponse().read()).get("tag") == "webby", 10, "the dashboard's status")
        c.close()
        assert (a / "logs" / "lanswarm-web.log").exists()
        assert "dashboard: http://127.0.0.1:%d/" % port in run("--dir", str(a), "status").stdout
    finally:
        r = run("--dir", str(a), "down")
    assert r.returncode == 0
    assert run("--dir", str(a), "up", "--bogus").returncode == 2


def test_a_peer_sharing_nothing_is_listed(tmp_path, swarm):
    """peers.txt lists every peer heard: one that shares nothing shows in
    `lanswarm peers`, `status --json` and the dashboard's /api/peers."""
    empty = swarm.peer("empty").start("announcer")
    b = swarm.peer("b")
    make_file(b.share / "x.bin", 1000)
    b.start("listener", "announcer")
    web = b.start_web()
    wait_until(lambda: "empty\t" in ((b.dir / "peers.txt").read_text() if (b.dir / "peers.txt").exists() else ""),
               5, "peers.txt to list the silent peer")
    r = run("--dir", str(b.dir), "peers")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("empty ")]
    assert line and "broadcast" in line[0] and " 0 " in line[0], r.stdout
    st = json.loads(run("--dir", str(b.dir), "status", "--json").stdout)
    p = [p for p in st["peers"] if p["tag"] == "empty"]
    assert p and p[0]["files"] == 0 and "broadcast" in p[0]["how"] and p[0]["last_seen"] > 0, st["peers"]
    assert p[0]["address"] == "127.0.0.1:%d" % empty.tcp_port
    assert {"tag", "address", "files", "bytes", "last_seen", "how", "first_seen"} <= set(p[0])
    wait_until(lambda: [q for q in web.get("peers")["peers"] if q["tag"] == "empty"], 5, "the dashboard's peer")
    q = [q for q in web.get("peers")["peers"] if q["tag"] == "empty"][0]
    assert q["files"] == 0 and q["bytes"] == 0 and "broadcast" in q["how"] and q["state"] == "live"
