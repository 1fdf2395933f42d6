#!/usr/bin/env bash
# court_verify_test.sh VIGIL VIGIL_SERVER
#
# Checks the independent verifier scripts/court_verify.py (written from the
# C2SP specifications and RFC 9162, not from Vigil's code) against a real log
# and against `vigil verify`: builds a small log as scripts/demo.sh does,
# proves a record, then runs both verifiers on the genuine bundle and on
# tampered ones. Every case must give the expected exit status in BOTH tools
# (0 verified, 1 verification failed, 2 usage error) and, for failures, a
# message naming the same step. Prints one PASS/FAIL line per case; exits
# non-zero if any case failed.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 VIGIL VIGIL_SERVER" >&2
  exit 2
fi
vigil=$(realpath "$1")
server=$(realpath "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
court_verify="$here/../../scripts/court_verify.py"
[ -f "$court_verify" ] || { echo "no $court_verify" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A failing setup command: show what the tools said, then exit (set -e).
trap 'echo "FAIL setup command at line $LINENO" >&2; cat "$work/setup.log" >&2 2>/dev/null || true' ERR

# --- Build a small log, as scripts/demo.sh does ------------------------------

origin=court-test.vigil.example/log
ori=CA0349400
keys=$work/keys
"$server" keygen --dir "$keys" --origin "$origin" >/dev/null
"$vigil" keygen --kind agency --name "$ori" --out "$keys/agency" >/dev/null
# Keys that must NOT verify: another agency, a log key with the same name,
# and a witness that never cosigns. w1 is the witness that will cosign.
"$vigil" keygen --kind agency --name CA0000000 --out "$keys/other-agency" >/dev/null
"$vigil" keygen --kind log --name "$origin" --out "$keys/other-log" >/dev/null
"$vigil" keygen --kind witness --name witness.example/w1 --out "$keys/w1" >/dev/null
"$vigil" keygen --kind witness --name witness.example/w2 --out "$keys/w2" >/dev/null

"$server" serve --grpc-address 127.0.0.1:0 --http-address 127.0.0.1:0 \
  --data-dir "$work/db" --log-key-file "$keys/log.skey" \
  --registry-key-file "$keys/registry.vkey" \
  --checkpoint-interval 100ms >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
grpc=
for _ in $(seq 100); do
  grpc=$(sed -n 's/^vigil-server: grpc listening on //p' "$work/server.log" 2>/dev/null || true)
  [ -n "$grpc" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$grpc" ]; then
  echo "FAIL vigil-server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
log=(--server "$grpc" --log-key "$keys/log.vkey" --state "$work/trusted")

"$vigil" registry register "${log[@]}" \
  --registry-key "$keys/registry.skey" --agency-key "$keys/agency.vkey" \
  --class LOCAL_POLICE --agency-name "Test City Police Department" \
  --agency-state CA >/dev/null
for id in 1 2; do
  "$vigil" record --key "$keys/agency.skey" \
    --openings "$work/openings.jsonl" --out "$work/records-$id.jsonl" \
    --entry-out "$work/record-$id.entry" \
    --record-id "court-$id" --role REQUESTER --correlation-id "CLETS-000$id" \
    --event-time now --requesting-ori "$ori" --operator "badge 4711" \
    --source-system CLETS --destination CA --message-key DQ \
    --category DMV_PII --category ADDRESS \
    --declared-purpose CRIMINAL_INVESTIGATION --legal-process NONE \
    --subject "CA DL D123456$id" --case-ref "case 2026-011$id" --outcome HIT \
    >/dev/null 2>>"$work/setup.log"
  "$vigil" submit "$work/records-$id.jsonl" "${log[@]}" --wait >/dev/null 2>>"$work/setup.log"
done
now=$(( $(date +%s) * 100 ))
{
  echo "record_id,submitter_role,correlation_id,event_time_centis,requesting_ori,operator,source_system,destination,message_key,data_categories,declared_purpose,legal_process,subject,outcome"
  for i in $(seq 1 5); do
    echo "court-csv-$i,REQUESTER,CLETS-$i,$((now - i * 100)),$ori,badge 47$i,CLETS,CA,DQ,DMV_PII;ADDRESS,CRIMINAL_INVESTIGATION,NONE,CA DL D$((2000000 + i)),HIT"
  done
} >"$work/lookups.csv"
"$vigil" submit "$work/lookups.csv" "${log[@]}" --wait \
  --key "$keys/agency.skey" --openings "$work/openings.jsonl" >/dev/null 2>>"$work/setup.log"

# The evidence: the bundle of record court-1, and of the registry entry 0.
"$vigil" prove "${log[@]}" --record "$work/records-1.jsonl" \
  --out "$work/genuine.tlog-proof" --entry-out "$work/genuine.entry" >/dev/null
"$vigil" prove "${log[@]}" --index 0 \
  --out "$work/registry.tlog-proof" --entry-out "$work/registry.entry" >/dev/null
stop_server  # all that follows is offline

# The subject opening of court-1, found by its leaf hash (JSON Lines).
mapfile -t subject < <(python3 -c '
import hashlib, json, sys
leaf = hashlib.sha256(b"\0" + open(sys.argv[1], "rb").read()).hexdigest()
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["leaf_hash"] == leaf:
        for f in o["openings"]:
            if f["field"] == "subject":
                print(f["value"]); print(f["opening"])
' "$work/genuine.entry" "$work/openings.jsonl")
if [ "${#subject[@]}" -ne 2 ]; then
  echo "FAIL no subject opening for the proven record" >&2
  exit 1
fi
subject_value=${subject[0]}
subject_opening=${subject[1]}

# --- Tampered evidence ---------------------------------------------------------

mutate() {  # mutate WHAT IN OUT
  python3 - "$@" <<'EOF'
import base64, sys
what, src, dst = sys.argv[1:]
data = open(src, "rb").read()
def flip_b64(line, at):  # one bit of the decoded bytes at offset `at`
    raw = bytearray(base64.b64decode(line))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()
if what == "entry-byte":  # one byte of the signed payload
    data = bytearray(data)
    data[len(data) - 5] ^= 0x01
    data = bytes(data)
else:
    lines = data.decode().split("\n")
    if what == "proof-hash":  # the first inclusion proof hash
        i = next(n for n, l in enumerate(lines) if l.startswith("index ")) + 1
        assert lines[i], "the proof has no hashes"
        lines[i] = flip_b64(lines[i], 0)
    elif what == "log-signature":  # a byte of the log's Ed25519 signature
        i = next(n for n, l in enumerate(lines) if l.startswith("\u2014 "))
        name, sig = lines[i][2:].split(" ")
        lines[i] = "\u2014 %s %s" % (name, flip_b64(sig, 4 + 10))
    data = "\n".join(lines).encode()
open(dst, "wb").write(data)
EOF
}
mutate entry-byte "$work/genuine.entry" "$work/changed.entry"
mutate proof-hash "$work/genuine.tlog-proof" "$work/proof-hash.tlog-proof"
mutate log-signature "$work/genuine.tlog-proof" "$work/log-sig.tlog-proof"

# A witness cosignature of the bundle's checkpoint by w1, computed here from
# w1's signer key as c2sp.org/tlog-cosignature v1 specifies.
python3 - "$keys/w1.skey" "$work/genuine.tlog-proof" "$work/cosigned.tlog-proof" <<'EOF'
import base64, hashlib, sys, time
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
skey, src, dst = sys.argv[1:]
# PRIVATE+KEY+<name>+<key id>+base64(0x04 || 32-byte seed)
_, _, name, key_id, blob = open(skey).read().strip().split("+", 4)
raw = base64.b64decode(blob)
assert raw[0] == 0x04 and len(raw) == 33
key = Ed25519PrivateKey.from_private_bytes(raw[1:])
public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)
kid = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
assert kid.hex() == key_id
bundle = open(src).read()
note = bundle.partition("\n\n")[2]       # the signed checkpoint
text = note[:note.rfind("\n\n") + 1]     # its note text
t = int(time.time())
sig = key.sign(f"cosignature/v1\ntime {t}\n{text}".encode())
line = "\u2014 %s %s\n" % (name, base64.b64encode(kid + t.to_bytes(8, "big") + sig).decode())
open(dst, "w").write(bundle + line)
EOF

# --- The cases -------------------------------------------------------------------

failures=0
# check NAME WANT_EXIT WANT_MESSAGE BUNDLE ENTRY SUBJECT_VALUE [FLAGS]...
# runs `vigil verify` and court_verify.py with the same trust FLAGS and, if
# SUBJECT_VALUE is not empty, the subject opening with that value.
check() {
  local name=$1 want=$2 message=$3 bundle=$4 entry=$5 value=$6
  shift 6
  local v_open=() c_open=() v=0 c=0
  if [ -n "$value" ]; then
    v_open=(--field subject --value "$value" --opening "$subject_opening")
    c_open=(--opening subject "$value" "$subject_opening")
  fi
  "$vigil" verify "$bundle" --entry "$entry" "$@" "${v_open[@]}" \
    >"$work/v.out" 2>"$work/v.err" || v=$?
  python3 "$court_verify" "$bundle" "$entry" "$@" "${c_open[@]}" \
    >"$work/c.out" 2>"$work/c.err" || c=$?
  local ok=1
  [ "$v" = "$want" ] && [ "$c" = "$want" ] || ok=0
  if [ -n "$message" ]; then
    grep -qF -- "$message" "$work/v.err" || ok=0
    grep -qF -- "$message" "$work/c.err" || ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "PASS $name: both exit $want${message:+ at \"$message\"}"
  else
    echo "FAIL $name: want exit $want${message:+ with \"$message\"}; vigil verify exit $v, court_verify.py exit $c"
    sed 's/^/  vigil: /' "$work/v.err" "$work/v.out"
    sed 's/^/  court_verify: /' "$work/c.err" "$work/c.out"
    failures=$((failures + 1))
  fi
}

genuine=("$work/genuine.tlog-proof" "$work/genuine.entry")
lk=(--log-key "$keys/log.vkey")
check "genuine bundle, agency key, subject opening" 0 "" "${genuine[@]}" \
  "$subject_value" "${lk[@]}" --agency-key "$keys/agency.vkey"
check "one byte of the entry changed" 1 "record:" \
  "$work/genuine.tlog-proof" "$work/changed.entry" "" "${lk[@]}"
check "another genuine record's entry" 1 "tlog-proof: step 4" \
  "$work/genuine.tlog-proof" "$work/record-2.entry" "" "${lk[@]}"
check "signed by another agency's key" 1 "agency key:" "${genuine[@]}" "" \
  "${lk[@]}" --agency-key "$keys/other-agency.vkey"
check "one proof hash flipped" 1 "tlog-proof: step 4" \
  "$work/proof-hash.tlog-proof" "$work/genuine.entry" "" "${lk[@]}"
check "checkpoint signature byte flipped" 1 "tlog-proof: step 2" \
  "$work/log-sig.tlog-proof" "$work/genuine.entry" "" "${lk[@]}"
check "wrong log key (same name)" 1 "tlog-proof: step 2" "${genuine[@]}" "" \
  --log-key "$keys/other-log.vkey"
check "witness quorum missing" 1 "tlog-proof: step 3" "${genuine[@]}" "" \
  "${lk[@]}" --witness-key "$keys/w2.vkey"
check "wrong opening value" 1 "opening:" "${genuine[@]}" "CA DL D7654321" \
  "${lk[@]}"
check "cosigned bundle, witness w1, quorum 1 of 1" 0 "" \
  "$work/cosigned.tlog-proof" "$work/genuine.entry" "$subject_value" \
  "${lk[@]}" --witness-key "$keys/w1.vkey" --agency-key "$keys/agency.vkey"
check "cosigned bundle, quorum 1 of 2" 0 "" \
  "$work/cosigned.tlog-proof" "$work/genuine.entry" "" "${lk[@]}" \
  --witness-key "$keys/w1.vkey" --witness-key "$keys/w2.vkey" --quorum 1
check "cosigned bundle, quorum 2 of 2" 1 "tlog-proof: step 3" \
  "$work/cosigned.tlog-proof" "$work/genuine.entry" "" "${lk[@]}" \
  --witness-key "$keys/w1.vkey" --witness-key "$keys/w2.vkey" --quorum 2
check "log key file missing" 2 "" "${genuine[@]}" "" \
  --log-key "$work/no-such.vkey"

# court_verify.py alone: the registry entry that binds the agency's key to
# its ORI (`vigil verify` opens access records only, by design).
c=0
python3 "$court_verify" "$work/registry.tlog-proof" "$work/registry.entry" \
  "${lk[@]}" --registry-key "$keys/registry.vkey" >"$work/c.out" 2>&1 || c=$?
agency_hex=$(python3 -c 'import base64, sys
print(base64.b64decode(open(sys.argv[1]).read().strip().split("+", 2)[2])[1:].hex())' \
  "$keys/agency.vkey")
if [ "$c" = 0 ] && grep -qF "public_key $agency_hex" "$work/c.out"; then
  echo "PASS registry entry registering the agency key: court_verify.py exit 0"
else
  echo "FAIL registry entry: court_verify.py exit $c"
  sed 's/^/  court_verify: /' "$work/c.out"
  failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "court_verify_test: $failures case(s) FAILED"
  exit 1
fi
echo "court_verify_test: all cases passed"
