// The two seams every producer and consumer of blocks goes through, and an in-memory store.
//
// Producers (the UnixFS importer) write to a BlockSink; consumers (ListDag, ExportDag, the
// capsule verifier) read from a BlockSource. Implementations: MemoryBlockstore (here),
// CarWriter / CarBlockSource (car.h) and storage::Blockstore (storage/blockstore.h).
#pragma once

#include <cstddef>
#include <functional>
#include <map>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/cid.h"

namespace elastos::ipld {

// Largest block anything in ElastOS accepts (4 MiB less room for its CID, so every block fits a
// CAR section of at most 4 MiB). Bounds what a hostile length field can make us allocate; the
// IPFS network itself moves blocks of at most 2 MiB, and our importer's largest leaf is 1 MiB.
inline constexpr std::size_t kMaxBlockSize = (std::size_t{4} << 20) - 64;

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  // Stores `block` under `cid`. The caller vouches that `cid` names `block` (the importer has
  // just hashed it); sinks that keep blocks for later readers check it anyway (see each class).
  // Storing a block that is already present succeeds and changes nothing.
  [[nodiscard]] virtual Status Put(const Cid& cid, ByteView block) = 0;
};

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // The bytes of `cid`, verified to hash to it; not_found (reason "block_not_found", message
  // naming the CID) when absent; "block_hash_mismatch" when the stored bytes are corrupt.
  [[nodiscard]] virtual Result<Bytes> Get(const Cid& cid) = 0;
};

// Blocks in a std::map. Put verifies the hash (so Get can serve without re-hashing: nothing
// outside this object can change the bytes). For tests and small in-process DAGs.
//
// Thread-safety: not thread-safe; use from one thread or guard externally.
class MemoryBlockstore : public BlockSink, public BlockSource {
 public:
  [[nodiscard]] Status Put(const Cid& cid, ByteView block) override;
  [[nodiscard]] Result<Bytes> Get(const Cid& cid) override;

  bool Has(const Cid& cid) const { return blocks_.contains(cid); }
  std::size_t size() const { return blocks_.size(); }
  // Sum of the sizes of all blocks.
  std::size_t total_bytes() const { return total_bytes_; }
  // Calls `fn` for every block, in CID order.
  void ForEach(const std::function<void(const Cid&, ByteView)>& fn) const;
  // Removes a block (tests use it to simulate a missing block). Returns whether it was there.
  bool Erase(const Cid& cid);

 private:
  std::map<Cid, Bytes> blocks_;
  std::size_t total_bytes_ = 0;
};

// The not_found Status every BlockSource returns for an absent block.
Status BlockNotFound(const Cid& cid);

}  // namespace elastos::ipld
