// Extracts the example capsule that docs/sdk.md carries, so tests can build (and, once
// `elastos capsule run` exists, run) exactly what the documentation shows.
//
// The document marks each file with an HTML comment on the line immediately before its fenced
// block:
//
//   <!-- sdk-example: main.cpp -->
//   ```cpp
//   …
//   ```
//
// ExtractSdkDocExample returns {file name → content} for every marked block. Reuse: include
// "tests/capsules/sdk_doc_example.h" (the test target needs ${PROJECT_SOURCE_DIR} on its include
// path), read docs/sdk.md, call ExtractSdkDocExample, write the files into a temp directory, then
// `elastos capsule build DIR` and run it. src/compute/toolchain/guest_toolchain_test.cc
// (SdkDocExample.*) does the first half.
#pragma once

#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace elastos::testing {

// nullopt when a marker is not followed by a fenced block, a block is unterminated, a file name is
// unsafe (empty, absolute, contains "/" or ".."), or a name appears twice.
inline std::optional<std::map<std::string, std::string>> ExtractSdkDocExample(
    const std::string& markdown) {
  static const std::string kMarker = "<!-- sdk-example: ";
  std::map<std::string, std::string> files;
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(kMarker, 0) != 0) continue;
    const std::size_t end = line.find(" -->", kMarker.size());
    if (end == std::string::npos) return std::nullopt;
    const std::string name = line.substr(kMarker.size(), end - kMarker.size());
    if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos ||
        files.count(name) != 0) {
      return std::nullopt;
    }
    std::string fence;
    if (!std::getline(in, fence) || fence.rfind("```", 0) != 0) return std::nullopt;
    std::string body;
    bool closed = false;
    while (std::getline(in, line)) {
      if (line == "```") {
        closed = true;
        break;
      }
      body += line;
      body += '\n';
    }
    if (!closed) return std::nullopt;
    files[name] = body;
  }
  return files;
}

}  // namespace elastos::testing
