#include "namespace/dag_pb.h"

#include <algorithm>

#include "namespace/protobuf.h"

namespace elastos::ipld {
namespace {

constexpr char kReason[] = "dag_pb_invalid";

Status Invalid(std::string message) { return InvalidArgument(kReason, std::move(message)); }

std::size_t LinkBodySize(const PbLink& link) {
  std::size_t n = pb::BytesFieldSize(link.hash.EncodedSize());
  if (link.name) n += pb::BytesFieldSize(link.name->size());
  if (link.tsize) n += 1 + VarintSize(*link.tsize);
  return n;
}

Result<PbLink> DecodeLink(ByteView in, std::size_t index) {
  const std::string where = "link " + std::to_string(index) + ": ";
  PbLink link;
  bool has_hash = false;
  std::uint32_t last = 0;
  while (!in.empty()) {
    auto f = pb::ReadField(in, kReason);
    if (!f.ok()) return f.status().WithContext("link " + std::to_string(index));
    // Fields must come in field-number order, each at most once: one encoding per link.
    if (f->number <= last) {
      return Invalid(where + "field " + std::to_string(f->number) +
                     " is duplicated or out of order");
    }
    last = f->number;
    switch (f->number) {
      case 1: {
        if (f->type != pb::WireType::kLengthDelimited) return Invalid(where + "Hash must be bytes");
        auto cid = Cid::FromBytes(f->bytes);
        if (!cid.ok()) {
          return Invalid(where + "Hash is not a supported CID: " + cid.status().message());
        }
        link.hash = *cid;
        has_hash = true;
        break;
      }
      case 2:
        if (f->type != pb::WireType::kLengthDelimited) {
          return Invalid(where + "Name must be a string");
        }
        link.name = std::string(AsChars(f->bytes));
        break;
      case 3:
        if (f->type != pb::WireType::kVarint) return Invalid(where + "Tsize must be a varint");
        link.tsize = f->value;
        break;
      default:
        return Invalid(where + "unknown field " + std::to_string(f->number));
    }
  }
  if (!has_hash) return Invalid(where + "has no Hash");
  return link;
}

}  // namespace

std::size_t EncodedPbNodeSize(const PbNode& node) {
  std::size_t n = 0;
  for (const PbLink& link : node.links) n += pb::BytesFieldSize(LinkBodySize(link));
  if (node.data) n += pb::BytesFieldSize(node.data->size());
  return n;
}

Bytes EncodePbNode(const PbNode& node) {
  Bytes out;
  out.reserve(EncodedPbNodeSize(node));
  for (const PbLink& link : node.links) {
    pb::AppendKey(out, 2, pb::WireType::kLengthDelimited);
    AppendVarint(out, LinkBodySize(link));
    pb::AppendKey(out, 1, pb::WireType::kLengthDelimited);
    AppendVarint(out, link.hash.EncodedSize());
    link.hash.AppendBytes(out);
    if (link.name) pb::AppendBytesField(out, 2, AsBytes(*link.name));
    if (link.tsize) pb::AppendVarintField(out, 3, *link.tsize);
  }
  if (node.data) pb::AppendBytesField(out, 1, *node.data);
  return out;
}

Result<PbNode> DecodePbNode(ByteView bytes) {
  PbNode node;
  bool links_before_data = false;
  while (!bytes.empty()) {
    auto f = pb::ReadField(bytes, kReason);
    if (!f.ok()) return f.status();
    if (f->type != pb::WireType::kLengthDelimited) {
      return Invalid("PBNode field " + std::to_string(f->number) + " must be length-delimited");
    }
    if (f->number == 1) {
      if (node.data) return Invalid("PBNode has two Data fields");
      node.data = Bytes(f->bytes.begin(), f->bytes.end());
      links_before_data = !node.links.empty();
    } else if (f->number == 2) {
      if (node.data && links_before_data) return Invalid("PBNode has Links on both sides of Data");
      ELASTOS_ASSIGN_OR_RETURN(PbLink link, DecodeLink(f->bytes, node.links.size()));
      node.links.push_back(std::move(link));
    } else {
      return Invalid("PBNode has unknown field " + std::to_string(f->number));
    }
  }
  return node;
}

void SortLinks(std::vector<PbLink>& links) {
  std::stable_sort(links.begin(), links.end(), [](const PbLink& a, const PbLink& b) {
    const std::string_view x = a.name ? std::string_view(*a.name) : std::string_view();
    const std::string_view y = b.name ? std::string_view(*b.name) : std::string_view();
    return x < y;  // char_traits<char> compares as unsigned char: name byte order
  });
}

}  // namespace elastos::ipld
