"""A simulated LAN: network namespaces made by this test (one per host and one
holding an Ethernet bridge, veth cables, addresses from 198.18.0.0/15, no
route out), each host running `lanswarm init` + `lanswarm up` with no
broadcast address given, so the automatic default must find the interface.
Every namespace is removed at the end, pass or fail. Needs root."""
import os
import signal
import subprocess
import time

import pytest

from conftest import SLOW, VALGRIND, Proc, make_file, prog, read_tags, sha256_file, skip_unless_able, wait_until

# Whole hosts running `lanswarm up` in namespaces: the plain and ASan passes
# run these (the interface, multicast and IPv6 paths only they take are
# memory-checked there by ASan + LeakSanitizer); under valgrind they took 2-3
# minutes of CI, with re-runs for their multi-host timings.
pytestmark = pytest.mark.skipif(VALGRIND, reason="namespace tests run in the plain and ASan passes, not under valgrind")

PREFIX = "lsw%d" % (os.getpid() % 100000)


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def netns_possible():
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    r = subprocess.run(["ip", "netns", "add", PREFIX + "probe"], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create network namespaces here: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", PREFIX + "probe"])
    return None


class Lan:
    def __init__(self, tmp, n):
        self.tmp = tmp
        self.bridge = PREFIX + "br"
        self.hosts = ["%sh%d" % (PREFIX, i) for i in range(1, n + 1)]
        self.made = []
        self.procs = {}

    def build(self):
        sh("ip", "netns", "add", self.bridge)
        self.made.append(self.bridge)
        sh("ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.bridge, "link", "set", "br0", "up")
        for i, ns in enumerate(self.hosts, 1):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            host_end, bridge_end = "%se%d" % (PREFIX, i), "%sb%d" % (PREFIX, i)
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", bridge_end)
            sh("ip", "link", "set", host_end, "netns", ns)
            sh("ip", "link", "set", bridge_end, "netns", self.bridge)
            sh("ip", "-n", self.bridge, "link", "set", bridge_end, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", "198.18.0.%d/24" % i, "dev", host_end)
            sh("ip", "-n", ns, "link", "set", host_end, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def cable(self, i, up):
        sh("ip", "-n", self.bridge, "link", "set", "%sb%d" % (PREFIX, i), "up" if up else "down")

    def run(self, i, args, **kw):
        return subprocess.run(["ip", "netns", "exec", self.hosts[i - 1]] + args, capture_output=True, text=True, **kw)

    def up(self, i):
        d = self.dir(i)
        self.procs[i] = Proc(["ip", "netns", "exec", self.hosts[i - 1], prog("").rstrip("-"), "--dir", str(d), "up"],
                             str(self.tmp / ("up%d.out" % i)))
        return self.procs[i]

    def dir(self, i):
        return self.tmp / ("host%d" % i)

    def tags(self, i):
        return read_tags(self.dir(i) / "tags.txt")

    def destroy(self):
        stop_and_remove(self.procs.values(), self.made)


def stop_and_remove(procs, namespaces):
    """Stops what runs in the namespaces, then deletes them, newest first."""
    for p in procs:
        if p.alive():
            p.p.send_signal(signal.SIGTERM)
            try:
                p.p.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                p.p.kill()
                p.p.wait()
    for ns in reversed(namespaces):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def lan(tmp_path):
    why = netns_possible()
    if why:
        skip_unless_able(why)
    lan = Lan(tmp_path, 3)
    try:
        lan.build()
        yield lan
    finally:
        lan.destroy()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert PREFIX not in left, "namespaces left behind: " + left


def test_three_hosts_discover_download_and_leave(lan):
    for i in (1, 2, 3):
        d = lan.dir(i)
        r = subprocess.run([prog("").rstrip("-"), "init", str(d)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        conf = (d / "lanswarm.conf").read_text()
        assert "broadcast = auto" in conf
        # Quicker rounds for the test; the broadcast address stays automatic.
        conf = conf.replace("interval = 60", "interval = 1").replace("rate_limit = 0", "rate_limit = %s" % (
            "8M" if i > 1 else "0"))
        conf += "tag = host%d\nstall_timeout = 2\n" % i
        (d / "lanswarm.conf").write_text(conf)
        (d / "share" / ("only-on-%d.txt" % i)).write_text("host %d\n" % i)
    big = make_file(lan.dir(2) / "share" / "film.bin", 24 * 1024 * 1024, seed=7)
    os.link(big, lan.dir(3) / "share" / "film.bin")
    t0 = time.monotonic()
    for i in (1, 2, 3):
        lan.up(i)
    everyone = {"only-on-1.txt", "only-on-2.txt", "only-on-3.txt", "film.bin"}
    for i in (1, 2, 3):
        wait_until(lambda: everyone <= {r["name"] for r in lan.tags(i)}, 10, "host%d to see every file" % i)
    seen_all = time.monotonic() - t0
    addrs = {r["addr"].split(":")[0] for r in lan.tags(1)}
    assert addrs == {"198.18.0.1", "198.18.0.2", "198.18.0.3"}, addrs
    announcer_log = (lan.dir(1) / "logs" / "lanswarm-announcer.log").read_text()
    assert "to 198.18.0.255:" in announcer_log  # the automatic default found the namespace's interface

    # A download from hosts 2 and 3 at once.
    r = lan.run(1, [prog("").rstrip("-"), "--dir", str(lan.dir(1)), "get", "film.bin"], timeout=120 * SLOW)
    assert r.returncode == 0, r.stderr
    assert sha256_file(lan.dir(1) / "downloads" / "film.bin") == sha256_file(big)
    log = (lan.dir(1) / "client.log").read_text().splitlines()[-1]
    assert "result=ok" in log and "host2@198.18.0.2" in log and "host3@198.18.0.3" in log
    throughput = float(log.split("speed_Bps=")[1].split()[0])

    # Again with host 2's cable pulled mid-download: it finishes from host 3.
    os.unlink(lan.dir(1) / "downloads" / "film.bin")
    dl = subprocess.Popen(["ip", "netns", "exec", lan.hosts[0], prog("downloader"), "--dir", str(lan.dir(1)),
                           "film.bin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    have = lambda: [f for f in os.listdir(lan.dir(1) / "temp") if f.endswith(".have")]
    wait_until(lambda: have() and (lan.dir(1) / "temp" / have()[0]).read_bytes().count(b"\x01") >= 4, 20,
               "the second download to be under way")
    lan.cable(2, False)
    out, err = dl.communicate(timeout=120 * SLOW)
    assert dl.returncode == 0, err
    assert sha256_file(lan.dir(1) / "downloads" / "film.bin") == sha256_file(big)
    log = (lan.dir(1) / "client.log").read_text().splitlines()[-1]
    assert "result=ok" in log
    host3_bytes = int(log.split("host3@198.18.0.3:")[1].split("=")[1].split(",")[0].split()[0])
    assert host3_bytes > 0

    # Cable back; then host 3 leaves with SIGTERM: gone from the others at once.
    lan.cable(2, True)
    back = int(time.time()) + 1
    # Fresh announcements from host 2 again (not just entries not yet expired).
    wait_until(lambda: any(r["tag"] == "host2" and r["seen"] >= back for r in lan.tags(1)), 10, "host2 heard again")
    assert lan.procs[3].stop() == 0
    t_leave = time.monotonic()
    for i in (1, 2):
        wait_until(lambda: "host3" not in {r["tag"] for r in lan.tags(i)}, 2, "host3 gone from host%d" % i)
    assert time.monotonic() - t_leave < 2 * SLOW
    # Host 2's cable pulled with no goodbye: gone after 3 intervals (1 s each).
    lan.cable(2, False)
    t_pull = time.monotonic()
    wait_until(lambda: "host2" not in {r["tag"] for r in lan.tags(1)}, 8, "host2 to expire at host1")
    expired_after = time.monotonic() - t_pull
    assert 1.5 < expired_after < 6 * SLOW, expired_after
    print("\nfigures: all hosts saw every file %.2f s after `lanswarm up`; download across the bridge %.1f MB/s; "
          "host2 expired %.1f s after its cable was pulled" % (seen_all, throughput / 1e6, expired_after))


def doctor_host(lan, i, extra_conf="", files=True):
    """lanswarm init in host i's folder, broadcast = the namespace subnet's
    address (the doctor sends there only), quick rounds; then `up`."""
    d = lan.dir(i)
    r = subprocess.run([prog("").rstrip("-"), "init", str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    conf = (d / "lanswarm.conf").read_text().replace("broadcast = auto", "broadcast = 198.18.0.255")
    conf = conf.replace("interval = 60", "interval = 1")
    conf += "tag = host%d\n%s" % (i, extra_conf)
    (d / "lanswarm.conf").write_text(conf)
    if files:
        (d / "share" / ("on-%d.txt" % i)).write_text("host %d\n" % i)
    lan.up(i)


def run_doctor(lan, i):
    import json
    r = lan.run(i, [prog("").rstrip("-"), "--dir", str(lan.dir(i)), "doctor", "--json"], timeout=60 * SLOW)
    return r.returncode, {c["name"]: c for c in json.loads(r.stdout)["checks"]}


def peers_txt(lan, i):
    p = lan.dir(i) / "peers.txt"
    return p.read_text() if p.exists() else ""


def test_doctor_names_a_firewall_dropping_udp(lan):
    """nftables on host 2 drops the announcement port: host 2's doctor says
    its own query never reached its listener, a firewall drops it; host 1's
    passes. The table goes with the namespace."""
    if sh("which", "nft", check=False).returncode != 0:
        skip_unless_able("needs nft (nftables; scripts/deps.sh test installs it)")
    for i in (1, 2):
        doctor_host(lan, i)
    wait_until(lambda: "\nhost2\t" in peers_txt(lan, 1) and "\nhost1\t" in peers_txt(lan, 2), 10,
               "hosts 1 and 2 to hear each other")
    ns = lan.hosts[1]
    sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "lsw")
    sh("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "lsw", "input",
       "{ type filter hook input priority 0 ; }")
    sh("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "lsw", "input", "udp", "dport", "41770", "drop")
    rc, by = run_doctor(lan, 2)
    assert rc == 1 and by["udp_path"]["status"] == "fail", by
    assert "firewall drops UDP port 41770" in by["udp_path"]["message"] and "198.18.0.255" in by["udp_path"]["message"]
    assert "udp dport 41770 accept" in by["udp_path"]["remedy"]
    rc, by = run_doctor(lan, 1)
    assert by["udp_path"]["status"] == "ok" and by["interface"]["status"] == "ok", by


def test_doctor_names_client_isolation(lan):
    """Bridge ports 1 and 2 isolated (as an access point isolates its Wi-Fi
    clients), port 3 not: host 3, the "router", runs a tracker. Hosts 1 and
    2 hear each other only through it; host 1's doctor says isolation (or a
    router) is the likely cause."""
    for i in (1, 2):
        sh("bridge", "-n", lan.bridge, "link", "set", "dev", "%sb%d" % (PREFIX, i), "isolated", "on")
    tracker = Proc(["ip", "netns", "exec", lan.hosts[2], prog("tracker"), "--port", "41800", "--ping-interval", "1",
                    "--listen-addr", "198.18.0.3"], str(lan.tmp / "tracker.out"))
    lan.procs["tracker"] = tracker
    for i in (1, 2):
        doctor_host(lan, i, "tracker = 198.18.0.3:41800\n")
    wait_until(lambda: any(l.startswith("host2\t") and "tracker" in l for l in peers_txt(lan, 1).splitlines()), 15,
               "host 1 to hear host 2 through the tracker")
    line = [l for l in peers_txt(lan, 1).splitlines() if l.startswith("host2\t")][0]
    assert "broadcast" not in line.split("\t")[2], line  # isolated: never by broadcast

    def isolation_named():
        rc, by = run_doctor(lan, 1)
        return by["isolation"]["status"] == "warn" and by
    by = wait_until(isolation_named, 15, "host 1's doctor to name isolation", interval=0.5)
    assert "host2" in by["isolation"]["message"] and "never by broadcast" in by["isolation"]["message"]
    assert "client isolation or a router" in by["isolation"]["remedy"] and "tracker" in by["isolation"]["remedy"]


def test_cable_back_in_is_heard_at_once(lan):
    """Host 2's link goes down long enough to expire everywhere (3 intervals
    of 2 s), then up: its announcer sees the interfaces change and announces
    at once, its listener asks at once, so both sides are whole again within
    2 s rather than at the next round."""
    for i in (1, 2, 3):
        doctor_host(lan, i, "interval = 2\n" + ("log_level = debug\n" if i == 2 else ""))
    tags_of = lambda i: {r["tag"] for r in lan.tags(i)}
    for i in (1, 2, 3):
        wait_until(lambda: tags_of(i) >= {"host1", "host2", "host3"}, 10, "host%d to see every host" % i)
    eth = "%se2" % PREFIX
    lan.run(2, ["ip", "link", "set", "dev", eth, "down"], check=True)
    for i in (1, 3):
        wait_until(lambda: "host2" not in tags_of(i), 12, "host2 to expire at host%d" % i)
    wait_until(lambda: tags_of(2) <= {"host2"}, 12, "the others to expire at host2")
    lan.run(2, ["ip", "link", "set", "dev", eth, "up"], check=True)
    t_up = time.monotonic()
    for i in (1, 3):
        wait_until(lambda: "host2" in tags_of(i), 2, "host2 back at host%d" % i)
    back_at_others = time.monotonic() - t_up
    wait_until(lambda: tags_of(2) >= {"host1", "host3"}, 2, "the others back at host2")
    back_at_host2 = time.monotonic() - t_up
    # A round for the change, not the periodic one that happened to be due.
    log = (lan.dir(2) / "logs" / "lanswarm-announcer.log").read_text()
    assert "network interfaces changed: announcing now" in log and "reason=interfaces changed" in log, log[-2000:]
    print("\nfigures: cable back in: host2 in the others' tags.txt after %.2f s, the others in host2's after %.2f s"
          % (back_at_others, back_at_host2))


# Run in host 2: the requests another machine of the LAN would make to host
# 1's dashboard; prints [status, ...] as JSON.
WEB_CLIENT = r"""
import http.client, json, sys
addr, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def ask(method, path, auth=None, body=None):
    h = {"Host": "%s:%d" % (addr, port)}
    if auth is not None:
        h["Authorization"] = "Bearer " + auth
    if body is not None:
        h["Content-Type"] = "application/json"
    c = http.client.HTTPConnection(addr, port, timeout=20)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status
wrong = "x" * len(token)
print(json.dumps([
    ask("GET", "/api/status"), ask("GET", "/api/files"), ask("POST", "/api/share/remove", body='{"name":"a"}'),
    ask("GET", "/api/status", wrong), ask("POST", "/api/share/remove", wrong, '{"name":"a"}'),
    ask("GET", "/api/status", token), ask("GET", "/api/files?token=" + token), ask("GET", "/"),
]))
"""


def test_dashboard_off_loopback_needs_its_token(lan):
    """lanswarm-web on host 1's LAN address (198.18.0.1, not loopback):
    without web_token it refuses to start (exit 2); with one, host 2 reaches
    it across the bridge, and every API request without the token gets 401,
    with a wrong one 403, with it 200 (the Host check of loopback does not
    apply there). It listens on that address only, not on loopback."""
    d = lan.dir(1)
    d.mkdir()
    web = [prog("web"), "--dir", str(d), "--web-addr", "198.18.0.1"]
    r = lan.run(1, web, timeout=10 * SLOW)
    assert r.returncode == 2 and "web_token" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (d / "web.url").exists()
    token = "lan-dashboard-token-0123456789"
    proc = Proc(["ip", "netns", "exec", lan.hosts[0]] + web + ["--web-token", token], str(lan.tmp / "web.out"))
    lan.procs["web"] = proc
    wait_until(lambda: (d / "web.url").exists() and (d / "web.url").read_text().endswith("\n"), 10,
               "lanswarm-web to write web.url")
    url = (d / "web.url").read_text().strip()
    assert url.startswith("http://198.18.0.1:") and url.endswith("/#token=" + token), url
    port = int(url.split(":")[2].split("/")[0])

    def answers():
        r = lan.run(2, ["/usr/bin/python3", "-c", WEB_CLIENT, "198.18.0.1", str(port), token], timeout=30 * SLOW)
        return r.returncode == 0 and r.stdout
    import json
    got = json.loads(wait_until(answers, 10, "host 2 to reach the dashboard", interval=0.2))
    assert got == [401, 401, 401, 403, 403, 200, 200, 200], got
    # Not on loopback: nothing answers at 127.0.0.1 in host 1.
    r = lan.run(1, ["/usr/bin/python3", "-c", "import socket,sys; socket.create_connection(('127.0.0.1', %d), 2)"
                    % port])
    assert r.returncode != 0 and "ConnectionRefused" in r.stderr, r.stderr
    assert proc.stop() == 0, proc.output()
