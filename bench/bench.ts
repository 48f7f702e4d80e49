/**
 * `npm run bench`: the model's XSAVE+XRSTOR pair against the host CPU's own pair (the named
 * peer), measured in the same run. Prints pairs/s, ns/pair and the ratio model/native.
 */
import { execFileSync } from 'node:child_process';
import { CpuModel } from '../emulator/cpu-model.js';
import { resolveCpu, builtinProfileIds } from '../emulator/profile.js';
import { XsaveContext, xrstor, xsave } from '../emulator/xsave.js';
import { XFeature } from '../emulator/xfeatures.js';
import { hostCpuModel } from '../src/host/capture.js';
import { buildNative } from '../src/native.js';

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

const pairs = Number(process.env.BENCH_PAIRS ?? 200000);
const host = hostCpuModel();
const hostXcr0 = Number(BigInt(host.profile.source.captured_xcr0 ?? '0x3') & 0xffffffffn);
const largest = builtinProfileIds().map((id) => resolveCpu(id)).sort((a, b) => b.standardSize(b.xcr0Supported) - a.standardSize(a.xcr0Supported))[0];

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
