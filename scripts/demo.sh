#!/usr/bin/env bash
# Vigil's main job: installs what is missing, builds, starts vigil-server on
# an embedded RocksDB in a temporary directory, has a demo agency register
# and submit signed access records, verifies one record's evidence bundle
# offline as a court would, and audits the whole log as a monitor would.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target vigil vigil-server >/dev/null

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
ori=CA0349400
echo "== 1. Keys: the log's checkpoint key, the registry operator's key and"
echo "      an agency's record-signing key (named by its ORI)"
"$server" keygen --dir "$work/keys" --origin "$origin"
"$vigil" keygen --kind agency --name "$ori" --out "$work/keys/agency"

echo
echo "== 2. Start vigil-server on an embedded RocksDB in $work/db"
"$server" serve --grpc-address 127.0.0.1:0 --http-address 127.0.0.1:0 \
  --data-dir "$work/db" --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" \
  --checkpoint-interval 200ms 2>"$work/server.log" &
server_pid=$!
grpc=
for _ in $(seq 100); do
  grpc=$(sed -n 's/^vigil-server: grpc listening on //p' "$work/server.log" 2>/dev/null || true)
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
# How every client call reaches and trusts the log; the client keeps the
# last checkpoint it verified and checks each new one against it.
log=(--server "$grpc" --log-key "$work/keys/log.vkey" --state "$work/trusted")

echo
echo "== 3. The registry operator registers the agency's key in the log"
"$vigil" registry register "${log[@]}" \
  --registry-key "$work/keys/registry.skey" \
  --agency-key "$work/keys/agency.vkey" --class LOCAL_POLICE \
  --agency-name "Demo City Police Department" --agency-state CA

echo
echo "== 4. The agency signs its lookups and submits them: one recorded from"
echo "      flags, then 200 from its CSV export. Commitments are computed"
echo "      here; subjects and openings stay in $work/openings.jsonl"
"$vigil" record --key "$work/keys/agency.skey" \
  --openings "$work/openings.jsonl" --out "$work/records.jsonl" \
  --record-id demo-1 --role REQUESTER --correlation-id CLETS-0001 \
  --event-time now --requesting-ori "$ori" --operator "badge 4711" \
  --source-system CLETS --destination CA --message-key DQ \
  --category DMV_PII --category ADDRESS \
  --declared-purpose CRIMINAL_INVESTIGATION --legal-process NONE \
  --subject "CA DL D1234567" --case-ref "case 2026-0117" --outcome HIT \
  2>/dev/null
now=$(( $(date +%s) * 100 ))
{
  echo "record_id,submitter_role,correlation_id,event_time_centis,requesting_ori,operator,source_system,destination,message_key,data_categories,declared_purpose,legal_process,subject,outcome"
  for i in $(seq 1 200); do
    echo "demo-csv-$i,REQUESTER,CLETS-$i,$((now - i * 100)),$ori,badge $((4700 + i % 9)),CLETS,CA,DQ,DMV_PII;ADDRESS,CRIMINAL_INVESTIGATION,NONE,CA DL D$((2000000 + i)),HIT"
  done
} >"$work/lookups.csv"
"$vigil" submit "$work/records.jsonl" "${log[@]}" --wait \
  --results "$work/results-1.jsonl"
"$vigil" submit "$work/lookups.csv" "${log[@]}" \
  --key "$work/keys/agency.skey" --openings "$work/openings.jsonl" \
  --results "$work/results-2.jsonl"
echo "the same file again appends nothing:"
"$vigil" submit "$work/lookups.csv" "${log[@]}" \
  --key "$work/keys/agency.skey" --openings "$work/openings.jsonl" \
  --results "$work/results-3.jsonl"
"$vigil" checkpoint "${log[@]}"

echo
echo "== 5. The evidence bundle (c2sp.org/tlog-proof) of the first record"
"$vigil" prove "${log[@]}" --record "$work/records.jsonl" \
  --out "$work/evidence.tlog-proof" --entry-out "$work/evidence.entry"
cat "$work/evidence.tlog-proof"

echo
echo "== 6. A court verifies it offline, trusting only the log's and the"
echo "      agency's public keys; the agency opens the subject commitment"
"$vigil" verify "$work/evidence.tlog-proof" --entry "$work/evidence.entry" \
  --log-key "$work/keys/log.vkey" --agency-key "$work/keys/agency.vkey" \
  --openings "$work/openings.jsonl"
cp "$work/evidence.entry" "$work/changed.entry"
printf '\xff' | dd of="$work/changed.entry" bs=1 seek=200 conv=notrunc \
  status=none
if "$vigil" verify "$work/evidence.tlog-proof" --entry "$work/changed.entry" \
    --log-key "$work/keys/log.vkey" 2>"$work/refusal.txt"; then
  echo "demo: a changed record verified; this is a bug" >&2
  exit 1
fi
echo "a record with one byte changed is refused: $(cat "$work/refusal.txt")"

echo
echo "== 7. A monitor audits the whole log: stop the server, export the"
echo "      log as static c2sp.org/tlog-tiles files, recompute everything"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=
"$server" export-tiles --data-dir "$work/db" \
  --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" "$work/tiles"
"$vigil" audit-tiles "$work/tiles" --log-key "$work/keys/log.vkey"
