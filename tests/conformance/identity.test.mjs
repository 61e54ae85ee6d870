// Key files, did:key and Ed25519 signatures against independent implementations:
// @noble/ed25519, did-resolver + key-did-resolver and multiformats' base58btc
// (DESIGN.md §3 "Capsule artifact": private.key / public.did).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as ed from '@noble/ed25519';
import { Resolver } from 'did-resolver';
import * as KeyResolver from 'key-did-resolver';
import { base58btc } from 'multiformats/bases/base58';

import {
  ELASTOS, INTEROP_TOOL, DetRandom, describeRun, elastosOk, makeTempDir, requireBinary, run,
} from './lib/common.mjs';

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const resolver = new Resolver(KeyResolver.getResolver());

// The interop tool takes "-" for an empty byte string.
const arg = (b) => (b.length === 0 ? '-' : hex(b));

async function tool(...args) {
  requireBinary(INTEROP_TOOL);
  const r = await run(INTEROP_TOOL, args);
  return { ...r, out: r.stdout.trim(), describe: () => describeRun(INTEROP_TOOL, args, r) };
}
async function toolOk(...args) {
  const r = await tool(...args);
  assert.equal(r.code, 0, r.describe());
  return r.out;
}

const jsDid = (pub) => `did:key:${base58btc.encode(Uint8Array.from([0xed, 0x01, ...pub]))}`;

// The Ed25519 public key a did:key resolves to with key-did-resolver.
async function resolveEd25519(did) {
  const res = await resolver.resolve(did);
  assert.equal(res.didResolutionMetadata.error, undefined,
    `${did} does not resolve: ${JSON.stringify(res.didResolutionMetadata)}`);
  const vm = res.didDocument.verificationMethod.find((m) => m.type.startsWith('Ed25519') || m.type === 'Multikey');
  assert.ok(vm, `${did}: no Ed25519 verification method in ${JSON.stringify(res.didDocument)}`);
  if (vm.publicKeyBase58 !== undefined) return base58btc.baseDecode(vm.publicKeyBase58);
  const bytes = base58btc.decode(vm.publicKeyMultibase);
  return bytes.length === 34 && bytes[0] === 0xed && bytes[1] === 0x01 ? bytes.subarray(2) : bytes;
}

async function nobleVerify(sig, msg, pub) {
  try {
    return await ed.verifyAsync(sig, msg, pub);
  } catch {
    return false;
  }
}

const flipBit = (bytes, bit) => {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
};

describe('known vector: seed 07×32', () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c';
  const did = 'did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z';

  test('@noble/ed25519, multiformats and key-did-resolver agree with the vector', async () => {
    assert.equal(hex(await ed.getPublicKeyAsync(seed)), pub);
    assert.equal(jsDid(unhex(pub)), did);
    assert.equal(hex(await resolveEd25519(did)), pub);
  });
  test('interop tool: pub, did, did-decode', async () => {
    assert.equal(await toolOk('pub', hex(seed)), pub);
    assert.equal(await toolOk('did', pub), did);
    assert.equal(await toolOk('did-decode', did), pub);
  });
});

describe('Ed25519 signatures: ours ↔ @noble/ed25519', () => {
  const rnd = new DetRandom('identity-signatures');
  const lengths = [0, 1, 31, 32, 33, 64, 127, 128, 1000, 4096];
  for (let i = 0; lengths.length < 24; i++) lengths.push(rnd.int(2048));

  test('public keys from random seeds agree', async () => {
    for (let i = 0; i < 16; i++) {
      const seed = rnd.bytes(32);
      assert.equal(await toolOk('pub', hex(seed)), hex(await ed.getPublicKeyAsync(seed)), `seed ${hex(seed)}`);
    }
  });

  test(`signatures over ${lengths.length} random messages are identical and cross-verify`, async (t) => {
    for (const len of lengths) {
      const seed = rnd.bytes(32);
      const msg = rnd.bytes(len);
      const pub = await ed.getPublicKeyAsync(seed);
      const ours = await toolOk('sign', hex(seed), arg(msg));
      const noble = hex(await ed.signAsync(msg, seed));
      const where = `seed ${hex(seed)}, ${len}-byte message`;
      // Ed25519 (RFC 8032) is deterministic: both must produce the same 64 bytes.
      assert.equal(ours, noble, `${where}: signatures differ`);
      assert.ok(await nobleVerify(unhex(ours), msg, pub), `${where}: @noble rejects our signature`);
      const v = await tool('verify', hex(pub), arg(msg), noble);
      assert.equal(v.code, 0, `${where}: interop tool rejects @noble's signature: ${v.describe()}`);
    }
    t.diagnostic(`message lengths: ${lengths.join(', ')}`);
  });

  test('a flipped bit (signature, message or key) fails both ways', async () => {
    for (let i = 0; i < 8; i++) {
      const seed = rnd.bytes(32);
      const msg = rnd.bytes(1 + rnd.int(300));
      const pub = await ed.getPublicKeyAsync(seed);
      const sig = await ed.signAsync(msg, seed);
      const cases = [
        ['signature', sig.length * 8, (b) => [flipBit(sig, b), msg, pub]],
        ['message', msg.length * 8, (b) => [sig, flipBit(msg, b), pub]],
        ['public key', 256, (b) => [sig, msg, flipBit(pub, b)]],
      ];
      for (const [what, bits, make] of cases) {
        const bit = rnd.int(bits);
        const [s, m, p] = make(bit);
        assert.equal(await nobleVerify(s, m, p), false, `@noble accepts a signature with ${what} bit ${bit} flipped`);
        const v = await tool('verify', hex(p), arg(m), hex(s));
        assert.equal(v.code, 1, `interop tool with ${what} bit ${bit} flipped: ${v.describe()}`);
      }
    }
  });

  test('a truncated or over-long signature is invalid, not an error', async () => {
    const seed = rnd.bytes(32);
    const pub = await ed.getPublicKeyAsync(seed);
    const sig = await ed.signAsync(Uint8Array.of(1, 2, 3), seed);
    for (const bad of [sig.subarray(0, 63), Uint8Array.from([...sig, 0])]) {
      const v = await tool('verify', hex(pub), '010203', hex(bad));
      assert.equal(v.code, 1, v.describe());
    }
  });
});

describe('did:key: ours ↔ multiformats base58btc and key-did-resolver', () => {
  const rnd = new DetRandom('identity-did');

  test('encode and decode agree for random keys', async () => {
    for (let i = 0; i < 16; i++) {
      const pub = await ed.getPublicKeyAsync(rnd.bytes(32));
      const ours = await toolOk('did', hex(pub));
      assert.match(ours, /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/);
      assert.equal(ours, jsDid(pub), `did of ${hex(pub)}`);
      assert.equal(hex(await resolveEd25519(ours)), hex(pub), `key-did-resolver on ${ours}`);
      assert.equal(await toolOk('did-decode', jsDid(pub)), hex(pub), `did-decode ${jsDid(pub)}`);
    }
  });

  test('did-decode refuses what is not an Ed25519 did:key', async () => {
    const good = 'did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z';
    const pub = unhex('ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c');
    const bad = {
      'secp256k1 did:key (resolvable by key-did-resolver)': 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme',
      'another DID method': 'did:web:example.com',
      'hex multibase': `did:key:f${hex(Uint8Array.from([0xed, 0x01, ...pub]))}`,
      'truncated': good.slice(0, -1),
      'a character outside base58': `${good.slice(0, -1)}0`,
      '33-byte key': `did:key:${base58btc.encode(Uint8Array.from([0xed, 0x01, ...pub, 0]))}`,
      'empty': '',
    };
    for (const [what, did] of Object.entries(bad)) {
      const r = await tool('did-decode', did);
      assert.equal(r.code, 1, `${what}: ${r.describe()}`);
    }
  });
});

describe('elastos keys generate', () => {
  let tmp;
  before(() => { tmp = makeTempDir('identity'); });
  after(() => tmp?.cleanup());

  async function generate(name) {
    const dir = path.join(tmp.dir, name);
    const { out } = await elastosOk(['keys', 'generate', '--out', dir]);
    return { dir, printed: out };
  }

  test('private.key: mode 0600, 64 lowercase hex characters and a newline', async () => {
    requireBinary(ELASTOS);
    const { dir } = await generate('k1');
    const file = path.join(dir, 'private.key');
    const mode = fs.statSync(file).mode & 0o777;
    assert.equal(mode, 0o600, `private.key mode is ${mode.toString(8)}`);
    assert.match(fs.readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  });

  test('public.did resolves to the key @noble/ed25519 derives from private.key', async () => {
    requireBinary(ELASTOS);
    const { dir, printed } = await generate('k2');
    const seed = unhex(fs.readFileSync(path.join(dir, 'private.key'), 'utf8').trim());
    const didText = fs.readFileSync(path.join(dir, 'public.did'), 'utf8');
    assert.match(didText, /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+\n$/);
    const did = didText.trim();
    assert.equal(printed, did, 'printed did:key differs from public.did');
    const derived = await ed.getPublicKeyAsync(seed);
    assert.equal(hex(await resolveEd25519(did)), hex(derived), 'resolved key ≠ key derived from the seed');
    assert.equal(did, jsDid(derived));
    // A signature made with the seed verifies under the resolved key.
    const msg = new TextEncoder().encode('elastos conformance');
    assert.ok(await nobleVerify(await ed.signAsync(msg, seed), msg, await resolveEd25519(did)));
  });

  test('two generations give different keys', async () => {
    requireBinary(ELASTOS);
    const a = await generate('k3');
    const b = await generate('k4');
    assert.notEqual(a.printed, b.printed);
    assert.notEqual(fs.readFileSync(path.join(a.dir, 'private.key'), 'utf8'),
      fs.readFileSync(path.join(b.dir, 'private.key'), 'utf8'));
  });

  test('refuses to overwrite an existing key (exit 1)', async (t) => {
    requireBinary(ELASTOS);
    const { dir } = await generate('k5');
    const before_ = fs.readFileSync(path.join(dir, 'private.key'), 'utf8');
    const args = ['keys', 'generate', '--out', dir];
    const r = await run(ELASTOS, args);
    assert.equal(fs.readFileSync(path.join(dir, 'private.key'), 'utf8'), before_, 'private.key was overwritten');
    assert.equal(r.code, 1, `second generate into the same directory: ${describeRun(ELASTOS, args, r)}`);
    t.diagnostic('existing private.key kept');
  });
});
