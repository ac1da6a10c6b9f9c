"""The configuration table against its documentation and the programs' --help.

The table in common/app/ls_config.c is the one place a key is declared; the
build prints it with build/*/tests/config_keys (one key a line, tab-separated:
name flag alias type default min max programs). docs/CONFIG.md and
man/lanswarm.conf.5 are written by hand: these tests fail when a key, its
default or its bounds are missing there, when they document a key or a flag
the table does not have, and when a program's --help offers other keys than
the ones it reads.
"""
import os
import re
import subprocess

import pytest

from conftest import BIN, prog

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DAEMONS = ["announcer", "listener", "server", "downloader", "tracker", "client", "web"]
OTHER_FLAGS = {"config", "help", "version"}


def config_keys_tool():
    candidates = [os.environ.get("LANSWARM_CONFIG_KEYS", ""),
                  os.path.join(os.path.dirname(os.path.abspath(BIN)), "tests", "config_keys"),
                  os.path.join(ROOT, "build", "release", "tests", "config_keys")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("no config_keys program: run make")


@pytest.fixture(scope="module")
def keys():
    out = subprocess.run([config_keys_tool()], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        name, flag, alias, kind, default, lo, hi, programs = line.split("\t")
        table[name] = dict(flag=flag, alias=None if alias == "-" else alias, type=kind, default=default,
                           min=None if lo == "-" else int(lo), max=None if hi == "-" else int(hi),
                           programs=set(programs.split(",")) if programs else set())
    assert len(table) >= 25
    return table


def bounds_text(k):
    """How the docs must give a key's bounds, or None where they need not
    (ports, 0 or 1, sizes without a limit)."""
    if k["type"] == "uint" and k["max"] not in (1, 65535):
        return "%d-%d" % (k["min"], k["max"])
    if k["type"] == "size" and k["max"] < 2 ** 64 - 1:
        return "%dK-%dM" % (k["min"] >> 10, k["max"] >> 20)
    return None


def config_md_rows():
    text = open(os.path.join(ROOT, "docs", "CONFIG.md")).read()
    table = text[text.index("| key | default | meaning |"):text.index("## Limits")]
    rows = {}
    for line in table.splitlines()[2:]:
        m = re.match(r"\| `([a-z_0-9]+)` \| ([^|]*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2).replace("`", "").strip(), m.group(3).replace("`", ""))
    return text, rows


def deroff(s):
    s = re.sub(r"\\f[BIRP]", "", s).replace("\\-", "-").replace("\\(em", "-")
    s = re.sub(r"^\.(B|I|BR|IR|RB|BI|IB)\s+", "", s, flags=re.M)
    return s.replace('"', "")


def man_entries():
    text = open(os.path.join(ROOT, "man", "lanswarm.conf.5")).read()
    section = text[text.index(".SH KEYS"):text.index(".SH EXAMPLE")]
    entries = {}
    for chunk in section.split(".TP\n")[1:]:
        head, _, body = chunk.partition("\n")
        names = re.findall(r"[a-z][a-z_0-9]*[a-z0-9]", deroff(head))
        body = " ".join(deroff(body).split())
        for n in names:
            entries[n] = body
    return text, entries


def test_config_md_documents_every_key_with_its_default_and_bounds(keys):
    _, rows = config_md_rows()
    for name, k in keys.items():
        assert name in rows, "docs/CONFIG.md has no row for %s" % name
        default, meaning = rows[name]
        assert k["default"] in default, "%s: CONFIG.md says default %r, the table %r" % (name, default, k["default"])
        b = bounds_text(k)
        assert b is None or b in meaning, "%s: CONFIG.md does not give the bounds %s" % (name, b)
        if k["alias"]:
            assert "--" + k["alias"] in meaning, "%s: CONFIG.md does not name the flag --%s" % (name, k["alias"])
    extra = set(rows) - set(keys)
    assert not extra, "docs/CONFIG.md documents keys the table does not have: %s" % sorted(extra)


def test_man_page_documents_every_key_with_its_default_and_bounds(keys):
    _, entries = man_entries()
    for name, k in keys.items():
        assert name in entries, "man/lanswarm.conf.5 has no entry for %s" % name
        body = entries[name]
        assert "(default: %s" % k["default"] in body, "%s: lanswarm.conf.5 lacks '(default: %s'" % (name, k["default"])
        b = bounds_text(k)
        if b:
            lo, hi = b.split("-")
            assert "%s to %s" % (lo, hi) in body, "%s: lanswarm.conf.5 does not give the bounds %s" % (name, b)
        if k["alias"]:
            assert "--" + k["alias"] in body, "%s: lanswarm.conf.5 does not name --%s" % (name, k["alias"])
    extra = set(entries) - set(keys) - {"auto", "debug", "info", "warn", "error"}
    assert not extra, "man/lanswarm.conf.5 documents keys the table does not have: %s" % sorted(extra)


def test_documented_flags_exist(keys):
    flags = OTHER_FLAGS | {k["flag"] for k in keys.values()} | {k["alias"] for k in keys.values() if k["alias"]}
    md, _ = config_md_rows()
    man, _ = man_entries()
    md = md[:md.index("## Limits")]  # the limits name programs' own options (--depth)
    for doc, text in (("docs/CONFIG.md", md), ("man/lanswarm.conf.5", deroff(man))):
        for f in re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text):
            assert f in flags, "%s names --%s, which no program takes" % (doc, f)


def offered_flags(help_text):
    """The flags a --help offers in its peer options."""
    part = help_text[help_text.index("Peer options"):]
    return set(re.findall(r"^  (?:-c, )?--([a-z0-9-]+)(?:, --([a-z0-9-]+))?", part, flags=re.M))


def test_each_program_offers_the_keys_it_reads(keys):
    for name in DAEMONS:
        r = subprocess.run([prog(name), "--help"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and r.stdout.startswith("Usage: lanswarm-%s " % name)
        offered = {f for pair in offered_flags(r.stdout) for f in pair if f} - OTHER_FLAGS
        want = {k["flag"] for k in keys.values() if name in k["programs"]}
        want |= {k["alias"] for k in keys.values() if name in k["programs"] and k["alias"]}
        assert offered == want, name
    r = subprocess.run([prog("announcer"), "--help"], capture_output=True, text=True, timeout=10)
    assert "--web-token" not in r.stdout and "--udp-port" in r.stdout


def test_every_program_has_a_version():
    changelog = open(os.path.join(ROOT, "debian", "changelog")).readline()
    version = re.search(r"\((.*?)\)", changelog).group(1)
    for name in DAEMONS:
        r = subprocess.run([prog(name), "--version"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and r.stdout == "lanswarm-%s %s\n" % (name, version), (name, r.stdout)
    r = subprocess.run([os.path.join(BIN, "lanswarm"), "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout == "lanswarm %s\n" % version


def test_every_key_is_a_flag_of_every_program(keys, tmp_path):
    """A key a program does not read is still taken, checked, and ignored:
    lanswarm-web hands its flags on to the downloader."""
    for name in ["announcer", "downloader"]:
        r = subprocess.run([prog(name), "--dir", str(tmp_path), "--web-port", "70000"], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 2 and r.stderr == "lanswarm-%s: --web-port: web_port: expected a whole number " \
            "from 0 to 65535, got '70000'\n" % name, r.stderr
