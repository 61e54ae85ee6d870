// The runtime's IPFS trustless gateway (GET /ipfs/{cid}[/{path}], PUT/POST /api/content) checked
// by a real HTTP client with the npm IPLD libraries: what `PUT /api/content` names a file is what
// ipfs-unixfs-importer names it; raw blocks hash to their CID; CARs read with @ipld/car hold
// exactly the reference DAG in depth-first order (the order `ipfs dag export` writes) and, for a
// path, the directory blocks that prove it. The server is `elastos_content_tool serve`, the
// content routes on loopback over a fresh data directory (tests/conformance/content_tool.cc).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CarReader } from '@ipld/car';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

import {
  BIN_DIR, MapBlockstore, MiB, elastosOk, jsImport, makeTempDir, requireBinary, sha256File,
  writeDetFile, writeTree,
} from './lib/common.mjs';

const CONTENT_TOOL = path.join(BIN_DIR, 'elastos_content_tool');
const CAR_TYPE = 'application/vnd.ipld.car; version=1; order=dfs; dups=n';

let tmp;
let gw;

// Starts the gateway; resolves with { url, token, stop() } once it printed where it listens.
async function startGateway(dataDir) {
  requireBinary(CONTENT_TOOL);
  const child = spawn(CONTENT_TOOL, ['serve', dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${CONTENT_TOOL} exited (${code}) before serving`)));
  });
  const { url, token } = JSON.parse(line);
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', () => { clearTimeout(timer); resolve(); });
    child.stdin.end();
  });
  return { url, token, stop };
}

async function call(method, target, { headers = {}, body } = {}) {
  const res = await fetch(gw.url + target, {
    method, body, headers: { Authorization: `Bearer ${gw.token}`, ...headers },
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, bytes, text: () => Buffer.from(bytes).toString('utf8') };
}

async function getOk(target, headers) {
  const r = await call('GET', target, { headers });
  assert.equal(r.res.status, 200, `GET ${target}: ${r.res.status} ${r.text().slice(0, 300)}`);
  return r;
}

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function assertBlockMatches(cid, bytes) {
  assert.equal(cid.multihash.code, sha256.code, `${cid}: multihash is not sha2-256`);
  const digest = await sha256.digest(bytes);
  assert.ok(equalBytes(digest.digest, cid.multihash.digest), `${cid}: the bytes hash to ${CID.create(1, cid.code, digest)}`);
}

// Reads a CAR with @ipld/car, verifying every block; returns roots, block order and blocks.
async function readCar(bytes) {
  const reader = await CarReader.fromBytes(bytes);
  assert.equal(reader.version, 1, 'CAR version');
  const roots = (await reader.getRoots()).map(String);
  const order = [];
  const blocks = new Map();
  for await (const { cid, bytes: b } of reader.blocks()) {
    await assertBlockMatches(cid, b);
    order.push(cid.toString());
    blocks.set(cid.toString(), b);
  }
  return { roots, order, blocks };
}

// Depth-first pre-order from `root`, each block once (as `ipfs dag export` and car.test.mjs).
function dagOrder(root, getBlock) {
  const out = [];
  const seen = new Set();
  const visit = (cid) => {
    const key = cid.toString();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(key);
    const bytes = getBlock(key);
    assert.ok(bytes !== undefined, `block ${key} missing`);
    if (cid.code === dagPb.code) for (const l of dagPb.decode(bytes).Links) visit(l.Hash);
  };
  visit(root);
  return out;
}
const refGetter = (store) => (key) => store.blocks.get(key)?.bytes;

// The file's bytes reassembled from UnixFS blocks (ipfs-unixfs decodes the nodes), as SHA-256 hex.
function fileSha256(cid, getBlock) {
  const h = createHash('sha256');
  const walk = (c) => {
    const bytes = getBlock(c.toString());
    assert.ok(bytes !== undefined, `file block ${c} missing`);
    if (c.code === raw.code) return h.update(bytes);
    const node = dagPb.decode(bytes);
    const fsNode = UnixFS.unmarshal(node.Data);
    assert.ok(fsNode.type === 'file' || fsNode.type === 'raw', `${c} is a UnixFS ${fsNode.type}, not a file`);
    if (fsNode.data?.length) h.update(fsNode.data);
    for (const l of node.Links) walk(l.Hash);
  };
  walk(cid);
  return h.digest('hex');
}

// Follows `segments` from `root` through UnixFS directories using only `getBlock`.
function walkPath(root, segments, getBlock) {
  let cid = root;
  const visited = [root.toString()];
  for (const seg of segments) {
    const bytes = getBlock(cid.toString());
    assert.ok(bytes !== undefined, `directory block ${cid} missing from the CAR`);
    const node = dagPb.decode(bytes);
    assert.equal(UnixFS.unmarshal(node.Data).type, 'directory', `${cid} is not a directory`);
    const link = node.Links.find((l) => l.Name === seg);
    assert.ok(link, `no entry '${seg}' in ${cid}`);
    cid = link.Hash;
    visited.push(cid.toString());
  }
  return { cid, visited };
}

before(async () => {
  tmp = makeTempDir('content');
  gw = await startGateway(path.join(tmp.dir, 'data'));
});
after(async () => {
  await gw?.stop();
  tmp?.cleanup();
});

const profiles = ['unixfs-v1-2025', 'unixfs-v0-2015'];

describe('PUT /api/content, then GET /ipfs/{cid}', () => {
  let file;
  before(() => {
    file = path.join(tmp.dir, 'multi.bin');
    writeDetFile(file, 3 * MiB + 12345, 'content-multi');
  });

  for (const profile of profiles) {
    test(`multi-chunk file, ${profile}: CID, raw blocks, CAR and bytes`, async (t) => {
      const reference = new MapBlockstore();
      const jsRoot = (await jsImport(file, profile, { blockstore: reference }));
      const put = await call('PUT', `/api/content?profile=${profile}`, { body: fs.readFileSync(file) });
      assert.equal(put.res.status, 201, put.text());
      const answer = JSON.parse(put.text());
      assert.equal(answer.cid, jsRoot.toString(), 'PUT /api/content vs ipfs-unixfs-importer');
      assert.equal(answer.size, fs.statSync(file).size);

      // The plain bytes.
      const plain = await getOk(`/ipfs/${answer.cid}`);
      assert.equal(createHash('sha256').update(plain.bytes).digest('hex'), sha256File(file));
      assert.equal(plain.res.headers.get('etag'), `"${answer.cid}"`);
      assert.equal(plain.res.headers.get('cache-control'), 'public, max-age=29030400, immutable');

      // Raw blocks: the root and every child hash to their CIDs (Accept and ?format=raw).
      const root = await getOk(`/ipfs/${answer.cid}`, { Accept: 'application/vnd.ipld.raw' });
      assert.equal(root.res.headers.get('content-type'), 'application/vnd.ipld.raw');
      await assertBlockMatches(jsRoot, root.bytes);
      for (const l of dagPb.decode(root.bytes).Links) {
        const leaf = await getOk(`/ipfs/${l.Hash}?format=raw`);
        await assertBlockMatches(l.Hash, leaf.bytes);
      }

      // The CAR: one root, every block verified, exactly the reference DAG in DFS order.
      const car = await getOk(`/ipfs/${answer.cid}?format=car`);
      assert.equal(car.res.headers.get('content-type'), CAR_TYPE);
      const { roots, order, blocks } = await readCar(car.bytes);
      assert.deepEqual(roots, [answer.cid], 'CAR roots');
      assert.deepEqual(order, dagOrder(jsRoot, refGetter(reference)), 'CAR blocks vs the reference DAG in depth-first order');
      assert.equal(fileSha256(jsRoot, (k) => blocks.get(k)), sha256File(file), 'file reassembled from the CAR');
      t.diagnostic(`${order.length} blocks, ${car.bytes.length} bytes of CAR`);
    });
  }
});

describe('POST /api/content?format=car (a directory from `elastos car export`), then paths', () => {
  const spec = {
    'readme.txt': 'hello gateway\n',
    'assets': {
      'logo.bin': 300 * 1024 + 7,
      'deep': { 'deeper': { 'note.txt': 'deep\n', 'nothing': {} } },
    },
    'é': 'é\n', 'with space': 'space\n', 'dup-1': 'same\n', 'dup-2': 'same\n', 'empty': {},
  };
  let tree;
  before(() => {
    tree = path.join(tmp.dir, 'tree');
    writeTree(tree, spec, 'content-tree');
  });

  for (const profile of profiles) {
    test(`directory, ${profile}: import, path CARs verified from the root, bytes`, async (t) => {
      const reference = new MapBlockstore();
      const jsRoot = await jsImport(tree, profile, { blockstore: reference });
      const carFile = path.join(tmp.dir, `tree-${profile}.car`);
      fs.rmSync(carFile, { force: true });
      await elastosOk(['car', 'export', tree, '--out', carFile, '--profile', profile]);
      const post = await call('POST', '/api/content?format=car', { body: fs.readFileSync(carFile) });
      assert.equal(post.res.status, 201, post.text());
      const answer = JSON.parse(post.text());
      assert.deepEqual(answer.roots, [jsRoot.toString()]);
      assert.equal(answer.blocks, reference.blocks.size, 'distinct blocks stored');

      // The whole directory as a CAR: the reference DAG, DFS, each block once.
      const all = await readCar((await getOk(`/ipfs/${jsRoot}?format=car`)).bytes);
      assert.deepEqual(all.order, dagOrder(jsRoot, refGetter(reference)));

      for (const rel of ['assets/deep/deeper/note.txt', 'assets/logo.bin', 'é', 'with space']) {
        const segments = rel.split('/');
        const target = `/ipfs/${jsRoot}/${segments.map(encodeURIComponent).join('/')}`;
        const car = await getOk(`${target}?format=car`);
        const { roots, order, blocks } = await readCar(car.bytes);
        assert.deepEqual(roots, [jsRoot.toString()], `${rel}: CAR root is the requested CID`);
        // A client proves the path with the CAR's blocks alone, then reads the file.
        const { cid, visited } = walkPath(jsRoot, segments, (k) => blocks.get(k));
        const expected = [...visited.slice(0, -1), ...dagOrder(cid, refGetter(reference))];
        assert.deepEqual(order, expected, `${rel}: path blocks, then the target's DAG`);
        assert.equal(fileSha256(cid, (k) => blocks.get(k)), sha256File(path.join(tree, ...segments)), `${rel}: bytes`);
        // The plain bytes and the roots header agree.
        const plain = await getOk(target);
        assert.equal(createHash('sha256').update(plain.bytes).digest('hex'), sha256File(path.join(tree, ...segments)));
        assert.equal(plain.res.headers.get('x-ipfs-roots'), visited.join(','));
        // dag-scope=block: the proof of the path and the target's root block only.
        const block = await readCar((await getOk(`${target}?format=car&dag-scope=block`)).bytes);
        assert.deepEqual(block.order, visited);
      }
      t.diagnostic(`${all.order.length} blocks in the directory CAR`);
      fs.rmSync(carFile);
    });
  }
});

describe('trustless-gateway probe and errors', () => {
  test('GET /ipfs/bafkqaaa as CAR and raw block', async () => {
    const car = await getOk('/ipfs/bafkqaaa?format=car');
    const { roots, order } = await readCar(car.bytes);
    assert.deepEqual(roots, ['bafkqaaa']);
    assert.deepEqual(order, []);
    const rawBlock = await getOk('/ipfs/bafkqaaa', { Accept: 'application/vnd.ipld.raw' });
    assert.equal(rawBlock.bytes.length, 0);
  });

  test('unknown CID is 404, a malformed one 400, both JSON', async () => {
    const absent = CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode('never stored')));
    const r = await call('GET', `/ipfs/${absent}?format=car`);
    assert.equal(r.res.status, 404);
    assert.equal(JSON.parse(r.text()).error.reason, 'block_not_found');
    const bad = await call('GET', '/ipfs/not-a-cid');
    assert.equal(bad.res.status, 400);
    assert.equal(JSON.parse(bad.text()).error.reason, 'bad_cid');
  });
});
