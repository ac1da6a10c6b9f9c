# Shared helpers for the benchmarks (sourced). Loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
BC=127.255.255.255
WORK=$(mktemp -d /tmp/lanswarm-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

BASE_PORT=$((30000 + ($$ % 2000) * 10))
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.1f", bytes / s / 1e6 }'; }
least() { awk -v a="$1" -v b="$2" 'BEGIN{print (b<a)?b:a}'; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wait_for CMD...: polls until CMD succeeds, at most 30 s.
wait_for() {
  local deadline=$((SECONDS + 30))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "bench: timed out waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# port_open_in NS PORT ADDR: port_open inside network namespace NS (none: here).
port_open_in() {
  local ns=$1; shift
  if [ -z "$ns" ]; then port_open "$@"; return; fi
  ip netns exec "$ns" bash -c 'exec 3<>"/dev/tcp/$1/$0"' "$@" 2>/dev/null
}

# nginx serving DIR on PORT from a private prefix; extra directives in $3;
# listening on loopback address $4 (default 127.0.0.1); in network namespace
# $5 if given (then $4 is an address of that namespace).
start_nginx() {
  local dir=$1 port=$2 extra=${3:-} addr=${4:-127.0.0.1} ns=${5:-}
  local prefix=$WORK/nginx-$port
  mkdir -p "$prefix/logs"
  cat > "$prefix/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $prefix/logs/error.log;
pid $prefix/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server {
    listen $addr:$port;
    root $dir;
    $extra
  }
}
CONF
  ${ns:+ip netns exec "$ns"} nginx -p "$prefix" -c "$prefix/nginx.conf" &
  PIDS+=($!)
  wait_for port_open_in "$ns" "$port" "$addr"
}

# A lanswarm seeder: server + announcer for DIR (share in DIR/share).
start_seeder() {
  local dir=$1 tag=$2 tcp=$3 udp=$4; shift 4
  "$BIN/lanswarm-server" --dir "$dir" --tag "$tag" --port "$tcp" --udp-port "$udp" --broadcast $BC \
    --log-level warn "$@" &
  PIDS+=($!)
  SEEDER_SERVER_PID=$!
  "$BIN/lanswarm-announcer" --dir "$dir" --tag "$tag" --port "$tcp" --udp-port "$udp" --broadcast $BC \
    --interval 5 --log-level warn &
  PIDS+=($!)
  wait_for port_open "$tcp"
}

# A simulated LAN for the benches that need root: netns_lan PREFIX N makes
# namespaces PREFIXh1..N, each with PREFIXeI (198.18.0.I/24) cabled to a
# bridge in PREFIXbr, and removes them (and what runs there) on exit. Without
# root it says why and exits 0.
NS=()
netns_cleanup() {
  for n in "${NS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.2
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  cleanup
}
netns_lan() {
  local P=$1 n=$2 i
  trap netns_cleanup EXIT INT TERM
  [ "$(id -u)" = 0 ] || { echo "bench/$(basename "$0"): needs root (network namespaces); skipped"; exit 0; }
  ip netns add "${P}br" && NS+=("${P}br")
  ip -n "${P}br" link add br0 type bridge && ip -n "${P}br" link set br0 up
  for i in $(seq 1 "$n"); do
    ip netns add "${P}h$i" && NS+=("${P}h$i")
    ip link add "${P}e$i" type veth peer name "${P}b$i"
    ip link set "${P}e$i" netns "${P}h$i"
    ip link set "${P}b$i" netns "${P}br"
    ip -n "${P}br" link set "${P}b$i" master br0 up
    ip -n "${P}h$i" addr add "198.18.0.$i/24" dev "${P}e$i"
    ip -n "${P}h$i" link set "${P}e$i" up
    ip -n "${P}h$i" link set lo up
  done
}

# netns_cap PREFIX I RATE: host I's cable of netns_lan carries at most RATE
# (tc's units: 1gbit, 2500mbit) each way, as a switched Ethernet link does:
# a token bucket on the egress of both ends of its veth. RATE none: no cap.
netns_cap() {
  local P=$1 i=$2 rate=$3 end
  for end in "${P}h$i ${P}e$i" "${P}br ${P}b$i"; do
    set -- $end
    if [ "$rate" = none ]; then
      tc -n "$1" qdisc del dev "$2" root 2>/dev/null || true
    else
      tc -n "$1" qdisc replace dev "$2" root tbf rate "$rate" burst 256kb latency 50ms
    fi
  done
}

# cpu_run SERVER_PID CMD...: runs CMD (a download; it may be `ip netns exec NS
# PROG ...`, which becomes PROG) and prints "seconds cpu-seconds rss-MiB": its
# wall time, the CPU of CMD plus that of the server meanwhile, CMD's peak RSS.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # a process's CPU so far, in clock ticks
cpu_run() {
  local srv=$1 t0 t1 c0 c1; shift
  c0=$(ticks "$srv")
  t0=$(now)
  /usr/bin/time -f "%U %S %M" -o "$WORK/time" "$@"
  t1=$(now)
  c1=$(ticks "$srv")
  echo "$(elapsed "$t0" "$t1") $(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" \
    '{printf "%.2f %d", $1 + $2 + (b - a) / hz, $3 / 1024}' "$WORK/time")"
}

# tls_files: for the TLS benches, a network key in $KEY and SIZE_MB MiB of
# random bytes shared twice (one file, two links): $WORK/plain/share/big.bin
# and $WORK/keyed/share/big.bin; the downloaders' folders $WORK/dp (no key)
# and $WORK/dk (key); its size in BYTES.
tls_files() {
  KEY=$WORK/key
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"
  mkdir -p "$WORK/plain/share" "$WORK/keyed/share" "$WORK/dp" "$WORK/dk"
  head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/plain/share/big.bin"
  ln "$WORK/plain/share/big.bin" "$WORK/keyed/share/big.bin"
  BYTES=$(stat -c %s "$WORK/plain/share/big.bin")
}
