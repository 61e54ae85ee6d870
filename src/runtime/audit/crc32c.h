// CRC-32C (Castagnoli, the iSCSI/ext4/LevelDB polynomial 0x1EDC6F41, reflected 0x82F63B78) for
// the audit log's frame checksums.
//
// Why CRC-32C and not zlib's CRC-32: it has a better Hamming distance at the frame sizes we use,
// it is what LevelDB's log format (our model) uses, and it needs no dependency. A CRC detects
// accidental damage only; tampering is caught by the Merkle tree and the signed checkpoints.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace elastos::audit {

// Extends `crc` (the CRC-32C of some bytes A) to the CRC-32C of A || data. Crc32c(0, x) is the
// CRC-32C of x alone.
std::uint32_t Crc32cExtend(std::uint32_t crc, ByteView data);
inline std::uint32_t Crc32c(ByteView data) { return Crc32cExtend(0, data); }

}  // namespace elastos::audit
