// dag-pb (codec 0x70): the protobuf envelope of UnixFS blocks.
// Spec: https://ipld.io/specs/codecs/dag-pb/spec/
//
//   message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3;
//   } message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
//
// The canonical encoding writes every link (field 2) before Data (field 1), and each link's
// fields in the order Hash, Name, Tsize. The encoding is documented with an example in
// docs/formats/cid.md.
//
// Thread-safety: free functions on values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/cid.h"

namespace elastos::ipld {

struct PbLink {
  Cid hash;
  std::optional<std::string> name;  // UnixFS file links carry an empty name, which is encoded
  std::optional<std::uint64_t> tsize;

  friend bool operator==(const PbLink&, const PbLink&) = default;
};

struct PbNode {
  std::vector<PbLink> links;  // in wire order; EncodePbNode does not sort them
  std::optional<Bytes> data;

  friend bool operator==(const PbNode&, const PbNode&) = default;
};

// The canonical encoding: links (field 2) in the given order, then data (field 1).
// Directory builders sort links by name bytes before calling this (see SortLinks).
Bytes EncodePbNode(const PbNode& node);
// Size EncodePbNode would produce, without building it.
std::size_t EncodedPbNodeSize(const PbNode& node);

// Strict decoding (reason "dag_pb_invalid"): rejects unknown fields, wrong wire types,
// duplicate fields, PBLink fields out of order, a link without a Hash or with a Hash that is not
// a CID we support, Links after Data when Links also came before it, truncated fields and
// trailing garbage. Data before all Links is accepted: the spec requires it (older IPFS data
// exists in that order), and the block's hash pins its exact bytes whichever order is used.
Result<PbNode> DecodePbNode(ByteView bytes);

// Sorts links by name bytes, stably, as @ipld/dag-pb's prepare() and go-merkledag do (absent
// and empty names compare equal and sort first).
void SortLinks(std::vector<PbLink>& links);

}  // namespace elastos::ipld
