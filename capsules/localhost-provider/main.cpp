// localhost-provider: serves the roots of localhost:// for the runtime (docs/providers.md §3).
//
// The runtime starts this capsule with its `roots/` directory preopened as /data and two pipes
// named by ELASTOS_PROVIDER_FDS="in,out" (today "4,5"). It writes one `{"id":N,"request":{…}}`
// line at a time on `in`; the provider answers each line with exactly one
// `{"id":N,"response":{…}}` line on `out`, in order, and exits 0 at end of stream on `in`.
//
// Requests (provider protocol v1, docs/providers.md §2):
//   {"type":"ping"}                                   → {"type":"pong"}
//   {"type":"provider_request","op":…,"path":…,…}     → {"type":"resource_response","op":…,…}
// with op read / write / list / stat / delete / mkdir / exists and `path` relative to /data
// ("Users/self/a.txt"; "" is the data root). Failures are {"type":"error","code","reason",
// "message"} (docs/protocol.md §4); the table of which error answers what is in providers.md.
//
// The runtime has already checked the caller's token and normalised the path; this provider is
// still strict (defence in depth): unknown members, wrong types, members that do not apply to the
// op and unnormalised paths are refused, and the first segment must be one of the roots below.
// It has no authority beyond its preopen: the WASI host resolves every path beneath /data and
// refuses symbolic links that lead out of it (ENOTCAPABLE, answered as escape_refused).
//
// Every malformed line gets an answer and the channel stays usable; lines over 1 MiB are read and
// discarded through their '\n' and answered with id 0 (docs/protocol.md §2).
//
// Exit codes: 0 end of stream on the request pipe; 1 the request/response pipes or /data failed;
// 2 not started as a provider (ELASTOS_PROVIDER_FDS absent or malformed). Diagnostics go to stderr
// (the provider's log); requests themselves are not logged.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <elastos/bytes.h>
#include <elastos/capsule_info.h>
#include <elastos/error.h>
#include <elastos/json.h>
#include <elastos/line_io.h>
#include <elastos/protocol.h>

namespace {

namespace sdk = elastos::sdk;
namespace json = elastos::sdk::json;
using sdk::Error;
using sdk::ErrorCode;
using sdk::MakeError;
template <typename T>
using Result = sdk::Result<T>;

// The roots of localhost:// (docs/providers.md §3). Created under /data at start when missing.
constexpr const char* kRoots[] = {"Users", "UsersAI",     "Public",  "MyWebSite",
                                  "Local", "AppCapsules", "ElastOS", "PC2Host"};
constexpr const char* kDataDir = "/data";
constexpr std::size_t kMaxContentBytes = sdk::kMaxChunkBytes;  // write: decoded content
constexpr std::size_t kMaxReadBytes = sdk::kMaxChunkBytes;     // read: default and cap of length
constexpr std::size_t kMaxEntries = 10000;                     // list
constexpr std::size_t kMaxPathBytes = 4096;
constexpr std::uint64_t kMaxId = (std::uint64_t{1} << 53) - 1;
// A replacing write goes through a temporary file of this prefix beside its target. Listings do
// not show such names (docs/providers.md §3).
constexpr std::string_view kTempPrefix = ".elastos-tmp-";
// Recursive delete reads a directory in batches of this many names, so a huge directory costs
// bounded memory and no directory stays open while its children are removed.
constexpr std::size_t kDeleteBatch = 1024;

// ---- Errors --------------------------------------------------------------------------------------

Error InvalidArgument(const char* reason, std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, reason, std::move(message));
}
Error BadField(std::string message) { return InvalidArgument("bad_field", std::move(message)); }
Error BadPath(std::string message) { return InvalidArgument("bad_path", std::move(message)); }
Error NotFound(const char* reason, std::string message) {
  return MakeError(ErrorCode::kNotFound, reason, std::move(message));
}
Error Precondition(const char* reason, std::string message) {
  return MakeError(ErrorCode::kFailedPrecondition, reason, std::move(message));
}

// At most `max` bytes of `s` (valid UTF-8, as everything parsed from JSON is), cut at a character
// boundary, for messages: a hostile request must not make its error message huge.
std::string Shorten(std::string_view s, std::size_t max = 200) {
  if (s.size() <= max) return std::string(s);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = json::Utf8SequenceLength(p + i, s.size() - i);
    if (len == 0) len = 1;
    if (i + len > max) break;
    i += len;
  }
  return std::string(s.substr(0, i)) + "...";
}

std::string Quoted(std::string_view s) { return "'" + Shorten(s) + "'"; }

std::string ErrnoText(int err) {
  return "errno " + std::to_string(err) + " (" + std::strerror(err) + ")";
}

// The answer for a host call that failed with `err` on `what` (a request path, for messages),
// when the operation has no more specific meaning for that errno.
Error HostError(int err, const std::string& what) {
  switch (err) {
#ifdef ENOTCAPABLE
    case ENOTCAPABLE:
      return MakeError(ErrorCode::kPermissionDenied, "escape_refused",
                       Quoted(what) +
                           " resolves outside the provider's storage (a symbolic link leading out "
                           "of /data?); the host refused it");
#endif
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return MakeError(ErrorCode::kResourceExhausted, "storage_limit",
                       "the provider's storage is full (" + ErrnoText(err) + ") writing " +
                           Quoted(what));
    case ENAMETOOLONG:
      return BadPath(Quoted(what) + " is too long for the host (" + ErrnoText(err) + ")");
    default:
      return MakeError(ErrorCode::kInternal, "io_error",
                       "host file operation on " + Quoted(what) + " failed: " + ErrnoText(err));
  }
}

// For a lookup of an existing resource: ENOENT and ENOTDIR (a segment on the way is a file) mean
// there is nothing at `what`.
Error LookupError(int err, const std::string& what) {
  if (err == ENOENT || err == ENOTDIR) return NotFound("not_found", Quoted(what) + " does not exist");
  return HostError(err, what);
}

json::Object ErrorResponse(const Error& e) {
  json::Object o;
  o.Set("type", "error");
  o.Set("code", sdk::ErrorCodeName(e.code));
  o.Set("reason", e.reason);
  o.Set("message", e.message);
  return o;
}

// ---- Requests ------------------------------------------------------------------------------------

enum class Op { kRead, kWrite, kList, kStat, kDelete, kMkdir, kExists };

struct OpName {
  const char* name;
  Op op;
};
constexpr OpName kOps[] = {{"read", Op::kRead},     {"write", Op::kWrite},   {"list", Op::kList},
                           {"stat", Op::kStat},     {"delete", Op::kDelete}, {"mkdir", Op::kMkdir},
                           {"exists", Op::kExists}};

const char* NameOf(Op op) {
  for (const OpName& o : kOps) {
    if (o.op == op) return o.name;
  }
  return "?";
}

struct Request {
  Op op = Op::kRead;
  std::string path;                   // as sent: normalised, relative to /data, "" = the data root
  std::vector<std::string> segments;  // path split at '/'; segments[0] is the root
  sdk::Bytes content;                 // write
  bool append = false;                // write
  std::uint64_t offset = 0;           // read
  std::uint64_t length = kMaxReadBytes;  // read
  bool recursive = false;             // delete
  bool parents = false;               // mkdir
};

bool IsRoot(std::string_view name) {
  for (const char* root : kRoots) {
    if (name == root) return true;
  }
  return false;
}

std::string RootList() {
  std::string out;
  for (const char* root : kRoots) {
    if (!out.empty()) out += ", ";
    out += root;
  }
  return out;
}

// docs/providers.md §2: segments separated by single '/', none empty, none '.' or '..', no NUL,
// control character or '\', no leading or trailing '/', at most 4096 bytes. "" is the data root.
Result<std::vector<std::string>> SplitPath(const std::string& path) {
  if (path.size() > kMaxPathBytes) {
    return BadPath("path of " + std::to_string(path.size()) + " bytes is longer than " +
                   std::to_string(kMaxPathBytes));
  }
  std::vector<std::string> segments;
  if (path.empty()) return segments;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return BadPath("path " + Quoted(path) + " holds a control character");
    if (c == '\\') return BadPath("path " + Quoted(path) + " holds a backslash");
  }
  if (path.front() == '/') return BadPath("path " + Quoted(path) + " is absolute (leading '/')");
  if (path.back() == '/') return BadPath("path " + Quoted(path) + " ends with '/'");
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string segment =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty()) return BadPath("path " + Quoted(path) + " has an empty segment ('//')");
    if (segment == "." || segment == "..") {
      return BadPath("path " + Quoted(path) + " has a '" + segment + "' segment");
    }
    segments.push_back(segment);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return segments;
}

Result<bool> BoolMember(const json::Value& v, const char* name) {
  if (!v.is_bool()) return BadField("'" + std::string(name) + "' must be true or false");
  return *v.GetBool();
}

Result<std::uint64_t> UintMember(const json::Value& v, const char* name) {
  if (!v.is_integer() || !v.GetUint64()) {
    return BadField("'" + std::string(name) + "' must be a non-negative integer");
  }
  return *v.GetUint64();
}

// A `provider_request` object (its `type` already checked) → a validated Request.
Result<Request> ParseRequest(const json::Object& r) {
  static const char* const kMembers[] = {"type",   "op",     "path",      "content", "append",
                                         "offset", "length", "recursive", "parents"};
  for (const json::Member& m : r) {
    const bool known = std::any_of(std::begin(kMembers), std::end(kMembers),
                                   [&](const char* k) { return m.key == k; });
    if (!known) {
      return InvalidArgument("unknown_field",
                             "provider_request has no member " + Quoted(m.key));
    }
  }
  Request req;
  const json::Value* op = r.Find("op");
  if (op == nullptr) return BadField("'op' is required");
  if (!op->is_string()) return BadField("'op' must be a string");
  const OpName* found = std::find_if(std::begin(kOps), std::end(kOps),
                                     [&](const OpName& o) { return *op->GetString() == o.name; });
  if (found == std::end(kOps)) {
    return InvalidArgument("unknown_request",
                           "unknown op " + Quoted(*op->GetString()) +
                               " (read, write, list, stat, delete, mkdir, exists)");
  }
  req.op = found->op;

  const json::Value* path = r.Find("path");
  if (path == nullptr) return BadField("'path' is required");
  if (!path->is_string()) return BadField("'path' must be a string");
  req.path = *path->GetString();

  // Members that apply to one op only.
  struct OnlyFor {
    const char* member;
    Op op;
  };
  static const OnlyFor kOnlyFor[] = {{"content", Op::kWrite},    {"append", Op::kWrite},
                                     {"offset", Op::kRead},      {"length", Op::kRead},
                                     {"recursive", Op::kDelete}, {"parents", Op::kMkdir}};
  for (const OnlyFor& o : kOnlyFor) {
    if (r.Contains(o.member) && req.op != o.op) {
      return BadField("'" + std::string(o.member) + "' does not apply to op '" + NameOf(req.op) +
                      "' (only to '" + NameOf(o.op) + "')");
    }
  }
  if (const json::Value* v = r.Find("append")) {
    auto b = BoolMember(*v, "append");
    if (!b.ok()) return b.error();
    req.append = *b;
  }
  if (const json::Value* v = r.Find("recursive")) {
    auto b = BoolMember(*v, "recursive");
    if (!b.ok()) return b.error();
    req.recursive = *b;
  }
  if (const json::Value* v = r.Find("parents")) {
    auto b = BoolMember(*v, "parents");
    if (!b.ok()) return b.error();
    req.parents = *b;
  }
  if (const json::Value* v = r.Find("offset")) {
    auto u = UintMember(*v, "offset");
    if (!u.ok()) return u.error();
    req.offset = *u;
  }
  if (const json::Value* v = r.Find("length")) {
    auto u = UintMember(*v, "length");
    if (!u.ok()) return u.error();
    if (*u > kMaxReadBytes) {
      return BadField("'length' " + std::to_string(*u) + " is above the cap of " +
                      std::to_string(kMaxReadBytes));
    }
    req.length = *u;
  }
  if (req.op == Op::kWrite) {
    const json::Value* content = r.Find("content");
    if (content == nullptr) return BadField("'content' is required for op 'write'");
    auto bytes = sdk::BytesFromJson(*content);
    if (!bytes.ok()) return BadField("'content': " + bytes.error().message);
    if (bytes->size() > kMaxContentBytes) {
      return BadField("'content' of " + std::to_string(bytes->size()) +
                      " bytes is above the cap of " + std::to_string(kMaxContentBytes));
    }
    req.content = std::move(bytes).value();
  }

  auto segments = SplitPath(req.path);
  if (!segments.ok()) return segments.error();
  req.segments = std::move(segments).value();
  return req;
}

// ---- The file system under /data -------------------------------------------------------------------

// The guest path of the first `n` segments ("/data" for none).
std::string HostPath(const std::vector<std::string>& segments, std::size_t n) {
  std::string out = kDataDir;
  for (std::size_t i = 0; i < n && i < segments.size(); ++i) {
    out += '/';
    out += segments[i];
  }
  return out;
}
std::string HostPath(const Request& req) { return HostPath(req.segments, req.segments.size()); }

// The request path of the first `n` segments, for messages.
std::string RequestPath(const std::vector<std::string>& segments, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the error (a write may only fail at close on some file systems).
  int Close() {
    const int fd = fd_;
    fd_ = -1;
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

 private:
  int fd_;
};

int WriteFully(int fd, const sdk::Bytes& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// ".elastos-tmp-" and 16 random hex digits.
std::string TempName() {
  static std::uint64_t counter = 0;
  std::uint8_t random[8] = {};
  if (::getentropy(random, sizeof random) != 0) {
    // No entropy: a counter still gives distinct names within this instance, and O_EXCL (with
    // retries) keeps instances from sharing one.
    const std::uint64_t c = ++counter;
    std::memcpy(random, &c, sizeof random);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string name(kTempPrefix);
  for (std::uint8_t b : random) {
    name.push_back(kHex[b >> 4]);
    name.push_back(kHex[b & 15]);
  }
  return name;
}

// A listed name the provider could be asked about: valid UTF-8 (paths travel as JSON strings) and
// nothing a path segment may not hold. Other names exist on the host but not in the namespace.
bool Addressable(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || !json::IsValidUtf8(name)) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '\\' || c == '/') return false;
  }
  return true;
}

json::Object Response(Op op) {
  json::Object o;
  o.Set("type", "resource_response");
  o.Set("op", NameOf(op));
  return o;
}

Result<json::Object> Read(const Request& req) {
  const std::string host = HostPath(req);
  struct stat st;
  if (::stat(host.c_str(), &st) != 0) return LookupError(errno, req.path);
  if (S_ISDIR(st.st_mode)) return Precondition("is_a_directory", Quoted(req.path) + " is a directory");
  // Never open a FIFO or device someone planted on the host: the open could block forever.
  if (!S_ISREG(st.st_mode)) {
    return Precondition("not_a_regular_file", Quoted(req.path) + " is not a regular file");
  }
  Fd fd(::open(host.c_str(), O_RDONLY));
  if (fd.get() < 0) return LookupError(errno, req.path);
  if (::fstat(fd.get(), &st) != 0) return HostError(errno, req.path);
  if (!S_ISREG(st.st_mode)) {
    return Precondition("not_a_regular_file", Quoted(req.path) + " is not a regular file");
  }
  const std::uint64_t size = st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  sdk::Bytes data;
  if (req.offset < size) {
    const std::uint64_t want = std::min<std::uint64_t>(req.length, size - req.offset);
    data.resize(static_cast<std::size_t>(want));
    std::size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::pread(fd.get(), data.data() + got, data.size() - got,
                                static_cast<off_t>(req.offset + got));
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return HostError(errno, req.path);
      }
      if (n == 0) break;  // the file shrank meanwhile
      got += static_cast<std::size_t>(n);
    }
    data.resize(got);
  }
  json::Object o = Response(req.op);
  o.Set("data", sdk::BytesToJson(data));
  o.Set("eof", req.offset >= size || req.offset + data.size() >= size);
  o.Set("size", size);
  return o;
}

Result<json::Object> Write(const Request& req) {
  const std::size_t n = req.segments.size();
  const std::string host = HostPath(req);
  const std::string parent = HostPath(req.segments, n - 1);
  const std::string parent_path = RequestPath(req.segments, n - 1);
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return NotFound("no_parent", "the directory " + Quoted(parent_path) + " does not exist");
    }
    if (err == ENOTDIR) {
      return Precondition("not_a_directory",
                          "a segment of " + Quoted(parent_path) + " is a file, not a directory");
    }
    return HostError(err, parent_path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Precondition("not_a_directory", Quoted(parent_path) + " is a file, not a directory");
  }
  if (::stat(host.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Precondition("is_a_directory", Quoted(req.path) + " is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
      return Precondition("not_a_regular_file", Quoted(req.path) + " is not a regular file");
    }
  } else if (errno != ENOENT) {
    return HostError(errno, req.path);
  }

  json::Object o = Response(req.op);
  if (req.append) {
    Fd fd(::open(host.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644));
    if (fd.get() < 0) return HostError(errno, req.path);
    if (const int err = WriteFully(fd.get(), req.content); err != 0) return HostError(err, req.path);
    if (const int err = fd.Close(); err != 0) return HostError(err, req.path);
    o.Set("written", static_cast<std::uint64_t>(req.content.size()));
    return o;
  }

  // Replace atomically: a temporary file beside the target, renamed over it.
  std::string temp;
  int fd_number = -1;
  for (int attempt = 0; attempt < 8 && fd_number < 0; ++attempt) {
    temp = parent + "/" + TempName();
    fd_number = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd_number < 0 && errno != EEXIST) return HostError(errno, req.path);
  }
  if (fd_number < 0) return HostError(EEXIST, req.path);
  Fd fd(fd_number);
  auto fail = [&](int err) -> Error {
    fd.Close();
    ::unlink(temp.c_str());
    return HostError(err, req.path);
  };
  if (const int err = WriteFully(fd.get(), req.content); err != 0) return fail(err);
  // The content is on disk before the name points at it: after a crash the target holds the old
  // or the new content, never a truncated file.
  if (::fsync(fd.get()) != 0) return fail(errno);
  if (const int err = fd.Close(); err != 0) return fail(err);
  if (::rename(temp.c_str(), host.c_str()) != 0) return fail(errno);
  o.Set("written", static_cast<std::uint64_t>(req.content.size()));
  return o;
}

Result<json::Object> List(const Request& req) {
  const std::string host = HostPath(req);
  struct stat st;
  if (::stat(host.c_str(), &st) != 0) return LookupError(errno, req.path);
  if (!S_ISDIR(st.st_mode)) {
    return Precondition("not_a_directory", Quoted(req.path) + " is a file, not a directory");
  }
  DIR* dir = ::opendir(host.c_str());
  if (dir == nullptr) return LookupError(errno, req.path);
  struct Entry {
    std::string name;
    bool is_dir = false;
    std::uint64_t size = 0;
  };
  std::vector<Entry> entries;
  std::optional<Error> error;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) error = HostError(errno, req.path);
      break;
    }
    const std::string_view name = e->d_name;
    if (!Addressable(name)) continue;
    if (name.substr(0, kTempPrefix.size()) == kTempPrefix) continue;
    if (req.segments.empty() && !IsRoot(name)) continue;  // the data root lists the roots only
    if (entries.size() >= kMaxEntries) {
      error = MakeError(ErrorCode::kResourceExhausted, "too_many_entries",
                        Quoted(req.path) + " holds more than " + std::to_string(kMaxEntries) +
                            " entries");
      break;
    }
    Entry entry;
    entry.name = std::string(name);
    struct stat es;
    if (::fstatat(::dirfd(dir), e->d_name, &es, 0) == 0) {
      entry.is_dir = S_ISDIR(es.st_mode);
      entry.size = entry.is_dir || es.st_size < 0 ? 0 : static_cast<std::uint64_t>(es.st_size);
    } else if (errno == ENOENT &&
               ::fstatat(::dirfd(dir), e->d_name, &es, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;  // removed while we list
    }
    // Otherwise a symbolic link that cannot be followed (dangling, or leading out of /data): it
    // is listed as a file of size 0; reading it fails.
    entries.push_back(std::move(entry));
  }
  ::closedir(dir);
  if (error) return *error;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });  // bytewise
  json::Array array;
  array.reserve(entries.size());
  for (Entry& e : entries) {
    json::Object item;
    item.Set("name", std::move(e.name));
    item.Set("is_dir", e.is_dir);
    item.Set("size", e.size);
    array.push_back(std::move(item));
  }
  json::Object o = Response(req.op);
  o.Set("entries", std::move(array));
  return o;
}

Result<json::Object> Stat(const Request& req) {
  struct stat st;
  if (::stat(HostPath(req).c_str(), &st) != 0) return LookupError(errno, req.path);
  const bool is_dir = S_ISDIR(st.st_mode);
  json::Object info;
  info.Set("is_dir", is_dir);
  info.Set("size", is_dir || st.st_size < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(st.st_size));
  info.Set("modified", st.st_mtim.tv_sec > 0 ? static_cast<std::uint64_t>(st.st_mtim.tv_sec)
                                             : std::uint64_t{0});
  json::Object o = Response(req.op);
  o.Set("stat", std::move(info));
  return o;
}

Result<json::Object> Exists(const Request& req) {
  struct stat st;
  bool exists = true;
  if (::stat(HostPath(req).c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT && err != ENOTDIR) return HostError(err, req.path);
    exists = false;
  }
  json::Object o = Response(req.op);
  o.Set("exists", exists);
  return o;
}

// Removes the directory `host` and everything in it, never following a symbolic link (a link is
// removed, not what it points at). `what` is the request path, for messages.
std::optional<Error> RemoveTree(const std::string& host, const std::string& what) {
  for (;;) {
    DIR* dir = ::opendir(host.c_str());
    if (dir == nullptr) return HostError(errno, what);
    std::vector<std::string> batch;
    int read_error = 0;
    while (batch.size() < kDeleteBatch) {
      errno = 0;
      const dirent* e = ::readdir(dir);
      if (e == nullptr) {
        read_error = errno;
        break;
      }
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      batch.emplace_back(name);
    }
    ::closedir(dir);
    if (read_error != 0) return HostError(read_error, what);
    if (batch.empty()) break;
    for (const std::string& name : batch) {
      const std::string child = host + "/" + name;
      const std::string child_what = what + "/" + name;
      struct stat st;
      if (::lstat(child.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return HostError(errno, child_what);
      }
      if (S_ISDIR(st.st_mode)) {
        if (auto e = RemoveTree(child, child_what)) return e;
      } else if (::unlink(child.c_str()) != 0 && errno != ENOENT) {
        return HostError(errno, child_what);
      }
    }
  }
  if (::rmdir(host.c_str()) != 0 && errno != ENOENT) return HostError(errno, what);
  return std::nullopt;
}

Result<json::Object> Delete(const Request& req) {
  const std::string host = HostPath(req);
  struct stat st;
  // lstat: deleting a symbolic link deletes the link.
  if (::lstat(host.c_str(), &st) != 0) return LookupError(errno, req.path);
  if (S_ISDIR(st.st_mode)) {
    if (req.recursive) {
      if (auto e = RemoveTree(host, req.path)) return *e;
    } else if (::rmdir(host.c_str()) != 0) {
      const int err = errno;
      if (err == ENOTEMPTY || err == EEXIST) {
        return Precondition("not_empty", Quoted(req.path) +
                                             " is a directory that is not empty (delete it with "
                                             "'recursive')");
      }
      return LookupError(err, req.path);
    }
  } else if (::unlink(host.c_str()) != 0) {
    return LookupError(errno, req.path);
  }
  return Response(req.op);
}

Result<json::Object> Mkdir(const Request& req) {
  const std::size_t n = req.segments.size();
  if (!req.parents) {
    if (::mkdir(HostPath(req).c_str(), 0755) != 0) {
      const int err = errno;
      const std::string parent_path = RequestPath(req.segments, n - 1);
      switch (err) {
        case EEXIST:
          return Precondition("already_exists", Quoted(req.path) + " already exists");
        case ENOENT:
          return NotFound("no_parent", "the directory " + Quoted(parent_path) + " does not exist");
        case ENOTDIR:
          return Precondition("not_a_directory",
                              "a segment of " + Quoted(parent_path) + " is a file, not a directory");
        default:
          return HostError(err, req.path);
      }
    }
    return Response(req.op);
  }
  for (std::size_t i = 1; i <= n; ++i) {
    const std::string host = HostPath(req.segments, i);
    const std::string what = RequestPath(req.segments, i);
    if (::mkdir(host.c_str(), 0755) == 0) continue;
    const int err = errno;
    if (err == ENOTDIR) {
      return Precondition("not_a_directory",
                          "a segment of " + Quoted(what) + " is a file, not a directory");
    }
    if (err != EEXIST) return HostError(err, what);
    struct stat st;
    if (::stat(host.c_str(), &st) != 0) return HostError(errno, what);
    if (!S_ISDIR(st.st_mode)) {
      if (i == n) return Precondition("already_exists", Quoted(what) + " exists and is a file");
      return Precondition("not_a_directory", Quoted(what) + " is a file, not a directory");
    }
  }
  return Response(req.op);
}

Result<json::Object> Serve(const Request& req) {
  if (!req.segments.empty() && !IsRoot(req.segments[0])) {
    return NotFound("no_such_root", Quoted(req.segments[0]) + " is not a root of localhost:// (" +
                                        RootList() + ")");
  }
  // No symbolic link is followed, even one that stays inside /data: the runtime checked the
  // caller's token against this *path*, and a link would let the path name something the token
  // does not cover (Notes/up.txt -> ../../private.txt). Capsules cannot create links through
  // this protocol; a link planted on the host is refused, except that deleting it removes it.
  for (std::size_t i = 1; i <= req.segments.size(); ++i) {
    struct stat st;
    if (::lstat(HostPath(req.segments, i).c_str(), &st) != 0) break;  // the rest does not exist
    if (S_ISLNK(st.st_mode) && !(i == req.segments.size() && req.op == Op::kDelete)) {
      return MakeError(ErrorCode::kPermissionDenied, "symlink_refused",
                       Quoted(RequestPath(req.segments, i)) +
                           " is a symbolic link; the localhost provider follows none");
    }
  }
  const bool whole_root = req.segments.size() <= 1;  // a root itself, or the data root
  switch (req.op) {
    case Op::kWrite:
    case Op::kDelete:
      if (whole_root) {
        return MakeError(ErrorCode::kPermissionDenied, "root_protected",
                         (req.segments.empty() ? std::string("the data root")
                                               : "the root " + Quoted(req.path)) +
                             " cannot be " + (req.op == Op::kWrite ? "written" : "deleted"));
      }
      break;
    case Op::kRead:
    case Op::kMkdir:
      if (req.segments.empty()) {
        return BadPath(std::string("the data root (path \"\") can only be listed, stat'ed or "
                                   "tested with exists, not ") +
                       (req.op == Op::kRead ? "read" : "created"));
      }
      break;
    default:
      break;
  }
  switch (req.op) {
    case Op::kRead:
      return Read(req);
    case Op::kWrite:
      return Write(req);
    case Op::kList:
      return List(req);
    case Op::kStat:
      return Stat(req);
    case Op::kDelete:
      return Delete(req);
    case Op::kMkdir:
      return Mkdir(req);
    case Op::kExists:
      return Exists(req);
  }
  return MakeError(ErrorCode::kInternal, "internal", "unhandled op");
}

// ---- Envelopes -----------------------------------------------------------------------------------

// The response line (without '\n') for `response` to request `id`. Never longer than the cap: a
// response that would be is replaced by an error (a listing of many long names).
std::string Envelope(std::uint64_t id, json::Object response) {
  const bool is_list = [&] {
    const json::Value* op = response.Find("op");
    return op != nullptr && op->is_string() && *op->GetString() == "list";
  }();
  json::Object env;
  env.Set("id", id);
  env.Set("response", std::move(response));
  std::string line;
  if (auto w = json::Write(env, &line); !w.ok()) {
    line.clear();
    json::Object fallback;
    fallback.Set("id", id);
    fallback.Set("response", ErrorResponse(MakeError(ErrorCode::kInternal, "internal",
                                                     "the response could not be written")));
    (void)json::Write(fallback, &line);
    return line;
  }
  if (line.size() > sdk::kMaxLineBytes) {
    const Error e =
        is_list ? MakeError(ErrorCode::kResourceExhausted, "too_many_entries",
                            "the listing does not fit in one response line of 1 MiB")
                : MakeError(ErrorCode::kInternal, "response_too_large",
                            "the response does not fit in one line of 1 MiB");
    json::Object small;
    small.Set("id", id);
    small.Set("response", ErrorResponse(e));
    line.clear();
    (void)json::Write(small, &line);
  }
  return line;
}

std::string ErrorEnvelope(std::uint64_t id, const Error& e) { return Envelope(id, ErrorResponse(e)); }

// One request line → its response line (docs/protocol.md §2, "Malformed and oversized input").
std::string HandleLine(const std::string& line) {
  auto parsed = json::Parse(line, json::ParseOptions{json::kDefaultMaxDepth, sdk::kMaxLineBytes});
  if (!parsed.ok()) {
    return ErrorEnvelope(0, InvalidArgument("malformed_request",
                                            "the line is not valid JSON: " + parsed.error().message));
  }
  const json::Object* env = parsed->GetObject();
  if (env == nullptr) {
    return ErrorEnvelope(0, InvalidArgument("malformed_request", "the line is not a JSON object"));
  }
  const json::Value* id_value = env->Find("id");
  const std::optional<std::uint64_t> id =
      id_value != nullptr && id_value->is_integer() ? id_value->GetUint64() : std::nullopt;
  if (!id || *id == 0 || *id > kMaxId) {
    return ErrorEnvelope(0, InvalidArgument("bad_id", "the envelope needs an integer \"id\" in "
                                                      "1..2^53-1"));
  }
  const json::Value* request = env->Find("request");
  if (env->size() != 2 || request == nullptr || !request->is_object()) {
    return ErrorEnvelope(*id, InvalidArgument("malformed_request",
                                              "the envelope must be exactly "
                                              "{\"id\":N,\"request\":{\"type\":\"...\",...}}"));
  }
  const json::Object& body = *request->GetObject();
  const json::Value* type = body.Find("type");
  if (type == nullptr || !type->is_string()) {
    return ErrorEnvelope(*id, InvalidArgument("malformed_request",
                                              "the request needs a string \"type\""));
  }
  const std::string& name = *type->GetString();
  if (name == "ping") {
    if (body.size() != 1) {
      for (const json::Member& m : body) {
        if (m.key != "type") {
          return ErrorEnvelope(*id, InvalidArgument("unknown_field",
                                                    "ping has no member " + Quoted(m.key)));
        }
      }
    }
    json::Object pong;
    pong.Set("type", "pong");
    return Envelope(*id, std::move(pong));
  }
  if (name == "provider_request") {
    auto req = ParseRequest(body);
    if (!req.ok()) return ErrorEnvelope(*id, req.error());
    auto response = Serve(*req);
    if (!response.ok()) return ErrorEnvelope(*id, response.error());
    return Envelope(*id, std::move(response).value());
  }
  return ErrorEnvelope(*id, InvalidArgument("unknown_request", "unknown request type " +
                                                                   Quoted(name) +
                                                                   " (ping, provider_request)"));
}

// Creates each root under /data that is missing. False when /data itself is unusable.
bool CreateRoots() {
  struct stat st;
  if (::stat(kDataDir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "localhost-provider: /data is not available (%s); is the roots directory "
                         "preopened?\n", std::strerror(errno));
    return false;
  }
  for (const char* root : kRoots) {
    const std::string path = std::string(kDataDir) + "/" + root;
    if (::mkdir(path.c_str(), 0755) == 0) continue;
    const int err = errno;
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    // Not fatal: the other roots still work, and requests under this one get their own error.
    std::fprintf(stderr, "localhost-provider: cannot create the root %s: %s\n", path.c_str(),
                 err == EEXIST ? "something that is not a directory is in the way"
                               : std::strerror(err));
  }
  return true;
}

}  // namespace

int main() {
  const char* spec = std::getenv("ELASTOS_PROVIDER_FDS");
  if (spec == nullptr) {
    std::fprintf(stderr, "localhost-provider: ELASTOS_PROVIDER_FDS is not set; this capsule is "
                         "started by the ElastOS runtime as the provider of localhost://\n");
    return 2;
  }
  auto fds = sdk::ParseCarrierFds(spec);
  if (!fds.ok()) {
    std::fprintf(stderr, "localhost-provider: ELASTOS_PROVIDER_FDS='%s' is not of the form IN,OUT\n",
                 spec);
    return 2;
  }
  if (!CreateRoots()) return 1;

  sdk::LineReader requests(fds->in, sdk::kMaxLineBytes);
  std::string line;
  for (;;) {
    std::string answer;
    switch (requests.Next(&line)) {
      case sdk::LineReader::Status::kLine:
        answer = HandleLine(line);
        break;
      case sdk::LineReader::Status::kTooLong:
        answer = ErrorEnvelope(0, MakeError(ErrorCode::kResourceExhausted, "line_too_long",
                                            "a request line is limited to 1 MiB; it was discarded"));
        break;
      case sdk::LineReader::Status::kEnd:
        return 0;
      case sdk::LineReader::Status::kEndInLine:
        std::fprintf(stderr, "localhost-provider: end of stream inside a request line; the partial "
                             "line was discarded\n");
        return 0;
      case sdk::LineReader::Status::kError:
        std::fprintf(stderr, "localhost-provider: reading requests failed: %s\n",
                     std::strerror(requests.error()));
        return 1;
    }
    answer.push_back('\n');
    if (const int err = sdk::WriteAll(fds->out, answer); err != 0) {
      std::fprintf(stderr, "localhost-provider: writing a response failed: %s\n",
                   std::strerror(err));
      return 1;
    }
  }
}
