"""What the system administrator installs: man pages, systemd units, the .deb."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import BIN, skip_unless_able

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_man_pages_render_without_warnings():
    pages = sorted(glob.glob(os.path.join(ROOT, "man", "*.[15]")))
    programs = [os.path.basename(p) for p in glob.glob(os.path.join(BIN, "lanswarm*"))]
    # A page for every program, and one for the config file.
    assert {os.path.basename(p)[:-2] for p in pages} >= set(programs) | {"lanswarm.conf"}
    for page in pages:
        r = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", page], capture_output=True, text=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page], capture_output=True,
                           text=True, env=dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80"))
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)


def test_systemd_units_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        skip_unless_able("systemd-analyze is not installed (Debian package systemd)")
    # Units pointing at the binaries just built, so ExecStart= is checked too.
    subprocess.run(["make", "-s", "install", "PREFIX=/usr", "BINDIR=" + os.path.abspath(BIN), "DESTDIR=" + str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True)
    units = sorted(glob.glob(str(tmp_path / "lib" / "systemd" / "system" / "lanswarm*")))
    assert len(units) == 6
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
    text = open(str(tmp_path / "lib" / "systemd" / "system" / "lanswarm-server.service")).read()
    for hardening in ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/lanswarm",
                      "PrivateTmp=yes", "RestrictAddressFamilies=", "User=lanswarm"]:
        assert hardening in text
    # make install keeps an existing /etc config.
    conf = tmp_path / "etc" / "lanswarm" / "lanswarm.conf"
    conf.write_text("tag = mine\n")
    subprocess.run(["make", "-s", "install", "PREFIX=/usr", "DESTDIR=" + str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    assert conf.read_text() == "tag = mine\n"


def test_deb_installs_into_a_scratch_root(tmp_path):
    debs = sorted(glob.glob(os.path.join(ROOT, "build", "deb", "lanswarm_*.deb")))
    if not debs:
        skip_unless_able("no package built (make deb)")
    deb = debs[-1]
    r = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert not errors, r.stdout
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    r = subprocess.run([str(tmp_path / "usr" / "bin" / "lanswarm"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "Usage: lanswarm" in r.stdout
    for prog in ["announcer", "listener", "server", "downloader", "tracker", "client", "web"]:
        assert os.access(str(tmp_path / "usr" / "bin" / ("lanswarm-" + prog)), os.X_OK)
    # lanswarm-web runs from the package: the page is inside the program.
    r = subprocess.run([str(tmp_path / "usr" / "bin" / "lanswarm-web"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "dashboard" in r.stdout
    assert (tmp_path / "etc" / "lanswarm" / "lanswarm.conf").exists()
    subprocess.run(["dpkg-deb", "-e", deb, str(tmp_path / "DEBIAN")], check=True)
    postinst = (tmp_path / "DEBIAN" / "postinst").read_text()
    assert "adduser --system" in postinst and "lanswarm" in postinst
    conffiles = (tmp_path / "DEBIAN" / "conffiles").read_text()
    assert "/etc/lanswarm/lanswarm.conf" in conffiles
