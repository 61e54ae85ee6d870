// Code shared by the conformance suite: where the binaries are, how to run them, the two
// UnixFS profiles expressed as ipfs-unixfs-importer options, the JS reference import of a file or
// directory on disk, and deterministic test data.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BlackHoleBlockstore } from 'blockstore-core/black-hole';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const BIN_DIR = path.resolve(process.env.ELASTOS_BIN_DIR ?? path.join(REPO_ROOT, 'build', 'bin'));
export const ELASTOS = path.join(BIN_DIR, 'elastos');
export const INTEROP_TOOL = path.join(BIN_DIR, 'elastos_interop_tool');

export const KiB = 1024;
export const MiB = 1024 * KiB;

// DESIGN.md §3 "Content identifiers", in ipfs-unixfs-importer's terms. Directories never shard
// (plain UnixFS directories) and a single input is never wrapped in a directory.
export const PROFILES = {
  'unixfs-v0-2015': { chunkSize: 262144, maxChildrenPerNode: 174, cidVersion: 0, rawLeaves: false },
  'unixfs-v1-2025': { chunkSize: 1048576, maxChildrenPerNode: 1024, cidVersion: 1, rawLeaves: true },
};
export const DEFAULT_PROFILE = 'unixfs-v1-2025';

export function importerOptions(profile) {
  const p = PROFILES[profile];
  if (p === undefined) throw new Error(`unknown profile ${profile}`);
  return {
    cidVersion: p.cidVersion,
    rawLeaves: p.rawLeaves,
    chunker: fixedSize({ chunkSize: p.chunkSize }),
    layout: balanced({ maxChildrenPerNode: p.maxChildrenPerNode }),
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    shardSplitThresholdBytes: Number.MAX_SAFE_INTEGER,
  };
}

// A blockstore that keeps every block with its full CID (blockstore-core's MemoryBlockstore keys
// by multihash only, which loses the codec a CAR needs).
export class MapBlockstore {
  constructor() { this.blocks = new Map(); }
  put(cid, bytes) { this.blocks.set(cid.toString(), { cid, bytes }); return cid; }
  has(cid) { return this.blocks.has(cid.toString()); }
  * get(cid) {
    const b = this.blocks.get(cid.toString());
    if (b === undefined) throw new Error(`block ${cid} not found`);
    yield b.bytes;
  }
}

// The importer candidates for a file or directory on disk. A directory yields itself and every
// file and (possibly empty) directory below it, with paths relative to its parent; file content is
// streamed from disk. Symlinks and other special files are refused.
function candidates(target) {
  const st = fs.lstatSync(target);
  if (st.isFile()) return [{ content: fs.createReadStream(target, { highWaterMark: MiB }) }];
  if (!st.isDirectory()) throw new Error(`${target}: not a regular file or directory`);
  const base = path.basename(target);
  const out = [{ path: base }];
  const walk = (dir, rel) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, d.name);
      const r = `${rel}/${d.name}`;
      if (d.isDirectory()) {
        out.push({ path: r });
        walk(full, r);
      } else if (d.isFile()) {
        out.push({ path: r, content: fs.createReadStream(full, { highWaterMark: MiB }) });
      } else {
        throw new Error(`${full}: not a regular file or directory`);
      }
    }
  };
  walk(target, base);
  return { root: base, entries: out };
}

// The reference CID of `target` under `profile`, from ipfs-unixfs-importer. Blocks go to
// `blockstore` (discarded by default). `extra` overrides importer options (used to compare with
// the importer's built-in profiles).
export async function jsImport(target, profile, { blockstore = new BlackHoleBlockstore(), extra = {} } = {}) {
  const c = candidates(target);
  const opts = { ...importerOptions(profile), ...extra };
  if (Array.isArray(c)) {
    let last;
    for await (const e of importer(c, blockstore, opts)) last = e;
    return last.cid;
  }
  let root;
  for await (const e of importer(c.entries, blockstore, opts)) {
    if (e.path === c.root) root = e;
  }
  if (root === undefined) throw new Error(`importer yielded no entry for ${c.root}`);
  return root.cid;
}

// Runs a command, capturing output. Resolves (never rejects on a non-zero exit) with
// { code, signal, stdout, stderr, ms }.
export function run(cmd, args, { timeoutMs = 600_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code, signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
}

export function describeRun(cmd, args, r) {
  return `${path.basename(cmd)} ${args.join(' ')} → exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}` +
    `\n  stdout: ${JSON.stringify(r.stdout.slice(0, 2000))}\n  stderr: ${JSON.stringify(r.stderr.slice(0, 2000))}`;
}

// Fails (not skips) when a binary is missing: a green suite must mean the checks ran.
export function requireBinary(bin) {
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it first (cmake --build build), or pass the bin directory to run.sh`);
  }
}

// Runs `elastos ARGS…` expecting exit 0; returns trimmed stdout.
export async function elastosOk(args, opts) {
  requireBinary(ELASTOS);
  const r = await run(ELASTOS, args, opts);
  if (r.code !== 0) throw new Error(`expected success: ${describeRun(ELASTOS, args, r)}`);
  return { out: r.stdout.trim(), ms: r.ms, run: r };
}

export async function elastosCid(target, profile) {
  const args = ['cid', target];
  if (profile !== undefined) args.push('--profile', profile);
  const { out, ms } = await elastosOk(args);
  return { cid: out, ms };
}

// Deterministic pseudo-random bytes: the AES-128-CTR keystream under SHA-256(seed). Fast enough to
// generate a GiB in seconds, and the same on every machine.
export class DetRandom {
  constructor(seed) {
    const key = createHash('sha256').update(String(seed)).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }
  bytes(n) { return new Uint8Array(this.cipher.update(Buffer.alloc(n))); }
  uint32() { return Buffer.from(this.bytes(4)).readUInt32LE(0); }
  int(n) { return this.uint32() % n; }  // [0, n); bias irrelevant for tests
}

export function detBytes(seed, n) { return new DetRandom(seed).bytes(n); }

// Writes `size` deterministic bytes to `file` in 4 MiB pieces; returns the time taken in ms.
export function writeDetFile(file, size, seed) {
  const started = Date.now();
  const rnd = new DetRandom(seed);
  const fd = fs.openSync(file, 'w');
  try {
    const piece = 4 * MiB;
    for (let left = size; left > 0;) {
      const n = Math.min(left, piece);
      fs.writeSync(fd, rnd.bytes(n));
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return Date.now() - started;
}

// Builds a tree from a spec: { name: Number (deterministic file of that size) | Uint8Array |
// string (file content) | Object (sub-directory, {} = empty) }.
export function writeTree(dir, spec, seed = dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, v] of Object.entries(spec)) {
    const p = path.join(dir, name);
    if (typeof v === 'number') writeDetFile(p, v, `${seed}/${name}`);
    else if (typeof v === 'string' || v instanceof Uint8Array) fs.writeFileSync(p, v);
    else writeTree(p, v, `${seed}/${name}`);
  }
}

// A fresh temporary directory for one test file; removed by the returned cleanup function.
export function makeTempDir(prefix) {
  const parent = process.env.ELASTOS_CONFORMANCE_TMPDIR ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(parent, `elastos-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// Every file and directory below `dir` as { relPath: 'dir' | sha256-hex-of-content }.
export function snapshotTree(dir) {
  const out = {};
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) { out[r] = 'dir'; walk(full, r); }
      else if (e.isFile()) out[r] = `file ${fs.statSync(full).size} ${sha256File(full)}`;
      else out[r] = 'special';
    }
  };
  walk(dir, '');
  return out;
}

export function sha256File(file) {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB);
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
export const fmtSize = (n) => (n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 2 : 0)} MiB` : `${n} B`);
