#include "compute/worker/worker_protocol.h"

#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <set>
#include <string_view>
#include <system_error>

namespace elastos::compute {
namespace {

// Options, in the order ToArgv writes them.
constexpr std::string_view kModule = "--module";
constexpr std::string_view kAot = "--aot";
constexpr std::string_view kMaxMemoryPages = "--max-memory-pages";
constexpr std::string_view kMemoryLimitBytes = "--memory-limit-bytes";
constexpr std::string_view kWallMs = "--wall-ms";
constexpr std::string_view kCpuMs = "--cpu-ms";
constexpr std::string_view kFuel = "--fuel";
constexpr std::string_view kOutputLimitBytes = "--output-limit-bytes";
constexpr std::string_view kStorageLimitBytes = "--storage-limit-bytes";
constexpr std::string_view kDataDir = "--data-dir";
constexpr std::string_view kEnv = "--env";
constexpr std::string_view kCarrierInFd = "--carrier-in-fd";
constexpr std::string_view kCarrierOutFd = "--carrier-out-fd";
constexpr std::string_view kReportFd = "--report-fd";
constexpr std::string_view kNoSandbox = "--no-sandbox";
constexpr std::string_view kGuestArgs = "--";

constexpr std::uint32_t kMaxPages32 = 65536;

Status Usage(std::string message) { return InvalidArgument("worker_usage", std::move(message)); }

// Strict decimal: digits only (no sign, space or base prefix), no overflow.
Result<std::uint64_t> ParseNumber(std::string_view option, std::string_view text,
                                  std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const bool digits_only = !text.empty() && text.front() >= '0' && text.front() <= '9';
  if (!digits_only || ec != std::errc() || ptr != end || value > max) {
    return Usage(std::string(option) + ": '" + std::string(text) +
                 "' is not a decimal number from 0 to " + std::to_string(max));
  }
  return value;
}

std::string_view KindName(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kExited:
      return "exited";
    case OutcomeKind::kLimit:
      return "limit";
    case OutcomeKind::kRefused:
      return "refused";
    case OutcomeKind::kTrap:
      return "trap";
  }
  return "refused";
}

// The report is read back with a validating JSON parser, and WABT messages, file names and host
// errors can carry arbitrary bytes: replace every byte that is not part of valid UTF-8 by U+FFFD
// so one odd byte cannot make the whole report unreadable.
std::string ValidUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len > 1) {
      // Reject overlong forms, surrogates and code points past U+10FFFF.
      std::uint32_t cp = c & (0x7F >> len);
      for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (in[i + k] & 0x3F);
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Result<std::uint64_t> GetUint(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (v != nullptr) {
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  }
  return InvalidArgument("worker_report_invalid",
                         "worker report: \"" + std::string(key) + "\" is missing or not a count");
}

Result<std::string> GetString(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return InvalidArgument("worker_report_invalid", "worker report: \"" + std::string(key) +
                                                        "\" is missing or not a string");
  }
  return std::string(v->get_string());
}

}  // namespace

std::vector<std::string> ToArgv(const std::string& worker_path, const WorkerSpec& spec) {
  std::vector<std::string> argv = {worker_path, std::string(kModule), spec.module_path};
  auto add = [&argv](std::string_view option, std::string value) {
    argv.emplace_back(option);
    argv.push_back(std::move(value));
  };
  if (spec.aot_path) add(kAot, *spec.aot_path);
  if (spec.max_memory_pages != WorkerSpec{}.max_memory_pages) {
    add(kMaxMemoryPages, std::to_string(spec.max_memory_pages));
  }
  if (spec.memory_limit_bytes != 0) add(kMemoryLimitBytes, std::to_string(spec.memory_limit_bytes));
  if (spec.wall_ms) add(kWallMs, std::to_string(*spec.wall_ms));
  if (spec.cpu_ms) add(kCpuMs, std::to_string(*spec.cpu_ms));
  if (spec.fuel) add(kFuel, std::to_string(*spec.fuel));
  if (spec.output_limit_bytes != UINT64_MAX) {
    add(kOutputLimitBytes, std::to_string(spec.output_limit_bytes));
  }
  if (spec.storage_limit_bytes != UINT64_MAX) {
    add(kStorageLimitBytes, std::to_string(spec.storage_limit_bytes));
  }
  if (spec.data_dir) add(kDataDir, *spec.data_dir);
  for (const std::string& kv : spec.env) add(kEnv, kv);
  if (spec.carrier_in_fd >= 0) add(kCarrierInFd, std::to_string(spec.carrier_in_fd));
  if (spec.carrier_out_fd >= 0) add(kCarrierOutFd, std::to_string(spec.carrier_out_fd));
  if (spec.report_fd >= 0) add(kReportFd, std::to_string(spec.report_fd));
  if (!spec.sandbox) argv.emplace_back(kNoSandbox);
  argv.emplace_back(kGuestArgs);
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  return argv;
}

Result<WorkerSpec> ParseWorkerArgv(int argc, const char* const* argv) {
  WorkerSpec spec;
  std::set<std::string_view> seen;
  bool have_module = false;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view option = argv[i];
    if (option == kGuestArgs) {
      ++i;
      break;
    }
    if (option == kNoSandbox) {
      if (!seen.insert(option).second) return Usage(std::string(option) + " is given twice");
      spec.sandbox = false;
      continue;
    }
    static constexpr std::string_view kWithValue[] = {
        kModule, kAot,         kMaxMemoryPages,   kMemoryLimitBytes,  kWallMs,
        kCpuMs,  kFuel,        kOutputLimitBytes, kStorageLimitBytes, kDataDir,
        kEnv,    kCarrierInFd, kCarrierOutFd,     kReportFd};
    bool known = false;
    for (std::string_view candidate : kWithValue) known = known || candidate == option;
    if (!known) {
      return Usage("unknown option '" + std::string(option) + "'");
    }
    if (i + 1 >= argc) return Usage(std::string(option) + " needs a value");
    const std::string_view value = argv[++i];
    // Every option but --env is a single setting: a second one is a launcher bug, not an override.
    if (option != kEnv && !seen.insert(option).second) {
      return Usage(std::string(option) + " is given twice");
    }

    if (option == kModule) {
      if (value.empty()) return Usage("--module needs a path");
      spec.module_path = value;
      have_module = true;
    } else if (option == kAot) {
      if (value.empty()) return Usage("--aot needs a path");
      spec.aot_path = std::string(value);
    } else if (option == kDataDir) {
      if (value.empty()) return Usage("--data-dir needs a path");
      spec.data_dir = std::string(value);
    } else if (option == kEnv) {
      const std::size_t eq = value.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return Usage("--env: '" + std::string(value) + "' is not KEY=VALUE");
      }
      spec.env.emplace_back(value);
    } else if (option == kMaxMemoryPages) {
      ELASTOS_ASSIGN_OR_RETURN(std::uint64_t pages, ParseNumber(option, value, kMaxPages32));
      spec.max_memory_pages = static_cast<std::uint32_t>(pages);
    } else if (option == kMemoryLimitBytes) {
      ELASTOS_ASSIGN_OR_RETURN(spec.memory_limit_bytes, ParseNumber(option, value));
    } else if (option == kWallMs || option == kCpuMs) {
      ELASTOS_ASSIGN_OR_RETURN(std::uint64_t ms, ParseNumber(option, value));
      if (ms == 0) return Usage(std::string(option) + " must be at least 1");
      (option == kWallMs ? spec.wall_ms : spec.cpu_ms) = ms;
    } else if (option == kFuel) {
      ELASTOS_ASSIGN_OR_RETURN(std::uint64_t fuel, ParseNumber(option, value));
      spec.fuel = fuel;
    } else if (option == kOutputLimitBytes) {
      ELASTOS_ASSIGN_OR_RETURN(spec.output_limit_bytes, ParseNumber(option, value));
    } else if (option == kStorageLimitBytes) {
      ELASTOS_ASSIGN_OR_RETURN(spec.storage_limit_bytes, ParseNumber(option, value));
    } else {  // the fd options
      // 0-2 are the guest's stdio; a report or carrier there would mix with the guest's own bytes.
      ELASTOS_ASSIGN_OR_RETURN(std::uint64_t fd,
                               ParseNumber(option, value, std::numeric_limits<int>::max()));
      if (fd < 3)
        return Usage(std::string(option) + " must be 3 or above (0-2 are the guest's stdio)");
      (option == kCarrierInFd    ? spec.carrier_in_fd
       : option == kCarrierOutFd ? spec.carrier_out_fd
                                 : spec.report_fd) = static_cast<int>(fd);
    }
  }
  for (; i < argc; ++i) spec.args.emplace_back(argv[i]);

  if (!have_module) return Usage("--module is required");
  const int fds[] = {spec.carrier_in_fd, spec.carrier_out_fd, spec.report_fd};
  for (int a = 0; a < 3; ++a) {
    for (int b = a + 1; b < 3; ++b) {
      if (fds[a] >= 0 && fds[a] == fds[b]) {
        return Usage("fd " + std::to_string(fds[a]) + " is named for two purposes");
      }
    }
  }
  return spec;
}

std::string FormatReport(const WorkerReport& report) {
  boost::json::object obj;
  obj["outcome"] = KindName(report.outcome.kind);
  obj["exit_code"] = report.outcome.exit_code;
  obj["reason"] = ValidUtf8(report.outcome.reason);
  obj["message"] = ValidUtf8(report.outcome.message);
  obj["tier"] = ValidUtf8(report.tier);
  obj["memory_pages"] = report.memory_pages;
  obj["output_bytes"] = report.output_bytes;
  if (report.fuel_used) obj["fuel_used"] = *report.fuel_used;
  obj["memory_enforcement"] = ValidUtf8(report.memory_enforcement);
  if (!report.cgroup_path.empty()) obj["cgroup_path"] = ValidUtf8(report.cgroup_path);
  obj["filesystem_enforcement"] = ValidUtf8(report.filesystem_enforcement);
  obj["wall_us"] = report.wall_us;
  // serialize() escapes control characters, so the line has exactly one newline: the last byte.
  return boost::json::serialize(obj) + "\n";
}

Result<WorkerReport> ParseReport(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(line, ec);
  if (ec || !value.is_object()) {
    return InvalidArgument("worker_report_invalid", "worker report is not a JSON object" +
                                                        (ec ? ": " + ec.message() : std::string()));
  }
  const boost::json::object& obj = value.get_object();
  WorkerReport report;

  ELASTOS_ASSIGN_OR_RETURN(std::string kind, GetString(obj, "outcome"));
  bool kind_known = false;
  for (OutcomeKind k :
       {OutcomeKind::kExited, OutcomeKind::kLimit, OutcomeKind::kRefused, OutcomeKind::kTrap}) {
    if (KindName(k) == kind) {
      report.outcome.kind = k;
      kind_known = true;
    }
  }
  if (!kind_known) {
    return InvalidArgument("worker_report_invalid",
                           "worker report: unknown outcome '" + kind + "'");
  }
  const boost::json::value* code = obj.if_contains("exit_code");
  if (code == nullptr || !code->is_int64() || code->get_int64() < std::numeric_limits<int>::min() ||
      code->get_int64() > std::numeric_limits<int>::max()) {
    return InvalidArgument("worker_report_invalid",
                           "worker report: \"exit_code\" is missing or not an int");
  }
  report.outcome.exit_code = static_cast<int>(code->get_int64());
  ELASTOS_ASSIGN_OR_RETURN(report.outcome.reason, GetString(obj, "reason"));
  ELASTOS_ASSIGN_OR_RETURN(report.outcome.message, GetString(obj, "message"));
  ELASTOS_ASSIGN_OR_RETURN(report.tier, GetString(obj, "tier"));
  ELASTOS_ASSIGN_OR_RETURN(report.memory_pages, GetUint(obj, "memory_pages"));
  ELASTOS_ASSIGN_OR_RETURN(report.output_bytes, GetUint(obj, "output_bytes"));
  if (obj.contains("fuel_used")) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t fuel, GetUint(obj, "fuel_used"));
    report.fuel_used = fuel;
  }
  ELASTOS_ASSIGN_OR_RETURN(report.memory_enforcement, GetString(obj, "memory_enforcement"));
  if (obj.contains("cgroup_path")) {
    ELASTOS_ASSIGN_OR_RETURN(report.cgroup_path, GetString(obj, "cgroup_path"));
  }
  ELASTOS_ASSIGN_OR_RETURN(report.filesystem_enforcement, GetString(obj, "filesystem_enforcement"));
  ELASTOS_ASSIGN_OR_RETURN(report.wall_us, GetUint(obj, "wall_us"));
  // Unknown keys are ignored: a newer worker may add fields an older runtime does not read.
  return report;
}

int ExitCodeFor(const Outcome& outcome) {
  switch (outcome.kind) {
    case OutcomeKind::kExited:
      // 124-126 mean limit/refused/trap, and only 0-255 survive a process exit: a guest code
      // outside 0-123 cannot pass through unambiguously, so it becomes 125 (the report keeps the
      // real value and the worker's message explains).
      return outcome.exit_code >= 0 && outcome.exit_code <= 123 ? outcome.exit_code : 125;
    case OutcomeKind::kLimit:
      return 124;
    case OutcomeKind::kRefused:
      return 125;
    case OutcomeKind::kTrap:
      return 126;
  }
  return 125;
}

}  // namespace elastos::compute
