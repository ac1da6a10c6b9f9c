#!/usr/bin/python3
"""The standing mutation check (`make mutate`): tests/mutations.txt's one-line
bugs, each built in a scratch copy of the tree and run against the tests that
must catch it. Fails if a mutation survives, or if an entry of the list is
wrong (its line missing or not unique, or the mutant does not build).

  scripts/mutate.py                 every runnable entry
  scripts/mutate.py --only ID[,ID]  those entries
  scripts/mutate.py --list          the entries and the ones not run, with why

The scratch tree is build/mutate/tree: the files `git ls-files` lists (and
untracked ones not ignored), copied once and kept in step, built there in
release mode, then rebuilt incrementally for each mutant. Python 3 from
Debian, nothing else.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutations.txt")
SCRATCH = os.path.join(ROOT, "build", "mutate")
TREE = os.path.join(SCRATCH, "tree")
KEYS = ("file", "from", "to", "tests", "timeout", "why", "skip")


class ListError(Exception):
    pass


def parse_list(path):
    """The entries of tests/mutations.txt, in order (see its header)."""
    entries, cur = [], None
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^\[([A-Za-z0-9_.-]+)\]\s*$", line)
            if m:
                cur = {"id": m.group(1), "line": no}
                entries.append(cur)
                continue
            m = re.match(r"^([a-z]+):[ ]?(.*)$", line)
            if cur is None or not m or m.group(1) not in KEYS:
                raise ListError("%s:%d: expected [id] or one of %s: %r" % (path, no, ", ".join(KEYS), line))
            key, val = m.group(1), m.group(2)
            if key in cur:
                if key == "why":  # a long comment may continue on a second why: line
                    cur[key] += " " + val
                    continue
                raise ListError("%s:%d: %s given twice in [%s]" % (path, no, key, cur["id"]))
            cur[key] = val
    seen = set()
    for e in entries:
        if e["id"] in seen:
            raise ListError("%s:%d: id %s used twice" % (path, e["line"], e["id"]))
        seen.add(e["id"])
        need = ("file", "from", "to", "why") + (() if "skip" in e else ("tests",))
        for k in need:
            if k not in e:
                raise ListError("%s:%d: [%s] has no %s:" % (path, e["line"], e["id"], k))
        e["tests"] = e.get("tests", "").split()
        e["timeout"] = float(e.get("timeout", "120"))
    return entries


def find_line(text, orig):
    """The one line holding orig (a leading ^ anchors it at the line's start,
    indentation included); raises ListError unless it occurs exactly once."""
    anchored = orig.startswith("^")
    needle = orig[1:] if anchored else orig
    lines = text.split("\n")
    hits = [i for i, l in enumerate(lines) if (l.startswith(needle) if anchored else needle in l)]
    total = sum(l.count(needle) for l in lines) if not anchored else len(hits)
    if len(hits) != 1 or total != 1:
        raise ListError("original text occurs %d times, not once: %r" % (total, orig))
    return lines, hits[0], needle


def apply(text, entry):
    lines, i, needle = find_line(text, entry["from"])
    lines[i] = lines[i].replace(needle, entry["to"], 1)
    return "\n".join(lines)


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, stdout=subprocess.PIPE).stdout
    return sorted({p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(ROOT, p))})


def sync_tree():
    """Copies the tree into build/mutate/tree; only what changed, so that the
    scratch build stays incremental from one run to the next."""
    files = tracked_files()
    want = set(files)
    for rel in files:
        src, dst = os.path.join(ROOT, rel), os.path.join(TREE, rel)
        with open(src, "rb") as f:
            data = f.read()
        try:
            with open(dst, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(data)
        shutil.copymode(src, dst)
    # Files gone from the tree go from the copy too (the Makefile globs *.c).
    for dirpath, dirnames, filenames in os.walk(TREE):
        rel_dir = os.path.relpath(dirpath, TREE)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in ("build", "bin", ".git")]
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "node_modules")]
        for fn in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, fn))
            if rel not in want and not fn.endswith(".pyc"):
                os.unlink(os.path.join(dirpath, fn))


def make(targets, log):
    t0 = time.monotonic()
    r = subprocess.run(["make", "-j2", "--no-print-directory"] + targets, cwd=TREE, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=900)
    with open(log, "ab") as f:
        f.write(r.stdout)
    return r.returncode == 0, time.monotonic() - t0, r.stdout.decode(errors="replace")


def run_bounded(cmd, timeout, env, log):
    """Runs cmd in its own process group; kills the group after timeout s.
    Returns (status, seconds): status 'pass', 'fail' or 'timeout'."""
    t0 = time.monotonic()
    with open(log, "ab") as out:
        out.write(("\n$ %s\n" % " ".join(cmd)).encode())
        out.flush()
        p = subprocess.Popen(cmd, cwd=TREE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
            status = "pass" if rc == 0 else "fail"
        except subprocess.TimeoutExpired:
            status = "timeout"
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    return status, time.monotonic() - t0


def is_unit(test):
    return "::" not in test and not test.endswith(".py")


def build_targets(entry, programs):
    units = ["build/release/tests/" + t for t in entry["tests"] if is_unit(t)]
    return units + (programs if any(not is_unit(t) for t in entry["tests"]) else [])


def run_tests(entry, env, log, deadline, stop_at_first=True):
    """Runs the entry's tests until one fails. Returns (failed, how)."""
    units = [t for t in entry["tests"] if is_unit(t)]
    nodes = [t for t in entry["tests"] if not is_unit(t)]
    bad = []
    for t in units:
        left = max(1.0, deadline - time.monotonic())
        st, _ = run_bounded([os.path.join(TREE, "build/release/tests", t)], min(entry["timeout"], left), env, log)
        if st != "pass":
            bad.append("%s %s" % (t, "timed out" if st == "timeout" else "failed"))
            if stop_at_first:
                return True, bad[0]
    if nodes:
        left = max(1.0, deadline - time.monotonic())
        cmd = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"] + (["-x"] if stop_at_first else [])
        st, _ = run_bounded(cmd + nodes, min(entry["timeout"], left), env, log)
        if st != "pass":
            bad.append("pytest %s" % ("timed out" if st == "timeout" else "failed"))
    return (True, ", ".join(bad)) if bad else (False, "all its tests passed")


def baseline(base, env, log, deadline):
    """Runs base's tests on the unmutated tree; None, or what failed."""
    entry = dict(tests=base["tests"], timeout=base["timeout"])
    failed, how = run_tests(entry, env, log, deadline, stop_at_first=False)
    return how if failed else None


def main():
    ap = argparse.ArgumentParser(description="the standing mutation check (tests/mutations.txt)")
    ap.add_argument("--only", help="ID[,ID]: run only these entries")
    ap.add_argument("--list", action="store_true", help="list the entries, and those not run with why")
    ap.add_argument("--file", default=LIST, help="the list (default tests/mutations.txt)")
    ap.add_argument("--baseline", action="store_true",
                    help="run the integration tests named unmutated too, first (the unit tests always are)")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("MUTATE_BUDGET", "900")),
                    help="seconds for the whole run (default 900; MUTATE_BUDGET)")
    args = ap.parse_args()
    try:
        entries = parse_list(args.file)
    except ListError as e:
        print("mutate: %s" % e, file=sys.stderr)
        return 2
    runnable = [e for e in entries if "skip" not in e]
    skipped = [e for e in entries if "skip" in e]
    if args.list:
        bad = 0
        for e in entries:
            what = "NOT RUN: " + e["skip"] if "skip" in e else " ".join(e["tests"])
            try:
                with open(os.path.join(ROOT, e["file"]), encoding="utf-8") as f:
                    apply(f.read(), e)
            except (OSError, ListError) as x:
                bad += 1
                what = "LIST ERROR: %s; %s" % (x, what)
            print("%-28s %-28s %s" % (e["id"], e["file"], what))
        print("mutate: %d entries to run, %d not run, %d errors of the list" % (len(runnable), len(skipped), bad))
        return 1 if bad else 0
    if args.only:
        ids = [i for i in args.only.split(",") if i]
        known = {e["id"] for e in entries}
        bad = [i for i in ids if i not in known]
        if bad:
            print("mutate: no such entry: %s" % ", ".join(bad), file=sys.stderr)
            return 2
        runnable = [e for e in runnable if e["id"] in ids]

    t_start = time.monotonic()
    deadline = t_start + args.budget
    os.makedirs(TREE, exist_ok=True)
    log = os.path.join(SCRATCH, "mutate.log")
    open(log, "wb").close()
    sync_tree()
    ok, secs, out = make(["all"], log)
    if not ok:
        print(out[-3000:])
        print("mutate: the unmutated scratch tree does not build (log: %s)" % log)
        print("mutate: 0 passed, %d failed" % len(runnable))
        return 1
    programs = sorted("bin/" + b for b in os.listdir(os.path.join(TREE, "bin")))
    programs.append("build/release/tests/config_keys")
    print("mutate: scratch tree %s built in %.1f s; %d mutation(s) to run" % (TREE, secs, len(runnable)))
    sys.stdout.flush()

    tmp = tempfile.mkdtemp(prefix="lanswarm-mutate.")
    env = dict(os.environ, LANSWARM_BIN=os.path.join(TREE, "bin"), TMPDIR=tmp, PYTHONDONTWRITEBYTECODE="1")
    # A test that fails without any mutation would "catch" every mutant: the
    # unit tests named are run unmutated first (seconds), the integration
    # tests too with --baseline (make test has run them before in CI).
    units = sorted({t for e in runnable for t in e["tests"] if is_unit(t)})
    nodes = sorted({t for e in runnable for t in e["tests"] if not is_unit(t)})
    if nodes and subprocess.run(["/usr/bin/python3", "-c", "import pytest"]).returncode != 0:
        print("mutate: /usr/bin/python3 has no pytest (sh scripts/deps.sh test)")
        return 1
    ok, _, out = make(["build/release/tests/" + t for t in units], log)
    base = dict(tests=units + (nodes if args.baseline else []), timeout=300)
    base_failed = None
    if not ok:
        base_failed = "the unit tests do not build: " + " | ".join(l for l in out.splitlines() if "rror" in l)[:300]
    else:
        base_failed = baseline(base, env, log, deadline)
    if base_failed:
        print("mutate: without any mutation, %s: fix that first (log: %s)" % (base_failed, log))
        print("mutate: 0 passed, %d failed" % len(runnable))
        return 1
    print("mutate: %d unit test program(s)%s pass unmutated" % (len(units), " and %d integration test(s)" % len(nodes)
                                                                if args.baseline else ""))
    sys.stdout.flush()
    caught, survived, errors = [], [], []
    for e in runnable:
        t0 = time.monotonic()
        path = os.path.join(TREE, e["file"])
        if time.monotonic() > deadline:
            errors.append(e["id"])
            print("%-28s ERROR    not run: the whole run's budget of %.0f s is spent" % (e["id"], args.budget))
            continue
        try:
            with open(path, encoding="utf-8") as f:
                orig = f.read()
        except OSError as x:
            errors.append(e["id"])
            print("%-28s ERROR    list: %s: %s" % (e["id"], e["file"], x.strerror))
            continue
        try:
            mutant = apply(orig, e)
        except ListError as x:
            errors.append(e["id"])
            print("%-28s ERROR    list: %s: %s" % (e["id"], e["file"], x))
            continue
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(mutant)
            ok, _, out = make(build_targets(e, programs), log)
            if not ok:
                errors.append(e["id"])
                err = [l for l in out.splitlines() if "error" in l][:2]
                print("%-28s ERROR    list: the mutant does not build: %s" % (e["id"], " | ".join(err)))
                continue
            was_caught, how = run_tests(e, env, log, deadline)
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(orig)
            now = time.time()
            os.utime(path, (now, now))
        secs = time.monotonic() - t0
        (caught if was_caught else survived).append(e["id"])
        print("%-28s %-8s %5.1f s  %s" % (e["id"], "caught" if was_caught else "SURVIVED", secs, how))
        sys.stdout.flush()
    shutil.rmtree(tmp, ignore_errors=True)
    total = time.monotonic() - t_start
    print("mutate: %d caught, %d survived, %d errors of the list, %d not run (see --list); %.0f s (log: %s)"
          % (len(caught), len(survived), len(errors), len(skipped), total, os.path.relpath(log, ROOT)))
    if survived:
        print("mutate: survived: %s" % ", ".join(survived))
    if errors:
        print("mutate: errors: %s" % ", ".join(errors))
    print("mutate: %d passed, %d failed" % (len(caught), len(survived) + len(errors)))
    return 1 if survived or errors else 0


if __name__ == "__main__":
    sys.exit(main())
