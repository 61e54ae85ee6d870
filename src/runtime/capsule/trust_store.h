// The publisher trust store: which keys may publish capsules this runtime will load.
//
// File format (DESIGN.md §3), one publisher per line:
//     did:key:z6Mk… LEVEL        # LEVEL is `root` or `community`
// `#` starts a comment; blank lines are ignored. Any other line is an error naming its line
// number, because a silently skipped line in a trust file is a silently untrusted (or trusted)
// publisher.
//
// Thread-safety: immutable after construction.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/ed25519.h"

namespace elastos::capsule {

enum class TrustLevel { kRoot, kCommunity };
std::string_view TrustLevelName(TrustLevel level);

class TrustStore {
 public:
  struct Publisher {
    std::string did;
    crypto::Ed25519PublicKey key;
    TrustLevel level;
  };

  static Result<TrustStore> Parse(std::string_view text);
  static Result<TrustStore> Load(const std::filesystem::path& path);

  // Looks a publisher up by key (not by spelling of the DID).
  std::optional<Publisher> Find(const crypto::Ed25519PublicKey& key) const;
  const std::vector<Publisher>& publishers() const { return publishers_; }

 private:
  std::vector<Publisher> publishers_;
};

}  // namespace elastos::capsule
