// probe: performs the runtime requests its arguments name, in order, and prints one line per
// outcome, so a test can drive a capsule through the carrier bridge and read what happened:
//
//   id                          -> "id <instance id>"
//   request RESOURCE ACTION     -> "token <wire token>" | "error <code> <reason>"
//   read URI TOKEN              -> "data <content>"     | "error <code> <reason>"
//   fetch URI TOKEN             -> "data <content>"     | "error <code> <reason>" (fetch_content)
//   write URI TOKEN CONTENT     -> "written"            | "error <code> <reason>"
//   raw JSON                    -> the response object as JSON (any request, verbatim)
//   sleep MS                    -> "slept" (lets a test act between two requests)
//   send TO TOKEN TEXT          -> "sent <id>"          | "error <code> <reason>"
//   recv WAIT_MS                -> "message <from_name> <text>" per message, or "none"
//   delegate TOKEN TO           -> "token <wire token>" | "error <code> <reason>"
// A TOKEN of "-" sends no token; "last" is the last token this run received (from request,
// delegate, or as the payload of a message), "#N" the N-th (from 1), "tampered" the last one with
// one character of its signature changed. A send's TEXT may be a token reference too.
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
  std::vector<std::string> seen;  // every token received, in order
  auto remember = [&](const std::string& t) {
    last = t;
    seen.push_back(t);
  };
  auto token = [&](const std::string& t) -> std::optional<std::string> {
    if (t == "-") return std::nullopt;
    if (t.size() > 1 && t[0] == '#') {
      const std::size_t n = std::strtoul(t.c_str() + 1, nullptr, 10);
      return n >= 1 && n <= seen.size() ? seen[n - 1] : t;
    }
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
        remember(t->token);
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
    } else if (cmd == "fetch" && i + 2 < a.size()) {
      auto d = client->FetchContent(a[i + 1], token(a[i + 2]));
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
    } else if (cmd == "send" && i + 3 < a.size()) {
      const std::string text = token(a[i + 3]).value_or(a[i + 3]);
      auto sent = client->SendMessage(a[i + 1], sdk::Bytes(text.begin(), text.end()), token(a[i + 2]));
      if (sent.ok()) {
        std::printf("sent %llu\n", static_cast<unsigned long long>(*sent));
      } else {
        PrintError(sent.error());
      }
      i += 4;
    } else if (cmd == "recv" && i + 1 < a.size()) {
      auto got = client->ReceiveMessages(std::nullopt, std::strtoull(a[i + 1].c_str(), nullptr, 10));
      if (!got.ok()) {
        PrintError(got.error());
      } else if (got->empty()) {
        std::printf("none\n");
      } else {
        for (const auto& m : *got) {
          const std::string text(m.payload.begin(), m.payload.end());
          std::printf("message %s %s\n", m.from_name.c_str(), text.c_str());
          remember(text);
        }
      }
      i += 2;
    } else if (cmd == "delegate" && i + 2 < a.size()) {
      sdk::DelegateCapabilityRequest d;
      d.token = token(a[i + 1]).value_or("");
      d.to = a[i + 2];
      auto t = client->DelegateCapability(d);
 if (t.ok()) {
        remember(t->token);
        std::printf("token %s\n", t->token.c_str());
      } else {
        PrintError(t.error());
      }
      i += 3;
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
