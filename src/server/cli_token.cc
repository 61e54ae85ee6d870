// `elastos token inspect`: decode a capability token and say whether its signature verifies.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "common/encoding.h"
#include "identity/did_key.h"
#include "identity/key_file.h"
#include "runtime/capability/token.h"
#include "server/cli.h"

namespace elastos::cli {
namespace {

int Inspect(const std::string& wire, const std::string& key_text, bool json, const GlobalOptions& global) {
  auto token = runtime::Token::FromWire(wire);
  if (!token.ok()) return Fail(token.status());
  const runtime::TokenFields& f = token->fields();

  // Which key to check against: --key, else this data dir's runtime key if there is one.
  std::optional<crypto::Ed25519PublicKey> key;
  std::string key_source;
  if (!key_text.empty()) {
    auto k = identity::ParsePublicKey(key_text);
    if (!k.ok()) return Fail(k.status());
    key = *k;
    key_source = "--key";
  } else if (auto k = identity::ReadPrivateKey(global.DataDir() / "keys" / "runtime.key"); k.ok()) {
    key = k->public_key();
    key_source = (global.DataDir() / "keys" / "runtime.key").string();
  }
  std::string verdict = "not checked (no runtime key; pass --key)";
  if (key) {
    verdict = !(f.issuer == *key) ? "issuer is not the given runtime key"
              : token->SignatureValid(*key) ? "valid (against " + key_source + ")"
                                            : "INVALID signature (against " + key_source + ")";
  }

  boost::json::object o;
  o["version"] = f.version;
  o["id"] = runtime::TokenIdHex(f.id);
  o["issuer"] = identity::DidKeyEncode(f.issuer);
  o["holder"] = f.holder;
  o["resource"] = f.resource;
  o["action"] = ActionName(f.action);
  o["epoch"] = f.epoch;
  o["delegatable"] = f.delegatable;
  if (f.max_classification) o["max_classification"] = runtime::ClassificationName(*f.max_classification);
  if (f.max_uses) o["max_uses"] = *f.max_uses;
  o["issued_at"] = {{"unix_secs", f.issued_at.unix_secs}, {"seq", f.issued_at.seq}};
  if (f.expiry_unix) o["expiry_unix"] = *f.expiry_unix;
  if (f.parent) o["parent"] = runtime::TokenIdHex(*f.parent);
  o["size_bytes"] = token->bytes().size();
  o["signature"] = verdict;
  if (json) {
    std::printf("%s\n", boost::json::serialize(o).c_str());
  } else {
    for (const auto& kv : o) {
      const std::string value = kv.value().is_string() ? std::string(kv.value().get_string()) : boost::json::serialize(kv.value());
      std::printf("%-19s %s\n", std::string(kv.key()).c_str(), value.c_str());
    }
  }
  return key && verdict.starts_with("valid") ? kExitOk : (key ? kExitRefused : kExitOk);
}

}  // namespace

void AddTokenCommands(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "Capability tokens");
  token->require_subcommand(1);
  struct Args { std::string wire, key; bool json = false; };
  auto args = std::make_shared<Args>();
  CLI::App* inspect = token->add_subcommand("inspect", "Decode a token and check its signature against a runtime key");
  inspect->add_option("token", args->wire, "The token (base64url)")->required();
  inspect->add_option("--key", args->key, "Runtime public key: did:key, hex or base64url (default: DATA_DIR/keys/runtime.key)");
  inspect->add_flag("--json", args->json, "Machine-readable output");
  inspect->callback([args, &global, &exit_code] { exit_code = Inspect(args->wire, args->key, args->json, global); });
}

}  // namespace elastos::cli
