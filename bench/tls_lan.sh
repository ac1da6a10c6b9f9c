#!/usr/bin/env bash
# The network key's cost where a LAN's wire, not the CPU, is the limit: one
# seeder and one downloader in two network namespaces on a bridge
# (198.18.0.0/24, made here and removed on exit), each cable capped by tc's
# token bucket at each rate of RATES (default "1gbit 2.5gbit none": a 1 GbE
# LAN, a 2.5 GbE one, the bridge uncapped), the same file with and without a
# key (TLS 1.3 PSK), beside curl from nginx (plain HTTP, sendfile) on the same
# cable; best of 3 each, alternated, `--fsync 0`. Beside the times: CPU
# seconds of server + downloader (mean of 3). Needs root. SIZE_MB overrides
# the size (default 512).
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-512}
RATES=${RATES:-1gbit 2.5gbit none}
P=lst$$
netns_lan "$P" 2
tls_files
# Host 2 seeds the file twice (a plain seeder on 41770/41771, a keyed one on
# 41772/41773, each with its own listener on host 1) and serves it by nginx.
seeder() { # DIR TAG UDP TCP [key args]: server and announcer on host 2; sets SRV
  local dir=$1 tag=$2 udp=$3 tcp=$4 d; shift 4
  for d in server announcer; do
    ip netns exec ${P}h2 "$BIN/lanswarm-$d" --dir "$dir" --tag "$tag" --udp-port "$udp" --port "$tcp" \
      --interval 5 --log-level warn "$@" &
    [ $d = server ] && SRV=$!
  done
  ip netns exec ${P}h1 "$BIN/lanswarm-listener" --dir "$WORK/d${tag:0:1}" --udp-port "$udp" --log-level warn "$@" &
}
seeder "$WORK/plain" plain 41770 41771; SRV_p=$SRV
seeder "$WORK/keyed" keyed 41772 41773 --key-file "$KEY"; SRV_k=$SRV
start_nginx "$WORK/plain/share" 8080 "" 198.18.0.2 ${P}h2
wait_for grep -qs big.bin "$WORK/dp/tags.txt"
wait_for grep -qs big.bin "$WORK/dk/tags.txt"
cache_ready() { [ -n "$(ls "$1/cache" 2>/dev/null)" ]; }
wait_for cache_ready "$WORK/plain"; wait_for cache_ready "$WORK/keyed"
cat "$WORK/plain/share/big.bin" > /dev/null   # the source in the page cache, for all alike

run() { # DIR SERVER_PID [key args]: "seconds cpu-seconds rss-MiB" for one download on host 1
  local dir=$1 srv=$2; shift 2
  rm -rf "$dir/downloads" "$dir/temp"
  cpu_run "$srv" ip netns exec ${P}h1 "$BIN/lanswarm-downloader" --dir "$dir" --quiet --fsync 0 "$@" big.bin
}
mean3() { awk -v a="$1" -v b="$2" 'BEGIN{print a + b / 3}'; }
declare -A OUT
for rate in $RATES; do
  netns_cap "$P" 1 "$rate"; netns_cap "$P" 2 "$rate"
  best_c=999999; best_p=999999; best_k=999999; cpu_p=0; cpu_k=0
  for i in 1 2 3; do
    rm -f "$WORK/curl.bin"
    t0=$(now); ip netns exec ${P}h1 curl -s -o "$WORK/curl.bin" http://198.18.0.2:8080/big.bin; t1=$(now)
    tc_=$(elapsed "$t0" "$t1"); rm -f "$WORK/curl.bin"
    read -r tp cp _ < <(run "$WORK/dp" $SRV_p)
    read -r tk ck _ < <(run "$WORK/dk" $SRV_k --key-file "$KEY")
    echo "cap $rate, run $i: curl/nginx ${tc_}s  no key ${tp}s (CPU ${cp}s)  key ${tk}s (CPU ${ck}s)"
    best_c=$(least $best_c $tc_); best_p=$(least $best_p $tp); best_k=$(least $best_k $tk)
    cpu_p=$(mean3 $cpu_p $cp); cpu_k=$(mean3 $cpu_k $ck)
  done
  cmp -s "$WORK/plain/share/big.bin" "$WORK/dk/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
  OUT[$rate]=$(printf "  %-8s %8s %8s %8s   %5s   %5.2f s %5.2f s   %s" "$rate" "$(mbps $BYTES $best_c)" \
    "$(mbps $BYTES $best_p)" "$(mbps $BYTES $best_k)" "$(ratio $best_p $best_k)" $cpu_p $cpu_k "$(ratio $cpu_k $cpu_p)")
done
echo
echo "TLS cost across a namespaced bridge, ${SIZE_MB} MiB one source, --fsync 0 (best of 3; MB/s):"
printf "  %-8s %8s %8s %8s   %5s   %-17s   %s\n" cap curl no-key key ratio "CPU no key / key" "CPU ratio"
for rate in $RATES; do echo "${OUT[$rate]}"; done
echo "  (ratio: key / no key throughput, goal >= 0.9; CPU: server + downloader, mean of 3)"
