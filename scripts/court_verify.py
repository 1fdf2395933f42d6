#!/usr/bin/env python3
"""court_verify.py: an independent, offline verifier of Vigil evidence bundles.

Written from the public specifications and Vigil's documented byte layouts,
not from Vigil's C++ code, so that a court need not trust the `vigil` tool:
  c2sp.org/tlog-proof@v1         the bundle and its four verification steps
  c2sp.org/signed-note v1.0.0    notes, signature lines, key IDs, vkeys
  c2sp.org/tlog-checkpoint v1    the checkpoint note text
  c2sp.org/tlog-cosignature v1   Ed25519 witness cosignatures (type 0x04)
  RFC 9162 section 2.1           Merkle hashes and inclusion verification
  docs/formats.md "Entries"      the entry layout and the commitments
See docs/court-guide.md. Exit status: 0 verified; 1 verification failed (the
message names the failed step); 2 usage or I/O error. Needs Python 3 and the
`cryptography` package (for Ed25519, RFC 8032, only).
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import re
import sys
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failed(Exception):
    """The evidence does not verify (exit 1). The message names the step."""


class Usage(Exception):
    """Bad arguments or unreadable files (exit 2)."""


DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal without leading zeroes


def b64(text, what, error=Failed):
    """Standard base64 (RFC 4648 section 4), canonical form only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{what}: not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise error(f"{what}: not canonical base64")
    return raw


def ed25519_ok(public_key, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def key_id(name, sig_type, public_key):
    """signed-note: SHA-256(key name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Usage(f"{what}: cannot read {path}: {e.strerror}") from None


def read_vkey(path, sig_type, what):
    """signed-note verifier key <name>+<hex key ID>+base64(type || key), type
    0x01 (Ed25519 notes: log, agency, registry) or 0x04 (witness
    cosignatures). One optional final newline. Returns (name, ID, key)."""
    try:
        text = read_file(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise Usage(f"{what}: {path} is not UTF-8") from None
    parts = text.removesuffix("\n").split("+", 2)  # base64 may hold "+"
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise Usage(f"{what}: {path} is not a verifier key <name>+<id>+<key>")
    name, hex_id, blob = parts
    raw = b64(blob, what, Usage)
    if len(raw) != 33 or raw[0] != sig_type:
        raise Usage(f"{what}: {path} is not a type 0x{sig_type:02x} Ed25519 key")
    if hex_id != key_id(name, sig_type, raw[1:]).hex():
        raise Usage(f"{what}: key ID {hex_id} does not match the name and key")
    return name, bytes.fromhex(hex_id), raw[1:]


# --- c2sp.org/tlog-proof, signed-note, tlog-checkpoint ------------------------

def parse_bundle(data):
    """tlog-proof: returns (index, inclusion proof, signed checkpoint note)."""
    fail = "tlog-proof: malformed bundle"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failed(f"{fail}: not UTF-8") from None
    # Header and proof lines are non-empty: the first empty line ends them,
    # and the checkpoint note follows verbatim.
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != "c2sp.org/tlog-proof@v1":
        raise Failed(f"{fail}: no c2sp.org/tlog-proof@v1 header or no empty line")
    i = 1
    if i < len(lines) and lines[i].startswith("extra "):
        b64(lines[i][6:], f"{fail}: extra line")  # opaque, NOT authenticated
        i += 1
    if i >= len(lines) or not lines[i].startswith("index ") or \
            not DECIMAL.fullmatch(lines[i][6:]) or int(lines[i][6:]) >= 2**64:
        raise Failed(f"{fail}: no valid index line")
    proof = [b64(line, f"{fail}: proof hash {n}") for n, line in enumerate(lines[i + 1:])]
    if any(len(h) != 32 for h in proof):
        raise Failed(f"{fail}: a proof hash is not 32 bytes")
    return int(lines[i][6:]), proof, note


def parse_note(note, step):
    """signed-note: returns (text, [(key name, key ID, signature)])."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Failed(f"{step}: the note holds a control character")
    cut = note.rfind("\n\n")  # the text ends at the note's LAST empty line
    if not note.endswith("\n") or cut < 0 or cut + 2 == len(note):
        raise Failed(f"{step}: not a signed note")
    signatures = []
    for line in note[cut + 2:-1].split("\n"):  # "— <name> base64(ID || sig)"
        name, _, sig = line[2:].partition(" ")
        if not line.startswith("\u2014 ") or not name or "+" in name:
            raise Failed(f"{step}: malformed signature line {line!r}")
        raw = b64(sig, f"{step}: signature of {name}")
        if len(raw) < 5:
            raise Failed(f"{step}: signature of {name} is too short")
        signatures.append((name, raw[:4], raw[4:]))
    # Vigil's stated limits (docs/formats.md, "Signed notes"): at most 256 KiB
    # and 100 signature lines, and no two lines with the same (name, key ID).
    if len(note.encode()) > 256 * 1024 or len(signatures) > 100 or \
            len({s[:2] for s in signatures}) != len(signatures):
        raise Failed(f"{step}: over Vigil's note limits, or a key signed twice")
    return note[:cut + 1], signatures


def parse_checkpoint(text, step):
    """tlog-checkpoint: origin, size, base64 root, then extension lines."""
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines) or not DECIMAL.fullmatch(lines[1]):
        raise Failed(f"{step}: malformed checkpoint text")
    root = b64(lines[2], f"{step}: checkpoint root")
    if len(root) != 32:
        raise Failed(f"{step}: the checkpoint root is not 32 bytes")
    return lines[0], int(lines[1]), root


# --- RFC 9162 section 2.1 -----------------------------------------------------

def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        raise Failed(f"index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Failed("the proof has more hashes than the tree needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while (fn & 1) == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("the proof has fewer hashes than the tree needs")
    if not hmac.compare_digest(r, root):
        raise Failed("the proof does not lead to the checkpoint's root")


# --- Protobuf wire format (protobuf.dev/programming-guides/encoding) ----------

def varint(b, i):
    value = shift = 0
    while True:
        if i >= len(b) or shift > 63:
            raise Failed("record: payload: truncated or overlong varint")
        value, shift, i = value | (b[i] & 0x7F) << shift, shift + 7, i + 1
        if not b[i - 1] & 0x80:
            return value, i


def wire_fields(b):
    """[(field number, wire type, value)]. Vigil's schema uses only wire
    types 0 (varint) and 2 (length-delimited); others are refused."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        if key >> 3 == 0 or key & 7 not in (0, 2):
            raise Failed(f"record: payload: bad field key {key}")
        if key & 7 == 0:
            value, i = varint(b, i)
        else:
            n, i = varint(b, i)
            if i + n > len(b):
                raise Failed("record: payload: truncated field")
            value, i = b[i:i + n], i + n
        out.append((key >> 3, key & 7, value))
    return out


def centis(v):
    """int64 hundredths of a second since the Unix epoch, as UTC."""
    seconds, hundredths = divmod(v - (1 << 64) if v >> 63 else v, 100)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{hundredths:02d}Z"


def enum(*names):
    return lambda v: names[v] if 0 < v < len(names) else f"unknown ({v})"


# proto/vigil/v1/record.proto: field number -> (name, wire type, decoder).
STR, HEX = (lambda v: v.decode("utf-8", "replace")), (lambda v: v.hex())
CATEGORY = enum("", "DMV_PII", "PHOTO", "ADDRESS", "VEHICLE", "CHRI", "IMMIGRATION")
ACCESS_RECORD = {
    1: ("record_id", 2, STR),
    2: ("submitter_role", 0, enum("", "REQUESTER", "CUSTODIAN", "SWITCH")),
    3: ("correlation_id", 2, STR),
    4: ("event_time", 0, centis),
    5: ("requesting_ori", 2, STR),
    6: ("operator_commit", 2, HEX),
    7: ("source_system", 0, enum("", "NLETS", "CLETS", "NCIC", "III", "STATE_DMV")),
    8: ("source_state", 2, STR),
    9: ("destination", 2, STR),
    10: ("message_key", 2, STR),
    11: ("data_categories", 2, None),  # packed repeated enum
    12: ("purpose_code", 2, STR),
    13: ("declared_purpose", 0, enum(
        "", "CRIMINAL_INVESTIGATION", "CIVIL_IMMIGRATION", "CRIMINAL_IMMIGRATION",
        "TRAFFIC", "BACKGROUND_CHECK", "ADMINISTRATIVE", "OTHER")),
    14: ("legal_process", 0, enum("", "NONE", "JUDICIAL_WARRANT", "COURT_ORDER",
                                  "SUBPOENA", "ADMINISTRATIVE_WARRANT")),
    15: ("legal_doc_commit", 2, HEX),
    16: ("case_ref_commit", 2, HEX),
    17: ("subject_commit", 2, HEX),
    18: ("outcome", 0, enum("", "HIT", "NO_HIT", "DENIED", "ERROR")),
    19: ("image_requested", 0, lambda v: "true" if v else "false"),
}
# RegistryChange {change_time_centis = 1; oneof register = 2, rotate = 3,
# revoke = 4}, with the fields of RegisterAgencyKey, RotateAgencyKey and
# RevokeAgencyKey below.
REGISTRY_CHANGE = {1: ("change_time", 0, centis), 2: ("register", 2, None),
                   3: ("rotate", 2, None), 4: ("revoke", 2, None)}
REGISTRY_SUB = {
    2: {1: ("ori", 2, STR), 2: ("agency_class", 0, enum(
        "", "FEDERAL_IMMIGRATION", "FEDERAL_OTHER", "STATE_POLICE", "LOCAL_POLICE",
        "DMV_CUSTODIAN", "SWITCH_OPERATOR", "COURT", "OTHER_AGENCY")),
        3: ("agency_name", 2, STR), 4: ("state", 2, STR), 5: ("public_key", 2, HEX)},
    3: {1: ("old_public_key", 2, HEX), 2: ("new_public_key", 2, HEX)},
    4: {1: ("public_key", 2, HEX), 2: ("reason", 2, STR)},
}


def decode(payload, schema):
    """{field number: (name, raw value, shown value)}. Unknown, mistyped and
    repeated singular fields are refused: Vigil's canonical payloads never
    hold them (docs/formats.md)."""
    out = {}
    for num, wt, value in wire_fields(payload):
        if num not in schema or schema[num][1] != wt or num in out:
            raise Failed(f"record: payload: unexpected or repeated field {num}")
        name, _, show = schema[num]
        if schema is ACCESS_RECORD and num == 11:
            cats, i = [], 0
            while i < len(value):
                v, i = varint(value, i)
                cats.append(CATEGORY(v))
            shown = ",".join(cats)
        elif schema is REGISTRY_CHANGE and num in REGISTRY_SUB:
            sub = decode(value, REGISTRY_SUB[num])
            shown = ", ".join(f"{n} {s}" for n, _, s in sub.values())
        else:
            shown = show(value)
        out[num] = (name, value, shown)
    return out


# --- Vigil entries and commitments (docs/formats.md, "Entries") ---------------

PREFIXES = {1: b"vigil/record/v1\n", 2: b"vigil/registry/v1\n"}
COMMITTED = {  # openings-file name -> (AccessRecord field number, domain tag)
    "operator": (6, b"vigil/operator/v1\n"), "subject": (17, b"vigil/subject/v1\n"),
    "legal_doc": (15, b"vigil/legal-doc/v1\n"), "case_ref": (16, b"vigil/case/v1\n"),
}


def open_entry(entry):
    """0x01 || kind || 32-byte Ed25519 key || 64-byte signature || payload;
    the signature covers PREFIXES[kind] || payload."""
    if not 98 <= len(entry) <= 65535:
        raise Failed(f"record: the entry is {len(entry)} bytes, not 98..65535")
    if entry[0] != 0x01 or entry[1] not in PREFIXES:
        raise Failed(f"record: unknown entry version {entry[0]} or kind {entry[1]}")
    kind, public_key, signature, payload = entry[1], entry[2:34], entry[34:98], entry[98:]
    if not ed25519_ok(public_key, signature, PREFIXES[kind] + payload):
        raise Failed(f"record: the signature does not verify with its key {public_key.hex()}")
    return kind, public_key, decode(payload, ACCESS_RECORD if kind == 1 else REGISTRY_CHANGE)


def verify(a):
    log = read_vkey(a.log_key, 0x01, "log key")
    witnesses = [read_vkey(f, 0x04, "witness key") for f in a.witness_key]
    if len({w[2] for w in witnesses}) != len(witnesses):
        raise Usage("witness key: the same key given twice")  # one key, one vote
    quorum = len(witnesses) if a.quorum is None else a.quorum
    if not 0 <= quorum <= len(witnesses):
        raise Usage(f"a quorum of {quorum} with {len(witnesses)} witness keys")
    agency = a.agency_key and read_vkey(a.agency_key, 0x01, "agency key")
    registry = a.registry_key and read_vkey(a.registry_key, 0x01, "registry key")
    openings = []
    for field, value, hex_opening in a.opening:
        if field not in COMMITTED or not re.fullmatch(r"[0-9a-fA-F]{64}", hex_opening):
            raise Usage(f"--opening {field}: the field must be one of "
                        f"{', '.join(COMMITTED)} and the opening 64 hex digits")
        openings.append((field, value, bytes.fromhex(hex_opening)))
    bundle, entry = read_file(a.bundle, "bundle"), read_file(a.entry, "entry")

    # The record first: a genuine signed entry, by the key the court expects.
    kind, signer, fields = open_entry(entry)
    if kind == 2 and not registry:
        raise Failed("record: the entry is a registry change; give --registry-key")
    if kind == 2 and signer != registry[2]:
        raise Failed(f"registry key: the change was signed by key {signer.hex()}, "
                     f"not by the registry key {registry[0]}")
    if kind == 1 and agency and signer != agency[2]:
        raise Failed(f"agency key: the record was signed by key {signer.hex()}, "
                     f"not by the key of {agency[0]} ({agency[2].hex()})")
    what = (f"a registry change signed by the registry key {registry[0]}" if kind == 2
            else f"an access record signed by key {signer.hex()}" +
            (f", the key of {agency[0]}" if agency else " (no agency key was given)"))

    # tlog-proof step 1: the leaf hash, RFC 9162 section 2.1.1.
    index, proof, note = parse_bundle(bundle)
    leaf = leaf_hash(entry)
    report = [f"  step 1: leaf hash SHA-256(0x00 || entry) of the {len(entry)}-byte entry"]

    # Step 2: the origin, and the log's Ed25519 signature over the note text.
    step = "tlog-proof: step 2 (log signature)"
    text, signatures = parse_note(note, step)
    origin, size, root = parse_checkpoint(text, step)
    if origin != (a.origin or log[0]):
        raise Failed(f"{step}: the checkpoint's origin is {origin!r}, not {a.origin or log[0]!r}")
    mine = [s for n, k, s in signatures if (n, k) == log[:2]]
    if not mine:
        raise Failed(f"{step}: no signature by the log key {log[0]}+{log[1].hex()}")
    if not all(ed25519_ok(log[2], s, text.encode()) for s in mine):
        raise Failed(f"{step}: the log key's signature does not verify")
    report.append(f"  step 2: checkpoint \"{origin}\", size {size}, root "
                  f"{base64.b64encode(root).decode()}, signed by {log[0]}+{log[1].hex()}")

    # Step 3: k of n witness cosignatures. tlog-cosignature v1: after the key
    # ID, uint64 BE timestamp T || Ed25519 signature over
    # "cosignature/v1\ntime <T>\n" || checkpoint note text.
    step, cosigned = "tlog-proof: step 3 (witness cosignatures)", []
    for name, kid, public_key in witnesses:
        for n, k, s in signatures:
            t = int.from_bytes(s[:8], "big")
            message = f"cosignature/v1\ntime {t}\n{text}".encode()
            if (n, k) == (name, kid) and len(s) == 72 and t < 2**63 and \
                    ed25519_ok(public_key, s[8:], message):
                cosigned.append((name, t))
                break
    if len(cosigned) < quorum:
        raise Failed(f"{step}: {len(cosigned)} of the {len(witnesses)} witnesses "
                     f"cosigned, {quorum} required")
    for name, t in cosigned:
        when = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        report.append(f"  step 3: cosigned by witness {name} at {when}")
    report.append(f"  step 3: {len(cosigned)} of {len(witnesses)} witnesses cosigned, "
                  f"{quorum} required" if witnesses else
                  "  step 3: no witness keys given: the log's signature alone")

    # Step 4: the inclusion proof binds the leaf hash to the signed root.
    try:
        verify_inclusion(index, size, leaf, proof, root)
    except Failed as e:
        raise Failed(f"tlog-proof: step 4 (inclusion): {e}") from None
    report.append(f"  step 4: the {len(proof)} proof hashes lead from the leaf to the root")
    report.append(f"  the entry is {what}:")
    report += [f"    {name}: {shown}" for name, _, shown in fields.values()]

    # Last, the commitments opened to the court:
    # BLAKE2b-256(key = opening, message = domain tag || value).
    for field, value, opening in openings:
        number, tag = COMMITTED[field]
        if kind != 1 or number not in fields or len(fields[number][1]) != 32:
            raise Failed(f"opening: the record has no {field} commitment to open")
        digest = hashlib.blake2b(tag + value.encode(), digest_size=32, key=opening).digest()
        if not hmac.compare_digest(digest, fields[number][1]):
            raise Failed(f"opening: the opening and value given do not open the "
                         f"record's {field} commitment")
        report.append(f"  its {field} commitment opens to \"{value}\"")
    print(f"verified: entry {index} of log {origin} (leaf hash {leaf.hex()})")
    print("\n".join(report))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a Vigil evidence bundle "
                                 "(c2sp.org/tlog-proof) offline, independently.")
    ap.add_argument("bundle", help="the .tlog-proof file")
    ap.add_argument("entry", help="the entry's exact bytes")
    ap.add_argument("--log-key", required=True, help="the log's verifier key file")
    ap.add_argument("--origin", help="the checkpoint origin (default: the log key's name)")
    ap.add_argument("--witness-key", action="append", default=[],
                    help="a witness's verifier key file, type 0x04 (repeatable)")
    ap.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    ap.add_argument("--agency-key", help="the verifier key file of the agency said to sign")
    ap.add_argument("--registry-key", help="the registry operator's verifier key file, "
                    "to check a registry-change entry")
    ap.add_argument("--opening", nargs=3, action="append", default=[],
                    metavar=("FIELD", "VALUE", "HEX"), help="a commitment opening: "
                    "operator, subject, legal_doc or case_ref (repeatable)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        return verify(args)
    except Usage as e:
        print(f"court_verify: {e}", file=sys.stderr)
        return 2
    except Failed as e:
        print(f"court_verify: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
