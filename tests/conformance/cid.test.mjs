// `elastos cid` against ipfs-unixfs-importer, byte for byte, for both UnixFS profiles
// (DESIGN.md §3 "Content identifiers"). Inputs are generated deterministically in a temporary
// directory and removed afterwards; the largest case (1 GiB + 1 byte, a two-level tree under
// unixfs-v1-2025) is streamed from disk to both sides.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DEFAULT_PROFILE, ELASTOS, MiB, PROFILES, elastosCid, fmtMs, fmtSize, jsImport, makeTempDir,
  requireBinary, run, writeDetFile, writeTree,
} from './lib/common.mjs';

let tmp;
before(() => { tmp = makeTempDir('cid'); });
after(() => tmp?.cleanup());

// Both sides at once (two cores), then byte-for-byte comparison with timings as diagnostics.
async function compare(t, target, profile, label) {
  const jsStart = Date.now();
  const [ours, js] = await Promise.all([
    elastosCid(target, profile),
    jsImport(target, profile).then((cid) => ({ cid: cid.toString(), ms: Date.now() - jsStart })),
  ]);
  t.diagnostic(`${label}: elastos ${fmtMs(ours.ms)}, ipfs-unixfs-importer ${fmtMs(js.ms)} → ${js.cid}`);
  assert.equal(ours.cid, js.cid, `${label} [${profile}]: elastos cid printed ${ours.cid}, ipfs-unixfs-importer gives ${js.cid}`);
}

describe('reference importer sanity (no elastos needed)', () => {
  test('known CIDs of "hello world\\n" and of an empty directory', async () => {
    const file = path.join(tmp.dir, 'hello.txt');
    fs.writeFileSync(file, 'hello world\n');
    const empty = path.join(tmp.dir, 'empty-dir');
    fs.mkdirSync(empty);
    assert.equal((await jsImport(file, 'unixfs-v0-2015')).toString(), 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o');
    assert.equal((await jsImport(file, 'unixfs-v1-2025')).toString(), 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
    assert.equal((await jsImport(empty, 'unixfs-v0-2015')).toString(), 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn');
    assert.equal((await jsImport(empty, 'unixfs-v1-2025')).toString(), 'bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354');
    fs.rmSync(file);
    fs.rmSync(empty, { recursive: true });
  });

  test("our profile options equal ipfs-unixfs-importer's built-in profiles", async (t) => {
    const dir = path.join(tmp.dir, 'builtin');
    writeTree(dir, { 'f0': 0, 'f1': 1, 'two-chunks': 2 * MiB + 3, 'sub': { 'x': 300 * 1024, 'e': {} } });
    const big = path.join(tmp.dir, 'builtin-big.bin');
    writeDetFile(big, 175 * 262144 + 1, 'builtin-big');
    for (const profile of Object.keys(PROFILES)) {
      for (const target of [dir, path.join(dir, 'two-chunks'), big]) {
        const ours = (await jsImport(target, profile)).toString();
        const builtin = (await jsImport(target, profile, { extra: { profile, cidVersion: undefined, rawLeaves: undefined, chunker: undefined, layout: undefined, reduceSingleLeafToSelf: undefined } })).toString();
        assert.equal(ours, builtin, `${profile} ${path.basename(target)}`);
      }
    }
    t.diagnostic('explicit options (DESIGN.md §3) match importer option `profile` for both profiles');
    fs.rmSync(dir, { recursive: true });
    fs.rmSync(big);
  });
});

describe('elastos cid: profile selection', () => {
  test('default profile is unixfs-v1-2025; hello world matches kubo for both profiles', async () => {
    const file = path.join(tmp.dir, 'hello.txt');
    fs.writeFileSync(file, 'hello world\n');
    assert.equal((await elastosCid(file)).cid, 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
    assert.equal((await elastosCid(file, 'unixfs-v1-2025')).cid, 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
    assert.equal((await elastosCid(file, 'unixfs-v0-2015')).cid, 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o');
    assert.equal(DEFAULT_PROFILE, 'unixfs-v1-2025');
  });

  test('an unknown profile is a usage error (exit 2) and a missing path is refused (exit 1)', async () => {
    requireBinary(ELASTOS);
    const file = path.join(tmp.dir, 'hello.txt');
    fs.writeFileSync(file, 'hello world\n');
    const bad = await run(ELASTOS, ['cid', file, '--profile', 'unixfs-v9']);
    assert.equal(bad.code, 2, `unknown profile: exit ${bad.code}, stderr ${bad.stderr}`);
    const missing = await run(ELASTOS, ['cid', path.join(tmp.dir, 'does-not-exist')]);
    assert.equal(missing.code, 1, `missing path: exit ${missing.code}, stderr ${missing.stderr}`);
    fs.rmSync(file);
  });
});

// File sizes in units of the profile's chunk size C: the edges of one leaf, of one internal node
// (maxChildrenPerNode = 174 for v0, 1024 for v1) and of the next tree level.
const fileCases = (C) => [
  ['empty file', 0],
  ['1 byte', 1],
  ['exactly one chunk', C],
  ['one chunk + 1 byte', C + 1],
  ['174 chunks + 1 byte', 174 * C + 1],
  ['1024 chunks + 1 byte', 1024 * C + 1],
];

for (const [profile, p] of Object.entries(PROFILES)) {
  describe(`elastos cid --profile ${profile}: files`, () => {
    for (const [name, size] of fileCases(p.chunkSize)) {
      test(`${name} (${fmtSize(size)})`, async (t) => {
        const file = path.join(tmp.dir, `${profile}-${size}.bin`);
        const genMs = writeDetFile(file, size, `file-${size}`);
        if (size >= 64 * MiB) t.diagnostic(`generated ${fmtSize(size)} in ${fmtMs(genMs)}`);
        try {
          await compare(t, file, profile, `${name} = ${size} bytes`);
        } finally {
          fs.rmSync(file, { force: true });
        }
      });
    }
  });
}

describe('elastos cid: 64 MiB random file', () => {
  let file;
  before(() => {
    file = path.join(tmp.dir, 'random-64MiB.bin');
    writeDetFile(file, 64 * MiB, 'random-64MiB');
  });
  after(() => fs.rmSync(file, { force: true }));
  for (const profile of Object.keys(PROFILES)) {
    test(`${profile}`, (t) => compare(t, file, profile, '64 MiB random'));
  }
});

// A nested tree: empty directories at several depths, a directory holding only an empty
// directory, empty and multi-chunk files, two files with identical content.
const nestedSpec = {
  'empty-dir': {},
  'only-empty-child': { 'inner-empty': {} },
  'docs': {
    'README.md': '# hello\n',
    'zero.bin': 0,
    'nested': {
      'deeper': {
        'empty': {},
        'blob.bin': 2 * MiB + 262144 + 17,  // multi-chunk under both profiles
        'one.bin': 1,
      },
      'small.bin': 4095,
    },
  },
  'big.bin': 3 * MiB + 5,
  'same-1.txt': 'identical content\n',
  'same-2.txt': 'identical content\n',
  'exact-256KiB.bin': 262144,
  'exact-1MiB.bin': MiB,
};

// Names whose order differs between byte order, locale order and case-insensitive order. Link
// order in a UnixFS directory is by UTF-8 bytes.
const namesSpec = {
  'B': 'B\n', 'a': 'a\n', 'a.txt': 'a.txt\n', 'ab': 'ab\n', 'a b': 'space\n', 'A': {},
  'é': 'nfc\n', 'e\u0301': 'nfd\n', 'e': 'e\n', 'f': {}, 'Z10': { 'z2': 'inner\n' }, 'z2': 'z2\n', 'z10': 'z10\n',
  'name with spaces.txt': 'spaces\n', ' leading space': 'x\n', 'trailing space ': 'y\n',
  '-dash': '-\n', '_underscore': '_\n', '~tilde': '~\n', '日本語': 'cjk\n', '😀 emoji': 'emoji\n',
  '10': '10\n', '9': '9\n', '.hidden': 'dot\n', ['x'.repeat(200)]: 'long\n',
};

function wideSpec() {
  // 1000 files with names mixing case, digits and length, in no particular order.
  const spec = {};
  for (let i = 0; i < 1000; i++) {
    const n = (i * 7919) % 1000;
    spec[`${n % 3 === 0 ? 'F' : 'f'}ile-${n}${n % 5 === 0 ? '.dat' : ''}`] = n % 7 === 0 ? 0 : (n * 37) % 5000;
  }
  return spec;
}

for (const [label, spec] of [
  ['nested directories with empty directories and mixed file sizes', nestedSpec],
  ['names needing byte-order sorting', namesSpec],
  ['one directory with 1000 entries', wideSpec()],
  ['an empty directory', {}],
]) {
  describe(`elastos cid: ${label}`, () => {
    let dir;
    before(() => {
      dir = path.join(tmp.dir, label.replace(/[^a-z0-9]+/gi, '-'));
      writeTree(dir, spec, label);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const profile of Object.keys(PROFILES)) {
      test(`${profile}`, (t) => compare(t, dir, profile, label));
    }
  });
}
