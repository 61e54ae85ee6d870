// Test support: opens the whole capability kernel (store, secure clock, audit log, manager) on a
// data directory the way the runtime does, for the kill -9 test and its child process.
#pragma once

#include <filesystem>
#include <memory>

#include "runtime/audit/audit_log.h"
#include "runtime/capability/capability_manager.h"

namespace elastos::runtime::testing {

struct Kernel {
  std::unique_ptr<Env> env;
  std::unique_ptr<CapabilityStore> store;
  std::unique_ptr<SecureClock> clock;
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<CapabilityManager> manager;
  crypto::Ed25519PublicKey audit_public_key;

  // Opens (creating on first use) DIR/state.db, DIR/clock, DIR/audit/, DIR/keys/{runtime,audit}.key.
  static Result<Kernel> Open(const std::filesystem::path& dir);
  [[nodiscard]] Status Close();
};

}  // namespace elastos::runtime::testing
