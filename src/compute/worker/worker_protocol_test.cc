#include "compute/worker/worker_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace elastos::compute {
namespace {

Result<WorkerSpec> Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseWorkerArgv(static_cast<int>(argv.size()), argv.data());
}

Result<WorkerSpec> ParseTail(std::vector<std::string> tail) {
  tail.insert(tail.begin(), {"elastos-worker", "--module", "m.wasm"});
  return Parse(tail);
}

WorkerSpec FullSpec() {
  WorkerSpec spec;
  spec.module_path = "/cache/mod.wasm";
  spec.aot_path = "/cache/aot/abc.so";
  spec.max_memory_pages = 1024;
  spec.memory_limit_bytes = 96ull << 20;
  spec.wall_ms = 5000;
  spec.cpu_ms = 1500;
  spec.fuel = 123456789;
  spec.output_limit_bytes = 1 << 20;
  spec.storage_limit_bytes = 1ull << 33;
  spec.data_dir = "/var/lib/elastos/capsules/x/data";
  spec.args = {"x", "--flag", "--", "two words", ""};
  spec.env = {"ELASTOS_CAPSULE_NAME=x", "EMPTY=", "EQ=a=b"};
  spec.carrier_in_fd = 7;
  spec.carrier_out_fd = 8;
  spec.report_fd = 9;
  spec.sandbox = false;
  return spec;
}

void ExpectSameSpec(const WorkerSpec& a, const WorkerSpec& b) {
  EXPECT_EQ(a.module_path, b.module_path);
  EXPECT_EQ(a.aot_path, b.aot_path);
  EXPECT_EQ(a.max_memory_pages, b.max_memory_pages);
  EXPECT_EQ(a.memory_limit_bytes, b.memory_limit_bytes);
  EXPECT_EQ(a.wall_ms, b.wall_ms);
  EXPECT_EQ(a.cpu_ms, b.cpu_ms);
  EXPECT_EQ(a.fuel, b.fuel);
  EXPECT_EQ(a.output_limit_bytes, b.output_limit_bytes);
  EXPECT_EQ(a.storage_limit_bytes, b.storage_limit_bytes);
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.args, b.args);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.carrier_in_fd, b.carrier_in_fd);
  EXPECT_EQ(a.carrier_out_fd, b.carrier_out_fd);
  EXPECT_EQ(a.report_fd, b.report_fd);
  EXPECT_EQ(a.sandbox, b.sandbox);
}

TEST(WorkerArgvTest, FullSpecRoundTrips) {
  const WorkerSpec spec = FullSpec();
  std::vector<std::string> argv = ToArgv("/usr/lib/elastos/elastos-worker", spec);
  EXPECT_EQ(argv.front(), "/usr/lib/elastos/elastos-worker");
  auto parsed = Parse(argv);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectSameSpec(*parsed, spec);
}

TEST(WorkerArgvTest, MinimalSpecRoundTripsWithDefaults) {
  WorkerSpec spec;
  spec.module_path = "m.wasm";
  std::vector<std::string> argv = ToArgv("w", spec);
  EXPECT_EQ(argv, (std::vector<std::string>{"w", "--module", "m.wasm", "--"}));
  auto parsed = Parse(argv);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectSameSpec(*parsed, spec);
  EXPECT_TRUE(parsed->sandbox);
  EXPECT_FALSE(parsed->wall_ms.has_value());
}

TEST(WorkerArgvTest, GuestArgsMayLookLikeOptions) {
  auto parsed = ParseTail({"--", "prog", "--module", "--no-sandbox", "--"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->args, (std::vector<std::string>{"prog", "--module", "--no-sandbox", "--"}));
  EXPECT_TRUE(parsed->sandbox);
}

TEST(WorkerArgvTest, MaximumValuesParse) {
  auto parsed = ParseTail({"--max-memory-pages", "65536", "--fuel", "18446744073709551615",
                           "--report-fd", "2147483647"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->max_memory_pages, 65536u);
  EXPECT_EQ(parsed->fuel, UINT64_MAX);
  EXPECT_EQ(parsed->report_fd, 2147483647);
}

struct BadArgv {
  std::vector<std::string> tail;
  const char* names;  // the message must name this
};

class WorkerArgvRefusalTest : public ::testing::TestWithParam<BadArgv> {};

TEST_P(WorkerArgvRefusalTest, IsRefusedNamingTheProblem) {
  auto parsed = ParseTail(GetParam().tail);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().reason(), "worker_usage");
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find(GetParam().names), std::string::npos)
      << parsed.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Argv, WorkerArgvRefusalTest,
    ::testing::Values(BadArgv{{"--bogus"}, "'--bogus'"}, BadArgv{{"positional"}, "'positional'"},
                      BadArgv{{"--wall-ms"}, "--wall-ms needs a value"},
                      BadArgv{{"--wall-ms", "12x"}, "--wall-ms: '12x'"},
                      BadArgv{{"--wall-ms", "-5"}, "--wall-ms: '-5'"},
                      BadArgv{{"--wall-ms", "+5"}, "--wall-ms: '+5'"},
                      BadArgv{{"--wall-ms", " 5"}, "--wall-ms: ' 5'"},
                      BadArgv{{"--wall-ms", ""}, "--wall-ms: ''"},
                      BadArgv{{"--wall-ms", "0x10"}, "--wall-ms: '0x10'"},
                      BadArgv{{"--wall-ms", "0"}, "--wall-ms must be at least 1"},
                      BadArgv{{"--cpu-ms", "0"}, "--cpu-ms must be at least 1"},
                      BadArgv{{"--fuel", "18446744073709551616"}, "--fuel"},
                      BadArgv{{"--max-memory-pages", "65537"}, "--max-memory-pages"},
                      BadArgv{{"--report-fd", "2"}, "--report-fd must be 3 or above"},
                      BadArgv{{"--report-fd", "2147483648"}, "--report-fd"},
                      BadArgv{{"--carrier-in-fd", "5", "--report-fd", "5"},
                              "fd 5 is named for two purposes"},
                      BadArgv{{"--wall-ms", "5", "--wall-ms", "6"}, "--wall-ms is given twice"},
                      BadArgv{{"--no-sandbox", "--no-sandbox"}, "--no-sandbox is given twice"},
                      BadArgv{{"--module", "other.wasm"}, "--module is given twice"},
                      BadArgv{{"--env", "NOEQUALS"}, "--env: 'NOEQUALS'"},
                      BadArgv{{"--env", "=value"}, "--env: '=value'"},
                      BadArgv{{"--data-dir", ""}, "--data-dir needs a path"}));

TEST(WorkerArgvTest, ModuleIsRequired) {
  auto parsed = Parse({"elastos-worker", "--wall-ms", "5"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("--module is required"), std::string::npos);
  EXPECT_FALSE(Parse({"elastos-worker"}).ok());
}

WorkerReport SampleReport() {
  WorkerReport report;
  report.outcome.kind = OutcomeKind::kLimit;
  report.outcome.exit_code = 0;
  report.outcome.reason = "memory_limit";
  report.outcome.message = "line one\nline \"two\"\t\x01 — ünïcode";
  report.tier = "interp";
  report.memory_pages = 49;
  report.output_bytes = 1ull << 40;
  report.fuel_used = UINT64_MAX;
  report.memory_enforcement = "cgroup";
  report.cgroup_path = "/sys/fs/cgroup/x/elastos-worker-42";
  report.filesystem_enforcement = "landlock";
  report.wall_us = 1234;
  return report;
}

TEST(WorkerReportTest, RoundTripsAsOneLine) {
  const WorkerReport report = SampleReport();
  const std::string line = FormatReport(report);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // exactly one newline, the last byte
  auto parsed = ParseReport(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->outcome.kind, report.outcome.kind);
  EXPECT_EQ(parsed->outcome.exit_code, report.outcome.exit_code);
  EXPECT_EQ(parsed->outcome.reason, report.outcome.reason);
  EXPECT_EQ(parsed->outcome.message, report.outcome.message);
  EXPECT_EQ(parsed->tier, report.tier);
  EXPECT_EQ(parsed->memory_pages, report.memory_pages);
  EXPECT_EQ(parsed->output_bytes, report.output_bytes);
  EXPECT_EQ(parsed->fuel_used, report.fuel_used);
  EXPECT_EQ(parsed->memory_enforcement, report.memory_enforcement);
  EXPECT_EQ(parsed->cgroup_path, report.cgroup_path);
  EXPECT_EQ(parsed->filesystem_enforcement, report.filesystem_enforcement);
  EXPECT_EQ(parsed->wall_us, report.wall_us);
}

TEST(WorkerReportTest, EveryOutcomeKindAndNegativeCodesRoundTrip) {
  for (OutcomeKind kind :
       {OutcomeKind::kExited, OutcomeKind::kLimit, OutcomeKind::kRefused, OutcomeKind::kTrap}) {
    WorkerReport report = SampleReport();
    report.outcome.kind = kind;
    report.outcome.exit_code = -1;  // proc_exit(0xffffffff)
    report.fuel_used.reset();
    report.cgroup_path.clear();
    std::string line = FormatReport(report);
    EXPECT_EQ(line.find("fuel_used"), std::string::npos);
    EXPECT_EQ(line.find("cgroup_path"), std::string::npos);
    auto parsed = ParseReport(line);
    ASSERT_TRUE(parsed.ok()) << line;
    EXPECT_EQ(parsed->outcome.kind, kind);
    EXPECT_EQ(parsed->outcome.exit_code, -1);
    EXPECT_FALSE(parsed->fuel_used.has_value());
  }
}

TEST(WorkerReportTest, InvalidUtf8IsReplacedNotFatal) {
  WorkerReport report = SampleReport();
  report.outcome.message = std::string("bad \xff\xfe bytes \xc0\x80 and \xed\xa0\x80 end");
  auto parsed = ParseReport(FormatReport(report));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->outcome.message,
            "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD\xEF\xBF\xBD and "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(WorkerReportTest, MalformedReportsAreRefused) {
  const char* bad[] = {
      "",
      "not json",
      "[1,2]",
      R"({"outcome":"exited"})",
      R"({"outcome":"exploded","exit_code":0,"reason":"","message":"","tier":"interp","memory_pages":0,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0})",
      R"({"outcome":"exited","exit_code":"0","reason":"","message":"","tier":"interp","memory_pages":0,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0})",
      R"({"outcome":"exited","exit_code":0,"reason":"","message":"","tier":"interp","memory_pages":-1,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0})",
      R"({"outcome":"exited","exit_code":4294967296,"reason":"","message":"","tier":"interp","memory_pages":0,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0})",
      R"({"outcome":"exited","exit_code":0,"reason":"","message":"","tier":"interp","memory_pages":0,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0,"fuel_used":1.5})",
  };
  for (const char* line : bad) {
    auto parsed = ParseReport(line);
    EXPECT_FALSE(parsed.ok()) << line;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().reason(), "worker_report_invalid");
    }
  }
  // Unknown keys are tolerated (a newer worker).
  EXPECT_TRUE(
      ParseReport(
          R"({"outcome":"exited","exit_code":0,"reason":"","message":"","tier":"interp","memory_pages":0,"output_bytes":0,"memory_enforcement":"","filesystem_enforcement":"","wall_us":0,"new":true})")
          .ok());
}

TEST(ExitCodeTest, OutcomesMapToTheDocumentedCodes) {
  Outcome outcome;
  outcome.kind = OutcomeKind::kExited;
  for (int code : {0, 1, 42, 123}) {
    outcome.exit_code = code;
    EXPECT_EQ(ExitCodeFor(outcome), code);
  }
  for (int code : {124, 125, 126, 200, 255, 256, -1}) {
    outcome.exit_code = code;
    EXPECT_EQ(ExitCodeFor(outcome), 125) << code;
  }
  outcome.exit_code = 0;
  outcome.kind = OutcomeKind::kLimit;
  EXPECT_EQ(ExitCodeFor(outcome), 124);
  outcome.kind = OutcomeKind::kRefused;
  EXPECT_EQ(ExitCodeFor(outcome), 125);
  outcome.kind = OutcomeKind::kTrap;
  EXPECT_EQ(ExitCodeFor(outcome), 126);
}

}  // namespace
}  // namespace elastos::compute
