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
