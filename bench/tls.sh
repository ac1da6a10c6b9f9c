#!/usr/bin/env bash
# The cost of the network key's TLS: the same 1 GiB one-source download with
# and without a key, in the same run (best of 3 each, alternated), beside
# `openssl speed` for AES-128-GCM on this CPU (what the records cost at most).
# SIZE_MB overrides the size.
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1024}
KEY=$WORK/key
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"

# Two seeders of the same file (one keyed), each heard by its own listener.
mkdir -p "$WORK/plain/share" "$WORK/keyed/share" "$WORK/dp" "$WORK/dk"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/plain/share/big.bin"
ln "$WORK/plain/share/big.bin" "$WORK/keyed/share/big.bin"
BYTES=$(stat -c %s "$WORK/plain/share/big.bin")
start_seeder "$WORK/plain" plain $((BASE_PORT + 1)) $((BASE_PORT + 3))
# The keyed seeder by hand: start_seeder gives its options to the server only.
for d in server announcer; do
  "$BIN/lanswarm-$d" --dir "$WORK/keyed" --tag keyed --port $((BASE_PORT + 2)) --udp-port $((BASE_PORT + 4)) \
    --broadcast $BC --interval 5 --key-file "$KEY" --log-level warn &
  PIDS+=($!)
done
wait_for port_open $((BASE_PORT + 2))
"$BIN/lanswarm-listener" --dir "$WORK/dp" --udp-port $((BASE_PORT + 3)) --log-level warn &
PIDS+=($!)
"$BIN/lanswarm-listener" --dir "$WORK/dk" --udp-port $((BASE_PORT + 4)) --key-file "$KEY" --log-level warn &
PIDS+=($!)
wait_for grep -q big.bin "$WORK/dp/tags.txt"
wait_for grep -q big.bin "$WORK/dk/tags.txt"

run() { # DIR [key args]: seconds for one download
  local dir=$1; shift
  rm -rf "$dir/downloads" "$dir/temp"
  local t0 t1
  t0=$(now)
  "$BIN/lanswarm-downloader" --dir "$dir" --quiet --fsync 0 "$@" big.bin
  t1=$(now)
  elapsed "$t0" "$t1"
}
best_p=999999; best_k=999999
cat "$WORK/plain/share/big.bin" > /dev/null
for i in 1 2 3; do
  tp=$(run "$WORK/dp")
  tk=$(run "$WORK/dk" --key-file "$KEY")
  best_p=$(awk -v a=$best_p -v b=$tp 'BEGIN{print (b<a)?b:a}')
  best_k=$(awk -v a=$best_k -v b=$tk 'BEGIN{print (b<a)?b:a}')
  echo "run $i: no key ${tp}s  key (TLS 1.3) ${tk}s"
done
cmp -s "$WORK/plain/share/big.bin" "$WORK/dk/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
gcm=$(openssl speed -evp aes-128-gcm -bytes 16384 -seconds 1 2>/dev/null | awk '/^AES-128-GCM|^aes-128-gcm/ {print $NF}')
echo
echo "TLS cost, ${SIZE_MB} MiB one source over loopback, --fsync 0 (best of 3):"
printf "  %-34s %8s MB/s\n" "lanswarm, no key" "$(mbps $BYTES $best_p)"
printf "  %-34s %8s MB/s\n" "lanswarm, key (TLS 1.3 PSK)" "$(mbps $BYTES $best_k)"
printf "  %-34s %8s MB/s\n" "openssl speed aes-128-gcm 16 KiB" "$(awk -v k="${gcm%k}" 'BEGIN{printf "%.1f", k*1000/1e6}')"
echo "  ratio key / no key: $(ratio $best_p $best_k)   (goal >= 0.9)"
