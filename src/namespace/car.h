// CAR v1 (Content Addressable aRchive): blocks in one file, as `ipfs dag export` writes them.
// Spec: https://ipld.io/specs/transport/car/carv1/. Layout and refusal reasons:
// docs/formats/cid.md.
//
//   varint(len(H)) H                          H = DAG-CBOR {"roots": [CID…], "version": 1}
//   varint(len(cid)+len(data)) cid data       once per block
//
// Reading is where hostile input arrives, so every block is hash-verified as it is read, lengths
// are capped before anything is allocated (header ≤ 1 MiB, block section ≤ 4 MiB), and each
// failure names the block (index, byte offset, CID) with a stable reason:
//   car_bad_header       the header is not exactly the canonical form above (or is CARv2)
//   car_bad_block        a section length is zero or too large, or its CID is malformed
//   car_truncated        the file ends inside the header or a section
//   block_hash_mismatch  a block's bytes do not hash to its CID
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/block.h"
#include "namespace/cid.h"

namespace elastos::ipld {

inline constexpr std::size_t kMaxCarHeaderSize = std::size_t{1} << 20;
inline constexpr std::size_t kMaxCarSectionSize = std::size_t{4} << 20;

// The DAG-CBOR header block (without its varint length prefix), and its strict decoder:
// exactly a two-entry map, keys in canonical order, definite lengths, minimal integers, CIDs as
// tag 42 over 0x00 || binary CID, version 1. Zero roots are accepted (the spec allows it,
// although go-car refuses such files).
Bytes EncodeCarHeader(const std::vector<Cid>& roots);
Result<std::vector<Cid>> DecodeCarHeader(ByteView cbor);

// Writes a CAR v1 file. Blocks are written in Put order, each CID once (later duplicates are
// skipped). The file appears at `path` only when Finish succeeds: until then it is a temporary
// sibling, fsynced and renamed into place (replacing any old file), then the directory fsynced.
// Destroying an unfinished writer removes the temporary file.
//
// Put does not re-hash: the caller vouches for cid ↔ block (the importer has just computed it),
// and every reader, ours included, verifies each block anyway.
//
// Thread-safety: not thread-safe.
class CarWriter : public BlockSink {
 public:
  static Result<std::unique_ptr<CarWriter>> Create(const std::filesystem::path& path,
                                                   std::vector<Cid> roots);
  ~CarWriter() override;
  CarWriter(const CarWriter&) = delete;
  CarWriter& operator=(const CarWriter&) = delete;

  [[nodiscard]] Status Put(const Cid& cid, ByteView block) override;
  [[nodiscard]] Status Finish();

  std::size_t block_count() const { return written_.size(); }

 private:
  CarWriter(std::filesystem::path path, std::filesystem::path tmp, int fd);
  [[nodiscard]] Status Flush(ByteView extra);

  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
  Bytes buffer_;
  std::set<Cid> written_;
  Status error_;
  bool finished_ = false;
};

// Reads a CAR v1 file front to back, verifying each block as it goes. Memory: one block.
//
// Thread-safety: not thread-safe.
class CarReader {
 public:
  static Result<std::unique_ptr<CarReader>> Open(const std::filesystem::path& path);
  ~CarReader();
  CarReader(const CarReader&) = delete;
  CarReader& operator=(const CarReader&) = delete;

  const std::vector<Cid>& roots() const { return roots_; }

  struct Block {
    Cid cid;
    Bytes data;
    std::uint64_t offset = 0;       // of the section (its length varint) in the file
    std::uint64_t data_offset = 0;  // of `data` in the file
    std::size_t index = 0;          // 0 for the first block
  };
  // The next verified block, or nullopt at a clean end of file. Errors are sticky.
  Result<std::optional<Block>> Next();

 private:
  explicit CarReader(int fd) : fd_(fd) {}
  // Makes at least `n` bytes available in the buffer unless the file ends first.
  [[nodiscard]] Status Fill(std::size_t n);
  std::size_t available() const { return end_ - pos_; }
  void Consume(std::size_t n) {
    pos_ += n;
    offset_ += n;
  }
  [[nodiscard]] Status ReadExact(std::uint8_t* out, std::size_t n);

  int fd_ = -1;
  Bytes buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::uint64_t offset_ = 0;  // file offset of buffer_[pos_]
  std::vector<Cid> roots_;
  std::size_t index_ = 0;
  Status error_;
};

// A BlockSource over a CAR file: Open reads the whole file once, verifying every block, and
// keeps only an index (CID → offset, length); Get then preads the block and verifies it again, so
// a file changed after Open is caught. Memory is O(number of blocks), not O(bytes).
//
// Thread-safety: after Open, Get may be called from several threads at once.
class CarBlockSource : public BlockSource {
 public:
  static Result<std::unique_ptr<CarBlockSource>> Open(const std::filesystem::path& path);
  ~CarBlockSource() override;
  CarBlockSource(const CarBlockSource&) = delete;
  CarBlockSource& operator=(const CarBlockSource&) = delete;

  const std::vector<Cid>& roots() const { return roots_; }
  [[nodiscard]] Result<Bytes> Get(const Cid& cid) override;
  bool Has(const Cid& cid) const { return index_.contains(cid); }
  // Distinct blocks in the file (a block repeated in the file counts once).
  std::size_t block_count() const { return index_.size(); }

 private:
  struct Location {
    std::uint64_t offset;
    std::size_t size;
  };
  CarBlockSource() = default;

  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<Cid> roots_;
  std::map<Cid, Location> index_;
};

}  // namespace elastos::ipld
