#!/usr/bin/env bash
# Join benchmark: N peers on loopback (listener + announcer each, interval 60,
# FILES files each); then a late joiner's listener starts, RUNS times:
#   latency:   from its start to every peer's files in its tags.txt (median),
#              at most JOIN_TIMEOUT seconds (rounds alone would take up to 60 s);
#   datagrams: what one join costs: the query (one per target) and the
#              answers the joiner receives (from its listener's counters).
# Usage: join.sh [N]   N = 20 by default; 200 for a LAN-sized run.
source "$(dirname "$0")/lib.sh"
N=${1:-20}
FILES=${FILES:-5}
RUNS=${RUNS:-3}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-10}
UDP=$((BASE_PORT + 5))

for p in $(seq 1 "$N"); do
  d="$WORK/p$p"
  mkdir -p "$d/share"
  for f in $(seq 1 "$FILES"); do printf 'peer %d file %d' "$p" "$f" > "$d/share/file-$f.dat"; done
  for daemon in listener announcer; do
    "$BIN/lanswarm-$daemon" --dir "$d" --tag "peer$p" --port $((10000 + p)) --udp-port $UDP --broadcast $BC \
      --interval 60 --log-level error &
    PIDS+=($!)
  done
done
rounds_written() { for p in $(seq 1 "$N"); do [ -e "$WORK/p$p/run/round" ] || return 1; done; }
# (an announcer older than the query writes none: then wait 5 s for the peers' first rounds)
deadline=$((SECONDS + 5)); until rounds_written || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
# Every listener here asks from 127.0.0.1, and a peer answers one address at
# most once per 2 s: let the peers' own start-up queries' window pass.
sleep 2.2

want=$((N * FILES))
lat=()
for run in $(seq 1 "$RUNS"); do
  d="$WORK/joiner$run"
  mkdir -p "$d"
  t0=$(now)
  "$BIN/lanswarm-listener" --dir "$d" --tag "joiner$run" --udp-port $UDP --broadcast $BC --interval 60 \
    --log-level info 2>"$d/listener.log" &
  jpid=$!
  deadline=$((SECONDS + JOIN_TIMEOUT))
  until [ "$(grep -vc '^#' "$d/tags.txt" 2>/dev/null)" = "$want" ] || [ $SECONDS -ge $deadline ]; do sleep 0.01; done
  if [ "$(grep -vc '^#' "$d/tags.txt" 2>/dev/null)" = "$want" ]; then lat+=("$(elapsed "$t0" "$(now)")")
  else lat+=(">$JOIN_TIMEOUT"); fi
  kill -TERM $jpid; wait $jpid || true
  sleep 2.1 # the next joiner asks from the same address
done
line=$(grep -o 'datagrams=[0-9]*.*' "$WORK/joiner$RUNS/listener.log" | tail -1)
field() { echo "$line" | tr ' (' '\n\n' | sed -n "s/^$1=\([0-9]*\).*/\1/p"; }
received=$(field datagrams); queries=$(field queries_sent)
queries=${queries:-0}
answers=$((received - queries)) # its own query is heard back once per target
# The datagrams of every peer's round file: what a full set of answers holds.
pages=$(/usr/bin/python3 -c '
import sys
n = 0
for path in sys.argv[1:]:
    d = open(path, "rb").read()
    while d:
        d = d[2 + int.from_bytes(d[:2], "big"):]
        n += 1
print(n)' $(ls "$WORK"/p*/run/round 2>/dev/null))
median=$(printf '%s\n' "${lat[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
printf '%-6s %-10s %-22s %-26s %-14s %s\n' peers files/peer "join latency (median)" "runs" "query sent" "answer datagrams received"
printf '%-6s %-10s %-22s %-26s %-14s %s\n' "$N" "$FILES" "${median}s" "${lat[*]}" "$queries" "$answers (the rounds hold $pages)"
echo "  (latency: listener start to all $want entries in tags.txt; interval 60, so without the query it is up to 60 s)"
