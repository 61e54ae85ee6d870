#include "namespace/car.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/file_util.h"

namespace elastos::ipld {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kReadBuffer = 64 << 10;
constexpr std::size_t kWriteBuffer = 1 << 20;
// Blocks at least this large are written straight from the caller's memory.
constexpr std::size_t kDirectWrite = 64 << 10;
// Bounds CarBlockSource's index (about 100 bytes a block) against a file of tiny blocks.
constexpr std::size_t kMaxCarBlocks = std::size_t{1} << 24;
// The fixed first 11 bytes of every CARv2 file: varint(10) then DAG-CBOR {"version": 2}.
constexpr std::uint8_t kCarV2Pragma[] = {0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x02};

// ---- DAG-CBOR, just enough for the header ----

enum Major : std::uint8_t {
  kUnsigned = 0,
  kByteString = 2,
  kTextString = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6
};

void AppendHead(Bytes& out, Major major, std::uint64_t value) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (value < 24) {
    out.push_back(static_cast<std::uint8_t>(m | value));
    return;
  }
  int bytes;
  if (value <= 0xff) {
    out.push_back(m | 24);
    bytes = 1;
  } else if (value <= 0xffff) {
    out.push_back(m | 25);
    bytes = 2;
  } else if (value <= 0xffffffff) {
    out.push_back(m | 26);
    bytes = 4;
  } else {
    out.push_back(m | 27);
    bytes = 8;
  }
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void AppendText(Bytes& out, std::string_view text) {
  AppendHead(out, kTextString, text.size());
  Append(out, AsBytes(text));
}

Status BadHeader(const std::string& message) {
  return InvalidArgument("car_bad_header", "CAR header: " + message);
}

// Reads a data item head of the expected major type; refuses indefinite lengths and integers
// not in their shortest form (DAG-CBOR allows exactly one encoding of each value).
Result<std::uint64_t> ReadHead(ByteView& in, Major expected, const char* what) {
  if (in.empty()) return BadHeader(std::string("ends before ") + what);
  const std::uint8_t initial = in[0];
  const auto major = static_cast<Major>(initial >> 5);
  const std::uint8_t info = initial & 0x1f;
  if (major != expected) return BadHeader(std::string(what) + " has the wrong CBOR type");
  in = in.subspan(1);
  if (info < 24) return std::uint64_t{info};
  if (info == 31) return BadHeader(std::string(what) + " uses an indefinite length");
  if (info > 27) return BadHeader(std::string(what) + " uses a reserved CBOR encoding");
  const std::size_t n = std::size_t{1} << (info - 24);
  if (in.size() < n) return BadHeader(std::string("ends inside ") + what);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < n; ++i) value = (value << 8) | in[i];
  in = in.subspan(n);
  const std::uint64_t min = n == 1 ? 24 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000ull;
  if (value < min) return BadHeader(std::string(what) + " is not minimally encoded");
  return value;
}

Status ExpectText(ByteView& in, std::string_view text) {
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t len, ReadHead(in, kTextString, "a map key"));
  if (len != text.size() || in.size() < len || std::memcmp(in.data(), text.data(), len) != 0) {
    return BadHeader("expected the key \"" + std::string(text) +
                     "\" (exactly the keys roots, version in that order)");
  }
  in = in.subspan(len);
  return OkStatus();
}

// True when `v` is a varint cut short by the end of the file (every byte so far continues).
bool VarintCutShort(ByteView v) {
  if (v.size() >= 9) return false;
  return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return (b & 0x80) != 0; });
}

Status CarError(const char* reason, std::size_t index, std::uint64_t offset,
                const std::optional<Cid>& cid, const std::string& what) {
  std::string where =
      "block #" + std::to_string(index) + " at byte offset " + std::to_string(offset);
  if (cid) where += " (" + cid->ToString() + ")";
  return InvalidArgument(reason, where + ": " + what);
}

Status WriteAllV(int fd, ByteView a, ByteView b, const fs::path& path) {
  while (!a.empty() || !b.empty()) {
    iovec iov[2] = {{const_cast<std::uint8_t*>(a.data()), a.size()},
                    {const_cast<std::uint8_t*>(b.data()), b.size()}};
    const ssize_t n = ::writev(fd, iov, 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + path.string(), errno);
    }
    auto done = static_cast<std::size_t>(n);
    const std::size_t from_a = std::min(done, a.size());
    a = a.subspan(from_a);
    b = b.subspan(done - from_a);
  }
  return OkStatus();
}

}  // namespace

Bytes EncodeCarHeader(const std::vector<Cid>& roots) {
  Bytes out;
  AppendHead(out, kMap, 2);
  AppendText(out, "roots");  // DAG-CBOR orders keys by length, then bytes
  AppendHead(out, kArray, roots.size());
  for (const Cid& cid : roots) {
    AppendHead(out, kTag, 42);
    AppendHead(out, kByteString, 1 + cid.EncodedSize());
    out.push_back(0x00);  // the identity multibase prefix DAG-CBOR requires on CIDs
    cid.AppendBytes(out);
  }
  AppendText(out, "version");
  AppendHead(out, kUnsigned, 1);
  return out;
}

Result<std::vector<Cid>> DecodeCarHeader(ByteView in) {
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t entries, ReadHead(in, kMap, "the header"));
  if (entries != 2) {
    return BadHeader("has " + std::to_string(entries) + " entries; a CARv1 header has exactly 2");
  }
  ELASTOS_RETURN_IF_ERROR(ExpectText(in, "roots"));
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t count, ReadHead(in, kArray, "roots"));
  if (count > in.size()) return BadHeader("claims more roots than it has bytes");
  std::vector<Cid> roots;
  for (std::uint64_t i = 0; i < count; ++i) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t tag, ReadHead(in, kTag, "a root"));
    if (tag != 42) return BadHeader("root " + std::to_string(i) + " is not a CID (tag 42)");
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t len, ReadHead(in, kByteString, "a root CID"));
    if (len > in.size()) return BadHeader("ends inside root " + std::to_string(i));
    ByteView bytes = in.first(static_cast<std::size_t>(len));
    in = in.subspan(static_cast<std::size_t>(len));
    if (bytes.empty() || bytes[0] != 0x00) {
      return BadHeader("root " + std::to_string(i) + " lacks the 0x00 prefix");
    }
    auto cid = Cid::FromBytes(bytes.subspan(1));
    if (!cid.ok()) return BadHeader("root " + std::to_string(i) + ": " + cid.status().message());
    roots.push_back(*cid);
  }
  ELASTOS_RETURN_IF_ERROR(ExpectText(in, "version"));
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t version, ReadHead(in, kUnsigned, "version"));
  if (version != 1) {
    return BadHeader("version " + std::to_string(version) + " is not supported (only CARv1)");
  }
  if (!in.empty()) {
    return BadHeader(std::to_string(in.size()) + " unexpected bytes after the header");
  }
  return roots;
}

// ---- CarWriter ----

CarWriter::CarWriter(fs::path path, fs::path tmp, int fd)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {
  buffer_.reserve(kWriteBuffer);
}

CarWriter::~CarWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_ || !error_.ok()) ::unlink(tmp_.c_str());
}

Result<std::unique_ptr<CarWriter>> CarWriter::Create(const fs::path& path, std::vector<Cid> roots) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return IoError("create a temporary file beside " + path.string(), errno);
  std::unique_ptr<CarWriter> writer(new CarWriter(path, tmpl, fd));
  const Bytes header = EncodeCarHeader(roots);
  if (header.size() > kMaxCarHeaderSize) {
    return InvalidArgument(
        "car_bad_header", "too many roots for a CAR header (" + std::to_string(roots.size()) + ")");
  }
  AppendVarint(writer->buffer_, header.size());
  Append(writer->buffer_, header);
  return writer;
}

Status CarWriter::Flush(ByteView extra) {
  Status s = WriteAllV(fd_, buffer_, extra, tmp_);
  buffer_.clear();
  return s;
}

Status CarWriter::Put(const Cid& cid, ByteView block) {
  if (!error_.ok()) return error_;
  if (finished_) return FailedPrecondition("car_finished", "CarWriter::Put after Finish");
  if (block.size() > kMaxBlockSize) {
    return ResourceExhausted("block_too_large",
                             "block " + cid.ToString() + " has " + std::to_string(block.size()) +
                                 " bytes; the limit is " + std::to_string(kMaxBlockSize));
  }
  if (!written_.insert(cid).second) return OkStatus();
  AppendVarint(buffer_, cid.EncodedSize() + block.size());
  cid.AppendBytes(buffer_);
  if (block.size() >= kDirectWrite) {
    error_ = Flush(block);
  } else {
    Append(buffer_, block);
    if (buffer_.size() >= kWriteBuffer) error_ = Flush({});
  }
  return error_;
}

Status CarWriter::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return FailedPrecondition("car_finished", "CarWriter::Finish called twice");
  finished_ = true;
  error_ = Flush({});
  if (error_.ok() && ::fchmod(fd_, 0644) != 0) error_ = IoError("chmod " + tmp_.string(), errno);
  if (error_.ok() && ::fsync(fd_) != 0) error_ = IoError("fsync " + tmp_.string(), errno);
  if (::close(fd_) != 0 && error_.ok()) error_ = IoError("close " + tmp_.string(), errno);
  fd_ = -1;
  if (error_.ok() && ::rename(tmp_.c_str(), path_.c_str()) != 0) {
    error_ = IoError("rename " + tmp_.string() + " to " + path_.string(), errno);
  }
  if (!error_.ok()) return error_;
  return error_ = SyncDirectory(path_.has_parent_path() ? path_.parent_path() : fs::path("."));
}

// ---- CarReader ----

CarReader::~CarReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status CarReader::Fill(std::size_t n) {
  if (available() >= n || eof_) return OkStatus();
  if (pos_ > 0) {  // compact
    std::memmove(buffer_.data(), buffer_.data() + pos_, available());
    end_ -= pos_;
    pos_ = 0;
  }
  if (buffer_.size() < std::max(n, kReadBuffer)) buffer_.resize(std::max(n, kReadBuffer));
  while (end_ < n && !eof_) {
    const ssize_t got = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError("read CAR file", errno);
    }
    if (got == 0) eof_ = true;
    end_ += static_cast<std::size_t>(got);
  }
  return OkStatus();
}

Status CarReader::ReadExact(std::uint8_t* out, std::size_t n) {
  // Serve from the buffer, then read the rest straight into `out` (blocks can be megabytes).
  const std::size_t from_buffer = std::min(n, available());
  std::memcpy(out, buffer_.data() + pos_, from_buffer);
  Consume(from_buffer);
  std::size_t done = from_buffer;
  while (done < n) {
    const ssize_t got = ::read(fd_, out + done, n - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError("read CAR file", errno);
    }
    if (got == 0) {
      eof_ = true;
      return InvalidArgument("car_truncated", "");  // the caller words the message
    }
    done += static_cast<std::size_t>(got);
    offset_ += static_cast<std::uint64_t>(got);
  }
  return OkStatus();
}

Result<std::unique_ptr<CarReader>> CarReader::Open(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open " + path.string(), errno);
  std::unique_ptr<CarReader> r(new CarReader(fd));
  ELASTOS_RETURN_IF_ERROR(r->Fill(sizeof(kCarV2Pragma)));
  if (r->available() >= sizeof(kCarV2Pragma) &&
      std::memcmp(r->buffer_.data(), kCarV2Pragma, sizeof(kCarV2Pragma)) == 0) {
    return BadHeader("this is a CARv2 file; only CARv1 is supported");
  }
  ByteView head(r->buffer_.data() + r->pos_, r->available());
  auto len = ReadVarint(head);
  if (!len.ok()) {
    if (r->eof_ && VarintCutShort(ByteView(r->buffer_.data() + r->pos_, r->available()))) {
      return InvalidArgument("car_truncated", "CAR file ends inside the header length (" +
                                                  std::to_string(r->available()) + " bytes)");
    }
    return BadHeader("bad length: " + len.status().message());
  }
  if (*len == 0 || *len > kMaxCarHeaderSize) {
    return BadHeader("length " + std::to_string(*len) + " is outside 1.." +
                     std::to_string(kMaxCarHeaderSize));
  }
  r->Consume(r->available() - head.size());
  Bytes header(static_cast<std::size_t>(*len));
  if (Status s = r->ReadExact(header.data(), header.size()); !s.ok()) {
    if (s.reason() != "car_truncated") return s;
    return InvalidArgument("car_truncated",
                           "CAR file ends inside the " + std::to_string(*len) + "-byte header");
  }
  ELASTOS_ASSIGN_OR_RETURN(r->roots_, DecodeCarHeader(header));
  return r;
}

Result<std::optional<CarReader::Block>> CarReader::Next() {
  if (!error_.ok()) return error_;
  auto fail = [&](Status s) -> Status {
    error_ = s;
    return s;
  };
  const std::uint64_t section_offset = offset_;
  if (Status s = Fill(9); !s.ok()) return fail(s);
  if (available() == 0) return std::optional<Block>();  // clean end of file
  ByteView head(buffer_.data() + pos_, available());
  auto len = ReadVarint(head);
  if (!len.ok()) {
    if (eof_ && VarintCutShort(ByteView(buffer_.data() + pos_, available()))) {
      return fail(CarError("car_truncated", index_, section_offset, std::nullopt,
                           "the file ends inside the section length"));
    }
    return fail(CarError("car_bad_block", index_, section_offset, std::nullopt,
                         "bad section length: " + len.status().message()));
  }
  if (*len == 0 || *len > kMaxCarSectionSize) {
    return fail(CarError("car_bad_block", index_, section_offset, std::nullopt,
                         "section length " + std::to_string(*len) + " is outside 1.." +
                             std::to_string(kMaxCarSectionSize)));
  }
  Consume(available() - head.size());
  const auto section_len = static_cast<std::size_t>(*len);
  // Parse the CID from what is buffered (it is at most kMaxCidSize bytes), then read the data.
  if (Status s = Fill(std::min(section_len, kMaxCidSize)); !s.ok()) return fail(s);
  ByteView cid_view(buffer_.data() + pos_, std::min({available(), section_len, kMaxCidSize}));
  const std::size_t before = cid_view.size();
  auto cid = Cid::ReadPrefix(cid_view);
  if (!cid.ok()) {
    if (available() < std::min(section_len, kMaxCidSize)) {
      return fail(CarError("car_truncated", index_, section_offset, std::nullopt,
                           "the file ends inside the CID"));
    }
    return fail(CarError("car_bad_block", index_, section_offset, std::nullopt,
                         "bad CID: " + cid.status().message()));
  }
  Consume(before - cid_view.size());
  Block block;
  block.cid = *cid;
  block.offset = section_offset;
  block.data_offset = offset_;
  block.index = index_;
  block.data.resize(section_len - (before - cid_view.size()));
  if (Status s = ReadExact(block.data.data(), block.data.size()); !s.ok()) {
    if (s.reason() != "car_truncated") return fail(s);
    return fail(CarError(
        "car_truncated", index_, section_offset, block.cid,
        "the file ends inside the block's " + std::to_string(block.data.size()) + " data bytes"));
  }
  if (!block.cid.VerifyBlock(block.data).ok()) {
    return fail(
        CarError("block_hash_mismatch", index_, section_offset, block.cid,
                 "the data does not hash to the CID (the file is corrupt or was tampered with)"));
  }
  ++index_;
  return std::optional<Block>(std::move(block));
}

// ---- CarBlockSource ----

CarBlockSource::~CarBlockSource() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<CarBlockSource>> CarBlockSource::Open(const fs::path& path) {
  ELASTOS_ASSIGN_OR_RETURN(std::unique_ptr<CarReader> reader, CarReader::Open(path));
  std::unique_ptr<CarBlockSource> source(new CarBlockSource());
  source->path_ = path;
  source->roots_ = reader->roots();
  for (;;) {
    ELASTOS_ASSIGN_OR_RETURN(std::optional<CarReader::Block> block, reader->Next());
    if (!block) break;
    if (source->index_.size() >= kMaxCarBlocks) {
      return ResourceExhausted(
          "car_too_many_blocks",
          path.string() + " has more than " + std::to_string(kMaxCarBlocks) + " blocks");
    }
    source->index_.emplace(block->cid, Location{block->data_offset, block->data.size()});
  }
  // A second descriptor for Get: pread leaves no shared file position between threads.
  source->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source->fd_ < 0) return IoError("open " + path.string(), errno);
  return source;
}

Result<Bytes> CarBlockSource::Get(const Cid& cid) {
  auto it = index_.find(cid);
  if (it == index_.end()) return BlockNotFound(cid);
  Bytes data(it->second.size);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t got = ::pread(fd_, data.data() + done, data.size() - done,
                                static_cast<off_t>(it->second.offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + path_.string(), errno);
    }
    if (got == 0) {
      return InvalidArgument("car_truncated", path_.string() +
                                                  " shrank after it was opened: block " +
                                                  cid.ToString() + " is cut short");
    }
    done += static_cast<std::size_t>(got);
  }
  if (!cid.VerifyBlock(data).ok()) {
    return InvalidArgument("block_hash_mismatch",
                           path_.string() + " changed after it was opened: block " +
                               cid.ToString() + " no longer matches its CID");
  }
  return data;
}

}  // namespace elastos::ipld
