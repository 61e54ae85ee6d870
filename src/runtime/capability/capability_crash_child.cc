// Test helper for capability_crash_test: drives the capability kernel through a random sequence
// of grant / validate / revoke / revoke-all and writes one line to stdout, in a single write(2),
// after each operation returns OK — the acknowledged log the parent checks after SIGKILLing us.
//   G <wire>            a token was granted
//   U <id> <max_uses>   a use of a use-limited token was consumed and acknowledged
//   R <id>              a token was revoked
//   E <epoch>           revoke-all advanced the epoch
// Usage: capability_crash_child DATA_DIR SEED
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "runtime/capability/crash_rig.h"

using namespace elastos;
using namespace elastos::runtime;

namespace {
void Say(const std::string& line) {
  const std::string out = line + "\n";
  if (::write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) std::_Exit(3);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: capability_crash_child DATA_DIR SEED\n");
    return 2;
  }
  auto kernel = testing::Kernel::Open(argv[1]);
  if (!kernel.ok()) {
    std::fprintf(stderr, "open: %s\n", kernel.status().ToString().c_str());
    return 1;
  }
  CapabilityManager& mgr = *kernel->manager;
  Say("open");
  std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
  const Actor shell{"shell", audit::ActorKind::kCapsule};
  std::vector<Token> tokens;
  for (int op = 0; op < 100000; ++op) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 35 || tokens.empty()) {
      GrantRequest r;
      r.holder = "app#" + std::to_string(rng() % 4);
      r.resource = "localhost://Users/self/Documents/" + std::to_string(rng() % 3) + "/*";
      r.action = rng() % 2 ? Action::kRead : Action::kWrite;
      if (rng() % 2) r.max_uses = 1 + static_cast<std::uint32_t>(rng() % 3);
      auto t = mgr.Grant(r, shell);
      if (!t.ok()) continue;
      Say("G " + t->ToWire());
      tokens.push_back(*t);
    } else if (dice < 80) {
      const Token& t = tokens[rng() % tokens.size()];
      const auto& f = t.fields();
      const std::string resource = f.resource.substr(0, f.resource.size() - 1) + "file.txt";
      const Status s = mgr.Validate(t, {f.holder, f.action, resource, Classification::kPrivate});
      if (s.ok() && f.max_uses) Say("U " + TokenIdHex(f.id) + " " + std::to_string(*f.max_uses));
    } else if (dice < 96) {
      const Token& t = tokens[rng() % tokens.size()];
      if (mgr.Revoke(t.fields().id, "crash test", shell).ok()) Say("R " + TokenIdHex(t.fields().id));
    } else {
      auto epoch = mgr.RevokeAll("crash test", shell);
      if (epoch.ok()) Say("E " + std::to_string(*epoch));
    }
  }
  return 0;
}
