#!/usr/bin/env bash
# Transfer benchmarks, each beside a well-known tool in the same run:
#   single source: 1 GiB, one seeder -> one downloader, vs curl from nginx
#                  (sendfile on): with fsync vs curl followed by `sync FILE`,
#                  without vs curl alone; also vs curl + sha256sum; bytes
#                  received / file size (client.log); peak RSS of both sides.
#                  BIN_BEFORE=DIR also measures another build in the same runs.
#   multi source:  256 MiB from four seeders each limited to 25 MB/s, vs aria2c
#                  from four nginx servers each limited the same way; median
#                  and range of MULTI_RUNS (3) runs, alternated.
# SIZE_MB and MULTI_MB override the sizes.
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1024}
MULTI_MB=${MULTI_MB:-256}
RATE=25000000
UDP=$BASE_PORT

# ---------- single source ----------
mkdir -p "$WORK/s0/share" "$WORK/d1"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/s0/share/big.bin"
BYTES=$(stat -c %s "$WORK/s0/share/big.bin")
start_seeder "$WORK/s0" s0 $((BASE_PORT + 1)) $UDP
SERVER_PID=$SEEDER_SERVER_PID
# The seeder hashes its share once (cached for every later start).
cache_ready() { [ -n "$(ls "$WORK/s0/cache" 2>/dev/null)" ]; }
wait_for cache_ready
start_nginx "$WORK/s0/share" $((BASE_PORT + 2))

"$BIN/lanswarm-listener" --dir "$WORK/d1" --udp-port $UDP --log-level warn &
PIDS+=($!)
wait_for grep -q big.bin "$WORK/d1/tags.txt"

# received/size from the last line of a client.log
recv_ratio() { tail -1 "$1" | tr ' ' '\n' | awk -F= -v size="$2" '$1 == "received" { printf "%.4f", $2 / size }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN{print (b<a)?b:a}'; }

# One lanswarm build, best of 3 runs with and without fsync; sets best_ls,
# best_ns (seconds), dl_rss (KiB), recv (received/size of the last run).
# Each run follows the same runs of curl (below), alternating, so that both
# see the same machine.
lanswarm_runs() {
  local bin=$1 d=$2 run t0 t1 rss
  rm -rf "$d/downloads" "$d/temp"
  sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true
  cat "$WORK/s0/share/big.bin" > /dev/null   # warm source cache for every tool alike
  t0=$(now)
  /usr/bin/time -f %M -o "$WORK/dl.rss" "$bin/lanswarm-downloader" --dir "$d" --quiet big.bin
  t1=$(now)
  t_ls=$(elapsed "$t0" "$t1")
  rss=$(cat "$WORK/dl.rss"); [ "$rss" -gt "$dl_rss" ] && dl_rss=$rss
  recv=$(recv_ratio "$d/client.log" "$BYTES")
  rm -rf "$d/downloads"
  sync
  t0=$(now)
  "$bin/lanswarm-downloader" --dir "$d" --quiet --fsync 0 big.bin
  t1=$(now)
  t_ns=$(elapsed "$t0" "$t1")
}

# BIN_BEFORE (optional): another build measured in the same run, for a
# before/after table: its own seeder (server and announcer of that build) and
# listener, on ports of their own, so that each downloader has one source.
if [ -n "${BIN_BEFORE:-}" ]; then
  mkdir -p "$WORK/s0b/share" "$WORK/d0"
  ln "$WORK/s0/share/big.bin" "$WORK/s0b/share/big.bin"
  save_bin=$BIN; BIN=$BIN_BEFORE
  start_seeder "$WORK/s0b" s0b $((BASE_PORT + 9)) $((BASE_PORT + 8))
  BIN=$save_bin
  cache_b() { [ -n "$(ls "$WORK/s0b/cache" 2>/dev/null)" ]; }
  wait_for cache_b
  "$BIN_BEFORE/lanswarm-listener" --dir "$WORK/d0" --udp-port $((BASE_PORT + 8)) --log-level warn &
  PIDS+=($!)
  wait_for grep -q big.bin "$WORK/d0/tags.txt"
fi
best_curl=999999; best_cs=999999; best_sync=999999
best_ls=999999; best_ns=999999; dl_rss=0
bb_ls=999999; bb_ns=999999; bb_rss=0
for run in 1 2 3; do
  rm -f "$WORK/curl.bin"
  sync
  t0=$(now)
  curl -s -o "$WORK/curl.bin" "http://127.0.0.1:$((BASE_PORT + 2))/big.bin"
  t1=$(now)
  sync "$WORK/curl.bin"
  t2=$(now)
  sha256sum "$WORK/curl.bin" > /dev/null
  t3=$(now)
  t_curl=$(elapsed "$t0" "$t1"); t_sync=$(elapsed "$t0" "$t2")
  t_cs=$(awk -v a="$(elapsed "$t0" "$t1")" -v b="$(elapsed "$t2" "$t3")" 'BEGIN{printf "%.3f", a + b}')
  best_curl=$(min $best_curl $t_curl); best_sync=$(min $best_sync $t_sync); best_cs=$(min $best_cs $t_cs)
  line="run $run: curl/nginx ${t_curl}s (+sync ${t_sync}s, +sha256sum ${t_cs}s)"
  if [ -n "${BIN_BEFORE:-}" ]; then
    save_rss=$dl_rss; dl_rss=$bb_rss
    lanswarm_runs "$BIN_BEFORE" "$WORK/d0"
    bb_rss=$dl_rss; dl_rss=$save_rss
    bb_ls=$(min $bb_ls $t_ls); bb_ns=$(min $bb_ns $t_ns); bb_recv=$recv
    line="$line  before ${t_ls}s (fsync 0: ${t_ns}s)"
  fi
  lanswarm_runs "$BIN" "$WORK/d1"
  best_ls=$(min $best_ls $t_ls); best_ns=$(min $best_ns $t_ns)
  echo "$line  lanswarm ${t_ls}s (fsync 0: ${t_ns}s)"
done
cmp -s "$WORK/s0/share/big.bin" "$WORK/d1/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
srv_rss=$(peak_rss_kib "$SERVER_PID")

echo
echo "single source, ${SIZE_MB} MiB over loopback (best of 3):"
printf "  %-34s %8s MB/s\n" "lanswarm (verified, fsync'ed)" "$(mbps $BYTES $best_ls)"
printf "  %-34s %8s MB/s\n" "lanswarm --fsync 0 (verified)" "$(mbps $BYTES $best_ns)"
printf "  %-34s %8s MB/s\n" "curl from nginx (sendfile)" "$(mbps $BYTES $best_curl)"
printf "  %-34s %8s MB/s\n" "curl from nginx, then sync" "$(mbps $BYTES $best_sync)"
printf "  %-34s %8s MB/s\n" "curl from nginx, then sha256sum" "$(mbps $BYTES $best_cs)"
echo "  ratio lanswarm / curl+sync:            $(ratio $best_sync $best_ls)   (goal >= 0.9)"
echo "  ratio lanswarm --fsync 0 / curl:       $(ratio $best_curl $best_ns)   (goal >= 0.9)"
echo "  ratio lanswarm / curl+sha256sum:       $(ratio $best_cs $best_ls)"
echo "  bytes received / file size:            ${recv:-n/a}   (goal <= 1.01)"
echo "  peak RSS: downloader $((dl_rss / 1024)) MiB, server $((srv_rss / 1024)) MiB   (goal <= 32 MiB each)"
if [ -n "${BIN_BEFORE:-}" ]; then
  echo "  before ($BIN_BEFORE), same runs:"
  echo "    ratio / curl+sync $(ratio $best_sync $bb_ls) ($(mbps $BYTES $bb_ls) MB/s), --fsync 0 / curl $(ratio $best_curl $bb_ns) ($(mbps $BYTES $bb_ns) MB/s), received/size ${bb_recv:-n/a}, downloader RSS $((bb_rss / 1024)) MiB"
fi

# ---------- multi source ----------
mkdir -p "$WORK/m/share" "$WORK/d2"
head -c $((MULTI_MB * 1024 * 1024)) /dev/urandom > "$WORK/m/share/multi.bin"
MBYTES=$(stat -c %s "$WORK/m/share/multi.bin")
UDP2=$((BASE_PORT + 3))
urls=()
for i in 0 1 2 3; do
  mkdir -p "$WORK/m$i/share" "$WORK/m$i/cache"
  ln "$WORK/m/share/multi.bin" "$WORK/m$i/share/multi.bin"
  start_seeder "$WORK/m$i" "m$i" $((BASE_PORT + 4 + i)) $UDP2 --rate-limit $RATE
  # Four loopback addresses: aria2c counts servers by host, not port.
  start_nginx "$WORK/m/share" $((BASE_PORT + 100 + i)) "limit_rate $RATE;" "127.0.0.$((i + 1))"
  urls+=("http://127.0.0.$((i + 1)):$((BASE_PORT + 100 + i))/multi.bin")
done
"$BIN/lanswarm-listener" --dir "$WORK/d2" --udp-port $UDP2 --log-level warn &
PIDS+=($!)
four_holders() { [ "$(grep -c multi.bin "$WORK/d2/tags.txt" 2>/dev/null)" = 4 ]; }
wait_for four_holders
# One download of multi.bin by build $1 with --fsync $2 into $WORK/d2, from
# scratch; prints its seconds.
multi_run() {
  local t0 t1
  rm -rf "$WORK/d2/downloads" "$WORK/d2/temp"
  sync
  t0=$(now)
  "$1/lanswarm-downloader" --dir "$WORK/d2" --quiet --fsync "$2" multi.bin
  t1=$(now)
  elapsed "$t0" "$t1"
}
# med: the median of the times given; spread: "median (min-max)" in MB/s.
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
spread() {
  local slowest fastest
  slowest=$(printf '%s\n' "$@" | sort -g | tail -1); fastest=$(printf '%s\n' "$@" | sort -g | head -1)
  echo "$(mbps $MBYTES "$(med "$@")") ($(mbps $MBYTES "$slowest")-$(mbps $MBYTES "$fastest"))"
}
cap() { awk -v b=$MBYTES -v s="$1" 'BEGIN{printf "%.2f", b/s/1e8}'; }
# MULTI_RUNS runs (default 3), each: the build before (if BIN_BEFORE), then
# this one, each with fsync and --fsync 0, then aria2c: all see the same
# machine. The before build's downloader uses the same four seeders.
ls_t=(); ns_t=(); ar_t=(); bls_t=(); bns_t=()
for run in $(seq 1 "${MULTI_RUNS:-3}"); do
  line="run $run:"
  if [ -n "${BIN_BEFORE:-}" ]; then
    bls_t+=("$(multi_run "$BIN_BEFORE" 1)"); bns_t+=("$(multi_run "$BIN_BEFORE" 0)")
    line="$line before ${bls_t[-1]}s (fsync 0: ${bns_t[-1]}s)"
  fi
  ls_t+=("$(multi_run "$BIN" 1)")
  mrecv=$(recv_ratio "$WORK/d2/client.log" "$MBYTES")
  cmp -s "$WORK/m/share/multi.bin" "$WORK/d2/downloads/multi.bin" || { echo "bench: download differs!" >&2; exit 1; }
  ns_t+=("$(multi_run "$BIN" 0)")
  t0=$(now)
  aria2c -q -d "$WORK/aria" -o multi.bin -s4 -x1 -j1 --min-split-size=8M --file-allocation=none \
    --allow-overwrite=true "${urls[@]}"
  t1=$(now)
  ar_t+=("$(elapsed "$t0" "$t1")")
  echo "$line  lanswarm ${ls_t[-1]}s (fsync 0: ${ns_t[-1]}s)  aria2c ${ar_t[-1]}s"
done
t_ls=$(med "${ls_t[@]}"); t_ns=$(med "${ns_t[@]}"); t_aria=$(med "${ar_t[@]}")
echo
echo "multi source, ${MULTI_MB} MiB from 4 peers each limited to 25 MB/s (aggregate 100 MB/s), median (range) of ${#ls_t[@]}:"
printf "  %-34s %s MB/s\n" "lanswarm (4 seeders)" "$(spread "${ls_t[@]}")"
printf "  %-34s %s MB/s\n" "lanswarm --fsync 0" "$(spread "${ns_t[@]}")"
printf "  %-34s %s MB/s\n" "aria2c (4 nginx, limit_rate)" "$(spread "${ar_t[@]}")"
echo "  lanswarm / 100 MB/s aggregate: $(cap "$t_ls")   (goal >= 0.95)"
echo "  lanswarm --fsync 0 / 100 MB/s: $(cap "$t_ns")"
echo "  ratio lanswarm / aria2c:       $(ratio "$t_aria" "$t_ls")   (goal >= 1)"
echo "  bytes received / file size:    ${mrecv:-n/a}   (goal <= 1.05)"
if [ -n "${BIN_BEFORE:-}" ]; then
  echo "  before ($BIN_BEFORE), same runs: $(spread "${bls_t[@]}") MB/s, / 100 MB/s $(cap "$(med "${bls_t[@]}")"), / aria2c $(ratio "$t_aria" "$(med "${bls_t[@]}")"); --fsync 0 $(spread "${bns_t[@]}") MB/s"
fi
