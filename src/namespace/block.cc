#include "namespace/block.h"

namespace elastos::ipld {

Status BlockNotFound(const Cid& cid) {
  return NotFound("block_not_found", "block " + cid.ToString() + " is not available");
}

Status MemoryBlockstore::Put(const Cid& cid, ByteView block) {
  if (block.size() > kMaxBlockSize) {
    return ResourceExhausted("block_too_large",
                             "block " + cid.ToString() + " has " + std::to_string(block.size()) +
                                 " bytes; the limit is " + std::to_string(kMaxBlockSize));
  }
  if (blocks_.contains(cid)) return OkStatus();
  ELASTOS_RETURN_IF_ERROR(cid.VerifyBlock(block));
  blocks_.emplace(cid, Bytes(block.begin(), block.end()));
  total_bytes_ += block.size();
  return OkStatus();
}

Result<Bytes> MemoryBlockstore::Get(const Cid& cid) {
  auto it = blocks_.find(cid);
  if (it == blocks_.end()) return BlockNotFound(cid);
  return it->second;
}

void MemoryBlockstore::ForEach(const std::function<void(const Cid&, ByteView)>& fn) const {
  for (const auto& [cid, block] : blocks_) fn(cid, block);
}

bool MemoryBlockstore::Erase(const Cid& cid) {
  auto it = blocks_.find(cid);
  if (it == blocks_.end()) return false;
  total_bytes_ -= it->second.size();
  blocks_.erase(it);
  return true;
}

}  // namespace elastos::ipld
