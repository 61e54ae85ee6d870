#include "runtime/capability/crash_rig.h"

#include "identity/key_file.h"

namespace elastos::runtime::testing {

Result<Kernel> Kernel::Open(const std::filesystem::path& dir) {
  Kernel k;
  k.env = NewPosixEnv();
  ELASTOS_RETURN_IF_ERROR(k.env->CreateDirectories(dir / "keys", 0700));
  ELASTOS_ASSIGN_OR_RETURN(auto audit_key, identity::LoadOrCreatePrivateKey(*k.env, dir / "keys" / "audit.key"));
  k.audit_public_key = audit_key.public_key();
  ELASTOS_ASSIGN_OR_RETURN(k.store, CapabilityStore::Open(*k.env, dir / "state.db"));
  ELASTOS_ASSIGN_OR_RETURN(k.clock, SecureClock::Open(*k.env, dir / "clock"));
  ELASTOS_ASSIGN_OR_RETURN(k.audit, audit::AuditLog::Open(*k.env, dir / "audit", audit_key));
  ELASTOS_ASSIGN_OR_RETURN(k.manager, CapabilityManager::Open({k.env.get(), k.store.get(), k.clock.get(), k.audit.get()},
                                                              dir / "keys" / "runtime.key"));
  return k;
}

Status Kernel::Close() {
  manager.reset();
  Status s = audit ? audit->Close() : OkStatus();
  audit.reset();
  clock.reset();
  store.reset();
  return s;
}

}  // namespace elastos::runtime::testing
