"""Helpers for the integration tests: real lanswarm programs on loopback.

Every test gets its own folders (pytest's tmp_path) and its own ports, picked
by binding port 0, so tests may run side by side. Nothing is sent anywhere but
127.0.0.1 and the loopback broadcast address 127.255.255.255.
"""
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time

import pytest

BIN = os.environ.get("LANSWARM_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "bin"))
BROADCAST = "127.255.255.255"
# Under valgrind (make integration-valgrind) programs run 20-50 times slower,
# under ASan + UBSan (make test SAN=1: build/san/bin) 2-3 times: every deadline
# and time bound of the tests stretches by this factor. Bounds that prove a
# rule (an expiry after 3 intervals, not 2 or 4) are exact in the plain pass.
VALGRIND = bool(os.environ.get("LANSWARM_VALGRIND"))
SAN = "/san/" in BIN or bool(os.environ.get("LANSWARM_SAN"))
SLOW = 6.0 if VALGRIND else 2.5 if SAN else 1.0


# In CI (CI=true, as CI sets it) a test that cannot run for want of a tool,
# root or a kernel feature fails instead of skipping: a green run there means
# every test ran. Skips that depend on the pass (ASan, valgrind) stay skips.
STRICT_SKIPS = os.environ.get("CI") == "true" or os.environ.get("LANSWARM_STRICT_SKIPS") == "1"


def skip_unless_able(reason):
    """Skips for want of a capability; in CI, fails with the same reason."""
    if STRICT_SKIPS:
        pytest.fail("cannot run here, and CI must run every test: " + reason)
    pytest.skip(reason)


def prog(name):
    return os.path.join(BIN, "lanswarm-" + name)


# Ports for the daemons come from below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range starts at 32768), so that no outgoing
# connection of this or another test can be holding the port a server is
# about to bind; a random pick with a bind check keeps parallel runs apart.
_PORT_LOW, _PORT_HIGH = 20000, 32767
_ports = __import__("random").Random(os.getpid() ^ int(time.time() * 1000))


def free_port(kind=socket.SOCK_STREAM):
    for _ in range(200):
        port = _ports.randint(_PORT_LOW, _PORT_HIGH)
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port in %d-%d" % (_PORT_LOW, _PORT_HIGH))


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it is true; fails with `what` after timeout seconds."""
    timeout *= SLOW
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_tags(path):
    """tags.txt as a list of dicts (docs/PROTOCOL.md)."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                tag, addr, root, size, chunk, state, seen, name = line.rstrip("\n").split("\t", 7)
                rows.append(dict(tag=tag, addr=addr, root=root, size=int(size), chunk=int(chunk),
                                 state=state, seen=int(seen), name=name))
    except FileNotFoundError:
        pass
    return rows


class Proc:
    def __init__(self, args, log_path, stdin=False):
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        # Set when the test stops the program or expects it to end by itself
        # with a status it checks; any other exit is a crash (Swarm.close).
        self.stopped = False

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.p.poll() is None

    def wait_exit(self, timeout):
        """Waits for a program the test expects to end by itself; its status."""
        self.stopped = True
        return self.p.wait(timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10 * SLOW):
        self.stopped = True
        if self.p.poll() is None:
            self.p.send_signal(sig)
        if self.p.stdin:
            try:
                self.p.stdin.close()
            except OSError:
                pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
            raise AssertionError("%s did not stop on signal %d:\n%s" % (self.args[0], sig, self.output()))
        self.log.close()
        return rc


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Peer:
    """One peer's folder and daemons."""

    def __init__(self, swarm, tag, interval=1):
        self.swarm = swarm
        self.tag = tag
        self.dir = swarm.tmp / tag
        self.share = self.dir / "share"
        self.share.mkdir(parents=True)
        self.tcp_port = free_port()
        self.interval = interval
        self.udp_port = None   # the swarm's, unless a test isolates this peer
        self.procs = {}

    def common(self):
        return ["--dir", str(self.dir), "--tag", self.tag, "--udp-port", str(self.udp_port or self.swarm.udp_port),
                "--port", str(self.tcp_port), "--interval", str(self.interval), "--broadcast", BROADCAST,
                "--stall-timeout", str(int(3 * SLOW))]

    def start(self, *daemons, extra=(), stdin=False):
        for d in daemons:
            args = [prog(d)] + self.common() + list(extra)
            self.procs[d] = Proc(args, str(self.dir / ("%s.out" % d)), stdin=stdin)
            self.swarm.all.append(self.procs[d])
        if "server" in daemons:
            wait_until(lambda: self._port_open(), 10, "%s's server to listen" % self.tag)
        return self

    def _port_open(self):
        try:
            socket.create_connection(("127.0.0.1", self.tcp_port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self, daemon, sig=signal.SIGTERM):
        return self.procs[daemon].stop(sig)

    def tags(self):
        return read_tags(self.dir / "tags.txt")

    def names_from(self, tag):
        return {r["name"] for r in self.tags() if r["tag"] == tag}

    def download(self, name, *extra, timeout=60 * SLOW):
        args = [prog("downloader")] + self.common() + list(extra) + [name]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def have_file(self):
        """The .have map of the download in progress in temp/, or None."""
        try:
            names = [f for f in os.listdir(self.dir / "temp") if f.endswith(".have")]
        except FileNotFoundError:
            return None
        return self.dir / "temp" / names[0] if names else None

    def chunks_held(self):
        h = self.have_file()
        return h.read_bytes().count(b"\x01") if h else 0

    def start_web(self, *extra):
        """lanswarm-web on a free port; returns a Web client for its API."""
        port = free_port()
        args = [prog("web")] + self.common() + ["--web-port", str(port)] + list(extra)
        self.procs["web"] = Proc(args, str(self.dir / "web.out"))
        self.swarm.all.append(self.procs["web"])
        url_file = self.dir / "web.url"
        wait_until(lambda: url_file.exists() and _port_open(port), 10, "lanswarm-web to listen")
        url = url_file.read_text().strip()
        self.web = Web(port, url.split("#token=", 1)[1], url)
        return self.web

    def client_log(self):
        try:
            with open(self.dir / "client.log", encoding="utf-8") as f:
                return [parse_logfmt(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []


def parse_logfmt(line):
    """client.log / server.log lines: 'TIMESTAMP key=value key="quoted value" ...'."""
    out = {"time": line.split(" ", 1)[0]}
    rest = line.split(" ", 1)[1].strip()
    i = 0
    while i < len(rest):
        eq = rest.index("=", i)
        key = rest[i:eq].strip()
        j = eq + 1
        if rest[j] == '"':
            j += 1
            val = []
            while rest[j] != '"':
                if rest[j] == "\\":
                    j += 1
                val.append(rest[j])
                j += 1
            value = "".join(val)
            j += 1
        else:
            k = rest.find(" ", j)
            k = len(rest) if k < 0 else k
            value = rest[j:k]
            j = k
        out[key] = value
        i = j + 1
    return out


class Web:
    """A client of lanswarm-web's JSON API (docs/WEB.md)."""

    def __init__(self, port, token, url):
        self.port = port
        self.token = token
        self.url = url

    def request(self, method, path, body=None, headers=None, token=True, raw=None):
        """(status, parsed JSON or text). body: an object sent as JSON; raw: bytes as they are."""
        h = {"Host": "127.0.0.1:%d" % self.port}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10 * SLOW)
        try:
            try:
                c.request(method, path, body=data, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the whole body was sent: the answer is waiting
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
        finally:
            c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text

    def get(self, section):
        status, j = self.request("GET", "/api/" + section)
        assert status == 200, (section, status, j)
        return j

    def post(self, path, body):
        return self.request("POST", "/api/" + path, body)


class Swarm:
    def __init__(self, tmp):
        self.tmp = tmp
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.all = []
        self.peers = {}

    def tracker(self, *extra):
        """A tracker on a free port, its admin shell on a pipe."""
        port = free_port()
        args = [prog("tracker"), "--port", str(port), "--ping-interval", "1", "--listen-addr", "127.0.0.1"] + list(extra)
        proc = Proc(args, str(self.tmp / ("tracker-%d.out" % port)), stdin=True)
        self.all.append(proc)
        wait_until(lambda: _port_open(port), 5, "the tracker to listen")
        proc.port = port
        return proc

    def peer(self, tag, **kw):
        p = Peer(self, tag, **kw)
        self.peers[tag] = p
        return p

    def close(self):
        problems = []
        for proc in self.all:
            if proc.alive():
                rc = proc.stop()
                # A daemon asked to stop must exit 0: sanitizer reports make it fail.
                if rc != 0:
                    problems.append("%s exited %d:\n%s" % (proc.args[0], rc, proc.output()[-3000:]))
            else:
                proc.log.close()
                rc = proc.p.poll()
                # Nobody stopped it and nobody expected it to end: a plain-build
                # segfault or an exit on an error is a failure too.
                if not proc.stopped and rc != 0:
                    problems.append("%s exited %d by itself:\n%s" % (proc.args[0], rc, proc.output()[-3000:]))
            out = proc.output()
            if "Sanitizer" in out or "runtime error:" in out:
                problems.append("%s reported:\n%s" % (proc.args[0], out[-3000:]))
        assert not problems, "\n".join(problems)


@pytest.fixture
def swarm(tmp_path):
    s = Swarm(tmp_path)
    yield s
    s.close()


def make_file(path, size, seed=0):
    """Deterministic content of `size` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(b"%d" % seed).digest() * 32768  # 1 MiB
    with open(path, "wb") as f:
        left = size
        n = 0
        while left > 0:
            chunk = hashlib.sha256(b"%d-%d" % (seed, n)).digest() + block[: min(left, len(block)) - 32]
            chunk = chunk[:left]
            f.write(chunk)
            left -= len(chunk)
            n += 1
    return path
