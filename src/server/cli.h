// The `elastos` command line. Exit codes: 0 success, 1 refused or invalid input, 2 usage error.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#include "runtime/capsule/trust_store.h"

namespace CLI {
class App;
}

namespace elastos::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;

int Run(int argc, char** argv);

// Options shared by every command.
struct GlobalOptions {
  std::string data_dir;  // --data-dir, else $ELASTOS_DATA_DIR, else XDG default
  std::filesystem::path DataDir() const;
};

// Prints "elastos: error: <message> (<reason>)" on stderr and returns kExitRefused.
int Fail(const Status& status);

// The trust store at `trust_path`, else DATA_DIR/trust; a missing one names the fix.
Result<capsule::TrustStore> LoadTrust(const std::string& trust_path, const GlobalOptions& global);

// Each group adds its subcommands to `app`; the handler sets `exit_code` when it runs.
void AddContentCommands(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddCapsuleCommands(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddAuditCommands(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddTokenCommands(CLI::App& app, const GlobalOptions& global, int& exit_code);
void AddServeCommand(CLI::App& app, const GlobalOptions& global, int& exit_code);
// Subcommands of `capsule` that live in their own files (cli_build.cc, cli_run.cc).
void AddCapsuleBuildCommand(CLI::App& capsule, const GlobalOptions& global, int& exit_code);
void AddCapsuleRunCommands(CLI::App& capsule, const GlobalOptions& global, int& exit_code);
// `run` and `capsule install`: clients of a running runtime (cli_client.cc).
void AddClientCommands(CLI::App& app, CLI::App& capsule, const GlobalOptions& global, int& exit_code);

}  // namespace elastos::cli
