#include "merkle/note.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"

namespace vigil::merkle {
namespace {

static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeySize);
static_assert(crypto_sign_SEEDBYTES == kEd25519SeedSize);
static_assert(crypto_sign_BYTES == kEd25519SignatureSize);

// U+2014 EM DASH and a space: the start of every signature line.
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";
constexpr std::string_view kSignerKeyPrefix = "PRIVATE+KEY+";
constexpr size_t kKeyIdSize = 4;
constexpr size_t kKeyIdHexSize = 8;

// libsodium must be initialised before use; sodium_init() is idempotent and
// thread-safe, and fails only if the system has no usable randomness.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string KeyLabel(std::string_view name, uint32_t key_id) {
  return absl::StrFormat("%s+%s", name, FormatKeyId(key_id));
}

bool IsSupportedType(uint8_t type) {
  return type == kSignatureTypeEd25519 || type == kSignatureTypeCosignatureV1;
}

// Unicode White_Space (what Go's unicode.IsSpace accepts).
bool IsUnicodeSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

// Decodes the code point starting at text[*i] and advances *i. Requires
// valid UTF-8 (IsValidUtf8).
uint32_t NextCodePoint(std::string_view text, size_t* i) {
  const auto b0 = static_cast<uint8_t>(text[*i]);
  size_t len = 1;
  uint32_t cp = b0;
  if (b0 >= 0xf0) {
    len = 4, cp = b0 & 0x07;
  } else if (b0 >= 0xe0) {
    len = 3, cp = b0 & 0x0f;
  } else if (b0 >= 0xc0) {
    len = 2, cp = b0 & 0x1f;
  }
  for (size_t k = 1; k < len; ++k) {
    cp = cp << 6 | (static_cast<uint8_t>(text[*i + k]) & 0x3f);
  }
  *i += len;
  return cp;
}

// Checks the byte-level rules every note obeys: UTF-8, and no ASCII control
// character other than '\n'.
absl::Status CheckNoteBytes(std::string_view bytes, std::string_view what) {
  if (!IsValidUtf8(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is not valid UTF-8", what));
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<uint8_t>(bytes[i]);
    if (c < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s contains control character 0x%02x at offset %d", what, c, i));
    }
  }
  return absl::OkStatus();
}

// Checks that `text` can be the text of a note.
absl::Status CheckNoteText(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("note text is empty");
  if (text.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "note text is %d bytes, limit %d", text.size(), kMaxNoteSize));
  }
  if (absl::Status s = CheckNoteBytes(text, "note text"); !s.ok()) return s;
  if (text.back() != '\n') {
    return absl::InvalidArgumentError("note text does not end with a newline");
  }
  return absl::OkStatus();
}

// Parses the 8 lowercase hex digits of a key ID.
absl::StatusOr<uint32_t> ParseKeyIdHex(std::string_view hex,
                                       std::string_view what) {
  if (hex.size() != kKeyIdHexSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: key ID %s is not 8 hex digits", what, QuoteForError(hex)));
  }
  uint32_t id = 0;
  for (char c : hex) {
    uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: key ID %s is not lowercase hex", what, QuoteForError(hex)));
    }
    id = id << 4 | digit;
  }
  return id;
}

// The parts of "<name>+<hex id>+<base64(type || key)>", shared by verifier
// and signer keys. `key` may be secret: it is wiped on destruction and never
// quoted in errors.
struct KeyParts {
  KeyParts() = default;
  KeyParts(const KeyParts&) = delete;
  KeyParts& operator=(const KeyParts&) = delete;
  ~KeyParts() { sodium_memzero(key.data(), key.size()); }

  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;
  std::array<uint8_t, 32> key{};
};

absl::Status ParseKeyParts(std::string_view text, std::string_view what,
                           KeyParts* parts) {
  // The name has no '+' and the ID is hex, so the first two '+' split the
  // fields; base64 may itself contain '+'.
  const size_t plus1 = text.find('+');
  if (plus1 == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: missing '+' after the key name", what));
  }
  const size_t plus2 = text.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: missing '+' after the key ID", what));
  }
  const std::string_view name = text.substr(0, plus1);
  if (absl::Status s = ValidateKeyName(name); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s", what, s.message()));
  }
  absl::StatusOr<uint32_t> id =
      ParseKeyIdHex(text.substr(plus1 + 1, plus2 - plus1 - 1), what);
  if (!id.ok()) return id.status();
  const std::string_view key_text = text.substr(plus2 + 1);
  // Checked here because Base64Decode must not be given empty text.
  if (key_text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: key data is empty", what));
  }
  absl::StatusOr<std::vector<uint8_t>> key = Base64Decode(key_text, what);
  if (!key.ok()) return key.status();
  const size_t key_size = key->size();
  const uint8_t type = key_size > 0 ? (*key)[0] : 0;
  if (key_size == 1 + parts->key.size() && IsSupportedType(type)) {
    std::copy(key->begin() + 1, key->end(), parts->key.begin());
  }
  sodium_memzero(key->data(), key_size);
  if (!IsSupportedType(type)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: unsupported signature type 0x%02x (want 0x%02x or 0x%02x)", what,
        type, kSignatureTypeEd25519, kSignatureTypeCosignatureV1));
  }
  if (key_size != 1 + parts->key.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: type 0x%02x key is %d bytes, want %d", what, type,
                        key_size - 1, parts->key.size()));
  }
  parts->name = std::string(name);
  parts->key_id = *id;
  parts->type = type;
  return absl::OkStatus();
}

std::string FormatKeyText(std::string_view name, uint8_t type,
                          std::span<const uint8_t> key) {
  std::vector<uint8_t> typed;
  typed.reserve(1 + key.size());
  typed.push_back(type);
  typed.insert(typed.end(), key.begin(), key.end());
  std::string out = absl::StrFormat("%s+%s+%s", name,
                                    FormatKeyId(ComputeKeyId(name, type, key)),
                                    Base64Encode(typed));
  sodium_memzero(typed.data(), typed.size());
  return out;
}

// Rejects null entries and two keys with the same (name, key ID).
template <typename T>
absl::Status CheckDistinctKeys(std::span<const T* const> keys,
                               std::string_view what) {
  std::set<std::pair<std::string_view, uint32_t>> seen;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %d is null", what, i));
    }
    if (!seen.insert({keys[i]->name(), keys[i]->key_id()}).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("two %ss for key %s", what,
                          KeyLabel(keys[i]->name(), keys[i]->key_id())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t ComputeKeyId(std::string_view name, uint8_t type,
                      std::span<const uint8_t> public_key) {
  const uint8_t separator[2] = {'\n', type};
  const std::span<const uint8_t> parts[] = {AsBytes(name), separator,
                                            public_key};
  const Hash h = Sha256Concat(parts);
  return static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 |
         static_cast<uint32_t>(h[2]) << 8 | static_cast<uint32_t>(h[3]);
}

std::string FormatKeyId(uint32_t key_id) {
  return absl::StrFormat("%08x", key_id);
}

absl::Status ValidateKeyName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("key name is empty");
  if (!IsValidUtf8(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("key name %s is not valid UTF-8", QuoteForError(name)));
  }
  size_t i = 0;
  while (i < name.size()) {
    const size_t offset = i;
    const uint32_t cp = NextCodePoint(name, &i);
    if (IsUnicodeSpace(cp)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("key name %s contains space U+%04X at offset %d",
                          QuoteForError(name), cp, offset));
    }
    if (cp < 0x20) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "key name %s contains control character 0x%02x at offset %d",
          QuoteForError(name), cp, offset));
    }
    if (cp == '+') {
      return absl::InvalidArgumentError(
          absl::StrFormat("key name %s contains '+' at offset %d",
                          QuoteForError(name), offset));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (line.empty() || line.back() != '\n') {
    return absl::InvalidArgumentError(
        "signature line does not end with a newline");
  }
  line.remove_suffix(1);
  if (line.find('\n') != std::string_view::npos) {
    return absl::InvalidArgumentError("signature line contains a newline");
  }
  if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signature line %s does not start with an em dash (U+2014) and a "
        "space",
        QuoteForError(line)));
  }
  line.remove_prefix(kSignaturePrefix.size());
  // Neither the name nor base64 may hold a space, so the last one separates
  // them; splitting there lets a name with a space get its own message.
  const size_t space = line.rfind(' ');
  if (space == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signature line %s has no space between key name and signature",
        QuoteForError(line)));
  }
  const std::string_view name = line.substr(0, space);
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  const std::string_view encoded = line.substr(space + 1);
  // Checked here because Base64Decode must not be given empty text.
  if (encoded.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signature by %s is 0 bytes, need a 4-byte key ID and at least one "
        "signature byte",
        name));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes =
      Base64Decode(encoded, absl::StrFormat("signature by %s", name));
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() <= kKeyIdSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signature by %s is %d bytes, need a 4-byte key ID and at least one "
        "signature byte",
        name, bytes->size()));
  }
  NoteSignature sig;
  sig.name = std::string(name);
  for (size_t i = 0; i < kKeyIdSize; ++i) {
    sig.key_id = sig.key_id << 8 | (*bytes)[i];
  }
  sig.signature.assign(bytes->begin() + kKeyIdSize, bytes->end());
  return sig;
}

std::string FormatSignatureLine(const NoteSignature& signature) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kKeyIdSize + signature.signature.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<uint8_t>(signature.key_id >> shift));
  }
  bytes.insert(bytes.end(), signature.signature.begin(),
               signature.signature.end());
  return absl::StrFormat("%s%s %s\n", kSignaturePrefix, signature.name,
                         Base64Encode(bytes));
}

absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note) {
  if (note.empty()) return absl::InvalidArgumentError("note is empty");
  if (note.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "note is %d bytes, limit %d", note.size(), kMaxNoteSize));
  }
  if (absl::Status s = CheckNoteBytes(note, "note"); !s.ok()) return s;
  if (note.back() != '\n') {
    return absl::InvalidArgumentError("note does not end with a newline");
  }
  const size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) {
    return absl::InvalidArgumentError(
        "note has no blank line between text and signatures");
  }
  SignedNote parsed;
  parsed.text = std::string(note.substr(0, blank + 1));
  std::string_view lines = note.substr(blank + 2);
  if (lines.empty()) {
    return absl::InvalidArgumentError("note has no signature lines");
  }
  const size_t count =
      static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n'));
  if (count > kMaxNoteSignatures) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "note has %d signatures, limit %d", count, kMaxNoteSignatures));
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  for (size_t n = 1; !lines.empty(); ++n) {
    const size_t end = lines.find('\n') + 1;  // `lines` ends with '\n'.
    absl::StatusOr<NoteSignature> sig =
        ParseSignatureLine(lines.substr(0, end));
    if (!sig.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "note signature line %d: %s", n, sig.status().message()));
    }
    if (!seen.insert({sig->name, sig->key_id}).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("note signature line %d: second signature by key %s",
                          n, KeyLabel(sig->name, sig->key_id)));
    }
    parsed.signatures.push_back(*std::move(sig));
    lines.remove_prefix(end);
  }
  return parsed;
}

absl::StatusOr<std::string> FormatSignedNote(const SignedNote& note) {
  if (absl::Status s = CheckNoteText(note.text); !s.ok()) return s;
  if (note.signatures.size() > kMaxNoteSignatures) {
    return absl::InvalidArgumentError(
        absl::StrFormat("note has %d signatures, limit %d",
                        note.signatures.size(), kMaxNoteSignatures));
  }
  std::string out = note.text;
  out.push_back('\n');
  for (const NoteSignature& sig : note.signatures) {
    if (absl::Status s = ValidateKeyName(sig.name); !s.ok()) return s;
    out += FormatSignatureLine(sig);
  }
  // Everything else (limits, duplicates, empty signatures) is the parser's
  // job; insisting on an exact round trip keeps the two in step.
  absl::StatusOr<SignedNote> reparsed = ParseSignedNote(out);
  if (!reparsed.ok()) return reparsed.status();
  if (*reparsed != note) {
    return absl::InvalidArgumentError(
        "note does not survive formatting (empty signature?)");
  }
  return out;
}

absl::StatusOr<OpenedNote> OpenNote(
    std::string_view note, std::span<const NoteVerifier* const> verifiers) {
  if (verifiers.empty()) {
    return absl::InvalidArgumentError("no verifiers to open the note with");
  }
  if (absl::Status s = CheckDistinctKeys(verifiers, "verifier"); !s.ok()) {
    return s;
  }
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();

  OpenedNote opened;
  for (NoteSignature& sig : parsed->signatures) {
    const auto known = std::find_if(
        verifiers.begin(), verifiers.end(), [&](const NoteVerifier* v) {
          return v->name() == sig.name && v->key_id() == sig.key_id;
        });
    if (known == verifiers.end()) {
      opened.unverified.push_back(std::move(sig));
      continue;
    }
    if (!(*known)->Verify(parsed->text, sig.signature)) {
      return absl::UnauthenticatedError(
          absl::StrFormat("signature by known key %s does not verify",
                          KeyLabel(sig.name, sig.key_id)));
    }
    opened.verified.push_back({*known, std::move(sig)});
  }
  if (opened.verified.empty()) {
    return absl::UnauthenticatedError(absl::StrFormat(
        "note has %d signatures, none by any of the %d known keys",
        opened.unverified.size(), verifiers.size()));
  }
  opened.text = std::move(parsed->text);
  return opened;
}

absl::StatusOr<std::string> SignNote(
    std::string_view text, std::span<const NoteSigner* const> signers) {
  if (absl::Status s = CheckNoteText(text); !s.ok()) return s;
  if (signers.empty()) {
    return absl::InvalidArgumentError("no signers to sign the note with");
  }
  if (absl::Status s = CheckDistinctKeys(signers, "signer"); !s.ok()) {
    return s;
  }
  SignedNote note;
  note.text = std::string(text);
  for (const NoteSigner* signer : signers) {
    absl::StatusOr<std::vector<uint8_t>> sig = signer->Sign(text);
    if (!sig.ok()) return sig.status();
    note.signatures.push_back(
        {std::string(signer->name()), signer->key_id(), *std::move(sig)});
  }
  return FormatSignedNote(note);
}

absl::StatusOr<std::string> AddSignatureLines(
    std::string_view note, std::span<const NoteSignature> signatures) {
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();
  std::string out(note);
  for (const NoteSignature& sig : signatures) {
    if (absl::Status s = ValidateKeyName(sig.name); !s.ok()) return s;
    if (sig.signature.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("signature by %s is empty", sig.name));
    }
    out += FormatSignatureLine(sig);
  }
  // Re-parsing applies the limits and rejects a second signature by a key.
  absl::StatusOr<SignedNote> reparsed = ParseSignedNote(out);
  if (!reparsed.ok()) return reparsed.status();
  return out;
}

absl::StatusOr<std::string> AddSignatures(
    std::string_view note, std::span<const NoteSigner* const> signers) {
  if (absl::Status s = CheckDistinctKeys(signers, "signer"); !s.ok()) {
    return s;
  }
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();
  std::vector<NoteSignature> added;
  for (const NoteSigner* signer : signers) {
    absl::StatusOr<std::vector<uint8_t>> sig = signer->Sign(parsed->text);
    if (!sig.ok()) return sig.status();
    added.push_back(
        {std::string(signer->name()), signer->key_id(), *std::move(sig)});
  }
  return AddSignatureLines(note, added);
}

absl::StatusOr<VerifierKey> ParseVerifierKey(std::string_view vkey) {
  KeyParts parts;
  if (absl::Status s = ParseKeyParts(vkey, "verifier key", &parts); !s.ok()) {
    return s;
  }
  const uint32_t computed = ComputeKeyId(parts.name, parts.type, parts.key);
  if (computed != parts.key_id) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "verifier key: key ID %s does not match the key (computed %s)",
        FormatKeyId(parts.key_id), FormatKeyId(computed)));
  }
  VerifierKey key;
  key.name = std::move(parts.name);
  key.key_id = parts.key_id;
  key.type = parts.type;
  key.public_key = parts.key;
  return key;
}

absl::StatusOr<std::string> FormatVerifierKey(
    std::string_view name, uint8_t type, std::span<const uint8_t> public_key) {
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  if (!IsSupportedType(type)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported signature type 0x%02x", type));
  }
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("public key is %d bytes, want %d", public_key.size(),
                        kEd25519PublicKeySize));
  }
  return FormatKeyText(name, type, public_key);
}

SignerKey::SignerKey(SignerKey&& other) noexcept
    : name(std::move(other.name)),
      key_id(other.key_id),
      type(other.type),
      seed(other.seed) {
  sodium_memzero(other.seed.data(), other.seed.size());
}

SignerKey& SignerKey::operator=(SignerKey&& other) noexcept {
  if (this != &other) {
    name = std::move(other.name);
    key_id = other.key_id;
    type = other.type;
    seed = other.seed;
    sodium_memzero(other.seed.data(), other.seed.size());
  }
  return *this;
}

SignerKey::~SignerKey() { sodium_memzero(seed.data(), seed.size()); }

absl::StatusOr<SignerKey> ParseSignerKey(std::string_view skey) {
  if (skey.substr(0, kSignerKeyPrefix.size()) != kSignerKeyPrefix) {
    return absl::InvalidArgumentError(
        "signer key does not start with PRIVATE+KEY+");
  }
  KeyParts parts;
  if (absl::Status s = ParseKeyParts(skey.substr(kSignerKeyPrefix.size()),
                                     "signer key", &parts);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Ed25519PrivateKey> private_key =
      Ed25519PrivateKey::FromSeed(parts.key);
  if (!private_key.ok()) return private_key.status();
  const uint32_t computed =
      ComputeKeyId(parts.name, parts.type, private_key->public_key());
  if (computed != parts.key_id) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signer key: key ID %s does not match the key (computed %s)",
        FormatKeyId(parts.key_id), FormatKeyId(computed)));
  }
  SignerKey key;
  key.name = std::move(parts.name);
  key.key_id = parts.key_id;
  key.type = parts.type;
  key.seed = parts.key;
  return key;
}

absl::StatusOr<NoteKeyPair> GenerateNoteKey(std::string_view name, uint8_t type,
                                            std::span<const uint8_t> seed) {
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  if (!IsSupportedType(type)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported signature type 0x%02x", type));
  }
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(seed);
  if (!key.ok()) return key.status();
  NoteKeyPair pair;
  pair.verifier_key = FormatKeyText(name, type, key->public_key());
  // The signer key carries the verifier key's ID, so compute it from the
  // public key, not the seed.
  std::vector<uint8_t> typed;
  typed.reserve(1 + seed.size());
  typed.push_back(type);
  typed.insert(typed.end(), seed.begin(), seed.end());
  pair.signer_key =
      absl::StrFormat("%s%s+%s+%s", kSignerKeyPrefix, name,
                      FormatKeyId(ComputeKeyId(name, type, key->public_key())),
                      Base64Encode(typed));
  sodium_memzero(typed.data(), typed.size());
  return pair;
}

absl::StatusOr<NoteKeyPair> GenerateNoteKey(std::string_view name,
                                            uint8_t type) {
  EnsureSodium();
  std::array<uint8_t, kEd25519SeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  absl::StatusOr<NoteKeyPair> pair = GenerateNoteKey(name, type, seed);
  sodium_memzero(seed.data(), seed.size());
  return pair;
}

absl::StatusOr<std::unique_ptr<NoteVerifier>> NewNoteVerifier(
    std::string_view vkey) {
  absl::StatusOr<VerifierKey> key = ParseVerifierKey(vkey);
  if (!key.ok()) return key.status();
  if (key->type == kSignatureTypeCosignatureV1) {
    absl::StatusOr<CosignatureVerifier> v =
        CosignatureVerifier::Create(key->name, key->public_key);
    if (!v.ok()) return v.status();
    return std::make_unique<CosignatureVerifier>(*std::move(v));
  }
  absl::StatusOr<Ed25519Verifier> v =
      Ed25519Verifier::Create(key->name, key->public_key);
  if (!v.ok()) return v.status();
  return std::make_unique<Ed25519Verifier>(*std::move(v));
}

// Ed25519PrivateKey

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(
    std::span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Ed25519 seed is %d bytes, want %d", seed.size(), kEd25519SeedSize));
  }
  EnsureSodium();
  Ed25519PrivateKey key;
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_.data(),
                           seed.data());
  return key;
}

Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

Ed25519PrivateKey& Ed25519PrivateKey::operator=(
    Ed25519PrivateKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = other.public_key_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

Ed25519PrivateKey::~Ed25519PrivateKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

std::array<uint8_t, kEd25519SignatureSize> Ed25519PrivateKey::Sign(
    std::span<const uint8_t> message) const {
  std::array<uint8_t, kEd25519SignatureSize> sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                       secret_.data());
  return sig;
}

// Ed25519Verifier

absl::StatusOr<VerifierKey> NewVerifierKey(
    std::string_view name, uint8_t type, std::span<const uint8_t> public_key) {
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Ed25519 public key is %d bytes, want %d",
                        public_key.size(), kEd25519PublicKeySize));
  }
  VerifierKey key;
  key.name = std::string(name);
  key.type = type;
  std::copy(public_key.begin(), public_key.end(), key.public_key.begin());
  key.key_id = ComputeKeyId(name, type, public_key);
  return key;
}

absl::StatusOr<VerifierKey> ParseVerifierKeyOfType(std::string_view vkey,
                                                   uint8_t type) {
  absl::StatusOr<VerifierKey> key = ParseVerifierKey(vkey);
  if (!key.ok()) return key.status();
  if (key->type != type) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "verifier key %s has type 0x%02x, want 0x%02x (%s)",
        KeyLabel(key->name, key->key_id), key->type, type,
        type == kSignatureTypeEd25519 ? "Ed25519" : "cosignature/v1"));
  }
  return key;
}

absl::StatusOr<Ed25519Verifier> Ed25519Verifier::Create(
    std::string_view name, std::span<const uint8_t> public_key) {
  absl::StatusOr<VerifierKey> key =
      NewVerifierKey(name, kSignatureTypeEd25519, public_key);
  if (!key.ok()) return key.status();
  Ed25519Verifier v;
  v.name_ = std::move(key->name);
  v.public_key_ = key->public_key;
  v.key_id_ = key->key_id;
  return v;
}

absl::StatusOr<Ed25519Verifier> Ed25519Verifier::FromVerifierKey(
    std::string_view vkey) {
  absl::StatusOr<VerifierKey> key =
      ParseVerifierKeyOfType(vkey, kSignatureTypeEd25519);
  if (!key.ok()) return key.status();
  return Create(key->name, key->public_key);
}

bool Ed25519Verifier::Verify(std::string_view text,
                             std::span<const uint8_t> signature) const {
  if (signature.size() != kEd25519SignatureSize) return false;
  EnsureSodium();
  const std::span<const uint8_t> message = AsBytes(text);
  return crypto_sign_verify_detached(signature.data(), message.data(),
                                     message.size(), public_key_.data()) == 0;
}

std::string Ed25519Verifier::vkey() const {
  return FormatKeyText(name_, kSignatureTypeEd25519, public_key_);
}

// Ed25519Signer

absl::StatusOr<Ed25519Signer> Ed25519Signer::Create(
    std::string_view name, std::span<const uint8_t> seed) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(seed);
  if (!key.ok()) return key.status();
  absl::StatusOr<Ed25519Verifier> verifier =
      Ed25519Verifier::Create(name, key->public_key());
  if (!verifier.ok()) return verifier.status();
  return Ed25519Signer(*std::move(key), *std::move(verifier));
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::Generate(std::string_view name) {
  EnsureSodium();
  std::array<uint8_t, kEd25519SeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  absl::StatusOr<Ed25519Signer> signer = Create(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return signer;
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromSignerKey(
    std::string_view skey) {
  absl::StatusOr<SignerKey> key = ParseSignerKey(skey);
  if (!key.ok()) return key.status();
  if (key->type != kSignatureTypeEd25519) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signer key %s has type 0x%02x, want 0x%02x (Ed25519)",
        KeyLabel(key->name, key->key_id), key->type, kSignatureTypeEd25519));
  }
  return Create(key->name, key->seed);
}

absl::StatusOr<std::vector<uint8_t>> Ed25519Signer::Sign(
    std::string_view text) const {
  const std::array<uint8_t, kEd25519SignatureSize> sig =
      key_.Sign(AsBytes(text));
  return std::vector<uint8_t>(sig.begin(), sig.end());
}

}  // namespace vigil::merkle
