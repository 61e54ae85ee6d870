#include "runtime/session/session_registry.h"

#include <array>

#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace elastos::runtime {
namespace {

constexpr std::size_t kMaxBearerLength = 128;

std::string BearerDigest(std::string_view bearer) {
  return HexEncode(crypto::Sha256::Hash(AsBytes(bearer)));
}

}  // namespace

std::string_view SessionKindName(SessionKind kind) {
  switch (kind) {
    case SessionKind::kShell:
      return "shell";
    case SessionKind::kCapsule:
      return "capsule";
    case SessionKind::kClient:
      return "client";
  }
  return "client";
}

Result<SessionKind> ParseSessionKind(std::string_view name) {
  if (name == "shell") return SessionKind::kShell;
  if (name == "capsule") return SessionKind::kCapsule;
  if (name == "client") return SessionKind::kClient;
  return InvalidArgument("bad_session_kind", "session kind must be shell, capsule or client, not '" +
                                                 std::string(name) + "'");
}

SessionRegistry::SessionRegistry(CapabilityStore& store, std::function<std::int64_t()> now)
    : store_(store), now_(std::move(now)) {}

Result<NewSession> SessionRegistry::Create(SessionKind kind, std::string instance_id,
                                           std::string owner, bool agent) {
  std::array<std::uint8_t, 16> id_bytes;
  std::array<std::uint8_t, 32> secret;
  crypto::RandomBytes(id_bytes);
  crypto::RandomBytes(secret);
  NewSession out;
  out.session.id = "s-" + HexEncode(id_bytes);
  out.session.kind = kind;
  out.session.instance_id = std::move(instance_id);
  out.session.owner = std::move(owner);
  out.session.agent = agent;
  out.session.created_unix = out.session.last_active_unix = now_();
  out.bearer = Base64UrlEncode(secret);
  std::lock_guard<std::mutex> lock(mu_);
  by_id_.emplace(out.session.id, out.session);
  id_by_bearer_digest_.emplace(BearerDigest(out.bearer), out.session.id);
  return out;
}

std::optional<Session> SessionRegistry::Authenticate(std::string_view bearer) {
  if (bearer.empty() || bearer.size() > kMaxBearerLength) return std::nullopt;
  const std::string digest = BearerDigest(bearer);
  std::lock_guard<std::mutex> lock(mu_);
  auto id = id_by_bearer_digest_.find(digest);
  if (id == id_by_bearer_digest_.end()) return std::nullopt;
  auto s = by_id_.find(id->second);
  if (s == by_id_.end()) return std::nullopt;
  s->second.last_active_unix = now_();
  return s->second;
}

std::optional<Session> SessionRegistry::Get(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = by_id_.find(id);
  if (s == by_id_.end()) return std::nullopt;
  return s->second;
}

std::optional<Session> SessionRegistry::ForInstance(std::string_view instance_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, s] : by_id_) {
    if (s.instance_id == instance_id && s.kind != SessionKind::kClient) return s;
  }
  return std::nullopt;
}

std::vector<Session> SessionRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Session> out;
  out.reserve(by_id_.size());
  for (const auto& [id, s] : by_id_) out.push_back(s);
  return out;
}

Status SessionRegistry::End(std::string_view id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto s = by_id_.find(id);
    if (s == by_id_.end()) {
      if (store_.IsSessionEnded(id)) return OkStatus();
      return NotFound("no_such_session", "no session " + std::string(id));
    }
    // Forget the bearer first: from here on the session cannot authenticate, even if ending it
    // in the store fails below (then its tokens stay revocable by the epoch).
    for (auto it = id_by_bearer_digest_.begin(); it != id_by_bearer_digest_.end(); ++it) {
      if (it->second == id) {
        id_by_bearer_digest_.erase(it);
        break;
      }
    }
    by_id_.erase(s);
  }
  return store_.EndSession(id);
}

std::vector<std::string> SessionRegistry::IdleClients(std::chrono::seconds idle) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  const std::int64_t cutoff = now_() - idle.count();
  for (const auto& [id, s] : by_id_) {
    if (s.kind == SessionKind::kClient && s.last_active_unix < cutoff) out.push_back(id);
  }
  return out;
}

}  // namespace elastos::runtime
