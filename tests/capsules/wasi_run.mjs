// wasi_run.mjs — runs a wasm32-wasi capsule under Node's WASI with the ElastOS guest layout and a
// small fake runtime on the carrier, so the test capsules and the SDK can be checked end to end
// before (and independently of) the real runtime. This is a test harness, not a sandbox: Node's
// WASI is not ours, so the hostile capsules (escape, symlink, limits) are NOT judged here.
//
// Layout, as src/compute/wasi/wasi.h gives it: fds 0-2 stdio, fd 3 = "/data" preopen, carrier at
// fd 4 (responses in) and fd 5 (requests out), ELASTOS_CARRIER_FDS="4,5",
// ELASTOS_CAPSULE_NAME / ELASTOS_CAPSULE_ID.
//
// Usage: node wasi_run.mjs [--data DIR] [--name NAME] [--id ID] [--no-carrier] [--stdin FILE]
//                          MODULE.wasm [ARGS...]
// Exit code: the capsule's; 125 if the module cannot be instantiated (e.g. an unknown import);
// 126 if it traps — the same mapping as `elastos capsule run` (DESIGN.md §6).
//
// The fake runtime follows docs/protocol.md for what it implements: ping, get_runtime_info, and
// `unknown_request` for everything else; lines over 1 MiB and malformed lines get id-0 error
// envelopes.
import { readFileSync, openSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
const opts = { data: null, name: 'test-capsule', id: 'test-capsule-1', carrier: true, stdin: null };
while (argv.length && argv[0].startsWith('--')) {
  const flag = argv.shift();
  if (flag === '--data') opts.data = argv.shift();
  else if (flag === '--name') opts.name = argv.shift();
  else if (flag === '--id') opts.id = argv.shift();
  else if (flag === '--stdin') opts.stdin = argv.shift();
  else if (flag === '--no-carrier') opts.carrier = false;
  else {
    process.stderr.write(`wasi_run: unknown option ${flag}\n`);
    process.exit(2);
  }
}
if (argv.length < 1) {
  process.stderr.write('usage: node wasi_run.mjs [options] MODULE.wasm [ARGS...]\n');
  process.exit(2);
}
const [modulePath, ...args] = argv;
const dataDir = opts.data ?? mkdtempSync(join(tmpdir(), 'wasi-run-data-'));

const placeholder = mkdtempSync(join(tmpdir(), 'wasi-run-fd-'));
const env = { ELASTOS_CAPSULE_NAME: opts.name, ELASTOS_CAPSULE_ID: opts.id };
if (opts.carrier) env.ELASTOS_CARRIER_FDS = '4,5';

const wasi = new WASI({
  version: 'preview1',
  args: [opts.name, ...args],
  env,
  // Two placeholder preopens occupy fds 4 and 5 so Node never hands them to a file the capsule
  // opens; fd_prestat_get hides them again, so wasi-libc's preopen scan stops at fd 4 exactly as
  // under the runtime.
  preopens: { '/data': dataDir, '/.carrier-in': placeholder, '/.carrier-out': placeholder },
  stdin: opts.stdin ? openSync(opts.stdin, 'r') : 0,
  returnOnExit: true,
});

// ---- The fake runtime ----------------------------------------------------------------------------
const MAX_LINE = 1 << 20;
const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
let requestBytes = Buffer.alloc(0);
let discarding = false;
let responses = Buffer.alloc(0);

function respond(id, response) {
  responses = Buffer.concat([responses, Buffer.from(JSON.stringify({ id, response }) + '\n')]);
}
function error(id, code, reason, message) {
  respond(id, { type: 'error', code, reason, message });
}
function handleLine(line) {
  if (line.trim() === '') return;
  let envelope;
  try {
    envelope = JSON.parse(line);
  } catch {
    return error(0, 'invalid_argument', 'malformed_request', 'not JSON');
  }
  const id = envelope?.id;
  if (!Number.isSafeInteger(id) || id < 1) return error(0, 'invalid_argument', 'bad_id', 'no valid id');
  const keys = Object.keys(envelope);
  const request = envelope.request;
  if (keys.length !== 2 || typeof request !== 'object' || request === null || Array.isArray(request)) {
    return error(id, 'invalid_argument', 'malformed_request', 'not an {id, request} envelope');
  }
  switch (request.type) {
    case 'ping':
      return respond(id, { type: 'pong' });
    case 'get_runtime_info':
      return respond(id, {
        type: 'runtime_info', version: '0.0.0-node-fake', protocol: 1, capsule_id: opts.id, capsule_name: opts.name,
      });
    default:
      return error(id, 'invalid_argument', 'unknown_request', `unknown request type '${request.type}'`);
  }
}
function acceptRequestBytes(bytes) {
  requestBytes = Buffer.concat([requestBytes, bytes]);
  for (;;) {
    const nl = requestBytes.indexOf(0x0a);
    if (nl < 0) {
      if (requestBytes.length > MAX_LINE) {
        discarding = true;
        requestBytes = Buffer.alloc(0);
      }
      return;
    }
    const line = requestBytes.subarray(0, nl);
    requestBytes = requestBytes.subarray(nl + 1);
    if (discarding || line.length > MAX_LINE) {
      discarding = false;
      error(0, 'resource_exhausted', 'line_too_long', 'request line over 1 MiB');
    } else {
      handleLine(line.toString('utf8'));
    }
  }
}

// ---- Carrier fds 4 and 5 over the WASI imports ---------------------------------------------------
let memory = null;
const base = wasi.wasiImport;
const iovecs = (iovs, count) => {
  const view = new DataView(memory.buffer);
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push([view.getUint32(iovs + 8 * i, true), view.getUint32(iovs + 8 * i + 4, true)]);
  }
  return out;
};
const imports = {
  ...base,
  fd_prestat_get(fd, out) {
    if (fd === 4 || fd === 5) return ERRNO_BADF;
    return base.fd_prestat_get(fd, out);
  },
  fd_write(fd, iovs, count, nwritten) {
    if (!opts.carrier || (fd !== 5 && fd !== 4)) return base.fd_write(fd, iovs, count, nwritten);
    if (fd === 4) return ERRNO_BADF;
    let total = 0;
    for (const [ptr, len] of iovecs(iovs, count)) {
      acceptRequestBytes(Buffer.from(new Uint8Array(memory.buffer, ptr, len)));
      total += len;
    }
    new DataView(memory.buffer).setUint32(nwritten, total, true);
    return ERRNO_SUCCESS;
  },
  fd_read(fd, iovs, count, nread) {
    if (!opts.carrier || (fd !== 4 && fd !== 5)) return base.fd_read(fd, iovs, count, nread);
    if (fd === 5) return ERRNO_BADF;
    // One request in flight: its answer is always complete by now; empty means end of stream.
    let total = 0;
    for (const [ptr, len] of iovecs(iovs, count)) {
      const n = Math.min(len, responses.length);
      new Uint8Array(memory.buffer, ptr, n).set(responses.subarray(0, n));
      responses = responses.subarray(n);
      total += n;
      if (n < len) break;
    }
    new DataView(memory.buffer).setUint32(nread, total, true);
    return ERRNO_SUCCESS;
  },
};

let instance;
try {
  const module = await WebAssembly.compile(readFileSync(modulePath));
  instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports });
} catch (e) {
  process.stderr.write(`wasi_run: refused ${modulePath}: ${e.message}\n`);
  process.exit(125);
}
memory = instance.exports.memory;
let code;
try {
  code = wasi.start(instance);
} catch (e) {
  process.stderr.write(`wasi_run: trap: ${e.message}\n`);
  process.exit(126);
}
process.exitCode = code;
