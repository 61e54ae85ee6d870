// The content routes (docs/api.md "Content"), over a ContentService:
//
//   GET|HEAD /ipfs/{cid}[/{*path}]   the IPFS trustless gateway: a raw block
//                                    (`Accept: application/vnd.ipld.raw` or `?format=raw`), a CAR
//                                    (`application/vnd.ipld.car` / `?format=car`, with
//                                    `dag-scope`, `entity-bytes`, `order`, `dups`), or, with
//                                    neither, the file's bytes (Range requests allowed) or a JSON
//                                    listing of a directory
//   PUT  /api/content                body = one file's bytes → 201 {"cid","size"}
//   POST /api/content?format=car     body = a CAR v1 → 201 {"roots":[…],"blocks":N}
//
// Every route needs a session (`Authorization: Bearer …`). Reads need nothing more: content is
// named by its hash, so knowing the CID is the capability. Uploads change the store and are the
// operator's (a human client session) or the shell's — not capsules' or agents' — and are
// audited durably (`content_put`).
//
// Thread-safety: handlers run concurrently; ContentService and Runtime are thread-safe.
#pragma once

#include "server/api.h"
#include "server/content_service.h"

namespace elastos::server {

// Adds the routes above to `router`. `ctx.runtime` must be set; `ctx` and `content` must
// outlive the server. Does not touch `ctx.routes` (the handlers own what they share).
void AddContentRoutes(http::Router& router, ApiContext& ctx, ContentService& content);

}  // namespace elastos::server
