#!/usr/bin/env bash
# Across a simulated LAN (two network namespaces on a bridge, 198.18.0.0/24,
# made here and removed on exit): one seeder, one downloader, against curl
# fetching the same file from nginx on the seeder's namespace. Needs root.
# SIZE_MB overrides the file size (default 512).
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-512}
P=lsb$$
netns_lan "$P" 2
mkdir -p "$WORK/seed/share" "$WORK/dl"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/seed/share/big.bin"
BYTES=$(stat -c %s "$WORK/seed/share/big.bin")
C="--udp-port 41770 --port 41771 --interval 5 --log-level warn"
ip netns exec ${P}h2 "$BIN/lanswarm-server" --dir "$WORK/seed" --tag seed $C &
ip netns exec ${P}h2 "$BIN/lanswarm-announcer" --dir "$WORK/seed" --tag seed $C &
ip netns exec ${P}h1 "$BIN/lanswarm-listener" --dir "$WORK/dl" --tag dl $C &
prefix=$WORK/nginx
mkdir -p "$prefix/logs"
cat > "$prefix/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
error_log $prefix/logs/error.log; pid $prefix/nginx.pid;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on;
  server { listen 198.18.0.2:8080; root $WORK/seed/share; } }
CONF
ip netns exec ${P}h2 nginx -p "$prefix" -c "$prefix/nginx.conf" &
seen() { grep -q big.bin "$WORK/dl/tags.txt" 2>/dev/null; }
wait_for seen
best_ls=999999; best_curl=999999
for run in 1 2 3; do
  rm -rf "$WORK/dl/downloads" "$WORK/dl/temp" "$WORK/curl.bin"
  t0=$(now); ip netns exec ${P}h1 "$BIN/lanswarm-downloader" --dir "$WORK/dl" --tag dl --quiet --fsync 0 big.bin; t1=$(now)
  t_ls=$(elapsed $t0 $t1)
  t0=$(now); ip netns exec ${P}h1 curl -s -o "$WORK/curl.bin" http://198.18.0.2:8080/big.bin; t1=$(now)
  t_curl=$(elapsed $t0 $t1)
  echo "run $run: lanswarm ${t_ls}s  curl/nginx ${t_curl}s"
  best_ls=$(awk -v a=$best_ls -v b=$t_ls 'BEGIN{print (b<a)?b:a}')
  best_curl=$(awk -v a=$best_curl -v b=$t_curl 'BEGIN{print (b<a)?b:a}')
done
cmp -s "$WORK/seed/share/big.bin" "$WORK/dl/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
echo "across a namespaced bridge, ${SIZE_MB} MiB, best of 3 (both without fsync):"
echo "  lanswarm $(mbps $BYTES $best_ls) MB/s, curl from nginx $(mbps $BYTES $best_curl) MB/s, ratio $(ratio $best_curl $best_ls)"
