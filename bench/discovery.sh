#!/usr/bin/env bash
# Discovery benchmarks:
#   latency: from an announcer's start to its files in another peer's tags.txt
#            (median of 5), the share's manifests already cached;
#   load:    the listener's CPU time and peak memory with 200 announcers on
#            loopback, each sharing 100 files, at a 1 s interval, for 30 s.
# PEERS, FILES and SECONDS_LOAD override the load figures.
source "$(dirname "$0")/lib.sh"
PEERS=${PEERS:-200}
FILES=${FILES:-100}
SECONDS_LOAD=${SECONDS_LOAD:-30}
UDP=$BASE_PORT

mkdir -p "$WORK/lat/share" "$WORK/obs"
for i in $(seq 1 20); do echo "file $i" > "$WORK/lat/share/f$i.txt"; done
"$BIN/lanswarm-listener" --dir "$WORK/obs" --udp-port $UDP --log-level warn &
PIDS+=($!)
# Warm the manifest cache once.
"$BIN/lanswarm-announcer" --dir "$WORK/lat" --tag lat --port 9 --udp-port $UDP --broadcast $BC --interval 60 --log-level warn &
pid=$!
has_files() { grep -q "f20.txt" "$WORK/obs/tags.txt" 2>/dev/null; }
gone() { ! grep -q "^lat	" "$WORK/obs/tags.txt" 2>/dev/null; }
wait_for has_files; kill $pid; wait $pid || true; wait_for gone
lat=()
for run in 1 2 3 4 5; do
  t0=$(now)
  "$BIN/lanswarm-announcer" --dir "$WORK/lat" --tag lat --port 9 --udp-port $UDP --broadcast $BC --interval 60 --log-level warn &
  pid=$!
  wait_for has_files
  t1=$(now)
  lat+=("$(elapsed "$t0" "$t1")")
  kill $pid; wait $pid || true
  wait_for gone
done
median=$(printf '%s\n' "${lat[@]}" | sort -n | sed -n 3p)
echo "announcer start -> 20 files in another peer's tags.txt: median ${median}s of 5 (${lat[*]})"
echo "  (includes process start, the cached catalog scan, the datagram, and the listener's coalesced write of <= 100 ms)"

# ---------- load ----------
UDP2=$((BASE_PORT + 1))
mkdir -p "$WORK/load"
"$BIN/lanswarm-listener" --dir "$WORK/load" --udp-port $UDP2 --log-level warn &
LPID=$!
PIDS+=($LPID)
for p in $(seq 1 "$PEERS"); do
  d="$WORK/p$p"
  mkdir -p "$d/share"
  for f in $(seq 1 "$FILES"); do printf '%d %d' "$p" "$f" > "$d/share/file-$f.dat"; done
done
t_start=$(awk '{print $14 + $15}' /proc/$LPID/stat)
for p in $(seq 1 "$PEERS"); do
  "$BIN/lanswarm-announcer" --dir "$WORK/p$p" --tag "peer$p" --port $((10000 + p)) --udp-port $UDP2 \
    --broadcast $BC --interval 1 --log-level error &
  PIDS+=($!)
done
t0=$(now)
all_seen() { [ "$(grep -vc '^#' "$WORK/load/tags.txt" 2>/dev/null)" = $((PEERS * FILES)) ]; }
wait_for all_seen
t_all=$(elapsed "$t0" "$(now)")
sleep "$SECONDS_LOAD"   # the load itself: announcers run for this long
ticks=$(( $(awk '{print $14 + $15}' /proc/$LPID/stat) - t_start ))
hz=$(getconf CLK_TCK)
rss=$(peak_rss_kib $LPID)
entries=$(grep -vc '^#' "$WORK/load/tags.txt")
echo
echo "listener with $PEERS announcers x $FILES files at 1 s for ${SECONDS_LOAD}s (+ ${t_all}s until all $entries entries were in tags.txt):"
awk -v t=$ticks -v hz=$hz -v s=$SECONDS_LOAD -v a=$t_all 'BEGIN { printf "  CPU time %.2f s = %.1f%% of one core; ", t/hz, 100*t/hz/(s+a) }'
echo "peak RSS $((rss / 1024)) MiB; tags.txt $(stat -c %s "$WORK/load/tags.txt") bytes"
