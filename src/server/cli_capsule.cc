// `elastos keys generate` and `elastos capsule new|pack|verify|inspect`.
#include <sys/stat.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "common/file_util.h"
#include "common/manifest.h"
#include "identity/did_key.h"
#include "identity/key_file.h"
#include "runtime/capsule/artifact.h"
#include "server/cli.h"
#include "server/progress.h"

namespace elastos::cli {
namespace fs = std::filesystem;
namespace {

int KeysGenerate(const std::string& out) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  if (Status s = identity::WriteKeyPair(out, key); !s.ok()) return Fail(s);
  std::printf("%s\n", identity::DidKeyEncode(key.public_key()).c_str());
  std::fprintf(stderr, "wrote %s (keep it secret) and %s\n", (fs::path(out) / "private.key").c_str(),
               (fs::path(out) / "public.did").c_str());
  return kExitOk;
}

struct Scaffold {
  std::string entry;
  std::string entry_note;
  std::vector<std::pair<std::string, std::string>> files;  // name, content
};

Scaffold ScaffoldFor(CapsuleType type, const std::string& name) {
  const std::string c_main =
      "// " + name + ": a capsule. Build it for wasm32-wasi with `elastos capsule build DIR`;\n"
      "// the guest SDK (#include <elastos/sdk.h>, docs/sdk.md) talks to the runtime.\n"
      "#include <stdio.h>\n\nint main(void) {\n  printf(\"hello from " + name + "\\n\");\n  return 0;\n}\n";
  switch (type) {
    case CapsuleType::kData:
      return {"index.html", "", {{"index.html", "<!doctype html>\n<title>" + name + "</title>\n<p>" + name + "</p>\n"}}};
    case CapsuleType::kVm:
      return {name, "build " + name + " as a static Linux binary (it runs inside a microVM)", {{"main.c", c_main}}};
    case CapsuleType::kWasm:
    case CapsuleType::kAgent:
      return {name + ".wasm", "elastos capsule build DIR", {{"main.c", c_main}}};
  }
  return {};
}

int CapsuleNew(const std::string& name, const std::string& type_name, const std::string& parent) {
  if (!IsValidCapsuleName(name)) {
    return Fail(InvalidArgument("bad_name", "'" + name + "' is not a capsule name (lowercase letters, digits, '.', '_', '-'; up to 64; starts with a letter or digit)"));
  }
  const fs::path dir = fs::path(parent) / name;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec))) {
    return Fail(FailedPrecondition("already_exists", dir.string() + " already exists"));
  }
  boost::json::object m;
  m["schema"] = "elastos.capsule/v1";
  m["name"] = name;
  m["version"] = "0.1.0";
  m["type"] = type_name;
  m["description"] = "The " + name + " capsule";
  CapsuleType type = type_name == "data" ? CapsuleType::kData
                     : type_name == "vm" ? CapsuleType::kVm
                     : type_name == "agent" ? CapsuleType::kAgent
                                            : CapsuleType::kWasm;
  const Scaffold scaffold = ScaffoldFor(type, name);
  m["entry"] = scaffold.entry;
  m["permissions"] = boost::json::array();
  if (type != CapsuleType::kData) m["resource_limits"] = {{"memory_mb", 64}, {"wall_ms", 10000}};
  // Round-trip through the validator so a scaffold can never be an invalid manifest.
  auto manifest = CapsuleManifest::Parse(boost::json::serialize(m));
  if (!manifest.ok()) return Fail(manifest.status().WithContext("internal scaffold"));
  fs::create_directories(dir, ec);
  if (ec) return Fail(IoError("create " + dir.string(), ec.value()));
  if (Status s = WriteFileAtomic(dir / "capsule.json", AsBytes(manifest->ToJson() + "\n")); !s.ok()) return Fail(s);
  for (const auto& [file, content] : scaffold.files) {
    if (Status s = WriteFileAtomic(dir / file, AsBytes(content)); !s.ok()) return Fail(s);
  }
  std::printf("created %s\n", dir.c_str());
  if (!scaffold.entry_note.empty()) {
    std::string note = scaffold.entry_note;
    if (auto at = note.find("DIR"); at != std::string::npos) note.replace(at, 3, dir.string());
    std::printf("next: %s, then: elastos capsule pack %s --key KEY --out %s.capsule\n", note.c_str(), dir.c_str(),
                name.c_str());
  }
  return kExitOk;
}

int CapsulePack(const std::string& dir, const std::string& key_path, const std::string& out) {
  auto key = identity::ReadPrivateKey(key_path);
  if (!key.ok()) return Fail(key.status());
  Progress progress("packing " + dir);
  capsule::PackOptions options;
  options.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.Update(done, total); };
  auto result = capsule::PackCapsule(dir, *key, out, options);
  if (!result.ok()) return Fail(result.status());
  std::printf("packed %s %s as %s\nsigner %s\nwrote %s\n", result->manifest.name.c_str(),
              result->manifest.version.c_str(), result->capsule.ToString().c_str(), result->signer.c_str(),
              out.c_str());
  return kExitOk;
}

int CapsuleVerify(const std::string& file, const std::string& trust_path, const GlobalOptions& global) {
  auto trust = LoadTrust(trust_path, global);
  if (!trust.ok()) return Fail(trust.status());
  auto verified = capsule::VerifyCapsule(file, *trust);
  if (!verified.ok()) return Fail(verified.status().WithContext("refused " + file));
  std::printf("verified %s\npublisher %s (%s)\ncapsule %s %s\n", verified->file.capsule.ToString().c_str(),
              verified->publisher.did.c_str(), std::string(capsule::TrustLevelName(verified->publisher.level)).c_str(),
              verified->manifest.name.c_str(), verified->manifest.version.c_str());
  return kExitOk;
}

int CapsuleInspect(const std::string& file, bool json) {
  auto opened = capsule::CapsuleFile::Open(file);
  if (!opened.ok()) return Fail(opened.status().WithContext(file));
  auto envelope = opened->ReadEnvelope();
  std::string signer = "unsigned";
  std::string signature = envelope.status().ToString();
  if (envelope.ok()) {
    signer = envelope->signer;
    Status check = envelope->capsule == opened->capsule
                       ? envelope->Check()
                       : Unauthenticated("cid_mismatch", "signature is for " + envelope->capsule.ToString());
    signature = check.ok() ? "valid (publisher trust not checked; use 'capsule verify')" : "INVALID: " + check.ToString();
  }
  if (Status s = opened->CheckContents(); !s.ok()) return Fail(s);
  auto manifest = opened->ReadManifest();
  if (!manifest.ok()) return Fail(manifest.status());
  auto files = opened->ListFiles();
  if (!files.ok()) return Fail(files.status());

  if (json) {
    boost::json::object out;
    out["cid"] = opened->capsule.ToString();
    out["signer"] = signer;
    out["signature"] = signature;
    out["manifest"] = boost::json::parse(manifest->ToJson());
    boost::json::array list;
    for (const auto& f : *files) {
      list.push_back({{"path", f.path}, {"type", f.is_directory ? "directory" : "file"}, {"size", f.size},
                      {"cid", f.cid.ToString()}});
    }
    out["files"] = std::move(list);
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return kExitOk;
  }
  std::printf("capsule    %s\nname       %s %s (%s)\nentry      %s\nsigner     %s\nsignature  %s\nfiles\n",
              opened->capsule.ToString().c_str(), manifest->name.c_str(), manifest->version.c_str(),
              std::string(CapsuleTypeName(manifest->type)).c_str(),
              manifest->entry.empty() ? "(none)" : manifest->entry.c_str(), signer.c_str(), signature.c_str());
  for (const auto& f : *files) {
    if (f.path.empty()) continue;
    std::printf("  %-40s %12llu  %s\n", (f.path + (f.is_directory ? "/" : "")).c_str(),
                static_cast<unsigned long long>(f.size), f.cid.ToString().c_str());
  }
  std::printf("manifest\n%s\n", manifest->ToJson().c_str());
  return kExitOk;
}

}  // namespace

Result<capsule::TrustStore> LoadTrust(const std::string& trust_path, const GlobalOptions& global) {
  const fs::path path = trust_path.empty() ? global.DataDir() / "trust" : fs::path(trust_path);
  auto trust = capsule::TrustStore::Load(path);
  if (!trust.ok() && trust.status().code() == Code::kNotFound) {
    return NotFound("no_trust_store", "no trust store at " + path.string() +
                                          "; pass --trust FILE (lines of 'did:key:z6Mk… root|community')");
  }
  return trust;
}

void AddCapsuleCommands(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* keys = app.add_subcommand("keys", "Publisher signing keys");
  keys->require_subcommand(1);
  auto key_out = std::make_shared<std::string>();
  CLI::App* gen = keys->add_subcommand("generate", "Create an Ed25519 key pair: DIR/private.key (0600) and DIR/public.did");
  gen->add_option("--out", *key_out, "Directory to write the key files into")->required();
  gen->callback([key_out, &exit_code] { exit_code = KeysGenerate(*key_out); });

  CLI::App* cap = app.add_subcommand("capsule", "Create, sign, verify and inspect capsules");
  cap->require_subcommand(1);

  struct NewArgs { std::string name, type = "wasm", dir = "."; };
  auto new_args = std::make_shared<NewArgs>();
  CLI::App* create = cap->add_subcommand("new", "Scaffold a capsule directory with a valid capsule.json");
  create->add_option("name", new_args->name, "Capsule name")->required();
  create->add_option("--type", new_args->type, "wasm, vm, data or agent")
      ->check(CLI::IsMember({"wasm", "vm", "data", "agent"}));
  create->add_option("--dir", new_args->dir, "Parent directory (default: current directory)");
  create->callback([new_args, &exit_code] { exit_code = CapsuleNew(new_args->name, new_args->type, new_args->dir); });

  struct PackArgs { std::string dir, key, out; };
  auto pack_args = std::make_shared<PackArgs>();
  CLI::App* pack = cap->add_subcommand("pack", "Validate a capsule directory, sign its CID and write a .capsule file");
  pack->add_option("dir", pack_args->dir, "Capsule directory")->required();
  pack->add_option("--key", pack_args->key, "Publisher private.key")->required();
  pack->add_option("--out", pack_args->out, "The .capsule file to write")->required();
  pack->callback([pack_args, &exit_code] { exit_code = CapsulePack(pack_args->dir, pack_args->key, pack_args->out); });

  struct VerifyArgs { std::string file, trust; };
  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = cap->add_subcommand("verify", "Check a .capsule's blocks, signature, publisher and manifest");
  verify->add_option("file", verify_args->file, ".capsule file")->required();
  verify->add_option("--trust", verify_args->trust, "Trust store (default: DATA_DIR/trust)");
  verify->callback([verify_args, &global, &exit_code] {
    exit_code = CapsuleVerify(verify_args->file, verify_args->trust, global);
  });

  struct InspectArgs { std::string file; bool json = false; };
  auto inspect_args = std::make_shared<InspectArgs>();
  CLI::App* inspect = cap->add_subcommand("inspect", "Show a .capsule's manifest, CID, signer and files");
  inspect->add_option("file", inspect_args->file, ".capsule file")->required();
  inspect->add_flag("--json", inspect_args->json, "Machine-readable output");
  inspect->callback([inspect_args, &exit_code] { exit_code = CapsuleInspect(inspect_args->file, inspect_args->json); });

  AddCapsuleBuildCommand(*cap, global, exit_code);
  AddCapsuleRunCommands(*cap, global, exit_code);
  AddClientCommands(app, *cap, global, exit_code);
}

}  // namespace elastos::cli
