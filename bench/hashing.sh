#!/usr/bin/env bash
# Share hashing beside `openssl dgst -sha256` run on every core at once over
# the same bytes, in the same run, with the page cache warm for both:
#   one big file:     BIG_MB (2048) MiB; openssl on nproc pieces of it, one
#                     process each (split beforehand: one file cannot be fed
#                     to several openssl processes otherwise)
#   many small files: SMALL_N (2000) files of SMALL_KB (512) KiB; openssl on
#                     nproc processes, each given its share of the names
# lanswarm is timed from the server's start to every manifest in cache/
# (best of RUNS=3, from no cache each time); also its peak RSS, and the CPU
# seconds each side used (on a shared machine the wall-clock ratio is noisy;
# the CPU ratio says whether the work itself costs more).
# BEFORE_BIN=DIR also times another build (say, the commit before a change)
# in the same run, for a before-and-after table.
source "$(dirname "$0")/lib.sh"
BIG_MB=${BIG_MB:-2048}
SMALL_N=${SMALL_N:-2000}
SMALL_KB=${SMALL_KB:-512}
RUNS=${RUNS:-3}
CORES=$(nproc)

mkdir -p "$WORK/big/share" "$WORK/small/share" "$WORK/ref"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom > "$WORK/big/share/big.bin"
(cd "$WORK/ref" && split -n "$CORES" -d "$WORK/big/share/big.bin" piece.)
head -c $((SMALL_N * SMALL_KB * 1024)) /dev/urandom |
  (cd "$WORK/small/share" && split -b $((SMALL_KB * 1024)) -a 5 -d - f.)

# Prints the seconds from the server's start to its log saying the catalog
# hashed its files (it logs that once every manifest is in DIR/cache's pack;
# the count is checked too), and the server's peak RSS in KiB. The log is read
# from a pipe: no polling. The last run's cache/ is moved aside, not deleted
# (ext4 is slow to make files right after thousands were deleted: it skips
# recently freed inodes), and deleted with WORK at the end.
time_server() { # BIN DIR N
  [ -d "$2/cache" ] && mv "$2/cache" "$(mktemp -u "$2/old-cache.XXXXXX")"
  /usr/bin/python3 - "$@" <<'PY'
import os, socket, subprocess, sys, threading, time
bin_, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with socket.socket() as s:  # a free loopback port
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
t0 = time.monotonic()
p = subprocess.Popen([bin_ + "/lanswarm-server", "--dir", d, "--tag", "bench", "--port", port,
                      "--listen-addr", "127.0.0.1", "--log-level", "info"], stderr=subprocess.PIPE, text=True)
watchdog = threading.Timer(600, p.kill)  # bounded: a stuck server ends the loop below
watchdog.start()
try:
    for line in p.stderr:  # ends when the server exits
        if "catalog: hashed" in line:
            hashed = int(line.split("catalog: hashed ")[1].split()[0])
            break
    else:
        sys.exit("bench: the server exited before hashing")
    t = time.monotonic() - t0
    with open("/proc/%d/status" % p.pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    with open("/proc/%d/stat" % p.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    if hashed != n or not os.listdir(os.path.join(d, "cache")):  # a pack, or a build before it: *.mf
        sys.exit("bench: %d manifests hashed, not %d" % (hashed, n))
finally:
    watchdog.cancel()
    p.terminate()
    p.wait()
print("%.3f %d %.2f" % (t, rss, cpu))
PY
}

# The seconds openssl takes on every core at once over the files given, and
# the CPU seconds (user + system) its processes used.
time_openssl() {
  local t0 t1
  t0=$(now)
  printf '%s\0' "$@" | /usr/bin/time -f "%U %S" -o "$WORK/openssl.cpu" \
    xargs -0 -P "$CORES" -n $(( ($# + CORES - 1) / CORES )) openssl dgst -sha256 > /dev/null
  t1=$(now)
  echo "$(elapsed "$t0" "$t1") $(awk '{ printf "%.2f", $1 + $2 }' "$WORK/openssl.cpu")"
}

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b < a) ? b : a }'; }

bench_case() { # LABEL DIR N FILES...
  local label=$1 dir=$2 n=$3; shift 3
  local best_ref=999999 best_ls=999999 best_before=999999 rss=0 cpu_ref=0 cpu_ls=0 t r c
  cat "$@" "$dir"/share/* > /dev/null # the page cache warm for every tool alike
  for ((run = 1; run <= RUNS; run++)); do
    read -r t c < <(time_openssl "$@")
    [ "$(min "$best_ref" "$t")" = "$t" ] && cpu_ref=$c
    best_ref=$(min "$best_ref" "$t")
    line="run $run: openssl ${t}s (cpu ${c}s)"
    read -r t r c < <(time_server "$BIN" "$dir" "$n")
    [ "$(min "$best_ls" "$t")" = "$t" ] && cpu_ls=$c
    best_ls=$(min "$best_ls" "$t")
    [ "$r" -gt "$rss" ] && rss=$r
    line="$line lanswarm ${t}s (cpu ${c}s)"
    if [ -n "${BEFORE_BIN:-}" ]; then
      read -r t _ _ < <(time_server "$BEFORE_BIN" "$dir" "$n"); best_before=$(min "$best_before" "$t")
      line="$line before ${t}s"
    fi
    echo "$line"
  done
  echo "$label (best of $RUNS, $CORES cores):"
  printf "  %-40s %8ss  (cpu %ss)\n" "openssl dgst -sha256 x $CORES processes" "$best_ref" "$cpu_ref"
  printf "  %-40s %8ss  (cpu %ss)\n" "lanswarm-server start to every manifest" "$best_ls" "$cpu_ls"
  echo "  ratio lanswarm / openssl: $(ratio "$best_ref" "$best_ls")   (goal >= 0.9; cpu: $(ratio "$cpu_ref" "$cpu_ls"))"
  if [ -n "${BEFORE_BIN:-}" ]; then
    printf "  %-40s %8ss\n" "before ($BEFORE_BIN)" "$best_before"
    echo "  ratio before / openssl:   $(ratio "$best_ref" "$best_before")"
  fi
  echo "  server peak RSS: $((rss / 1024)) MiB   (goal <= 32 MiB)"
}

bench_case "one file of $BIG_MB MiB" "$WORK/big" 1 "$WORK"/ref/piece.*
echo
bench_case "$SMALL_N files of $SMALL_KB KiB" "$WORK/small" "$SMALL_N" "$WORK"/small/share/*
