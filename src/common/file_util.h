// Small, careful file operations shared by the CLI and the durable stores.
//
// Durability contract of WriteFileAtomic: after it returns OK the file has either its old
// content or the complete new content, across a crash or power loss (temp file in the same
// directory, fsync, rename, fsync of the directory).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos {

enum class Overwrite { kAllow, kRefuse };

[[nodiscard]] Status WriteFileAtomic(const std::filesystem::path& path, ByteView data,
                                     mode_t mode = 0644, Overwrite overwrite = Overwrite::kAllow);

// Reads a whole regular file of at most `max_size` bytes (resource_exhausted beyond, so a
// hostile or mistaken path cannot make us allocate without bound).
Result<Bytes> ReadFileLimited(const std::filesystem::path& path, std::uint64_t max_size);

// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the target in
// the error ("write <what>: <strerror>").
[[nodiscard]] Status WriteAll(int fd, ByteView data, std::string_view what);

// The bytes of a regular file, or of all regular files below a directory; for progress
// reporting only (best effort: unreadable entries count as 0).
std::uint64_t FileBytesUnder(const std::filesystem::path& path);

// fsyncs a directory so a rename or create inside it is durable.
[[nodiscard]] Status SyncDirectory(const std::filesystem::path& dir);

}  // namespace elastos
