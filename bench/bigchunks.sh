#!/usr/bin/env bash
# Peak RSS at the chunk sizes of files past 128 GiB (2-16 MiB; docs/PROTOCOL.md,
# section 2), without hashing a terabyte: a SIZE_MB (256) MiB file shared by
# seeders whose max_chunks (lanswarm.conf) gives it chunks of each size of
# CHUNKS (MiB; "1 2 4 8 16": 1 MiB is today's, for comparison). For each size:
# one source and four sources over loopback, fsync on, best of RUNS (2); the
# peak RSS (VmHWM) of the downloader and of the servers (the largest of the
# four, measured after the download: hashing at start counts too), beside the
# goal (<= 32 MiB); the throughput beside curl from nginx followed by
# `sync FILE` in the same runs. With KEYED=1 (default) the same at the largest
# size with a network key (TLS 1.3: no sendfile, buffers on both ends). With
# MANIFEST=1 (default) also the largest manifest, a 2 TiB file's (131072
# chunks: MANIFEST_MB=128 MiB at 1 KiB chunks), one source, RSS only.
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-256}
CHUNKS=${CHUNKS:-"1 2 4 8 16"}
RUNS=${RUNS:-2}
KEYED=${KEYED:-1}
MANIFEST=${MANIFEST:-1}
MANIFEST_MB=${MANIFEST_MB:-128}
GOAL_MIB=32

mkdir -p "$WORK/src"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/src/big.bin"
BYTES=$(stat -c %s "$WORK/src/big.bin")
KEY=$WORK/key
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"
start_nginx "$WORK/src" $((BASE_PORT + 9))

# curl from nginx then `sync FILE`: seconds.
curl_sync() {
  local t0 t1
  rm -f "$WORK/curl.bin"
  sync
  t0=$(now)
  curl -s -o "$WORK/curl.bin" "http://127.0.0.1:$((BASE_PORT + 9))/big.bin"
  sync "$WORK/curl.bin"
  t1=$(now)
  elapsed "$t0" "$t1"
}

# group CHUNK_BYTES CONF KEYARGS...: four seeders (s0-s3, ports BASE+1..4)
# of the file with CONF in their lanswarm.conf, at CHUNK_BYTES chunks, heard
# by one listener (UDP BASE+5); sets GROUP (their pids) and SERVERS (the
# servers' pids), the downloader's folder $WORK/d.
group() {
  local chunk=$1 conf=$2 i d; shift 2
  GROUP=(); SERVERS=()
  rm -rf "$WORK/d" "$WORK"/s?
  mkdir -p "$WORK/d"
  for i in 0 1 2 3; do
    d=$WORK/s$i
    mkdir -p "$d/share"
    ln "$WORK/src/big.bin" "$d/share/big.bin"
    echo "$conf" > "$d/lanswarm.conf"
    for p in server announcer; do
      "$BIN/lanswarm-$p" --dir "$d" --tag "s$i" --port $((BASE_PORT + 1 + i)) --udp-port $((BASE_PORT + 5)) \
        --broadcast $BC --interval 5 --log-level warn "$@" &
      GROUP+=($!)
      [ $p = server ] && SERVERS+=($!)
    done
  done
  "$BIN/lanswarm-listener" --dir "$WORK/d" --udp-port $((BASE_PORT + 5)) --log-level warn "$@" &
  GROUP+=($!)
  PIDS+=("${GROUP[@]}")
  four() { [ "$(awk -F'\t' -v c="$chunk" '$8 == "big.bin" && $5 == c' "$WORK/d/tags.txt" 2>/dev/null | wc -l)" = 4 ]; }
  wait_for four
}
group_stop() {
  local p
  for p in "${GROUP[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${GROUP[@]}"; do wait "$p" 2>/dev/null || true; done
}
servers_rss() { # the largest VmHWM of the group's servers, KiB
  local p m=0 r
  for p in "${SERVERS[@]}"; do r=$(peak_rss_kib "$p"); [ "$r" -gt $m ] && m=$r; done
  echo $m
}

# dl ARGS...: one download into $WORK/d; prints "seconds rss-KiB".
dl() {
  local t0 t1
  rm -rf "$WORK/d/downloads" "$WORK/d/temp"
  sync
  t0=$(now)
  /usr/bin/time -f %M -o "$WORK/dl.rss" "$BIN/lanswarm-downloader" --dir "$WORK/d" --quiet "$@" big.bin
  t1=$(now)
  cmp -s "$WORK/src/big.bin" "$WORK/d/downloads/big.bin" || { echo "bench: download differs!" >&2; exit 1; }
  echo "$(elapsed "$t0" "$t1") $(cat "$WORK/dl.rss")"
}

# measure LABEL CHUNK_MIB KEYARGS...: one row: one source, then four sources.
measure() {
  local label=$1 mib=$2 run t c r1 r4 best1=999999 best4=999999 bestc=999999 rss1=0 rss4=0; shift 2
  group $((mib << 20)) "max_chunks = $((SIZE_MB / mib))" "$@"
  cat "$WORK/src/big.bin" > /dev/null
  for run in $(seq "$RUNS"); do
    c=$(curl_sync); bestc=$(least $bestc "$c")
    read -r t r1 < <(dl --from s0 "$@"); best1=$(least $best1 "$t"); [ "$r1" -gt $rss1 ] && rss1=$r1
    read -r t r4 < <(dl "$@"); best4=$(least $best4 "$t"); [ "$r4" -gt $rss4 ] && rss4=$r4
  done
  printf "  %-12s %8s %8s %8s %8s %10s %10s %8s %8s\n" "$label" "$(mbps $BYTES $best1)" "$(ratio $bestc $best1)" \
    "$(mbps $BYTES $best4)" "$(ratio $bestc $best4)" "$((rss1 / 1024)) / $((rss4 / 1024))" \
    "$(($(servers_rss) / 1024))" "$(mbps $BYTES $bestc)" "$GOAL_MIB"
  group_stop
}

echo "${SIZE_MB} MiB over loopback, fsync on, best of $RUNS; ratios to curl from nginx then sync FILE (same runs);"
echo "peak RSS in MiB (downloader one source / four sources; servers: the largest of four)"
printf "  %-12s %8s %8s %8s %8s %10s %10s %8s %8s\n" chunk "1 src" ratio "4 src" ratio "dl RSS" "srv RSS" curl goal
for mib in $CHUNKS; do measure "$mib MiB" "$mib"; done
if [ "$KEYED" = 1 ]; then
  top=$(echo $CHUNKS | tr ' ' '\n' | sort -n | tail -1)
  measure "$top MiB, key" "$top" --key-file "$KEY"
fi
if [ "$MANIFEST" = 1 ]; then
  # The file is now MANIFEST_MB MiB (cmp in dl compares with it).
  head -c $((MANIFEST_MB * 1024 * 1024)) /dev/urandom > "$WORK/src/big.bin"
  echo "the largest manifest ($((MANIFEST_MB << 10)) chunks of 1 KiB, as many as a 2 TiB file has), one source, --fsync 0:"
  for keyed in 0 $([ "$KEYED" = 1 ] && echo 1); do
    key=(); [ "$keyed" = 1 ] && key=(--key-file "$KEY")
    group 1024 "chunk_size = 1K" "${key[@]}"
    read -r t r1 < <(dl --from s0 --fsync 0 "${key[@]}")
    echo "  $([ "$keyed" = 1 ] && echo "with a key: " || echo "")peak RSS downloader $((r1 / 1024)) MiB," \
      "server $(($(servers_rss) / 1024)) MiB (goal $GOAL_MIB); ${t} s"
    group_stop
  done
fi
