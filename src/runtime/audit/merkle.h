// The audit log's Merkle tree, exactly as RFC 6962 §2.1 / RFC 9162 §2.1 define it, so that any
// Certificate-Transparency-style tool can check our roots and proofs:
//
//   leaf hash  = SHA-256(0x00 || leaf bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])) with k the largest power of two < n
//
// Memory: a CompactRange holds one hash per set bit of the tree size (at most 64), which is all a
// writer needs for the root. Proofs need the hashes of whole subtrees; ProofBuilder computes them
// from a stream of leaf hashes in O(log n) memory, so nobody keeps every leaf hash in memory.
//
// Thread-safety: values and pure functions; a CompactRange or ProofBuilder is used by one thread
// at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/bytes.h"

namespace elastos::audit {

using Hash = std::array<std::uint8_t, 32>;

Hash LeafHash(ByteView leaf);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// The right edge of a tree: the roots of its maximal perfect subtrees, left to right.
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  std::uint64_t size() const { return size_; }
  Hash Root() const;  // MTH of the leaves appended so far

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash>
      peaks_;  // peaks_[i] covers 2^(bit) leaves for the set bits of size_, high first
};

// MTH of `leaf_hashes` (for tests and small inputs).
Hash RootOf(std::span<const Hash> leaf_hashes);

// A half-open range [begin, end) of leaf indices whose MTH is one element of a proof.
struct LeafRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  bool operator==(const LeafRange&) const = default;
};

// RFC 9162 §2.1.3.1 PATH(m, D[n]), as the ranges whose MTHs form the audit path, nearest the
// leaf first. Empty when tree_size <= 1. Requires leaf_index < tree_size.
std::vector<LeafRange> InclusionRanges(std::uint64_t leaf_index, std::uint64_t tree_size);
// RFC 9162 §2.1.4.1 PROOF(m, D[n]) as ranges. Empty when old_size == 0 or old_size == new_size.
// Requires old_size <= new_size.
std::vector<LeafRange> ConsistencyRanges(std::uint64_t old_size, std::uint64_t new_size);

// Computes the MTH of each range from leaf hashes fed in index order, keeping only one compact
// range in memory. Ranges must not overlap; they may come in any order.
class ProofBuilder {
 public:
  explicit ProofBuilder(std::vector<LeafRange> ranges);
  // Feed leaf `index`'s hash. Indices must be consecutive from 0; leaves outside every range are
  // skipped cheaply.
  void Add(std::uint64_t index, const Hash& leaf_hash);
  // True once every range has been completed.
  bool done() const { return completed_ == ranges_.size(); }
  // The hashes, in the order the ranges were given. Requires done().
  std::vector<Hash> Take();
  // The last leaf index any range needs (+1), i.e. how far a caller has to read.
  std::uint64_t end() const { return end_; }

 private:
  std::vector<LeafRange> ranges_;
  std::vector<std::size_t> order_;  // indices into ranges_, by begin
  std::vector<Hash> hashes_;
  std::size_t next_ = 0;  // position in order_ of the range being built
  std::size_t completed_ = 0;
  std::uint64_t end_ = 0;
  CompactRange current_;
};

struct InclusionProof {
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<Hash> path;  // nearest the leaf first
};

// RFC 9162 §2.1.3.2. True iff `proof` shows the leaf with `leaf_hash` at proof.leaf_index is in
// the tree of proof.tree_size leaves whose root is `root`.
[[nodiscard]] bool VerifyInclusion(const Hash& leaf_hash, const InclusionProof& proof,
                                   const Hash& root);

// RFC 9162 §2.1.4.2. True iff the tree of `old_size` leaves with `old_root` is a prefix of the
// tree of `new_size` leaves with `new_root`. A zero old_size is consistent with anything (with an
// empty proof); equal sizes need equal roots and an empty proof.
[[nodiscard]] bool VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size,
                                     const Hash& old_root, const Hash& new_root,
                                     std::span<const Hash> proof);

}  // namespace elastos::audit
