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


def tracked_peer(swarm, tracker, tag, files=(), udp_isolated=True):
    p = swarm.peer(tag)
    if udp_isolated:
        p.udp_port = free_port(socket.SOCK_DGRAM)  # nobody hears its broadcasts
    for name, size in files:
        make_file(p.share / name, size, seed=hash(tag + name) % 1000)
    p.start("server", "announcer", "listener", extra=["--tracker", "127.0.0.1:%d" % tracker.port])
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
