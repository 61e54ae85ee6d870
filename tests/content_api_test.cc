// The content store and the IPFS trustless gateway (src/server/content_service.h,
// src/server/api_content.h), in-process: a real Runtime on a temporary data directory, the real
// HTTP server on loopback, and the project's own CAR reader and UnixFS importer as the
// independent check of what comes back.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>

#include "common/testing/temp_dir.h"
#include "namespace/car.h"
#include "namespace/dag_pb.h"
#include "namespace/unixfs.h"
#include "runtime/audit/verify.h"
#include "runtime/runtime.h"
#include "server/api_content.h"
#include "server/content_service.h"
#include "tests/http_client.h"

namespace elastos::ipld {
// gtest prints CIDs in their string form.
void PrintTo(const Cid& cid, std::ostream* os) { *os << cid.ToString(); }
}  // namespace elastos::ipld

namespace elastos::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ipld::Cid;
using runtime::SessionKind;
using Headers = std::map<std::string, std::string>;

constexpr std::size_t kMiB = std::size_t{1} << 20;

Bytes Det(std::size_t n, std::uint32_t seed) {
  std::mt19937 g(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(g());
  return b;
}
std::string Str(ByteView b) { return std::string(AsChars(b)); }

void WriteFile(const fs::path& p, std::string_view data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}
std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The library's own import of `data` (the independent reference for CIDs and block sets).
Cid ReferenceImport(ByteView data, ipld::MemoryBlockstore* store,
                    const ipld::UnixFsProfile& profile = ipld::UnixFsProfile::V1_2025()) {
  ipld::FileImporter importer(profile, store);
  EXPECT_TRUE(importer.Write(data).ok());
  auto r = importer.Finish();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r->cid;
}

// Blocks under `root` in depth-first pre-order, each once (what `ipfs dag export` writes).
std::vector<Cid> PreOrder(const Cid& root, ipld::MemoryBlockstore& store) {
  std::vector<Cid> out;
  std::set<Cid> seen;
  std::function<void(const Cid&)> visit = [&](const Cid& cid) {
    if (!seen.insert(cid).second) return;
    out.push_back(cid);
    if (cid.codec() != ipld::Codec::kDagPb) return;
    auto block = store.Get(cid);
    ASSERT_TRUE(block.ok());
    auto pb = ipld::DecodePbNode(*block);
    ASSERT_TRUE(pb.ok());
    for (const auto& l : pb->links) visit(l.hash);
  };
  visit(root);
  return out;
}

struct ParsedCar {
  std::vector<Cid> roots;
  std::vector<Cid> order;
  ipld::MemoryBlockstore blocks;
};

// Reads a CAR body back with the project's CarReader (which verifies every block) and verifies
// each block once more by hand.
ParsedCar ParseCar(const std::string& body, const fs::path& scratch) {
  ParsedCar out;
  const fs::path file = scratch / "reply.car";
  WriteFile(file, body);
  auto reader = ipld::CarReader::Open(file);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  out.roots = (*reader)->roots();
  for (;;) {
    auto block = (*reader)->Next();
    EXPECT_TRUE(block.ok()) << block.status().ToString();
    if (!block.ok() || !block->has_value()) break;
    const auto& b = **block;
    EXPECT_TRUE(b.cid.VerifyBlock(b.data).ok()) << b.cid.ToString();
    out.order.push_back(b.cid);
    EXPECT_TRUE(out.blocks.Put(b.cid, b.data).ok());
  }
  fs::remove(file);
  return out;
}

json::value ParseJson(const std::string& body) {
  std::error_code ec;
  json::value v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return v;
}
std::string ErrorReason(const elastos::testing::HttpReply& r) {
  json::value v = ParseJson(r.body);
  if (!v.is_object() || !v.as_object().contains("error")) return "<no error: " + r.body.substr(0, 200) + ">";
  return std::string(v.at("error").at("reason").as_string());
}

class ContentApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::RuntimeOptions o;
    o.data_dir = dir_.path() / "data";
    auto r = runtime::Runtime::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rt_ = std::move(*r);
    content_ = std::make_unique<ContentService>(o.data_dir, limits_);
    ctx_.runtime = rt_.get();
    http::Router router;
    AddContentRoutes(router, ctx_, *content_);
    auto s = http::HttpServer::Listen(std::move(router), http::ServerOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    server_->Start();
    client_ = std::make_unique<elastos::testing::HttpClient>(server_->port());
    op_ = Bearer(SessionKind::kClient, "", "op", false);
  }

  std::string Bearer(SessionKind kind, const std::string& instance, const std::string& owner, bool agent) {
    auto s = rt_->StartSession(kind, instance, owner, agent);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->bearer : "";
  }

  elastos::testing::HttpReply Call(const std::string& method, const std::string& target,
                                   const std::string& body = "", Headers headers = {},
                                   const std::string* bearer = nullptr) {
    const std::string& b = bearer ? *bearer : op_;
    if (!b.empty()) headers["Authorization"] = "Bearer " + b;
    return client_->Request(method, target, body, headers);
  }
  elastos::testing::HttpReply Get(const std::string& target, Headers headers = {}) {
    return Call("GET", target, "", std::move(headers));
  }

  // PUTs `data` and returns its CID string (checking the answer).
  std::string PutFile(const std::string& data, const std::string& query = "") {
    auto r = Call("PUT", "/api/content" + query, data);
    EXPECT_EQ(r.status, 201) << r.body;
    json::value v = ParseJson(r.body);
    EXPECT_EQ(v.at("size").to_number<std::uint64_t>(), data.size());
    EXPECT_EQ(r.headers["location"], "/ipfs/" + std::string(v.at("cid").as_string()));
    return std::string(v.at("cid").as_string());
  }

  // A small tree, imported by the library into a CAR on disk; returns (root, CAR bytes).
  std::pair<Cid, std::string> DirectoryCar(ipld::MemoryBlockstore* reference) {
    const fs::path tree = dir_.path() / "tree";
    WriteFile(tree / "readme.txt", "hello gateway\n");
    WriteFile(tree / "sub" / "deeper" / "note.txt", "deep note\n");
    WriteFile(tree / "sub" / "big.bin", Str(Det(2 * kMiB + 100, 7)));
    WriteFile(tree / "dup-1", "same bytes\n");
    WriteFile(tree / "dup-2", "same bytes\n");
    fs::create_directories(tree / "empty");
    ipld::ImportOptions options;
    options.sink = reference;
    auto root = ipld::ImportPath(tree, options);
    EXPECT_TRUE(root.ok()) << root.status().ToString();
    const fs::path car = dir_.path() / "tree.car";
    auto writer = ipld::CarWriter::Create(car, {root->cid});
    EXPECT_TRUE(writer.ok());
    options.sink = writer->get();
    EXPECT_TRUE(ipld::ImportPath(tree, options).ok());
    EXPECT_TRUE((*writer)->Finish().ok());
    return {root->cid, ReadAll(car)};
  }

  elastos::testing::TempDir dir_;
  ContentLimits limits_;
  std::unique_ptr<runtime::Runtime> rt_;
  std::unique_ptr<ContentService> content_;
  ApiContext ctx_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<elastos::testing::HttpClient> client_;
  std::string op_;
};

TEST_F(ContentApiTest, PutThenGetReturnsTheSameBytesUnderTheLibrarysCid) {
  const Bytes data = Det(3 * kMiB + 5, 1);  // four 1 MiB leaves under one root
  const std::string cid = PutFile(Str(data));
  ipld::MemoryBlockstore reference;
  EXPECT_EQ(cid, ReferenceImport(data, &reference).ToString());

  auto r = Get("/ipfs/" + cid);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_TRUE(r.body == Str(data));
  EXPECT_EQ(r.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(r.headers["etag"], "\"" + cid + "\"");
  EXPECT_EQ(r.headers["cache-control"], "public, max-age=29030400, immutable");
  EXPECT_EQ(r.headers["x-ipfs-path"], "/ipfs/" + cid);
  EXPECT_EQ(r.headers["x-ipfs-roots"], cid);
  EXPECT_EQ(r.headers["accept-ranges"], "bytes");

  // The same bytes under CIDv0 when asked for the `ipfs add` default profile.
  const std::string v0 = PutFile(Str(data), "?profile=unixfs-v0-2015");
  EXPECT_EQ(v0, ReferenceImport(data, nullptr, ipld::UnixFsProfile::V0_2015()).ToString());
  EXPECT_EQ(v0.substr(0, 2), "Qm");
  EXPECT_TRUE(Get("/ipfs/" + v0).body == Str(data));

  // Empty files are files too.
  const std::string empty = PutFile("");
  auto e = Get("/ipfs/" + empty);
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.body, "");
}

TEST_F(ContentApiTest, RawBlocksHashToTheirCid) {
  const Bytes data = Det(2 * kMiB + 3, 2);
  const std::string cid_text = PutFile(Str(data));
  const Cid cid = *Cid::Parse(cid_text);
  for (const Headers& how : {Headers{{"Accept", "application/vnd.ipld.raw"}}, Headers{}}) {
    auto r = Get("/ipfs/" + cid_text + (how.empty() ? "?format=raw" : ""), how);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/vnd.ipld.raw");
    EXPECT_EQ(r.headers["etag"], "\"" + cid_text + ".raw\"");
    EXPECT_EQ(r.headers["content-disposition"], "attachment; filename=\"" + cid_text + ".bin\"");
    EXPECT_EQ(r.headers["vary"], "Accept");
    // The client's own check: SHA-256 of the body is the CID's digest.
    EXPECT_EQ(crypto::Sha256::Hash(AsBytes(r.body)), cid.digest());
    EXPECT_TRUE(cid.VerifyBlock(AsBytes(r.body)).ok());
    // The root names its leaves; each leaf is served the same way.
    auto pb = ipld::DecodePbNode(AsBytes(r.body));
    ASSERT_TRUE(pb.ok());
    ASSERT_EQ(pb->links.size(), 3u);
    const Cid leaf = pb->links[1].hash;
    auto l = Get("/ipfs/" + leaf.ToString() + "?format=raw");
    ASSERT_EQ(l.status, 200);
    EXPECT_TRUE(leaf.VerifyBlock(AsBytes(l.body)).ok());
    EXPECT_TRUE(l.body == Str(ByteView(data).subspan(kMiB, kMiB)));
    // Content-Location names the format when Accept chose it.
    if (!how.empty()) {
      EXPECT_EQ(r.headers["content-location"], "/ipfs/" + cid_text + "?format=raw");
    } else {
      EXPECT_EQ(r.headers.count("content-location"), 0u);
    }
  }
}

TEST_F(ContentApiTest, CarExportReadsBackWithOurReaderInDepthFirstOrder) {
  const Bytes data = Det(3 * kMiB + 12345, 3);
  const std::string cid_text = PutFile(Str(data));
  ipld::MemoryBlockstore reference;
  const Cid cid = ReferenceImport(data, &reference);
  for (const auto& [target, headers] :
       std::vector<std::pair<std::string, Headers>>{{"/ipfs/" + cid_text + "?format=car", {}},
                                                    {"/ipfs/" + cid_text,
                                                     {{"Accept", "application/vnd.ipld.car; version=1; order=dfs"}}}}) {
    auto r = Get(target, headers);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(r.headers["content-type"], "application/vnd.ipld.car; version=1; order=dfs; dups=n");
    EXPECT_EQ(r.headers["content-disposition"], "attachment; filename=\"" + cid_text + ".car\"");
    EXPECT_EQ(r.headers["cache-control"], "public, max-age=29030400, immutable");
    EXPECT_TRUE(r.headers["etag"].starts_with("\"" + cid_text + ".car."));
    ParsedCar car = ParseCar(r.body, dir_.path());
    ASSERT_EQ(car.roots, std::vector<Cid>{cid});
    EXPECT_EQ(car.order, PreOrder(cid, reference));  // the whole DAG, root first, nothing extra
    // …and it is the file: the library reads it back from the CAR's blocks.
    auto back = ipld::ReadFile(cid, car.blocks, UINT64_MAX);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
  }
}

TEST_F(ContentApiTest, DirectoryCarImportsAndPathsResolve) {
  ipld::MemoryBlockstore reference;
  const auto [root, car_bytes] = DirectoryCar(&reference);
  const std::string r_text = root.ToString();
  auto put = Call("POST", "/api/content?format=car", car_bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  json::value v = ParseJson(put.body);
  ASSERT_EQ(v.at("roots").as_array().size(), 1u);
  EXPECT_EQ(v.at("roots").at(0).as_string(), r_text);
  EXPECT_EQ(v.at("blocks").to_number<std::size_t>(), reference.size());

  // Plain bytes through a path.
  auto note = Get("/ipfs/" + r_text + "/sub/deeper/note.txt");
  ASSERT_EQ(note.status, 200) << note.body;
  EXPECT_EQ(note.body, "deep note\n");
  EXPECT_EQ(note.headers["x-ipfs-path"], "/ipfs/" + r_text + "/sub/deeper/note.txt");
  auto note_cid = ipld::ResolvePath(root, "sub/deeper/note.txt", reference);
  ASSERT_TRUE(note_cid.ok());
  EXPECT_EQ(note.headers["etag"], "\"" + note_cid->ToString() + "\"");
  EXPECT_EQ(note.headers["x-ipfs-roots"],
            r_text + "," + ipld::ResolvePath(root, "sub", reference)->ToString() + "," +
                ipld::ResolvePath(root, "sub/deeper", reference)->ToString() + "," + note_cid->ToString());

  // A CAR for the path: root = the requested CID; the path's directories, then the target's DAG.
  auto car = Get("/ipfs/" + r_text + "/sub/big.bin?format=car");
  ASSERT_EQ(car.status, 200) << car.body.substr(0, 300);
  ParsedCar parsed = ParseCar(car.body, dir_.path());
  ASSERT_EQ(parsed.roots, std::vector<Cid>{root});
  const Cid sub = *ipld::ResolvePath(root, "sub", reference);
  const Cid big = *ipld::ResolvePath(root, "sub/big.bin", reference);
  std::vector<Cid> expected{root, sub};
  for (const Cid& c : PreOrder(big, reference)) expected.push_back(c);
  EXPECT_EQ(parsed.order, expected);
  // A client verifies the path from the root with nothing but the CAR's blocks.
  auto resolved = ipld::ResolvePath(root, "sub/big.bin", parsed.blocks);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  auto bytes = ipld::ReadFile(*resolved, parsed.blocks, UINT64_MAX);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == Det(2 * kMiB + 100, 7));

  // dag-scope=block: the path's blocks and the target's root block only.
  auto block = Get("/ipfs/" + r_text + "/sub/big.bin?format=car&dag-scope=block");
  ASSERT_EQ(block.status, 200);
  EXPECT_EQ(ParseCar(block.body, dir_.path()).order, (std::vector<Cid>{root, sub, big}));
  // dag-scope=entity of a directory: its own block (enough to list it).
  auto entity = Get("/ipfs/" + r_text + "/sub?format=car&dag-scope=entity");
  EXPECT_EQ(ParseCar(entity.body, dir_.path()).order, (std::vector<Cid>{root, sub}));
  // The whole directory, every block once, in the reference's depth-first order.
  auto all = Get("/ipfs/" + r_text + "?format=car");
  EXPECT_EQ(ParseCar(all.body, dir_.path()).order, PreOrder(root, reference));

  // A directory without a format is a JSON listing.
  auto list = Get("/ipfs/" + r_text + "/sub");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.headers["content-type"], "application/json");
  json::value l = ParseJson(list.body);
  EXPECT_EQ(l.at("cid").as_string(), sub.ToString());
  const json::array& entries = l.at("entries").as_array();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].at("name").as_string(), "big.bin");
  EXPECT_EQ(entries[0].at("type").as_string(), "file");
  EXPECT_EQ(entries[0].at("size").to_number<std::uint64_t>(), 2 * kMiB + 100);
  EXPECT_EQ(entries[1].at("name").as_string(), "deeper");
  EXPECT_EQ(entries[1].at("type").as_string(), "directory");

  // Missing entries, and files used as directories, are 404 path_not_found.
  auto missing = Get("/ipfs/" + r_text + "/sub/nope.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorReason(missing), "path_not_found");
  auto through_file = Get("/ipfs/" + r_text + "/readme.txt/x?format=car");
  EXPECT_EQ(through_file.status, 404);
  EXPECT_EQ(ErrorReason(through_file), "path_not_found");
  // '..' never reaches the handler.
  auto dotdot = Get("/ipfs/" + r_text + "/sub/../readme.txt");
  EXPECT_EQ(dotdot.status, 400);
  EXPECT_EQ(ErrorReason(dotdot), "bad_path");
}

TEST_F(ContentApiTest, DuplicateBlocksAreSentOnceUnlessAskedFor) {
  ipld::MemoryBlockstore reference;
  const auto [root, car_bytes] = DirectoryCar(&reference);
  ASSERT_EQ(Call("POST", "/api/content?format=car", car_bytes).status, 201);
  const Cid dup = *ipld::ResolvePath(root, "dup-1", reference);
  auto count = [&](const std::vector<Cid>& order) { return std::count(order.begin(), order.end(), dup); };
  auto once = Get("/ipfs/" + root.ToString() + "?format=car");
  EXPECT_EQ(count(ParseCar(once.body, dir_.path()).order), 1);
  auto twice = Get("/ipfs/" + root.ToString(),
                   {{"Accept", "application/vnd.ipld.car; version=1; order=dfs; dups=y"}});
  ASSERT_EQ(twice.status, 200);
  EXPECT_EQ(twice.headers["content-type"], "application/vnd.ipld.car; version=1; order=dfs; dups=y");
  EXPECT_EQ(count(ParseCar(twice.body, dir_.path()).order), 2);
  EXPECT_NE(once.headers["etag"], twice.headers["etag"]);
}

TEST_F(ContentApiTest, RangesAndEntityBytesReadOnlyWhatTheyNeed) {
  const Bytes data = Det(3 * kMiB + 5, 4);
  const std::string cid = PutFile(Str(data));
  auto r = Get("/ipfs/" + cid, {{"Range", "bytes=1048570-1048585"}});  // across leaves 0 and 1
  ASSERT_EQ(r.status, 206) << r.body;
  EXPECT_EQ(r.headers["content-range"], "bytes 1048570-1048585/" + std::to_string(data.size()));
  EXPECT_TRUE(r.body == Str(ByteView(data).subspan(1048570, 16)));
  auto suffix = Get("/ipfs/" + cid, {{"Range", "bytes=-7"}});
  ASSERT_EQ(suffix.status, 206);
  EXPECT_TRUE(suffix.body == Str(ByteView(data).subspan(data.size() - 7)));
  auto open = Get("/ipfs/" + cid, {{"Range", "bytes=3145728-"}});
  ASSERT_EQ(open.status, 206);
  EXPECT_EQ(open.body.size(), 5u);
  auto past = Get("/ipfs/" + cid, {{"Range", "bytes=99999999-"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.headers["content-range"], "bytes */" + std::to_string(data.size()));

  // entity-bytes inside the second leaf: the root and that leaf, nothing else.
  ipld::MemoryBlockstore reference;
  const Cid root = ReferenceImport(data, &reference);
  auto pb = ipld::DecodePbNode(*reference.Get(root));
  auto car = Get("/ipfs/" + cid + "?format=car&entity-bytes=1048600:1048700");
  ASSERT_EQ(car.status, 200) << car.body;
  EXPECT_EQ(ParseCar(car.body, dir_.path()).order, (std::vector<Cid>{root, pb->links[1].hash}));
  auto tail = Get("/ipfs/" + cid + "?format=car&entity-bytes=-3:*");  // the 5-byte last leaf
  EXPECT_EQ(ParseCar(tail.body, dir_.path()).order, (std::vector<Cid>{root, pb->links[3].hash}));
  auto across = Get("/ipfs/" + cid + "?format=car&entity-bytes=-10:-2");
  EXPECT_EQ(ParseCar(across.body, dir_.path()).order,
            (std::vector<Cid>{root, pb->links[2].hash, pb->links[3].hash}));
  auto nothing = Get("/ipfs/" + cid + "?format=car&entity-bytes=99999999:*");  // as dag-scope=block
  EXPECT_EQ(ParseCar(nothing.body, dir_.path()).order, (std::vector<Cid>{root}));
  EXPECT_EQ(Get("/ipfs/" + cid + "?format=car&entity-bytes=x").status, 400);
}

TEST_F(ContentApiTest, RangeReadsOverADeepTreeMatchTheBytes) {
  // Tiny chunks and fan-out give a four-level tree, so ranges cross internal nodes.
  ipld::UnixFsProfile profile = ipld::UnixFsProfile::V1_2025();
  profile.chunk_size = 100;
  profile.max_children = 3;
  const Bytes data = Det(5000, 5);
  auto put = content_->Put(data, profile);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  std::mt19937 g(9);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t offset = g() % (data.size() + 1);
    const std::uint64_t length = g() % 700;
    auto r = content_->ReadFile(put->cid, "", offset, length);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::uint64_t n = std::min<std::uint64_t>(length, data.size() - offset);
    ASSERT_EQ(r->data.size(), n);
    EXPECT_TRUE(std::equal(r->data.begin(), r->data.end(), data.begin() + static_cast<std::ptrdiff_t>(offset)));
    EXPECT_EQ(r->total_size, data.size());
  }
  EXPECT_EQ(content_->ReadFile(put->cid, "", data.size() + 1).status().reason(), "range_not_satisfiable");
  // The same file over HTTP, whole and as a CAR.
  EXPECT_TRUE(Get("/ipfs/" + put->cid.ToString()).body == Str(data));
  ipld::MemoryBlockstore reference;
  ASSERT_EQ(ReferenceImport(data, &reference, profile), put->cid);
  auto car = Get("/ipfs/" + put->cid.ToString() + "?format=car");
  EXPECT_EQ(ParseCar(car.body, dir_.path()).order, PreOrder(put->cid, reference));
}

TEST_F(ContentApiTest, ErrorsAreJson) {
  const std::string absent = Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("never stored")).ToString();
  for (const char* q : {"", "?format=raw", "?format=car"}) {
    auto r = Get("/ipfs/" + absent + q);
    EXPECT_EQ(r.status, 404) << q;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(ErrorReason(r), "block_not_found");
    EXPECT_EQ(r.headers["cache-control"], "no-store");  // errors are not cached
  }
  EXPECT_EQ(Get("/ipfs/" + absent, {{"Cache-Control", "only-if-cached"}}).status, 412);
  auto bad = Get("/ipfs/not-a-cid");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorReason(bad), "bad_cid");
  EXPECT_EQ(Get("/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdX").status, 404);  // v0, absent
  const std::string cid = PutFile("x");
  auto fmt = Get("/ipfs/" + cid + "?format=tar");
  EXPECT_EQ(fmt.status, 400);
  EXPECT_EQ(ErrorReason(fmt), "unsupported_format");
  auto v2 = Get("/ipfs/" + cid, {{"Accept", "application/vnd.ipld.car; version=2"}});
  EXPECT_EQ(v2.status, 406);
  EXPECT_EQ(ErrorReason(v2), "not_acceptable");
  EXPECT_EQ(Get("/ipfs/" + cid, {{"Accept", "application/vnd.ipld.dag-json"}}).status, 406);
  // Browsers' Accept falls back to the bytes.
  EXPECT_EQ(Get("/ipfs/" + cid, {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}}).body, "x");
  // Preference by q.
  auto pref = Get("/ipfs/" + cid, {{"Accept", "application/vnd.ipld.car;q=0.5, application/vnd.ipld.raw"}});
  EXPECT_EQ(pref.headers["content-type"], "application/vnd.ipld.raw");
  EXPECT_EQ(Get("/ipfs/" + cid + "?format=car&dag-scope=some").status, 400);
  EXPECT_EQ(Get("/ipfs/" + cid + "?format=car&car-version=2").status, 400);

  // Malformed CARs are 400s naming the block; nothing of them is stored.
  const Bytes good = ToBytes("good block");
  const Bytes evil = ToBytes("evil block");
  const Cid good_cid = Cid::ForBlock(1, ipld::Codec::kRaw, good);
  const Cid claimed = Cid::ForBlock(1, ipld::Codec::kRaw, ToBytes("what it claims"));
  Bytes car;
  const Bytes header = ipld::EncodeCarHeader({good_cid});
  AppendVarint(car, header.size());
  Append(car, header);
  for (const auto& [c, b] : {std::pair{good_cid, good}, std::pair{claimed, evil}}) {
    AppendVarint(car, c.EncodedSize() + b.size());
    c.AppendBytes(car);
    Append(car, b);
  }
  auto r = Call("POST", "/api/content?format=car", Str(car));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorReason(r), "block_hash_mismatch");
  EXPECT_NE(r.body.find("block #1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(claimed.ToString()), std::string::npos) << r.body;
  EXPECT_FALSE(content_->Has(good_cid));
  auto truncated = Call("POST", "/api/content?format=car", Str(ByteView(car).subspan(0, car.size() - 3)));
  EXPECT_EQ(truncated.status, 400);
  EXPECT_EQ(ErrorReason(truncated), "car_truncated");
  auto garbage = Call("POST", "/api/content?format=car", "this is not a CAR");
  EXPECT_EQ(garbage.status, 400);
  auto no_format = Call("POST", "/api/content", Str(car));
  EXPECT_EQ(no_format.status, 400);
  EXPECT_EQ(ErrorReason(no_format), "unsupported_format");
}

TEST_F(ContentApiTest, TamperedBlocksOnDiskAreNeverServed) {
  const std::string secret = "the original content";
  const std::string cid_text = PutFile(secret);
  const Cid cid = *Cid::Parse(cid_text);
  const fs::path file = content_->blockstore().PathOf(cid);
  ASSERT_TRUE(file.string().starts_with((dir_.path() / "data" / "blocks").string()));
  ASSERT_TRUE(fs::exists(file));
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  WriteFile(file, "TAMPERED content!!!!");
  for (const char* q : {"", "?format=raw", "?format=car"}) {
    auto r = Get("/ipfs/" + cid_text + q);
    EXPECT_EQ(r.status, 500) << q;
    EXPECT_EQ(ErrorReason(r), "block_hash_mismatch") << q;
    EXPECT_EQ(r.body.find("TAMPERED"), std::string::npos);
  }

  // A damaged leaf inside a bigger file: the whole file is refused; a range that does not
  // touch it is still served (every block that is read is verified, no others are read).
  const Bytes data = Det(3 * kMiB, 6);
  const std::string big = PutFile(Str(data));
  ipld::MemoryBlockstore reference;
  auto pb = ipld::DecodePbNode(*reference.Get(ReferenceImport(data, &reference)));
  const fs::path leaf = content_->blockstore().PathOf(pb->links[2].hash);
  fs::permissions(leaf, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(leaf, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x42' ^ static_cast<char>(data[2 * kMiB + 100]));
  }
  auto whole = Get("/ipfs/" + big);
  EXPECT_EQ(whole.status, 500);
  EXPECT_EQ(ErrorReason(whole), "block_hash_mismatch");
  EXPECT_EQ(Get("/ipfs/" + big + "?format=car").status, 500);
  auto first = Get("/ipfs/" + big, {{"Range", "bytes=0-99"}});
  EXPECT_EQ(first.status, 206);
  EXPECT_TRUE(first.body == Str(ByteView(data).subspan(0, 100)));
  EXPECT_EQ(Get("/ipfs/" + big, {{"Range", "bytes=2097152-2097300"}}).status, 500);
}

TEST_F(ContentApiTest, OnlyOperatorsAndTheShellMayAddContent) {
  const std::string capsule = Bearer(SessionKind::kCapsule, "notes-aaaa", "notes", false);
  const std::string agent = Bearer(SessionKind::kClient, "", "helper", true);
  const std::string shell = Bearer(SessionKind::kShell, "shell-1", "shell", false);
  for (const std::string* who : {&capsule, &agent}) {
    auto put = Call("PUT", "/api/content", "from a capsule", {}, who);
    EXPECT_EQ(put.status, 403);
    EXPECT_EQ(ErrorReason(put), "operator_only");
    auto car = Call("POST", "/api/content?format=car", "anything", {}, who);
    EXPECT_EQ(car.status, 403);
    EXPECT_EQ(ErrorReason(car), "operator_only");
  }
  EXPECT_FALSE(content_->Has(Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("from a capsule"))));
  auto by_shell = Call("PUT", "/api/content", "from the shell", {}, &shell);
  EXPECT_EQ(by_shell.status, 201);
  // Reads are open to every session of this runtime: the CID is the capability.
  const std::string cid = PutFile("readable by all");
  for (const std::string* who : {&capsule, &agent, &shell}) {
    auto r = Call("GET", "/ipfs/" + cid, "", {}, who);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "readable by all");
  }
  // …but not without one.
  const std::string none;
  auto anon = Call("GET", "/ipfs/" + cid, "", {}, &none);
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(ErrorReason(anon), "missing_session");
  const std::string wrong = "not-a-session";
  EXPECT_EQ(Call("PUT", "/api/content", "x", {}, &wrong).status, 401);

  // Every upload and every refusal is in the audit log.
  ASSERT_TRUE(rt_->audit_log().Flush().ok());
  auto tail = audit::ReadTail(rt_->env(), dir_.path() / "data" / "audit", 1000);
  ASSERT_TRUE(tail.ok());
  int ok = 0;
  int denied = 0;
  for (const auto& rec : tail->records) {
    json::value v = ParseJson(rec.json);
    if (v.at("type").as_string() != "content_put") continue;
    if (v.at("outcome").as_string() == "ok") {
      ++ok;
    } else if (v.at("outcome").as_string() == "denied") {
      ++denied;
      EXPECT_EQ(v.at("reason").as_string(), "operator_only");
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(denied, 4);
}

TEST_F(ContentApiTest, HeadConditionalRequestsAndTheProbe) {
  const std::string cid = PutFile("head me");
  auto head = Call("HEAD", "/ipfs/" + cid);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "7");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["etag"], "\"" + cid + "\"");
  auto again = Get("/ipfs/" + cid, {{"If-None-Match", "\"" + cid + "\""}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], "\"" + cid + "\"");
  EXPECT_EQ(Get("/ipfs/" + cid, {{"If-None-Match", "\"something-else\""}}).status, 200);
  EXPECT_EQ(Call("HEAD", "/ipfs/" + Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("?")).ToString()).status, 404);

  // The trustless-gateway probe: the empty identity CID.
  auto raw = Get("/ipfs/bafkqaaa?format=raw");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, "");
  auto car = Get("/ipfs/bafkqaaa", {{"Accept", "application/vnd.ipld.car"}});
  ASSERT_EQ(car.status, 200);
  ByteView in = AsBytes(car.body);
  auto len = ReadVarint(in);
  ASSERT_TRUE(len.ok());
  ASSERT_EQ(*len, in.size());  // a header and no blocks
  // The header decodes except for the identity CID, which our CID type refuses by design.
  EXPECT_EQ(ipld::DecodeCarHeader(in).status().reason(), "car_bad_header");
  EXPECT_NE(car.body.find(std::string("\x01\x55\x00\x00", 4)), std::string::npos);
}

class SmallLimitsTest : public ContentApiTest {
 protected:
  void SetUp() override {
    limits_.max_put_bytes = 4096;
    limits_.max_car_bytes = 3000;
    limits_.max_read_bytes = 2000;
    ContentApiTest::SetUp();
  }
};

TEST_F(SmallLimitsTest, LimitsAreRefusedByName) {
  auto big = Call("PUT", "/api/content", std::string(5000, 'a'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ErrorReason(big), "body_too_large");
  EXPECT_EQ(content_->Put(Bytes(5000)).status().reason(), "content_too_large");
  const std::string cid = PutFile(std::string(4000, 'b'));
  auto read = Get("/ipfs/" + cid);
  EXPECT_EQ(read.status, 429);
  EXPECT_EQ(ErrorReason(read), "file_too_large");
  auto ranged = Get("/ipfs/" + cid, {{"Range", "bytes=0-"}});  // shortened to the read limit
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.body.size(), 2000u);
  EXPECT_EQ(ranged.headers["content-range"], "bytes 0-1999/4000");
  auto car = Get("/ipfs/" + cid + "?format=car");
  EXPECT_EQ(car.status, 429);
  EXPECT_EQ(ErrorReason(car), "car_too_large");
  EXPECT_EQ(Get("/ipfs/" + cid + "?format=raw").status, 200);  // blocks are always servable
}

}  // namespace
}  // namespace elastos::server
