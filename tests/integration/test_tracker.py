"""Tracker mode (the hybrid model): a tracker, peers registered with it, its
admin shell driven through standard input, and the client shell."""
import json
import os
import signal
import socket
import struct
import subprocess
import time

from conftest import SLOW, Proc, free_port, make_file, prog, sha256_file, wait_until


def shell(tracker, command, expect, timeout=5):
    """Types a command into the tracker's admin shell; waits for `expect` (a
    string, or a tuple of which any will do) in its output."""
    before = len(tracker.output())
    tracker.send(command)
    expects = expect if isinstance(expect, tuple) else (expect,)
    wait_until(lambda: any(e in tracker.output()[before:] for e in expects), timeout,
               "%r to print %r" % (command, expect))
    return tracker.output()[before:]


def tracker_list(*trackers):
    return ",".join("127.0.0.1:%d" % t.port for t in trackers)


def tracked_peer(swarm, tracker, tag, files=(), udp_isolated=True, interval=1):
    """A peer using tracker (a tracker, or a list of them)."""
    p = swarm.peer(tag, interval=interval)
    if udp_isolated:
        p.udp_port = free_port(socket.SOCK_DGRAM)  # nobody hears its broadcasts
    for name, size in files:
        make_file(p.share / name, size, seed=hash(tag + name) % 1000)
    trackers = tracker if isinstance(tracker, (list, tuple)) else [tracker]
    p.start("server", "announcer", "listener", extra=["--tracker", tracker_list(*trackers)])
    return p


def test_admin_shell_sees_registrations_publish_and_ping(swarm):
    t = swarm.tracker()
    a = tracked_peer(swarm, t, "alpha", [("a.txt", 10), ("docs/b.bin", 70000)])
    b = tracked_peer(swarm, t, "beta", [("a.txt", 10)])
    def a_txt_line():
        out = shell(t, "files", ("held by", "no files")) if "publish name=beta" in t.output() else ""
        lines = [l for l in out.splitlines() if l.startswith("a.txt")]
        return lines[0] if lines and "alpha" in lines[0] and "beta" in lines[0] else None
    wait_until(a_txt_line, 5, "a.txt held by alpha and beta")
    out = shell(t, "discover alpha", "docs/b.bin")
    assert "a.txt" in out and "complete" in out
    assert "docs/b.bin" in shell(t, "files", "docs/b.bin")
    assert "alive, round trip" in shell(t, "ping beta", "round trip")
    assert "no such host: gamma" in shell(t, "ping gamma", "no such host")
    assert "usage:" in shell(t, "frobnicate", "usage:")
    # A new file is published soon after it appears in the share.
    (a.share / "late.txt").write_text("late")
    wait_until(lambda: "late.txt" in shell(t, "discover alpha", ("file(s)", "no such host")), 5, "late.txt at the tracker")


def test_unique_names(swarm):
    t = swarm.tracker()
    tracked_peer(swarm, t, "alpha", [("a.txt", 10)])
    wait_until(lambda: "alpha" in shell(t, "list", ("alpha", "no hosts")), 5, "alpha")
    # Another peer claiming the same tag is refused with the reason, and logs it.
    dup = swarm.peer("alpha2")
    dup.tag = "alpha"
    dup.udp_port = free_port(socket.SOCK_DGRAM)
    dup.start("announcer", extra=["--tracker", "127.0.0.1:%d" % t.port])
    wait_until(lambda: "is taken" in dup.procs["announcer"].output(), 5, "the refusal")
    out = shell(t, "list", "connected since")
    assert out.count("alpha ") == 1


def test_fetch_through_tracker_without_broadcast(swarm):
    t = swarm.tracker()
    a = tracked_peer(swarm, t, "alpha", [("movie.bin", 3 * 1024 * 1024 + 5)])
    b = tracked_peer(swarm, t, "beta")
    # Different UDP ports: only the tracker can tell beta about alpha.
    assert a.udp_port != b.udp_port
    wait_until(lambda: "movie.bin" in b.names_from("alpha"), 5, "movie.bin in beta's tags.txt via the tracker")
    r = b.download("movie.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(b.dir / "downloads" / "movie.bin") == sha256_file(a.share / "movie.bin")
    # beta now holds it too, and says so to the tracker.
    wait_until(lambda: "movie.bin" in shell(t, "discover beta", ("file(s)", "no such host")), 5,
               "beta publishing its download")


def test_killed_peer_loses_its_files(swarm):
    t = swarm.tracker()
    a = tracked_peer(swarm, t, "alpha", [("a.txt", 10)])
    b = tracked_peer(swarm, t, "beta")
    wait_until(lambda: "a.txt" in b.names_from("alpha"), 5, "a.txt via the tracker")
    a.procs["announcer"].stop(signal.SIGKILL)
    start = time.monotonic()
    wait_until(lambda: "alpha" not in shell(t, "list", ("connected since", "no hosts")), 5, "alpha gone from the tracker")
    wait_until(lambda: "a.txt" not in b.names_from("alpha"), 5, "alpha gone from beta's tags.txt")
    assert time.monotonic() - start < 6 * SLOW


def test_silent_peer_is_dropped_by_pings(swarm):
    """A peer whose link stays open but never answers (stopped, not dead): the
    tracker's pings drop it after 3 ping intervals (the tracker runs with 1 s)."""
    t = swarm.tracker()
    a = tracked_peer(swarm, t, "alpha", [("a.txt", 10)])
    b = tracked_peer(swarm, t, "beta")
    wait_until(lambda: "a.txt" in b.names_from("alpha"), 5, "a.txt via the tracker")
    announcer = a.procs["announcer"]
    os.kill(announcer.p.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        wait_until(lambda: "did not answer pings" in t.output(), 8, "the tracker to drop the silent alpha")
        assert time.monotonic() - start >= 2.0  # not before its pings went unanswered
        wait_until(lambda: "alpha" not in shell(t, "list", ("connected since", "no hosts")), 5,
                   "alpha gone from the tracker")
        wait_until(lambda: "a.txt" not in b.names_from("alpha"), 5, "alpha gone from beta's tags.txt")
    finally:
        os.kill(announcer.p.pid, signal.SIGCONT)


def test_tracker_restart_peers_register_again(swarm):
    t = swarm.tracker()
    port = t.port
    a = tracked_peer(swarm, t, "alpha", [("a.txt", 10)])
    wait_until(lambda: "alpha" in shell(t, "list", ("alpha", "no hosts")), 5, "alpha")
    assert "shutting down" in shell(t, "quit", "shutting down")
    assert t.wait_exit(5 * SLOW) == 0
    wait_until(lambda: "shutting down" in a.procs["announcer"].output(), 5, "alpha told of the shutdown")
    # Same port again: the peers come back by themselves (backoff, no busy loop).
    args = [prog("tracker"), "--port", str(port), "--ping-interval", "1", "--listen-addr", "127.0.0.1"]
    t2 = Proc(args, str(swarm.tmp / "tracker-again.out"), stdin=True)
    swarm.all.append(t2)
    wait_until(lambda: "host registered name=alpha" in t2.output(), 10, "alpha to register again")
    # Registering and publishing are two messages: ask until the files are there.
    wait_until(lambda: "a.txt" in shell(t2, "discover alpha", ("a.txt", "file(s)")), 10, "alpha's files again")
    # The peer went on serving meanwhile.
    assert a.procs["server"].alive()
    attempts = a.procs["announcer"].output().count("cannot connect")
    assert attempts <= 3, "retries must back off, not spin"


def test_malformed_messages_close_one_connection(swarm):
    t = swarm.tracker()
    tracked_peer(swarm, t, "alpha", [("a.txt", 10)])
    wait_until(lambda: "a.txt" in shell(t, "discover alpha", ("file(s)", "no such host")), 5,
               "alpha's a.txt at the tracker")

    def talk(payload):
        s = socket.create_connection(("127.0.0.1", t.port), timeout=3)
        s.sendall(payload)
        try:
            data = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            data = b""
        s.close()
        return data

    def frame(obj):
        body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        return struct.pack(">I", len(body)) + body

    assert talk(frame(b"{not json")) == b""                         # closed
    assert talk(struct.pack(">I", 0x7FFFFFFF) + b"{") == b""        # oversized: closed, nothing allocated
    assert talk(frame({"v": 1, "type": "register", "host": "../x", "port": 1})) == b""
    reply = talk(frame({"v": 1, "type": "publish", "files": []}))  # an error reply: register first
    assert json.loads(reply[4:4 + struct.unpack(">I", reply[:4])[0]])["type"] == "error", reply
    reply = talk(frame({"v": 1, "type": "lookup", "name": "a.txt", "id": 7}))
    msg = json.loads(reply[4:])
    assert msg["type"] == "entries" and msg["entries"][0]["host"] == "alpha"
    assert "closed connection" in t.output()


def test_exit_when_empty(swarm):
    t = swarm.tracker("--exit-when-empty", "--no-shell")
    a = tracked_peer(swarm, t, "alpha")
    wait_until(lambda: "host registered name=alpha" in t.output(), 5, "alpha")
    a.stop("announcer")
    assert t.wait_exit(5 * SLOW) == 0
    assert "the last host left" in t.output()


def test_client_shell_asks_for_another_name_publishes_and_fetches(swarm, tmp_path):
    t = swarm.tracker()
    tracked_peer(swarm, t, "alice")
    wait_until(lambda: "alice" in shell(t, "list", ("alice", "no hosts")), 5, "alice")
    c1 = swarm.peer("c1")
    c1.start("server")
    c1.tag = "alice"  # taken: the shell must ask for another
    cl = Proc([prog("client")] + c1.common() + ["--tracker", "127.0.0.1:%d" % t.port],
              str(c1.dir / "client.out"), stdin=True)
    swarm.all.append(cl)
    wait_until(lambda: "hostname:" in cl.output(), 5, "the shell to ask for another name")
    assert "is taken" in cl.output()
    cl.send("carol")
    wait_until(lambda: "registered as carol" in cl.output(), 5, "carol registered")
    local = make_file(tmp_path / "outside" / "song.ogg", 200000, seed=5)
    cl.send("publish %s music/my song.ogg" % local)
    wait_until(lambda: "published music/my song.ogg" in cl.output(), 5, "the publish")
    # The client has sent its publish; the tracker may not have read it yet.
    wait_until(lambda: "music/my song.ogg" in shell(t, "discover carol", ("song", "file(s)", "no such host")), 10,
               "carol's file at the tracker")
    cl.send("publish %s ../escape.ogg" % local)
    wait_until(lambda: "not a valid name" in cl.output(), 5, "a refused name")
    cl.send("list")
    wait_until(lambda: "music/my song.ogg" in cl.output().split("published")[-1], 5, "list")
    # A second client fetches it from carol.
    d = swarm.peer("dave")
    d.start("server")
    c2 = Proc([prog("client")] + d.common() + ["--tracker", "127.0.0.1:%d" % t.port],
              str(d.dir / "client.out"), stdin=True)
    swarm.all.append(c2)
    wait_until(lambda: "registered as dave" in c2.output(), 5, "dave registered")
    c2.send("fetch music/my song.ogg")
    wait_until(lambda: "fetch music/my song.ogg: done" in c2.output(), 10, "the fetch")
    assert "carol" in c2.output()
    assert sha256_file(d.dir / "downloads" / "music" / "my song.ogg") == sha256_file(local)
    c2.send("bogus")
    wait_until(lambda: "usage:" in c2.output(), 5, "usage")
    c2.send("quit")
    assert c2.wait_exit(5 * SLOW) == 0
    wait_until(lambda: "host left name=dave" in t.output(), 5, "dave to leave")


def test_subscribed_listener_has_a_new_file_within_3s(swarm):
    # interval 60: without the subscription the listener would list the
    # tracker's tables again only a minute later.
    t = swarm.tracker()
    a = tracked_peer(swarm, t, "alpha", [("a.txt", 10)], interval=60)
    b = tracked_peer(swarm, t, "beta", interval=60)
    # The listener subscribes before its first list: the tracker has its
    # subscription once the list's answer is in tags.txt.
    wait_until(lambda: "a.txt" in b.names_from("alpha"), 5, "a.txt in beta's tags.txt")
    start = time.monotonic()
    (a.share / "fresh.txt").write_text("fresh")
    wait_until(lambda: "fresh.txt" in b.names_from("alpha"), 3, "fresh.txt in beta's tags.txt within 3 s")
    print("share to tags.txt: %.3f s" % (time.monotonic() - start))
    # And a file that leaves the share leaves beta's tags.txt as fast.
    (a.share / "a.txt").unlink()
    wait_until(lambda: "a.txt" not in b.names_from("alpha"), 3, "a.txt gone from beta's tags.txt within 3 s")
    # A listener that reconnects subscribes again.
    b.stop("listener")
    b.start("listener", extra=["--tracker", tracker_list(t)])
    wait_until(lambda: t.output().count("subscriber 127.0.0.1") == 2, 5, "beta's new listener to subscribe")
    (a.share / "again.txt").write_text("again")
    wait_until(lambda: "again.txt" in b.names_from("alpha"), 3, "again.txt in beta's tags.txt within 3 s")


def test_two_trackers_one_killed(swarm):
    t1, t2 = swarm.tracker(), swarm.tracker()
    a = tracked_peer(swarm, [t1, t2], "alpha", [("a.txt", 10)], interval=60)
    b = tracked_peer(swarm, [t1, t2], "beta", [("b.txt", 10)], interval=60)
    g = tracked_peer(swarm, [t2], "gamma", [("g.txt", 10)], interval=60)  # at the second tracker only
    for t in (t1, t2):
        wait_until(lambda: "publish name=beta" in t.output() and "publish name=alpha" in t.output(), 5,
                   "alpha and beta published at both trackers")
    wait_until(lambda: "a.txt" in b.names_from("alpha") and "g.txt" in b.names_from("gamma"), 5,
               "alpha's and gamma's files at beta")
    wait_until(lambda: "b.txt" in a.names_from("beta"), 5, "beta's file at alpha")
    # A change at both trackers: the first one's push (which lists no gamma)
    # does not take gamma away.
    (a.share / "both.txt").write_text("both")
    wait_until(lambda: "both.txt" in b.names_from("alpha"), 2, "both.txt at beta")
    assert "g.txt" in b.names_from("gamma")
    known_at_b = {(r["tag"], r["name"]) for r in b.tags()}
    known_at_a = {(r["tag"], r["name"]) for r in a.tags()}
    t1.stop(signal.SIGKILL)
    wait_until(lambda: "connection lost" in b.procs["listener"].output(), 5, "beta's listener to lose the first tracker")
    (a.share / "after.txt").write_text("after")
    wait_until(lambda: "after.txt" in b.names_from("alpha"), 2, "after.txt at beta through the second tracker")
    assert known_at_b <= {(r["tag"], r["name"]) for r in b.tags()}
    (b.share / "reply.txt").write_text("reply")
    wait_until(lambda: "reply.txt" in a.names_from("beta"), 2, "reply.txt at alpha through the second tracker")
    assert known_at_a <= {(r["tag"], r["name"]) for r in a.tags()}
    assert "g.txt" in b.names_from("gamma")


def test_bad_tracker_list_refused(swarm):
    p = swarm.peer("alpha")
    nine = ",".join("127.0.0.%d:41772" % i for i in range(1, 10))
    for program in ("announcer", "listener", "client"):
        for value, why in ((nine, "at most 8"), ("127.0.0.1:41772, tracker.lan:1", "ADDRESS:PORT"),
                           ("127.0.0.1:41772,,127.0.0.2:1", "ADDRESS:PORT"), ("127.0.0.1:0", "ADDRESS:PORT")):
            r = subprocess.run([prog(program)] + p.common() + ["--tracker", value], capture_output=True, text=True,
                               timeout=10 * SLOW, stdin=subprocess.DEVNULL)
            assert r.returncode == 2, (program, value, r.stderr)
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and "tracker" in lines[0] and why in lines[0], (program, value, r.stderr)
    # The same from the config file.
    (p.dir / "lanswarm.conf").write_text("tracker = %s\n" % nine)
    r = subprocess.run([prog("listener"), "--dir", str(p.dir)], capture_output=True, text=True, timeout=10 * SLOW)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "tracker: at most 8" in r.stderr


def test_subscriber_that_does_not_read_is_dropped(swarm):
    t = swarm.tracker("--no-shell")

    def frame(obj):
        body = json.dumps(obj).encode()
        return struct.pack(">I", len(body)) + body

    root = "ab" * 32
    files = [{"name": "dir%d/file-with-a-long-name-%05d.bin" % (i % 7, i), "size": i, "chunk": 1048576, "root": root,
              "complete": True} for i in range(5000)]
    pub = socket.create_connection(("127.0.0.1", t.port), timeout=5)
    pub.sendall(frame({"v": 1, "type": "register", "id": 1, "host": "bulk", "port": 9}))
    for k in range(0, len(files), 1000):
        pub.sendall(frame({"v": 1, "type": "publish", "id": 2 + k, "replace": k == 0, "files": files[k:k + 1000]}))
    wait_until(lambda: "total=5000" in t.output(), 5, "5000 files at the tracker")
    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sub.connect(("127.0.0.1", t.port))
    sub.sendall(frame({"v": 1, "type": "subscribe", "id": 5}))
    # Every change means a push of about 1 MB; the subscriber reads none of it.
    pub.setblocking(False)
    n = 0

    def dropped():
        nonlocal n
        n += 1
        f = dict(files[0], complete=n % 2 == 0)
        pub.sendall(frame({"v": 1, "type": "publish", "id": 10000 + n, "files": [f]}))
        try:
            pub.recv(65536)  # the OKs and pings, read so the publisher is not the slow one
        except BlockingIOError:
            pass
        return "reads nothing" in t.output()

    wait_until(dropped, 20, "the tracker to drop the subscriber that does not read")
    line = [l for l in t.output().splitlines() if "reads nothing" in l][0]
    queued = int(line.split("(")[1].split(" bytes")[0])
    assert queued < 2 * 1024 * 1024, line  # paced: at most about SUB_QUEUE_LOW plus one page
    pub.close()
    sub.close()
    assert t.alive()
