"""Attackers of a lanswarm server on loopback, for bench/hostile.sh (the
clients of tests/integration/test_hostile.py, kept going): MODE PORT ROOT
CHUNKS SECONDS. Prints "ready" once the attack is in place, keeps it up
(reopening what the server closes) until SIGTERM or SECONDS have passed, then
prints what it did to stderr. Every count is bounded; loopback only.

  nonread   2 connections from 127.0.0.2, each pipelining chunk requests
            (16 at first, one more every 0.2 s) and never reading
  idle      300 connections from 127.0.0.2-11 (30 each), each sending a HAVE
            every 2 s, reading the answers (valid, idle, holding slots)
  churn     32 connections from 127.0.0.2 pipelining 16 chunk requests each
            and closing 20 ms later with the replies in flight, again every
            50 ms
  slowloris 20 connections from 127.0.0.2 sending one byte each every 1 s
"""
import resource
import signal
import socket
import struct
import sys
import time


def request(typ, rid, root, index=None):
    payload = root + (struct.pack(">I", index) if index is not None else b"")
    return struct.pack(">IBBI", 6 + len(payload), 1, typ, rid) + payload


class Attack:
    def __init__(self, port, root, chunks):
        self.port, self.root, self.chunks = port, root, chunks
        self.opened = self.lost = self.refused = 0
        self.rid = 0

    def connect(self, addr, rcvbuf=None):
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((addr, 0))
        s.settimeout(3)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.refused += 1
            return None
        s.setblocking(False)
        self.opened += 1
        return s

    def chunk_requests(self, n):
        out = []
        for _ in range(n):
            self.rid += 1
            out.append(request(0x02, self.rid, self.root, self.rid % self.chunks))
        return b"".join(out)

    def send(self, s, data):
        """False if the server has closed s (then s is closed here)."""
        try:
            s.send(data)
            return True
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            s.close()
            self.lost += 1
            return False

    def keep(self, conns, addrs, data, make):
        """One round: data to every connection; a closed one is opened again (make(addr))."""
        for i, s in enumerate(conns):
            if s is None or not self.send(s, data()):
                conns[i] = make(addrs[i])

    def nonread(self, until, ready):
        make = lambda a: self.first(self.connect(a, rcvbuf=4096), lambda: self.chunk_requests(16))
        addrs = ["127.0.0.2"] * 2
        conns = [make(a) for a in addrs]
        time.sleep(0.5)  # their requests are queued first
        ready()
        while time.monotonic() < until:
            self.keep(conns, addrs, lambda: self.chunk_requests(1), make)
            time.sleep(0.2)

    def first(self, s, data):
        if s is not None:
            self.send(s, data())
        return s

    def idle(self, until, ready):
        addrs = ["127.0.0.%d" % (2 + i % 10) for i in range(300)]
        conns = [self.connect(a) for a in addrs]
        have = lambda: request(0x03, 1, self.root)
        self.keep(conns, addrs, have, self.connect)
        ready()
        while time.monotonic() < until:
            time.sleep(2)
            self.drain_all(conns)
            self.keep(conns, addrs, have, self.connect)

    def drain_all(self, conns):
        for i, s in enumerate(conns):
            if s is None:
                continue
            try:
                while True:
                    got = s.recv(65536)
                    if not got:
                        raise ConnectionResetError
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                s.close()
                conns[i] = None
                self.lost += 1

    def churn(self, until, ready):
        ready()
        while time.monotonic() < until:
            conns = [self.connect("127.0.0.2") for _ in range(32)]
            for s in conns:
                if s is not None:
                    self.send(s, self.chunk_requests(16))
            time.sleep(0.02)
            for s in conns:
                if s is not None:
                    s.close()
            time.sleep(0.05)

    def slowloris(self, until, ready):
        addrs = ["127.0.0.2"] * 20
        conns = [self.connect(a) for a in addrs]
        ready()
        while time.monotonic() < until:
            self.keep(conns, addrs, lambda: b"\x00", self.connect)
            time.sleep(1)


def main():
    mode, port, root, chunks, seconds = sys.argv[1:6]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    a = Attack(int(port), bytes.fromhex(root), int(chunks))
    start = time.monotonic()
    until = start + float(seconds)

    def ready():
        print("ready", flush=True)
    try:
        getattr(a, mode)(until, ready)
    finally:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        print("%s: %d connections opened, %d closed by the server, %d refused; attacker CPU %.2f s in %.1f s" % (
            mode, a.opened, a.lost, a.refused, ru.ru_utime + ru.ru_stime, time.monotonic() - start),
            file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
