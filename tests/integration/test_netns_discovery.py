"""Discovery where broadcast does not reach: simulated LANs in network
namespaces this test makes (bridges, veth cables, a router; addresses from
198.18.0.0/15 and fd00::/8 or link-local only, no route out), each host
running `lanswarm up`. Every address, group and port is given explicitly in
each host's lanswarm.conf, so nothing depends on detecting the real
interfaces, and nothing is sent outside the namespaces. Every namespace is
removed at the end, pass or fail. Needs root.

  - broadcast dropped by the bridge (bcast_flood off): multicast finds everyone;
  - an IPv6-only LAN (link-local and fd00:: addresses, multicast6): discover,
    download, verify;
  - two subnets joined by a router namespace: peers by hand find each other.
"""
import os
import re
import subprocess

import pytest

from conftest import SLOW, VALGRIND, Proc, make_file, prog, read_tags, sha256_file, skip_unless_able, wait_until
from test_netns import netns_possible, stop_and_remove

# Whole hosts running `lanswarm up` in namespaces: the plain and ASan passes
# run these (the interface, multicast and IPv6 paths only they take are
# memory-checked there by ASan + LeakSanitizer); under valgrind they took 2-3
# minutes of CI, with re-runs for their multi-host timings.
pytestmark = pytest.mark.skipif(VALGRIND, reason="namespace tests run in the plain and ASan passes, not under valgrind")

PREFIX = "lsd%d" % (os.getpid() % 100000)
LSW = prog("").rstrip("-")


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


class Net:
    """Namespaces made by one test; destroy() removes every one."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.made = []
        self.procs = {}
        self.hosts = {}   # i -> namespace
        self.cables = 0

    def ns(self, name):
        full = PREFIX + name
        sh("ip", "netns", "add", full)
        self.made.append(full)
        sh("ip", "-n", full, "link", "set", "lo", "up")
        for key in ("all", "default"):  # addresses usable at once (no duplicate address detection wait)
            sh("ip", "netns", "exec", full, "sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % key)
        return full

    def bridge(self, name):
        full = self.ns(name)
        sh("ip", "-n", full, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        sh("ip", "-n", full, "link", "set", "br0", "up")
        return full

    def cable(self, a, b):
        """A veth pair between namespaces a and b: (name in a, name in b)."""
        self.cables += 1
        ea, eb = "%sa%d" % (PREFIX, self.cables), "%sb%d" % (PREFIX, self.cables)
        sh("ip", "link", "add", ea, "type", "veth", "peer", "name", eb)
        sh("ip", "link", "set", ea, "netns", a)
        sh("ip", "link", "set", eb, "netns", b)
        return ea, eb

    def host(self, i, bridge=None):
        ns = self.ns("h%d" % i)
        self.hosts[i] = ns
        if bridge is None:
            return ns, None
        he, be = self.cable(ns, bridge)
        sh("ip", "-n", bridge, "link", "set", be, "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", he, "up")
        return ns, he

    def dir(self, i):
        return self.tmp / ("host%d" % i)

    def configure(self, i, **keys):
        d = self.dir(i)
        r = subprocess.run([LSW, "init", str(d)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        conf = (d / "lanswarm.conf").read_text()
        keys.setdefault("interval", "1")
        keys.setdefault("tag", "host%d" % i)
        keys.setdefault("stall_timeout", "3")
        conf += "".join("%s = %s\n" % kv for kv in keys.items())
        (d / "lanswarm.conf").write_text(conf)
        (d / "share" / ("only-on-%d.txt" % i)).write_text("host %d\n" % i)

    def exec(self, i, args, **kw):
        return subprocess.run(["ip", "netns", "exec", self.hosts[i]] + args, capture_output=True, text=True, **kw)

    def up(self, i):
        self.procs[i] = Proc(["ip", "netns", "exec", self.hosts[i], LSW, "--dir", str(self.dir(i)), "up"],
                             str(self.tmp / ("up%d.out" % i)))

    def tags(self, i):
        return read_tags(self.dir(i) / "tags.txt")

    def names(self, i):
        return {r["name"] for r in self.tags(i)}

    def log(self, i, daemon):
        try:
            return (self.dir(i) / "logs" / ("lanswarm-%s.log" % daemon)).read_text()
        except FileNotFoundError:
            return ""

    def destroy(self):
        stop_and_remove(self.procs.values(), self.made)


@pytest.fixture
def net(tmp_path):
    why = netns_possible()
    if why:
        skip_unless_able(why)
    n = Net(tmp_path)
    try:
        yield n
    finally:
        n.destroy()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert PREFIX not in left, "namespaces left behind: " + left


def test_multicast_finds_everyone_when_the_bridge_drops_broadcast(net):
    br = net.bridge("br")
    for i in (1, 2, 3):
        ns, eth = net.host(i, br)
        sh("ip", "-n", ns, "addr", "add", "198.18.1.%d/24" % i, "dev", eth)
        net.configure(i, broadcast="198.18.1.255", multicast="239.255.41.70", multicast6="off")
    r = sh("ip", "-n", br, "link", "set", "%sb1" % PREFIX, "type", "bridge_slave", "bcast_flood", "off", check=False)
    if r.returncode != 0:
        skip_unless_able("this iproute2 or kernel has no bcast_flood: " + r.stderr.strip())
    for k in (2, 3):
        sh("ip", "-n", br, "link", "set", "%sb%d" % (PREFIX, k), "type", "bridge_slave", "bcast_flood", "off")
    for i in (1, 2, 3):
        net.up(i)
    everyone = {"only-on-1.txt", "only-on-2.txt", "only-on-3.txt"}
    for i in (1, 2, 3):
        wait_until(lambda: everyone <= net.names(i), 10, "host%d to see every file" % i)
    for i in (1, 2, 3):
        log = net.log(i, "listener")
        joined = re.findall(r"peer joined tag=(\S+) addr=\S+ via=(\w+)", log)
        assert {t for t, _ in joined} >= {"host%d" % k for k in (1, 2, 3) if k != i}, log
        # The bridge drops broadcast: only multicast (and each host's own
        # loopback copy of its broadcast) gets through.
        assert all(via == "multicast" for t, via in joined if t != "host%d" % i), joined
        assert "(multicast)" in net.log(i, "announcer")
    addrs = {r["addr"].split(":")[0] for r in net.tags(1)}
    assert addrs >= {"198.18.1.2", "198.18.1.3"}, addrs


def test_ipv6_only_lan_discovers_and_downloads(net):
    br = net.bridge("br6")
    for i in (1, 2, 3):
        ns, eth = net.host(i, br)
        sh("ip", "-n", ns, "addr", "add", "fd00:5eed::%d/64" % i, "dev", eth, "nodad")
        net.configure(i, broadcast="off", multicast="off", multicast6="ff12::4177")
    for i in (1, 2, 3):  # no IPv4 address anywhere but loopback
        assert "inet " not in net.exec(i, ["ip", "-4", "addr", "show", "scope", "global"]).stdout
    big = make_file(net.dir(2) / "share" / "film.bin", 6 * 1024 * 1024, seed=11)
    os.link(big, net.dir(3) / "share" / "film.bin")
    for i in (1, 2, 3):
        net.up(i)
    everyone = {"only-on-1.txt", "only-on-2.txt", "only-on-3.txt", "film.bin"}
    for i in (1, 2, 3):
        wait_until(lambda: everyone <= net.names(i), 15, "host%d to see every file over IPv6" % i)
    text = (net.dir(1) / "tags.txt").read_text()
    # IPv6 endpoints are bracketed; link-local ones carry their interface.
    assert re.search(r"\t\[(fe80::[0-9a-f:]+%\S+|fd00:5eed::\d)\]:\d+\t", text), text
    assert not re.search(r"\t\d+\.\d+\.\d+\.\d+:\d+\t", text), text
    r = net.exec(1, [LSW, "--dir", str(net.dir(1)), "get", "film.bin"], timeout=120 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(net.dir(1) / "downloads" / "film.bin") == sha256_file(big)
    log = (net.dir(1) / "client.log").read_text().splitlines()[-1]
    assert "result=ok" in log and "@[" in log, log
    peers = net.exec(1, [LSW, "--dir", str(net.dir(1)), "peers"]).stdout
    assert "host2" in peers and "[" in peers, peers


def test_peers_by_hand_across_a_router(net):
    router = net.ns("rt")
    sh("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for i, subnet in ((1, 1), (2, 2)):
        ns, _ = net.host(i)
        he, re_ = net.cable(ns, router)
        sh("ip", "-n", router, "addr", "add", "198.18.%d.1/24" % subnet, "dev", re_)
        sh("ip", "-n", router, "link", "set", re_, "up")
        sh("ip", "-n", ns, "addr", "add", "198.18.%d.2/24" % subnet, "dev", he)
        sh("ip", "-n", ns, "link", "set", he, "up")
        sh("ip", "-n", ns, "route", "add", "198.18.0.0/15", "via", "198.18.%d.1" % subnet)
    # Host 1 names host 2 in its file; host 2 gets host 1 with `lanswarm peers add`.
    net.configure(1, broadcast="198.18.1.255", multicast="off", multicast6="off", peers="198.18.2.2")
    net.configure(2, broadcast="198.18.2.255", multicast="off", multicast6="off")
    r = subprocess.run([LSW, "--dir", str(net.dir(2)), "peers", "add", "198.18.1.2:41770"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    conf = (net.dir(2) / "lanswarm.conf").read_text()
    assert "peers = 198.18.1.2:41770\n" in conf and conf.startswith("#")
    make_file(net.dir(2) / "share" / "far.bin", 3 * 1024 * 1024, seed=5)
    for i in (1, 2):
        net.up(i)
    wait_until(lambda: "only-on-1.txt" in net.names(2), 10, "host2 to hear host1 across the router")
    wait_until(lambda: {"only-on-2.txt", "far.bin"} <= net.names(1), 10, "host1 to hear host2 across the router")
    assert re.search(r"peer joined tag=host2 addr=198\.18\.2\.2:\d+ via=unicast", net.log(1, "listener"))
    assert re.search(r"peer joined tag=host1 addr=198\.18\.1\.2:\d+ via=unicast", net.log(2, "listener"))
    r = net.exec(1, [LSW, "--dir", str(net.dir(1)), "get", "far.bin"], timeout=60 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(net.dir(1) / "downloads" / "far.bin") == sha256_file(net.dir(2) / "share" / "far.bin")


def test_ipv6_only_late_joiner_asks_and_has_everything_at_once(net):
    """A peer that starts late on an IPv6-only LAN, every interval 60 s: its
    query (to the IPv6 group) is answered over IPv6 within 2 s."""
    br = net.bridge("br6")
    for i in (1, 2, 3):
        ns, eth = net.host(i, br)
        sh("ip", "-n", ns, "addr", "add", "fd00:5eed::%d/64" % i, "dev", eth, "nodad")
        net.configure(i, broadcast="off", multicast="off", multicast6="ff12::4177", interval="60")
    for i in (1, 2):
        net.up(i)
    wait_until(lambda: "only-on-2.txt" in net.names(1) and "only-on-1.txt" in net.names(2), 15,
               "hosts 1 and 2 to hear each other's first rounds")
    net.up(3)
    wait_until(lambda: "listening on UDP" in net.log(3, "listener"), 10, "host 3's listener to start")
    wait_until(lambda: {"only-on-1.txt", "only-on-2.txt"} <= net.names(3), 2,
               "the late joiner to have every file within 2 s (its query answered over IPv6)")
    joined = re.findall(r"peer joined tag=(host[12]) addr=\[[^\]]+\]:\d+ via=unicast", net.log(3, "listener"))
    assert set(joined) == {"host1", "host2"}, net.log(3, "listener")
    # Answered from the address its rounds come from: one peer, not two (the
    # interface after % is each host's own).
    def addrs(i, tag):
        return {re.sub(r"%[^\]]*", "", r["addr"]) for r in net.tags(i) if r["tag"] == tag}
    assert addrs(3, "host1") == addrs(2, "host1") and addrs(3, "host2") == addrs(1, "host2"), net.tags(3)
