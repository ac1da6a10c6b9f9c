#!/bin/sh
# Installs the Debian packages lanswarm needs, and only those missing.
# Usage: scripts/deps.sh build|test|bench|fuzz|deb|check|valgrind
set -eu
build="make gcc pkg-config libuv1-dev libcjson-dev libssl-dev libmicrohttpd-dev"
test="$build libcmocka-dev python3 python3-pytest iproute2 groff-base man-db systemd lintian dpkg-dev faketime"
bench="$build curl nginx-light aria2 coreutils time redis-server python3"
fuzz="$build clang libclang-rt-14-dev"
deb="$build debhelper dpkg-dev fakeroot lintian"
check="$build clang cppcheck"
valgrind="$build valgrind"
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
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lanswarm: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "lanswarm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
