// Byte-compatibility with the reference importer.
//
// Every CID below was produced by ipfs-unixfs-importer 17.1.1 (ipfs-unixfs 13.1.1,
// @ipld/dag-pb 4.2.0, multiformats 14.0.5, Node 20) with options
//   unixfs-v0-2015: { cidVersion: 0, rawLeaves: false, chunker: fixedSize({chunkSize: 262144}),
//                     layout: balanced({maxChildrenPerNode: 174}), reduceSingleLeafToSelf: true }
//   unixfs-v1-2025: { cidVersion: 1, rawLeaves: true, chunker: fixedSize({chunkSize: 1048576}),
//                     layout: balanced({maxChildrenPerNode: 1024}), reduceSingleLeafToSelf: true }
// and, for directories, shardSplitThresholdBytes: Infinity (plain directories) and
// wrapWithDirectory: false. "small" profiles (4-byte chunks, 3 children) use the same options
// with those numbers, to exercise trees five levels deep on small inputs. Content is the
// Pattern of test_util.h unless stated; the second number is the root's cumulative size (the
// `size` the reference reports).

#include <gtest/gtest.h>

#include "namespace/test_util.h"
#include "namespace/unixfs.h"

namespace elastos::ipld {
namespace {

using testutil::ImportBytes;
using testutil::ImportPattern;
using testutil::TempDir;

struct Golden {
  std::uint64_t size;
  const char* cid;
  std::uint64_t dag_size;
};

const UnixFsProfile kSmallPb{"small-pb", 0, false, 4, 3, true};
const UnixFsProfile kSmallRaw{"small-raw", 1, true, 4, 3, true};

void ExpectGoldens(const UnixFsProfile& profile, std::initializer_list<Golden> goldens) {
  for (const Golden& g : goldens) {
    auto r = ImportPattern(profile, g.size);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->cid.ToString(), g.cid) << profile.name << " size " << g.size;
    EXPECT_EQ(r->dag_size, g.dag_size) << profile.name << " size " << g.size;
    EXPECT_EQ(r->content_size, g.size);
  }
}

TEST(UnixFsOracle, KnownValues) {
  const Bytes hello = ToBytes("hello world\n");
  EXPECT_EQ(ImportBytes(UnixFsProfile::V0_2015(), hello)->cid.ToString(),
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  EXPECT_EQ(ImportBytes(UnixFsProfile::V1_2025(), hello)->cid.ToString(),
            "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");

  const Bytes zeros(1000000, 0);
  auto v0 = ImportBytes(UnixFsProfile::V0_2015(), zeros);
  EXPECT_EQ(v0->cid.ToString(), "QmXXNNbwe4zzpdMg62ZXvnX1oU7MwSrQ3vAEtuwFKCm1oD");
  EXPECT_EQ(v0->dag_size, 1000256u);
  // One 1 MiB chunk holds it all: unixfs-v1-2025 yields a single raw leaf.
  EXPECT_EQ(ImportBytes(UnixFsProfile::V1_2025(), zeros)->cid.ToString(),
            "bafkreigss5i7eze3gl7vok26bkpvihvgmcsq7fh7bpxn7mfwsk4sjteaeu");
  // `ipfs add --cid-version 1` (256 KiB chunks, raw leaves) gives the widely quoted bafybei…
  const UnixFsProfile kubo_v1{"kubo-cidv1", 1, true, 262144, 174, true};
  auto kubo = ImportBytes(kubo_v1, zeros);
  EXPECT_EQ(kubo->cid.ToString(), "bafybeidide6lpcdutn3we5vvypssfhlq2n265w6dygwj37fyeklhlmfi34");
  EXPECT_EQ(kubo->dag_size, 1000208u);
}

TEST(UnixFsOracle, V0Files) {
  ExpectGoldens(UnixFsProfile::V0_2015(),
                {
                    {0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", 6},
                    {1, "QmdeoacqroE1mWhJSYwXtEHfzZQ2AbKXadXxA6E261BSJS", 9},
                    {262143, "QmVtJMrdrNsuEewz4BTBc14aUYYzLLTKzw8u6xbFfQPmXA", 262157},
                    {262144, "QmRZoQBpxeubSkpoY3ZJoaLaZDmQgWtMYj1sUJq8CcCbqC", 262158},
                    {262145, "QmZLVRpPTywvi8GXw6oG8qk2aFPpGTKJ4KG4uQvhAb8bRD", 262267},
                    {524288, "QmfGqzm93uGzw6vHhXxSiyDATicijYjEtxrRPXqj9ThyMb", 524420},
                    // 174 chunks fill exactly one parent; one more byte needs a second level.
                    {174 * 262144, "QmaeWiwFepq2pxCcadjLiC5EAzAd9kArNXXmek9XnNFoM9", 45623854},
                    {174 * 262144 + 1, "QmTdeuSk28u4di3K5F5aphRyv8mxTgWHExxV5osygQrUWf", 45624016},
                });
}

TEST(UnixFsOracle, V1Files) {
  ExpectGoldens(
      UnixFsProfile::V1_2025(),
      {
          {0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 0},
          {1, "bafkreidivixc5zo77fxdgvpgy7xdopr5njhbp527sumnqq3qtqgjxq7d2q", 1},
          {1048575, "bafkreig3tn5u24xlqnotncp5hd2uqkqp2krtzcahwmasj3ck6a7tck2nuq", 1048575},
          {1048576, "bafkreiej4pf674clbavdanfnylbyxmzlldibz3ehhpiczfcij44qnyi4fi", 1048576},
          {1048577, "bafybeial2v7pl33lgm3sroxbt2u6c4qdfam36ecdz24udbc3hyu2xkfv6u", 1048681},
          {2097152, "bafybeig7lnhqkglnynpxu4x4xq2l3sqhl245x7xx2c3eg4nmmqjzpg23ie", 2097261},
      });
}

// 1024 chunks of 1 MiB fill one parent; one more byte needs a second level. 2 GiB of hashing.
TEST(UnixFsOracle, V1FilesOneGiB) {
  ExpectGoldens(UnixFsProfile::V1_2025(),
                {
                    {1024ull << 20, "bafybeiepdqeb7chlvtg4tvkqnzbguposmhs5udrrzxhgdou2mo544uprku",
                     1073793035},
                    {(1024ull << 20) + 1,
                     "bafybeic7pldplf6qf3rhka2y74ow7wvoxermzrtepnip6l2zahy55ypeaq", 1073793198},
                });
}

// Sizes around 3^k × 4: a full level, one byte more (a lone child under a new parent), and so on.
TEST(UnixFsOracle, DeepTreesDagPbLeaves) {
  ExpectGoldens(kSmallPb, {
                              {0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", 6},
                              {1, "QmdeoacqroE1mWhJSYwXtEHfzZQ2AbKXadXxA6E261BSJS", 9},
                              {3, "QmP6RDp5ebUWhxH8kpYpoguPooixWNFe4cq1cUnfbPn6nL", 11},
                              {4, "QmbykpwHDCPB3qQCwkCEUHep2nM8vSex1ZQXvc74MrpXmW", 12},
                              {5, "QmPgr31X7U8nxG7c6aZoJULMPH8e2arPZQesZ9CNeZcFvh", 115},
                              {8, "QmTgd5fD1Uixjfyd3sZMRFHBdM3sNe83rWVVLENU5YMLCv", 118},
                              {12, "QmPUKwmaRriJANvZQzusNVpTDgb6D8L5bndEtDKkBtxahL", 174},
                              {13, "QmQrasoPCL2fNCxR6aMRrKR4qTWWyVgkMa5bnhE5F6A7F7", 328},
                              {16, "QmXWEnMUqzHwSdqK426k63UFm87b3bv6Yx5i5uDE7bD8yw", 331},
                              {36, "QmWVcF9sfVSwVBfCHia4XUGR5V5fvtFxgQvKbAuQQouxMk", 663},
                              {37, "QmWYUS39SGxvqZBXSN8ZnyLHJjgviiAuGVmhb7rr2P9unj", 867},
                              {40, "QmbdGNpz7a3FcrfD1qLTRRf5LDfV8CSTMXtnhoEEPRYU2L", 870},
                              {48, "QmfCnbmfs9oK4T9kkQAWRFMMTdzb9rrms6LFmFcUpdpxRP", 984},
                              {108, "QmP1oafiMb4Hn3eZR32LhjJHuwrrCRjue3dqFQUZ5j4Lou", 2130},
                              {109, "QmfQtokmF9JqSgZs19bGF9B3XvgbKLUGPABxUzriKPNHtG", 2385},
                              {112, "QmSmo1VLWvjTEm8DZU7uGfkfG3vLjm8XznnuY8ctqUdsP7", 2388},
                              {144, "QmTCjUgrXSeeUU3CZHGgEPe7Rexg5vWRFVW8hQjfhegFFW", 2941},
                              {324, "QmVN2JJmPPiNbV9mXK6HXyZUr3xUT23RgQMo3ZJJBxH9CE", 6532},
                              {325, "QmQcujfixf2eAwHbSA5Ch6xKfpuk5P72DZkyzeT7nJ4KJo", 6840},
                              {328, "QmSimMgHP76ZmxHpBEabXPAWi8J8dk1BpcCj4wrsrzb2c1", 6843},
                              {432, "QmSx4G1uHncWNWaUDith8h8BzJzBqRV7J6PqDHCiSMqdzg", 8811},
                              {433, "QmYcyE5ZaJFjRRDwoRLooZcvcg4Mcw8Czbe6kLBRsBfK8y", 9015},
                              {1000, "Qmau5Sf5XKn6Fi9Vrt7aChEGdBwb1352L5opuR8vgHMRZ1", 20543},
                          });
}

TEST(UnixFsOracle, DeepTreesRawLeaves) {
  ExpectGoldens(kSmallRaw,
                {
                    {0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 0},
                    {1, "bafkreidivixc5zo77fxdgvpgy7xdopr5njhbp527sumnqq3qtqgjxq7d2q", 1},
                    {3, "bafkreig5zadeeoymnnqk4dla3xwzdvahj37wr762etfk4g4ijw4ek66zwq", 3},
                    {4, "bafkreigdtncbndqnaugbe22j2vwr2pxsx5hapiuidyyiejiq5sl6fofbne", 4},
                    {5, "bafybeiaf3lhszzkr7g7kwm54aiu7mmbjllmuwmbjeo63rtmemvij3l3ieu", 103},
                    {8, "bafybeif6kou22hxdwq2cd5pjzobv6kgooplk6z67mfrbyvtrvht3rkbkqa", 106},
                    {12, "bafybeibetcokb6wwr7u4ssy5slix4mfna7ovhc77ng4d4wodtnkkwjr5fq", 156},
                    {13, "bafybeifojwdkkfezgnhapvoqx2smlzx3py3cy4yu7kljr7c5iew75tkmqi", 308},
                    {16, "bafybeiek4qd5mptz7qlegrdiftakkf3tofwvsxhjlizc7u5ics4zttuqcm", 311},
                    {36, "bafybeichtkup5aerzypbfpnmubjrzton7hv2t77qs2rlfqsaixzf7wydr4", 615},
                    {37, "bafybeiggqopodzxcd4gsqhbgrc4xqlqx3y4fpti2qarngkwllfcz5vocui", 819},
                    {40, "bafybeiafs2l2c6q4ebcjeqm7afyqtxl4lef3yyu6dju7cji7zu77x4opfa", 822},
                    {48, "bafybeif5wkl2pcuzndk22ui2ujrpkn4ivu5ffqka43l4ylnotffsla4uue", 924},
                    {108, "bafybeihj33pb32m6azbhzeoa5dwswc5jpcio4o5eh6lq3jszymcdixsqxm", 1992},
                    {109, "bafybeibxqsacesje7cispox5jsvdrgcntxcmd6aot3i4dmesphgvkofupy", 2249},
                    {112, "bafybeiezhgyvidqxe3kmkispizwevqn4d5x36sumyyrszjq7oq4wcpf5h4", 2252},
                    {144, "bafybeihygmjxka2brnmbji6y3zsp3ofiw2riovib63ahuyjrrd2tiygwqe", 2761},
                    {324, "bafybeieglyf24b5mmp6jqajpucqiw6hs46bjz2pca3jerrjytkzkvht4yq", 6124},
                    {325, "bafybeidexoexuijegj3n2i3nqpj4ymprmuyjbofucq3mb7rjwfkg5p2hfe", 6436},
                    {328, "bafybeibgfhp5oxlinl3o4fxvdlegbinwunyzgljk7hrpn7kwbmmprktgdm", 6439},
                    {432, "bafybeif7q6kcc6upvqycjmrmidv4hqa7libreunl5dsc2balpnunkuqw4i", 8271},
                    {433, "bafybeihbpajuxqezyldbpfkqa3dlehqjgrtekijn5oa4k6bvx4afmglrke", 8475},
                    {1000, "bafybeidevqtyl3h5bx355xg2qbadunq2wmaj7lbs3dayafcsqeg2amq7ku", 19299},
                });
}

// The tree of testutil::MakeGoldenTree: "B", "Z10" (2 MiB + 7), "a" (empty), "a.txt",
// "ab/empty/", "ab/nested/deep.bin" (300000), "empty/", "z2", "é".
TEST(UnixFsOracle, Directories) {
  TempDir tmp;
  const auto root = tmp.path() / "root";
  testutil::MakeGoldenTree(root);
  ImportOptions options;
  options.profile = UnixFsProfile::V0_2015();
  auto v0 = ImportPath(root, options);
  ASSERT_TRUE(v0.ok()) << v0.status().ToString();
  EXPECT_EQ(v0->cid.ToString(), "QmeehHjKvaMTB4Pa2HqenPro7ryE8hjSzUXcY5iwmZMitn");
  EXPECT_EQ(v0->dag_size, 2398439u);
  options.profile = UnixFsProfile::V1_2025();
  auto v1 = ImportPath(root, options);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->cid.ToString(), "bafybeifaoye7ydpcp7ggxer56qakyohu35eln4w3sypzzj2v3hq42ve36i");
  EXPECT_EQ(v1->dag_size, 2397889u);
  EXPECT_EQ(v1->content_size, 2u + 2097159u + 12u + 300000u + 6u + 2u);
}

TEST(UnixFsOracle, EmptyDirectory) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "root");
  ImportOptions options;
  options.profile = UnixFsProfile::V0_2015();
  EXPECT_EQ(ImportPath(tmp.path() / "root", options)->cid.ToString(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
  options.profile = UnixFsProfile::V1_2025();
  auto v1 = ImportPath(tmp.path() / "root", options);
  EXPECT_EQ(v1->cid.ToString(), "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
  EXPECT_EQ(v1->dag_size, 4u);
}

}  // namespace
}  // namespace elastos::ipld
