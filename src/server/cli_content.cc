// `elastos cid` and `elastos car export|import`.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/file_util.h"
#include "namespace/car.h"
#include "namespace/unixfs.h"
#include "server/cli.h"
#include "server/progress.h"

namespace elastos::cli {
namespace fs = std::filesystem;
namespace {

const char* kProfileHelp =
    "UnixFS profile: unixfs-v1-2025 (CIDv1, raw leaves, 1 MiB chunks; default) or "
    "unixfs-v0-2015 (CIDv0 Qm…, as 'ipfs add' by default)";

struct ImportArgs {
  std::string path;
  std::string profile = "unixfs-v1-2025";
};

Result<ipld::ImportOptions> MakeImportOptions(const ImportArgs& args, Progress& progress) {
  ELASTOS_ASSIGN_OR_RETURN(ipld::UnixFsProfile profile, ipld::UnixFsProfile::ByName(args.profile));
  ipld::ImportOptions options;
  options.profile = profile;
  const std::uint64_t total = FileBytesUnder(args.path);
  options.progress = [&progress, total](std::uint64_t done) { progress.Update(done, total); };
  return options;
}

int Cid(const ImportArgs& args) {
  Progress progress("hashing " + args.path);
  auto options = MakeImportOptions(args, progress);
  if (!options.ok()) return Fail(options.status());
  auto result = ipld::ImportPath(args.path, *options);
  if (!result.ok()) return Fail(result.status());
  std::printf("%s\n", result->cid.ToString().c_str());
  return kExitOk;
}

int CarExport(const ImportArgs& args, const std::string& out) {
  Progress progress("exporting " + args.path);
  auto options = MakeImportOptions(args, progress);
  if (!options.ok()) return Fail(options.status());
  // The root goes in the header, so hash once to learn it, then stream the blocks out.
  auto progress_fn = options->progress;
  options->progress = nullptr;
  auto root = ipld::ImportPath(args.path, *options);
  if (!root.ok()) return Fail(root.status());
  auto writer = ipld::CarWriter::Create(out, {root->cid});
  if (!writer.ok()) return Fail(writer.status());
  options->sink = writer->get();
  options->progress = progress_fn;
  auto again = ipld::ImportPath(args.path, *options);
  if (!again.ok()) return Fail(again.status());
  if (again->cid != root->cid) {
    return Fail(FailedPrecondition("input_changed", args.path + " changed during export; export it again"));
  }
  if (Status s = (*writer)->Finish(); !s.ok()) return Fail(s);
  std::printf("%s\n", root->cid.ToString().c_str());
  return kExitOk;
}

// What `car import` may write: the DAG's declared size, if it fits on the disk and under the
// user's cap. Checked before writing so a DAG bomb (small CAR, huge expansion) is refused with a
// clear message instead of filling the disk.
Result<std::uint64_t> ImportBudget(const ipld::Cid& root, ipld::BlockSource& source, const fs::path& out,
                                   std::uint64_t max_size) {
  ELASTOS_ASSIGN_OR_RETURN(auto entries, ipld::ListDag(root, source));
  std::uint64_t declared = 0;
  for (const auto& e : entries) declared += e.size;
  if (declared > max_size) {
    return ResourceExhausted("export_too_large", "the content expands to " + std::to_string(declared) +
                                                     " bytes, more than --max-size " + std::to_string(max_size));
  }
  std::error_code ec;
  const fs::space_info space = fs::space(out.has_parent_path() ? out.parent_path() : fs::path("."), ec);
  if (!ec && declared > space.available) {
    return ResourceExhausted("export_too_large", "the content expands to " + std::to_string(declared) +
                                                     " bytes but only " + std::to_string(space.available) +
                                                     " are free at " + out.string());
  }
  return declared;
}

int CarImport(const std::string& car, const std::string& out, std::uint64_t max_size) {
  auto source = ipld::CarBlockSource::Open(car);  // verifies every block
  if (!source.ok()) return Fail(source.status().WithContext(car));
  const auto& roots = (*source)->roots();
  if (roots.size() != 1) {
    return Fail(InvalidArgument("car_bad_roots", car + " has " + std::to_string(roots.size()) +
                                                     " roots; 'car import' writes a CAR with exactly one root"));
  }
  auto budget = ImportBudget(roots[0], **source, out, max_size);
  if (!budget.ok()) return Fail(budget.status());
  if (Status s = ipld::ExportDag(roots[0], **source, out, *budget); !s.ok()) return Fail(s);
  std::printf("%s\n", roots[0].ToString().c_str());
  return kExitOk;
}

}  // namespace

void AddContentCommands(CLI::App& app, const GlobalOptions& /*global*/, int& exit_code) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cid = app.add_subcommand("cid", "Print the IPFS CID of a file or directory (and nothing else)");
  cid->add_option("path", args->path, "File or directory")->required();
  cid->add_option("--profile", args->profile, kProfileHelp)
      ->check(CLI::IsMember({"unixfs-v1-2025", "unixfs-v0-2015"}));
  cid->callback([args, &exit_code] { exit_code = Cid(*args); });

  CLI::App* car = app.add_subcommand("car", "Export or import CAR v1 files (content-addressed archives)");
  car->require_subcommand(1);
  auto export_args = std::make_shared<ImportArgs>();
  auto export_out = std::make_shared<std::string>();
  CLI::App* exp = car->add_subcommand("export", "Write a file or directory as a CAR v1 with its CID as the root");
  exp->add_option("path", export_args->path, "File or directory")->required();
  exp->add_option("--out", *export_out, "CAR file to write")->required();
  exp->add_option("--profile", export_args->profile, kProfileHelp)
      ->check(CLI::IsMember({"unixfs-v1-2025", "unixfs-v0-2015"}));
  exp->callback([export_args, export_out, &exit_code] { exit_code = CarExport(*export_args, *export_out); });

  auto import_car = std::make_shared<std::string>();
  auto import_out = std::make_shared<std::string>();
  CLI::App* imp = car->add_subcommand("import", "Verify every block of a CAR file and write its content to a directory");
  imp->add_option("car", *import_car, "CAR file")->required();
  imp->add_option("--out", *import_out, "Where to write the file or directory (must not exist)")->required();
  auto import_max = std::make_shared<std::uint64_t>(UINT64_MAX);
  imp->add_option("--max-size", *import_max, "Refuse content that expands to more than this many bytes");
  imp->callback([import_car, import_out, import_max, &exit_code] {
    exit_code = CarImport(*import_car, *import_out, *import_max);
  });
}

}  // namespace elastos::cli
