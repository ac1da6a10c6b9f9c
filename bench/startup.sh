#!/usr/bin/env bash
# A peer's first start on a share of one big file (BIG_MB, 1024 MiB), page
# cache warm, no manifest cached: the announcer and the server start together
# (as `lanswarm up` starts them) and both need the file's manifest. Timed
# from their start to both ready (the server's log says it serves the file,
# the announcer's that its share holds it), best of RUNS=3, and the CPU
# seconds both used. The reference is `openssl dgst -sha256` over the same
# file on one process (hashing it once, on one core), in the same run.
# BEFORE_BIN=DIR times another build (say, the commit before) in the same runs.
source "$(dirname "$0")/lib.sh"
BIG_MB=${BIG_MB:-1024}
RUNS=${RUNS:-3}
mkdir -p "$WORK/p/share"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom > "$WORK/p/share/big.bin"
cat "$WORK/p/share/big.bin" > /dev/null

# Prints "SECONDS CPU_SECONDS" for BIN.
start_both() {
  local bin=$1 d=$WORK/p port=$((BASE_PORT + 1)) t0 t1 s a
  rm -rf "$d/cache"
  t0=$(now)
  "$bin/lanswarm-server" --dir "$d" --tag b --port "$port" --listen-addr 127.0.0.1 --log-level info 2> "$WORK/s.err" &
  s=$!
  "$bin/lanswarm-announcer" --dir "$d" --tag b --port "$port" --broadcast "$BC" --udp-port $((port + 1)) \
    --log-level info 2> "$WORK/a.err" &
  a=$!
  PIDS+=("$s" "$a")
  wait_for grep -q "serving 1 file" "$WORK/s.err"
  wait_for grep -q "share: 1 file" "$WORK/a.err"
  t1=$(now)
  local cpu
  cpu=$(awk '{ t += $14 + $15 } END { printf "%.2f", t / '"$(getconf CLK_TCK)"' }' "/proc/$s/stat" "/proc/$a/stat")
  kill "$s" "$a"; wait "$s" "$a" 2>/dev/null || true
  echo "$(elapsed "$t0" "$t1") $cpu"
}

best_ref=999 best=999 best_before=999 cpu=0 cpu_before=0
for ((run = 1; run <= RUNS; run++)); do
  t0=$(now); openssl dgst -sha256 "$WORK/p/share/big.bin" > /dev/null; t1=$(now)
  r=$(elapsed "$t0" "$t1"); best_ref=$(least "$best_ref" "$r")
  read -r t c < <(start_both "$BIN")
  [ "$(least "$best" "$t")" = "$t" ] && cpu=$c
  best=$(least "$best" "$t")
  line="run $run: openssl ${r}s, lanswarm ${t}s (cpu ${c}s)"
  if [ -n "${BEFORE_BIN:-}" ]; then
    read -r t c < <(start_both "$BEFORE_BIN")
    [ "$(least "$best_before" "$t")" = "$t" ] && cpu_before=$c
    best_before=$(least "$best_before" "$t")
    line="$line, before ${t}s (cpu ${c}s)"
  fi
  echo "$line"
done
echo "first start, one file of $BIG_MB MiB, announcer + server together (best of $RUNS):"
printf "  %-44s %8ss\n" "openssl dgst -sha256, one process" "$best_ref"
printf "  %-44s %8ss  (cpu %ss)  ratio %s\n" "lanswarm: start to both ready" "$best" "$cpu" "$(ratio "$best_ref" "$best")"
if [ -n "${BEFORE_BIN:-}" ]; then
  printf "  %-44s %8ss  (cpu %ss)  ratio %s\n" "before ($BEFORE_BIN)" "$best_before" "$cpu_before" \
    "$(ratio "$best_ref" "$best_before")"
fi
