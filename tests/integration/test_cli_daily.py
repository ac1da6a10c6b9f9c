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


def seeded(swarm, files, rate=None):
    """A seeder "s" sharing files {name: size}, and a fetcher that sees them all."""
    s = swarm.peer("s")
    for i, (name, size) in enumerate(files.items()):
        make_file(s.share / name, size, seed=i)
    s.start("server", "announcer", extra=["--chunk-size", "64K"] + (["--rate-limit", rate] if rate else []))
    d = swarm.peer("fetcher")
    d.start("listener")
    wait_until(lambda: set(files) <= d.names_from("s"), 5, "the seeder's files in tags.txt")
    return s, d


def test_get_several_names_and_a_glob(swarm):
    s, d = seeded(swarm, {"photos/a.jpg": 70000, "photos/b.jpg": 1000, "notes.txt": 500, "other.txt": 300,
                          "x[1].txt": 10})
    r = run("--dir", d.dir, "get", "photos/*", "notes.txt")
    assert r.returncode == 0, r.stderr
    for name in ["photos/a.jpg", "photos/b.jpg", "notes.txt"]:
        assert (d.dir / "downloads" / name).read_bytes() == (s.share / name).read_bytes()
    assert r.stderr.index("[1/3] photos/a.jpg") < r.stderr.index("[2/3] photos/b.jpg") < r.stderr.index("[3/3] notes.txt")
    assert r.stderr.rstrip().endswith("all 3 files saved or already here"), r.stderr
    assert not (d.dir / "downloads" / "other.txt").exists()
    # One fails: the others are still fetched; the exit status is the failure's (3: not in tags.txt).
    r = run("--dir", d.dir, "get", "missing.bin", "other.txt", "--json")
    assert r.returncode == 3, r.stderr
    assert "1 of 2 files saved or already here; not done: missing.bin (exit 3)" in r.stderr, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["result"] == "ok" and (d.dir / "downloads" / "other.txt").exists()
    r = run("--dir", d.dir, "get", "zzz/*")
    assert r.returncode == 3 and "no file in %s matches 'zzz/*'" % (d.dir / "tags.txt") in r.stderr, r.stderr
    r = run("--dir", d.dir, "get", "photos/*", "--root", "0" * 64)
    assert r.returncode == 2 and "give one NAME with it" in r.stderr
    # A name that only looks like a glob is that name.
    r = run("--dir", d.dir, "get", "x[1].txt")
    assert r.returncode == 0 and (d.dir / "downloads" / "x[1].txt").exists(), r.stderr


def test_detach_status_cancel_and_clean(swarm):
    s, d = seeded(swarm, {"big.bin": 4 << 20, "small.txt": 100}, rate="256K")
    (d.dir / "downloads").mkdir(exist_ok=True)
    (d.dir / "downloads" / "keep.bin").write_bytes(b"mine")
    r = run("--dir", d.dir, "get", "big.bin", "--detach", timeout=10 * SLOW)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.split("(pid ")[1].split(")")[0])
    assert r.stdout.startswith("downloading big.bin in the background (pid %d)" % pid), r.stdout
    wait_until(lambda: "downloading big.bin: " in run("--dir", d.dir, "status").stdout and d.chunks_held() > 0, 10,
               "status to show the download")
    st = json.loads(run("--dir", d.dir, "status", "--json").stdout)
    assert st["background"] == [{"name": "big.bin", "pid": pid}]
    assert [x["running"] for x in st["downloading"]] == [True]
    assert "(in the background, pid %d)" % pid in run("--dir", d.dir, "status").stdout
    # A running download is not cleaned away.
    r = run("--dir", d.dir, "clean", "big.bin")
    assert r.returncode == 1 and "kept big.bin: it is being downloaded (lanswarm cancel big.bin first)" in r.stdout
    assert d.have_file() is not None
    r = run("--dir", d.dir, "cancel", "big.bin")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cancelled big.bin; its verified chunks stay in %s" % (d.dir / "temp")), r.stdout
    assert not os.path.exists("/proc/%d" % pid) or "lanswarm" not in open("/proc/%d/cmdline" % pid).read()
    held = d.chunks_held()
    assert 0 < held < 64
    out = run("--dir", d.dir, "status").stdout
    assert "partial big.bin: %d%%, nothing is fetching it (lanswarm get big.bin resumes" % round(100 * held / 64) in out, out
    assert json.loads(run("--dir", d.dir, "status", "--json").stdout)["background"] == []
    assert run("--dir", d.dir, "cancel", "big.bin").returncode == 1
    assert "result=interrupted" in (d.dir / "client.log").read_text()
    # clean: the partial goes, said; downloads/ and share/ are untouched.
    r = run("--dir", d.dir, "clean")
    assert r.returncode == 0 and "removed the partial download of big.bin (" in r.stdout, r.stdout
    assert not [f for f in os.listdir(d.dir / "temp") if not f.startswith(".")]
    assert (d.dir / "downloads" / "keep.bin").read_bytes() == b"mine" and (s.share / "big.bin").exists()
    r = run("--dir", d.dir, "clean", "big.bin")
    assert r.returncode == 1 and "no partial download of big.bin" in r.stdout
    r = run("--dir", d.dir, "clean")
    assert r.returncode == 0 and "nothing to clean" in r.stdout


def test_unshare_from_share_and_downloads(swarm):
    """Out of share/ and downloads/ alike, into unshared/, nothing deleted; the
    announcer stops announcing it (another peer's tags.txt drops it)."""
    s, d = seeded(swarm, {"a.txt": 1000, "b.txt": 2000, "c.txt": 3000})
    assert run("--dir", d.dir, "get", "b.txt", "c.txt").returncode == 0
    d.start("server", "announcer", extra=["--chunk-size", "64K"])
    wait_until(lambda: {"b.txt", "c.txt"} <= d.names_from("fetcher") and "a.txt" in d.names_from("s"), 10,
               "the fetcher seeding its downloads")
    a_bytes = (s.share / "a.txt").read_bytes()
    r = run("--dir", s.dir, "unshare", "a.txt")
    assert r.returncode == 0, r.stderr
    assert "stopped sharing a.txt: moved %s/a.txt to %s/unshared/a.txt" % (s.share, s.dir) in r.stdout, r.stdout
    assert (s.dir / "unshared" / "a.txt").read_bytes() == a_bytes and not (s.share / "a.txt").exists()
    r = run("--dir", d.dir, "unshare", "b.txt")
    assert r.returncode == 0 and "moved %s/downloads/b.txt to %s/unshared/b.txt" % (d.dir, d.dir) in r.stdout, r.stdout
    wait_until(lambda: "a.txt" not in d.names_from("s") and "b.txt" not in d.names_from("fetcher"), 10,
               "the announcers to stop announcing them")
    assert "c.txt" in d.names_from("fetcher")
    # Unshared again under the same name: kept beside the first, never replaced.
    (s.share / "a.txt").write_bytes(b"second")
    r = run("--dir", s.dir, "unshare", "a.txt")
    assert r.returncode == 0 and (s.dir / "unshared" / "a.txt.1").read_bytes() == b"second"
    assert (s.dir / "unshared" / "a.txt").read_bytes() == a_bytes
    r = run("--dir", s.dir, "unshare", "a.txt")
    assert r.returncode == 1 and "a.txt is in neither" in r.stdout
    assert run("--dir", s.dir, "unshare", "../tags.txt").returncode == 2
    assert run("--dir", s.dir, "unshare").returncode == 2
    # The dashboard's Remove takes a downloaded file too.
    web = d.start_web()
    status, j = web.post("share/remove", {"name": "c.txt"})
    assert status == 200, j
    assert j["moved_to"] == str(d.dir / "unshared" / "c.txt") and not (d.dir / "downloads" / "c.txt").exists()
    status, j = web.post("share/remove", {"name": "c.txt"})
    assert status == 404 and "not a file in share/ or downloads/" in j["error"], j


def test_download_rate_limit_paces_the_download(swarm):
    """--limit-rate (and download_rate_limit in lanswarm.conf): a download of S
    bytes in chunks of C takes at least (S - C) / rate; only this lower bound
    is checked (an upper bound would be a timing test)."""
    import time
    size, rate = 10 * CHUNK, 256 * 1024
    s, d = seeded(swarm, {"one.bin": size, "two.bin": size})
    t0 = time.monotonic()
    r = run("--dir", d.dir, "get", "one.bin", "--limit-rate", "256K")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert took >= (size - CHUNK) / rate - 0.05, took
    assert (d.dir / "downloads" / "one.bin").read_bytes() == (s.share / "one.bin").read_bytes()
    (d.dir / "lanswarm.conf").write_text("download_rate_limit = 256K\n")
    t0 = time.monotonic()
    r = run("--dir", d.dir, "get", "two.bin", "--json")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert took >= (size - CHUNK) / rate - 0.05, took
    assert json.loads(r.stdout)["fetched"] == size
    r = run("--dir", d.dir, "get", "one.bin", "--limit-rate", "fast")
    assert r.returncode == 2, r.stderr


def test_dashboard_log_panel_and_a_downloads_sources_and_chunk_map(swarm):
    s, d = seeded(swarm, {"big.bin": 2 << 20}, rate="256K")
    logs = d.dir / "logs"
    logs.mkdir()
    (logs / "server.log").write_text("2026-01-01T00:00:02.000Z info server: listening\n"
                                     "2026-01-01T00:00:04.000Z warn server: <script>alert(1)</script> \x1b[31mred\n")
    (logs / "listener.log").write_text("2026-01-01T00:00:03.000Z info listener: heard s\n")
    web = d.start_web()
    lines = wait_until(lambda: web.get("logs")["lines"], 5, "the log panel")
    assert [(l["daemon"], l["line"].split(" ", 1)[0]) for l in lines[:3]] == [
        ("server", "2026-01-01T00:00:02.000Z"), ("listener", "2026-01-01T00:00:03.000Z"),
        ("server", "2026-01-01T00:00:04.000Z")], lines
    # Plain text: the page puts it in as text; control bytes are gone.
    assert lines[2]["line"].endswith("server: <script>alert(1)</script> ?[31mred"), lines[2]
    with open(logs / "listener.log", "a") as f:
        f.write("2026-01-01T00:00:05.000Z info listener: a new line\n")
    wait_until(lambda: web.get("logs")["lines"][-1]["line"].endswith("a new line"), 5, "a new log line")
    # A running download: its sources and its chunk map from temp/.
    status, j = web.post("downloads", {"name": "big.bin"})
    assert status == 202, j

    def running():
        act = web.get("transfers")["active"]
        return act and act[0].get("chunk_map") and "#" in act[0]["chunk_map"] and act[0]
    job = wait_until(running, 10, "the download's chunk map")
    assert job["sources"] == ["s"] and len(job["chunk_map"]) == 32 and set(job["chunk_map"]) <= set("#+."), job
    assert "." in job["chunk_map"]  # 256 KB/s: most of 2 MiB is still missing
    status, j = web.post("downloads/%d/cancel" % job["id"], {})
    assert status == 202


def test_up_on_a_terminal_says_sentences_only(tmp_path):
    """lanswarm up in the foreground: what it prints are sentences; the log
    lines (time stamp first) go to DIR/logs/up.log."""
    import pty
    import re
    import select
    import signal
    import socket
    import time
    assert run("init", tmp_path / "a").returncode == 0
    a = tmp_path / "a"
    conf = (a / "lanswarm.conf").read_text()
    conf = conf.replace("tcp_port = 41771", "tcp_port = %d" % free_port()).replace("broadcast = auto", "broadcast = 127.255.255.255")
    conf = conf.replace("udp_port = 41770", "udp_port = %d" % free_port(socket.SOCK_DGRAM))
    (a / "lanswarm.conf").write_text(conf + "listen_addr = 127.0.0.1\n")
    master, slave = pty.openpty()
    p = subprocess.Popen([LANSWARM, "--dir", str(a), "up"], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = [b""]

    def read_until(text, timeout):
        deadline = time.monotonic() + timeout * SLOW
        while text.encode() not in out[0] and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out[0] += os.read(master, 65536)
                except OSError:
                    break
        assert text.encode() in out[0], out[0].decode()

    try:
        read_until("Ctrl-C stops them.", 10)
        state = wait_until(lambda: (lambda j: j if all(d["pid"] > 0 for d in j["daemons"]) else None)(
            json.loads((a / "run" / "state.json").read_text())), 10, "the daemons' pids")
        listener = [d["pid"] for d in state["daemons"] if d["name"] == "listener"][0]
        os.kill(listener, signal.SIGKILL)
        read_until("lanswarm up: the listener stopped unexpectedly (signal 9); restarting it in 1.0 s", 10)
        p.send_signal(signal.SIGINT)
        read_until("all daemons stopped.", 15)
        assert p.wait(10 * SLOW) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = out[0].decode("utf-8", "replace")
    lines = [l for l in text.replace("\r", "").split("\n") if l.strip() and l.strip() != "^C"]
    assert lines and not [l for l in lines if re.match(r"\s*\d{4}-\d\d-\d\dT", l)], text
    assert all(l.startswith("lanswarm up: ") for l in lines), text
    assert "listener died" in (a / "logs" / "up.log").read_text()


def test_help_man_page_and_readme_list_every_subcommand():
    """`lanswarm --help`, lanswarm(1) and the README's table name the same commands."""
    import re
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    usage = run("--help").stdout
    listed = usage.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = {l.split()[0] for l in listed.splitlines() if l.startswith("  ") and not l.startswith("    ")}
    assert {"loc", "get", "cancel", "clean", "unshare", "status", "doctor"} <= commands, commands
    man = open(os.path.join(root, "man", "lanswarm.1")).read()
    in_man = set(re.findall(r"^\.TP\n\.B[IR]? \"?([a-z]+)", man.split(".SH COMMANDS", 1)[1].split(".SH OPTIONS", 1)[0], re.M))
    readme = open(os.path.join(root, "README.md")).read()
    in_readme = set(re.findall(r"^\| `([a-z]+)[ `]", readme, re.M))
    assert commands == in_man, (commands, in_man)
    assert commands <= in_readme, commands - in_readme
    for c in commands:
        r = run(c, "--help")
        assert r.returncode == 0 and r.stdout.startswith("Usage: lanswarm " + c), (c, r.stdout[:80])


def test_loc_with_a_network_key(swarm, tmp_path):
    """With a key the HAVE request goes over TLS: loc answers with the key and
    says why without it."""
    key = tmp_path / "net.key"
    key.write_bytes(os.urandom(32).hex().encode() + b"\n")
    data = os.urandom(4 * CHUNK)
    full = swarm.peer("full")
    (full.share / "k.bin").write_bytes(data)
    full.start("server", extra=["--chunk-size", "64K", "--key-file", str(key)])
    me = swarm.peer("me")
    (me.dir / "tags.txt").write_text(tags_line("full", full.tcp_port, data, CHUNK, "k.bin"))
    conf = me.dir / "keyed.conf"
    conf.write_text("key_file = %s\ntags = %s\n" % (key, me.dir / "tags.txt"))
    r = wait_until(lambda: (lambda r: r if "4/4" in r.stdout else None)(
        run("--config", conf, "loc", "k.bin")), 10, "the keyed holder's map")
    assert r.returncode == 0 and "[" + "#" * 4 + "] 100%  4/4" in r.stdout, r.stdout + r.stderr
    r = run("--dir", me.dir, "loc", "k.bin")
    assert r.returncode == 4 and "4/4" not in r.stdout, r.stdout
