"""Instant join (docs/PROTOCOL.md section 3, `query`) and peers.txt (4a).

A listener asks every peer for its round when it starts; each peer's listener
answers with what its announcer last sent (DIR/run/round), unicast, within
bounds. All peers here run on 127.0.0.1, so they share one source address for
the answer limit (one answer per source address per 2 s).
"""
import json
import os
import socket
import time

import pytest

from conftest import SLOW, VALGRIND, BROADCAST, free_port, make_file, wait_until

PER_SOURCE_S = 2.0  # answer_limit: one answer per source address per 2 s


def read_peers(path):
    """peers.txt as a dict of tag -> row (docs/PROTOCOL.md 4a)."""
    rows = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                tag, addr, how, first, last, interval, files, digest = line.rstrip("\n").split("\t")
                rows[tag] = dict(addr=addr, how=set(how.split(",")), first=int(first), last=int(last),
                                 interval=int(interval), files=int(files), digest=digest)
    except FileNotFoundError:
        pass
    return rows


def two_sharing_peers(swarm, key=()):
    peers = []
    for i, tag in enumerate(["alpha", "beta"]):
        p = swarm.peer(tag, interval=60)
        make_file(p.share / ("%s.bin" % tag), 5000 + i, seed=40 + i)
        (p.share / ("%s notes.txt" % tag)).write_text("notes of %s\n" % tag)
        peers.append(p)
    # One after the other: both ask from 127.0.0.1, and a listener answers one
    # query per source address per PER_SOURCE_S. Started together, beta's
    # query could fall in the window of alpha's own and go unanswered, and
    # with interval 60 they would wait a minute for each other's rounds (seen
    # under ASan on a loaded machine). alpha first, until its listener holds
    # its own files (its listener up, its first round sent); beta once that
    # window has passed, so alpha answers beta's query and hears beta's round.
    a, b = peers
    t_a = time.monotonic()
    a.start("listener", "announcer", extra=list(key))
    wait_until(lambda: a.names_from("alpha") == {"alpha.bin", "alpha notes.txt"}, 5 * SLOW, "alpha to hear itself")
    wait_until(lambda: time.monotonic() - t_a > PER_SOURCE_S + 0.2, PER_SOURCE_S + 1, "alpha's answer window to pass")
    b.start("listener", "announcer", extra=list(key))
    return peers


def late_joiner_latency(swarm, key=()):
    if VALGRIND:
        # Every peer here asks from 127.0.0.1, and answers are limited per
        # address: under valgrind the others' own start-up answers drift into
        # the joiner's window. The plain and ASan passes run it.
        pytest.skip("a 3 s latency bound among peers that share one address is not a property of programs "
                    "slowed 20-50 times by valgrind")
    a, b = two_sharing_peers(swarm, key)
    t_up = time.monotonic()
    want = {p.tag: {"%s.bin" % p.tag, "%s notes.txt" % p.tag} for p in (a, b)}
    wait_until(lambda: a.names_from("beta") == want["beta"] and b.names_from("alpha") == want["alpha"], 5,
               "alpha and beta to see each other")
    # Their listeners answered each other's start-up queries from 127.0.0.1,
    # the address the joiner asks from too: its query must come after that window.
    wait_until(lambda: time.monotonic() - t_up > PER_SOURCE_S + 0.2, PER_SOURCE_S + 1, "the answer window to pass")
    c = swarm.peer("gamma", interval=60)
    t0 = time.monotonic()
    c.start("listener", extra=list(key))
    wait_until(lambda: all(c.names_from(t) == want[t] for t in want), 3.0, "every file at the late joiner")
    return time.monotonic() - t0, c


def test_late_joiner_has_every_file_within_3s(swarm):
    elapsed, c = late_joiner_latency(swarm)
    print("late joiner: every file in tags.txt %.3f s after its listener started" % elapsed)
    assert elapsed < 3.0 * SLOW, elapsed
    # Both were heard by their answers, unicast to the joiner's query socket.
    peers = read_peers(c.dir / "peers.txt")
    assert peers["alpha"]["how"] == {"unicast"} and peers["beta"]["how"] == {"unicast"}, peers
    assert peers["alpha"]["files"] == 2 and peers["alpha"]["interval"] == 60


def test_late_joiner_with_a_network_key(swarm, tmp_path):
    key = tmp_path / "key"
    key.write_text(os.urandom(32).hex() + "\n")
    elapsed, c = late_joiner_latency(swarm, ("--key-file", str(key)))
    assert elapsed < 3.0 * SLOW, elapsed
    assert "not authenticated" not in c.procs["listener"].output()
    # A stranger's query, unsealed, gets no answer from keyed listeners.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("127.0.0.3", 0))
    s.sendto(json.dumps({"v": 1, "type": "query", "tag": "stranger"}).encode(), (BROADCAST, swarm.udp_port))
    s.settimeout(0.8 * SLOW)
    try:
        answer = s.recv(65536)
    except socket.timeout:
        answer = None
    s.close()
    assert answer is None, answer
    wait_until(lambda: "not authenticated" in swarm.peers["alpha"].procs["listener"].output(), 2,
               "alpha's listener to refuse the unsealed query")


def test_peers_txt_lists_a_peer_that_shares_nothing(swarm):
    empty = swarm.peer("empty")
    empty.start("listener", "announcer")
    wait_until(lambda: (empty.dir / "run" / "round").exists(), 5, "the empty peer's round file")
    w = swarm.peer("watcher")
    w.start("listener")
    row = wait_until(lambda: read_peers(w.dir / "peers.txt").get("empty"), 3, "the empty peer in peers.txt")
    assert row["addr"] == "127.0.0.1:%d" % empty.tcp_port
    assert row["files"] == 0 and row["interval"] == 1 and row["digest"] == "-"
    assert abs(row["last"] - time.time()) < 5 * SLOW and row["first"] <= row["last"]
    # Its answer came unicast, its rounds (every second) by broadcast.
    wait_until(lambda: read_peers(w.dir / "peers.txt")["empty"]["how"] == {"broadcast", "unicast"}, 3,
               "both ways in how")
    assert "empty" not in {r["tag"] for r in w.tags()}
    header = (w.dir / "peers.txt").read_text().splitlines()[0]
    assert header == "# lanswarm peers v1: tag\taddress:port\thow\tfirst_seen\tlast_seen\tinterval\tfiles\tdigest"
    # A goodbye removes it, as it removes a peer that shares.
    assert empty.stop("announcer") == 0
    assert not (empty.dir / "run" / "round").exists()
    wait_until(lambda: "empty" not in read_peers(w.dir / "peers.txt"), 2, "the empty peer gone")


def test_forged_query_flood_is_answered_within_bounds(swarm):
    p = swarm.peer("target", interval=60)
    (p.share / "a.txt").write_text("a\n")
    p.start("listener", "announcer")
    round_file = p.dir / "run" / "round"
    wait_until(lambda: round_file.exists(), 5, "the round file")
    data = round_file.read_bytes()
    per_answer = 0
    while data:
        n = int.from_bytes(data[:2], "big")
        data = data[2 + n:]
        per_answer += 1
    assert 1 <= per_answer <= 4
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("127.0.0.1", 0))
    forged = json.dumps({"v": 1, "type": "query", "tag": "victim"}).encode()
    t0 = time.monotonic()
    for _ in range(500):
        s.sendto(forged, (BROADCAST, swarm.udp_port))
    flood_s = time.monotonic() - t0
    # Everything the flood can cause arrives within the jitter (0.3 s) after it.
    got, t_last = [], t0
    s.settimeout(0.1)
    deadline = time.monotonic() + 1.5 * SLOW
    while time.monotonic() < deadline:
        try:
            got.append(s.recv(65536))
            t_last = time.monotonic()
        except socket.timeout:
            pass
    s.close()
    # The answer windows the flood spans: as sent; under valgrind the listener
    # takes longer than the sending to read 500 queries, so as answered (the
    # last answer comes from the start of the last window that had any).
    windows = int((t_last - t0 if VALGRIND else flood_s) // PER_SOURCE_S) + 1
    assert 1 <= len(got) <= windows * per_answer, (len(got), flood_s)
    assert all(json.loads(d)["tag"] == "target" for d in got)
    # A query with the peer's own tag is not answered at all.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("127.0.0.2", 0))
    s.sendto(json.dumps({"v": 1, "type": "query", "tag": "target"}).encode(), (BROADCAST, swarm.udp_port))
    s.settimeout(0.8 * SLOW)
    try:
        extra = s.recv(65536)
    except socket.timeout:
        extra = None
    assert extra is None, extra
    # The same from another tag is answered: that address was not answered lately.
    s.sendto(json.dumps({"v": 1, "type": "query", "tag": "other"}).encode(), (BROADCAST, swarm.udp_port))
    assert json.loads(s.recv(65536))["tag"] == "target"
    s.close()
    assert p.procs["listener"].alive()


def test_peer_by_hand_on_another_udp_port_joins_both_ways_at_once(swarm):
    """alpha names beta by hand (beta's udp_port); each listens on its own
    udp_port, so neither hears the other's broadcast. alpha's round reaches
    beta unicast, and beta answers alpha's listener on the port alpha's
    datagrams name ("udp"), not beta's own: both see each other at once,
    whatever their 60 s interval."""
    if VALGRIND:
        pytest.skip("a 2 s latency bound is not a property of programs slowed 20-50 times by valgrind")
    a, b = swarm.peer("alpha", interval=60), swarm.peer("beta", interval=60)
    for p in (a, b):
        p.udp_port = free_port(socket.SOCK_DGRAM)
        (p.share / ("%s.txt" % p.tag)).write_text("held by %s\n" % p.tag)
    assert a.udp_port != b.udp_port
    b.start("listener", "announcer")
    wait_until(lambda: (b.dir / "run" / "round").exists(), 5, "beta's round file")
    t0 = time.monotonic()
    a.start("listener", "announcer", extra=["--peers", "127.0.0.1:%d" % b.udp_port])
    wait_until(lambda: b.names_from("alpha") == {"alpha.txt"} and a.names_from("beta") == {"beta.txt"}, 2.0,
               "alpha and beta to see each other within 2 s")
    print("peer by hand, both ways: %.3f s after alpha started" % (time.monotonic() - t0))
    # peers.txt is written just after tags.txt
    how = lambda p, tag: read_peers(p.dir / "peers.txt").get(tag, {}).get("how")
    wait_until(lambda: how(a, "beta") and how(b, "alpha"), 2, "peers.txt at both")
    assert how(a, "beta") == {"unicast"} and how(b, "alpha") == {"unicast"}
