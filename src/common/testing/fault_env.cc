#include "common/testing/fault_env.h"

#include <algorithm>
#include <cerrno>

namespace elastos::testing {
namespace {
namespace fs = std::filesystem;

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::unique_ptr<WritableFile> base, fs::path path)
      : env_(env), base_(std::move(base)), path_(std::move(path)) {}
  Status Append(ByteView data) override {
    ELASTOS_ASSIGN_OR_RETURN(std::size_t allowed, env_->AppendAllowance(path_, data.size()));
    ELASTOS_RETURN_IF_ERROR(base_->Append(data.first(allowed)));
    if (allowed < data.size()) return IoError("append " + path_.string() + " (injected)", ENOSPC);
    return OkStatus();
  }
  Status Sync() override {
    ELASTOS_RETURN_IF_ERROR(env_->CheckSync(path_));
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }

 private:
  FaultInjectionEnv* env_;
  std::unique_ptr<WritableFile> base_;
  fs::path path_;
};

class FaultReadableFile final : public ReadableFile {
 public:
  FaultReadableFile(FaultInjectionEnv* env, std::unique_ptr<ReadableFile> base) : env_(env), base_(std::move(base)) {}
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (env_->short_reads() && out.size() > 1) out = out.first(out.size() / 2);
    return base_->ReadAt(offset, out);
  }
  Result<std::uint64_t> Size() override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::unique_ptr<ReadableFile> base_;
};

}  // namespace

Status FaultInjectionEnv::CheckSync(const fs::path& path) {
  ++syncs_;
  if (fail_syncs_) return IoError("sync " + path.string() + " (injected)", EIO);
  return OkStatus();
}

Result<std::size_t> FaultInjectionEnv::AppendAllowance(const fs::path& path, std::size_t wanted) {
  if (fail_writes_) return IoError("write " + path.string() + " (injected)", ENOSPC);
  std::int64_t budget = append_budget_.load();
  for (;;) {
    if (budget < 0) return wanted;
    const auto allowed = static_cast<std::size_t>(std::min<std::int64_t>(budget, static_cast<std::int64_t>(wanted)));
    if (append_budget_.compare_exchange_weak(budget, budget - static_cast<std::int64_t>(allowed))) return allowed;
  }
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::OpenAppendable(const fs::path& path, mode_t mode) {
  ELASTOS_ASSIGN_OR_RETURN(auto base, base_->OpenAppendable(path, mode));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, std::move(base), path));
}

Result<std::unique_ptr<ReadableFile>> FaultInjectionEnv::OpenReadable(const fs::path& path) {
  ELASTOS_ASSIGN_OR_RETURN(auto base, base_->OpenReadable(path));
  return std::unique_ptr<ReadableFile>(new FaultReadableFile(this, std::move(base)));
}

Status FaultInjectionEnv::WriteFileAtomic(const fs::path& path, ByteView data, mode_t mode) {
  // An atomic replace that cannot sync must leave the old content: fail before touching it.
  if (fail_writes_) return IoError("write " + path.string() + " (injected)", ENOSPC);
  ELASTOS_RETURN_IF_ERROR(CheckSync(path));
  return base_->WriteFileAtomic(path, data, mode);
}

Result<Bytes> FaultInjectionEnv::ReadFile(const fs::path& path, std::uint64_t max_size) {
  return base_->ReadFile(path, max_size);
}

Status FaultInjectionEnv::Truncate(const fs::path& path, std::uint64_t size) {
  ELASTOS_RETURN_IF_ERROR(CheckSync(path));
  return base_->Truncate(path, size);
}

Status FaultInjectionEnv::CreateDirectories(const fs::path& path, mode_t mode) {
  return base_->CreateDirectories(path, mode);
}

Status FaultInjectionEnv::SyncDirectory(const fs::path& path) {
  ELASTOS_RETURN_IF_ERROR(CheckSync(path));
  return base_->SyncDirectory(path);
}

Status FaultInjectionEnv::InterceptWrite(const fs::path& path) {
  if (fail_writes_) return IoError("write " + path.string() + " (injected)", ENOSPC);
  return OkStatus();
}

Status FaultInjectionEnv::InterceptSync(const fs::path& path) { return CheckSync(path); }

}  // namespace elastos::testing
