/**
 * The native XSAVE-family path (emulator/native/xsave-fast.c) against the TypeScript model
 * (emulator/xsave.ts), which is the reference: random CPUs (every built-in profile), XCR0s, IA32_XSS,
 * control states, register files with their tracking state, RFBMs, addresses and images, seeded and
 * reproducible (XSTATE_LAB_DIFF_SEED, XSTATE_LAB_DIFF_CASES). For each case the native path either
 * leaves the instruction to the model (then it must have changed nothing) or does it; then the model
 * does it on a copy and the two must agree on every byte of the register file's store (legacy region,
 * FCS/FDS, XINUSE, XMODIFIED, XRSTOR_INFO, the known-zero bits, the per-register tracking, every
 * component), on every byte of the area, and for saves on the bytes reported as written.
 */
import { describe, expect, it } from 'vitest';
import { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { LEGACY, StateWord } from '../emulator/register-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { AreaAccess, CpuFault, XsaveContext, xcr0Invalid, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves } from '../emulator/xsave.js';
import { XsOp, bindingDifferences, expectedBinding, nativeRestore, nativeSave, nativeXsave, nativeXsaveUnavailable } from '../emulator/xsave-native.js';
import { nativeXsaveLibrary } from '../emulator/unicorn.js';
import { type Run, pool, runProcess } from '../bench/program-corpus.js';
import { breather } from './yield.js';
import { Sfc32 } from './helpers.js';

const SEED = Number(process.env.XSTATE_LAB_DIFF_SEED ?? 0x5eed1357);
const CASES = Number(process.env.XSTATE_LAB_DIFF_CASES ?? 100_000);
/** Bytes of every area buffer: more than any profile's largest area (AMX: 11008 standard). */
const AREA_BYTES = 12288;

/** The tests' seeded generator (test/helpers.ts). */
type Rng = Sfc32;
const Rng = Sfc32;

function randomXcr0(rng: Rng, cpu: CpuModel): number {
  if (rng.chance(0.4)) return cpu.xcr0Supported;
  for (let t = 0; t < 64; t++) {
    const x = ((rng.u32() & cpu.xcr0Supported) | bit(XFeature.X87)) >>> 0;
    if (xcr0Invalid(cpu, x, 0) === undefined) return x;
  }
  return cpu.xcr0Supported;
}

/** A random register file and control state; the tracking bits may be anything the model allows (known-zero only where zero). */
function randomize(rng: Rng, ctx: XsaveContext, address: number): void {
  const cpu = ctx.cpu, r = ctx.regs;
  r.reset();
  ctx.xcr0 = randomXcr0(rng, cpu);
  ctx.xss = cpu.features.xsaves && rng.chance(0.5) ? rng.u32() & cpu.xssSupported : 0;
  ctx.cpl = rng.chance(0.3) ? 0 : 3;
  ctx.cr0Ts = rng.chance(0.01);
  ctx.cr4Osxsave = !rng.chance(0.01);
  ctx.mode64 = !rng.chance(0.01);
  ctx.xfd = rng.chance(0.02) ? rng.u32() : 0;
  const L = r.legacy;
  if (!rng.chance(0.3)) {
    rng.fill(L, 0, LEGACY.MXCSR);
    L[LEGACY.FTW + 1] = 0;
    for (let o = LEGACY.ST0; o < LEGACY.XMM0; o += LEGACY.ST_STRIDE) { rng.fill(L, o, o + LEGACY.ST_BYTES); if (rng.chance(0.3)) L.fill(0, o, o + LEGACY.ST_BYTES); }
    if (rng.chance(0.3)) { L.fill(0, 2, LEGACY.FOP); L[0] = 0x7f; L[1] = 0x03; }
    r.fcs = rng.u32() & 0xffff;
    r.fds = rng.u32() & 0xffff;
  }
  for (let n = 0; n < 16; n++) if (!rng.chance(0.4)) rng.fill(L, LEGACY.XMM0 + 16 * n, LEGACY.XMM0 + 16 * n + 16);
  r.mxcsr = rng.chance(0.5) ? 0x1f80 : rng.u32() & cpu.mxcsrMask;
  rng.fill(L, LEGACY.END_OF_SAVED, L.length); // never touched by either side
  let knownZero = 0;
  for (const c of cpu.extendedComponents) {
    const bytes = r.comp[c.number]!;
    if (rng.chance(0.3)) { if (rng.chance(0.5)) knownZero |= bit(c.number); continue; }
    rng.fill(bytes);
    // Some registers zero, for the per-register tracking rule.
    for (let o = 0; o < bytes.length; o += 16) if (rng.chance(0.3)) bytes.fill(0, o, o + 16);
  }
  r.knownZero = knownZero >>> 0;
  r.xinuse = rng.chance(0.2) ? 0 : rng.u32();
  r.xmodified = rng.chance(0.3) ? 0xffffffff : rng.u32();
  for (let c = 0; c < 8; c++) r.regsInUse[c] = rng.chance(0.5) ? 0 : rng.u32();
  if (rng.chance(0.6)) {
    r.xrstorInfo = {
      cpl: rng.chance(0.9) ? ctx.cpl : 3 - ctx.cpl, vmxNonRoot: false, address: rng.chance(0.8) ? address : address + 64,
      xcompBvLo: rng.chance(0.5) ? 0 : rng.chance(0.5) ? ctx.xcr0 : rng.u32() & ctx.xcr0, compacted: rng.chance(0.5),
    };
  }
}

/** A random image: a save of another random state (usually), then random damage to the header and fields. */
/** Bytes of area a case uses: the largest area the CPU can have, with some slack. */
const areaBytesOf = new Map<CpuModel, number>();
function areaBytes(cpu: CpuModel): number {
  let n = areaBytesOf.get(cpu);
  if (n === undefined) { n = Math.min(AREA_BYTES, Math.max(cpu.standardSize(0xffffffff), cpu.compactedLayout(0xffffffff).size) + 256); areaBytesOf.set(cpu, n); }
  return n;
}

function randomImage(rng: Rng, src: XsaveContext, area: Uint8Array, address: number, cpu: CpuModel, op: XsOp, xcr0: number, xss: number): void {
  rng.fill(area, 0, areaBytes(cpu));
  if (rng.chance(0.8)) {
    randomize(rng, src, address);
    src.xcr0 = xcr0; src.xss = xss; src.cpl = 0; src.cr0Ts = false; src.cr4Osxsave = true; src.mode64 = true; src.xfd = 0;
    const all = op === XsOp.XRSTORS ? xcr0 | xss : xcr0;
    const rfbm = rng.chance(0.6) ? all : rng.u32() & all;
    if (rng.chance(0.9)) area.fill(0, 512, 576); // programs clear the header before a first save
    try {
      if (op === XsOp.XRSTORS && cpu.features.xsaves) xsaves(src, area, address, rfbm, 0, true);
      else if (rng.chance(0.5) && cpu.features.xsavec) xsavec(src, area, address, rfbm, 0, true);
      else xsave(src, area, address, rfbm, 0, true);
    } catch { /* a random state the model refuses: keep the random bytes */ }
  } else {
    // Random bytes with a header that is plausible often enough to pass the checks.
    const compacted = rng.chance(0.5);
    const comp = rng.u32() & xcr0;
    area.fill(0, 512, 576);
    const dv = new DataView(area.buffer, area.byteOffset);
    dv.setUint32(512, rng.u32() & (compacted ? comp : xcr0), true);
    if (compacted) { dv.setUint32(520, comp, true); dv.setUint32(524, 0x80000000, true); }
    dv.setUint32(LEGACY.MXCSR, rng.chance(0.7) ? rng.u32() & cpu.mxcsrMask : rng.u32(), true);
  }
  const dv = new DataView(area.buffer, area.byteOffset);
  if (rng.chance(0.05)) dv.setUint32(512, rng.u32(), true);
  if (rng.chance(0.05)) dv.setUint32(516, rng.u32() & 1, true);
  if (rng.chance(0.05)) dv.setUint32(520, rng.u32(), true);
  if (rng.chance(0.05)) area[512 + 16 + rng.below(48)] = 1 + rng.below(255);
  if (rng.chance(0.05)) dv.setUint32(LEGACY.MXCSR, rng.u32(), true);
  if (rng.chance(0.3)) rng.fill(area, 0, 24);
  if (rng.chance(0.2)) { const fsw = dv.getUint16(2, true); dv.setUint16(2, fsw ^ 0x80, true); }
}

const OPS: readonly XsOp[] = [XsOp.XSAVE, XsOp.XSAVEOPT, XsOp.XSAVEC, XsOp.XSAVES, XsOp.XRSTOR, XsOp.XRSTORS];
const isSave = (op: XsOp): boolean => op <= XsOp.XSAVES;

function runModel(ctx: XsaveContext, op: XsOp, area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean, acc?: AreaAccess): void {
  switch (op) {
    case XsOp.XSAVE: return xsave(ctx, area, address, eax, edx, rexW, false, acc);
    case XsOp.XSAVEOPT: return xsaveopt(ctx, area, address, eax, edx, rexW, false, acc);
    case XsOp.XSAVEC: return xsavec(ctx, area, address, eax, edx, rexW, false, acc);
    case XsOp.XSAVES: return xsaves(ctx, area, address, eax, edx, rexW, false, acc);
    case XsOp.XRSTOR: return xrstor(ctx, area, address, eax, edx, rexW, false, acc);
    case XsOp.XRSTORS: return xrstors(ctx, area, address, eax, edx, rexW, false, acc);
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return k;
  return -1;
}

describe('native XSAVE family (xsave-fast.c) against the model', () => {
  it('binds: the C file lists exactly the table words, state words and ops xsave-native.ts defines', () => {
    const lib = nativeXsaveLibrary();
    expect(lib, 'the trap gate library builds and loads (gcc)').not.toBeNull();
    expect(bindingDifferences(lib!.binding())).toEqual([]);
    expect(expectedBinding().length).toBeGreaterThan(80);
    // A drift is caught: one renamed word makes two differences.
    expect(bindingDifferences(lib!.binding().replace('word:XINUSE=', 'word:XINUSE_RENAMED='))).toHaveLength(2);
    expect(nativeXsave(), nativeXsaveUnavailable).not.toBeNull();
  });

  it(`agrees byte for byte on ${CASES} random cases (seed 0x${SEED.toString(16)})`, async () => {
    const breathe = breather();
    const rng = new Rng(SEED);
    const cpus = builtinProfileIds().map((id) => loadBuiltinQuietly(id)).filter((c) => c.features.xsave);
    const ctxs = cpus.map((cpu) => ({ cpu, model: new XsaveContext(cpu), native: new XsaveContext(cpu), src: new XsaveContext(cpu) }));
    const areaM = new Uint8Array(AREA_BYTES), areaN = new Uint8Array(AREA_BYTES), before = new Uint8Array(AREA_BYTES);
    const done = new Map<XsOp, number>(), fallbacks = new Map<XsOp, number>();
    const mismatches: string[] = [];
    let modelFaultsOnFallback = 0, pkruRestoredNatively = 0;
    for (let k = 0; k < CASES && mismatches.length < 5; k++) {
      await breathe();
      const { cpu, model, native, src } = ctxs[rng.below(ctxs.length)]!;
      const op = OPS[rng.below(OPS.length)]!;
      const address = rng.chance(0.03) ? 0x10000 + 16 * (1 + rng.below(3)) : 0x10000 + 64 * rng.below(4096);
      randomize(rng, native, address);
      if ((op === XsOp.XSAVES || op === XsOp.XRSTORS) && rng.chance(0.8)) native.cpl = 0;
      const eax = rng.chance(0.5) ? 0xffffffff : rng.chance(0.5) ? native.xcr0 | native.xss : rng.u32();
      const edx = rng.chance(0.7) ? 0xffffffff : rng.u32();
      const rexW = rng.chance(0.7);
      if (isSave(op)) rng.fill(areaN, 0, areaBytes(cpu));
      else randomImage(rng, src, areaN, address, cpu, op, native.xcr0, native.xss);
      areaM.set(areaN);
      before.set(areaN);
      new Uint8Array(model.regs.store).set(new Uint8Array(native.regs.store));
      const storeBefore = new Uint8Array(native.regs.store).slice();
      let ranges: number[] | undefined;
      let ok: boolean;
      if (isSave(op)) { ranges = nativeSave(native, op, areaN, address, eax, edx, rexW); ok = ranges !== undefined; }
      else ok = nativeRestore(native, op, areaN, address, eax, edx, rexW);
      const what = `case ${k}: ${cpu.id} ${XsOp[op]} rexW=${rexW} eax=0x${(eax >>> 0).toString(16)} xcr0=0x${native.xcr0.toString(16)} xss=0x${native.xss.toString(16)} cpl=${native.cpl} addr=0x${address.toString(16)}`;
      if (!ok) {
        fallbacks.set(op, (fallbacks.get(op) ?? 0) + 1);
        if (firstDifference(areaN, before) >= 0) mismatches.push(`${what}: fallback but the area changed`);
        if (firstDifference(new Uint8Array(native.regs.store), storeBefore) >= 0) mismatches.push(`${what}: fallback but the register file changed`);
        try { runModel(model, op, areaM, address, eax, edx, rexW); } catch (e) { if (e instanceof CpuFault) { modelFaultsOnFallback++; if (process.env.XSTATE_LAB_DIFF_WHY) console.log(XsOp[op], (e as Error).message.replace(/0x[0-9a-f]+/g, "N")); } else throw e; }
        continue;
      }
      done.set(op, (done.get(op) ?? 0) + 1);
      // PKRU lives in page protections only the model's restore re-applies: the native path restores it only unchanged.
      const pkru = native.regs.comp[XFeature.PKRU];
      if (!isSave(op) && pkru && native.xcr0 & eax & bit(XFeature.PKRU)) {
        pkruRestoredNatively++;
        if (firstDifference(pkru, storeBefore.subarray(pkru.byteOffset, pkru.byteOffset + pkru.byteLength)) >= 0) mismatches.push(`${what}: the native path changed PKRU`);
      }
      const written = new Uint8Array(AREA_BYTES);
      const acc: AreaAccess = { fetch: () => {}, wrote: (from, to) => written.fill(1, from, to) };
      try {
        runModel(model, op, areaM, address, eax, edx, rexW, acc);
      } catch (e) {
        mismatches.push(`${what}: the native path did it, the model raised ${(e as Error).message}`);
        continue;
      }
      const da = firstDifference(areaN, areaM);
      if (da >= 0) mismatches.push(`${what}: area byte ${da}: native 0x${areaN[da]!.toString(16)}, model 0x${areaM[da]!.toString(16)}`);
      const sN = new Uint8Array(native.regs.store), sM = new Uint8Array(model.regs.store);
      const ds = firstDifference(sN, sM);
      if (ds >= 0) {
        const word = ds >= 512 && ds < 512 + StateWord.WORDS * 4 ? ` (StateWord ${StateWord[(ds - 512) >> 2]})` : '';
        mismatches.push(`${what}: register file store byte ${ds}${word}: native 0x${sN[ds]!.toString(16)}, model 0x${sM[ds]!.toString(16)}`);
      }
      if (ranges) {
        const nw = new Uint8Array(AREA_BYTES);
        for (let j = 0; j < ranges.length; j += 2) nw.fill(1, ranges[j]!, ranges[j + 1]!);
        const dw = firstDifference(nw, written);
        if (dw >= 0) mismatches.push(`${what}: byte ${dw} reported written by ${nw[dw] ? 'native only' : 'the model only'}`);
      }
    }
    const summary = OPS.map((op) => `${XsOp[op]} ${done.get(op) ?? 0} done / ${fallbacks.get(op) ?? 0} to the model`).join('; ');
    console.log(`xsave-native differential: ${CASES} cases, seed 0x${SEED.toString(16)}: ${summary}; ${modelFaultsOnFallback} of the fallbacks are model faults; mismatches ${mismatches.length}`);
    expect(mismatches).toEqual([]);
    // The native path must actually do the common cases (a path that always falls back would pass the comparison).
    for (const op of OPS) expect(done.get(op) ?? 0, `${XsOp[op]} done natively`).toBeGreaterThan(CASES / 60);
    expect(pkruRestoredNatively, 'restores with PKRU in RFBM done natively (PKRU unchanged)').toBeGreaterThan(0);
  });
});

/**
 * The gate's native path (trap-gate.c xs_fast) inside a running machine, against the same machine
 * with it off (XSTATE_LAB_NO_XSAVE_FAST_PATH): a loop of XSAVE64, XRSTOR64, XSAVEOPT64, XSAVEC64 and
 * XRSTOR64 of the compacted image, with legacy SSE writes unicorn runs between them (the gate
 * absorbs them) and x87 instructions (events that send the trap to the model), on several CPUs. The
 * register files and the save areas must be equal, and the native path must have done most traps.
 */
describe('the trap gate runs the XSAVE family natively', () => {
  const CODE = 0x400000n, DATA = 0x600000n;
  const loop = Uint8Array.from([
    0x48, 0x0f, 0xae, 0x23, //             xsave64 [rbx]
    0x66, 0x0f, 0xfe, 0xc1, //             paddd xmm0, xmm1
    0x48, 0x0f, 0xae, 0x2b, //             xrstor64 [rbx]
    0x66, 0x0f, 0xfe, 0xd1, //             paddd xmm2, xmm1 (XMM2 grows: XSAVEOPT below must see it modified)
    0x48, 0x0f, 0xae, 0x33, //             xsaveopt64 [rbx]
    0xd9, 0xe8, 0xdd, 0xd8, //             fld1; fstp st(0)
    0x48, 0x0f, 0xc7, 0x26, //             xsavec64 [rsi]
    0x66, 0x0f, 0xef, 0xdb, //             pxor xmm3, xmm3
    0x48, 0x0f, 0xae, 0x2e, //             xrstor64 [rsi]
    0x0f, 0x28, 0xe2, //                   movaps xmm4, xmm2
    0xeb, 0x100 - 41, //                   jmp back to the start (41 bytes before the next instruction)
  ].map((b) => b & 0xff));

  async function run(cpuId: string, native: boolean): Promise<{ store: Uint8Array; mem: Uint8Array; nativeCount: number }> {
    const { Machine, StopKind } = await import('../emulator/machine.js');
    const { Prot, X86Reg } = await import('../emulator/unicorn.js');
    const cpu = loadBuiltinQuietly(cpuId);
    const xs = new XsaveContext(cpu);
    xs.xcr0 = cpu.xcr0Supported & ~(bit(XFeature.TILECFG) | bit(XFeature.TILEDATA));
    const saved = process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH;
    if (native) delete process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH; else process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH = '1';
    const m = new Machine(cpu, xs, { onSyscall: () => true });
    if (saved === undefined) delete process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH; else process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH = saved;
    try {
      m.map(CODE, 0x1000n, Prot.READ | Prot.EXEC, loop);
      m.map(DATA, 0x10000n, Prot.READ | Prot.WRITE);
      m.uc.regWrite(X86Reg.RIP, CODE);
      m.uc.regWrite(X86Reg.RBX, DATA);
      m.uc.regWrite(X86Reg.RSI, DATA + 0x8000n);
      m.uc.regWrite(X86Reg.RAX, 0xffffffffn);
      m.uc.regWrite(X86Reg.RDX, 0xffffffffn);
      // The model's reset state (FCW 037FH: x87 exceptions masked) and XMM1 = 1..16 into unicorn.
      m.vec.write(1, Uint8Array.from({ length: 16 }, (_, k) => k + 1), 0);
      m.syncOut(true);
      for (let k = 0; k < 20; k++) expect(m.run(500).kind).toBe(StopKind.Quantum);
      m.syncIn(true);
      return { store: new Uint8Array(xs.regs.store).slice(), mem: m.uc.memRead(DATA, 0x10000), nativeCount: m.nativeXsaveCount };
    } finally {
      m.close();
    }
  }

  // Every built-in CPU whose instructions the loop uses (XSAVEOPT, XSAVEC).
  const ids = builtinProfileIds().filter((id) => { const f = loadBuiltinQuietly(id).features; return f.xsaveopt && f.xsavec; });
  it('runs on several CPUs', () => expect(ids.length).toBeGreaterThan(3));
  for (const id of ids) {
    it(`${id}: the same registers and memory with the native path as without`, async () => {
      const on = await run(id, true), off = await run(id, false);
      expect(off.nativeCount).toBe(0);
      expect(on.nativeCount, 'traps the native path did').toBeGreaterThan(1000);
      expect(firstDifference(on.mem, off.mem), 'first differing byte of the save areas').toBe(-1);
      expect(firstDifference(on.store, off.store), 'first differing byte of the register file').toBe(-1);
    });
  }
});

/**
 * A guest program (test/guests-xsave/xsave-mix.c: a seeded mix of SSE, MXCSR, AVX and x87 writes
 * between XSAVE, XSAVEOPT, XSAVEC and XRSTOR of both formats with random RFBMs) under `exec`, with
 * the native path and without it: the same output (hashes of every image, of XGETBV(1), of XMM0-3
 * and MXCSR after every restore, and the last image).
 */
/** test/guests-xsave/xsave-mix.c built with musl-gcc -static (once per file), and the built CLI's path. */
let xsaveMix: Promise<{ exe: string; cli: string }> | undefined;
function buildXsaveMix(): Promise<{ exe: string; cli: string }> {
  xsaveMix ??= (async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const exe = join(mkdtempSync(join(tmpdir(), 'xsave-mix-')), 'xsave-mix');
    const cc = await runProcess('musl-gcc', ['-static', '-O2', '-o', exe, join(import.meta.dirname, 'guests-xsave', 'xsave-mix.c')], 120_000).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`musl-gcc (apt-get install -y musl-tools): ${e.message}`);
    });
    expect(cc.status, cc.stderr).toBe(0);
    return { exe, cli: join(import.meta.dirname, '..', 'dist', 'src', 'cli.js') };
  })();
  return xsaveMix;
}
/** `exec` runs of the CLI, asynchronously (a loop of spawnSync would block vitest's worker RPC), with the native XSAVE path on or off. */
function execMix(cli: string, args: string[], off: boolean): Promise<Run> {
  const env = { ...process.env };
  if (off) env.XSTATE_LAB_NO_XSAVE_FAST_PATH = '1'; else delete env.XSTATE_LAB_NO_XSAVE_FAST_PATH;
  return runProcess(process.execPath, [cli, 'exec', ...args], 300_000, { env });
}

describe('exec of a program mixing the XSAVE family with vector and x87 code', () => {
  it('prints the same with the native path as without, on CPUs with and without AVX-512', async () => {
    const { exe, cli } = await buildXsaveMix();
    const ids = builtinProfileIds().filter((id) => { const f = loadBuiltinQuietly(id).features; return f.xsaveopt && f.xsavec; });
    const pick = [ids.find((id) => loadBuiltinQuietly(id).features.avx512f), ids.find((id) => !loadBuiltinQuietly(id).features.avx512f)].filter((x): x is string => x !== undefined);
    expect(pick).toHaveLength(2);
    // Two runs at a time (two cores); every pair is compared as before.
    const runs = await pool(pick.flatMap((id) => [false, true].map((off) => ({ id, off }))), 2, (c) => execMix(cli, ['--cpu', c.id, exe, '3000', '777'], c.off));
    pick.forEach((id, k) => {
      const [on, off] = [runs[2 * k]!, runs[2 * k + 1]!];
      for (const r of [on, off]) expect(r.status, `${id}: ${r.stderr}`).toBe(0);
      expect(on.stdout).toMatch(/3000 saves, \d+ restores, hash [0-9a-f]{16}/);
      expect(on.stdout, id).toBe(off.stdout);
    });
  });
  /*
   * The same program natively and under `exec --cpu host`, with the native path and without:
   * identical output for several lengths and seeds. FNINIT in the mix (after a restore left x87
   * initial) caught the model setting XINUSE[0] where this CPU leaves it clear (the quirk
   * fninit-of-init-data-keeps-init, measured by the capture).
   */
  it('prints what the real machine prints, under --cpu host', async () => {
    const { exe, cli } = await buildXsaveMix();
    const cases: [string, string][] = [['300', '12345'], ['3000', '1'], ['3000', '2'], ['3000', '3'], ['1000', '4'], ['1000', '5']];
    // Two runs at a time (two cores); each case's two model runs are compared with its native run.
    const runs = await pool(cases.flatMap(([n, seed]) => [false, true].map((off) => ({ n, seed, off }))), 2, (c) => execMix(cli, ['--cpu', 'host', exe, c.n, c.seed], c.off));
    for (const [k, [n, seed]] of cases.entries()) {
      const native = await runProcess(exe, [n, seed], 60_000);
      expect(native.status, native.stderr).toBe(0);
      if (/OSXSAVE: not available/.test(native.stdout)) console.log('[xsave-mix] this host has no OSXSAVE: only the program\'s refusal is compared');
      for (const [j, off] of [false, true].entries()) {
        const r = runs[2 * k + j]!;
        expect(r.status, `${n} ${seed}: ${r.stderr}`).toBe(0);
        expect(r.stdout, `xsave-mix ${n} ${seed}${off ? ' without the native path' : ''}`).toBe(native.stdout);
      }
    }
  });
});
