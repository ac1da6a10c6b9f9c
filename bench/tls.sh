#!/usr/bin/env bash
# The cost of the network key's TLS: the same 1 GiB one-source download with
# and without a key, in the same run (best of 3 each, alternated), beside
# `openssl speed` for AES-128-GCM on this CPU (what the records cost at most).
# SIZE_MB overrides the size. BIN_BEFORE=DIR also measures another build
# (its own seeders, with and without the key) in the same runs, for a
# before/after of the ratio. Beside the times: CPU seconds of server +
# downloader (steadier than times on a shared machine) and peak RSS.
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1024}

# Two seeders of the same file (one keyed), each heard by its own listener.
tls_files
start_seeder "$WORK/plain" plain $((BASE_PORT + 1)) $((BASE_PORT + 3))
SRV_p=$SEEDER_SERVER_PID
# The keyed seeder by hand: start_seeder gives its options to the server only.
for d in server announcer; do
  "$BIN/lanswarm-$d" --dir "$WORK/keyed" --tag keyed --port $((BASE_PORT + 2)) --udp-port $((BASE_PORT + 4)) \
    --broadcast $BC --interval 5 --key-file "$KEY" --log-level warn &
  PIDS+=($!)
  [ $d = server ] && SRV_k=$!
done
wait_for port_open $((BASE_PORT + 2))
"$BIN/lanswarm-listener" --dir "$WORK/dp" --udp-port $((BASE_PORT + 3)) --log-level warn &
PIDS+=($!)
"$BIN/lanswarm-listener" --dir "$WORK/dk" --udp-port $((BASE_PORT + 4)) --key-file "$KEY" --log-level warn &
PIDS+=($!)
if [ -n "${BIN_BEFORE:-}" ]; then
  mkdir -p "$WORK/before/share" "$WORK/db"
  ln "$WORK/plain/share/big.bin" "$WORK/before/share/big.bin"
  for d in server announcer; do
    "$BIN_BEFORE/lanswarm-$d" --dir "$WORK/before" --tag before --port $((BASE_PORT + 5)) \
      --udp-port $((BASE_PORT + 6)) --broadcast $BC --interval 5 --key-file "$KEY" --log-level warn &
    PIDS+=($!)
    [ $d = server ] && SRV_b=$!
  done
  wait_for port_open $((BASE_PORT + 5))
  "$BIN_BEFORE/lanswarm-listener" --dir "$WORK/db" --udp-port $((BASE_PORT + 6)) --key-file "$KEY" --log-level warn &
  PIDS+=($!)
  wait_for grep -qs big.bin "$WORK/db/tags.txt"
  mkdir -p "$WORK/beforep/share" "$WORK/dbp"
  ln "$WORK/plain/share/big.bin" "$WORK/beforep/share/big.bin"
  save_bin=$BIN; BIN=$BIN_BEFORE
  start_seeder "$WORK/beforep" beforep $((BASE_PORT + 7)) $((BASE_PORT + 8))
  BIN=$save_bin; SRV_bp=$SEEDER_SERVER_PID
  "$BIN_BEFORE/lanswarm-listener" --dir "$WORK/dbp" --udp-port $((BASE_PORT + 8)) --log-level warn &
  PIDS+=($!)
  wait_for grep -qs big.bin "$WORK/dbp/tags.txt"
fi
wait_for grep -qs big.bin "$WORK/dp/tags.txt"
wait_for grep -qs big.bin "$WORK/dk/tags.txt"

run() { # BIN DIR SERVER_PID [key args]: "seconds cpu-seconds rss-MiB" for one download
  # (CPU: downloader + server; peak RSS: the downloader's)
  local bin=$1 dir=$2 srv=$3; shift 3
  rm -rf "$dir/downloads" "$dir/temp"
  cpu_run "$srv" "$bin/lanswarm-downloader" --dir "$dir" --quiet --fsync 0 "$@" big.bin
}
best_p=999999; best_k=999999; best_b=999999; best_bp=999999; cpu_p=0; cpu_k=0; cpu_b=0; cpu_bp=0
cat "$WORK/plain/share/big.bin" > /dev/null
for i in 1 2 3; do
  read -r tp cp rp < <(run "$BIN" "$WORK/dp" $SRV_p)
  read -r tk ck rk < <(run "$BIN" "$WORK/dk" $SRV_k --key-file "$KEY")
  best_p=$(least $best_p $tp); cpu_p=$(awk -v a=$cpu_p -v b=$cp 'BEGIN{print a + b / 3}')
  best_k=$(least $best_k $tk); cpu_k=$(awk -v a=$cpu_k -v b=$ck 'BEGIN{print a + b / 3}')
  tb=-; cb=-; tbp=-; cbp=-
  if [ -n "${BIN_BEFORE:-}" ]; then
    read -r tbp cbp rbp < <(run "$BIN_BEFORE" "$WORK/dbp" $SRV_bp)
    best_bp=$(least $best_bp $tbp); cpu_bp=$(awk -v a=$cpu_bp -v b=$cbp 'BEGIN{print a + b / 3}')
    read -r tb cb rb < <(run "$BIN_BEFORE" "$WORK/db" $SRV_b --key-file "$KEY")
    best_b=$(least $best_b $tb); cpu_b=$(awk -v a=$cpu_b -v b=$cb 'BEGIN{print a + b / 3}')
  fi
  echo "run $i: no key ${tp}s (CPU ${cp}s)  key (TLS 1.3) ${tk}s (CPU ${ck}s)  before: no key ${tbp}s (CPU ${cbp}s) key ${tb}s (CPU ${cb}s);" \
    "downloader peak RSS ${rp} / ${rk} / ${rb:--} MiB"
done
cmp -s "$WORK/plain/share/big.bin" "$WORK/dk/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
gcm=$(openssl speed -evp aes-128-gcm -bytes 16384 -seconds 1 2>/dev/null | awk '/^AES-128-GCM|^aes-128-gcm/ {print $NF}')
hwm() { awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
echo
echo "servers' peak RSS: no key $(hwm $SRV_p) MiB, key $(hwm $SRV_k) MiB${BIN_BEFORE:+, key before $(hwm $SRV_b) MiB}"
echo "TLS cost, ${SIZE_MB} MiB one source over loopback, --fsync 0 (best of 3):"
printf "  %-34s %8s MB/s   CPU %5.2f s (server + downloader, mean)\n" "lanswarm, no key" "$(mbps $BYTES $best_p)" $cpu_p
printf "  %-34s %8s MB/s   CPU %5.2f s\n" "lanswarm, key (TLS 1.3 PSK)" "$(mbps $BYTES $best_k)" $cpu_k
printf "  %-34s %8s MB/s\n" "openssl speed aes-128-gcm 16 KiB" "$(awk -v k="${gcm%k}" 'BEGIN{printf "%.1f", k*1000/1e6}')"
echo "  ratio key / no key: $(ratio $best_p $best_k)   (goal >= 0.9); CPU key / no key: $(ratio $cpu_k $cpu_p)"
if [ -n "${BIN_BEFORE:-}" ]; then
  cmp -s "$WORK/plain/share/big.bin" "$WORK/db/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
  echo "  before ($BIN_BEFORE), same runs:"
  printf "  %-34s %8s MB/s   CPU %5.2f s\n" "lanswarm, no key" "$(mbps $BYTES $best_bp)" $cpu_bp
  printf "  %-34s %8s MB/s   CPU %5.2f s\n" "lanswarm, key (TLS 1.3 PSK)" "$(mbps $BYTES $best_b)" $cpu_b
  echo "  ratio key / no key, before: $(ratio $best_bp $best_b); CPU key / no key: $(ratio $cpu_b $cpu_bp)"
fi
