"""`lanswarm doctor` on loopback: a healthy swarm, a port another program
holds, a peer with another network key. Sends only to 127.255.255.255 and
127.0.0.1 (the peers' lanswarm.conf says broadcast = 127.255.255.255)."""
import json
import os
import socket
import subprocess

from conftest import SLOW, BROADCAST, wait_until, BIN

LANSWARM = os.path.join(BIN, "lanswarm")
CHECKS = ["interface", "udp_port", "tcp_port", "udp_path", "tcp_peers", "isolation", "key", "clock"]


def doctor(peer, *args):
    return subprocess.run([LANSWARM, "--dir", str(peer.dir), "doctor"] + list(args), capture_output=True,
                          text=True, timeout=30 * SLOW)


def write_conf(peer, key=None):
    """The peer's lanswarm.conf, as its daemons' flags say, for the doctor to read."""
    conf = ("tag = %s\nudp_port = %d\ntcp_port = %d\ninterval = %d\nbroadcast = %s\n"
            % (peer.tag, peer.udp_port or peer.swarm.udp_port, peer.tcp_port, peer.interval, BROADCAST))
    if key:
        conf += "key_file = %s\n" % key
    (peer.dir / "lanswarm.conf").write_text(conf)


def key_file(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(os.urandom(32).hex().encode() + b"\n")
    os.chmod(p, 0o600)
    return str(p)


def checks(r):
    j = json.loads(r.stdout)
    return j, {c["name"]: c for c in j["checks"]}


def heard(peer, tag):
    p = peer.dir / "peers.txt"
    return p.exists() and ("\n%s\t" % tag) in p.read_text()


def test_healthy_swarm_passes_every_check(swarm):
    a, b = swarm.peer("a"), swarm.peer("b")
    for p in (a, b):
        write_conf(p)
        p.start("listener", "server", "announcer")
    wait_until(lambda: heard(a, "b") and heard(b, "a"), 5, "a and b to hear each other")
    r = doctor(a, "--json")
    j, by = checks(r)
    assert r.returncode == 0 and j["ok"] is True, r.stdout
    assert [c["name"] for c in j["checks"]] == CHECKS
    assert all(c["status"] == "ok" for c in j["checks"]), j
    assert "this peer's listener" in by["udp_port"]["message"] and "this peer's server" in by["tcp_port"]["message"]
    assert BROADCAST in by["udp_path"]["message"]
    # Text for a person: one line per check, ASCII without a terminal.
    r = doctor(a)
    assert r.returncode == 0 and r.stdout.count("[ok]") == len(CHECKS), r.stdout
    assert "\033[" not in r.stdout and "fix:" not in r.stdout


def test_ports_taken_by_another_program(swarm):
    a = swarm.peer("a")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # no SO_REUSEADDR: the listener could not share it
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind(("0.0.0.0", 0))  # the ports the programs hold are the peer's ports
        tcp.bind(("0.0.0.0", 0))
        tcp.listen(1)
        a.udp_port, a.tcp_port = udp.getsockname()[1], tcp.getsockname()[1]
        write_conf(a)
        r = doctor(a, "--json")
        j, by = checks(r)
        assert r.returncode == 1 and j["ok"] is False, r.stdout
        assert by["udp_port"]["status"] == "fail" and "taken by another program" in by["udp_port"]["message"]
        assert "udp_port =" in by["udp_port"]["remedy"] and "ss -ulpn" in by["udp_port"]["remedy"]
        assert by["tcp_port"]["status"] == "fail" and "tcp_port =" in by["tcp_port"]["remedy"]
        assert by["udp_path"]["status"] == "skip"  # no listener of ours
        r = doctor(a)
        assert r.returncode == 1 and "[FAIL] udp_port: UDP port %d is taken" % a.udp_port in r.stdout
        assert "    fix: stop that program" in r.stdout
    finally:
        udp.close()
        tcp.close()


def test_a_peer_with_another_key_is_named(swarm, tmp_path):
    key, other = key_file(tmp_path, "key"), key_file(tmp_path, "other")
    a, m = swarm.peer("a"), swarm.peer("mallory")
    write_conf(a, key)
    a.start("listener", "server", "announcer", extra=["--key-file", key])
    m.start("announcer", extra=["--key-file", other])
    lstatus = a.dir / "run" / "listener.status"
    wait_until(lambda: lstatus.exists() and json.loads(lstatus.read_text())["rejected_key"] > 0, 5,
               "a's listener to count mallory's datagrams")
    r = doctor(a, "--json")
    j, by = checks(r)
    assert r.returncode == 1, r.stdout
    assert by["key"]["status"] == "fail" and "mallory" in by["key"]["message"], by["key"]
    assert "key_file" in by["key"]["remedy"]
    assert by["udp_path"]["status"] == "ok"  # a's own sealed query gets through


def test_help_lists_doctor_and_its_statuses():
    r = subprocess.run([LANSWARM, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "doctor [--json]" in r.stdout
    r = subprocess.run([LANSWARM, "doctor", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("Usage: lanswarm doctor")
    for word in CHECKS + ["ok", "warn", "fail", "skip", "Exit status"]:
        assert word in r.stdout, word


def test_what_peers_txt_tells(swarm):
    """From peers.txt alone (no daemon running): a peer heard only through a
    tracker (isolation: a warning), its server unreachable, its clock an hour
    ahead. Connects only to 127.0.0.1."""
    import time
    from conftest import free_port
    a = swarm.peer("a")
    write_conf(a)
    now, closed = int(time.time()), free_port()
    (a.dir / "peers.txt").write_text(
        "# lanswarm peers v1: tag\taddress:port\thow\tfirst_seen\tlast_seen\tinterval\tfiles\tdigest\n"
        "far\t127.0.0.1:%d\ttracker\t%d\t%d\t1\t0\t-\n" % (closed, now - 60, now + 3600))
    r = doctor(a, "--json")
    j, by = checks(r)
    assert r.returncode == 1, r.stdout
    assert by["isolation"]["status"] == "warn" and "far (127.0.0.1:%d)" % closed in by["isolation"]["message"]
    assert by["tcp_peers"]["status"] == "fail" and "far (127.0.0.1:%d): Connection refused" % closed in \
        by["tcp_peers"]["message"]
    assert by["clock"]["status"] == "fail" and "far (" in by["clock"]["message"], by["clock"]
    assert "timedatectl" in by["clock"]["remedy"]
    assert by["udp_path"]["status"] == "skip" and by["key"]["status"] == "skip"
    r = doctor(a)
    assert "[warn] isolation:" in r.stdout and "[FAIL] clock:" in r.stdout and "[skip] udp_path:" in r.stdout
