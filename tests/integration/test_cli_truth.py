"""`lanswarm` telling the truth: paths, ports, errors and listings as a user
meets them (issue 14)."""
import json
import os
import subprocess

from conftest import SLOW, BIN

LANSWARM = os.path.join(BIN, "lanswarm")


def run(*args, **kw):
    return subprocess.run([LANSWARM] + list(args), capture_output=True, text=True, timeout=30 * SLOW, **kw)


def test_init_writes_absolute_paths_and_status_says_the_share_is_missing(tmp_path):
    (tmp_path / "here").mkdir()
    r = run("init", "p", cwd=str(tmp_path / "here"))
    assert r.returncode == 0, r.stderr
    d = tmp_path / "here" / "p"
    conf = (d / "lanswarm.conf").read_text()
    assert "dir = %s\n" % d in conf and "# share = %s/share\n" % d in conf
    assert "lanswarm --dir %s up" % d in r.stdout
    # From elsewhere, with only --config: the peer's folder is the one init made.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("--config", str(d / "lanswarm.conf"), "status", cwd=str(elsewhere))
    assert r.returncode == 0 and "sharing 0 file(s) from %s/share" % d in r.stdout, r.stdout
    os.rmdir(d / "share")
    r = run("--config", str(d / "lanswarm.conf"), "status", cwd=str(elsewhere))
    assert "the share folder %s/share does not exist" % d in r.stdout, r.stdout
    st = json.loads(run("--config", str(d / "lanswarm.conf"), "status", "--json").stdout)
    assert st["share_exists"] is False and st["share_dir"] == "%s/share" % d
