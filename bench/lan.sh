#!/usr/bin/env bash
# Across a simulated LAN (two network namespaces on a bridge, 198.18.0.0/24,
# made here and removed on exit): one seeder, one downloader, against curl
# fetching the same file from nginx (sendfile) in the seeder's namespace, best
# of 3, alternated: with fsync beside curl followed by `sync FILE`, with
# --fsync 0 beside curl alone. Needs root.
# SIZE_MB overrides the file size (default 512); LINK_RATE caps each cable
# (tc's units, e.g. 1gbit; default: none, the bridge's own speed).
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-512}
LINK_RATE=${LINK_RATE:-none}
P=lsb$$
netns_lan "$P" 2
netns_cap "$P" 1 "$LINK_RATE"; netns_cap "$P" 2 "$LINK_RATE"
mkdir -p "$WORK/seed/share" "$WORK/dl"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/seed/share/big.bin"
BYTES=$(stat -c %s "$WORK/seed/share/big.bin")
C="--udp-port 41770 --port 41771 --interval 5 --log-level warn"
ip netns exec ${P}h2 "$BIN/lanswarm-server" --dir "$WORK/seed" --tag seed $C &
ip netns exec ${P}h2 "$BIN/lanswarm-announcer" --dir "$WORK/seed" --tag seed $C &
ip netns exec ${P}h1 "$BIN/lanswarm-listener" --dir "$WORK/dl" --tag dl $C &
start_nginx "$WORK/seed/share" 8080 "" 198.18.0.2 ${P}h2
seen() { grep -q big.bin "$WORK/dl/tags.txt" 2>/dev/null; }
wait_for seen
# The server hashes the share once on its own (cached): not in the runs.
cache_ready() { [ -n "$(ls "$WORK/seed/cache" 2>/dev/null)" ]; }
wait_for cache_ready
dl() { # seconds of one lanswarm download, extra options in "$@"
  rm -rf "$WORK/dl/downloads" "$WORK/dl/temp"; sync
  local t0 t1
  t0=$(now); ip netns exec ${P}h1 "$BIN/lanswarm-downloader" --dir "$WORK/dl" --tag dl --quiet "$@" big.bin; t1=$(now)
  elapsed "$t0" "$t1"
}
cat "$WORK/seed/share/big.bin" > /dev/null   # the source in the page cache, for both alike
best_ls=999999; best_ns=999999; best_curl=999999; best_sync=999999
for run in 1 2 3; do
  rm -f "$WORK/curl.bin"; sync
  t0=$(now); ip netns exec ${P}h1 curl -s -o "$WORK/curl.bin" http://198.18.0.2:8080/big.bin; t1=$(now)
  sync "$WORK/curl.bin"; t2=$(now)
  t_curl=$(elapsed "$t0" "$t1"); t_sync=$(elapsed "$t0" "$t2")
  rm -f "$WORK/curl.bin"
  t_ls=$(dl)
  t_ns=$(dl --fsync 0)
  echo "run $run: curl/nginx ${t_curl}s (+sync ${t_sync}s)  lanswarm ${t_ls}s (fsync 0: ${t_ns}s)"
  best_ls=$(least $best_ls $t_ls); best_ns=$(least $best_ns $t_ns)
  best_curl=$(least $best_curl $t_curl); best_sync=$(least $best_sync $t_sync)
done
cmp -s "$WORK/seed/share/big.bin" "$WORK/dl/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
echo
echo "single source across a namespaced bridge (link cap: $LINK_RATE), ${SIZE_MB} MiB (best of 3):"
printf "  %-34s %8s MB/s\n" "lanswarm (verified, fsync'ed)" "$(mbps $BYTES $best_ls)"
printf "  %-34s %8s MB/s\n" "lanswarm --fsync 0 (verified)" "$(mbps $BYTES $best_ns)"
printf "  %-34s %8s MB/s\n" "curl from nginx (sendfile)" "$(mbps $BYTES $best_curl)"
printf "  %-34s %8s MB/s\n" "curl from nginx, then sync" "$(mbps $BYTES $best_sync)"
echo "  ratio lanswarm / curl+sync:            $(ratio $best_sync $best_ls)   (goal >= 0.9)"
echo "  ratio lanswarm --fsync 0 / curl:       $(ratio $best_curl $best_ns)   (goal >= 0.9)"
