#!/usr/bin/env bash
# Installs the Debian 12 packages Vigil builds and tests with. Idempotent:
# when everything is present it only checks and returns.
set -euo pipefail

packages=(
  cmake g++ ninja-build pkg-config
  libsodium-dev libssl-dev libabsl-dev
  librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libcsv-dev python3 python3-cryptography openssl
  clang-format
  # The sanitizer and fuzzing stage of scripts/test.sh: clang, its
  # compiler-rt (libclang_rt.asan, .ubsan, .fuzzer; only recommended by
  # clang, so named here) and llvm-symbolizer for readable stack traces.
  clang libclang-rt-14-dev llvm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
  --no-install-recommends "${missing[@]}"
