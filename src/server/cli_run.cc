// `elastos capsule run`: verify a capsule, run it in a sandboxed worker under its limits, pass its
// stdio through and exit with its exit code (DESIGN.md §6: 0–123 the capsule's own, 124 a limit
// stopped it, 125 refused or runtime error, 126 the guest trapped). Every launch, refusal and exit
// is audited.
//
// Until the daemon exists, the capsule's runtime requests are answered here by a standalone
// handler: ping and get_runtime_info; everything else says it needs `elastos serve`.
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "common/env.h"
#include "common/file_util.h"
#include "common/version.h"
#include "compute/carrier.h"
#include "compute/wasm_provider.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "identity/key_file.h"
#include "namespace/unixfs.h"
#include "runtime/audit/audit_log.h"
#include "runtime/capsule/artifact.h"
#include "server/cli.h"
#include "server/run_support.h"

namespace elastos::cli {
namespace {

namespace fs = std::filesystem;
using compute::OutcomeKind;

constexpr int kExitLimit = 124;
constexpr int kExitRunRefused = 125;

struct RunArgs {
  std::string target;
  std::string trust;
  bool allow_unsigned = false;
  std::string tier = "auto";
  compute::LimitOverrides overrides;
  std::vector<std::string> args;
};

// A capsule that passed verification (or was explicitly allowed unsigned), ready to launch.
struct PreparedCapsule {
  CapsuleManifest manifest;
  fs::path module;        // the entry .wasm on disk
  std::string reference;  // the capsule CID, or the directory for an unsigned capsule
  std::string signer;     // did:key of the publisher, empty when unsigned
};

// Answers the capsule's runtime requests when no daemon is running (docs/protocol.md).
class StandaloneHandler final : public compute::RequestHandler {
 public:
  StandaloneHandler(std::string name, std::string instance) : name_(std::move(name)), instance_(std::move(instance)) {}

  boost::json::object Handle(const boost::json::object& request) override {
    const std::string type(request.at("type").as_string());
    if (request.size() != 1 && (type == "ping" || type == "get_runtime_info")) {
      return compute::ErrorResponse(InvalidArgument("unknown_field", "'" + type + "' takes no members"));
    }
    if (type == "ping") return {{"type", "pong"}};
    if (type == "get_runtime_info") {
      return {{"type", "runtime_info"}, {"version", kVersion}, {"protocol", kProtocolVersion},
              {"capsule_id", instance_}, {"capsule_name", name_}};
    }
    static const char* const kDaemonRequests[] = {
        "request_capability", "resource_request", "fetch_content", "send_message", "receive_messages",
        "delegate_capability", "list_capsules", "launch_capsule", "stop_capsule", "next_decision",
        "grant_capability", "deny_capability", "revoke_capability", "revoke_all"};
    for (const char* known : kDaemonRequests) {
      if (type == known) {
        return compute::ErrorResponse(Unavailable(
            "not_available", fmt::format("'{}' needs the runtime daemon (elastos serve); a capsule run "
                                         "standalone by 'elastos capsule run' gets only ping and "
                                         "get_runtime_info",
                                         type)));
      }
    }
    return compute::ErrorResponse(InvalidArgument("unknown_request", "unknown request type '" + type + "'"));
  }

 private:
  std::string name_, instance_;
};


Result<PreparedCapsule> Prepare(const RunArgs& args, const GlobalOptions& global) {
  std::error_code ec;
  PreparedCapsule out;
  if (fs::is_directory(args.target, ec)) {
    if (!args.allow_unsigned) {
      return PermissionDenied("capsule_unsigned",
                              args.target + " is an unsigned capsule directory; pack and sign it "
                                            "('elastos capsule pack'), or pass --allow-unsigned to run it "
                                            "for development");
    }
    ELASTOS_ASSIGN_OR_RETURN(out.manifest, capsule::LoadCapsuleDirectory(args.target));
    out.module = fs::absolute(fs::path(args.target) / out.manifest.entry);
    out.reference = fs::absolute(args.target).lexically_normal().string();
  } else {
    if (args.allow_unsigned) {
      return InvalidArgument("allow_unsigned_file",
                             "--allow-unsigned applies to capsule directories only; a .capsule file is "
                             "always verified");
    }
    ELASTOS_ASSIGN_OR_RETURN(capsule::TrustStore trust, LoadTrust(args.trust, global));
    ELASTOS_ASSIGN_OR_RETURN(capsule::VerifiedCapsule verified, capsule::VerifyCapsule(args.target, trust));
    ELASTOS_ASSIGN_OR_RETURN(out.module, ExtractModule(verified, global.DataDir()));
    out.manifest = std::move(verified.manifest);
    out.reference = verified.file.capsule.ToString();
    out.signer = verified.envelope.signer;
  }
  if (out.manifest.type != CapsuleType::kWasm && out.manifest.type != CapsuleType::kAgent) {
    return FailedPrecondition("capsule_not_runnable",
                              fmt::format("{} is a {} capsule; 'capsule run' runs wasm and agent capsules",
                                          out.manifest.name, CapsuleTypeName(out.manifest.type)));
  }
  if (out.manifest.microvm) {
    return FailedPrecondition("microvm_not_available",
                              out.manifest.name + " asks for a microVM; this runtime runs WASM capsules only "
                                                  "so far (the microVM substrate is not built yet)");
  }
  return out;
}

std::string NewInstanceId(const std::string& name) {
  std::array<std::uint8_t, 8> r;
  crypto::RandomBytes(r);
  return name + "-" + HexEncode(r);
}

audit::AuditRecord LaunchRecord(const RunArgs& args, const std::string& instance) {
  audit::AuditRecord r;
  r.type = "capsule_launch";
  r.actor_kind = audit::ActorKind::kHuman;
  r.actor = "cli";
  r.subject = instance;
  r.resource = args.target;
  r.action = "execute";
  return r;
}

int RunCapsule(const RunArgs& args, const GlobalOptions& global) {
  // A capsule that exits while we write its carrier responses must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const fs::path data_dir = global.DataDir();
  // For the whole run: a runtime started meanwhile must not share the audit log with us.
  Result<StandaloneLease> lease = StandaloneLease::Acquire(data_dir);
  if (!lease.ok()) {
    Fail(lease.status());
    return kExitRunRefused;
  }
  auto env = NewPosixEnv();
  auto audit = [&](const audit::AuditRecord& r) { return AppendAuditRecord(*env, data_dir, r); };

  // Refusals are audited (durably) before we answer, like every state-changing decision.
  auto refuse = [&](const Status& s, const std::string& instance) {
    audit::AuditRecord r = LaunchRecord(args, instance);
    r.outcome = "denied";
    r.reason = s.reason();
    r.details["message"] = s.message();
    if (Status a = audit(r); !a.ok()) Fail(a.WithContext("audit"));
    Fail(s);
    return kExitRunRefused;
  };

  auto prepared = Prepare(args, global);
  if (!prepared.ok()) return refuse(prepared.status(), "");
  const CapsuleManifest& m = prepared->manifest;
  const std::string instance = NewInstanceId(m.name);

  auto limits = compute::ResolveLimits(m.limits, args.overrides);
  if (!limits.ok()) return refuse(limits.status(), instance);
  for (const auto& name : m.limits.not_enforced) {
    std::fprintf(stderr, "elastos: note: resource_limits.%s is accepted but not enforced\n", name.c_str());
  }

  const fs::path capsule_data = data_dir / "capsules" / m.name / "data";
  std::error_code ec;
  fs::create_directories(capsule_data, ec);
  if (ec) return refuse(IoError("create " + capsule_data.string(), ec.value()), instance);
  ::chmod(capsule_data.c_str(), 0700);

  auto tier = ChooseTier(args.tier, prepared->module, *limits, data_dir);
  if (!tier.ok()) return refuse(tier.status(), instance);

  compute::LaunchConfig config;
  config.capsule_name = m.name;
  config.instance_id = instance;
  config.module = prepared->module;
  config.aot_object = tier->object;
  config.args = args.args;
  config.data_dir = capsule_data;
  config.limits = *limits;

  audit::AuditRecord launch = LaunchRecord(args, instance);
  launch.resource = prepared->reference;
  launch.details["capsule"] = m.name;
  launch.details["tier"] = tier->object ? "aot" : "interp";
  launch.details["limits"] = limits->ToString();
  if (prepared->signer.empty()) {
    launch.details["unsigned"] = 1;  // --allow-unsigned: the operator's explicit choice, on record
  } else {
    launch.details["signer"] = prepared->signer;
  }
  if (Status a = audit(launch); !a.ok()) {
    // Fail closed: a capsule does not run unless its launch is on record.
    Fail(a.WithContext("audit"));
    return kExitRunRefused;
  }

  compute::WasmProvider provider({compute::WasmProvider::DefaultWorkerPath()});
  auto loaded = provider.Load(config);
  if (!loaded.ok()) return refuse(loaded.status(), instance);
  compute::Instance& inst = **loaded;
  if (Status s = inst.Start(); !s.ok()) return refuse(s, instance);

  StandaloneHandler handler(m.name, instance);
  std::thread carrier([&] { (void)compute::ServeCarrier(inst.requests_fd(), inst.responses_fd(), handler); });
  auto exit_status = inst.Wait();
  carrier.join();
  if (!exit_status.ok()) {
    Fail(exit_status.status());
    return kExitRunRefused;
  }
  if (tier->compile_after) StartBackgroundCompile(prepared->module, data_dir);

  const compute::Outcome& o = exit_status->outcome;
  audit::AuditRecord done;
  done.type = "capsule_exit";
  done.actor = instance;
  done.actor_kind = m.type == CapsuleType::kAgent ? audit::ActorKind::kAgent : audit::ActorKind::kCapsule;
  done.subject = instance;
  done.resource = prepared->reference;
  done.action = "execute";
  done.outcome = o.kind == OutcomeKind::kExited ? "ok" : "error";
  done.reason = o.kind == OutcomeKind::kExited ? "" : o.reason;
  done.details["exit_code"] = exit_status->exit_code;
  done.details["tier"] = exit_status->tier;
  done.details["cpu_ms"] = exit_status->usage.cpu_us / 1000;
  done.details["wall_ms"] = exit_status->usage.wall_us / 1000;
  done.details["max_rss_kib"] = exit_status->usage.max_rss_kib;
  if (!exit_status->memory_enforcement.empty()) done.details["memory_enforcement"] = exit_status->memory_enforcement;
  if (!exit_status->filesystem_enforcement.empty()) {
    done.details["filesystem_enforcement"] = exit_status->filesystem_enforcement;
  }
  if (o.kind == OutcomeKind::kExited) done.details["guest_exit_code"] = o.exit_code;
  if (Status a = audit(done); !a.ok()) Fail(a.WithContext("audit"));

  if (o.kind != OutcomeKind::kExited) {
    const char* what = o.kind == OutcomeKind::kLimit  ? "was stopped"
                       : o.kind == OutcomeKind::kTrap ? "trapped"
                                                      : "was refused";
    std::fprintf(stderr, "elastos: capsule %s %s: %s (%s)\n", m.name.c_str(), what, o.message.c_str(),
                 o.reason.c_str());
  } else if (exit_status->exit_code != o.exit_code) {
    std::fprintf(stderr, "elastos: capsule %s exited with %d, reported as %d (codes 124-255 are the runtime's)\n",
                 m.name.c_str(), o.exit_code, exit_status->exit_code);
  }
  return exit_status->exit_code;
}

int CompileCapsule(const std::string& target, const std::string& trust, const std::string& instrumentation, bool quiet,
                   const GlobalOptions& global) {
  fs::path module = target;
  if (fs::path(target).extension() != ".wasm") {
    RunArgs args;
    args.target = target;
    args.trust = trust;
    args.allow_unsigned = fs::is_directory(target);  // compiling runs nothing of the capsule
    auto prepared = Prepare(args, global);
    if (!prepared.ok()) return Fail(prepared.status());
    module = prepared->module;
  }
  if (!quiet) std::fprintf(stderr, "compiling %s to native code...\n", module.c_str());
  auto object = CompileModule(module, global.DataDir(), instrumentation);
  if (!object.ok()) return Fail(object.status().WithContext(module.string()));
  if (!quiet) std::printf("compiled %s\nobject %s\n", module.c_str(), object->c_str());
  return kExitOk;
}

}  // namespace

void AddCapsuleRunCommands(CLI::App& capsule, const GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = capsule.add_subcommand(
      "run", "Verify a capsule and run it sandboxed under its limits; exits with its exit code "
             "(124 limit, 125 refused, 126 trap)");
  run->add_option("capsule", args->target, "A .capsule file, or a capsule directory with --allow-unsigned")->required();
  auto* trust = run->add_option("--trust", args->trust, "Trust store (default: DATA_DIR/trust)");
  run->add_flag("--allow-unsigned", args->allow_unsigned,
                "Run an unsigned capsule directory (development only; audited)")
      ->excludes(trust);
  run->add_option("--tier", args->tier,
                  "auto: compiled code when cached, else the interpreter while it compiles in the "
                  "background; interp; aot: compile first if needed")
      ->check(CLI::IsMember({"auto", "interp", "aot"}));
  run->add_option("--memory-mb", args->overrides.memory_mb, "Lower the memory limit");
  run->add_option("--wall-ms", args->overrides.wall_ms, "Lower the wall-clock limit");
  run->add_option("--cpu-ms", args->overrides.cpu_ms, "Lower the CPU-time limit");
  run->add_option("--fuel", args->overrides.fuel, "Meter the run: exact instruction budget (interpreter)");
  run->add_option("--output-mb", args->overrides.output_mb, "Lower the stdout+stderr limit");
  run->add_option("--storage-mb", args->overrides.storage_mb, "Lower the /data size limit");
  run->add_option("args", args->args, "Arguments for the capsule (after --)");
  run->callback([args, &global, &exit_code] { exit_code = RunCapsule(*args, global); });

  struct CompileArgs {
    std::string target, trust, instrumentation = "interrupt";
    bool quiet = false;
  };
  auto compile_args = std::make_shared<CompileArgs>();
  CLI::App* compile = capsule.add_subcommand(
      "compile", "Compile a capsule's WASM entry to native code now (cached in DATA_DIR/cache/aot), so "
                 "its first run starts fast");
  compile->add_option("capsule", compile_args->target, "A .capsule file, a capsule directory or a .wasm module")
      ->required();
  compile->add_option("--trust", compile_args->trust, "Trust store for a .capsule file (default: DATA_DIR/trust)");
  compile->add_flag("--quiet", compile_args->quiet, "Print nothing on success");
  compile->add_option("--instrumentation", compile_args->instrumentation,
                      "interrupt (default: time limits stop compiled code at loop heads) or none "
                      "(for benchmarks; runs never use such objects)")
      ->check(CLI::IsMember({"interrupt", "none"}));
  compile->callback([compile_args, &global, &exit_code] {
    exit_code = CompileCapsule(compile_args->target, compile_args->trust, compile_args->instrumentation,
                               compile_args->quiet, global);
  });
}

}  // namespace elastos::cli
