"""A chunk server written from docs/PROTOCOL.md alone, with ways to misbehave.

Used by the tests to play hostile or broken peers: corrupt chunks, a manifest
that does not hash to its root, a reply claiming a 1 TB chunk, silence.
"""
import hashlib
import os
import socket
import struct
import threading
import time

VERSION = 1
MANIFEST_REQ, CHUNK_REQ, HAVE_REQ = 0x01, 0x02, 0x03
MANIFEST_REP, CHUNK_REP, HAVE_REP, ERROR = 0x81, 0x82, 0x83, 0xFF


def manifest_bytes(data, chunk):
    hashes = [hashlib.sha256(data[i:i + chunk]).digest() for i in range(0, len(data), chunk)]
    return b"LSM1" + struct.pack(">QII", len(data), chunk, len(hashes)) + b"".join(hashes)


def root_of(data, chunk):
    return hashlib.sha256(manifest_bytes(data, chunk)).hexdigest()


def frame(typ, rid, payload):
    return struct.pack(">IBBI", 6 + len(payload), VERSION, typ, rid) + payload


class FakePeer:
    """mode: honest, corrupt (each chunk's first byte), corrupttail (its last),
    badmanifest, hugechunk, silent, stallmid (3/4 of a chunk reply, then
    nothing); delay: seconds before each chunk reply. It
    speaks no TLS: with a network key, the downloader meets it as a server
    without one."""

    def __init__(self, data, chunk, mode="honest", delay=0):
        self.data, self.chunk, self.mode, self.delay = data, chunk, mode, delay
        self.manifest = manifest_bytes(data, chunk)
        self.root = hashlib.sha256(self.manifest).digest()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopped = True
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _recv(self, conn, n):
        buf = b""
        while len(buf) < n:
            part = conn.recv(n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return buf

    def _serve(self, conn):
        try:
            while True:
                length, ver, typ, rid = struct.unpack(">IBBI", self._recv(conn, 10))
                payload = self._recv(conn, length - 6)
                self.requests += 1
                if self.mode == "silent":
                    continue
                if typ == MANIFEST_REQ:
                    m = self.manifest
                    if self.mode == "badmanifest":
                        m = m[:-1] + bytes([m[-1] ^ 1])
                    conn.sendall(frame(MANIFEST_REP, rid, m))
                elif typ == CHUNK_REQ:
                    time.sleep(self.delay)
                    index = struct.unpack(">I", payload[32:36])[0]
                    body = self.data[index * self.chunk:(index + 1) * self.chunk]
                    if self.mode == "corrupt":
                        body = bytes([body[0] ^ 0xFF]) + body[1:]
                    if self.mode == "corrupttail":  # found only once the whole chunk is in
                        body = body[:-1] + bytes([body[-1] ^ 0xFF])
                    if self.mode == "hugechunk":
                        conn.sendall(struct.pack(">IBBI", 0xFFFFFFF0, VERSION, CHUNK_REP, rid) + b"\0" * 64)
                        continue
                    reply = frame(CHUNK_REP, rid, struct.pack(">I", index) + body)
                    if self.mode == "stallmid":
                        conn.sendall(reply[:len(reply) * 3 // 4])
                        self.mode = "silent"
                        continue
                    conn.sendall(reply)
                elif typ == HAVE_REQ:
                    n = len(self.manifest[20:]) // 32
                    conn.sendall(frame(HAVE_REP, rid, struct.pack(">I", n) + b"\xff" * ((n + 7) // 8)))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()


def tags_line(tag, port, data, chunk, name, complete=True):
    return "%s\t127.0.0.1:%d\t%s\t%d\t%d\t%s\t%d\t%s\n" % (
        tag, port, root_of(data, chunk), len(data), chunk, "complete" if complete else "partial", int(time.time()), name)
