// CapsuleCatalog: the capsules installed into a data directory, by name.
//
// Install verifies a .capsule (signature by a publisher in the trust store, every block against
// its CID — DESIGN.md §3) and keeps the file itself under its capsule CID:
// DATA_DIR/capsules/store/<cid>.capsule. The index DATA_DIR/capsules/installed.json maps names to
// CIDs (written atomically; installing a capsule replaces any entry of the same name — upgrade,
// reinstall or downgrade alike: installing is the operator's decision, and it is audited). Nothing
// is trusted because it was installed: Resolve verifies the file again at every launch, against
// the trust store as it is *then*, so removing a publisher from the trust store stops its
// capsules from launching.
//
// Launch order: Plan returns a capsule's installed dependencies (DESIGN.md §3 `dependencies`)
// before the capsule itself, each once; a cycle or a missing dependency is refused with an error
// naming the chain.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/instances.h"

namespace elastos::server {

struct InstalledCapsule {
  std::string name;
  std::string version;
  std::string cid;
  std::string signer;
  std::string type;
  std::int64_t installed_at = 0;
};

class CapsuleCatalog {
 public:
  // `trust_file`: the publisher trust store (DESIGN.md §3), read afresh on every verification.
  CapsuleCatalog(std::filesystem::path data_dir, std::filesystem::path trust_file);

  // Verifies the .capsule at `path` and installs it. Errors: those of capsule verification
  // (unauthenticated / untrusted_publisher, bad_signature, …), failed_precondition/
  // `capsule_not_runnable` for data capsules' entry-less forms is *not* an error (data capsules
  // install; they just do not launch).
  Result<InstalledCapsule> Install(const std::filesystem::path& path, std::int64_t now);
  std::vector<InstalledCapsule> List() const;
  std::optional<InstalledCapsule> Find(std::string_view name_or_cid) const;
  // The installed capsule verified again, its entry module extracted: ready to launch.
  Result<CapsuleSource> Resolve(std::string_view name_or_cid) const;
  // Names in launch order: dependencies first (depth-first, each once), `name` last.
  Result<std::vector<std::string>> Plan(std::string_view name) const;

 private:
  Result<std::vector<InstalledCapsule>> LoadLocked() const;
  Status SaveLocked(const std::vector<InstalledCapsule>& all) const;

  std::filesystem::path data_dir_;
  std::filesystem::path trust_file_;
  mutable std::mutex mu_;
};

// Launches `name` (an installed capsule) after its dependencies, skipping any dependency that
// already runs; returns the instances started, `name`'s last. `args` go to `name` only.
Result<std::vector<InstanceInfo>> LaunchWithDependencies(InstanceManager& instances,
                                                         const CapsuleCatalog& catalog,
                                                         std::string_view name,
                                                         std::vector<std::string> args,
                                                         const runtime::Caller& by);

}  // namespace elastos::server
