#include "storage/blockstore.h"

#include <sys/stat.h>

#include <cerrno>

#include "common/file_util.h"

namespace elastos::storage {
namespace {

namespace fs = std::filesystem;

// mkdir that treats "already exists" as success and makes a new directory durable in its parent.
Status EnsureDirectory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    return SyncDirectory(dir.has_parent_path() ? dir.parent_path() : fs::path("."));
  }
  if (errno != EEXIST) return IoError("create directory " + dir.string(), errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPrecondition("not_a_directory", dir.string() + " exists and is not a directory");
  }
  return OkStatus();
}

}  // namespace

Blockstore::Blockstore(fs::path dir) : dir_(std::move(dir)) {}

fs::path Blockstore::PathOf(const ipld::Cid& cid) const {
  const std::string name = cid.ToString();
  // The leading characters are a constant prefix ("Qm", "bafk…"); the last one of a base32 CID
  // carries only 3 bits. The two before it are uniformly distributed.
  return dir_ / name.substr(name.size() - 3, 2) / name;
}

bool Blockstore::Has(const ipld::Cid& cid) const {
  struct stat st;
  return ::stat(PathOf(cid).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status Blockstore::Put(const ipld::Cid& cid, ByteView block) {
  if (block.size() > ipld::kMaxBlockSize) {
    return ResourceExhausted("block_too_large",
                             "block " + cid.ToString() + " has " + std::to_string(block.size()) +
                                 " bytes; the limit is " + std::to_string(ipld::kMaxBlockSize));
  }
  ELASTOS_RETURN_IF_ERROR(cid.VerifyBlock(block));
  if (Has(cid) && Get(cid).ok()) return OkStatus();  // present and intact: nothing to do
  const fs::path path = PathOf(cid);
  ELASTOS_RETURN_IF_ERROR(EnsureDirectory(dir_));
  ELASTOS_RETURN_IF_ERROR(EnsureDirectory(path.parent_path()));
  // A concurrent writer of the same block renames identical bytes over ours: harmless.
  return WriteFileAtomic(path, block, 0444, Overwrite::kAllow);
}

Result<Bytes> Blockstore::Get(const ipld::Cid& cid) {
  const fs::path path = PathOf(cid);
  auto bytes = ReadFileLimited(path, ipld::kMaxBlockSize);
  if (!bytes.ok()) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return ipld::BlockNotFound(cid);
    if (bytes.status().code() == Code::kResourceExhausted) {
      return Internal("block_hash_mismatch",
                      "block file " + path.string() + " is larger than any block; it is damaged");
    }
    return bytes.status();
  }
  if (!cid.VerifyBlock(*bytes).ok()) {
    return Internal("block_hash_mismatch",
                    "block file " + path.string() +
                        " no longer matches its CID (damaged on disk); it was not served");
  }
  return bytes;
}

}  // namespace elastos::storage
