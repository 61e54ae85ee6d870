#include "compute/limits.h"

#include <gtest/gtest.h>

namespace elastos::compute {
namespace {

TEST(LimitsTest, DefaultsApplyWhenTheManifestSaysNothing) {
  auto l = ResolveLimits({}, {});
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->memory_mb, 256u);
  EXPECT_EQ(l->wall_ms, 60'000u);
  EXPECT_EQ(l->cpu_ms, 60'000u);
  EXPECT_EQ(l->output_mb, 64u);
  EXPECT_EQ(l->storage_mb, 256u);
  EXPECT_FALSE(l->fuel.has_value());
  EXPECT_EQ(l->memory_pages(), 256u * 16);
}

TEST(LimitsTest, ManifestValuesReplaceDefaultsAndCpuFollowsWall) {
  ResourceLimits m;
  m.memory_mb = 32;
  m.wall_ms = 500;
  m.fuel = 1000;
  auto l = ResolveLimits(m, {});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->memory_mb, 32u);
  EXPECT_EQ(l->wall_ms, 500u);
  EXPECT_EQ(l->cpu_ms, 500u);  // not named: the wall budget
  EXPECT_EQ(l->fuel, 1000u);
}

TEST(LimitsTest, OverridesMayLower) {
  ResourceLimits m;
  m.wall_ms = 5000;
  LimitOverrides o;
  o.wall_ms = 100;
  o.memory_mb = 16;
  o.fuel = 50;  // metering an unmetered capsule only takes authority away
  auto l = ResolveLimits(m, o);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->wall_ms, 100u);
  EXPECT_EQ(l->memory_mb, 16u);
  EXPECT_EQ(l->fuel, 50u);
}

TEST(LimitsTest, OverridesMayNotRaise) {
  ResourceLimits m;
  m.memory_mb = 32;
  m.fuel = 10;
  for (int which = 0; which < 3; ++which) {
    LimitOverrides o;
    if (which == 0) o.memory_mb = 64;
    if (which == 1) o.fuel = 11;
    if (which == 2) o.output_mb = 65;
    auto l = ResolveLimits(m, o);
    ASSERT_FALSE(l.ok()) << which;
    EXPECT_EQ(l.status().reason(), "limit_raised");
    EXPECT_NE(l.status().message().find("only lower"), std::string::npos);
  }
}

TEST(LimitsTest, UnworkableValuesAreRefused) {
  ResourceLimits zero;
  zero.wall_ms = 0;
  EXPECT_EQ(ResolveLimits(zero, {}).status().reason(), "limit_invalid");
  ResourceLimits huge;
  huge.memory_mb = 4097;
  EXPECT_EQ(ResolveLimits(huge, {}).status().reason(), "limit_invalid");
  LimitOverrides o;
  o.cpu_ms = 0;
  EXPECT_EQ(ResolveLimits({}, o).status().reason(), "limit_invalid");
}

}  // namespace
}  // namespace elastos::compute
