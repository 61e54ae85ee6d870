// The local content blockstore (`<data dir>/blocks/`): one file per block.
//
// Layout (docs/formats/cid.md#blockstore):
//   <dir>/<shard>/<cid>     <cid> = the CID's string form (CIDv0 "Qm…", CIDv1 base32 "b…"),
//                           <shard> = its next-to-last two characters (≤ 1024 shards for base32)
// Writes are atomic and durable (temporary file in the shard directory, fsync, rename, fsync of
// the directory), so a crash leaves either no block or the whole block — at worst a stray
// "<cid>.tmp.*" file, which is never read. Reads re-verify the hash every time: a block file
// damaged on disk is reported ("block_hash_mismatch") and never served.
//
// Thread-safety: Put, Get and Has may be called concurrently, from several threads or processes
// sharing the directory; two writers of one block both succeed and leave one intact file.
#pragma once

#include <filesystem>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/block.h"
#include "namespace/cid.h"

namespace elastos::storage {

class Blockstore : public ipld::BlockSink, public ipld::BlockSource {
 public:
  // `dir` is created (with its shards) on the first Put.
  explicit Blockstore(std::filesystem::path dir);

  // Verifies that `block` hashes to `cid` (what lands on disk is served to other capsules
  // later, so a producer's bug must not be persisted), then stores it. A block already present
  // and intact is not rewritten; a present but damaged one is replaced.
  [[nodiscard]] Status Put(const ipld::Cid& cid, ByteView block) override;
  // The verified block; not_found if absent; internal with reason "block_hash_mismatch" if the
  // file no longer matches its CID.
  [[nodiscard]] Result<Bytes> Get(const ipld::Cid& cid) override;
  // Whether a file for `cid` exists (not verified: Get does that).
  bool Has(const ipld::Cid& cid) const;

  // Where the block `cid` lives (whether or not it exists).
  std::filesystem::path PathOf(const ipld::Cid& cid) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace elastos::storage
