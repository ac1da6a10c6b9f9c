"""Serverless discovery: announcers and listeners keeping tags.txt."""
import json
import os
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import SLOW, VALGRIND, BROADCAST, make_file, prog, sha256_file, wait_until


def three_peers(swarm):
    peers = []
    for i, tag in enumerate(["alpha", "beta", "gamma"]):
        p = swarm.peer(tag)
        make_file(p.share / ("%s-%d.bin" % (tag, i)), 1000 + i * 70000, seed=i)
        (p.share / "docs").mkdir()
        (p.share / "docs" / ("%s notes.txt" % tag)).write_text("notes of %s\n" % tag)
        peers.append(p)
    for p in peers:
        p.start("listener", "announcer")
    return peers


def test_three_peers_see_each_other_within_3s(swarm):
    """Each listener has every peer's list within a few 1 s intervals of the
    start (each announcer sends at start; a listener asks when it starts):
    not a minute (the default interval), on a loaded 2-core machine too."""
    peers = three_peers(swarm)
    start = time.monotonic()
    for p in peers:
        for q in peers:
            want = {"%s-%d.bin" % (q.tag, peers.index(q)), "docs/%s notes.txt" % q.tag}
            wait_until(lambda: p.names_from(q.tag) == want, 3.0, "%s to list %s's files" % (p.tag, q.tag))
    assert time.monotonic() - start < 3.0 * SLOW
    # The entries carry what a downloader needs: the address is the datagram's
    # source, the port the announced chunk server, the root the content hash.
    rows = [r for r in peers[0].tags() if r["tag"] == "beta" and r["name"].endswith(".bin")]
    assert rows[0]["addr"] == "127.0.0.1:%d" % peers[1].tcp_port
    assert rows[0]["size"] == 71000 and rows[0]["state"] == "complete"
    assert abs(rows[0]["seen"] - time.time()) < 5 * SLOW


def test_new_file_appears_within_3s(swarm):
    peers = three_peers(swarm)
    wait_until(lambda: "alpha-0.bin" in peers[2].names_from("alpha"), 3, "first announcement")
    (peers[0].share / "fresh.txt").write_text("new\n")
    wait_until(lambda: "fresh.txt" in peers[2].names_from("alpha"), 3.0, "fresh.txt at gamma")
    # ... in a subfolder too (watched separately)
    (peers[0].share / "docs" / "deep.txt").write_text("deeper\n")
    wait_until(lambda: "docs/deep.txt" in peers[1].names_from("alpha"), 3.0, "docs/deep.txt at beta")
    # and a removed file goes away
    (peers[0].share / "fresh.txt").unlink()
    wait_until(lambda: "fresh.txt" not in peers[2].names_from("alpha"), 3.0, "fresh.txt gone at gamma")


def test_sigterm_leaves_at_once(swarm):
    peers = three_peers(swarm)
    wait_until(lambda: {"beta", "gamma"} <= {r["tag"] for r in peers[0].tags()}, 3, "everyone")
    assert peers[1].stop("announcer", signal.SIGTERM) == 0
    # Its goodbye, not its expiry (which takes 2 s at least at 1 s intervals).
    wait_until(lambda: "beta" not in {r["tag"] for r in peers[0].tags()}, 1.5, "beta's goodbye")
    assert "gamma" in {r["tag"] for r in peers[0].tags()}


def heard_from(sock, tag, timeout):
    """Waits for the next datagram of `tag` on sock; the time it was heard."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if r and json.loads(sock.recv(65536)).get("tag") == tag:
            return time.monotonic()
    raise AssertionError("no datagram of %s in %.1f s" % (tag, timeout * SLOW))


def test_sigkill_expires_after_three_intervals_not_two_or_four(swarm):
    """gamma announces every 2 s and is killed the moment one of its rounds
    is heard: alpha's listener drops it 3 intervals after that round, 6-7 s
    (its expiry sweep runs once a second), so not by 5.2 s (2 intervals) nor
    after 8 s (4 intervals)."""
    a = swarm.peer("alpha")
    a.start("listener")
    g = swarm.peer("gamma", interval=2)
    (g.share / "g.txt").write_text("g\n")
    beside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # hears every broadcast, as the listener does
    beside.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    beside.bind(("0.0.0.0", swarm.udp_port))
    try:
        g.start("announcer")
        wait_until(lambda: "g.txt" in a.names_from("gamma"), 5, "gamma's file at alpha")
        while select.select([beside], [], [], 0)[0]:
            beside.recv(65536)
        last = heard_from(beside, "gamma", 3)
        g.procs["announcer"].stop(signal.SIGKILL)
    finally:
        beside.close()
    wait_until(lambda: "gamma" not in {r["tag"] for r in a.tags()}, 12, "gamma to expire")
    gone_after = time.monotonic() - last
    print("gamma expired %.2f s after its last round" % gone_after)
    assert 5.6 < gone_after < 7.0 + 0.8 * SLOW, gone_after


def test_ten_thousand_files_arrive_complete(swarm):
    if VALGRIND:
        # Seen in CI: the server, slowed 20-50 times, encodes the 10,000-file
        # list in more than the listener's 3 s for a LIST reply, every beat;
        # test_beats' 300-file list takes the same code under memcheck.
        pytest.skip("a 10,000-file list outlasts the listener's 3 s LIST timeout under valgrind; "
                    "the plain and ASan passes run it")
    a = swarm.peer("many", interval=30)
    for i in range(10000):
        (a.share / ("file-%05d-with-a-longish-name.txt" % i)).write_bytes(b"%d" % i)
    b = swarm.peer("watcher")
    b.start("listener")
    # A share this big goes out as a beat: the list comes from its server (LIST).
    a.start("server", "announcer")
    wait_until(lambda: len(b.names_from("many")) == 10000, 30, "10,000 files at the watcher", interval=0.2)
    out = a.procs["announcer"].output()
    assert "Sanitizer" not in out


def test_garbage_flood_leaves_listener_correct(swarm):
    peers = three_peers(swarm)
    listener = peers[0]
    wait_until(lambda: {"beta", "gamma"} <= {r["tag"] for r in listener.tags()}, 3, "everyone")
    good = sorted((r["tag"], r["name"], r["root"]) for r in listener.tags())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    root = "0" * 64
    hostile = [
        b"", b"\x00" * 100, b"{", b"[1,2,3]", os.urandom(1400), b"x" * 9000,
        json.dumps({"v": 1, "type": "announce", "tag": "t" * 10000, "port": 1}).encode(),
        json.dumps({"v": 1, "type": "bye", "tag": "beta", "port": 1}).encode(),
    ]
    def ann(files, tag="evil"):
        return json.dumps({"v": 1, "type": "announce", "tag": tag, "port": 9, "interval": 1, "seq": 1,
                           "page": 0, "pages": 1, "files": files}).encode()
    for name in ["../escape", "/etc/passwd", "a\tb", "a\nb", "nul\u0000x", "ok/../../x", "\u0007bell"]:
        hostile.append(ann([{"name": name, "size": 1, "chunk": 4096, "root": root, "complete": True}]))
    for size in [-1, 2 ** 64 - 1, 1e300, "1", None]:
        hostile.append(ann([{"name": "f", "size": size, "chunk": 4096, "root": root, "complete": True}]))
    hostile.append(ann([{"name": "f", "size": 1, "chunk": 4096, "root": "zz", "complete": True}]))
    hostile.append(b'{"v":1,"type":"announce","tag":"e","port":9,"interval":1,"seq":1,"page":0,"pages":1,"files":[{"name":"\xff\xfe","size":1,"chunk":4096,"root":"' + root.encode() + b'","complete":true}]}')
    deadline = time.monotonic() + 5
    sent = 0
    for rnd in range(200):
        if time.monotonic() > deadline:
            break
        for d in hostile:
            try:
                s.sendto(d, (BROADCAST, swarm.udp_port))
                sent += 1
            except OSError:
                pass
    assert sent > 1000
    # A canary after the flood: once it is in tags.txt, the listener has read
    # every datagram sent before it and written what it made of them (a check
    # of the file before that would only see the old one).
    canary = json.dumps({"v": 1, "type": "announce", "tag": "canary", "port": 9, "interval": 60, "seq": 1,
                         "page": 0, "pages": 1,
                         "files": [{"name": "canary.txt", "size": 1, "chunk": 4096, "root": "c" * 64,
                                    "complete": True}]}).encode()
    # Sent again every half second until seen: a listener still draining a
    # full socket buffer (under valgrind, say) drops what arrives meanwhile.
    sent_at = [0.0]

    def canary_seen():
        if time.monotonic() - sent_at[0] > 0.5:
            s.sendto(canary, (BROADCAST, swarm.udp_port))
            sent_at[0] = time.monotonic()
        return "canary" in {r["tag"] for r in listener.tags()}
    wait_until(canary_seen, 10, "the canary after the flood")
    s.close()
    text = open(listener.dir / "tags.txt", encoding="utf-8").read()
    assert "evil" not in text and "escape" not in text and "passwd" not in text
    assert all(r["tag"] in ("alpha", "beta", "gamma", "canary") for r in listener.tags()), listener.tags()
    # Honest peers that expired while the listener drained the flood (slower
    # under ASan) come back with their next round.
    honest = lambda: sorted((r["tag"], r["name"], r["root"]) for r in listener.tags() if r["tag"] != "canary")
    wait_until(lambda: honest() == good, 10, "tags.txt to hold exactly the honest entries")
    assert listener.procs["listener"].alive()
    assert "dropped datagram" in listener.procs["listener"].output()


def test_listener_restart_keeps_then_expires_old_entries(swarm):
    a = swarm.peer("a")
    (a.share / "x.txt").write_text("x")
    b = swarm.peer("b")
    b.start("listener")
    a.start("announcer")
    wait_until(lambda: "x.txt" in b.names_from("a"), 3, "x.txt")
    assert b.stop("listener") == 0
    a.stop("announcer", signal.SIGKILL)
    # The restarted listener starts from the old tags.txt, then lets it expire.
    b.start("listener")
    wait_until(lambda: "loaded 1 entries" in b.procs["listener"].output(), 3, "the old tags.txt to load")
    assert "x.txt" in b.names_from("a")
    wait_until(lambda: "x.txt" not in b.names_from("a"), 6, "the stale entry to expire")


def test_help_and_bad_options():
    for name in ["announcer", "listener", "server", "downloader"]:
        r = subprocess.run([prog(name), "--help"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and "Usage: lanswarm-%s" % name in r.stdout
        r = subprocess.run([prog(name), "--udp-port", "99999"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and "udp_port" in r.stderr
        r = subprocess.run([prog(name), "--no-such-flag"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2
