#include "merkle/note.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "tests/testing/status_matchers.h"

namespace vigil::merkle {
namespace {

using ::vigil::testing::IsError;

using ::testing::HasSubstr;
using ::testing::StartsWith;

// From c2sp.org/signed-note, "Verifier keys", "Example".
constexpr std::string_view kSpecVkey =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecNote =
    "This is an example message.\n"
    "\n"
    "— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRK"
    "uwHjG1Yu72IneyaQM=\n";

// A deterministic test seed derived from `label`.
Hash Seed(std::string_view label) { return Sha256(AsBytes(label)); }

Ed25519Signer MakeSigner(std::string_view name) {
  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::Create(name, Seed(name));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

std::string FlipBit(std::string_view s, size_t bit) {
  std::string out(s);
  out[bit / 8] = static_cast<char>(out[bit / 8] ^ (1 << (bit % 8)));
  return out;
}

// A note with `n` signature lines, all by distinct (unknown) keys.
std::string NoteWithSignatures(size_t n) {
  std::string note = "text\n\n";
  for (size_t i = 0; i < n; ++i) {
    NoteSignature sig{absl::StrFormat("k%d", i), static_cast<uint32_t>(i),
                      std::vector<uint8_t>(64, 0xab)};
    note += FormatSignatureLine(sig);
  }
  return note;
}

TEST(NoteTest, SpecExampleVerifies) {
  absl::StatusOr<Ed25519Verifier> v =
      Ed25519Verifier::FromVerifierKey(kSpecVkey);
  ASSERT_TRUE(v.ok()) << v.status();
  const NoteVerifier* verifiers[] = {&*v};
  absl::StatusOr<OpenedNote> opened = OpenNote(kSpecNote, verifiers);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, "This is an example message.\n");
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].verifier, &*v);
  EXPECT_EQ(opened->verified[0].signature.name, "example.com/foo");
  EXPECT_EQ(opened->verified[0].signature.key_id, 0x530d903au);
  EXPECT_TRUE(opened->unverified.empty());
}

TEST(NoteTest, SpecExampleVerifierKeyParses) {
  absl::StatusOr<VerifierKey> key = ParseVerifierKey(kSpecVkey);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->name, "example.com/foo");
  EXPECT_EQ(key->key_id, 0x530d903au);
  EXPECT_EQ(key->type, kSignatureTypeEd25519);
  EXPECT_EQ(ComputeKeyId(key->name, key->type, key->public_key), 0x530d903au);
  EXPECT_EQ(FormatVerifierKey(key->name, key->type, key->public_key).value(),
            kSpecVkey);
}

TEST(NoteTest, SpecExampleWithChangedTextIsRejected) {
  std::string note(kSpecNote);
  note[0] = 't';
  absl::StatusOr<Ed25519Verifier> v =
      Ed25519Verifier::FromVerifierKey(kSpecVkey);
  ASSERT_TRUE(v.ok());
  const NoteVerifier* verifiers[] = {&*v};
  EXPECT_THAT(OpenNote(note, verifiers),
              IsError(absl::StatusCode::kUnauthenticated, "does not verify"));
}

TEST(NoteTest, SpecExampleWithAnyBitFlippedIsRejected) {
  absl::StatusOr<Ed25519Verifier> v =
      Ed25519Verifier::FromVerifierKey(kSpecVkey);
  ASSERT_TRUE(v.ok());
  const NoteVerifier* verifiers[] = {&*v};
  for (size_t bit = 0; bit < kSpecNote.size() * 8; ++bit) {
    EXPECT_FALSE(OpenNote(FlipBit(kSpecNote, bit), verifiers).ok())
        << "bit " << bit;
  }
}

TEST(NoteTest, SpecExampleWithSignatureBitFlippedIsUnauthenticated) {
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(kSpecNote);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Ed25519Verifier> v =
      Ed25519Verifier::FromVerifierKey(kSpecVkey);
  ASSERT_TRUE(v.ok());
  const NoteVerifier* verifiers[] = {&*v};
  for (size_t bit = 0; bit < kEd25519SignatureSize * 8; bit += 7) {
    SignedNote mutated = *parsed;
    mutated.signatures[0].signature[bit / 8] ^= 1 << (bit % 8);
    EXPECT_THAT(OpenNote(FormatSignedNote(mutated).value(), verifiers),
                IsError(absl::StatusCode::kUnauthenticated,
                        "example.com/foo+530d903a does not verify"))
        << "bit " << bit;
  }
}

TEST(NoteTest, SpecIntroNoteSplitsAtTheLastBlankLine) {
  const std::string note =
      "Ognuno sta solo sul cuor della terra\n"
      "trafitto da un raggio di sole:\n"
      "\n"
      "ed è subito sera.\n"
      "\n"
      "— quasimodo.example/salvatore "
      "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj9"
      "9ihAQwaqP3ZekRwNtIc=\n";
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->text,
            "Ognuno sta solo sul cuor della terra\n"
            "trafitto da un raggio di sole:\n"
            "\n"
            "ed è subito sera.\n");
  ASSERT_EQ(parsed->signatures.size(), 1u);
  EXPECT_EQ(parsed->signatures[0].name, "quasimodo.example/salvatore");
  EXPECT_EQ(parsed->signatures[0].signature.size(), 64u);
  EXPECT_EQ(FormatSignedNote(*parsed).value(), note);
}

TEST(NoteTest, KeyIdIsTheFirstFourBytesOfTheKeyHash) {
  const std::vector<uint8_t> public_key(32, 7);
  std::vector<uint8_t> preimage = {'a', '/', 'b', '\n', 0x01};
  preimage.insert(preimage.end(), public_key.begin(), public_key.end());
  const Hash h = Sha256(preimage);
  const uint32_t want =
      static_cast<uint32_t>(h[0]) << 24 | h[1] << 16 | h[2] << 8 | h[3];
  EXPECT_EQ(ComputeKeyId("a/b", 0x01, public_key), want);
  EXPECT_NE(ComputeKeyId("a/b", 0x04, public_key), want);
  EXPECT_EQ(FormatKeyId(0x0000abcd), "0000abcd");
}

TEST(NoteTest, GeneratedKeysHaveTheNoteKeyFormat) {
  absl::StatusOr<NoteKeyPair> pair =
      GenerateNoteKey("vigil.example/log", kSignatureTypeEd25519);
  ASSERT_TRUE(pair.ok()) << pair.status();
  // PRIVATE+KEY+<name>+<8 hex>+<base64 of 33 bytes = 44 chars>
  EXPECT_THAT(pair->signer_key,
              ::testing::MatchesRegex(
                  "PRIVATE\\+KEY\\+vigil\\.example/log\\+[0-9a-f]{8}\\+A"
                  "[A-Za-z0-9+/]{43}"));
  EXPECT_THAT(pair->verifier_key,
              ::testing::MatchesRegex(
                  "vigil\\.example/log\\+[0-9a-f]{8}\\+A[A-Za-z0-9+/]{43}"));
  // Both keys carry the same key ID.
  EXPECT_EQ(pair->signer_key.substr(12, 27), pair->verifier_key.substr(0, 27));

  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::FromSignerKey(pair->signer_key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->verifier().vkey(), pair->verifier_key);
  absl::StatusOr<Ed25519Verifier> verifier =
      Ed25519Verifier::FromVerifierKey(pair->verifier_key);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const NoteSigner* signers[] = {&*signer};
  const NoteVerifier* verifiers[] = {&*verifier};
  EXPECT_TRUE(OpenNote(SignNote("hello\n", signers).value(), verifiers).ok());
}

TEST(NoteTest, KeysFromTheSameSeedAreIdentical) {
  const Hash seed = Seed("same");
  absl::StatusOr<NoteKeyPair> a = GenerateNoteKey("n", 0x01, seed);
  absl::StatusOr<NoteKeyPair> b = GenerateNoteKey("n", 0x01, seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->signer_key, b->signer_key);
  EXPECT_EQ(a->verifier_key, b->verifier_key);
  // The signer key holds the seed itself.
  absl::StatusOr<SignerKey> parsed = ParseSignerKey(a->signer_key);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(std::equal(seed.begin(), seed.end(), parsed->seed.begin()));
  EXPECT_EQ(MakeSigner("n").verifier().vkey(),
            GenerateNoteKey("n", 0x01, Seed("n")).value().verifier_key);
}

TEST(NoteTest, RandomKeysDiffer) {
  absl::StatusOr<NoteKeyPair> a = GenerateNoteKey("n", 0x01);
  absl::StatusOr<NoteKeyPair> b = GenerateNoteKey("n", 0x01);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->signer_key, b->signer_key);
  absl::StatusOr<Ed25519Signer> c = Ed25519Signer::Generate("n");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->verifier().vkey(), a->verifier_key);
}

TEST(NoteTest, KeyGenerationRejectsBadArguments) {
  const Hash seed = Seed("x");
  EXPECT_THAT(GenerateNoteKey("a b", 0x01, seed),
              IsError(absl::StatusCode::kInvalidArgument, "space"));
  EXPECT_THAT(GenerateNoteKey("", 0x01, seed),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(GenerateNoteKey("a", 0x02, seed),
              IsError(absl::StatusCode::kInvalidArgument, "type 0x02"));
  EXPECT_THAT(GenerateNoteKey("a", 0x01, std::span(seed).first(31)),
              IsError(absl::StatusCode::kInvalidArgument, "31 bytes"));
  EXPECT_THAT(Ed25519Signer::Create("a", std::vector<uint8_t>(33)),
              IsError(absl::StatusCode::kInvalidArgument, "33 bytes"));
  EXPECT_THAT(Ed25519Verifier::Create("a", std::vector<uint8_t>(31)),
              IsError(absl::StatusCode::kInvalidArgument, "31 bytes"));
  EXPECT_THAT(Ed25519Signer::Generate("a+b"),
              IsError(absl::StatusCode::kInvalidArgument, "'+'"));
}

TEST(NoteTest, VerifierKeysRoundTrip) {
  for (uint8_t type : {kSignatureTypeEd25519, kSignatureTypeCosignatureV1}) {
    const NoteKeyPair pair =
        GenerateNoteKey("example.org/città", type, Seed("rt")).value();
    absl::StatusOr<VerifierKey> key = ParseVerifierKey(pair.verifier_key);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->type, type);
    EXPECT_EQ(key->name, "example.org/città");
    EXPECT_EQ(FormatVerifierKey(key->name, key->type, key->public_key).value(),
              pair.verifier_key);
    absl::StatusOr<SignerKey> skey = ParseSignerKey(pair.signer_key);
    ASSERT_TRUE(skey.ok()) << skey.status();
    EXPECT_EQ(skey->key_id, key->key_id);
    EXPECT_EQ(skey->type, type);
  }
}

TEST(NoteTest, MalformedVerifierKeysAreRejected) {
  const std::string good = std::string(kSpecVkey);
  const std::string key_b64 = good.substr(25);  // After "<name>+<id>+".
  struct Case {
    std::string vkey;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "missing '+' after the key name"},
      {"example.com/foo", "missing '+' after the key name"},
      {"example.com/foo+530d903a", "missing '+' after the key ID"},
      {"+530d903a+" + key_b64, "key name is empty"},
      {"example.com/foo+530d903b+" + key_b64, "does not match the key"},
      {"example.com/fop+530d903a+" + key_b64, "does not match the key"},
      {"example.com/foo+530D903A+" + key_b64, "not lowercase hex"},
      {"example.com/foo+530d903+" + key_b64, "not 8 hex digits"},
      {"example.com/foo+0530d903a+" + key_b64, "not 8 hex digits"},
      {"example.com/foo+530d903g+" + key_b64, "not lowercase hex"},
      {good + "\n", "base64"},
      {" " + good, "space"},
      {good + "=", "base64"},
      {"example.com/foo+530d903a+" + key_b64.substr(0, 40), "key is 29 bytes"},
      {"example com+530d903a+" + key_b64, "space"},
      {"example.com/\xff+530d903a+" + key_b64, "UTF-8"},
      {"example.com/foo+530d903a+", "key data is empty"},
      // Type 0x02 (ECDSA) is not supported; 0x00 is not a type.
      {"example.com/foo+530d903a+" +
           Base64Encode(std::vector<uint8_t>(33, 0x02)),
       "unsupported signature type 0x02"},
      {"example.com/foo+530d903a+" +
           Base64Encode(std::vector<uint8_t>(33, 0x00)),
       "unsupported signature type 0x00"},
      {"example.com/foo+530d903a+" +
           Base64Encode(std::vector<uint8_t>{0x01, 1, 2, 3}),
       "key is 3 bytes, want 32"},
      {"example.com/foo+530d903a+" +
           Base64Encode(std::vector<uint8_t>(34, 0x01)),
       "key is 33 bytes, want 32"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseVerifierKey(c.vkey),
                IsError(absl::StatusCode::kInvalidArgument, c.want))
        << c.vkey;
  }
}

TEST(NoteTest, VerifierKeyOfTheWrongTypeIsRejected) {
  const NoteKeyPair cosigner =
      GenerateNoteKey("w", kSignatureTypeCosignatureV1, Seed("w")).value();
  EXPECT_THAT(Ed25519Verifier::FromVerifierKey(cosigner.verifier_key),
              IsError(absl::StatusCode::kInvalidArgument, "type 0x04"));
  EXPECT_THAT(Ed25519Signer::FromSignerKey(cosigner.signer_key),
              IsError(absl::StatusCode::kInvalidArgument, "type 0x04"));
}

TEST(NoteTest, MalformedSignerKeysAreRejectedWithoutLeakingTheSeed) {
  const NoteKeyPair pair = GenerateNoteKey("s", 0x01, Seed("s")).value();
  const std::string body = pair.signer_key.substr(12);
  const std::string b64 = body.substr(11);  // After "s+<id>+".
  struct Case {
    std::string skey;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "PRIVATE+KEY+"},
      {body, "PRIVATE+KEY+"},
      {"private+key+" + body, "PRIVATE+KEY+"},
      {"PRIVATE+KEY+" + body + "\n", "base64"},
      {"PRIVATE+KEY+s+00000000+" + b64, "does not match the key"},
      {"PRIVATE+KEY+t+" + body.substr(2), "does not match the key"},
      {"PRIVATE+KEY+" + body.substr(0, body.size() - 4), "key is 29 bytes"},
      {"PRIVATE+KEY+s", "missing '+'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SignerKey> key = ParseSignerKey(c.skey);
    EXPECT_THAT(key, IsError(absl::StatusCode::kInvalidArgument, c.want))
        << c.skey;
    EXPECT_THAT(std::string(key.status().message()),
                ::testing::Not(HasSubstr(b64.substr(4, 16))));
  }
}

TEST(NoteTest, KeyNamesFollowTheSpecRules) {
  EXPECT_TRUE(ValidateKeyName("example.com/foo").ok());
  EXPECT_TRUE(ValidateKeyName("città/ünïcode").ok());
  EXPECT_TRUE(ValidateKeyName("oid/1.3.6.1.4.1").ok());
  EXPECT_THAT(ValidateKeyName(""),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(ValidateKeyName("a+b"),
              IsError(absl::StatusCode::kInvalidArgument, "'+'"));
  EXPECT_THAT(ValidateKeyName("a\x01"),
              IsError(absl::StatusCode::kInvalidArgument, "control"));
  EXPECT_THAT(ValidateKeyName("a\xc0\x80"),
              IsError(absl::StatusCode::kInvalidArgument, "UTF-8"));
  // Every Unicode White_Space code point.
  for (const char* space :
       {" ", "\t", "\n", "\v", "\f", "\r", "\xc2\x85", "\xc2\xa0",
        "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x85", "\xe2\x80\x8a",
        "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f",
        "\xe3\x80\x80"}) {
    EXPECT_THAT(ValidateKeyName(absl::StrFormat("a%sb", space)),
                IsError(absl::StatusCode::kInvalidArgument, "space U+"))
        << absl::StrFormat("%s", space);
  }
  // Zero-width space U+200B is not White_Space.
  EXPECT_TRUE(ValidateKeyName("a\xe2\x80\x8b"
                              "b")
                  .ok());
}

TEST(NoteTest, SignatureLinesRoundTrip) {
  const NoteSignature sig{"example.org/ü", 0xdeadbeef, {1, 2, 3, 4, 5}};
  const std::string line = FormatSignatureLine(sig);
  EXPECT_EQ(line, "— example.org/ü 3q2+7wECAwQF\n");
  absl::StatusOr<NoteSignature> parsed = ParseSignatureLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, sig);
}

TEST(NoteTest, SignedNotesRoundTrip) {
  const Ed25519Signer a = MakeSigner("a.example");
  const Ed25519Signer b = MakeSigner("b.example");
  const NoteSigner* signers[] = {&a, &b};
  const std::string text = "line one\n\nline three, after a blank\n";
  absl::StatusOr<std::string> note = SignNote(text, signers);
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(*note);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->text, text);
  ASSERT_EQ(parsed->signatures.size(), 2u);
  EXPECT_EQ(parsed->signatures[0].name, "a.example");
  EXPECT_EQ(parsed->signatures[1].key_id, b.key_id());
  EXPECT_EQ(FormatSignedNote(*parsed).value(), *note);

  const NoteVerifier* verifiers[] = {&b.verifier(), &a.verifier()};
  absl::StatusOr<OpenedNote> opened = OpenNote(*note, verifiers);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, text);
  ASSERT_EQ(opened->verified.size(), 2u);
  EXPECT_EQ(opened->verified[0].verifier, &a.verifier());
  EXPECT_EQ(opened->verified[1].verifier, &b.verifier());
}

TEST(NoteTest, SigningIsDeterministic) {
  const Ed25519Signer a = MakeSigner("a");
  const NoteSigner* signers[] = {&a};
  EXPECT_EQ(SignNote("x\n", signers).value(), SignNote("x\n", signers).value());
}

TEST(NoteTest, SignNoteRejectsInvalidTextAndSigners) {
  const Ed25519Signer a = MakeSigner("a");
  const Ed25519Signer a_again = MakeSigner("a");
  const NoteSigner* one[] = {&a};
  EXPECT_THAT(SignNote("", one),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(SignNote("no newline", one),
              IsError(absl::StatusCode::kInvalidArgument, "newline"));
  EXPECT_THAT(SignNote("crlf\r\n", one),
              IsError(absl::StatusCode::kInvalidArgument, "control"));
  EXPECT_THAT(SignNote("bad \xff\n", one),
              IsError(absl::StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_THAT(SignNote(std::string(kMaxNoteSize + 1, 'a'), one),
              IsError(absl::StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(SignNote("x\n", {}),
              IsError(absl::StatusCode::kInvalidArgument, "no signers"));
  const NoteSigner* twice[] = {&a, &a_again};
  EXPECT_THAT(SignNote("x\n", twice),
              IsError(absl::StatusCode::kInvalidArgument, "two signers"));
  const NoteSigner* null[] = {nullptr};
  EXPECT_THAT(SignNote("x\n", null),
              IsError(absl::StatusCode::kInvalidArgument, "null"));
}

TEST(NoteTest, AddSignaturesKeepsTheExistingBytes) {
  const Ed25519Signer log = MakeSigner("log");
  const Ed25519Signer other = MakeSigner("other");
  const NoteSigner* first[] = {&log};
  const std::string note = SignNote("body\n", first).value();
  const NoteSigner* second[] = {&other};
  absl::StatusOr<std::string> both = AddSignatures(note, second);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_THAT(*both, StartsWith(note));
  const NoteSigner* all[] = {&log, &other};
  EXPECT_EQ(*both, SignNote("body\n", all).value());

  EXPECT_THAT(AddSignatures(*both, second),
              IsError(absl::StatusCode::kInvalidArgument,
                      "second signature by key other+"));
  EXPECT_THAT(AddSignatures("body\n", second),
              IsError(absl::StatusCode::kInvalidArgument, "no blank line"));
}

TEST(NoteTest, AddSignatureLinesAppendsAndChecksLimits) {
  const std::string note = NoteWithSignatures(kMaxNoteSignatures - 1);
  const NoteSignature extra{"extra", 1, {9, 9}};
  absl::StatusOr<std::string> full = AddSignatureLines(note, {&extra, 1});
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, note + FormatSignatureLine(extra));
  const NoteSignature one_more{"one.more", 1, {9, 9}};
  EXPECT_THAT(AddSignatureLines(*full, {&one_more, 1}),
              IsError(absl::StatusCode::kInvalidArgument,
                      "note has 101 signatures, limit 100"));
  const NoteSignature empty{"empty", 1, {}};
  EXPECT_THAT(AddSignatureLines(note, {&empty, 1}),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
  const NoteSignature spaced{"a b", 1, {1}};
  EXPECT_THAT(AddSignatureLines(note, {&spaced, 1}),
              IsError(absl::StatusCode::kInvalidArgument, "space"));
}

TEST(NoteTest, SixteenAndOneHundredSignaturesAreAccepted) {
  for (size_t n : {size_t{1}, size_t{16}, kMaxNoteSignatures}) {
    absl::StatusOr<SignedNote> parsed = ParseSignedNote(NoteWithSignatures(n));
    ASSERT_TRUE(parsed.ok()) << n << ": " << parsed.status();
    EXPECT_EQ(parsed->signatures.size(), n);
  }
}

TEST(NoteTest, TooManySignaturesAreRejected) {
  EXPECT_THAT(ParseSignedNote(NoteWithSignatures(101)),
              IsError(absl::StatusCode::kInvalidArgument,
                      "note has 101 signatures, limit 100"));
  EXPECT_THAT(ParseSignedNote(NoteWithSignatures(1000)),
              IsError(absl::StatusCode::kInvalidArgument,
                      "note has 1000 signatures, limit 100"));
}

TEST(NoteTest, OversizedNoteIsRejected) {
  std::string note(kMaxNoteSize, 'a');
  note += "\n\n" + FormatSignatureLine({"k", 1, {1}});
  EXPECT_THAT(ParseSignedNote(note),
              IsError(absl::StatusCode::kInvalidArgument,
                      absl::StrFormat("limit %d", kMaxNoteSize)));
}

TEST(NoteTest, DuplicateSignatureLinesAreRejected) {
  const std::string line = FormatSignatureLine({"k", 7, {1, 2, 3}});
  EXPECT_THAT(ParseSignedNote("t\n\n" + line + line),
              IsError(absl::StatusCode::kInvalidArgument,
                      "note signature line 2: second signature by key "
                      "k+00000007"));
  // Same key, different signature bytes: still one key twice.
  EXPECT_THAT(
      ParseSignedNote("t\n\n" + line + FormatSignatureLine({"k", 7, {4}})),
      IsError(absl::StatusCode::kInvalidArgument, "second signature"));
  // Same name with another ID, or same ID with another name, are other keys.
  EXPECT_TRUE(ParseSignedNote("t\n\n" + line +
                              FormatSignatureLine({"k", 8, {4}}) +
                              FormatSignatureLine({"j", 7, {4}}))
                  .ok());
}

TEST(NoteTest, MalformedNotesAreRejected) {
  const std::string sig = FormatSignatureLine({"k", 1, {1, 2, 3, 4}});
  const std::string sig_b64 = sig.substr(sig.rfind(' ') + 1);  // With '\n'.
  struct Case {
    std::string note;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "note is empty"},
      {"\n", "no blank line"},
      {"\n\n", "no signature lines"},
      {"text\n\n", "no signature lines"},
      {"text\n", "no blank line"},
      {"text\n" + sig, "no blank line"},
      {"text\n\n" + sig.substr(0, sig.size() - 1), "end with a newline"},
      {"text\r\n\r\n" + sig, "control character 0x0d"},
      {"text\n\n" + sig.substr(0, sig.size() - 1) + "\r\n",
       "control character 0x0d"},
      {"te\txt\n\n" + sig, "control character 0x09"},
      {std::string("te\0xt\n\n", 7) + sig, "control character 0x00"},
      {"te\x7fxt\n\n" + sig.substr(0, 3) + "\x1b" + sig.substr(3),
       "control character 0x1b"},
      {"\xff\n\n" + sig, "UTF-8"},
      {"\xc0\xaf\n\n" + sig, "UTF-8"},                  // Overlong '/'.
      {"\xed\xa0\x80\n\n" + sig, "UTF-8"},              // Surrogate.
      {"text\n\n" + sig.substr(0, 2) + "\n", "UTF-8"},  // Cut em dash.
      {"text\n\n- k " + sig_b64, "em dash"},
      {"text\n\n\xe2\x80\x93 k " + sig_b64, "em dash"},  // En dash.
      {"text\n\n—k " + sig_b64, "em dash"},
      {"text\n\n— " + sig_b64, "no space"},
      {"text\n\n—  " + sig_b64, "key name is empty"},
      {"text\n\n— a b " + sig_b64, "contains space U+0020"},
      {"text\n\n— a\xc2\xa0"
       "b " +
           sig_b64,
       "contains space U+00A0"},
      {"text\n\n— a+b " + sig_b64, "'+'"},
      {"text\n\n— k " + sig_b64.substr(1), "base64"},
      {"text\n\n— k !" + sig_b64.substr(1), "base64"},
      {"text\n\n— k " + sig_b64.substr(0, sig_b64.size() - 1) + " \n",
       "space U+0020"},                             // Trailing space.
      {"text\n\n— k AQIDBA==\n", "4 bytes, need"},  // Key ID only.
      {"text\n\n— k \n", "0 bytes, need"},
      {"text\n\n" + sig + "\nextra\n", "em dash"},  // Text after sigs.
      {"text\n\n" + sig + "extra\n", "note signature line 2"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseSignedNote(c.note),
                IsError(absl::StatusCode::kInvalidArgument, c.want))
        << absl::StrFormat("%s", c.note);
  }
}

TEST(NoteTest, EveryTruncationOfASignedNoteIsRejected) {
  const Ed25519Signer a = MakeSigner("a");
  const NoteSigner* signers[] = {&a};
  const std::string note = SignNote("one\ntwo\n", signers).value();
  const NoteVerifier* verifiers[] = {&a.verifier()};
  for (size_t n = 0; n < note.size(); ++n) {
    EXPECT_FALSE(OpenNote(note.substr(0, n), verifiers).ok()) << n;
  }
  EXPECT_TRUE(OpenNote(note, verifiers).ok());
}

TEST(NoteTest, RandomGarbageNeverParses) {
  // Fixed seed so failures reproduce.
  std::mt19937 rng(20240601);
  const std::string base = NoteWithSignatures(3);
  for (int i = 0; i < 2000; ++i) {
    std::string note = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      note[rng() % note.size()] = static_cast<char>(rng() % 256);
    }
    absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
    if (parsed.ok()) {
      // Whatever parses must format back to the same bytes.
      EXPECT_EQ(FormatSignedNote(*parsed).value(), note);
    } else {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(NoteTest, UnknownKeysAreIgnored) {
  const Ed25519Signer known = MakeSigner("known");
  const Ed25519Signer unknown = MakeSigner("unknown");
  const NoteSigner* signers[] = {&unknown, &known};
  const std::string note = SignNote("t\n", signers).value();
  const NoteVerifier* verifiers[] = {&known.verifier()};
  absl::StatusOr<OpenedNote> opened = OpenNote(note, verifiers);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].signature.name, "known");
  ASSERT_EQ(opened->unverified.size(), 1u);
  EXPECT_EQ(opened->unverified[0].name, "unknown");
}

TEST(NoteTest, UnknownKeyWithGarbageSignatureIsIgnored) {
  const Ed25519Signer known = MakeSigner("known");
  const NoteSigner* signers[] = {&known};
  const std::string note = SignNote("t\n", signers).value();
  // Same name, other ID; and same ID, other name: both are other keys.
  const NoteSignature lines[] = {{"known", known.key_id() ^ 1, {0}},
                                 {"nwonk", known.key_id(), {0}}};
  const std::string noisy = AddSignatureLines(note, lines).value();
  const NoteVerifier* verifiers[] = {&known.verifier()};
  absl::StatusOr<OpenedNote> opened = OpenNote(noisy, verifiers);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->unverified.size(), 2u);
}

TEST(NoteTest, KnownKeyWithBadSignatureRejectsTheWholeNote) {
  const Ed25519Signer good = MakeSigner("good");
  const Ed25519Signer bad = MakeSigner("bad");
  const NoteSigner* signers[] = {&good};
  const std::string note = SignNote("t\n", signers).value();
  // "bad" signs another text; its line is appended to this note.
  const NoteSigner* bad_signers[] = {&bad};
  const SignedNote other =
      ParseSignedNote(SignNote("u\n", bad_signers).value()).value();
  const std::string mixed = AddSignatureLines(note, other.signatures).value();
  const NoteVerifier* verifiers[] = {&good.verifier(), &bad.verifier()};
  EXPECT_THAT(OpenNote(mixed, verifiers),
              IsError(absl::StatusCode::kUnauthenticated,
                      "signature by known key bad+"));
  // Known key, signature of the wrong length.
  const NoteSignature short_sig{"bad", bad.key_id(), {1, 2, 3}};
  EXPECT_THAT(
      OpenNote(AddSignatureLines(note, {&short_sig, 1}).value(), verifiers),
      IsError(absl::StatusCode::kUnauthenticated, "does not verify"));
}

TEST(NoteTest, NoteWithoutAKnownSignatureIsRejected) {
  const Ed25519Signer a = MakeSigner("a");
  const Ed25519Signer b = MakeSigner("b");
  const NoteSigner* signers[] = {&a};
  const NoteVerifier* verifiers[] = {&b.verifier()};
  EXPECT_THAT(OpenNote(SignNote("t\n", signers).value(), verifiers),
              IsError(absl::StatusCode::kUnauthenticated,
                      "note has 1 signatures, none by any of the 1 known "
                      "keys"));
}

TEST(NoteTest, OpenNoteRejectsBadVerifierLists) {
  const Ed25519Signer a = MakeSigner("a");
  const NoteSigner* signers[] = {&a};
  const std::string note = SignNote("t\n", signers).value();
  EXPECT_THAT(OpenNote(note, {}),
              IsError(absl::StatusCode::kInvalidArgument, "no verifiers"));
  const NoteVerifier* twice[] = {&a.verifier(), &a.verifier()};
  EXPECT_THAT(OpenNote(note, twice),
              IsError(absl::StatusCode::kInvalidArgument, "two verifiers"));
  const NoteVerifier* null[] = {nullptr};
  EXPECT_THAT(OpenNote(note, null),
              IsError(absl::StatusCode::kInvalidArgument, "null"));
}

TEST(NoteTest, NewNoteVerifierDispatchesOnTheKeyType) {
  absl::StatusOr<std::unique_ptr<NoteVerifier>> ed = NewNoteVerifier(kSpecVkey);
  ASSERT_TRUE(ed.ok()) << ed.status();
  EXPECT_NE(dynamic_cast<Ed25519Verifier*>(ed->get()), nullptr);
  const NoteVerifier* verifiers[] = {ed->get()};
  EXPECT_TRUE(OpenNote(kSpecNote, verifiers).ok());

  const NoteKeyPair w =
      GenerateNoteKey("w", kSignatureTypeCosignatureV1, Seed("w")).value();
  absl::StatusOr<std::unique_ptr<NoteVerifier>> co =
      NewNoteVerifier(w.verifier_key);
  ASSERT_TRUE(co.ok()) << co.status();
  EXPECT_NE(dynamic_cast<CosignatureVerifier*>(co->get()), nullptr);
  EXPECT_EQ((*co)->name(), "w");

  EXPECT_THAT(NewNoteVerifier("nope"),
              IsError(absl::StatusCode::kInvalidArgument, "missing '+'"));
}

TEST(NoteTest, PrivateKeySurvivesMovesAndRejectsBadSeeds) {
  absl::StatusOr<Ed25519PrivateKey> key =
      Ed25519PrivateKey::FromSeed(Seed("wipe"));
  ASSERT_TRUE(key.ok());
  const auto sig = key->Sign(AsBytes("m"));
  Ed25519PrivateKey moved = *std::move(key);
  EXPECT_EQ(moved.Sign(AsBytes("m")), sig);
  EXPECT_EQ(
      Ed25519PrivateKey::FromSeed(std::vector<uint8_t>(3)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::merkle
