/**
 * Micro-benchmark of the model's XSAVE64 and XRSTOR64 (library calls, no guest) on the host
 * profile with its captured XCR0: ns per instruction for a state where only x87/SSE are in use
 * (the plain guest loop) and one where every user component is in use (the AVX-512 loop, tiles
 * included when configured).  `node dist/bench/micro-xsave.js [iterations]`
 */
import { XsaveContext, xrstor, xsave } from '../emulator/xsave.js';
import { XFeature } from '../emulator/xfeatures.js';
import { hostCpuModel } from '../src/host/capture.js';

const iters = Number(process.argv[2] ?? 200000);
const cpu = hostCpuModel();
const xcr0 = Number(BigInt(cpu.profile.source.captured_xcr0 ?? '0x3') & 0xffffffffn);

function setup(all: boolean): { ctx: XsaveContext; area: Uint8Array } {
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = xcr0;
  ctx.regs.legacy.fill(0x22, 160, 416);
  ctx.regs.touched(XFeature.X87);
  ctx.regs.touched(XFeature.SSE);
  if (all) {
    for (const c of cpu.extendedComponents) {
      if (c.supervisor || !((xcr0 >>> c.number) & 1) || c.number === XFeature.TILECFG || c.number === XFeature.TILEDATA) continue;
      ctx.regs.comp[c.number]!.fill(0x11);
      ctx.regs.touched(c.number);
    }
  }
  return { ctx, area: new Uint8Array(cpu.standardSize(xcr0)) };
}

function time(label: string, n: number, f: () => void): void {
  for (let i = 0; i < Math.min(n, 20000); i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`  ${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns`);
}

console.log(`model XSAVE64/XRSTOR64, host ${cpu.id}, XCR0 0x${xcr0.toString(16)}, ${cpu.standardSize(xcr0)} bytes, ${iters} iterations`);
for (const all of [false, true]) {
  const { ctx, area } = setup(all);
  const what = all ? 'all user components in use' : 'x87+SSE in use';
  xsave(ctx, area, 0x1000, xcr0, 0, true);
  time(`xsave64  (${what})`, iters, () => xsave(ctx, area, 0x1000, xcr0, 0, true));
  time(`xrstor64 (${what})`, iters, () => xrstor(ctx, area, 0x1000, xcr0, 0, true));
  time(`pair     (${what})`, iters, () => { xsave(ctx, area, 0x1000, xcr0, 0, true); xrstor(ctx, area, 0x1000, xcr0, 0, true); });
}
