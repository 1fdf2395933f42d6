#include "server/entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "merkle/hash.h"
#include "merkle/note.h"
#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

using ::testing::HasSubstr;

merkle::Ed25519PrivateKey MakeKey(std::string_view label) {
  absl::StatusOr<merkle::Ed25519PrivateKey> key =
      merkle::Ed25519PrivateKey::FromSeed(
          merkle::Sha256(merkle::AsBytes(label)));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// An entry of `kind` over `payload`, signed by the key of `label`.
Entry SignedEntry(EntryKind kind, std::string payload,
                  std::string_view label = "agency") {
  const merkle::Ed25519PrivateKey key = MakeKey(label);
  Entry entry;
  entry.kind = kind;
  entry.public_key = key.public_key();
  entry.signature = key.Sign(merkle::AsBytes(SignedMessage(kind, payload)));
  entry.payload = std::move(payload);
  return entry;
}

std::string FlipBit(std::string s, size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

TEST(EntryTest, EncodeThenDecodeRoundTripsBothKinds) {
  for (EntryKind kind :
       {EntryKind::kAccessRecord, EntryKind::kRegistryChange}) {
    const Entry entry =
        SignedEntry(kind, std::string("some payload bytes\x00\xff", 20));
    absl::StatusOr<Entry> decoded = DecodeEntry(EncodeEntry(entry));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, entry);
  }
}

TEST(EntryTest, EncodingFollowsTheDocumentedLayout) {
  const Entry entry = SignedEntry(EntryKind::kRegistryChange, "PAYLOAD");
  const std::string bytes = EncodeEntry(entry);
  ASSERT_EQ(bytes.size(), 98u + 7u);
  EXPECT_EQ(bytes[0], '\x01');
  EXPECT_EQ(bytes[1], '\x02');
  EXPECT_EQ(bytes.substr(2, 32),
            std::string(entry.public_key.begin(), entry.public_key.end()));
  EXPECT_EQ(bytes.substr(34, 64),
            std::string(entry.signature.begin(), entry.signature.end()));
  EXPECT_EQ(bytes.substr(98), "PAYLOAD");
  EXPECT_EQ(EncodeEntry(SignedEntry(EntryKind::kAccessRecord, ""))[1], '\x01');
}

TEST(EntryTest, EmptyAndLargestPayloadsRoundTrip) {
  for (size_t size : {size_t{0}, kMaxPayloadSize}) {
    const Entry entry =
        SignedEntry(EntryKind::kAccessRecord, std::string(size, 'p'));
    const std::string bytes = EncodeEntry(entry);
    EXPECT_EQ(bytes.size(), kEntryHeaderSize + size);
    absl::StatusOr<Entry> decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, entry);
  }
  EXPECT_EQ(kEntryHeaderSize + kMaxPayloadSize, 65535u);
}

TEST(EntryTest, EveryTruncationIntoTheHeaderIsRejected) {
  const std::string bytes =
      EncodeEntry(SignedEntry(EntryKind::kAccessRecord, "payload"));
  for (size_t n = 0; n < kEntryHeaderSize; ++n) {
    EXPECT_THAT(DecodeEntry(bytes.substr(0, n)),
                IsError(absl::StatusCode::kInvalidArgument, "shorter than"))
        << "length " << n;
  }
}

// The payload runs to the end of the entry, so a truncation inside it still
// decodes; its signature then no longer verifies.
TEST(EntryTest, EveryTruncationIntoThePayloadFailsTheSignature) {
  const std::string bytes =
      EncodeEntry(SignedEntry(EntryKind::kAccessRecord, "payload"));
  for (size_t n = kEntryHeaderSize; n < bytes.size(); ++n) {
    absl::StatusOr<Entry> decoded = DecodeEntry(bytes.substr(0, n));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_FALSE(VerifyEntrySignature(*decoded)) << "length " << n;
  }
}

TEST(EntryTest, WrongVersionIsRejected) {
  std::string bytes = EncodeEntry(SignedEntry(EntryKind::kAccessRecord, "p"));
  for (char version : {'\x00', '\x02', '\xff'}) {
    bytes[0] = version;
    EXPECT_THAT(DecodeEntry(bytes),
                IsError(absl::StatusCode::kInvalidArgument, "version"));
  }
}

TEST(EntryTest, WrongKindIsRejected) {
  std::string bytes = EncodeEntry(SignedEntry(EntryKind::kAccessRecord, "p"));
  for (char kind : {'\x00', '\x03', '\xff'}) {
    bytes[1] = kind;
    EXPECT_THAT(DecodeEntry(bytes),
                IsError(absl::StatusCode::kInvalidArgument, "kind"));
  }
}

TEST(EntryTest, OversizeEntryIsRejected) {
  const std::string bytes = EncodeEntry(SignedEntry(
      EntryKind::kAccessRecord, std::string(kMaxPayloadSize + 1, 'p')));
  EXPECT_EQ(bytes.size(), 65536u);
  EXPECT_THAT(DecodeEntry(bytes),
              IsError(absl::StatusCode::kInvalidArgument, "65536 bytes"));
}

TEST(EntryTest, SignedMessageIsThePrefixThenThePayload) {
  EXPECT_EQ(SignedMessage(EntryKind::kAccessRecord, "abc"),
            "vigil/record/v1\nabc");
  EXPECT_EQ(SignedMessage(EntryKind::kRegistryChange, "abc"),
            "vigil/registry/v1\nabc");
  EXPECT_EQ(SignedMessage(EntryKind::kAccessRecord, std::string("\0x", 2)),
            std::string("vigil/record/v1\n\0x", 18));
}

TEST(EntryTest, SignatureVerifies) {
  EXPECT_TRUE(
      VerifyEntrySignature(SignedEntry(EntryKind::kAccessRecord, "record")));
  EXPECT_TRUE(
      VerifyEntrySignature(SignedEntry(EntryKind::kRegistryChange, "change")));
}

TEST(EntryTest, SignatureFailsOnAnyFlippedBitOfTheEntry) {
  const std::string bytes =
      EncodeEntry(SignedEntry(EntryKind::kAccessRecord, "record"));
  // Bits 0..15 are the version and kind, checked by DecodeEntry; every bit
  // from the public key on must break the signature.
  for (size_t bit = 16; bit < bytes.size() * 8; ++bit) {
    absl::StatusOr<Entry> decoded = DecodeEntry(FlipBit(bytes, bit));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_FALSE(VerifyEntrySignature(*decoded)) << "bit " << bit;
  }
}

TEST(EntryTest, SignatureDoesNotCarryOverToTheOtherKind) {
  Entry entry = SignedEntry(EntryKind::kAccessRecord, "record");
  entry.kind = EntryKind::kRegistryChange;
  EXPECT_FALSE(VerifyEntrySignature(entry));
}

TEST(EntryTest, SignatureByAnotherKeyFails) {
  Entry entry = SignedEntry(EntryKind::kAccessRecord, "record", "one");
  entry.public_key = MakeKey("two").public_key();
  EXPECT_FALSE(VerifyEntrySignature(entry));
}

TEST(EntryTest, AllZeroKeyAndSignatureFailWithoutCrashing) {
  Entry entry;
  entry.payload = "record";
  EXPECT_FALSE(VerifyEntrySignature(entry));
}

}  // namespace
}  // namespace vigil::server
