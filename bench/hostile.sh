#!/usr/bin/env bash
# The server under attack (issue 15): an honest one-source download over
# loopback (SIZE_MB, default 256 MiB, server rate unlimited, `--fsync 0`,
# best of 3) with no attack, then during each attack of bench/hostile.py in
# the same run, each as a ratio to the no-attack figure (measured first and
# last, the better of the two: the machine drifts):
#   nonread    2 connections from one address pipelining chunk requests, never reading
#   idle       300 idle connections (a HAVE every 2 s) from 10 addresses, 127.0.0.2-11
#   churn      32 connections closing with 16 requests in flight, again and again
#   slowloris  20 connections sending a byte now and then
# Beside each: the server's RSS and descriptors after it, and how the
# server's connections ended meanwhile (server.log's end=). Loopback only; each
# attack lasts the three downloads, at most ATTACK_SECONDS (120).
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-256}
ATTACK_SECONDS=${ATTACK_SECONDS:-120}
ATTACKS=${ATTACKS:-nonread idle churn slowloris}
PY=/usr/bin/python3
mkdir -p "$WORK/s/share" "$WORK/d"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/s/share/big.bin"
BYTES=$(stat -c %s "$WORK/s/share/big.bin")
PORT=$((BASE_PORT + 1))
start_seeder "$WORK/s" seed $PORT $BASE_PORT 2> "$WORK/seeder.err"   # its refusals: many
SRV=$SEEDER_SERVER_PID
"$BIN/lanswarm-listener" --dir "$WORK/d" --udp-port $BASE_PORT --log-level warn &
PIDS+=($!)
wait_for grep -qs big.bin "$WORK/d/tags.txt"
cache_ready() { [ -n "$(ls "$WORK/s/cache" 2>/dev/null)" ]; }
wait_for cache_ready
ROOT=$(awk -F'\t' '$8 == "big.bin" {print $3; exit}' "$WORK/d/tags.txt")
cat "$WORK/s/share/big.bin" > /dev/null

best3() { # best of 3 honest downloads, in seconds (a download that fails or outlasts 120 s counts as 999999)
  local best=999999 t0 t1 t
  for _ in 1 2 3; do
    rm -rf "$WORK/d/downloads" "$WORK/d/temp"
    t0=$(now)
    if timeout 120 "$BIN/lanswarm-downloader" --dir "$WORK/d" --quiet --fsync 0 big.bin; then
      t1=$(now); t=$(elapsed "$t0" "$t1")
      cmp -s "$WORK/s/share/big.bin" "$WORK/d/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
    else
      t=999999
    fi
    echo -n " ${t}s" >&2
    best=$(least $best $t)
  done
  echo "$best"
}
server_state() { # the server's RSS (MiB) and descriptors now
  echo "server $(awk '/VmRSS/ {printf "%d", $2 / 1024}' /proc/$SRV/status) MiB RSS, $(ls /proc/$SRV/fd | wc -l) fds"
}
ends_since() { # LINE: how connections ended in server.log after line LINE
  tail -n +$(($1 + 1)) "$WORK/s/server.log" | grep -o 'end=[a-z-]*' | sort | uniq -c | awk '{printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1}'
}

declare -A T
timeout 120 "$BIN/lanswarm-downloader" --dir "$WORK/d" --quiet --fsync 0 big.bin   # a first one, not counted
echo -n "no attack:" >&2; T[before]=$(best3); echo >&2
for a in $ATTACKS; do
  lines=$(wc -l < "$WORK/s/server.log" 2>/dev/null || echo 0)
  $PY "$(dirname "$0")/hostile.py" $a $PORT "$ROOT" $SIZE_MB "$ATTACK_SECONDS" > "$WORK/$a.out" 2> "$WORK/$a.err" &
  apid=$!; PIDS+=($apid)
  wait_for grep -qs ready "$WORK/$a.out"
  echo -n "$a:" >&2; T[$a]=$(best3)
  state="$(server_state); ends: $(ends_since "$lines")"
  kill $apid; wait $apid 2>/dev/null || true
  echo "  ($state; $(cat "$WORK/$a.err"))" >&2
done
echo -n "no attack, again:" >&2; T[after]=$(best3); echo >&2
T[none]=$(least ${T[before]} ${T[after]})   # the ratios are to the better of the two

echo
echo "honest one-source download under attack, ${SIZE_MB} MiB over loopback, --fsync 0 (best of 3):"
printf "  %-38s %8s MB/s (first), %s MB/s (last)\n" "no attack" "$(mbps $BYTES ${T[before]})" "$(mbps $BYTES ${T[after]})"
for a in $ATTACKS; do
  printf "  %-38s %8s MB/s   ratio %s\n" "$a" "$(mbps $BYTES ${T[$a]})" "$(ratio ${T[none]} ${T[$a]})"
done
echo "  (ratio: to the better no-attack figure)"
