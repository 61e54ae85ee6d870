// elastos_interop_tool: exposes our Ed25519 and did:key code on the command line so that the
// conformance suite (tests/conformance/identity.test.mjs) can check it against independent
// implementations (@noble/ed25519, key-did-resolver, multiformats).
//
//   sign SEED_HEX MSG_HEX            prints the 64-byte signature as hex
//   verify PUB_HEX MSG_HEX SIG_HEX   exit 0 if valid, 1 if not
//   pub SEED_HEX                     prints the public key as hex
//   did PUB_HEX                      prints the did:key
//   did-decode DID                   prints the public key as hex, or exit 1
//
// Exit codes: 0 success, 1 refused/invalid, 2 usage. An empty message is written as "" or "-".
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "identity/did_key.h"

namespace elastos {
namespace {

constexpr int kOk = 0;
constexpr int kInvalid = 1;
constexpr int kUsage = 2;

int Usage() {
  std::fputs(
      "usage: elastos_interop_tool sign SEED_HEX MSG_HEX\n"
      "       elastos_interop_tool verify PUB_HEX MSG_HEX SIG_HEX\n"
      "       elastos_interop_tool pub SEED_HEX\n"
      "       elastos_interop_tool did PUB_HEX\n"
      "       elastos_interop_tool did-decode DID\n",
      stderr);
  return kUsage;
}

int Fail(std::string_view what, const Status& status) {
  std::fprintf(stderr, "error: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  return kInvalid;
}

// Hex arguments; "-" stands for the empty byte string so an empty message can be passed.
Result<Bytes> HexArg(std::string_view text) {
  if (text == "-") return Bytes{};
  return HexDecode(text);
}

int Sign(std::string_view seed_hex, std::string_view msg_hex) {
  auto seed = HexArg(seed_hex);
  if (!seed.ok()) return Fail("seed", seed.status());
  auto msg = HexArg(msg_hex);
  if (!msg.ok()) return Fail("message", msg.status());
  auto key = crypto::Ed25519PrivateKey::FromSeed(*seed);
  if (!key.ok()) return Fail("seed", key.status());
  const crypto::Ed25519Signature sig = key->Sign(*msg);
  std::printf("%s\n", HexEncode(sig).c_str());
  return kOk;
}

int Verify(std::string_view pub_hex, std::string_view msg_hex, std::string_view sig_hex) {
  auto pub = HexArg(pub_hex);
  if (!pub.ok()) return Fail("public key", pub.status());
  auto msg = HexArg(msg_hex);
  if (!msg.ok()) return Fail("message", msg.status());
  auto sig = HexArg(sig_hex);
  if (!sig.ok()) return Fail("signature", sig.status());
  auto key = crypto::Ed25519PublicKey::FromBytes(*pub);
  if (!key.ok()) return Fail("public key", key.status());
  if (!key->Verify(*msg, *sig)) {
    std::puts("invalid");
    return kInvalid;
  }
  std::puts("valid");
  return kOk;
}

int Pub(std::string_view seed_hex) {
  auto seed = HexArg(seed_hex);
  if (!seed.ok()) return Fail("seed", seed.status());
  auto key = crypto::Ed25519PrivateKey::FromSeed(*seed);
  if (!key.ok()) return Fail("seed", key.status());
  std::printf("%s\n", HexEncode(key->public_key().bytes()).c_str());
  return kOk;
}

int Did(std::string_view pub_hex) {
  auto pub = HexArg(pub_hex);
  if (!pub.ok()) return Fail("public key", pub.status());
  auto key = crypto::Ed25519PublicKey::FromBytes(*pub);
  if (!key.ok()) return Fail("public key", key.status());
  std::printf("%s\n", identity::DidKeyEncode(*key).c_str());
  return kOk;
}

int DidDecode(std::string_view did) {
  auto key = identity::DidKeyDecode(did);
  if (!key.ok()) return Fail("did", key.status());
  std::printf("%s\n", HexEncode(key->bytes()).c_str());
  return kOk;
}

int Main(const std::vector<std::string_view>& args) {
  if (args.empty()) return Usage();
  const std::string_view cmd = args[0];
  const std::size_t n = args.size() - 1;
  if (cmd == "sign" && n == 2) return Sign(args[1], args[2]);
  if (cmd == "verify" && n == 3) return Verify(args[1], args[2], args[3]);
  if (cmd == "pub" && n == 1) return Pub(args[1]);
  if (cmd == "did" && n == 1) return Did(args[1]);
  if (cmd == "did-decode" && n == 1) return DidDecode(args[1]);
  return Usage();
}

}  // namespace
}  // namespace elastos

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return elastos::Main(args);
}
