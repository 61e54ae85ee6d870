// notes: a small notes keeper, and the README's main job. It owns nothing: its notes live in
// localhost://Users/self/Documents/Notes/, which it can reach only with tokens the shell grants
// (the policy decides; the capsule just asks), through the runtime and the localhost provider.
//
//   notes add TEXT...   appends a line to today's journal file
//   notes show          prints every journal file with its lines
//
// Each step says on stdout what it did, so a person running the demo sees the flow: ask for a
// capability, receive a token, use it.
//
// Exit codes: 0 done; 1 the runtime refused something (printed with its code and reason);
// 2 usage.
#include <cstdio>
#include <string>
#include <vector>

#include <elastos/sdk.h>

namespace sdk = elastos::sdk;

namespace {

constexpr const char* kNotes = "localhost://Users/self/Documents/Notes/*";
constexpr const char* kJournal = "localhost://Users/self/Documents/Notes/journal";

int Refused(const char* what, const sdk::Error& e) {
  std::printf("notes: %s refused: %s/%s: %s\n", what, sdk::ErrorCodeName(e.code), e.reason.c_str(),
              e.message.c_str());
  return 1;
}

std::string Text(const sdk::Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || (args[0] != "add" && args[0] != "show") || (args[0] == "add" && args.size() < 2)) {
    std::fprintf(stderr, "usage: notes add TEXT... | notes show\n");
    return 2;
  }
  auto client = sdk::RuntimeClient::Connect();
  if (!client.ok()) return Refused("connecting to the runtime", client.error());

  const bool add = args[0] == "add";
  std::printf("notes: asking for %s access to %s\n", add ? "write" : "read", kNotes);
  auto token = client->RequestCapability(kNotes, add ? "write" : "read",
                                         add ? "save your note" : "show your notes");
  if (!token.ok()) return Refused("the capability request", token.error());
  std::printf("notes: granted token %s (%s on %s)\n", token->token_id.c_str(),
              token->action.c_str(), token->resource.c_str());

  if (add) {
    std::string line;
    for (std::size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + args[i];
    line += "\n";
    // The folder for the journal (parents: the Notes folder itself is created if missing).
    if (auto made = client->MakeDirectory(kJournal, token->token, /*parents=*/true); !made.ok()) {
      return Refused("creating the journal folder", made.error());
    }
    sdk::ResourceRequest w;
    w.uri = std::string(kJournal) + "/notes.txt";
    w.op = sdk::ResourceOp::kWrite;
    w.token = token->token;
    w.content = sdk::Bytes(line.begin(), line.end());
    w.append = true;
    if (auto written = client->Resource(w); !written.ok()) return Refused("writing the note", written.error());
    std::printf("notes: saved \"%.*s\" to %s/notes.txt\n", static_cast<int>(line.size() - 1),
                line.data(), kJournal);
    return 0;
  }

  auto entries = client->ListResource(kJournal, token->token);
  if (!entries.ok()) return Refused("listing the journal", entries.error());
  for (const sdk::DirEntry& e : *entries) {
    if (e.is_dir) continue;
    const std::string uri = std::string(kJournal) + "/" + e.name;
    auto content = client->ReadResource(uri, token->token);
    if (!content.ok()) return Refused("reading a note", content.error());
    std::printf("notes: %s:\n%s", uri.c_str(), Text(*content).c_str());
  }
  return 0;
}
