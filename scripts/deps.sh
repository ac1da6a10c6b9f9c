#!/bin/sh
# Installs the Debian packages lanswarm needs, and only those missing.
# Usage: scripts/deps.sh build|test|bench|fuzz|deb|check|valgrind
set -eu
build="make gcc pkg-config libuv1-dev libcjson-dev libssl-dev libmicrohttpd-dev"
# chromium + nodejs: the dashboard's browser test (tests/browser, playwright-core from npm).
# nftables: the firewall that test_netns.py sets up for `lanswarm doctor` to name.
test="$build libcmocka-dev python3 python3-pytest iproute2 groff-base man-db systemd lintian dpkg-dev faketime nftables chromium nodejs"
bench="$build curl nginx-light aria2 coreutils time redis-server python3"
fuzz="$build clang libclang-rt-14-dev"
deb="$build debhelper dpkg-dev fakeroot lintian"
check="$build clang cppcheck"
valgrind="$build valgrind python3-pytest-rerunfailures"
case "${1:-build}" in
  build) want=$build ;;
  test) want=$test ;;
  bench) want="$test $bench" ;;
  fuzz) want=$fuzz ;;
  deb) want=$deb ;;
  check) want=$check ;;
  valgrind) want=$valgrind ;;
  *) echo "usage: $0 build|test|bench|fuzz|deb|check|valgrind" >&2; exit 2 ;;
esac
# The browser test's one npm package, pinned by tests/browser/package-lock.json.
browser_modules() {
  [ "${1:-}" = test ] || [ "${1:-}" = bench ] || return 0
  [ -d "$(dirname "$0")/../tests/browser/node_modules/playwright-core" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "lanswarm: npm is missing (sudo apt-get install npm)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "lanswarm: installing tests/browser/node_modules (npm ci)" >&2
  (cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  browser_modules "${1:-build}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "lanswarm: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "lanswarm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
browser_modules "${1:-build}"
