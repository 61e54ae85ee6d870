// The installed-capsule catalog on real signed .capsule files: install, re-verification at
// resolve time against the trust store as it is then, and the dependency launch plan.
#include "server/catalog.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/testing/temp_dir.h"
#include "identity/did_key.h"
#include "runtime/capsule/artifact.h"

namespace elastos::server {
namespace {

namespace fs = std::filesystem;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    fs::create_directories(data_);
    std::ofstream(dir_.path() / "trust") << identity::DidKeyEncode(key_.public_key()) << " root\n";
  }

  // A signed capsule named `name` depending on `deps`, packed to a .capsule file.
  fs::path Make(const std::string& name, const std::vector<std::string>& deps) {
    const fs::path dir = dir_.path() / "src" / name;
    fs::create_directories(dir);
    std::string d;
    for (const std::string& n : deps) d += std::string(d.empty() ? "" : ",") + "\"" + n + "\"";
    std::ofstream(dir / "capsule.json") << R"({"name":")" << name
                                        << R"(","version":"1.0.0","type":"wasm","entry":"m.wasm","dependencies":[)"
                                        << d << "]}";
    // The smallest valid module: magic and version.
    std::ofstream(dir / "m.wasm", std::ios::binary).write("\0asm\1\0\0\0", 8);
    const fs::path out = dir_.path() / (name + ".capsule");
    auto packed = capsule::PackCapsule(dir, key_, out);
    EXPECT_TRUE(packed.ok()) << packed.status().ToString();
    return out;
  }

  elastos::testing::TempDir dir_;
  fs::path data_;
  crypto::Ed25519PrivateKey key_ = crypto::Ed25519PrivateKey::Generate();
};

TEST_F(CatalogTest, InstallsResolvesAndPlansDependenciesFirst) {
  CapsuleCatalog catalog(data_, dir_.path() / "trust");
  for (auto [name, deps] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"base", {}}, {"lib", {"base"}}, {"ui", {"base"}}, {"app", {"lib", "ui", "base"}}}) {
    auto ic = catalog.Install(Make(name, deps), 1);
    ASSERT_TRUE(ic.ok()) << ic.status().ToString();
    EXPECT_EQ(ic->name, name);
  }
  auto plan = catalog.Plan("app");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(*plan, (std::vector<std::string>{"base", "lib", "ui", "app"}));
  auto src = catalog.Resolve("lib");
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ(src->manifest.name, "lib");
  EXPECT_TRUE(fs::exists(src->module));
  // The index survives a new catalog object (a restarted runtime).
  CapsuleCatalog again(data_, dir_.path() / "trust");
  EXPECT_EQ(again.List().size(), 4u);
}

TEST_F(CatalogTest, CyclesAndMissingDependenciesAreRefusedByName) {
  CapsuleCatalog catalog(data_, dir_.path() / "trust");
  ASSERT_TRUE(catalog.Install(Make("a", {"b"}), 1).ok());
  ASSERT_TRUE(catalog.Install(Make("b", {"c"}), 1).ok());
  ASSERT_TRUE(catalog.Install(Make("c", {"a"}), 1).ok());
  ASSERT_TRUE(catalog.Install(Make("lonely", {"ghost"}), 1).ok());
  auto cycle = catalog.Plan("a");
  EXPECT_EQ(cycle.status().reason(), "dependency_cycle");
  EXPECT_NE(cycle.status().message().find("a -> b -> c -> a"), std::string::npos)
      << cycle.status().message();
  EXPECT_EQ(catalog.Plan("lonely").status().reason(), "missing_dependency");
}

TEST_F(CatalogTest, ResolveVerifiesAgainstTheTrustStoreAsItIsNow) {
  CapsuleCatalog catalog(data_, dir_.path() / "trust");
  ASSERT_TRUE(catalog.Install(Make("app", {}), 1).ok());
  ASSERT_TRUE(catalog.Resolve("app").ok());
  // The publisher is no longer trusted: the installed capsule no longer launches.
  std::ofstream(dir_.path() / "trust", std::ios::trunc) << "# nobody\n";
  EXPECT_EQ(catalog.Resolve("app").status().reason(), "publisher_unknown");
  // An untrusted file is refused at install and changes nothing.
  const auto before = catalog.List().size();
  EXPECT_FALSE(catalog.Install(Make("other", {}), 1).ok());
  EXPECT_EQ(catalog.List().size(), before);
  EXPECT_FALSE(catalog.Find("other").has_value());
}

}  // namespace
}  // namespace elastos::server
