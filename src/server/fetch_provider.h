// FetchProvider: `https://` resources, read by the runtime on a capsule's behalf once its token
// allowed it. The network is outside every sandbox, so this part is host-side; what it may reach
// is exactly what tokens name: the token's pattern is checked against the canonical request URI
// (scheme, host and port spelled out — `https://example.com/*` does not cover
// `https://example.com:8443/` nor `https://api.example.com/`), and there is no implicit "self".
//
// Deliberately narrow:
//   * TLS only, certificates verified against the system's CAs (or `ca_file`) and the host name;
//   * GET only (`read`); redirects are not followed — a redirect to another origin would leave
//     the granted pattern — they come back as failed_precondition/`redirect` naming the target;
//   * bodies are capped (`max_body`), connections time out (`timeout`).
// Names resolve through the system resolver: a granted host name that resolves to a private
// address is fetched — granting a host is granting whatever it resolves to (docs/threat-model.md).
//
// Thread-safety: Fetch may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos::server {

struct FetchOptions {
  std::filesystem::path ca_file;  // extra trust anchors (PEM); empty: the system's only
  std::size_t max_body = 8 << 20;
  std::chrono::milliseconds timeout{15000};
};

struct FetchedBody {
  int status = 0;
  std::string content_type;
  Bytes body;
};

class FetchProvider {
 public:
  explicit FetchProvider(FetchOptions options) : options_(std::move(options)) {}
  // GET `uri` (canonical https URI). Errors: invalid_argument/`bad_uri`, unavailable/
  // `fetch_failed` (DNS, TCP, TLS, timeout, non-2xx), failed_precondition/`redirect`,
  // resource_exhausted/`body_too_large`.
  Result<FetchedBody> Fetch(std::string_view uri) const;

 private:
  FetchOptions options_;
};

}  // namespace elastos::server
