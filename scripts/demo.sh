#!/usr/bin/env bash
# Vigil's main job: installs what is missing, builds, starts vigil-server on
# an embedded RocksDB in a temporary directory, has a demo agency register
# and submit signed access records, verifies one record's evidence bundle
# offline as a court would, and audits the whole log as a monitor would.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target vigil vigil-server \
  vigil-demo-agency >/dev/null

server=build/server/vigil-server
vigil=build/client/vigil
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

origin=demo.vigil.example/log
echo "== 1. Keys: the log's checkpoint key and the registry operator's key"
"$server" keygen --dir "$work/keys" --origin "$origin"

echo
echo "== 2. Start vigil-server on an embedded RocksDB in $work/db"
"$server" serve --grpc-address 127.0.0.1:0 --http-address 127.0.0.1:0 \
  --data-dir "$work/db" --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" \
  --checkpoint-interval 200ms 2>"$work/server.log" &
server_pid=$!
grpc=
for _ in $(seq 100); do
  grpc=$(sed -n 's/^vigil-server: grpc listening on //p' "$work/server.log")
  [ -n "$grpc" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$grpc" ]; then
  echo "demo: vigil-server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
cat "$work/server.log"

echo
echo "== 3. An agency registers its key and submits signed lookups"
build/client/vigil-demo-agency --server "$grpc" \
  --registry-key "$work/keys/registry.skey" --records 20 --out "$work"

echo
echo "== 4. The evidence bundle (c2sp.org/tlog-proof) of one record"
cat "$work/entry.tlog-proof"

echo
echo "== 5. A court verifies it offline, trusting only the log's public key"
"$vigil" verify "$work/entry.tlog-proof" --entry "$work/entry.bin" \
  --log-key "$work/keys/log.vkey"
cp "$work/entry.bin" "$work/changed.bin"
printf '\xff' | dd of="$work/changed.bin" bs=1 seek=200 conv=notrunc \
  status=none
if "$vigil" verify "$work/entry.tlog-proof" --entry "$work/changed.bin" \
    --log-key "$work/keys/log.vkey" 2>"$work/refusal.txt"; then
  echo "demo: a changed record verified; this is a bug" >&2
  exit 1
fi
echo "a record with one byte changed is refused: $(cat "$work/refusal.txt")"

echo
echo "== 6. A monitor audits the whole log: stop the server, export the"
echo "      log as static c2sp.org/tlog-tiles files, recompute everything"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=
"$server" export-tiles --data-dir "$work/db" \
  --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" "$work/tiles"
"$vigil" audit-tiles "$work/tiles" --log-key "$work/keys/log.vkey"
