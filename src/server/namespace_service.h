// NamespaceService: one operation on a namespace resource, for any caller — the path both the
// HTTP API (`/api/localhost/…`) and the capsule bridge (`resource_request`) take, so the checks
// cannot differ between them:
//
//   1. the URI is parsed and normalised (resource.h refuses `..`, encoded separators and dots,
//      backslashes and control characters outright);
//   2. the operation names the action the token must carry — read/list/stat/exists → read,
//      write/mkdir → write, delete → delete — never the token's own action (the reference's
//      provider proxy trusted the token's action);
//   3. the resource's classification comes from its root (`Public` 0, everything else 2), and the
//      token is validated with all 12 checks (a use is consumed only when all pass);
//   4. the provider serving the root gets the normalised path — never the token or the caller.
//
// Routing: `localhost://<root>/…` goes to the localhost provider pool; `https://host[:port]/…`
// (read only, classification public) to the runtime's FetchProvider. Other schemes answer
// not_found/`no_provider` for now.
//
// Thread-safety: Perform may be called concurrently.
#pragma once

#include <boost/json/object.hpp>
#include <set>
#include <string>
#include <string_view>

#include "crypto/aead.h"
#include "runtime/runtime.h"
#include "server/content_service.h"
#include "server/fetch_provider.h"
#include "server/provider_pool.h"

namespace elastos::server {

inline constexpr std::size_t kMaxResourceChunk = 512 << 10;  // docs/protocol.md resource_request

// Sealing at rest (optional, per root): files under a sealed root are encrypted by the runtime
// with AES-256-GCM (crypto/aead.h) before the provider stores them and decrypted after it
// returns them, with the file's path as associated data — so the provider (and anyone reading
// DATA_DIR/roots) sees only ciphertext, and a provider that swaps or replays files between paths
// is caught. A sealed file is written whole in one provider request, which caps it at
// kMaxSealedFile; appends re-seal the whole file. Sizes in stat and list are the plaintext's.
inline constexpr std::size_t kMaxSealedFile = kMaxResourceChunk - crypto::kSealOverhead;

struct Sealing {
  std::set<std::string, std::less<>> roots;  // e.g. {"Users", "UsersAI"}
  crypto::AeadKey key{};
};

class NamespaceService {
 public:
  // `fetch` may be null (https:// then answers no_provider).
  NamespaceService(runtime::Runtime& rt, ProviderPool* localhost, Sealing sealing = {},
                   const FetchProvider* fetch = nullptr);

  // `members`: the op's extra members as docs/protocol.md §5.1 defines them (content, append,
  // offset, length, recursive, parents); anything else is unknown_field. Returns the
  // `resource_response` object (type, op and the op's members).
  Result<boost::json::object> Perform(const runtime::Caller& caller, std::string_view op,
                                      std::string_view uri, std::string_view token,
                                      const boost::json::object& members);

  // fetch_content (docs/protocol.md §5.1): `elastos://<cid>[/path]` or `ipfs://<cid>[/path]` from
  // the runtime's content store, every block verified. Everyone but the shell needs a read token
  // on the URI (spelled elastos://). Returns the `content` response object.
  Result<boost::json::object> FetchContent(const runtime::Caller& caller, std::string_view uri,
                                           std::string_view token, std::uint64_t offset,
                                           std::uint64_t length);
  void SetContent(ContentService* content) { content_ = content; }

 private:
  Result<boost::json::object> Provider(boost::json::object request);
  Result<Bytes> ReadWhole(const std::string& path);
  Result<boost::json::object> PerformSealed(std::string_view op, const std::string& path,
                                            const boost::json::object& members);

  runtime::Runtime& rt_;
  ProviderPool* localhost_;
  Sealing sealing_;
  const FetchProvider* fetch_;
  ContentService* content_ = nullptr;
};

}  // namespace elastos::server
