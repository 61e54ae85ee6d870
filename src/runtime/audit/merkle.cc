#include "runtime/audit/merkle.h"

#include <algorithm>
#include <bit>
#include <numeric>

#include "crypto/sha256.h"

namespace elastos::audit {
namespace {

// The largest power of two strictly less than n (n >= 2): RFC 6962's split point.
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

void Path(std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<LeafRange>& out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out.push_back({begin + k, end});
  } else {
    Path(m - k, begin + k, end, out);
    out.push_back({begin, begin + k});
  }
}

void SubProof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
              std::vector<LeafRange>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back({begin, end});
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, whole, out);
    out.push_back({begin + k, end});
  } else {
    SubProof(m - k, begin + k, end, false, out);
    out.push_back({begin, begin + k});
  }
}

bool Lsb(std::uint64_t x) { return (x & 1) != 0; }

// One reusable hashing context per thread: appends hash a leaf and about two nodes each, and
// setting up a fresh OpenSSL context every time costs more than the hashing.
crypto::Sha256& Hasher() {
  thread_local crypto::Sha256 hasher;
  return hasher;
}

}  // namespace

Hash LeafHash(ByteView leaf) {
  crypto::Sha256& h = Hasher();
  const std::uint8_t prefix = 0x00;
  h.Update({&prefix, 1});
  h.Update(leaf);
  return h.Final();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  crypto::Sha256& h = Hasher();
  const std::uint8_t prefix = 0x01;
  h.Update({&prefix, 1});
  h.Update(left);
  h.Update(right);
  return h.Final();
}

Hash EmptyRoot() { return crypto::Sha256::Hash({}); }

void CompactRange::Append(const Hash& leaf_hash) {
  peaks_.push_back(leaf_hash);
  // Each trailing 1 bit of the old size is a perfect subtree of the same height as the one just
  // completed: merge them, like carrying in binary addition.
  for (std::uint64_t s = size_; Lsb(s); s >>= 1) {
    const Hash right = peaks_.back();
    peaks_.pop_back();
    peaks_.back() = NodeHash(peaks_.back(), right);
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  Hash root = peaks_.back();
  for (std::size_t i = peaks_.size() - 1; i-- > 0;) root = NodeHash(peaks_[i], root);
  return root;
}

Hash RootOf(std::span<const Hash> leaf_hashes) {
  CompactRange range;
  for (const Hash& h : leaf_hashes) range.Append(h);
  return range.Root();
}

std::vector<LeafRange> InclusionRanges(std::uint64_t leaf_index, std::uint64_t tree_size) {
  std::vector<LeafRange> out;
  if (leaf_index < tree_size) Path(leaf_index, 0, tree_size, out);
  return out;
}

std::vector<LeafRange> ConsistencyRanges(std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<LeafRange> out;
  if (old_size > 0 && old_size < new_size) SubProof(old_size, 0, new_size, true, out);
  return out;
}

ProofBuilder::ProofBuilder(std::vector<LeafRange> ranges)
    : ranges_(std::move(ranges)), order_(ranges_.size()), hashes_(ranges_.size()) {
  std::iota(order_.begin(), order_.end(), 0);
  std::sort(order_.begin(), order_.end(),
            [this](std::size_t a, std::size_t b) { return ranges_[a].begin < ranges_[b].begin; });
  for (const LeafRange& r : ranges_) end_ = std::max(end_, r.end);
}

void ProofBuilder::Add(std::uint64_t index, const Hash& leaf_hash) {
  if (next_ == order_.size()) return;
  const LeafRange& r = ranges_[order_[next_]];
  if (index < r.begin || index >= r.end) return;
  current_.Append(leaf_hash);
  if (index + 1 == r.end) {
    hashes_[order_[next_]] = current_.Root();
    current_ = CompactRange();
    ++next_;
    ++completed_;
  }
}

std::vector<Hash> ProofBuilder::Take() { return std::move(hashes_); }

bool VerifyInclusion(const Hash& leaf_hash, const InclusionProof& proof, const Hash& root) {
  if (proof.leaf_index >= proof.tree_size) return false;
  std::uint64_t fn = proof.leaf_index;
  std::uint64_t sn = proof.tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof.path) {
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      r = NodeHash(p, r);
      while (!Lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  // When the old tree is a perfect subtree, its root is the proof's implicit first element.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!Lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace elastos::audit
