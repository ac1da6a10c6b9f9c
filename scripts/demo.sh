#!/usr/bin/env bash
# make demo: three peers on loopback find each other and one downloads a
# file from the other two at once. Everything lives in a temporary folder
# that is removed at the end; nothing is sent beyond 127.255.255.255.
set -euo pipefail
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
DEMO=$(mktemp -d /tmp/lanswarm-demo.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DEMO"
}
trap cleanup EXIT INT TERM

# Ports from this shell's pid, so two demos side by side do not collide.
UDP=$((20000 + $$ % 20000))
BC=127.255.255.255
declare -A TCP=([alpha]=$((UDP + 1)) [beta]=$((UDP + 2)) [gamma]=$((UDP + 3)))
WEB=$((UDP + 4))

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Three peers in $DEMO (announcements on UDP $UDP to $BC)"
for peer in alpha beta gamma; do
  mkdir -p "$DEMO/$peer/share"
  cat > "$DEMO/$peer/lanswarm.conf" <<CONF
# $peer's configuration, read by all four of its daemons
tag = $peer
udp_port = $UDP
tcp_port = ${TCP[$peer]}
broadcast = $BC
interval = 2
rate_limit = 24M
log_file = $DEMO/$peer/daemons.log
CONF
done
echo "notes from alpha" > "$DEMO/alpha/share/alpha-notes.txt"
echo "recipe from beta" > "$DEMO/beta/share/beta-recipe.txt"
mkdir -p "$DEMO/gamma/share/photos"
head -c 300000 /dev/urandom > "$DEMO/gamma/share/photos/lake.jpg"
# The big file both alpha and beta share: gamma will take it from both.
head -c $((64 * 1024 * 1024)) /dev/urandom > "$DEMO/alpha/share/holiday-video.mp4"
cp "$DEMO/alpha/share/holiday-video.mp4" "$DEMO/beta/share/"

for peer in alpha beta gamma; do
  for d in listener server announcer; do
    "$BIN/lanswarm-$d" --dir "$DEMO/$peer" --log-level warn 2>>"$DEMO/$peer/$d.err" &
    PIDS+=($!)
  done
  echo "started $peer: listener, server (TCP ${TCP[$peer]}), announcer"
done
"$BIN/lanswarm-web" --dir "$DEMO/gamma" --web-port "$WEB" --log-level warn 2>>"$DEMO/gamma/web.err" &
PIDS+=($!)
for i in $(seq 50); do [ -s "$DEMO/gamma/web.url" ] && break; sleep 0.1; done
echo "started gamma's dashboard: $(cat "$DEMO/gamma/web.url" 2>/dev/null || echo '(did not start: see web.err)')"

say "gamma's tags.txt filling in"
for i in 1 2 3 4 5 6; do
  sleep 0.5
  n=$(grep -vc '^#' "$DEMO/gamma/tags.txt" 2>/dev/null || true)
  echo "after $((i * 500)) ms: $n entries"
  [ "$n" -ge 5 ] && break
done
awk -F'\t' '/^#/ {next} {printf "  %-6s %-16s %10s  %-8s %s\n", $1, $2, $4, $6, $8}' "$DEMO/gamma/tags.txt"

say "gamma downloads holiday-video.mp4 from alpha and beta at once (each limited to 24 MiB/s)"
"$BIN/lanswarm-downloader" --dir "$DEMO/gamma" holiday-video.mp4

say "verified: sha256sum of the original and the copy"
sha256sum "$DEMO/alpha/share/holiday-video.mp4" "$DEMO/gamma/downloads/holiday-video.mp4"

say "gamma's client.log"
cat "$DEMO/gamma/client.log"
say "alpha's and beta's server.log"
cat "$DEMO/alpha/server.log" "$DEMO/beta/server.log"

if [ -n "${DEMO_WAIT:-}" ]; then
  say "the swarm keeps running: open $(cat "$DEMO/gamma/web.url") in a browser; Ctrl-C ends the demo"
  while sleep 3600; do :; done
fi

say "beta leaves (SIGTERM): its goodbye removes it from alpha's tags.txt at once"
kill "${PIDS[5]}" # beta's announcer
sleep 0.5
cut -f1,8 "$DEMO/alpha/tags.txt"
say "done; the demo folder is removed (DEMO_WAIT=1 make demo keeps the swarm up to look at gamma's dashboard)"
