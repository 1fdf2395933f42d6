#!/usr/bin/env bash
# Vigil's main job: installs what is missing, builds, starts vigil-server on
# an embedded RocksDB in a temporary directory with two witnesses that must
# both cosign every checkpoint it publishes, everything over TLS and each
# write tied to its agency's client certificate (mutual TLS), has a demo
# agency register and submit signed access records, verifies one record's
# evidence bundle offline as a court would, and audits the whole log as a
# monitor would, flagging a prohibited lookup.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target vigil vigil-server >/dev/null

server=build/server/vigil-server
vigil=build/client/vigil
work=$(mktemp -d)
server_pid=
witness_pids=()
cleanup() {
  for pid in $server_pid "${witness_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}

# Waits for the line "<prefix><address>" in log file $2 of process $3 and
# prints the address; fails with the log if the process exits first.
listening_address() {
  local prefix=$1 file=$2 pid=$3 address=
  for _ in $(seq 100); do
    address=$(sed -n "s/^$prefix//p" "$file" 2>/dev/null | head -1 || true)
    [ -n "$address" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$address" ]; then
    echo "demo: a process did not start:" >&2
    cat "$file" >&2
    return 1
  fi
  echo "$address"
}
trap cleanup EXIT

origin=demo.vigil.example/log
ori=CA0349400
echo "== 1. Keys: the log's checkpoint key, the registry operator's key, two"
echo "      independent witnesses' cosigning keys and an agency's"
echo "      record-signing key (named by its ORI)"
"$server" keygen --dir "$work/keys" --origin "$origin"
"$vigil" keygen --kind witness --name witness-1.demo.example \
  --out "$work/keys/witness-1"
"$vigil" keygen --kind witness --name witness-2.demo.example \
  --out "$work/keys/witness-2"
"$vigil" keygen --kind agency --name "$ori" --out "$work/keys/agency"

echo
echo "== 1b. TLS: a demo CA issues the log's and the witnesses' server"
echo "      certificates, and client certificates for the registry operator"
echo "      and for each agency, named by its ORI"
# Issues certificate $1 (subject CN $2) for a server (DNS:localhost,
# IP:127.0.0.1) or a client, signed by the demo CA.
issue() {
  local name=$1 cn=$2 kind=$3 ext
  if [ "$kind" = server ]; then
    ext="extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
  else
    ext="extendedKeyUsage=clientAuth"
  fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$cn" -keyout "$work/tls/$name.key" -out "$work/tls/$name.csr" \
    2>/dev/null
  chmod 600 "$work/tls/$name.key"
  openssl x509 -req -in "$work/tls/$name.csr" -CA "$work/tls/ca.pem" \
    -CAkey "$work/tls/ca.key" -CAcreateserial -days 1 \
    -extfile <(echo "$ext") -out "$work/tls/$name.pem" 2>/dev/null
  echo "$work/tls/$name.pem: CN=$cn"
}
mkdir -m 700 "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=Demo Vigil CA" -days 1 -keyout "$work/tls/ca.key" \
  -out "$work/tls/ca.pem" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign 2>/dev/null
issue log localhost server
issue witness-1 localhost server
issue witness-2 localhost server
issue operator demo-registry-operator client
issue agency "$ori" client
issue ice DCICE0000 client

echo
echo "== 2. Start two witnesses (c2sp.org/tlog-witness, HTTPS), then"
echo "      vigil-server on an embedded RocksDB in $work/db, publishing only"
echo "      checkpoints both witnesses cosigned; writes need a client"
echo "      certificate"
witness_flags=()
witness_urls=()
for w in 1 2; do
  "$vigil" witness --key "$work/keys/witness-$w.skey" \
    --log-key "$work/keys/log.vkey" --state-dir "$work/witness-$w" \
    --listen 127.0.0.1:0 --tls-cert "$work/tls/witness-$w.pem" \
    --tls-key "$work/tls/witness-$w.key" 2>"$work/witness-$w.log" &
  witness_pids+=($!)
  address=$(listening_address "vigil witness: listening on " \
    "$work/witness-$w.log" "$!")
  echo "witness $w listening on $address"
  witness_flags+=(--witnesses "$(cat "$work/keys/witness-$w.vkey") https://$address")
  witness_urls+=(--witness-url "https://$address")
done
"$server" serve --grpc-address 127.0.0.1:0 --http-address 127.0.0.1:0 \
  --data-dir "$work/db" --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" \
  --checkpoint-interval 200ms "${witness_flags[@]}" --witness-quorum 2 \
  --witness-ca-file "$work/tls/ca.pem" \
  --tls-cert-file "$work/tls/log.pem" --tls-key-file "$work/tls/log.key" \
  --tls-client-ca-file "$work/tls/ca.pem" \
  --tls-operator-name demo-registry-operator 2>"$work/server.log" &
server_pid=$!
grpc=$(listening_address "vigil-server: grpc listening on " \
  "$work/server.log" "$server_pid")
http=$(listening_address "vigil-server: http listening on " \
  "$work/server.log" "$server_pid")
cat "$work/server.log"
# How every client call reaches and trusts the log: TLS with the demo CA,
# the log's key and both witnesses' keys; the client keeps the last
# checkpoint it verified and checks each new one against it. Writers add
# their client certificate.
witnesses=(--witness-key "$work/keys/witness-1.vkey"
  --witness-key "$work/keys/witness-2.vkey" --quorum 2)
log=(--server "$grpc" --tls-ca "$work/tls/ca.pem"
  --log-key "$work/keys/log.vkey" "${witnesses[@]}" --state "$work/trusted")
as_operator=(--tls-cert "$work/tls/operator.pem"
  --tls-key "$work/tls/operator.key")
as_agency=(--tls-cert "$work/tls/agency.pem" --tls-key "$work/tls/agency.key")
as_ice=(--tls-cert "$work/tls/ice.pem" --tls-key "$work/tls/ice.key")

echo
echo "== 3. The registry operator registers the agency's key in the log"
"$vigil" registry register "${log[@]}" "${as_operator[@]}" \
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
"$vigil" submit "$work/records.jsonl" "${log[@]}" "${as_agency[@]}" --wait \
  --results "$work/results-1.jsonl"
"$vigil" submit "$work/lookups.csv" "${log[@]}" "${as_agency[@]}" \
  --key "$work/keys/agency.skey" --openings "$work/openings.jsonl" \
  --results "$work/results-2.jsonl"
echo "the same file again appends nothing:"
"$vigil" submit "$work/lookups.csv" "${log[@]}" "${as_agency[@]}" \
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
echo "      agency's and the witnesses' public keys; the agency opens the"
echo "      subject commitment"
"$vigil" verify "$work/evidence.tlog-proof" --entry "$work/evidence.entry" \
  --log-key "$work/keys/log.vkey" "${witnesses[@]}" \
  --agency-key "$work/keys/agency.vkey" --openings "$work/openings.jsonl"
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
echo "== 7. An immigration agency is registered and reads DMV data over"
echo "      CLETS, which California's SB 54 forbids"
"$vigil" keygen --kind agency --name DCICE0000 --out "$work/keys/ice"
"$vigil" registry register "${log[@]}" "${as_operator[@]}" \
  --registry-key "$work/keys/registry.skey" \
  --agency-key "$work/keys/ice.vkey" --class FEDERAL_IMMIGRATION \
  --agency-name "Demo immigration field office" --agency-state CA
"$vigil" record --key "$work/keys/ice.skey" \
  --openings "$work/ice-openings.jsonl" --out "$work/ice.jsonl" \
  --record-id ice-1 --role REQUESTER --correlation-id CLETS-9001 \
  --event-time now --requesting-ori DCICE0000 --operator "agent 7" \
  --source-system CLETS --destination CA --message-key DQ \
  --category DMV_PII --category ADDRESS \
  --declared-purpose CIVIL_IMMIGRATION --legal-process ADMINISTRATIVE_WARRANT \
  --subject "CA DL D7654321" --outcome HIT 2>/dev/null
"$vigil" submit "$work/ice.jsonl" "${log[@]}" "${as_ice[@]}" --wait \
  --results "$work/results-4.jsonl"
echo "with the police's record key but its own certificate, the immigration"
echo "agency cannot log lookups as the police:"
"$vigil" record --key "$work/keys/agency.skey" \
  --openings "$work/ice-openings.jsonl" --out "$work/as-police.jsonl" \
  --record-id ice-as-police-1 --role REQUESTER --correlation-id CLETS-9002 \
  --event-time now --requesting-ori "$ori" --operator "agent 7" \
  --source-system CLETS --destination CA --message-key DQ \
  --category DMV_PII --declared-purpose CRIMINAL_INVESTIGATION \
  --legal-process NONE --subject "CA DL D7654321" --outcome HIT 2>/dev/null
submit_status=0
"$vigil" submit "$work/as-police.jsonl" "${log[@]}" "${as_ice[@]}" \
  --attempts 1 --results "$work/results-5.jsonl" || submit_status=$?
if [ "$submit_status" != 3 ]; then
  echo "demo: a record signed with another agency's key was not refused" >&2
  exit 1
fi
cut -c1-200 "$work/results-5.jsonl"

echo
echo "== 8. A watchdog's monitor audits the whole log over HTTP: every tile"
echo "      and entry, the registry, every signature, the rule packs, and"
echo "      each witness's view of the log; the prohibited lookup is flagged"
monitor_status=0
"$vigil" monitor --log-url "https://$http" --tls-ca "$work/tls/ca.pem" \
  --log-key "$work/keys/log.vkey" \
  "${witnesses[@]}" "${witness_urls[@]}" \
  --registry-key "$work/keys/registry.vkey" --state "$work/monitor.json" \
  --policy client/policy/ca-clets-sb54.json \
  --policy client/policy/cjis-iii-purpose-codes.json \
  --alerts "$work/alerts.jsonl" || monitor_status=$?
if [ "$monitor_status" != 3 ]; then
  echo "demo: the monitor exited $monitor_status, not 3 (alerts raised)" >&2
  exit 1
fi
echo "alerts:"
cut -c1-300 "$work/alerts.jsonl"

echo
echo "== 9. Anyone can mirror the log: stop the server, export the log as"
echo "      static c2sp.org/tlog-tiles files, recompute everything"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=
"$server" export-tiles --data-dir "$work/db" \
  --log-key-file "$work/keys/log.skey" \
  --registry-key-file "$work/keys/registry.vkey" "$work/tiles"
"$vigil" audit-tiles "$work/tiles" --log-key "$work/keys/log.vkey" \
  "${witnesses[@]}"
