#!/usr/bin/env bash
# Transfer benchmarks, each beside a well-known tool in the same run:
#   single source: 1 GiB, one seeder -> one downloader, vs curl from nginx
#                  (sendfile on) and vs curl + sha256sum; peak RSS of both sides.
#   multi source:  256 MiB from four seeders each limited to 25 MB/s, vs aria2c
#                  from four nginx servers each limited the same way.
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

best_ls=999999; best_ns=999999; best_curl=999999; best_cs=999999; dl_rss=0
for run in 1 2 3; do
  rm -rf "$WORK/d1/downloads" "$WORK/d1/temp" "$WORK/curl.bin"
  sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true
  cat "$WORK/s0/share/big.bin" > /dev/null   # warm source cache for every tool alike
  t0=$(now)
  /usr/bin/time -f %M -o "$WORK/dl.rss" "$BIN/lanswarm-downloader" --dir "$WORK/d1" --quiet big.bin
  t1=$(now)
  t_ls=$(elapsed "$t0" "$t1")
  rss=$(cat "$WORK/dl.rss"); [ "$rss" -gt "$dl_rss" ] && dl_rss=$rss
  rm -rf "$WORK/d1/downloads"
  t0=$(now)
  "$BIN/lanswarm-downloader" --dir "$WORK/d1" --quiet --fsync 0 big.bin
  t1=$(now)
  t_ns=$(elapsed "$t0" "$t1")
  t0=$(now)
  curl -s -o "$WORK/curl.bin" "http://127.0.0.1:$((BASE_PORT + 2))/big.bin"
  t1=$(now)
  t_curl=$(elapsed "$t0" "$t1")
  sha256sum "$WORK/curl.bin" > /dev/null
  t2=$(now)
  t_cs=$(elapsed "$t0" "$t2")
  best_ls=$(awk -v a=$best_ls -v b=$t_ls 'BEGIN{print (b<a)?b:a}')
  best_ns=$(awk -v a=$best_ns -v b=$t_ns 'BEGIN{print (b<a)?b:a}')
  best_curl=$(awk -v a=$best_curl -v b=$t_curl 'BEGIN{print (b<a)?b:a}')
  best_cs=$(awk -v a=$best_cs -v b=$t_cs 'BEGIN{print (b<a)?b:a}')
  echo "run $run: lanswarm ${t_ls}s (fsync 0: ${t_ns}s)  curl/nginx ${t_curl}s  curl+sha256sum ${t_cs}s"
done
cmp -s "$WORK/s0/share/big.bin" "$WORK/d1/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
srv_rss=$(peak_rss_kib "$SERVER_PID")

echo
echo "single source, ${SIZE_MB} MiB over loopback (best of 3):"
printf "  %-34s %8s MB/s\n" "lanswarm (verified, fsync'ed)" "$(mbps $BYTES $best_ls)"
printf "  %-34s %8s MB/s\n" "lanswarm --fsync 0 (like curl)" "$(mbps $BYTES $best_ns)"
printf "  %-34s %8s MB/s\n" "curl from nginx (sendfile)" "$(mbps $BYTES $best_curl)"
printf "  %-34s %8s MB/s\n" "curl from nginx, then sha256sum" "$(mbps $BYTES $best_cs)"
echo "  ratio lanswarm / curl+nginx:           $(ratio $best_curl $best_ls)   (goal >= 0.9)"
echo "  ratio lanswarm --fsync 0 / curl+nginx: $(ratio $best_curl $best_ns)"
echo "  ratio lanswarm / curl+nginx+sha256sum: $(ratio $best_cs $best_ls)"
echo "  peak RSS: downloader $((dl_rss / 1024)) MiB, server $((srv_rss / 1024)) MiB   (goal <= 32 MiB each)"

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
t0=$(now)
"$BIN/lanswarm-downloader" --dir "$WORK/d2" --quiet multi.bin
t1=$(now)
t_ls=$(elapsed "$t0" "$t1")
mv "$WORK/d2/downloads/multi.bin" "$WORK/d2/first.bin"
t0=$(now)
"$BIN/lanswarm-downloader" --dir "$WORK/d2" --quiet --fsync 0 multi.bin
t1=$(now)
t_ns=$(elapsed "$t0" "$t1")
t0=$(now)
aria2c -q -d "$WORK/aria" -o multi.bin -s4 -x1 -j1 --min-split-size=8M --file-allocation=none \
  --allow-overwrite=true "${urls[@]}"
t1=$(now)
t_aria=$(elapsed "$t0" "$t1")
cmp -s "$WORK/m/share/multi.bin" "$WORK/d2/downloads/multi.bin" || { echo "bench: download differs!" >&2; exit 1; }
echo
echo "multi source, ${MULTI_MB} MiB from 4 peers each limited to 25 MB/s (aggregate 100 MB/s):"
printf "  %-34s %8s MB/s\n" "lanswarm (4 seeders)" "$(mbps $MBYTES $t_ls)"
printf "  %-34s %8s MB/s\n" "lanswarm --fsync 0" "$(mbps $MBYTES $t_ns)"
printf "  %-34s %8s MB/s\n" "aria2c (4 nginx, limit_rate)" "$(mbps $MBYTES $t_aria)"
echo "  lanswarm / 100 MB/s aggregate: $(awk -v b=$MBYTES -v s=$t_ls 'BEGIN{printf "%.2f", b/s/1e8}')   (goal >= 0.9)"
echo "  lanswarm --fsync 0 / 100 MB/s: $(awk -v b=$MBYTES -v s=$t_ns 'BEGIN{printf "%.2f", b/s/1e8}')"
echo "  ratio lanswarm / aria2c:       $(ratio $t_aria $t_ls)   (goal >= 1)"
