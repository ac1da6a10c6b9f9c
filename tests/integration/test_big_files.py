"""Files of any size: past the chunk limit the chunk size grows (PROTOCOL.md,
section 2), and a file that cannot be shared is logged with the reason.

The limit is lowered (--max-chunks 16 at --chunk-size 1K) so that a file of
1 MiB stands for one of more than 128 GiB, and "too big even at 16 MiB
chunks" is a sparse file of 2 TiB + 1 byte: refused by its size, never read.
"""
import os

from conftest import make_file, sha256_file, wait_until

SPARSE_TOO_BIG = 131072 * 16 * 1024 * 1024 + 1  # 2 TiB + 1: over the limit at the default too


def test_big_file_gets_bigger_chunks_and_downloads(swarm):
    s = swarm.peer("seeder")
    big = make_file(s.share / "big.bin", 1024 * 1024 + 5, seed=3)   # 9 chunks of 128 KiB
    small = make_file(s.share / "small.bin", 10 * 1024, seed=4)    # 10 chunks of 1 KiB, as always
    with open(s.share / "disk.img", "wb") as f:
        f.truncate(SPARSE_TOO_BIG)
    (s.share / "bad\x01name").write_bytes(b"x")
    s.start("server", "announcer", extra=["--chunk-size", "1K", "--max-chunks", "16"])

    # A peer with the defaults (what every peer of today runs) sees both
    # files, each with the chunk size its manifest carries, and not the others.
    d = swarm.peer("fetcher")
    d.start("listener")
    wait_until(lambda: {"big.bin", "small.bin"} <= d.names_from("seeder"), 10, "the seeder's files in tags.txt")
    rows = {r["name"]: r for r in d.tags() if r["tag"] == "seeder"}
    assert set(rows) == {"big.bin", "small.bin"}
    assert rows["big.bin"]["chunk"] == 128 * 1024
    assert rows["small.bin"]["chunk"] == 1024

    r = d.download("big.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "big.bin") == sha256_file(big)
    (line,) = d.client_log()
    assert line["result"] == "ok" and int(line["fetched"]) == os.path.getsize(big)
    r = d.download("small.bin")
    assert r.returncode == 0, r.stderr
    assert sha256_file(d.dir / "downloads" / "small.bin") == sha256_file(small)

    # Both daemons that scan the share said what they did not share, and why.
    for daemon in ("server", "announcer"):
        def told():
            out = s.procs[daemon].output()
            return ("disk.img: too big for the chunk limit even at 16 MiB chunks" in out
                    and "bad?name: its name is not a valid file name" in out)
        wait_until(told, 10, "the %s to log what it does not share" % daemon)
        assert s.procs[daemon].output().count("not shared: ") == 2, s.procs[daemon].output()
