#!/usr/bin/env bash
# make bench: every benchmark, each figure beside a well-known tool's in the same run.
set -euo pipefail
cd "$(dirname "$0")"
echo "=== discovery"; ./discovery.sh
echo; echo "=== join"; ./join.sh "${JOIN_PEERS:-20}"
echo; echo "=== airtime"; ./airtime.sh "${AIRTIME_FILES:-10000}"
echo; echo "=== hashing"; ./hashing.sh
echo; echo "=== first start"; ./startup.sh
echo; echo "=== transfer"; ./transfer.sh
echo; echo "=== big chunks (files over 128 GiB)"; ./bigchunks.sh
echo; echo "=== TLS cost"; ./tls.sh
echo; echo "=== TLS cost on a capped LAN"; ./tls_lan.sh
echo; echo "=== server under attack"; ./hostile.sh
echo; echo "=== tracker"; /usr/bin/python3 ./tracker.py "${BIN:-../bin}" 10000 100000
echo; echo "=== dashboard"; ./web.sh
echo; echo "=== simulated LAN"; ./lan.sh
echo; echo "=== cable back in"; ./cable.sh
