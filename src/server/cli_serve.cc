// `elastos serve`: the runtime daemon in the foreground (server/daemon.h).
#include <CLI/CLI.hpp>
#include <string>

#include "server/cli.h"
#include "server/daemon.h"

namespace elastos::cli {

void AddServeCommand(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the runtime: the kernel, the HTTP API and the shell");
  auto listen = std::make_shared<std::string>("127.0.0.1:7420");
  cmd->add_option("--listen", *listen,
                  "HOST:PORT for the HTTP API (default 127.0.0.1:7420; port 0 picks a free one; "
                  "anything but loopback is reachable by others)");
  auto shell = std::make_shared<std::string>();
  auto provider = std::make_shared<std::string>();
  cmd->add_option("--shell", *shell,
                  "The shell capsule's directory (default: capsules/shell beside the executable's "
                  "directory)");
  cmd->add_option("--localhost-provider", *provider,
                  "The localhost provider capsule's directory (default: capsules/localhost-provider "
                  "beside the executable's directory)");
  auto seal = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--seal", *seal,
                  "localhost:// roots to encrypt at rest with AES-256-GCM, e.g. --seal Users,UsersAI "
                  "(key: DATA_DIR/keys/storage.key)")
      ->delimiter(',')
      ->check(CLI::IsMember({"Users", "UsersAI", "Public", "MyWebSite", "Local", "AppCapsules",
                             "ElastOS", "PC2Host"}));
  auto fetch_ca = std::make_shared<std::string>();
  cmd->add_option("--fetch-ca", *fetch_ca,
                  "Extra CA certificates (PEM) to trust for https:// fetches, besides the system's")
      ->check(CLI::ExistingFile);
  cmd->callback([&global, &exit_code, listen, shell, provider, seal, fetch_ca] {
    const std::string& l = *listen;
    const std::size_t colon = l.rfind(':');
    server::DaemonOptions options;
    options.data_dir = global.DataDir();
    options.shell_dir = *shell;
    options.localhost_provider_dir = *provider;
    options.sealed_roots = *seal;
    options.fetch_ca_file = *fetch_ca;
    int port = -1;
    if (colon != std::string::npos && colon + 1 < l.size() && l.size() - colon <= 6) {
      port = 0;
      for (char c : l.substr(colon + 1)) port = c >= '0' && c <= '9' ? port * 10 + (c - '0') : -1000000;
    }
    if (colon == std::string::npos || port < 0 || port > 65535) {
      exit_code = Fail(InvalidArgument("bad_listen_address",
                                       "--listen must be HOST:PORT, e.g. 127.0.0.1:7420, not '" + l + "'"));
      return;
    }
    options.host = l.substr(0, colon);
    if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
      options.host = options.host.substr(1, options.host.size() - 2);
    }
    options.port = static_cast<std::uint16_t>(port);
    exit_code = server::ServeForeground(options);
  });
}

}  // namespace elastos::cli
