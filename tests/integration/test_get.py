"""`lanswarm get` and the downloader as a user meets them: a file already
here, a typo, choosing the source."""
import json
import os
import subprocess

from conftest import BIN, SLOW, Proc, make_file, prog, sha256_file, wait_until
from fakepeer import FakePeer, tags_line
from test_transfer import fetcher, seed


def test_get_a_file_this_peer_shares_says_it_is_here(swarm):
    (s,), src = seed(swarm, ["s"], "a.txt", 1000)
    s.start("listener")
    wait_until(lambda: "a.txt" in s.names_from("s"), 5, "s's own announcement")
    r = s.download("a.txt")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "a.txt is already here: %s" % (s.share / "a.txt")
    assert "no peer" not in r.stderr and not (s.dir / "downloads" / "a.txt").exists()
    r = s.download("a.txt", "--json")
    assert r.returncode == 0
    end = json.loads(r.stdout)
    assert end["result"] == "here" and str(s.share / "a.txt") in end["message"]
    # A downloaded file this peer announces again is here too.
    d = fetcher(swarm, ["s"], "a.txt")
    assert d.download("a.txt").returncode == 0
    d.start("server", "announcer")
    wait_until(lambda: "a.txt" in d.names_from("fetcher"), 5, "the fetcher's own announcement")
    r = d.download("a.txt")
    assert r.returncode == 0 and "a.txt is already here: %s" % (d.dir / "downloads" / "a.txt") in r.stderr


def test_client_shell_fetch_of_a_file_here(swarm):
    t = swarm.tracker()
    p = swarm.peer("carol")
    make_file(p.share / "mine.bin", 5000)
    cl = Proc([prog("client")] + p.common() + ["--tracker", "127.0.0.1:%d" % t.port],
              str(p.dir / "client.out"), stdin=True)
    swarm.all.append(cl)
    wait_until(lambda: "registered as carol" in cl.output(), 5, "carol registered")
    cl.send("fetch mine.bin")
    wait_until(lambda: "mine.bin is already here: %s" % (p.share / "mine.bin") in cl.output(), 5, "the answer")
    assert "exit status" not in cl.output()
    cl.send("quit")
    assert cl.wait_exit(5 * SLOW) == 0



def test_a_typo_gets_suggestions(swarm):
    seed(swarm, ["s"], "big.bin", 1000)
    seed(swarm, ["t"], "big22.bin", 1000)
    d = fetcher(swarm, ["s"], "big.bin")
    wait_until(lambda: "big22.bin" in d.names_from("t"), 5, "big22.bin")
    for typo in ["big3.bin", "BIG.bin"]:
        r = d.download(typo)
        assert r.returncode == 3 and "no peer" in r.stderr, r.stderr
        assert "did you mean: big.bin" in r.stderr, r.stderr
    r = d.download("BIG.bin")
    assert r.stderr.rstrip().endswith("did you mean: big.bin?"), r.stderr  # case first, one suggestion
    r = d.download("big3.bin", "--events")
    end = json.loads(r.stdout.splitlines()[-1])
    assert end["result"] == "not-found" and "big.bin, big22.bin?" in end["message"]
    r = d.download("zzzzzz.txt")
    assert r.returncode == 3 and "did you mean" not in r.stderr


def test_get_from_chosen_peers(swarm):
    seeders, src = seed(swarm, ["s0", "s1", "s2"], "f.bin", 300000)
    d = fetcher(swarm, ["s0", "s1", "s2"], "f.bin")
    lanswarm = [os.path.join(BIN, "lanswarm")]
    r = subprocess.run(lanswarm + ["--dir", str(d.dir), "get", "f.bin", "--from", "s9,s1"], capture_output=True,
                       text=True, timeout=30 * SLOW)
    assert r.returncode == 4, r.stderr
    assert "peer 's9' does not have 'f.bin'; its holders: s0, s1, s2" in r.stderr, r.stderr
    assert not (d.dir / "downloads" / "f.bin").exists()
    r = subprocess.run(lanswarm + ["--dir", str(d.dir), "get", "f.bin", "--from", "s1,s2", "--json"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    end = json.loads(r.stdout)
    assert {p["tag"] for p in end["peers"]} <= {"s1", "s2"} and end["fetched"] == 300000
    assert sha256_file(d.dir / "downloads" / "f.bin") == sha256_file(src)
    r = d.download("f.bin", "--from", "s1,,s2")
    assert r.returncode == 2 and "--from" in r.stderr


def test_diagnostics_go_to_the_log_unless_verbose(swarm):
    """A liar is banned: the user reads how the download ended, the log line
    (timestamp, level, "peer ... banned") goes to logs/lanswarm-downloader.log."""
    data = os.urandom(8 * 65536)
    liar, honest = FakePeer(data, 65536, mode="corrupt"), FakePeer(data, 65536)
    try:
        d = swarm.peer("fetcher")
        (d.dir / "tags.txt").write_text(tags_line("liar", liar.port, data, 65536, "f.bin") +
                                        tags_line("honest", honest.port, data, 65536, "f.bin"))
        r = d.download("f.bin")
        assert r.returncode == 0, r.stderr
        assert "wrong hash" not in r.stderr and " info " not in r.stderr and " warn " not in r.stderr, r.stderr
        assert "fetching f.bin" in r.stderr and "downloads/f.bin: 512.0 KiB in" in r.stderr, r.stderr
        log = (d.dir / "logs" / "lanswarm-downloader.log").read_text()
        assert "peer liar" in log and "wrong hash" in log and "banned" in log
    finally:
        liar.close()
        honest.close()
