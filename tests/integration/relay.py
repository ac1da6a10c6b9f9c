"""A TCP relay on loopback between a client and a server, for looking at
what crosses the wire (without tcpdump) and for changing one byte of it.

Each accepted connection is relayed to the target; the bytes each way are
kept (up to `keep` bytes per direction) so a test can assert that a
plaintext marker never crossed. With flip_at=N, the Nth byte the server sends
(counted over the first connection only) is changed on the way."""
import socket
import threading


class Relay:
    def __init__(self, target_port, flip_at=None, keep=64 << 20):
        self.target_port = target_port
        self.flip_at = flip_at
        self.keep = keep
        self.from_server = bytearray()
        self.from_client = bytearray()
        self.connections = 0
        self.flipped = False
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                c.close()
                continue
            s.settimeout(None)
            with self.lock:
                self.connections += 1
                first = self.connections == 1
            threading.Thread(target=self._pump, args=(c, s, self.from_client, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, self.from_server, first), daemon=True).start()

    def _pump(self, src, dst, seen, flip):
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if flip and self.flip_at is not None and sent <= self.flip_at < sent + len(data):
                    data = bytearray(data)
                    data[self.flip_at - sent] ^= 0x20
                    self.flipped = True
                sent += len(data)
                with self.lock:
                    if len(seen) < self.keep:
                        seen += data[: self.keep - len(seen)]
                dst.sendall(data)
        except OSError:
            pass
        for sk in (src, dst):
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sk.close()

    def close(self):
        self.closed = True
        self.sock.close()
