#!/usr/bin/env bash
# The dashboard under a big LAN: tags.txt with PEERS x FILES entries.
#   - GET /api/files (the biggest answer) REQUESTS times over one kept-alive
#     connection from curl; the same bytes served by nginx as a static file.
#   - how long after tags.txt changes the event stream carries the new files.
#   - lanswarm-web's peak RSS and CPU over the run.
# Loopback only; every loop bounded.
source "$(dirname "$0")/lib.sh"
PEERS=${PEERS:-100}
FILES=${FILES:-100}
REQUESTS=${REQUESTS:-200}
dir=$WORK/me
mkdir -p "$dir/share"
web_port=$((BASE_PORT + 1))
nginx_port=$((BASE_PORT + 2))

write_tags() { # $1: suffix, so that a rewrite changes every line
  python3 - "$dir/tags.txt" "$PEERS" "$FILES" "$1" <<'PY'
import hashlib, sys, time
path, peers, files, suffix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = int(time.time())
with open(path + ".tmp", "w") as f:
    f.write("# lanswarm tags v1: tag\taddress:port\troot\tsize\tchunk_size\tstate\tlast_seen\tname\n")
    for p in range(peers):
        for i in range(files):
            root = hashlib.sha256(b"%d-%d%s" % (p, i, suffix.encode())).hexdigest()
            f.write("peer%d\t127.0.0.1:%d\t%s\t%d\t1048576\tcomplete\t%d\tfolder%d/file-%d%s.bin\n"
                    % (p, 20000 + p, root, 1000000 + i, now, p % 10, i, suffix))
import os
os.rename(path + ".tmp", path)
PY
}
write_tags ""
"$BIN/lanswarm-web" --dir "$dir" --tag me --web-port "$web_port" --log-level warn &
web_pid=$!
PIDS+=($web_pid)
wait_for port_open "$web_port"
wait_for test -s "$dir/web.url"
token=$(sed 's/.*#token=//' "$dir/web.url")
auth="Authorization: Bearer $token"
files_json=$WORK/files.json
# The dashboard has read tags.txt once it lists every entry.
wait_for sh -c "curl -s -H '$auth' http://127.0.0.1:$web_port/api/files > $files_json && grep -q 'file-$((FILES - 1)).bin' $files_json"
bytes=$(wc -c < "$files_json")
mkdir -p "$WORK/static" && cp "$files_json" "$WORK/static/files.json"
start_nginx "$WORK/static" "$nginx_port"

# One curl for all the requests of each server (a kept-alive connection), so
# the servers are measured rather than curl's start.
curl_list() { for ((i = 0; i < REQUESTS; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1"; done; }
curl_list "http://127.0.0.1:$web_port/api/files" > "$WORK/web.curl"
curl_list "http://127.0.0.1:$nginx_port/files.json" > "$WORK/nginx.curl"
cpu_before=$(awk '{print $14 + $15}' "/proc/$web_pid/stat")
t0=$(now)
curl -s -H "$auth" -K "$WORK/web.curl"
t1=$(now)
curl -s -K "$WORK/nginx.curl"
t2=$(now)
web_s=$(elapsed "$t0" "$t1")
nginx_s=$(elapsed "$t1" "$t2")

# From a rewritten tags.txt to the new files on the event stream.
events=$WORK/events.txt
curl -sN "http://127.0.0.1:$web_port/api/events?token=$token" > "$events" &
curl_pid=$!
PIDS+=($curl_pid)
wait_for grep -q '^event: files' "$events"
write_tags "-new" # its last step renames the new file into place
t3=$(now)
wait_for grep -q "file-$((FILES - 1))-new.bin" "$events"
t4=$(now)
kill "$curl_pid" 2>/dev/null || true
cpu_after=$(awk '{print $14 + $15}' "/proc/$web_pid/stat")
rss=$(peak_rss_kib "$web_pid")
hz=$(getconf CLK_TCK)

echo "tags.txt: $PEERS peers x $FILES files; /api/files answer $bytes bytes"
printf "GET /api/files x %d: lanswarm-web %.2f ms each, nginx (same bytes, static) %.2f ms each: ratio %s\n" \
  "$REQUESTS" "$(awk -v s="$web_s" -v n="$REQUESTS" 'BEGIN{print s*1000/n}')" \
  "$(awk -v s="$nginx_s" -v n="$REQUESTS" 'BEGIN{print s*1000/n}')" "$(ratio "$web_s" "$nginx_s")"
echo "tags.txt replaced -> the new files on the event stream: $(elapsed "$t3" "$t4") s (the files are looked at every 250 ms)"
echo "lanswarm-web: peak RSS $((rss / 1024)) MiB, CPU $(awk -v c=$((cpu_after - cpu_before)) -v hz="$hz" 'BEGIN{printf "%.2f", c/hz}') s over the run"
