// node_capsule_test.mjs BUILD_CAPSULES_DIR CHECK — functional checks of the built test capsules
// under Node's WASI with the ElastOS guest layout and a fake runtime (wasi_run.mjs). One CHECK
// per ctest (tests/capsules/CMakeLists.txt). Exit 0 when every assertion of CHECK holds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [capsules, check] = process.argv.slice(2);
const runner = join(dirname(fileURLToPath(import.meta.url)), 'wasi_run.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'capsule-test-'));
let failures = 0;

function run(name, args = [], { stdin = null, carrier = true, data = null } = {}) {
  const opts = ['--no-warnings', runner, '--name', name, '--id', `${name}-7`];
  if (!carrier) opts.push('--no-carrier');
  if (data) opts.push('--data', data);
  if (stdin !== null) {
    const file = join(scratch, 'stdin');
    writeFileSync(file, Buffer.from(stdin, 'latin1'));
    opts.push('--stdin', file);
  }
  const r = spawnSync(process.execPath, [...opts, join(capsules, name, `${name}.wasm`), ...args],
                      { encoding: 'latin1', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expect(what, actual, wanted) {
  if (actual === wanted) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}\n  wanted: ${JSON.stringify(wanted)}\n  got:    ${JSON.stringify(actual)}`);
  }
}

const checks = {
  'hello-sdk'() {
    const data = mkdtempSync(join(scratch, 'data-'));
    // Bytes that are not UTF-8 and a NUL must pass through stdin → stdout unchanged.
    const stdin = 'line one\nbin\x00\xff\xfe';
    const first = run('hello-sdk', ['x', 'y z'], { stdin, data });
    expect('hello-sdk exit', first.code, 0);
    expect('hello-sdk stdout', first.out, [
      'name: hello-sdk', 'id: hello-sdk-7', 'argc: 3', 'argv[0]: hello-sdk', 'argv[1]: x', 'argv[2]: y z',
      'stdin-begin', 'line one', 'bin\x00\xff\xfe', `stdin-end ${stdin.length} bytes`, 'data: (empty)',
      'wrote /data/hello.txt 21 bytes', 'read /data/hello.txt: hello from hello-sdk', 'runtime: pong',
      'runtime-version: 0.0.0-node-fake protocol 1', ''].join('\n'));
    const second = run('hello-sdk', [], { stdin: '', data, carrier: false });
    expect('hello-sdk second run exit', second.code, 0);
    expect('hello-sdk sees its earlier file', second.out.includes('\ndata: hello.txt\n'), true);
    expect('hello-sdk without a carrier',
           second.out.endsWith('runtime: not connected (ELASTOS_CARRIER_FDS is not set)\n'), true);
  },
  'carrier-ping'() {
    const r = run('carrier-ping');
    expect('carrier-ping exit', r.code, 0);
    expect('carrier-ping stdout', r.out, [
      'ping: pong',
      'runtime_info: version=0.0.0-node-fake protocol=1 capsule_id=carrier-ping-7 capsule_name=carrier-ping',
      'unsupported: error invalid_argument/unknown_request', 'next: pong', ''].join('\n'));
    const none = run('carrier-ping', [], { carrier: false });
    expect('carrier-ping without a carrier exits 2', none.code, 2);
    expect('carrier-ping names the missing runtime', none.out.includes('failed_precondition/no_runtime'), true);
  },
  exit42() {
    const r = run('exit42');
    expect('exit42 exit', r.code, 42);
    expect('exit42 stdout', r.out, 'exiting with 42\n');
  },
  bench() {
    const self = run('bench', ['selftest']);
    expect('bench selftest exit', self.code, 0);
    const native = join(capsules, 'bench', 'bench-native');
    for (const args of [['fib', '24'], ['sha256', '2'], ['sort', '50000']]) {
      const wasm = run('bench', args);
      const host = spawnSync(native, args, { encoding: 'latin1' });
      expect(`bench ${args.join(' ')} exit`, wasm.code, 0);
      expect(`bench ${args.join(' ')} matches native`, wasm.out, host.stdout);
      expect(`bench ${args.join(' ')} times itself on stderr`, /^elapsed_ms: [0-9.]+\n$/.test(wasm.err), true);
    }
    expect('bench usage error', run('bench', ['fib']).code, 2);
  },
  sleep() {
    const r = run('sleep', ['3', '40']);
    expect('sleep exit', r.code, 0);
    expect('sleep stdout', r.out, 'slept 3 x 40 ms\n');
  },
  recurse() {
    // Controls only: bounded recursion works. The unbounded trap is the runtime's to judge.
    const frames = run('recurse', ['1000']);
    expect('recurse frames exit', frames.code, 0);
    expect('recurse frames stdout', frames.out, 'recursing (frames)\nreturned after 1000 levels\n');
    const calls = run('recurse', ['calls', '1000']);
    expect('recurse calls exit', calls.code, 0);
    expect('recurse calls stdout', calls.out, 'recursing (calls)\nreturned after 1000 levels\n');
  },
  'unknown-import'() {
    const r = run('unknown-import');
    expect('unknown-import is refused before it starts', r.code, 125);
    expect('unknown-import printed nothing', r.out, '');
  },
  oob() {
    const r = run('oob');
    expect('oob traps', r.code, 126);
    expect('oob announced the store', r.out.startsWith('storing to 0x'), true);
  },
};

if (!checks[check]) {
  console.log(`unknown check '${check}'; known: ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
try {
  checks[check]();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
