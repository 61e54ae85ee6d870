// hello-sdk: the guest SDK and the WASI basics in one small capsule.
//
// Build: elastos capsule build capsules/examples/hello-sdk   (or the test suite's CMake build)
//
// Output on stdout, one fact per line, so tests can compare it exactly:
//   name: <ELASTOS_CAPSULE_NAME or (unset)>
//   id: <ELASTOS_CAPSULE_ID or (unset)>
//   argc: <n>
//   argv[i]: <arg>                       one line per argument, argv[0] included
//   stdin-begin
//   <stdin, copied verbatim>             plus a '\n' if it did not end with one
//   stdin-end <n> bytes
//   data: <entry>                        /data's entries sorted, before this run writes;
//                                        "data: (empty)" when there are none
//   wrote /data/hello.txt <n> bytes
//   read /data/hello.txt: hello from <name>
//   runtime: pong                        or "runtime: not connected (<why>)" without a carrier
//   runtime-version: <v> protocol <p>    only with a carrier
//
// Stdin is copied verbatim (not transformed) so a test can check that bytes pass through the
// sandbox unchanged, including NULs and non-UTF-8.
//
// Exit codes: 0 all good; 1 /data or the carrier failed (the reason is on stderr).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <elastos/sdk.h>

namespace sdk = elastos::sdk;

namespace {

int Fail(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "hello-sdk: %s\n", what.c_str());
  return 1;
}

// Copies fd 0 to fd 1 and returns the number of bytes (or -1 on a read/write error).
long long CopyStdin(bool* ended_with_newline) {
  std::fflush(stdout);  // our own lines first
  char buf[16384];
  long long total = 0;
  *ended_with_newline = true;
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) return total;
    if (n < 0) return -1;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = write(1, buf + done, static_cast<size_t>(n - done));
      if (w <= 0) return -1;
      done += w;
    }
    total += n;
    *ended_with_newline = buf[n - 1] == '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  const sdk::CapsuleInfo info = sdk::CapsuleInfo::FromEnvironment();
  const std::string name = info.name.empty() ? "(unset)" : info.name;
  std::printf("name: %s\nid: %s\nargc: %d\n", name.c_str(),
              info.id.empty() ? "(unset)" : info.id.c_str(), argc);
  for (int i = 0; i < argc; ++i) std::printf("argv[%d]: %s\n", i, argv[i]);

  std::printf("stdin-begin\n");
  bool newline = true;
  const long long copied = CopyStdin(&newline);
  if (copied < 0)
    return Fail("copying stdin to stdout failed: " + std::string(std::strerror(errno)));
  if (!newline) std::printf("\n");
  std::printf("stdin-end %lld bytes\n", copied);

  DIR* dir = opendir(sdk::kDataDir);
  if (dir == nullptr) return Fail("cannot open /data: " + std::string(std::strerror(errno)));
  std::vector<std::string> entries;
  while (const dirent* e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      entries.emplace_back(e->d_name);
  }
  closedir(dir);
  std::sort(entries.begin(), entries.end());
  if (entries.empty()) std::printf("data: (empty)\n");
  for (const std::string& e : entries) std::printf("data: %s\n", e.c_str());

  const std::string greeting = "hello from " + name + "\n";
  FILE* out = std::fopen("/data/hello.txt", "wb");
  if (out == nullptr)
    return Fail("cannot create /data/hello.txt: " + std::string(std::strerror(errno)));
  const bool wrote = std::fwrite(greeting.data(), 1, greeting.size(), out) == greeting.size();
  if (std::fclose(out) != 0 || !wrote)
    return Fail("writing /data/hello.txt failed: " + std::string(std::strerror(errno)));
  std::printf("wrote /data/hello.txt %zu bytes\n", greeting.size());

  FILE* in = std::fopen("/data/hello.txt", "rb");
  if (in == nullptr)
    return Fail("cannot reopen /data/hello.txt: " + std::string(std::strerror(errno)));
  char back[256] = {};
  const size_t got = std::fread(back, 1, sizeof back - 1, in);
  std::fclose(in);
  if (std::string(back, got) != greeting)
    return Fail("/data/hello.txt does not hold what was written");
  std::printf("read /data/hello.txt: %s", back);

  if (!info.under_runtime()) {
    std::printf("runtime: not connected (ELASTOS_CARRIER_FDS is not set)\n");
    return 0;
  }
  auto client = sdk::RuntimeClient::Connect();
  if (!client.ok()) return Fail("connect: " + client.error().ToString());
  if (auto pong = client->Ping(); !pong.ok()) return Fail("ping: " + pong.error().ToString());
  std::printf("runtime: pong\n");
  auto runtime = client->GetRuntimeInfo();
  if (!runtime.ok()) return Fail("get_runtime_info: " + runtime.error().ToString());
  std::printf("runtime-version: %s protocol %llu\n", runtime->version.c_str(),
              static_cast<unsigned long long>(runtime->protocol));
  return 0;
}
