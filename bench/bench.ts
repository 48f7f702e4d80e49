/**
 * `npm run bench`, in two parts measured in the same run:
 * 1. the model's XSAVE+XRSTOR pair (a library call) against the host CPU's own pair;
 * 2. a guest loop of XSAVE64+XRSTOR64 pairs (bench/guest-xsave-loop.c, musl-static) run natively,
 *    under `qemu-x86_64 -cpu max` (Debian's qemu-user, installed here if missing) and under
 *    `xstate-lab exec --cpu host`: ns per pair and the ratios to qemu-user and to native;
 * 3. plain guest code (bench/guest-plain-hash.c) and exec's start-up, against qemu-user and `node -e 0`;
 * 4. the floor under the trap path (unicorn and koffi with no emulation).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { PACKAGE_ROOT } from '../src/paths.js';
import { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { XsaveContext, xrstor, xsave } from '../emulator/xsave.js';
import { XFeature } from '../emulator/xfeatures.js';
import { hostCpuModel } from '../src/host/capture.js';
import { buildNative } from '../src/native.js';
import koffi from 'koffi';
import { SYNC_ALL_COUNT, SYNC_REGS } from '../emulator/machine.js';
import { Unicorn, X86Reg } from '../emulator/unicorn.js';
import { buildGuest, timed, type Timed } from './tools.js';
import { recordRatio } from './goals.js';

function modelPair(cpu: CpuModel, xcr0: number, pairs: number): number {
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = xcr0;
  // A state with every component in use, as a busy vector program has.
  for (const c of cpu.extendedComponents) if (!c.supervisor && (xcr0 >>> c.number) & 1) { ctx.regs.comp[c.number]!.fill(0x11); ctx.regs.touched(c.number); }
  if (cpu.components[XFeature.TILECFG]) { const t = ctx.regs.comp[XFeature.TILECFG]!; t.fill(0); t[0] = 1; t[16] = 64; t[48] = 16; }
  ctx.regs.legacy.fill(0x22, 160, 416);
  ctx.regs.touched(XFeature.X87);
  ctx.regs.touched(XFeature.SSE);
  const area = new Uint8Array(cpu.standardSize(xcr0));
  const run = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      xsave(ctx, area, 0x1000, xcr0, 0, true);
      xrstor(ctx, area, 0x1000, xcr0, 0, true);
    }
    return Number(process.hrtime.bigint() - t0);
  };
  run(Math.min(pairs, 20000)); // warm up the JIT
  return run(pairs) / pairs;
}

function nativePair(pairs: number): number {
  const exe = buildNative('host/xsave-pair-bench.c');
  const [n, ns] = execFileSync(exe, [String(pairs)], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return ns / n;
}

// ------------------------------------------------------------------ part 1: the model as a library

const pairs = Number(process.env.BENCH_PAIRS ?? 200000);
const host = hostCpuModel();
const hostXcr0 = Number(BigInt(host.profile.source.captured_xcr0 ?? '0x3') & 0xffffffffn);
const largest = builtinProfileIds().map((id) => loadBuiltinQuietly(id)).sort((a, b) => b.standardSize(b.xcr0Supported) - a.standardSize(a.xcr0Supported))[0];

// Five alternating rounds, median of each: a 2-core machine is noisy.
const ROUNDS = 5;
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];
const natR: number[] = [], hostR: number[] = [], bigR: number[] = [];
for (let k = 0; k < ROUNDS; k++) {
  natR.push(nativePair(pairs));
  hostR.push(modelPair(host, hostXcr0, pairs));
  bigR.push(modelPair(largest, largest.xcr0Supported, pairs));
}
const nat = median(natR), mHost = median(hostR), mBig = median(bigR);
const fmt = (ns: number): string => `${ns.toFixed(0).padStart(6)} ns/pair  ${(1e9 / ns / 1e6).toFixed(2).padStart(6)} M pairs/s`;
console.log(`XSAVE64+XRSTOR64 pair, ${pairs} pairs per round, median of ${ROUNDS} rounds; peer: this host's CPU`);
console.log(`  native   host ${host.id}, XCR0 0x${hostXcr0.toString(16)}, ${host.standardSize(hostXcr0)} bytes: ${fmt(nat)}`);
console.log(`  model    same CPU and XCR0:                        ${fmt(mHost)}   ratio model/native ${(mHost / nat).toFixed(2)}x`);
console.log(`  model    ${largest.id}, XCR0 0x${largest.xcr0Supported.toString(16)}, ${largest.standardSize(largest.xcr0Supported)} bytes: ${fmt(mBig)}   ratio model/native(host) ${(mBig / nat).toFixed(2)}x`);

// ------------------------------------------------------------------ part 2: a guest loop, three ways

/** Which of the guest program's loops: plain pairs, or AVX-512 writes (one EVEX, one VEX) before each pair. */
type Variant = 'pairs' | 'avx512';
interface Runner { name: string; cmd: string; args: (exe: string, n: number, v: Variant) => string[] }

/** qemu-x86_64 from Debian's qemu-user: installed with apt-get when missing and running as root. */
function ensureQemu(): string | undefined {
  const which = (): string | undefined => {
    const r = spawnSync('sh', ['-c', 'command -v qemu-x86_64'], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  let q = which();
  if (q) return q;
  if (process.getuid?.() !== 0) {
    console.log('  qemu-x86_64 not found and not root: run apt-get install -y --no-install-recommends qemu-user, then the bench again');
    return undefined;
  }
  console.log('  installing qemu-user (apt-get install -y --no-install-recommends qemu-user)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'qemu-user'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  q = r.status === 0 ? which() : undefined;
  if (!q) console.log('  qemu-user could not be installed: the qemu column is left out');
  return q;
}

interface GuestResult {
  wall: number; cpu: number; pairs: number; stdout: string; spread: [number, number];
  /** CPU time of the run with 0 pairs (startup, loading, set-up), and what the first N pairs cost beyond N x cpu (warm-up: JIT compilation, translation). */
  startupMs: number; warmupMs: number;
}


/** One runner's timed runs of the guest loop (the program exits 0 or the runner is dropped). */
function onceFor(r: Runner, exe: string, v: Variant): (n: number) => Timed {
  return (n) => {
    const t = timed(r.cmd, r.args(exe, n, v));
    if (t.status !== 0) throw new Error(`${r.name}: exit status ${t.status}: ${t.stdout.trim()}`);
    return t;
  };
}

/**
 * N for one runner: from the slope between two short runs (a fresh process also pays one-time
 * costs, such as compiling the trap path, that the slope leaves out), so that N pairs take about
 * `targetMs`.
 */
function pairsFor(once: (n: number) => Timed, targetMs: number): number {
  // From 10,000 pairs: shorter runs are mostly warm-up under exec (V8 compiling the trap path), which
  // would make the slope steep and N too small.
  let n0 = 10_000;
  let slope = 0;
  const best = (n: number): number => Math.min(once(n).ns, once(n).ns);
  for (;;) {
    const a = best(n0), b = best(8 * n0);
    slope = (b - a) / (7 * n0);
    if (b - a >= targetMs * 1e5 || n0 >= 500_000) break;
    n0 *= 8;
  }
  return Math.max(10_000, Math.min(20_000_000, Math.round((targetMs * 1e6) / Math.max(slope, 1))));
}

/**
 * ns per pair for each runner, in the steady state: the time of a run with 2N pairs minus that of a
 * run with N pairs, over N (startup, set-up and the warm-up of the first pairs, such as V8 compiling
 * the trap path or qemu translating the loop, cancel out; they are reported apart: the run with 0
 * pairs, and what N pairs cost beyond N times the steady figure). The runners take turns within
 * each round, so that a machine whose speed drifts (a shared VM) disturbs them alike; each run's
 * fastest round is used (noise only adds time), for wall and CPU time.
 */
function guestPerPair(runners: Runner[], exe: string, v: Variant, rounds: number, targetMs: number): Map<string, GuestResult | string> {
  interface Runs { once: (n: number) => Timed; n: number; z: Timed[]; a: Timed[]; b: Timed[] }
  const out = new Map<string, GuestResult | string>();
  const live = new Map<string, Runs>();
  for (const r of runners) {
    try {
      const once = onceFor(r, exe, v);
      live.set(r.name, { once, n: pairsFor(once, targetMs), z: [], a: [], b: [] });
    } catch (e) {
      out.set(r.name, (e as Error).message.split('\n')[0]!);
    }
  }
  for (let k = 0; k < rounds; k++) {
    for (const [name, x] of live) {
      try {
        x.z.push(x.once(0));
        x.a.push(x.once(x.n));
        x.b.push(x.once(2 * x.n));
      } catch (e) {
        out.set(name, (e as Error).message.split('\n')[0]!);
        live.delete(name);
      }
    }
  }
  const fastest = (ts: Timed[], key: 'ns' | 'cpuNs'): number => Math.min(...ts.map((t) => t[key]));
  for (const r of runners) {
    const x = live.get(r.name);
    if (!x) continue;
    const n = x.n;
    const perPair = (fastest(x.b, 'cpuNs') - fastest(x.a, 'cpuNs')) / n;
    const perRound = x.b.map((t, k) => (t.ns - x.a[k]!.ns) / n);
    out.set(r.name, {
      wall: (fastest(x.b, 'ns') - fastest(x.a, 'ns')) / n, cpu: perPair, pairs: n, stdout: x.a[0]!.stdout.trim(), spread: [Math.min(...perRound), Math.max(...perRound)],
      startupMs: fastest(x.z, 'cpuNs') / 1e6, warmupMs: Math.max(0, (fastest(x.a, 'cpuNs') - fastest(x.z, 'cpuNs') - n * perPair) / 1e6),
    });
  }
  // In the runners' order.
  return new Map(runners.filter((r) => out.has(r.name)).map((r) => [r.name, out.get(r.name)!]));
}

/** The built-in profile whose enabled state is closest to qemu-user's -cpu max (x87, SSE, AVX, PKRU: 2696 bytes). */
const LIKE_QEMU_PROFILE = 'intel-alder-lake';

/** ns per pair (CPU time) of the guest loop under qemu-user, when the guest bench measured it. */
let qemuPairNs: number | undefined;

function guestBench(): void {
  const exe = buildGuest();
  console.log('');
  console.log('Guest loop (bench/guest-xsave-loop.c, musl-static): XSAVE64+XRSTOR64 pairs, RFBM = XCR0, standard format.');
  console.log('Per pair, steady state: time of 2N pairs minus time of N pairs, over N, each the fastest of the rounds;');
  console.log('wall time and CPU time (user+system, children included). Ratios use CPU time. Apart: the CPU');
  console.log('time of a run with 0 pairs (startup) and what the first N pairs cost beyond the steady rate (warm-up).');
  const qemu = ensureQemu();
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  const guestArgs = (e: string, n: number, v: Variant): string[] => (v === 'avx512' ? [e, String(n), 'avx512'] : [e, String(n)]);
  const QEMU = 'qemu-x86_64 -cpu max';
  const runners: Runner[] = [
    { name: 'native', cmd: exe, args: (e, n, v) => guestArgs(e, n, v).slice(1) },
    ...(qemu ? [{ name: QEMU, cmd: qemu, args: (e: string, n: number, v: Variant) => ['-cpu', 'max', ...guestArgs(e, n, v)] }] : []),
    { name: 'xstate-lab exec --cpu host', cmd: process.execPath, args: (e, n, v) => [cli, 'exec', '--cpu', 'host', ...guestArgs(e, n, v)] },
    { name: `xstate-lab exec --cpu ${LIKE_QEMU_PROFILE}`, cmd: process.execPath, args: (e, n, v) => [cli, 'exec', '--cpu', LIKE_QEMU_PROFILE, ...guestArgs(e, n, v)] },
  ];
  const rounds = Number(process.env.BENCH_GUEST_ROUNDS ?? 5);
  const targetMs = Number(process.env.BENCH_GUEST_MS ?? 2000);
  for (const v of ['pairs', 'avx512'] as Variant[]) {
    console.log(v === 'pairs' ? '  loop: xsave64; xrstor64' : '  loop: vpaddd zmm2,zmm1,zmm1; kaddq k2,k1,k1; xsave64; xrstor64 (every ZMM and k register loaded first)');
    // intel-alder-lake has no AVX-512.
    const res = guestPerPair(runners.filter((r) => v !== 'avx512' || !r.name.endsWith(LIKE_QEMU_PROFILE)), exe, v, rounds, targetMs);
    const ok = (name: string): GuestResult | undefined => { const x = res.get(name); return typeof x === 'object' ? x : undefined; };
    const nat = ok('native'), q = ok(QEMU);
    if (v === 'pairs' && q) qemuPairNs = q.cpu;
    for (const [name, x] of res) {
      if (typeof x === 'string') { console.log(`    ${name.padEnd(36)} not run: ${x}`); continue; }
      const m = /xcr0 (0x[0-9a-f]+) size (\d+)/.exec(x.stdout);
      const ratios: string[] = [];
      if (q && name !== QEMU) ratios.push(`${(x.cpu / q.cpu).toFixed(2)}x qemu`);
      if (nat && name !== 'native') ratios.push(`${(x.cpu / nat.cpu).toFixed(1)}x native`);
      let same = '';
      if (nat && name === 'xstate-lab exec --cpu host') {
        // The sandbox must compute what the CPU computes: the final image's checksum for a short run.
        const a = timed(runners[0]!.cmd, runners[0]!.args(exe, 1000, v)).stdout, b = timed(process.execPath, [cli, 'exec', '--cpu', 'host', ...guestArgs(exe, 1000, v)]).stdout;
        same = a === b ? '; output = native' : `; OUTPUT DIFFERS from native (${b.trim()} vs ${a.trim()})`;
      }
      if (q && v === 'pairs' && name !== QEMU && name !== 'native') recordRatio(`XSAVE64+XRSTOR64 pair, ${name.replace('xstate-lab ', '')}`, x.cpu / q.cpu, 1, 'qemu-user');
      console.log(`    ${name.padEnd(36)} ${x.wall.toFixed(0).padStart(7)} ns wall ${x.cpu.toFixed(0).padStart(7)} ns cpu  (wall ${x.spread[0].toFixed(0)}..${x.spread[1].toFixed(0)}, N=${x.pairs}, XCR0 ${m?.[1] ?? '?'}, ${m?.[2] ?? '?'} bytes; startup ${x.startupMs.toFixed(0)} ms, warm-up ${x.warmupMs.toFixed(0)} ms)${ratios.length ? '  ' + ratios.join(', ') : ''}${same}`);
    }
  }
}

if (process.env.BENCH_GUEST !== '0') guestBench();

/**
 * The AVX-512 loop against the pair loop under `exec --cpu host`, with the native vector path
 * (trap-gate.c vf_fast) on and off (XSTATE_LAB_NO_VECTOR_FAST_PATH=1): the issue's goal is the
 * AVX-512 loop within 2x of the pair loop. In each round the three take turns, each a run of 0 and
 * of N iterations (BENCH_VECTOR_N); per iteration, the CPU time of N minus that of 0, over N (start-up
 * cancels out); the median and the fastest of the rounds. A fixed N and the median hold up better on
 * a loaded machine than the slope between N and 2N.
 */
function vectorBench(): void {
  const exe = buildGuest();
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  const host = ['exec', '--cpu', 'host', exe];
  const n = Number(process.env.BENCH_VECTOR_N ?? 500_000);
  const rounds = Number(process.env.BENCH_GUEST_ROUNDS ?? 5);
  const runners: { name: string; cmd: string; args: (n: number) => string[] }[] = [
    { name: 'pair loop', cmd: process.execPath, args: (k) => [cli, ...host, String(k)] },
    { name: 'AVX-512 loop, vector fast path', cmd: process.execPath, args: (k) => [cli, ...host, String(k), 'avx512'] },
    { name: 'AVX-512 loop, no vector fast path', cmd: 'env', args: (k) => ['XSTATE_LAB_NO_VECTOR_FAST_PATH=1', process.execPath, cli, ...host, String(k), 'avx512'] },
  ];
  console.log('');
  console.log(`AVX-512 loop (vpaddd zmm; kaddq; xsave64; xrstor64) against the pair loop, xstate-lab exec --cpu host, taking turns, ${rounds} rounds of N = ${n}:`);
  const per = runners.map(() => [] as number[]);
  const outs = runners.map(() => new Set<string>());
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0]!);
    runners.forEach((x, k) => {
      const z = timed(x.cmd, x.args(0)), a = timed(x.cmd, x.args(n));
      if (z.status !== 0 || a.status !== 0) throw new Error(`${x.name}: exit status ${z.status}/${a.status}`);
      per[k]!.push((a.cpuNs - z.cpuNs) / n);
      outs[k]!.add(a.stdout.trim().replace(/^pairs \d+ /, ''));
    });
  }
  const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
  const pair = median(per[0]!);
  runners.forEach((x, k) => {
    const m = median(per[k]!), f = Math.min(...per[k]!);
    if (k === 1) recordRatio('AVX-512 loop (a ZMM op, a k op, a pair), exec --cpu host', m / pair, 2, 'the pair loop');
    const ratio = k ? `  ${(m / pair).toFixed(2)}x the pair loop (median), ${(f / Math.min(...per[0]!)).toFixed(2)}x (fastest)` : '';
    console.log(`    ${x.name.padEnd(36)} ${m.toFixed(0).padStart(6)} ns cpu per iteration median, ${f.toFixed(0).padStart(6)} fastest (rounds ${per[k]!.map((v) => v.toFixed(0)).join(' ')})${ratio}`);
  });
  if (outs[1]!.size !== 1 || [...outs[1]!][0] !== [...outs[2]!][0] || outs[2]!.size !== 1) console.log(`    OUTPUT DIFFERS with and without the vector fast path: ${[...outs[1]!, ...outs[2]!].join(' | ')}`);
  else console.log('    output equal with and without the vector fast path');
  console.log(`    load average (1 min) at each round ${loads.map((v) => v.toFixed(1)).join(' ')}; now ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}
if (process.env.BENCH_VECTOR !== '0') vectorBench();

/**
 * Plain guest code (bench/guest-plain-hash.c): CPU time of hashing N MiB minus that of 0 MiB (start-up
 * cancels out), each the fastest of the rounds, native, under qemu-user and under exec; and start-up
 * itself: exec of the 0 MiB run against `node -e 0`.
 */
function plainBench(): void {
  const exe = buildGuest('guest-plain-hash');
  const mib = Number(process.env.BENCH_PLAIN_MIB ?? 64);
  const rounds = Number(process.env.BENCH_GUEST_ROUNDS ?? 5);
  const qemu = ensureQemu();
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  const QEMU = 'qemu-x86_64 -cpu max';
  const runners: Runner[] = [
    { name: 'native', cmd: exe, args: (_e, n) => [String(n)] },
    ...(qemu ? [{ name: QEMU, cmd: qemu, args: (e: string, n: number) => ['-cpu', 'max', e, String(n)] }] : []),
    { name: `xstate-lab exec --cpu ${LIKE_QEMU_PROFILE}`, cmd: process.execPath, args: (e, n) => [cli, 'exec', '--cpu', LIKE_QEMU_PROFILE, e, String(n)] },
  ];
  console.log('');
  console.log(`Plain guest code (bench/guest-plain-hash.c, musl-static): FNV-1a over ${mib} MiB, CPU time of ${mib} MiB minus 0 MiB, fastest of ${rounds} rounds.`);
  const res = new Map<string, { work: number; startup: number; out: string }>();
  const z = new Map<string, number[]>(), a = new Map<string, number[]>();
  let nodeZero = Infinity;
  for (let k = 0; k < rounds; k++) {
    nodeZero = Math.min(nodeZero, timed(process.execPath, ['-e', '0']).cpuNs);
    for (const r of runners) {
      const t0 = timed(r.cmd, r.args(exe, 0, 'pairs')), t1 = timed(r.cmd, r.args(exe, mib, 'pairs'));
      if (t1.status !== 0) { console.log(`    ${r.name.padEnd(36)} not run: exit status ${t1.status}`); continue; }
      (z.get(r.name) ?? z.set(r.name, []).get(r.name)!).push(t0.cpuNs);
      (a.get(r.name) ?? a.set(r.name, []).get(r.name)!).push(t1.cpuNs);
      res.set(r.name, { work: 0, startup: 0, out: t1.stdout.trim() });
    }
  }
  for (const [name, x] of res) {
    x.startup = Math.min(...z.get(name)!);
    x.work = Math.min(...a.get(name)!) - x.startup;
  }
  const q = res.get(QEMU), nat = res.get('native');
  for (const [name, x] of res) {
    const ratios: string[] = [];
    if (q && name !== QEMU) ratios.push(`${(x.work / Math.max(q.work, 1)).toFixed(2)}x qemu`);
    if (nat && name !== 'native') ratios.push(`${(x.work / Math.max(nat.work, 1)).toFixed(1)}x native`);
    const same = nat && name !== 'native' ? (x.out === nat.out ? '; output = native' : `; OUTPUT DIFFERS (${x.out} vs ${nat.out})`) : '';
    console.log(`    ${name.padEnd(36)} ${(x.work / 1e6).toFixed(0).padStart(6)} ms work, start-up ${(x.startup / 1e6).toFixed(0)} ms${ratios.length ? '  ' + ratios.join(', ') : ''}${same}`);
  }
  const ex = res.get(`xstate-lab exec --cpu ${LIKE_QEMU_PROFILE}`);
  if (ex && q) recordRatio(`plain code (FNV-1a over ${mib} MiB), exec --cpu ${LIKE_QEMU_PROFILE}`, ex.work / Math.max(q.work, 1), 2, 'qemu-user');
  if (ex) console.log(`    start-up of exec (0 MiB run) ${(ex.startup / 1e6).toFixed(0)} ms = ${(ex.startup / nodeZero).toFixed(1)}x \`node -e 0\` (${(nodeZero / 1e6).toFixed(0)} ms)`);
  if (process.env.BENCH_PLAIN_FLOOR !== '0') plainFloor(exe, mib, rounds, q?.work, nat?.out);
}

/** bench/unicorn-plain-floor.c's hook bits (FLOOR_*). */
const enum PlainFloorHook { Counter = 1, MemHook = 2, Gate = 4, Others = 8 }

/**
 * The floor under exec on plain code (bench/unicorn-plain-floor.c): the same program on bare unicorn
 * 2.0.1 in this process, then with each hook exec installs, N MiB minus 0 MiB, fastest of the rounds.
 */
function plainFloor(exe: string, mib: number, rounds: number, qemuWork: number | undefined, nativeOut: string | undefined): void {
  Unicorn.open().close(); // loads libunicorn.so.2 into the process (the floor finds it there)
  const so = buildNative('../bench/unicorn-plain-floor.c', ['-O2', '-shared', '-fPIC']);
  const lib = koffi.load(so);
  const run = lib.func('double xl_plain_floor_run(const char *path, const char *arg, int hooks, uint64_t gate_begin, uint64_t gate_end)');
  const output = lib.func('const char *xl_plain_floor_output(void)');
  const entry = BigInt(execFileSync('readelf', ['-h', exe], { encoding: 'utf8' }).match(/Entry point address:\s+(0x[0-9a-f]+)/)?.[1] ?? '0');
  const modes: [number, string][] = [
    [0, 'unicorn 2.0.1, no hook'],
    [PlainFloorHook.Counter, '+ the block counter (insn-counter.c)'],
    [PlainFloorHook.Counter | PlainFloorHook.MemHook, '+ the MEM_READ|WRITE hook on address 1'],
    [PlainFloorHook.Counter | PlainFloorHook.MemHook | PlainFloorHook.Gate | PlainFloorHook.Others, '+ a code range (at the entry point) and the other hooks'],
  ];
  console.log(`  floor (bench/unicorn-plain-floor.c: the program on libunicorn in this process, its own syscalls), ${mib} MiB minus 0 MiB, fastest of ${rounds}:`);
  for (const [hooks, what] of modes) {
    let best = Infinity;
    for (let k = 0; k < rounds; k++) {
      const z = run(exe, '0', hooks, entry, entry + 16n) as number, a = run(exe, String(mib), hooks, entry, entry + 16n) as number;
      if (z < 0 || a < 0) { console.log(`    floor not run (error ${Math.min(z, a)})`); return; }
      best = Math.min(best, a - z);
    }
    console.log(`    ${what.padEnd(60)} ${(best / 1e6).toFixed(0).padStart(6)} ms${qemuWork ? `  ${(best / qemuWork).toFixed(2)}x qemu` : ''}`);
  }
  if (nativeOut !== undefined) {
    const out = (output() as string).trim();
    console.log(`    output of the floor's last run ${out === nativeOut ? '= native' : `DIFFERS from native (${out} vs ${nativeOut})`}`);
  }
}

if (process.env.BENCH_PLAIN !== '0') plainBench();

// ------------------------------------------------------------------ part 3: the floor under the trap path

/**
 * What unicorn 2.0.1 and koffi cost per pair with no emulation at all (bench/unicorn-floor.c): the
 * same two instructions trapped by a UC_HOOK_CODE hook that only moves RIP; plus the register traffic
 * of xstate-lab's trap (its sync block); plus entering an empty JS function through koffi per trap.
 * The exec figure above minus the last line is what the model itself costs.
 */
function floorBench(): void {
  Unicorn.open().close(); // loads libunicorn.so.2 into the process (the floor finds it there)
  const so = buildNative('../bench/unicorn-floor.c', ['-O2', '-shared', '-fPIC']);
  const lib = koffi.load(so);
  const run = lib.func('double xl_floor_run(int mode, long pairs, void *cb, const int *regs, int n_read, int n_write, int rip, int rcx, int rbx)');
  const regs = Int32Array.from(SYNC_REGS);
  const empty = koffi.register(() => {}, koffi.pointer(koffi.proto('void xl_floor_cb(void)')));
  const pairsN = Number(process.env.BENCH_FLOOR_PAIRS ?? 1_000_000);
  const modes: [number, string][] = [
    [0, 'hook moves RIP'],
    [1, `+ sync block: read ${SYNC_REGS.length} registers per trap, write ${SYNC_ALL_COUNT} after the restore`],
    [2, '+ an empty JS callback per trap (koffi)'],
  ];
  console.log('');
  console.log(`Floor under the trap path (bench/unicorn-floor.c: xsave64; xrstor64 trapped and skipped, no emulation), ${pairsN} pairs, fastest of ${ROUNDS} rounds, CPU time:`);
  for (const [mode, what] of modes) {
    const r: number[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      const ns = run(mode, pairsN, mode === 2 ? empty : null, regs, regs.length, SYNC_ALL_COUNT, X86Reg.RIP, X86Reg.RCX, X86Reg.RBX) as number;
      if (ns < 0) { console.log('  floor: not run (libunicorn.so.2 or one of its functions not found)'); koffi.unregister(empty); return; }
      r.push(ns);
    }
    const ns = Math.min(...r);
    console.log(`  ${what.padEnd(90)} ${ns.toFixed(0).padStart(6)} ns/pair${qemuPairNs ? `  ${(ns / qemuPairNs).toFixed(2)}x qemu` : ''}`);
  }
  koffi.unregister(empty);
}

if (process.env.BENCH_FLOOR !== '0') floorBench();
