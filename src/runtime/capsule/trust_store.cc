#include "runtime/capsule/trust_store.h"

#include "common/file_util.h"
#include "identity/did_key.h"

namespace elastos::capsule {
namespace {

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace

std::string_view TrustLevelName(TrustLevel level) {
  return level == TrustLevel::kRoot ? "root" : "community";
}

Result<TrustStore> TrustStore::Parse(std::string_view text) {
  TrustStore store;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const auto words = Words(line);
    if (words.empty()) continue;
    const std::string where = "trust store line " + std::to_string(line_no);
    if (words.size() != 2) {
      return InvalidArgument("bad_trust_store", where + ": expected 'did:key:z6Mk… root|community'");
    }
    auto key = identity::DidKeyDecode(words[0]);
    if (!key.ok()) return key.status().WithContext(where);
    TrustLevel level;
    if (words[1] == "root") {
      level = TrustLevel::kRoot;
    } else if (words[1] == "community") {
      level = TrustLevel::kCommunity;
    } else {
      return InvalidArgument("bad_trust_store", where + ": level '" + std::string(words[1]) +
                                                    "' is not 'root' or 'community'");
    }
    if (store.Find(*key)) {
      return InvalidArgument("bad_trust_store", where + ": publisher " + std::string(words[0]) + " is listed twice");
    }
    store.publishers_.push_back({std::string(words[0]), *key, level});
  }
  return store;
}

Result<TrustStore> TrustStore::Load(const std::filesystem::path& path) {
  ELASTOS_ASSIGN_OR_RETURN(Bytes text, ReadFileLimited(path, 1 << 20));
  auto store = Parse(AsChars(text));
  if (!store.ok()) return store.status().WithContext(path.string());
  return store;
}

std::optional<TrustStore::Publisher> TrustStore::Find(const crypto::Ed25519PublicKey& key) const {
  for (const auto& p : publishers_) {
    if (p.key == key) return p;
  }
  return std::nullopt;
}

}  // namespace elastos::capsule
