#!/usr/bin/env bash
# Runs Go's golang.org/x/mod/sumdb/tlog (Debian's golang-go and
# golang-golang-x-mod-dev, installed on first use) and Vigil's merkle_bench
# one after the other on this machine, for the ratios in docs/benchmarks.md.
# Opt-in: nothing in the build or the tests needs Go.
set -euo pipefail
cd "$(dirname "$0")/.."

for p in golang-go golang-golang-x-mod-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target merkle_bench >/dev/null

echo "== Go golang.org/x/mod/sumdb/tlog $(dpkg-query -W -f='${Version}' golang-golang-x-mod-dev), $(go version)"
(cd bench/go_tlog && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$(mktemp -d)" \
  go test -run '^$' -bench . -benchtime 1s)

echo "== Vigil merkle_bench"
build/bench/merkle_bench --benchmark_min_time=1
