#!/usr/bin/env bash
# Airtime benchmark: the datagrams per minute one peer sends for an unchanged
# share of FILES files (10,000 by default) at the default interval (60 s).
#   before: pages, the round as it was sent before beats (the pages the round
#           needs, from the announcer's log: every page, every round);
#   after:  counted on the wire: a socket on the announcement port hears every
#           datagram of the peer for one minute after its first round.
# Usage: airtime.sh [FILES]   WINDOW=60 (seconds listened), INTERVAL=60.
source "$(dirname "$0")/lib.sh"
FILES=${1:-10000}
WINDOW=${WINDOW:-60}
INTERVAL=${INTERVAL:-60}
UDP=$((BASE_PORT + 7))
TCP=$((BASE_PORT + 8))
d="$WORK/big"
mkdir -p "$d/share"
/usr/bin/python3 -c '
import sys
for i in range(int(sys.argv[2])):
    open("%s/photo-%05d.jpg" % (sys.argv[1], i), "w").write("photo %d\n" % i)' "$d/share" "$FILES"

# The sniffer: on the port before the announcer starts; counts the peer's
# datagrams in the WINDOW seconds after its first round.
/usr/bin/python3 - "$UDP" "$WINDOW" > "$WORK/count" <<'PY' &
import json, select, socket, sys, time
port, window = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", port))
first, n, kinds, nbytes = None, 0, {}, 0
while True:
    left = 600 if first is None else first + window - time.monotonic()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        break
    data = s.recv(4096)
    if first is None:
        first = time.monotonic()  # the first round: the scan's; not counted
        continue
    if time.monotonic() - first < 1.0:
        continue  # the rest of that first round
    n += 1
    nbytes += len(data)
    t = json.loads(data).get("type", "?")
    kinds[t] = kinds.get(t, 0) + 1
print(n, nbytes, ",".join("%s:%d" % kv for kv in sorted(kinds.items())))
PY
SNIFF=$!
sleep 0.3
"$BIN/lanswarm-announcer" --dir "$d" --tag big --port "$TCP" --udp-port "$UDP" --broadcast $BC \
  --interval "$INTERVAL" --log-level debug 2>"$WORK/announcer.log" &
PIDS+=($!)
wait $SNIFF
read -r after after_bytes kinds < "$WORK/count"
pages=$(grep -o 'pages=[0-9]*' "$WORK/announcer.log" | head -1 | cut -d= -f2)
rounds=$(awk -v w="$WINDOW" -v i="$INTERVAL" 'BEGIN { printf "%d", w / i }')
before=$((pages * rounds))
printf '%-8s %-10s %-26s %-26s %s\n' files interval "before (pages) /min" "after (beats) /min" "after, on the wire"
printf '%-8s %-10s %-26s %-26s %s\n' "$FILES" "${INTERVAL}s" "$before ($pages a round)" "$after" "$after_bytes bytes ($kinds)"
echo "  (before: the pages one round needs, one round a minute; after: counted over ${WINDOW}s after the first round)"
