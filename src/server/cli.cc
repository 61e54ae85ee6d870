#include "server/cli.h"
#include "common/version.h"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

namespace elastos::cli {

std::filesystem::path GlobalOptions::DataDir() const {
  if (!data_dir.empty()) return data_dir;
  if (const char* env = std::getenv("ELASTOS_DATA_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "elastos";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".local/share/elastos";
  return ".elastos";
}

int Fail(const Status& status) {
  std::fprintf(stderr, "elastos: error: %s\n", status.ToString().c_str());
  return kExitRefused;
}

int Run(int argc, char** argv) {
  CLI::App app{"ElastOS runtime: signed, content-addressed capsules with capability-secure access"};
  app.name("elastos");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "elastos " + std::string(kVersion));

  GlobalOptions global;
  app.add_option("--data-dir", global.data_dir,
                 "Runtime state directory (default: $ELASTOS_DATA_DIR, else $XDG_DATA_HOME/elastos, else ~/.local/share/elastos)");

  int exit_code = kExitOk;
  AddContentCommands(app, global, exit_code);
  AddCapsuleCommands(app, global, exit_code);
  AddAuditCommands(app, global, exit_code);
  AddTokenCommands(app, global, exit_code);
  AddServeCommand(app, global, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, version or the usage error
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}

}  // namespace elastos::cli
