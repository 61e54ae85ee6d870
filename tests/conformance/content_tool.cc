// elastos_content_tool: the runtime's content routes (src/server/api_content.h) on loopback, for
// the external-client conformance test content.test.mjs.
//
//   elastos_content_tool serve DATA_DIR
//
// Opens a Runtime on DATA_DIR (use a fresh directory), starts one human client session, serves
// GET/HEAD /ipfs/… and PUT/POST /api/content on 127.0.0.1 at a free port, and prints one line:
//   {"url":"http://127.0.0.1:PORT","token":"<session bearer>"}
// It serves until its standard input is closed, then stops cleanly. Exit 0, or 2 on a usage or
// setup error (message on stderr).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "runtime/runtime.h"
#include "server/api.h"
#include "server/api_content.h"
#include "server/content_service.h"
#include "server/http/http_server.h"

int main(int argc, char** argv) {
  using namespace elastos;
  if (argc != 3 || std::string(argv[1]) != "serve") {
    std::fprintf(stderr, "usage: %s serve DATA_DIR\n", argv[0]);
    return 2;
  }
  runtime::RuntimeOptions options;
  options.data_dir = argv[2];
  auto rt = runtime::Runtime::Open(options);
  if (!rt.ok()) {
    std::fprintf(stderr, "error: %s\n", rt.status().ToString().c_str());
    return 2;
  }
  auto session = (*rt)->StartSession(runtime::SessionKind::kClient, "", "conformance", false);
  if (!session.ok()) {
    std::fprintf(stderr, "error: %s\n", session.status().ToString().c_str());
    return 2;
  }
  server::ContentService content(options.data_dir);
  server::ApiContext ctx;
  ctx.runtime = rt->get();
  server::http::Router router;
  server::AddContentRoutes(router, ctx, content);
  auto http = server::http::HttpServer::Listen(std::move(router), server::http::ServerOptions{});
  if (!http.ok()) {
    std::fprintf(stderr, "error: %s\n", http.status().ToString().c_str());
    return 2;
  }
  (*http)->Start();
  std::printf("{\"url\":\"http://127.0.0.1:%u\",\"token\":%s}\n", static_cast<unsigned>((*http)->port()),
              server::http::JsonQuote(session->bearer).c_str());
  std::fflush(stdout);
  char buf[256];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  (*http)->Stop();
  (*rt)->Close().IgnoreError();
  return 0;
}
