"""lanswarm-web's JSON API with real peers on loopback (docs/WEB.md)."""
import http.client
import json
import os
import subprocess

from conftest import SLOW, make_file, prog, sha256_file, wait_until

CHUNK = "64K"


def seeders(swarm, tags, files, rate=None):
    """Peers sharing files {name: (size, seed)}; returns the peers."""
    out = []
    for tag in tags:
        p = swarm.peer(tag)
        for name, (size, seed) in files.items():
            make_file(p.share / name, size, seed=seed)
        extra = ["--chunk-size", CHUNK] + (["--rate-limit", rate] if rate else [])
        p.start("server", "announcer", extra=extra)
        out.append(p)
    return out


def dashboard(swarm, tag="me"):
    """A peer with its listener, server and dashboard."""
    me = swarm.peer(tag)
    me.start("listener", "server", extra=["--chunk-size", CHUNK])
    me.start_web()
    return me


def job(web, job_id):
    t = web.get("transfers")
    for j in t["active"] + t["recent"]:
        if j["id"] == job_id:
            return j
    return None


def test_peers_files_and_a_download(swarm):
    # 2 x 1 MB/s for 3 MiB: about 1.5 s, several progress events (every 250 ms) to see.
    seeders(swarm, ["b", "c"], {"clip.bin": (3 * 1024 * 1024 + 77, 1), "notes.txt": (1000, 2)}, rate="1M")
    me = dashboard(swarm)
    web = me.web
    wait_until(lambda: {"b", "c"} <= {p["tag"] for p in web.get("peers")["peers"]}, 10, "peers b and c")
    peers = {p["tag"]: p for p in web.get("peers")["peers"]}
    assert peers["b"]["files"] == 2 and peers["b"]["bytes"] == 3 * 1024 * 1024 + 77 + 1000
    assert peers["b"]["state"] == "live" and not peers["b"]["self"]
    files = {f["name"]: f for f in web.get("files")["files"]}
    assert set(files) == {"clip.bin", "notes.txt"}
    clip = files["clip.bin"]
    assert sorted(h["tag"] for h in clip["holders"]) == ["b", "c"] and clip["complete_holders"] == 2
    assert clip["mine"] is None and len(clip["root"]) == 64

    status, r = web.post("downloads", {"name": "clip.bin", "root": clip["root"]})
    assert status == 202, r
    # A second download of the same name while the first runs is refused.
    status, again = web.post("downloads", {"name": "clip.bin"})
    assert status == 409, again
    seen = []

    def finished():
        j = job(web, r["id"])
        if j and j["state"] == "running" and j["total"]:
            seen.append(j["done"])
        return j if j and j["state"] != "running" else None

    j = wait_until(finished, 30, "the download to end", interval=0.1)
    assert j["state"] == "done" and j["result"] == "ok", j
    assert any(0 < d < j["total"] for d in seen), "no progress seen in between: %r" % seen
    src = swarm.peers["b"].share / "clip.bin"
    assert sha256_file(me.dir / "downloads" / "clip.bin") == sha256_file(src)
    (line,) = me.client_log()
    assert line["result"] == "ok" and line["name"] == "clip.bin"
    hist = wait_until(lambda: web.get("transfers")["history"], 5, "the history")
    assert hist[0]["name"] == "clip.bin" and hist[0]["result"] == "ok" and hist[0]["size"] == os.path.getsize(src)
    assert {p["tag"] for p in hist[0]["peers"]} == {"b", "c"}
    # The file is now this peer's: in its share list and marked in the files list.
    wait_until(lambda: any(f["name"] == "clip.bin" and f["source"] == "downloads" for f in web.get("share")["files"]),
               10, "the download in the share list")
    wait_until(lambda: {f["name"]: f["mine"] for f in web.get("files")["files"]}.get("clip.bin") == "downloads", 10,
               "clip.bin marked as downloaded")
    # Once it is in downloads/, another download of it is refused, not overwritten.
    status, r2 = web.post("downloads", {"name": "clip.bin"})
    assert status == 409 and "exists" in r2["error"]


def test_event_stream_carries_progress(swarm):
    seeders(swarm, ["b"], {"big.bin": (4 * 1024 * 1024, 3)}, rate="2M")
    me = dashboard(swarm)
    web = me.web
    wait_until(lambda: web.get("files")["files"], 10, "the file to be known")
    c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10 * SLOW)
    c.request("GET", "/api/events?token=" + web.token, headers={"Host": "127.0.0.1:%d" % web.port})
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
    status, _ = web.post("downloads", {"name": "big.bin"})
    assert status == 202
    progress, event = [], None
    for raw in r:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "transfers":
            t = json.loads(line[6:])
            for j in t["active"]:
                progress.append(j["done"])
            if any(j["state"] == "done" for j in t["recent"]):
                break
    c.close()
    assert len({d for d in progress if 0 < d < 4 * 1024 * 1024}) >= 2, progress
    assert progress == sorted(progress)


def test_cancel_keeps_the_partial_and_a_new_download_resumes(swarm):
    seeders(swarm, ["b"], {"slow.bin": (6 * 1024 * 1024, 4)}, rate="1M")
    me = dashboard(swarm)
    web = me.web
    wait_until(lambda: web.get("files")["files"], 10, "the file to be known")
    status, r = web.post("downloads", {"name": "slow.bin"})
    assert status == 202
    wait_until(lambda: (job(web, r["id"]) or {}).get("done", 0) > 0, 15, "some progress")
    status, c = web.post("downloads/%d/cancel" % r["id"], {})
    assert status == 202, c
    j = wait_until(lambda: (lambda j: j if j["state"] != "running" else None)(job(web, r["id"])), 15, "the cancel")
    assert j["state"] == "cancelled", j
    assert any(n.endswith(".part") for n in os.listdir(me.dir / "temp"))
    assert not (me.dir / "downloads" / "slow.bin").exists()
    status, c = web.post("downloads/%d/cancel" % r["id"], {})
    assert status == 409
    status, r2 = web.post("downloads", {"name": "slow.bin"})
    assert status == 202
    j2 = wait_until(lambda: (lambda j: j if j["state"] != "running" else None)(job(web, r2["id"])), 30, "the resume")
    assert j2["state"] == "done", j2
    log = me.client_log()
    assert [l["result"] for l in log] == ["interrupted", "ok"]
    assert int(log[1]["resumed"]) > 0
    assert sha256_file(me.dir / "downloads" / "slow.bin") == sha256_file(swarm.peers["b"].share / "slow.bin")


def test_share_add_and_remove(swarm, tmp_path):
    me = swarm.peer("me")
    me.start("listener", "announcer")
    web = me.start_web()
    outside = tmp_path / "outside"
    src = make_file(outside / "report.pdf", 200000, seed=5) or outside / "report.pdf"
    status, r = web.post("share", {"path": str(src), "name": "docs/report.pdf"})
    assert status == 201, r
    assert sha256_file(me.share / "docs" / "report.pdf") == sha256_file(src)
    wait_until(lambda: [f for f in web.get("share")["files"] if f["name"] == "docs/report.pdf"], 10, "the share list")
    # ... and it is announced: this peer's own listener hears it.
    wait_until(lambda: "docs/report.pdf" in me.names_from("me"), 10, "the announcement")
    # Nothing in the share is replaced.
    status, r = web.post("share", {"path": str(src), "name": "docs/report.pdf"})
    assert status == 409, r
    # Only regular files, by absolute path; names as strict as the share's.
    os.symlink(src, outside / "link.pdf")
    for body, code in [({"path": str(outside / "link.pdf"), "name": "l.pdf"}, 400),
                       ({"path": str(outside), "name": "dir"}, 400),
                       ({"path": "/dev/null", "name": "null"}, 400),
                       ({"path": "report.pdf", "name": "rel"}, 400),
                       ({"path": str(outside / "missing"), "name": "m"}, 400),
                       ({"path": str(src), "name": "../escape.pdf"}, 400),
                       ({"path": str(src), "name": "/abs.pdf"}, 400),
                       ({"path": str(src), "name": "a/./b"}, 400),
                       ({"path": str(src), "name": "x.tmp.1"}, 400),
                       ({"path": str(src)}, 400),
                       ({"name": "n"}, 400)]:
        status, r = web.post("share", body)
        assert status == code, (body, status, r)
    assert sorted(str(p.relative_to(me.share)) for p in me.share.rglob("*")) == ["docs", "docs/report.pdf"]
    assert not (me.dir / "escape.pdf").exists()
    # Remove: out of the share, into unshared/, never deleted.
    status, r = web.post("share/remove", {"name": "docs/report.pdf"})
    assert status == 200, r
    assert r["moved_to"].endswith("unshared/docs/report.pdf")
    assert sha256_file(me.dir / "unshared" / "docs" / "report.pdf") == sha256_file(src)
    assert src.exists() and not (me.share / "docs" / "report.pdf").exists()
    wait_until(lambda: not [f for f in web.get("share")["files"] if f["name"] == "docs/report.pdf"], 10,
               "the file to leave the share list")
    status, r = web.post("share/remove", {"name": "docs/report.pdf"})
    assert status == 404
    status, r = web.post("share/remove", {"name": "../tags.txt"})
    assert status == 400


def test_hostile_requests_get_clear_errors_and_change_nothing(swarm, tmp_path):
    seeders(swarm, ["b"], {"f.bin": (100000, 6)})
    me = dashboard(swarm)
    web = me.web
    wait_until(lambda: web.get("files")["files"], 10, "the file to be known")
    good = {"name": "f.bin"}
    cases = [
        ("GET", "/nope", None, {}, True, 404),
        ("GET", "/api/nope", None, {}, True, 404),
        ("GET", "/api/../../etc/passwd", None, {}, True, 404),
        ("DELETE", "/api/peers", None, {}, True, 405),
        ("POST", "/api/peers", good, {}, True, 405),
        ("GET", "/api/downloads", None, {}, True, 405),
        ("PUT", "/", None, {}, True, 405),
        ("GET", "/api/peers", None, {}, False, 401),
        ("GET", "/api/peers", None, {}, "x" * 40, 403),
        ("GET", "/api/events?token=wrong", None, {}, False, 403),
        ("POST", "/api/downloads", good, {}, False, 401),
        ("POST", "/api/downloads", good, {}, "y" * 40, 403),
        # the token only in the query is not enough to change something
        ("POST", "/api/downloads?token=" + web.token, good, {}, False, 401),
        ("POST", "/api/downloads", good, {"Origin": "http://evil.example"}, True, 403),
        ("POST", "/api/downloads", good, {"Sec-Fetch-Site": "cross-site"}, True, 403),
        ("POST", "/api/downloads", good, {"Host": "evil.example:%d" % web.port}, True, 403),
        ("GET", "/", None, {"Host": "rebound.example:%d" % web.port}, True, 403),
        ("POST", "/api/downloads", good, {"Content-Type": "text/plain"}, True, 415),
        ("POST", "/api/downloads", {"name": "../../etc/passwd"}, {}, True, 400),
        ("POST", "/api/downloads", {"name": "/etc/passwd"}, {}, True, 400),
        ("POST", "/api/downloads", {"name": "f.bin", "root": "zz"}, {}, True, 400),
        ("POST", "/api/downloads", {"name": 7}, {}, True, 400),
        ("POST", "/api/downloads", {"name": "not-announced.bin"}, {}, True, 404),
        ("POST", "/api/downloads/0/cancel", {}, {}, True, 404),
        ("POST", "/api/downloads/-1/cancel", {}, {}, True, 404),
        ("POST", "/api/downloads/999/cancel", {}, {}, True, 404),
    ]
    for method, path, body, headers, token, code in cases:
        status, r = web.request(method, path, body, headers, token)
        assert status == code, (method, path, headers, status, r)
        assert isinstance(r, dict) and r.get("error"), (path, r)
    for raw, headers in [(b"[1,2]", {}), (b"{", {}), (b"", {}), (b"\xff\xfe", {})]:
        h = {"Content-Type": "application/json"}
        h.update(headers)
        status, r = web.request("POST", "/api/downloads", raw=raw, headers=h)
        assert status == 400, (raw, status, r)
    # Oversized bodies: by Content-Length, and chunked with no length.
    big = b'{"name":"' + b"a" * (1 << 20) + b'"}'
    status, r = web.request("POST", "/api/share", raw=big, headers={"Content-Type": "application/json"})
    assert status == 413, r
    c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10 * SLOW)
    c.putrequest("POST", "/api/share", skip_host=True)
    for k, v in {"Host": "127.0.0.1:%d" % web.port, "Authorization": "Bearer " + web.token,
                 "Content-Type": "application/json", "Transfer-Encoding": "chunked"}.items():
        c.putheader(k, v)
    c.endheaders()
    try:
        for _ in range(40):
            c.send(b"1000\r\n" + b"a" * 4096 + b"\r\n")
        c.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may answer and close early
    r = c.getresponse()
    assert r.status == 413
    c.close()
    # Nothing changed; the dashboard still answers.
    assert web.get("transfers")["active"] == [] and web.get("transfers")["recent"] == []
    assert os.listdir(me.dir / "downloads") == [] and os.listdir(me.share) == []
    assert me.procs["web"].alive()
    assert web.get("status")["tag"] == "me"


def test_page_is_served_with_its_assets_and_headers(swarm):
    me = swarm.peer("me")
    web = me.start_web()
    for path, ctype in [("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css"),
                        ("/icon.svg", "image/svg+xml")]:
        c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
        c.request("GET", path, headers={"Host": "localhost:%d" % web.port})
        r = c.getresponse()
        body = r.read()
        assert r.status == 200 and r.getheader("Content-Type").startswith(ctype) and body, path
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        if path == "/":
            csp = r.getheader("Content-Security-Policy")
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
            # every asset is the program's own: no address of anywhere else
            assert b"http://" not in body and b"https://" not in body
        c.close()
    # web.url is private: it carries the token.
    assert oct(os.stat(me.dir / "web.url").st_mode & 0o777) == "0o600"


def test_off_loopback_needs_a_token_and_bad_options_exit_2(swarm, tmp_path):
    r = subprocess.run([prog("web"), "--dir", str(tmp_path), "--web-addr", "0.0.0.0"], capture_output=True, text=True,
                       timeout=10 * SLOW)
    assert r.returncode == 2 and "web_token" in r.stderr and r.stderr.count("\n") == 1
    for bad in (["--web-port", "70000"], ["--web-token", "short"], ["--web-addr", "nowhere"], ["extra"]):
        r = subprocess.run([prog("web"), "--dir", str(tmp_path)] + bad, capture_output=True, text=True,
                           timeout=10 * SLOW)
        assert r.returncode == 2 and r.stderr.startswith("lanswarm-web: "), (bad, r.stderr)
    r = subprocess.run([prog("web"), "--help"], capture_output=True, text=True, timeout=10 * SLOW)
    assert r.returncode == 0 and "--web-token" in r.stdout
    # A configured token is the token.
    me = swarm.peer("me")
    web = me.start_web("--web-token", "correct-horse-battery-staple")
    assert web.token == "correct-horse-battery-staple"
    assert web.request("GET", "/api/status")[0] == 200


def test_downloader_event_stream(swarm):
    seeders(swarm, ["b"], {"e.bin": (2 * 1024 * 1024, 8)}, rate="2M")
    me = swarm.peer("me")
    me.start("listener")
    wait_until(lambda: me.names_from("b"), 10, "the announcement")
    r = me.download("e.bin", "--events")
    assert r.returncode == 0, r.stderr
    events = [json.loads(l) for l in r.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["name"] == "e.bin" and events[0]["holders"] == ["b"]
    assert events[-1]["event"] == "end" and events[-1]["result"] == "ok"
    prog_ev = [e for e in events if e["event"] == "progress"]
    assert prog_ev and all(e["total"] == 2 * 1024 * 1024 for e in prog_ev)
    assert [e["done"] for e in prog_ev] == sorted(e["done"] for e in prog_ev)
    assert any(e["peers"] and e["peers"][0]["tag"] == "b" for e in prog_ev)
    # A download that cannot start still ends with an end event.
    r = me.download("missing.bin", "--events")
    assert r.returncode == 3
    (end,) = [json.loads(l) for l in r.stdout.splitlines()]
    assert end == {"event": "end", "name": "missing.bin", "result": "not-found", "message": "no peer in tags.txt has it"}


def test_server_section_shows_what_is_served(swarm):
    me = swarm.peer("me")
    src = make_file(me.share / "shared.iso", 3 * 1024 * 1024, seed=12)
    me.start("server", "announcer", extra=["--chunk-size", CHUNK, "--rate-limit", "1M"])
    # The dashboard reads the same chunk size (one lanswarm.conf in real use):
    # else its own scan could find another root for the file than the server's.
    web = me.start_web("--chunk-size", CHUNK)
    s = wait_until(lambda: (lambda s: s if s["running"] else None)(web.get("server")), 10, "the server to be seen")
    assert s["port"] == me.tcp_port
    before = s["totals"]["connections"]  # the test's own probe of the port counts as one
    other = swarm.peer("other")
    other.start("listener")
    wait_until(lambda: other.names_from("me"), 10, "the announcement")
    dl = subprocess.Popen([prog("downloader")] + other.common() + ["--quiet", "shared.iso"])
    try:
        now = wait_until(lambda: web.get("server")["connections_now"], 10, "the connection being served")
        assert now[0]["peer"].startswith("127.0.0.1:")
        wait_until(lambda: any(f.get("name") == "shared.iso" for c in web.get("server")["connections_now"]
                               for f in c["files"]), 10, "the file being served, by name")
        assert dl.wait(60 * SLOW) == 0
    finally:
        if dl.poll() is None:
            dl.kill()
    s = wait_until(lambda: (lambda s: s if s["totals"]["connections"] > before and not s["connections_now"] else None)(
        web.get("server")), 10, "server.log's line")
    assert s["totals"]["bytes"] >= os.path.getsize(src)
    assert s["top"][0]["name"] == "shared.iso" and s["top"][0]["connections"] >= 1
    assert sha256_file(other.dir / "downloads" / "shared.iso") == sha256_file(src)
    # A stopped server shows as stopped.
    me.stop("server")
    wait_until(lambda: not web.get("server")["running"], 10, "the server to show as stopped")


def test_stopping_the_dashboard_interrupts_its_downloads_cleanly(swarm):
    seeders(swarm, ["b"], {"long.bin": (6 * 1024 * 1024, 9)}, rate="1M")
    me = dashboard(swarm)
    web = me.web
    wait_until(lambda: web.get("files")["files"], 10, "the file to be known")
    status, r = web.post("downloads", {"name": "long.bin"})
    assert status == 202
    wait_until(lambda: (job(web, r["id"]) or {}).get("done", 0) > 0, 15, "some progress")
    assert me.stop("web") == 0  # SIGTERM: the download is interrupted first, then the daemon exits 0
    (line,) = me.client_log()
    assert line["result"] == "interrupted"
    assert any(n.endswith(".part") for n in os.listdir(me.dir / "temp"))
    assert "stopped" in me.procs["web"].output()
