// probe: performs the runtime requests its arguments name, in order, and prints one line per
// outcome, so a test can drive a capsule through the carrier bridge and read what happened:
//
//   id                          -> "id <instance id>"
//   request RESOURCE ACTION     -> "token <wire token>" | "error <code> <reason>"
//   read URI TOKEN              -> "data <content>"     | "error <code> <reason>"
//   write URI TOKEN CONTENT     -> "written"            | "error <code> <reason>"
//   raw JSON                    -> the response object as JSON (any request, verbatim)
//   sleep MS                    -> "slept" (lets a test act between two requests)
// A TOKEN of "-" sends no token; "last" is the last token this run received, "tampered" that
// token with one character of its signature changed.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <elastos/sdk.h>

namespace sdk = elastos::sdk;

namespace {

void PrintError(const sdk::Error& e) {
  std::printf("error %s %s\n", sdk::ErrorCodeName(e.code), e.reason.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  auto client = sdk::RuntimeClient::Connect();
  if (!client.ok()) {
    PrintError(client.error());
    return 1;
  }
  std::string last;
  auto token = [&](const std::string& t) -> std::optional<std::string> {
    if (t == "-") return std::nullopt;
    if (t == "tampered" && !last.empty()) {
      std::string forged = last;
      char& c = forged[forged.size() - 5];
      c = c == 'A' ? 'B' : 'A';
      return forged;
    }
    return t == "last" ? last : t;
  };
  for (std::size_t i = 0; i < a.size();) {
    const std::string& cmd = a[i];
    if (cmd == "id") {
      std::printf("id %s\n", sdk::CapsuleInfo::FromEnvironment().id.c_str());
      i += 1;
    } else if (cmd == "request" && i + 2 < a.size()) {
      auto t = client->RequestCapability(a[i + 1], a[i + 2], std::string("probe"));
      if (t.ok()) {
        last = t->token;
        std::printf("token %s\n", t->token.c_str());
      } else {
        PrintError(t.error());
      }
      i += 3;
    } else if (cmd == "read" && i + 2 < a.size()) {
      auto d = client->ReadResource(a[i + 1], token(a[i + 2]));
      if (d.ok()) {
        std::printf("data %s\n", std::string(d->begin(), d->end()).c_str());
      } else {
        PrintError(d.error());
      }
      i += 3;
    } else if (cmd == "write" && i + 3 < a.size()) {
      const std::string& c = a[i + 3];
      auto w = client->WriteResource(a[i + 1], token(a[i + 2]), sdk::Bytes(c.begin(), c.end()));
      if (w.ok()) {
        std::printf("written\n");
      } else {
        PrintError(w.error());
      }
      i += 4;
    } else if (cmd == "sleep" && i + 1 < a.size()) {
      const long ms = std::strtol(a[i + 1].c_str(), nullptr, 10);
      timespec ts{ms / 1000, (ms % 1000) * 1000000};
      nanosleep(&ts, nullptr);
      std::printf("slept\n");
      i += 2;
    } else if (cmd == "raw" && i + 1 < a.size()) {
      auto v = sdk::json::Parse(a[i + 1]);
      if (!v.ok()) {
        std::printf("error invalid_argument bad_json\n");
      } else {
        auto r = client->CallRaw(*v);
        if (r.ok()) {
          std::printf("%s\n", sdk::json::Value(*r).Serialize().c_str());
        } else {
          PrintError(r.error());
        }
      }
      i += 2;
    } else {
      std::fprintf(stderr, "probe: cannot parse the arguments from '%s'\n", cmd.c_str());
      return 2;
    }
    std::fflush(stdout);
  }
  return 0;
}
