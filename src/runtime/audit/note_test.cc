#include "runtime/audit/note.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace elastos::audit {
namespace {

// The example of golang.org/x/mod/sumdb/note (its documentation and tests): a signer key, the
// verifier key and the exact signed note Go produces. Ed25519 is deterministic, so a correct
// implementation reproduces the note byte for byte.
constexpr std::string_view kGoSignerKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kGoVerifierKey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kGoNote =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

crypto::Ed25519PrivateKey GoKey() {
  // "PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>"; the base64 itself may contain '+'.
  const std::string_view b64 =
      kGoSignerKey.substr(std::string_view("PRIVATE+KEY+PeterNeumann+c74f20a3+").size());
  const Bytes typed = *Base64Decode(b64);
  EXPECT_EQ(typed.size(), 33u);
  EXPECT_EQ(typed[0], 0x01);
  return *crypto::Ed25519PrivateKey::FromSeed(ByteView(typed).subspan(1));
}

TEST(NoteTest, ReproducesGoSumdbNote) {
  const auto key = GoKey();
  EXPECT_EQ(NoteVerifierKey("PeterNeumann", key.public_key()), kGoVerifierKey);
  EXPECT_EQ(HexEncode(NoteKeyId("PeterNeumann", key.public_key())), "c74f20a3");
  EXPECT_EQ(SignNote(kGoText, "PeterNeumann", key), kGoNote);

  auto parsed = ParseSignedNote(kGoNote);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->text, kGoText);
  ASSERT_EQ(parsed->signatures.size(), 1u);
  EXPECT_EQ(parsed->signatures[0].key_name, "PeterNeumann");
  EXPECT_TRUE(VerifyNote(*parsed, "PeterNeumann", key.public_key()).ok());

  // One changed letter of the text, and the signature no longer verifies.
  std::string tampered(kGoNote);
  tampered[std::string_view("If you think crypto").size()] = 'G';
  auto bad = ParseSignedNote(tampered);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(VerifyNote(*bad, "PeterNeumann", key.public_key()).reason(), "note_signature_invalid");
  // Another key (or another name for the same key) is simply not a signer of this note.
  const auto other = crypto::Ed25519PrivateKey::Generate();
  EXPECT_EQ(VerifyNote(*parsed, "PeterNeumann", other.public_key()).reason(), "note_not_signed");
  EXPECT_EQ(VerifyNote(*parsed, "EnochRoot", key.public_key()).reason(), "note_not_signed");
}

TEST(NoteTest, ExtraSignaturesAreIgnoredButOursMustVerify) {
  const auto log_key = crypto::Ed25519PrivateKey::Generate();
  const auto witness = crypto::Ed25519PrivateKey::Generate();
  const std::string text = "example.com/log\n5\n" + Base64Encode(EmptyRoot()) + "\n";
  const std::string ours = SignNote(text, "example.com/log", log_key);
  const std::string theirs = SignNote(text, "witness.example", witness);
  // Cosigned: the witness's line after ours.
  const std::string cosigned = ours + theirs.substr(text.size() + 1);
  auto parsed = ParseSignedNote(cosigned);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->signatures.size(), 2u);
  EXPECT_TRUE(VerifyNote(*parsed, "example.com/log", log_key.public_key()).ok());
  EXPECT_TRUE(VerifyNote(*parsed, "witness.example", witness.public_key()).ok());
}

TEST(NoteTest, RejectsMalformedNotes) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  const std::string good = SignNote("a\nb\n", "k", key);
  ASSERT_TRUE(ParseSignedNote(good).ok());
  for (const std::string& bad : {
           std::string("a\nb\n"),                 // no signatures
           std::string("a\nb\n\n"),               // blank line, no signature lines
           std::string("a\n\n-- k AAAAAAA=\n"),   // not an em dash
           std::string("a\n\n\xE2\x80\x94 k\n"),  // no signature
           std::string(
               "a\n\n\xE2\x80\x94 k AAAA\n"),  // 3 bytes: no room for a key id and signature
           std::string("a\n\n\xE2\x80\x94 k+x AAAAAAA=\n"),    // '+' in a key name
           std::string("a\tb\n\n\xE2\x80\x94 k AAAAAAA=\n"),   // control character
           std::string("a\xff\n\n\xE2\x80\x94 k AAAAAAA=\n"),  // not UTF-8
           good.substr(0, good.size() - 1),                    // last line without newline
       }) {
    EXPECT_FALSE(ParseSignedNote(bad).ok()) << bad;
  }
}

TEST(NoteTest, CheckpointBody) {
  Checkpoint cp{"elastos.audit/0123456789abcdef", 12345, LeafHash(AsBytes("x"))};
  const std::string body = cp.Body();
  EXPECT_EQ(body, "elastos.audit/0123456789abcdef\n12345\n" + Base64Encode(cp.root) + "\n");
  auto parsed = ParseCheckpointBody(body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, cp);
  // Extension lines are allowed after the root.
  EXPECT_TRUE(ParseCheckpointBody(body + "extension line\n").ok());
  for (const std::string& bad : {
           std::string("o\n012\n") + Base64Encode(cp.root) + "\n",  // leading zero
           std::string("o\n+12\n") + Base64Encode(cp.root) + "\n",  // sign
           std::string("o\n12x\n") + Base64Encode(cp.root) + "\n",
           std::string("o\n18446744073709551616\n") + Base64Encode(cp.root) + "\n",  // overflow
           std::string("o\n12\nAAAA\n"),                                             // not 32 bytes
           std::string("\n12\n") + Base64Encode(cp.root) + "\n",                     // empty origin
           std::string("o\n12\n") + Base64Encode(cp.root),  // no final newline
           std::string("o\n12\n"),
       }) {
    EXPECT_FALSE(ParseCheckpointBody(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace elastos::audit
