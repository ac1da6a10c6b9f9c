#!/usr/bin/env bash
# Cable back in, across a simulated LAN (three network namespaces on a bridge,
# 198.18.0.0/24, made here and removed on exit; needs root): host 2's link is
# set down until the others and host 2 have dropped each other (3 intervals
# of INTERVAL s, default 3), then up, RUNS times (default 3). Figures: from
# `ip link set up` to host 2 in host 1's tags.txt (its announcer saw the
# interfaces change and announced at once) and to host 1 in host 2's (its
# listener asked at once). Reference: the rounds alone, up to INTERVAL s.
source "$(dirname "$0")/lib.sh"
INTERVAL=${INTERVAL:-3}
RUNS=${RUNS:-3}
P=lsc$$
netns_lan "$P" 3
for i in 1 2 3; do
  mkdir -p "$WORK/h$i/share"
  echo "host $i" > "$WORK/h$i/share/on-$i.txt"
  for d in listener announcer; do
    ip netns exec ${P}h$i "$BIN/lanswarm-$d" --dir "$WORK/h$i" --tag host$i --udp-port 41770 --port 41771 \
      --broadcast 198.18.0.255 --interval "$INTERVAL" --log-level info 2>>"$WORK/h$i/$d.log" &
  done
done
knows() { grep -q "^host$2	" "$WORK/h$1/tags.txt" 2>/dev/null; }
not_knows() { ! knows "$1" "$2"; }
wait_until_s() { # SECONDS_MAX CMD...: polls every 10 ms
  local deadline=$(($(date +%s%N) + $1 * 1000000000)); shift
  until "$@"; do [ "$(date +%s%N)" -lt $deadline ] || return 1; sleep 0.01; done
}
wait_for knows 1 2; wait_for knows 2 1
a=(); b=()
for run in $(seq 1 "$RUNS"); do
  ip -n ${P}h2 link set ${P}e2 down
  wait_until_s $((4 * INTERVAL + 5)) not_knows 1 2 && wait_until_s $((4 * INTERVAL + 5)) not_knows 2 1 \
    || { echo "bench/cable.sh: the peers did not expire" >&2; exit 1; }
  t0=$(now)
  ip -n ${P}h2 link set ${P}e2 up
  ta=">$((3 * INTERVAL))"; tb=$ta
  deadline=$((SECONDS + 3 * INTERVAL))
  while [ $SECONDS -lt $deadline ] && { [ "${ta:0:1}" = ">" ] || [ "${tb:0:1}" = ">" ]; }; do
    [ "${ta:0:1}" = ">" ] && knows 1 2 && ta=$(elapsed "$t0" "$(now)")
    [ "${tb:0:1}" = ">" ] && knows 2 1 && tb=$(elapsed "$t0" "$(now)")
    sleep 0.01
  done
  a+=("$ta"); b+=("$tb")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
printf '%-10s %-34s %-34s %s\n' interval "host2 back at host1 (median, runs)" "host1 back at host2 (median, runs)" reference
printf '%-10s %-34s %-34s %s\n' "${INTERVAL}s" "$(median "${a[@]}")s (${a[*]})" "$(median "${b[@]}")s (${b[*]})" \
  "rounds alone: up to ${INTERVAL}s"
echo "  (from 'ip link set up' after the peers had dropped each other; goal <= 2 s whatever the interval)"
grep -c "network interfaces changed: announcing now" "$WORK/h2/announcer.log" | sed 's/^/  host2 announcer: announced at once on /; s/$/ interface change(s)/'
