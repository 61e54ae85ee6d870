// The wasi_snapshot_preview1 ABI as the guest sees it: errno values, rights, flags and the byte
// layouts of the structs the host reads from and writes to guest memory. Numbers are the ones of
// the preview1 witx (WebAssembly/WASI, phases/snapshot/witx/typenames.witx); the layouts are
// those of wasm32 (little-endian, natural alignment).
//
// Private to compute/wasi.
#pragma once

#include <cstdint>

namespace elastos::compute::wasi::abi {

// errno: every function but proc_exit returns one of these.
// clang-format off
enum class Errno : std::uint16_t {
  kSuccess = 0, k2big = 1, kAcces = 2, kAddrinuse = 3, kAddrnotavail = 4, kAfnosupport = 5,
  kAgain = 6, kAlready = 7, kBadf = 8, kBadmsg = 9, kBusy = 10, kCanceled = 11, kChild = 12,
  kConnaborted = 13, kConnrefused = 14, kConnreset = 15, kDeadlk = 16, kDestaddrreq = 17,
  kDom = 18, kDquot = 19, kExist = 20, kFault = 21, kFbig = 22, kHostunreach = 23, kIdrm = 24,
  kIlseq = 25, kInprogress = 26, kIntr = 27, kInval = 28, kIo = 29, kIsconn = 30, kIsdir = 31,
  kLoop = 32, kMfile = 33, kMlink = 34, kMsgsize = 35, kMultihop = 36, kNametoolong = 37,
  kNetdown = 38, kNetreset = 39, kNetunreach = 40, kNfile = 41, kNobufs = 42, kNodev = 43,
  kNoent = 44, kNoexec = 45, kNolck = 46, kNolink = 47, kNomem = 48, kNomsg = 49,
  kNoprotoopt = 50, kNospc = 51, kNosys = 52, kNotconn = 53, kNotdir = 54, kNotempty = 55,
  kNotrecoverable = 56, kNotsock = 57, kNotsup = 58, kNotty = 59, kNxio = 60, kOverflow = 61,
  kOwnerdead = 62, kPerm = 63, kPipe = 64, kProto = 65, kProtonosupport = 66, kPrototype = 67,
  kRange = 68, kRofs = 69, kSpipe = 70, kSrch = 71, kStale = 72, kTimedout = 73, kTxtbsy = 74,
  kXdev = 75, kNotcapable = 76,
};
// clang-format on

// The WASI errno for a Linux errno; anything without a counterpart becomes kIo.
Errno FromHostErrno(int host_errno);

// rights: a bit per operation a descriptor may be used for.
namespace rights {
inline constexpr std::uint64_t kFdDatasync = 1ull << 0;
inline constexpr std::uint64_t kFdRead = 1ull << 1;
inline constexpr std::uint64_t kFdSeek = 1ull << 2;
inline constexpr std::uint64_t kFdFdstatSetFlags = 1ull << 3;
inline constexpr std::uint64_t kFdSync = 1ull << 4;
inline constexpr std::uint64_t kFdTell = 1ull << 5;
inline constexpr std::uint64_t kFdWrite = 1ull << 6;
inline constexpr std::uint64_t kFdAdvise = 1ull << 7;
inline constexpr std::uint64_t kFdAllocate = 1ull << 8;
inline constexpr std::uint64_t kPathCreateDirectory = 1ull << 9;
inline constexpr std::uint64_t kPathCreateFile = 1ull << 10;
inline constexpr std::uint64_t kPathLinkSource = 1ull << 11;
inline constexpr std::uint64_t kPathLinkTarget = 1ull << 12;
inline constexpr std::uint64_t kPathOpen = 1ull << 13;
inline constexpr std::uint64_t kFdReaddir = 1ull << 14;
inline constexpr std::uint64_t kPathReadlink = 1ull << 15;
inline constexpr std::uint64_t kPathRenameSource = 1ull << 16;
inline constexpr std::uint64_t kPathRenameTarget = 1ull << 17;
inline constexpr std::uint64_t kPathFilestatGet = 1ull << 18;
inline constexpr std::uint64_t kPathFilestatSetSize = 1ull << 19;
inline constexpr std::uint64_t kPathFilestatSetTimes = 1ull << 20;
inline constexpr std::uint64_t kFdFilestatGet = 1ull << 21;
inline constexpr std::uint64_t kFdFilestatSetSize = 1ull << 22;
inline constexpr std::uint64_t kFdFilestatSetTimes = 1ull << 23;
inline constexpr std::uint64_t kPathSymlink = 1ull << 24;
inline constexpr std::uint64_t kPathRemoveDirectory = 1ull << 25;
inline constexpr std::uint64_t kPathUnlinkFile = 1ull << 26;
inline constexpr std::uint64_t kPollFdReadwrite = 1ull << 27;
inline constexpr std::uint64_t kSockShutdown = 1ull << 28;
inline constexpr std::uint64_t kSockAccept = 1ull << 29;
inline constexpr std::uint64_t kAll = (1ull << 30) - 1;

// What the host grants by descriptor type. A right can only be dropped (fd_fdstat_set_rights,
// path_open narrowing), never added.
inline constexpr std::uint64_t kRegularFile =
    kFdDatasync | kFdRead | kFdSeek | kFdFdstatSetFlags | kFdSync | kFdTell | kFdWrite | kFdAdvise |
    kFdAllocate | kFdFilestatGet | kFdFilestatSetSize | kFdFilestatSetTimes | kPollFdReadwrite;
inline constexpr std::uint64_t kDirectory =
    kFdFdstatSetFlags | kFdSync | kFdDatasync | kPathCreateDirectory | kPathCreateFile |
    kPathLinkSource | kPathLinkTarget | kPathOpen | kFdReaddir | kPathReadlink | kPathRenameSource |
    kPathRenameTarget | kPathFilestatGet | kPathFilestatSetSize | kPathFilestatSetTimes |
    kFdFilestatGet | kFdFilestatSetTimes | kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile |
    kPollFdReadwrite;
// What a directory passes on to descriptors opened through it.
inline constexpr std::uint64_t kDirectoryInheriting = kDirectory | kRegularFile;
// stdio and the carrier: no seek/tell (so wasi-libc's isatty() works on a tty), no sync, size or
// times: the host file description belongs to the worker.
inline constexpr std::uint64_t kStreamIn =
    kFdRead | kFdFdstatSetFlags | kFdFilestatGet | kPollFdReadwrite;
inline constexpr std::uint64_t kStreamOut =
    kFdWrite | kFdFdstatSetFlags | kFdFilestatGet | kPollFdReadwrite;
}  // namespace rights

// filetype
// clang-format off
enum class Filetype : std::uint8_t {
  kUnknown = 0, kBlockDevice = 1, kCharacterDevice = 2, kDirectory = 3, kRegularFile = 4,
  kSocketDgram = 5, kSocketStream = 6, kSymbolicLink = 7,
};
// clang-format on

// fdflags
inline constexpr std::uint16_t kFdflagAppend = 1 << 0;
inline constexpr std::uint16_t kFdflagDsync = 1 << 1;
inline constexpr std::uint16_t kFdflagNonblock = 1 << 2;
inline constexpr std::uint16_t kFdflagRsync = 1 << 3;
inline constexpr std::uint16_t kFdflagSync = 1 << 4;
inline constexpr std::uint16_t kFdflagsAll = (1 << 5) - 1;

// oflags (path_open)
inline constexpr std::uint16_t kOflagCreat = 1 << 0;
inline constexpr std::uint16_t kOflagDirectory = 1 << 1;
inline constexpr std::uint16_t kOflagExcl = 1 << 2;
inline constexpr std::uint16_t kOflagTrunc = 1 << 3;
inline constexpr std::uint16_t kOflagsAll = (1 << 4) - 1;

// lookupflags
inline constexpr std::uint32_t kLookupSymlinkFollow = 1 << 0;

// fstflags (*_set_times)
inline constexpr std::uint16_t kFstAtim = 1 << 0;
inline constexpr std::uint16_t kFstAtimNow = 1 << 1;
inline constexpr std::uint16_t kFstMtim = 1 << 2;
inline constexpr std::uint16_t kFstMtimNow = 1 << 3;
inline constexpr std::uint16_t kFstAll = (1 << 4) - 1;

// whence (fd_seek)
inline constexpr std::uint8_t kWhenceSet = 0;
inline constexpr std::uint8_t kWhenceCur = 1;
inline constexpr std::uint8_t kWhenceEnd = 2;

// advice (fd_advise)
inline constexpr std::uint8_t kAdviceNoreuse = 5;  // normal 0 … noreuse 5, as in POSIX

// clockid
inline constexpr std::uint32_t kClockRealtime = 0;
inline constexpr std::uint32_t kClockMonotonic = 1;
inline constexpr std::uint32_t kClockProcessCputime = 2;
inline constexpr std::uint32_t kClockThreadCputime = 3;

// eventtype, subclockflags, eventrwflags (poll_oneoff)
inline constexpr std::uint8_t kEventClock = 0;
inline constexpr std::uint8_t kEventFdRead = 1;
inline constexpr std::uint8_t kEventFdWrite = 2;
inline constexpr std::uint16_t kSubclockAbstime = 1 << 0;
inline constexpr std::uint16_t kEventFdReadwriteHangup = 1 << 0;

// preopentype
inline constexpr std::uint8_t kPreopentypeDir = 0;

// Struct layouts: size and field offsets in guest memory.
namespace layout {
inline constexpr std::uint32_t kIovecSize = 8;  // buf u32 @0, buf_len u32 @4
inline constexpr std::uint32_t kFdstatSize = 24;
inline constexpr std::uint32_t kFdstatFiletype = 0;           // u8
inline constexpr std::uint32_t kFdstatFlags = 2;              // u16
inline constexpr std::uint32_t kFdstatRightsBase = 8;         // u64
inline constexpr std::uint32_t kFdstatRightsInheriting = 16;  // u64
inline constexpr std::uint32_t kFilestatSize = 64;
inline constexpr std::uint32_t kFilestatDev = 0;
inline constexpr std::uint32_t kFilestatIno = 8;
inline constexpr std::uint32_t kFilestatFiletype = 16;  // u8
inline constexpr std::uint32_t kFilestatNlink = 24;
inline constexpr std::uint32_t kFilestatFileSize = 32;
inline constexpr std::uint32_t kFilestatAtim = 40;
inline constexpr std::uint32_t kFilestatMtim = 48;
inline constexpr std::uint32_t kFilestatCtim = 56;
inline constexpr std::uint32_t kPrestatSize = 8;  // tag u8 @0, dir.pr_name_len u32 @4
inline constexpr std::uint32_t kPrestatNameLen = 4;
inline constexpr std::uint32_t kDirentSize = 24;    // followed by d_namlen bytes of name
inline constexpr std::uint32_t kDirentNext = 0;     // u64 cookie of the next entry
inline constexpr std::uint32_t kDirentIno = 8;      // u64
inline constexpr std::uint32_t kDirentNamlen = 16;  // u32
inline constexpr std::uint32_t kDirentType = 20;    // u8
inline constexpr std::uint32_t kSubscriptionSize = 48;
inline constexpr std::uint32_t kSubscriptionUserdata = 0;         // u64
inline constexpr std::uint32_t kSubscriptionTag = 8;              // u8 eventtype
inline constexpr std::uint32_t kSubscriptionClockId = 16;         // u32
inline constexpr std::uint32_t kSubscriptionClockTimeout = 24;    // u64
inline constexpr std::uint32_t kSubscriptionClockPrecision = 32;  // u64
inline constexpr std::uint32_t kSubscriptionClockFlags = 40;      // u16
inline constexpr std::uint32_t kSubscriptionFd = 16;              // u32
inline constexpr std::uint32_t kEventSize = 32;
inline constexpr std::uint32_t kEventUserdata = 0;  // u64
inline constexpr std::uint32_t kEventError = 8;     // u16
inline constexpr std::uint32_t kEventType = 10;     // u8
inline constexpr std::uint32_t kEventNbytes = 16;   // u64
inline constexpr std::uint32_t kEventFlags = 24;    // u16
}  // namespace layout

}  // namespace elastos::compute::wasi::abi
