#include "server/catalog.h"

#include <boost/json.hpp>
#include <functional>
#include <set>

#include "common/file_util.h"
#include "runtime/capsule/artifact.h"
#include "runtime/capsule/trust_store.h"
#include "server/run_support.h"

namespace elastos::server {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kIndexSchema = "elastos.installed/v1";
constexpr std::uint64_t kMaxIndexBytes = 16 << 20;

Result<capsule::TrustStore> LoadTrustFile(const fs::path& path) {
  if (!fs::exists(path)) {
    return FailedPrecondition("no_trust_store",
                              "no publisher trust store at " + path.string() +
                                  ": add trusted publishers (one 'did:key:… root' per line) before "
                                  "installing signed capsules");
  }
  return capsule::TrustStore::Load(path);
}

}  // namespace

CapsuleCatalog::CapsuleCatalog(fs::path data_dir, fs::path trust_file)
    : data_dir_(std::move(data_dir)), trust_file_(std::move(trust_file)) {}

Result<std::vector<InstalledCapsule>> CapsuleCatalog::LoadLocked() const {
  const fs::path index = data_dir_ / "capsules" / "installed.json";
  std::vector<InstalledCapsule> out;
  if (!fs::exists(index)) return out;
  ELASTOS_ASSIGN_OR_RETURN(Bytes bytes, ReadFileLimited(index, kMaxIndexBytes));
  std::error_code ec;
  json::value v = json::parse(AsChars(bytes), ec);
  auto corrupt = [&](const std::string& why) {
    return FailedPrecondition("installed_index_corrupt", index.string() + ": " + why);
  };
  if (ec || !v.is_object()) return corrupt("not a JSON object");
  const json::object& o = v.as_object();
  const json::value* schema = o.if_contains("schema");
  if (schema == nullptr || !schema->is_string()) return corrupt("no schema");
  if (schema->as_string() != kIndexSchema) {
    return FailedPrecondition("installed_index_too_new",
                              index.string() + " has schema '" + std::string(schema->as_string()) +
                                  "', which this runtime does not know: refusing to misread it");
  }
  const json::value* list = o.if_contains("capsules");
  if (list == nullptr || !list->is_array()) return corrupt("no capsules list");
  for (const json::value& e : list->as_array()) {
    if (!e.is_object()) return corrupt("an entry is not an object");
    const json::object& c = e.as_object();
    auto str = [&](const char* k) -> std::string {
      const json::value* f = c.if_contains(k);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    InstalledCapsule ic{str("name"), str("version"), str("cid"), str("signer"), str("type"), 0};
    if (const json::value* t = c.if_contains("installed_at"); t && t->is_int64()) {
      ic.installed_at = t->as_int64();
    }
    if (ic.name.empty() || ic.cid.empty()) return corrupt("an entry lacks name or cid");
    out.push_back(std::move(ic));
  }
  return out;
}

Status CapsuleCatalog::SaveLocked(const std::vector<InstalledCapsule>& all) const {
  json::array list;
  for (const InstalledCapsule& c : all) {
    list.push_back(json::object{{"name", c.name},
                                {"version", c.version},
                                {"cid", c.cid},
                                {"signer", c.signer},
                                {"type", c.type},
                                {"installed_at", c.installed_at}});
  }
  const std::string text =
      json::serialize(json::object{{"schema", kIndexSchema}, {"capsules", std::move(list)}}) + "\n";
  return WriteFileAtomic(data_dir_ / "capsules" / "installed.json", AsBytes(text), 0600);
}

Result<InstalledCapsule> CapsuleCatalog::Install(const fs::path& path, std::int64_t now) {
  ELASTOS_ASSIGN_OR_RETURN(capsule::TrustStore trust, LoadTrustFile(trust_file_));
  ELASTOS_ASSIGN_OR_RETURN(capsule::VerifiedCapsule v, capsule::VerifyCapsule(path, trust));
  InstalledCapsule ic;
  ic.name = v.manifest.name;
  ic.version = v.manifest.version;
  ic.cid = v.file.capsule.ToString();
  ic.signer = v.envelope.signer;
  ic.type = std::string(CapsuleTypeName(v.manifest.type));
  ic.installed_at = now;

  const fs::path store = data_dir_ / "capsules" / "store";
  std::error_code ec;
  fs::create_directories(store, ec);
  if (ec) return IoError("create " + store.string(), ec.value());
  ELASTOS_ASSIGN_OR_RETURN(Bytes file, ReadFileLimited(path, 1ull << 30));
  ELASTOS_RETURN_IF_ERROR(WriteFileAtomic(store / (ic.cid + ".capsule"), file, 0600));

  std::lock_guard<std::mutex> lock(mu_);
  ELASTOS_ASSIGN_OR_RETURN(std::vector<InstalledCapsule> all, LoadLocked());
  std::erase_if(all, [&](const InstalledCapsule& c) { return c.name == ic.name; });
  all.push_back(ic);
  ELASTOS_RETURN_IF_ERROR(SaveLocked(all));
  return ic;
}

std::vector<InstalledCapsule> CapsuleCatalog::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::vector<InstalledCapsule>> all = LoadLocked();
  return all.ok() ? *all : std::vector<InstalledCapsule>();
}

std::optional<InstalledCapsule> CapsuleCatalog::Find(std::string_view name_or_cid) const {
  for (InstalledCapsule& c : List()) {
    if (c.name == name_or_cid || c.cid == name_or_cid) return c;
  }
  return std::nullopt;
}

Result<CapsuleSource> CapsuleCatalog::Resolve(std::string_view name_or_cid) const {
  std::optional<InstalledCapsule> ic = Find(name_or_cid);
  if (!ic) {
    return NotFound("no_such_capsule", "no installed capsule named '" + std::string(name_or_cid) +
                                           "' (install it first: elastos capsule install FILE)");
  }
  ELASTOS_ASSIGN_OR_RETURN(capsule::TrustStore trust, LoadTrustFile(trust_file_));
  const fs::path file = data_dir_ / "capsules" / "store" / (ic->cid + ".capsule");
  ELASTOS_ASSIGN_OR_RETURN(capsule::VerifiedCapsule v, capsule::VerifyCapsule(file, trust));
  if (v.file.capsule.ToString() != ic->cid) {
    return FailedPrecondition("installed_capsule_changed",
                              file.string() + " no longer holds capsule " + ic->cid);
  }
  CapsuleSource s;
  ELASTOS_ASSIGN_OR_RETURN(s.module, cli::ExtractModule(v, data_dir_));
  s.manifest = std::move(v.manifest);
  s.reference = ic->cid;
  s.signer = v.envelope.signer;
  return s;
}

Result<std::vector<std::string>> CapsuleCatalog::Plan(std::string_view name) const {
  std::vector<std::string> order;
  std::set<std::string> done;
  std::vector<std::string> path;  // the chain being resolved, to name a cycle
  std::function<Status(const std::string&)> visit = [&](const std::string& n) -> Status {
    if (done.count(n)) return OkStatus();
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i] == n) {
        std::string chain;
        for (std::size_t j = i; j < path.size(); ++j) chain += path[j] + " -> ";
        return FailedPrecondition("dependency_cycle", "capsule dependencies form a cycle: " + chain + n);
      }
    }
    if (path.size() > 64) return FailedPrecondition("dependency_depth", "dependencies nest deeper than 64");
    ELASTOS_ASSIGN_OR_RETURN(CapsuleSource s, Resolve(n));
    path.push_back(n);
    for (const Dependency& d : s.manifest.dependencies) {
      std::optional<InstalledCapsule> dep = Find(d.cid ? *d.cid : d.name);
      if (!dep) dep = Find(d.name);
      if (!dep) {
        return NotFound("missing_dependency", n + " depends on " + d.name +
                                                  ", which is not installed");
      }
      if (d.version && dep->version != *d.version) {
        return FailedPrecondition("dependency_version", n + " needs " + d.name + " " + *d.version +
                                                            " but " + dep->version + " is installed");
      }
      ELASTOS_RETURN_IF_ERROR(visit(dep->name));
    }
    path.pop_back();
    done.insert(n);
    order.push_back(n);
    return OkStatus();
  };
  ELASTOS_RETURN_IF_ERROR(visit(std::string(name)));
  return order;
}

Result<std::vector<InstanceInfo>> LaunchWithDependencies(InstanceManager& instances,
                                                         const CapsuleCatalog& catalog,
                                                         std::string_view name,
                                                         std::vector<std::string> args,
                                                         const runtime::Caller& by) {
  ELASTOS_ASSIGN_OR_RETURN(std::vector<std::string> plan, catalog.Plan(name));
  std::vector<InstanceInfo> launched;
  for (const std::string& n : plan) {
    const bool target = n == plan.back();
    if (!target) {
      bool running = false;
      for (const InstanceInfo& i : instances.List()) {
        running = running || (i.name == n && i.status == InstanceStatus::kRunning);
      }
      if (running) continue;
    }
    ELASTOS_ASSIGN_OR_RETURN(CapsuleSource src, catalog.Resolve(n));
    LaunchRequest lr;
    lr.source = std::move(src);
    if (target) lr.args = std::move(args);
    lr.launched_by = by.holder();
    lr.launched_by_kind = by.actor_kind();
    ELASTOS_ASSIGN_OR_RETURN(InstanceInfo i, instances.Launch(std::move(lr)));
    launched.push_back(std::move(i));
  }
  return launched;
}

}  // namespace elastos::server
