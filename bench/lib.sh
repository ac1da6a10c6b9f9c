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

# nginx serving DIR on PORT from a private prefix; extra directives in $3;
# listening on loopback address $4 (default 127.0.0.1).
start_nginx() {
  local dir=$1 port=$2 extra=${3:-} addr=${4:-127.0.0.1}
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
  nginx -p "$prefix" -c "$prefix/nginx.conf" &
  PIDS+=($!)
  wait_for port_open "$port" "$addr"
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
