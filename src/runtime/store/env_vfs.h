// EnvVfs: a SQLite VFS that routes SQLite's own file writes and syncs past the Env seam.
//
// SQLite does its own file I/O, so an Env cannot wrap it the way it wraps our files. Instead
// this VFS wraps SQLite's default ("unix") VFS and, before every xWrite / xTruncate of a file it
// opened, asks env.InterceptWrite(path), and before every xSync asks env.InterceptSync(path). A
// refusal becomes SQLITE_IOERR_WRITE / SQLITE_IOERR_TRUNCATE / SQLITE_IOERR_FSYNC without
// touching the file, which is how FaultInjectionEnv's FailWrites/FailSyncs reach SQLite. All
// other operations delegate unchanged. With the POSIX Env the intercepts are inline no-ops.
//
// Usage: auto vfs = EnvVfs::Register(env); sqlite3_open_v2(path, &db, flags, vfs->name());
//
// Ownership: `env` must outlive the EnvVfs; the EnvVfs must outlive every connection opened
// with it (destroy it after sqlite3_close). Each EnvVfs registers under its own unique name, so
// stores on different Envs never share a VFS and no global registry of ours exists.
//
// Thread-safety: registration is thread-safe; the VFS methods are as thread-safe as the base VFS.
#pragma once

#include <memory>
#include <string>

#include "common/env.h"
#include "common/status.h"

struct sqlite3_vfs;

namespace elastos::runtime {

struct EnvVfsContext;  // env_vfs.cc

class EnvVfs {
 public:
  // Registers a new VFS (never as SQLite's default).
  static Result<std::unique_ptr<EnvVfs>> Register(Env& env);
  ~EnvVfs();  // unregisters

  EnvVfs(const EnvVfs&) = delete;
  EnvVfs& operator=(const EnvVfs&) = delete;

  // The name to pass to sqlite3_open_v2.
  const char* name() const { return name_.c_str(); }

 private:
  EnvVfs() = default;

  std::string name_;
  std::unique_ptr<EnvVfsContext> context_;  // what the VFS methods see as pAppData
  std::unique_ptr<sqlite3_vfs> vfs_;
  bool registered_ = false;
};

}  // namespace elastos::runtime
