// `elastos audit verify|tail|proof`: offline checks of DATA_DIR/audit/audit.log
// (docs/formats/audit.md). None of them needs the runtime to be running, and all are safe while
// it appends.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "common/encoding.h"
#include "common/env.h"
#include "identity/did_key.h"
#include "identity/key_file.h"
#include "runtime/audit/record.h"
#include "runtime/audit/verify.h"
#include "server/cli.h"

namespace elastos::cli {
namespace fs = std::filesystem;
namespace {

fs::path AuditDir(const GlobalOptions& global) { return global.DataDir() / "audit"; }

struct KeyChoice {
  std::optional<crypto::Ed25519PublicKey> key;
  std::string source;
};

// --key if given; else the public half of DATA_DIR/keys/audit.key; else nothing (the key the
// log records about itself is then trusted, which the output says).
Result<KeyChoice> ChooseKey(Env& env, const std::string& flag, const GlobalOptions& global) {
  if (!flag.empty()) {
    ELASTOS_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, identity::ParsePublicKey(flag));
    return KeyChoice{key, "pinned by --key"};
  }
  const fs::path key_file = global.DataDir() / "keys" / "audit.key";
  if (env.Exists(key_file)) {
    auto key = identity::ReadPrivateKey(key_file);
    if (!key.ok()) return key.status().WithContext(key_file.string());
    return KeyChoice{key->public_key(), "from " + key_file.string()};
  }
  return KeyChoice{std::nullopt,
                   "not pinned: trusting the key the log records (pass --key to pin it)"};
}

std::string Did(const crypto::Ed25519PublicKey& key) { return identity::DidKeyEncode(key); }

const crypto::Ed25519PublicKey& KeyInForce(const audit::VerifyReport& report, std::uint64_t size) {
  const audit::KeyEpoch* in_force = &report.keys.front();
  for (const audit::KeyEpoch& e : report.keys) {
    if (e.from_size <= size) in_force = &e;
  }
  return in_force->key;
}

Result<audit::VerifyReport> RunVerify(Env& env, const KeyChoice& key, const GlobalOptions& global) {
  auto report = audit::VerifyLog(env, AuditDir(global), key.key);
  if (!report.ok() && report.status().code() == Code::kNotFound) {
    return NotFound("audit_log_missing", "no audit log at " +
                                             (AuditDir(global) / "audit.log").string() +
                                             " (it is created when the runtime first starts)");
  }
  return report;
}

void PrintSummary(const audit::VerifyReport& r, const KeyChoice& key, const GlobalOptions& global) {
  std::printf("audit log    %s (%llu bytes)\n", (AuditDir(global) / "audit.log").c_str(),
              static_cast<unsigned long long>(r.file_bytes));
  if (!r.origin.empty()) std::printf("origin       %s\n", r.origin.c_str());
  std::printf("key          %s%s\n", key.key ? (Did(*key.key) + " ").c_str() : "",
              key.source.c_str());
  for (std::size_t i = 0; i < r.keys.size(); ++i) {
    std::printf(
        "%s %s (%s)\n", i == 0 ? "signed by   " : "             ", Did(r.keys[i].key).c_str(),
        i == 0
            ? "from the first record"
            : ("from record " + std::to_string(r.keys[i].from_size - 1) + ", by rotation").c_str());
  }
  std::printf("records      %llu%s\n", static_cast<unsigned long long>(r.records),
              r.ok() ? "" : " intact before the first problem");
  if (r.latest) {
    std::printf("checkpointed %llu records, by the latest of %llu valid checkpoints (root %s)\n",
                static_cast<unsigned long long>(r.checkpointed),
                static_cast<unsigned long long>(r.checkpoints),
                Base64Encode(r.latest->root).c_str());
  } else {
    std::printf("checkpointed 0 records (no valid checkpoint)\n");
  }
  std::printf("uncovered    %llu records after the latest checkpoint%s\n",
              static_cast<unsigned long long>(r.uncovered_tail),
              r.uncovered_tail > 0 ? " (no signature covers them yet; a crash may lose them)" : "");
  if (r.torn) {
    std::printf(
        "torn tail    %llu bytes at offset %llu: %s (a write a crash interrupted; the runtime "
        "truncates it when it next opens the log)\n",
        static_cast<unsigned long long>(r.torn->bytes),
        static_cast<unsigned long long>(r.torn->offset), r.torn->reason.c_str());
  }
}

int Verify(const std::string& key_flag, const GlobalOptions& global) {
  auto env = NewPosixEnv();
  auto key = ChooseKey(*env, key_flag, global);
  if (!key.ok()) return Fail(key.status());
  auto report = RunVerify(*env, *key, global);
  if (!report.ok()) return Fail(report.status());
  PrintSummary(*report, *key, global);
  if (!report->ok()) {
    return Fail(Status(Code::kUnauthenticated, report->problem->reason,
                       "first bad " + report->problem->ToString()));
  }
  std::printf("OK\n");
  return kExitOk;
}

std::string FormatTime(std::int64_t unix) {
  const std::time_t t = static_cast<std::time_t>(unix);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return std::to_string(unix);
  }
  return buf;
}

int Tail(std::uint64_t count, bool json, const GlobalOptions& global) {
  auto env = NewPosixEnv();
  auto tail = audit::ReadTail(*env, AuditDir(global), count);
  if (!tail.ok() && tail.status().code() == Code::kNotFound) {
    return Fail(NotFound("audit_log_missing",
                         "no audit log at " + (AuditDir(global) / "audit.log").string()));
  }
  if (!tail.ok()) return Fail(tail.status());
  if (!json && !tail->records.empty()) {
    std::printf("%-7s %-20s %-14s %-24s %-8s %-7s %s\n", "INDEX", "TIME (UTC)", "TYPE", "ACTOR",
                "ACTION", "OUTCOME", "RESOURCE / SUBJECT / REASON");
  }
  for (const audit::StoredRecord& stored : tail->records) {
    if (json) {
      std::printf("{\"index\":%llu,\"record\":%s}\n", static_cast<unsigned long long>(stored.index),
                  stored.json.c_str());
      continue;
    }
    auto r = audit::AuditRecord::Parse(stored.json);
    if (!r.ok()) {
      std::printf("%-7llu (unreadable: %s)\n", static_cast<unsigned long long>(stored.index),
                  r.status().message().c_str());
      continue;
    }
    std::string actor = std::string(audit::ActorKindName(r->actor_kind));
    if (!r->actor.empty()) actor += ":" + r->actor;
    std::string what = r->resource;
    for (const std::string* extra : {&r->subject, &r->reason}) {
      if (!extra->empty()) what += (what.empty() ? "" : " ") + *extra;
    }
    std::printf("%-7llu %-20s %-14s %-24s %-8s %-7s %s\n",
                static_cast<unsigned long long>(stored.index), FormatTime(r->time_unix).c_str(),
                r->type.c_str(), actor.c_str(), r->action.empty() ? "-" : r->action.c_str(),
                r->outcome.c_str(), what.c_str());
  }
  if (tail->stopped_at) {
    std::fprintf(stderr,
                 "elastos: warning: stopped reading at offset %llu: %s (check with 'elastos audit "
                 "verify')\n",
                 static_cast<unsigned long long>(tail->stopped_at->offset),
                 tail->stopped_at->message.c_str());
  }
  return kExitOk;
}

int Proof(std::uint64_t index, const std::string& key_flag, bool json,
          const GlobalOptions& global) {
  auto env = NewPosixEnv();
  auto key = ChooseKey(*env, key_flag, global);
  if (!key.ok()) return Fail(key.status());
  auto report = RunVerify(*env, *key, global);
  if (!report.ok()) return Fail(report.status());
  // Damage after the latest checkpoint does not touch what it signs; anything else does.
  if (!report->ok() && report->problem->where != audit::VerifyProblem::Where::kTail) {
    return Fail(
        Status(Code::kUnauthenticated, report->problem->reason,
               "the log fails verification, so no proof from it means anything: first bad " +
                   report->problem->ToString()));
  }
  if (!report->latest) {
    return Fail(
        FailedPrecondition("audit_not_checkpointed", "the audit log has no checkpoint yet"));
  }
  if (index >= report->checkpointed) {
    return Fail(FailedPrecondition(
        "audit_not_checkpointed",
        "record " + std::to_string(index) + " is not covered by a checkpoint (the latest covers " +
            std::to_string(report->checkpointed) + " of " + std::to_string(report->records) +
            " records); the runtime checkpoints at least every second while records arrive"));
  }
  auto proof = audit::ProveRecord(*env, AuditDir(global) / "audit.log", index, *report->latest,
                                  report->latest_note);
  if (!proof.ok()) return Fail(proof.status());
  // Check the printed proof the way a third party would, from the proof alone.
  const crypto::Ed25519PublicKey& signer = KeyInForce(*report, report->latest->size);
  if (Status s = audit::CheckRecordProof(*proof, signer); !s.ok()) return Fail(s);
  const audit::Hash leaf = audit::LeafHash(AsBytes(proof->record));
  if (json) {
    std::string path;
    for (const audit::Hash& h : proof->proof.path)
      path += (path.empty() ? "\"" : ",\"") + Base64Encode(h) + "\"";
    std::printf(
        "{\"leaf_index\":%llu,\"tree_size\":%llu,\"leaf_hash\":\"%s\",\"root\":\"%s\",\"audit_"
        "path\":[%s],"
        "\"record\":%s,\"checkpoint\":%s,\"signer\":\"%s\"}\n",
        static_cast<unsigned long long>(index),
        static_cast<unsigned long long>(proof->proof.tree_size), Base64Encode(leaf).c_str(),
        Base64Encode(proof->checkpoint.root).c_str(), path.c_str(), proof->record.c_str(),
        boost::json::serialize(boost::json::string(proof->checkpoint_note)).c_str(),
        Did(signer).c_str());
    return kExitOk;
  }
  std::printf("record       %llu\n             %s\n", static_cast<unsigned long long>(index),
              proof->record.c_str());
  std::printf("leaf hash    %s  (SHA-256(0x00 || record))\n", Base64Encode(leaf).c_str());
  std::printf("tree size    %llu\n", static_cast<unsigned long long>(proof->proof.tree_size));
  std::printf("root         %s\n", Base64Encode(proof->checkpoint.root).c_str());
  std::printf("audit path   %zu hashes, nearest the record first (RFC 9162 section 2.1.3)\n",
              proof->proof.path.size());
  for (std::size_t i = 0; i < proof->proof.path.size(); ++i) {
    std::printf("  %2zu         %s\n", i, Base64Encode(proof->proof.path[i]).c_str());
  }
  std::printf("checkpoint   (signed note)\n");
  std::string_view note = proof->checkpoint_note;
  while (!note.empty()) {
    const std::size_t eol = note.find('\n');
    std::printf("  %.*s\n", static_cast<int>(note.substr(0, eol).size()), note.data());
    note.remove_prefix(eol == std::string_view::npos ? note.size() : eol + 1);
  }
  std::printf("verified     the path leads from the record to the root signed by %s\n",
              Did(signer).c_str());
  return kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* audit =
      app.add_subcommand("audit", "Check the tamper-evident audit log (DATA_DIR/audit) offline");
  audit->require_subcommand(1);
  const char* kKeyHelp =
      "Audit public key to pin: did:key:z6Mk… or base64 of the 32 bytes (default: the key of "
      "DATA_DIR/keys/audit.key if present, else the key the log records)";

  auto verify_key = std::make_shared<std::string>();
  CLI::App* verify =
      audit->add_subcommand("verify",
                            "Check framing, records, the Merkle tree and every signed checkpoint; "
                            "report the records no checkpoint covers "
                            "yet separately. Exit 1 names the first bad record or checkpoint");
  verify->add_option("--key", *verify_key, kKeyHelp);
  verify->callback([verify_key, &global, &exit_code] { exit_code = Verify(*verify_key, global); });

  struct TailArgs {
    std::uint64_t count = 20;
    bool json = false;
  };
  auto tail_args = std::make_shared<TailArgs>();
  CLI::App* tail = audit->add_subcommand(
      "tail", "Show the last records (framing checked; use 'verify' for the rest)");
  tail->add_option("-n,--lines", tail_args->count, "How many records (default 20)")
      ->check(CLI::Range(1, 1 << 30));
  tail->add_flag("--json", tail_args->json,
                 "One JSON object per line: {\"index\":N,\"record\":{…}}");
  tail->callback([tail_args, &global, &exit_code] {
    exit_code = Tail(tail_args->count, tail_args->json, global);
  });

  struct ProofArgs {
    std::uint64_t index = 0;
    std::string key;
    bool json = false;
  };
  auto proof_args = std::make_shared<ProofArgs>();
  CLI::App* proof = audit->add_subcommand(
      "proof",
      "Print the inclusion proof of a record against the latest checkpoint, after verifying both");
  proof->add_option("index", proof_args->index, "Record index (0 is the log's first record)")
      ->required();
  proof->add_option("--key", proof_args->key, kKeyHelp);
  proof->add_flag("--json", proof_args->json, "Machine-readable output");
  proof->callback([proof_args, &global, &exit_code] {
    exit_code = Proof(proof_args->index, proof_args->key, proof_args->json, global);
  });
}

}  // namespace elastos::cli
