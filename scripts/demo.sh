#!/usr/bin/env bash
# Vigil's main job, for now a demo of the verified read path on the
# reference log that an independent implementation wrote
# (../shared/testdata/reference-log): audit the whole tree, build an
# evidence bundle for one entry from the tiles, verify it offline as a court
# would, and show that a changed entry is refused.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target vigil >/dev/null

vigil=build/client/vigil
ref=${VIGIL_REFERENCE_LOG:-../shared/testdata/reference-log}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trust=(--log-key "$ref/log.vkey" --witness-key "$ref/witness.vkey" --quorum 1)

echo "== 1. Audit the whole log: signatures, every entry, every tile, the root"
"$vigil" audit-tiles "$ref/log" "${trust[@]}"

echo
echo "== 2. Build the evidence bundle (c2sp.org/tlog-proof) of entry 123"
"$vigil" prove-tiles "$ref/log" "${trust[@]}" --index 123 \
  --out "$work/entry-123.tlog-proof" --entry-out "$work/entry-123.bin"
echo "-- $work/entry-123.tlog-proof:"
cat "$work/entry-123.tlog-proof"

echo
echo "== 3. Verify it offline, trusting only the log's and the witness's keys"
"$vigil" verify "$work/entry-123.tlog-proof" --entry "$work/entry-123.bin" \
  "${trust[@]}"

echo
echo "== 4. Change one byte of the entry: the bundle no longer proves it"
cp "$work/entry-123.bin" "$work/entry-123-changed.bin"
printf '\xff' | dd of="$work/entry-123-changed.bin" bs=1 seek=0 conv=notrunc \
  status=none
if "$vigil" verify "$work/entry-123.tlog-proof" \
    --entry "$work/entry-123-changed.bin" "${trust[@]}"; then
  echo "demo: a changed entry verified; this is a bug" >&2
  exit 1
fi
echo "(refused, as it must be)"
