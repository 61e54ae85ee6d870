// `elastos car export` read by @ipld/car, and CARs written by @ipld/car read by
// `elastos car import` (DESIGN.md §3: CAR v1, every block hash-verified).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';

import { CarReader, CarWriter } from '@ipld/car';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

import {
  ELASTOS, MapBlockstore, MiB, PROFILES, describeRun, elastosCid, elastosOk, fmtMs, jsImport,
  makeTempDir, requireBinary, run, sha256File, snapshotTree, writeDetFile, writeTree,
} from './lib/common.mjs';

let tmp;
before(() => { tmp = makeTempDir('car'); });
after(() => tmp?.cleanup());

const treeSpec = {
  'capsule.json': '{"name":"demo","version":"1.0.0","type":"data"}\n',
  'empty-dir': {},
  'assets': {
    'logo.bin': 300 * 1024 + 7,        // two leaves under unixfs-v0-2015
    'zero': 0,
    'deep': { 'deeper': { 'note.txt': 'deep\n', 'nothing': {} } },
  },
  'B': 'B\n', 'a': 'a\n', 'a.txt': 'a.txt\n', 'é': 'é\n', 'with space': 'space\n',
  'dup-1': 'same bytes\n', 'dup-2': 'same bytes\n',
};

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Walks the DAG from `root` through dag-pb links, returning the CIDs (as strings) of all blocks
// reached and those that `getBlock` lacks.
function walkDag(root, getBlock) {
  const reached = new Set();
  const missing = [];
  const stack = [root];
  while (stack.length > 0) {
    const cid = stack.pop();
    const key = cid.toString();
    if (reached.has(key)) continue;
    reached.add(key);
    const bytes = getBlock(key);
    if (bytes === undefined) { missing.push(key); continue; }
    if (cid.code === dagPb.code) for (const link of dagPb.decode(bytes).Links) stack.push(link.Hash);
  }
  return { reached, missing };
}

// Reads a CAR with @ipld/car and checks it against the DAG ipfs-unixfs-importer builds for the
// same input: CAR v1, one root equal to `expectedRoot`, every block's bytes hash to its CID, the
// codecs and CID versions the profile allows, no block missing from or foreign to the DAG, and
// the same block set as the reference import.
async function checkCar(t, carPath, { expectedRoot, profile, reference }) {
  const reader = await CarReader.fromIterable(fs.createReadStream(carPath));
  assert.equal(reader.version, 1, 'CAR version');
  const roots = (await reader.getRoots()).map(String);
  assert.deepEqual(roots, [expectedRoot], 'CAR roots');
  const blocks = new Map();
  let count = 0;
  let duplicates = 0;
  const v = PROFILES[profile].cidVersion;
  for await (const { cid, bytes } of reader.blocks()) {
    count++;
    assert.equal(cid.multihash.code, sha256.code, `block ${cid}: multihash is not sha2-256`);
    const digest = await sha256.digest(bytes);
    assert.ok(equalBytes(digest.digest, cid.multihash.digest),
      `block ${cid}: its bytes hash to ${CID.create(1, cid.code, digest)} instead`);
    assert.ok(cid.code === dagPb.code || cid.code === raw.code, `block ${cid}: codec 0x${cid.code.toString(16)} is neither dag-pb nor raw`);
    assert.equal(cid.version, v, `block ${cid}: CID version ${cid.version} under ${profile}`);
    if (cid.code === raw.code) assert.ok(PROFILES[profile].rawLeaves, `block ${cid}: raw leaf under ${profile}`);
    if (cid.code === dagPb.code) UnixFS.unmarshal(dagPb.decode(bytes).Data);  // throws if not UnixFS
    const key = cid.toString();
    if (blocks.has(key)) duplicates++;
    blocks.set(key, bytes);
  }
  const { reached, missing } = walkDag(CID.parse(expectedRoot), (k) => blocks.get(k));
  assert.deepEqual(missing, [], `blocks referenced by the DAG but missing from the CAR`);
  const foreign = [...blocks.keys()].filter((k) => !reached.has(k));
  assert.deepEqual(foreign, [], `blocks in the CAR that the DAG does not reference`);
  const refReached = walkDag(CID.parse(expectedRoot), (k) => reference.blocks.get(k)?.bytes).reached;
  assert.deepEqual([...reached].sort(), [...refReached].sort(), 'block set differs from ipfs-unixfs-importer\'s');
  t.diagnostic(`${count} blocks (${blocks.size} distinct, ${duplicates} repeated), ${fs.statSync(carPath).size} bytes`);
}

async function exportAndCheck(t, target, profile) {
  requireBinary(ELASTOS);
  const reference = new MapBlockstore();
  const jsRoot = (await jsImport(target, profile, { blockstore: reference })).toString();
  const { cid } = await elastosCid(target, profile);
  assert.equal(cid, jsRoot, `elastos cid ${cid} vs ipfs-unixfs-importer ${jsRoot}`);
  const car = path.join(tmp.dir, `export-${profile}.car`);
  fs.rmSync(car, { force: true });
  const { ms } = await elastosOk(['car', 'export', target, '--out', car, '--profile', profile]);
  t.diagnostic(`car export ${fmtMs(ms)}`);
  try {
    await checkCar(t, car, { expectedRoot: cid, profile, reference });
  } finally {
    fs.rmSync(car, { force: true });
  }
}

// Blocks in depth-first order from the root (the order `ipfs dag export` writes).
function dagOrder(root, store) {
  const out = [];
  const seen = new Set();
  const visit = (cid) => {
    const key = cid.toString();
    if (seen.has(key)) return;
    seen.add(key);
    const { bytes } = store.blocks.get(key);
    out.push({ cid, bytes });
    if (cid.code === dagPb.code) for (const l of dagPb.decode(bytes).Links) visit(l.Hash);
  };
  visit(root);
  return out;
}

// Imports `target` with ipfs-unixfs-importer and writes its DAG as a CAR with @ipld/car.
// `mutate(blocks)` may alter the block list first (to build corrupt CARs).
async function writeJsCar(target, profile, carPath, mutate = (b) => b) {
  const store = new MapBlockstore();
  const root = await jsImport(target, profile, { blockstore: store });
  const blocks = mutate(dagOrder(root, store));
  const { writer, out } = CarWriter.create([root]);
  const done = pipeline(Readable.from(out), fs.createWriteStream(carPath));
  for (const b of blocks) await writer.put(b);
  await writer.close();
  await done;
  return { root: root.toString(), blocks };
}

const profiles = Object.keys(PROFILES);

describe('elastos car export → @ipld/car', () => {
  let tree;
  let multi;
  let multiLevel;
  let hello;
  before(() => {
    tree = path.join(tmp.dir, 'tree');
    writeTree(tree, treeSpec, 'car-tree');
    multi = path.join(tmp.dir, 'multi-chunk.bin');
    writeDetFile(multi, 3 * MiB + 12345, 'car-multi');
    multiLevel = path.join(tmp.dir, 'multi-level.bin');
    writeDetFile(multiLevel, 175 * 262144 + 1, 'car-multi-level');
    hello = path.join(tmp.dir, 'hello.txt');
    fs.writeFileSync(hello, 'hello world\n');
  });
  for (const profile of profiles) {
    test(`small directory tree, ${profile}`, (t) => exportAndCheck(t, tree, profile));
    test(`multi-chunk file (3 MiB + 12345 bytes), ${profile}`, (t) => exportAndCheck(t, multi, profile));
    test(`single-block file, ${profile}`, (t) => exportAndCheck(t, hello, profile));
  }
  // Two levels of internal nodes need 175 leaves: 43.75 MiB under v0 (the v1 equivalent is the
  // 1 GiB case that cid.test.mjs covers).
  test('multi-level file (175 chunks), unixfs-v0-2015', (t) => exportAndCheck(t, multiLevel, 'unixfs-v0-2015'));
});

describe('@ipld/car CarWriter → elastos car import', () => {
  let tree;
  let multi;
  before(() => {
    tree = path.join(tmp.dir, 'import-tree');
    writeTree(tree, treeSpec, 'car-import-tree');
    multi = path.join(tmp.dir, 'import-multi.bin');
    writeDetFile(multi, 2 * MiB + 777, 'car-import-multi');
  });

  for (const profile of profiles) {
    test(`directory tree round trip, ${profile}`, async (t) => {
      requireBinary(ELASTOS);
      const car = path.join(tmp.dir, `in-tree-${profile}.car`);
      const out = path.join(tmp.dir, `out-tree-${profile}`);
      const { root } = await writeJsCar(tree, profile, car);
      const { ms } = await elastosOk(['car', 'import', car, '--out', out]);
      t.diagnostic(`car import ${fmtMs(ms)}`);
      assert.deepEqual(snapshotTree(out), snapshotTree(tree), 'imported tree differs from the original');
      assert.equal((await elastosCid(out, profile)).cid, root, 'imported tree re-hashes to a different CID');
      fs.rmSync(out, { recursive: true });
      fs.rmSync(car);
    });

    test(`multi-chunk file round trip, ${profile}`, async () => {
      requireBinary(ELASTOS);
      const car = path.join(tmp.dir, `in-file-${profile}.car`);
      const out = path.join(tmp.dir, `out-file-${profile}.bin`);
      await writeJsCar(multi, profile, car);
      await elastosOk(['car', 'import', car, '--out', out]);
      assert.ok(fs.statSync(out).isFile(), `${out} is not a file`);
      assert.equal(sha256File(out), sha256File(multi), 'imported file differs from the original');
      fs.rmSync(out);
      fs.rmSync(car);
    });
  }

  // A leaf whose bytes no longer match its CID, and a CAR lacking a leaf: both refused, exit 1,
  // and nothing is written.
  for (const [label, mutate] of [
    ['a corrupted block', (blocks) => {
      const i = blocks.length - 1;
      const bytes = Uint8Array.from(blocks[i].bytes);
      bytes[bytes.length >> 1] ^= 0x01;
      blocks[i] = { cid: blocks[i].cid, bytes };
      return blocks;
    }],
    ['a missing block', (blocks) => blocks.slice(0, -1)],
  ]) {
    for (const profile of profiles) {
      test(`refuses ${label}, ${profile}`, async () => {
        requireBinary(ELASTOS);
        const car = path.join(tmp.dir, `bad-${profile}.car`);
        const out = path.join(tmp.dir, `bad-out-${profile}`);
        await writeJsCar(multi, profile, car, mutate);
        const args = ['car', 'import', car, '--out', out];
        const r = await run(ELASTOS, args);
        assert.equal(r.code, 1, `expected exit 1: ${describeRun(ELASTOS, args, r)}`);
        assert.ok(!fs.existsSync(out), `${out} was written although the import was refused`);
        fs.rmSync(car);
      });
    }
  }
});
