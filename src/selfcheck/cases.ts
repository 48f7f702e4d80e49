/**
 * Deterministic case generation for `selfcheck cpu`: crafted cases first (one per rule worth
 * pinning down), then random register states, RFBMs and XRSTOR images from a seeded PRNG.
 */
import { CpuModel, EXTENDED_REGION_OFFSET, FCW_INIT, MXCSR_INIT, XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XFeature, bit, maskBits } from '../../emulator/xfeatures.js';
import { ProbeOp, type ProbeCase } from './protocol.js';

/** mulberry32: small, fast, and the same on every host. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
  subset(mask: number): number {
    return (this.next() & mask) >>> 0;
  }
  fill(a: Uint8Array, from: number, to: number): void {
    for (let k = from; k < to; k++) a[k] = this.next() & 0xff;
  }
}

export interface CaseContext {
  cpu: CpuModel;
  xcr0: number;
  area: number;
  xgetbv1: boolean;
}

const put16 = (a: Uint8Array, o: number, v: number): void => { a[o] = v & 0xff; a[o + 1] = (v >> 8) & 0xff; };
const put32 = (a: Uint8Array, o: number, v: number): void => { put16(a, o, v & 0xffff); put16(a, o + 2, v >>> 16); };
const put64 = (a: Uint8Array, o: number, lo: number, hi: number): void => { put32(a, o, lo); put32(a, o + 4, hi); };

/** A random but loadable MXCSR (reserved bits clear). */
function randomMxcsr(r: Prng, mask: number): number {
  return r.pick([MXCSR_INIT, MXCSR_INIT, 0x1fa0, 0x9fc0, 0x0000, 0x7f80, r.next() & mask]) & mask;
}

/** Fill the legacy region with an x87 and SSE state of varying shape. */
function randomLegacy(r: Prng, a: Uint8Array, mxcsrMask: number): void {
  const shape = r.below(4);
  if (shape === 0) {
    put16(a, LEGACY.FCW, FCW_INIT); // initial x87 (maybe with ST data)
  } else {
    r.fill(a, 0, LEGACY.MXCSR);
    if (r.chance(0.5)) put16(a, LEGACY.FCW, r.pick([FCW_INIT, 0x027f, 0x0040, 0x1f7f, 0x0360]));
    if (r.chance(0.3)) put16(a, LEGACY.FSW, 0);
  }
  if (r.chance(0.7)) r.fill(a, LEGACY.ST0, LEGACY.XMM0);
  put32(a, LEGACY.MXCSR, randomMxcsr(r, mxcsrMask));
  put32(a, LEGACY.MXCSR_MASK, r.pick([0, mxcsrMask, r.next()]));
  for (let k = 0; k < 16; k++) {
    const o = LEGACY.XMM0 + 16 * k;
    const kind = r.below(3);
    if (kind === 1) r.fill(a, o, o + 16);
    else if (kind === 2) a[o + r.below(16)] = 1 + r.below(255);
  }
  if (r.chance(0.2)) a.fill(0, LEGACY.XMM0, LEGACY.END_OF_SAVED);
  if (r.chance(0.5)) r.fill(a, LEGACY.END_OF_SAVED, 512);
}

/** Component data: zero, sparse or dense. */
function randomComponentData(r: Prng, a: Uint8Array, off: number, size: number): void {
  const kind = r.below(4);
  if (kind === 0) a.fill(0, off, off + size);
  else if (kind === 1) a[off + r.below(size)] = 1 + r.below(255);
  else r.fill(a, off, off + size);
}

/**
 * PKRU bits 1:0 (AD0, WD0; SDM Vol. 3A 4.6.2) of an image the probes load. Every page of a probe
 * is in protection key 0, so a loaded PKRU that denies key 0 makes the probe's own next store
 * fault, and Linux then cannot write a signal frame either (the process dies with SIGSEGV). The
 * referee therefore loads only PKRU values that leave key 0 readable and writable; the other 30
 * bits stay random.
 */
const PKRU_KEY0_BITS = 0x3;

function keepPkey0Accessible(a: Uint8Array, pkruOffset: number | undefined): void {
  if (pkruOffset !== undefined && pkruOffset < a.length) a[pkruOffset] &= ~PKRU_KEY0_BITS;
}

/** A standard-format image whose header is valid for XCR0 (restorable). */
export function standardImage(r: Prng, ctx: CaseContext): Uint8Array {
  const a = new Uint8Array(ctx.area);
  randomLegacy(r, a, ctx.cpu.mxcsrMask);
  for (const c of ctx.cpu.extendedComponents) {
    if (!c.supervisor && (ctx.xcr0 >>> c.number) & 1) randomComponentData(r, a, c.standardOffset, c.size);
  }
  keepPkey0Accessible(a, (ctx.xcr0 >>> XFeature.PKRU) & 1 ? ctx.cpu.components[XFeature.PKRU]?.standardOffset : undefined);
  put64(a, XSAVE_HEADER_OFFSET, r.chance(0.15) ? ctx.xcr0 : r.subset(ctx.xcr0), 0);
  if (r.chance(0.3)) r.fill(a, XSAVE_HEADER_OFFSET + 24, XSAVE_HEADER_OFFSET + 64); // not checked by the standard form
  return a;
}

/** A compacted-format image with a valid header for XCOMP_BV ⊆ XCR0. */
export function compactedImage(r: Prng, ctx: CaseContext): Uint8Array {
  const a = new Uint8Array(ctx.area);
  randomLegacy(r, a, ctx.cpu.mxcsrMask);
  const comp = r.chance(0.3) ? ctx.xcr0 : r.subset(ctx.xcr0);
  const { offsets, size } = ctx.cpu.compactedLayout(comp);
  for (const i of maskBits(comp)) if (i >= 2 && offsets[i] !== undefined) randomComponentData(r, a, offsets[i], ctx.cpu.components[i]!.size);
  keepPkey0Accessible(a, offsets[XFeature.PKRU]);
  if (size < ctx.area && r.chance(0.5)) r.fill(a, size, ctx.area);
  put64(a, XSAVE_HEADER_OFFSET, r.subset(comp), 0);
  put64(a, XSAVE_HEADER_OFFSET + 8, comp, 0x80000000);
  return a;
}

/** Mutations that should (or, for the unchecked bytes, should not) fault. */
function mutateHeader(r: Prng, a: Uint8Array, ctx: CaseContext): void {
  const H = XSAVE_HEADER_OFFSET;
  switch (r.below(7)) {
    case 0: a[H + r.below(64)] ^= 1 << r.below(8); break; // any header bit
    case 1: a[H + 8 + r.below(16)] = 1 + r.below(255); break; // XCOMP_BV / first reserved qword
    case 2: a[H + 24 + r.below(40)] = 1 + r.below(255); break; // bytes 24..63
    case 3: a[H + 4 + r.below(4)] |= 1 << r.below(8); break; // XSTATE_BV high dword (bit 63 included)
    case 4: { const out = ~ctx.xcr0 & 0xfffff; if (out) a[H + (maskBits(out)[0] >> 3)] |= 1 << (maskBits(out)[0] & 7); break; }
    case 5: put32(a, LEGACY.MXCSR, (r.next() | ~ctx.cpu.mxcsrMask) >>> 0); break; // reserved MXCSR bits
    case 6: a[H + 15] ^= 0x80; break; // flip the format bit
  }
}

const SAVE_OPS = [ProbeOp.XSAVE, ProbeOp.XSAVE64, ProbeOp.XSAVEOPT, ProbeOp.XSAVEOPT64, ProbeOp.XSAVEC, ProbeOp.XSAVEC64, ProbeOp.FXSAVE, ProbeOp.FXSAVE64];
const RESTORE_OPS = [ProbeOp.XRSTOR, ProbeOp.XRSTOR64, ProbeOp.FXRSTOR, ProbeOp.FXRSTOR64];

function randomRfbm(r: Prng, xcr0: number): bigint {
  switch (r.below(6)) {
    case 0: return BigInt(xcr0);
    case 1: return 0xffffffffffffffffn;
    case 2: return BigInt(r.subset(xcr0));
    case 3: return BigInt(r.next()) | (BigInt(r.next()) << 32n);
    case 4: return BigInt(r.subset(xcr0) | bit(r.below(2) ? XFeature.SSE : XFeature.AVX));
    default: return BigInt(r.subset(0xfffff));
  }
}

function randomTargetOffset(r: Prng): number {
  return r.chance(0.06) ? r.pick([1, 8, 16, 32, 48, 64]) : 0;
}

/** One random case. */
export function randomCase(r: Prng, ctx: CaseContext): ProbeCase {
  const setup = standardImage(r, ctx);
  const setupRfbm = r.chance(0.8) ? BigInt(ctx.xcr0) : BigInt(r.subset(ctx.xcr0));
  const roll = r.below(100);
  const base = { setup, setupRfbm, ecx: 0, pokes: [] as { offset: number; value: number }[], targetOffset: randomTargetOffset(r) };
  if (roll < 45) {
    const target = new Uint8Array(ctx.area);
    if (r.chance(0.5)) r.fill(target, 0, ctx.area);
    else target.fill(r.pick([0, 0xaa, 0xff]));
    return { ...base, op: r.pick(SAVE_OPS), opRfbm: randomRfbm(r, ctx.xcr0), target };
  }
  if (roll < 85) {
    const compacted = ctx.cpu.features.xsavec && r.chance(0.4);
    const target = compacted ? compactedImage(r, ctx) : standardImage(r, ctx);
    if (r.chance(0.25)) mutateHeader(r, target, ctx);
    return { ...base, op: r.pick(RESTORE_OPS), opRfbm: randomRfbm(r, ctx.xcr0), target };
  }
  if (roll < 93) {
    const target = standardImage(r, ctx);
    const pokes = [0, 1].map(() => ({ offset: r.below(ctx.cpu.standardSize(ctx.xcr0)), value: r.below(256) }));
    return { ...base, targetOffset: 0, op: ProbeOp.XRSTOR_POKE_XSAVEOPT64, opRfbm: randomRfbm(r, ctx.xcr0), target, pokes };
  }
  const target = new Uint8Array(ctx.area);
  const op = r.pick([ProbeOp.XGETBV, ProbeOp.XGETBV, ProbeOp.XSETBV, ProbeOp.XSAVES64, ProbeOp.XRSTORS64, ProbeOp.LOCK_XSAVE64]);
  const ecx = op === ProbeOp.XGETBV ? r.pick([0, 1, 1, 2, 0xffffffff]) : r.pick([0, 1]);
  return { ...base, targetOffset: 0, op, opRfbm: op === ProbeOp.XSETBV ? BigInt(ctx.xcr0) : randomRfbm(r, ctx.xcr0), ecx, target };
}

/** Crafted cases, each pinning one rule. */
export function craftedCases(ctx: CaseContext): { name: string; c: ProbeCase }[] {
  const out: { name: string; c: ProbeCase }[] = [];
  const xcr0 = BigInt(ctx.xcr0);
  const zeros = (): Uint8Array => new Uint8Array(ctx.area);
  const init = (): Uint8Array => { const a = zeros(); put16(a, LEGACY.FCW, FCW_INIT); put32(a, LEGACY.MXCSR, MXCSR_INIT); return a; };
  const add = (name: string, c: Partial<ProbeCase> & { op: ProbeOp }): void => {
    out.push({ name, c: { targetOffset: 0, setupRfbm: xcr0, opRfbm: xcr0, ecx: 0, pokes: [], setup: init(), target: zeros(), ...c } });
  };
  const filledTarget = (v: number): Uint8Array => zeros().fill(v);
  // Init state saved by each save instruction: which bytes does each write?
  for (const op of [ProbeOp.XSAVE64, ProbeOp.XSAVEOPT64, ProbeOp.XSAVEC64, ProbeOp.FXSAVE64, ProbeOp.XSAVE, ProbeOp.FXSAVE]) {
    add(`init state, ${ProbeOp[op]}, target 0xAA`, { op, target: filledTarget(0xaa) });
  }
  // All XSTATE_BV bits set, data equal to the initial configuration.
  const allInitData = init();
  put64(allInitData, XSAVE_HEADER_OFFSET, ctx.xcr0, 0);
  add('XSTATE_BV = XCR0 with initial data, then XSAVE64', { op: ProbeOp.XSAVE64, setup: allInitData, target: filledTarget(0xaa) });
  // MXCSR != 1F80H with SSE in its initial configuration.
  const mx = init();
  put32(mx, LEGACY.MXCSR, 0x1fa0);
  for (const op of [ProbeOp.XSAVE64, ProbeOp.XSAVEOPT64, ProbeOp.XSAVEC64]) add(`MXCSR 1FA0H, SSE init, ${ProbeOp[op]}`, { op, setup: mx, target: filledTarget(0x55) });
  add('MXCSR 1FA0H, XSAVEC64 without SSE in RFBM', { op: ProbeOp.XSAVEC64, setup: mx, opRfbm: xcr0 & ~2n, target: filledTarget(0x55) });
  add('MXCSR 1FA0H, XGETBV(1)', { op: ProbeOp.XGETBV, setup: mx, ecx: 1 });
  // Modified optimization: XRSTOR, poke an SSE byte, XSAVEOPT to the same place.
  const sse = init();
  for (let k = LEGACY.XMM0; k < LEGACY.END_OF_SAVED; k++) sse[k] = k & 0xff;
  put64(sse, XSAVE_HEADER_OFFSET, 3, 0);
  add('XRSTOR, poke XMM0, XSAVEOPT (modified optimization)', { op: ProbeOp.XRSTOR_POKE_XSAVEOPT64, target: sse, pokes: [{ offset: LEGACY.XMM0, value: 0x55 }, { offset: LEGACY.MXCSR + 1, value: 0x3f }] });
  // Alignment, LOCK, privilege.
  add('XSAVE64 to a 32-byte aligned area', { op: ProbeOp.XSAVE64, targetOffset: 32 });
  add('FXSAVE64 to a 16-byte aligned area', { op: ProbeOp.FXSAVE64, targetOffset: 16 });
  add('FXSAVE64 to an 8-byte aligned area', { op: ProbeOp.FXSAVE64, targetOffset: 8 });
  add('LOCK XSAVE64', { op: ProbeOp.LOCK_XSAVE64 });
  add('XSAVES64 at CPL 3', { op: ProbeOp.XSAVES64 });
  add('XRSTORS64 at CPL 3', { op: ProbeOp.XRSTORS64 });
  add('XSETBV at CPL 3', { op: ProbeOp.XSETBV });
  for (const ecx of [0, 1, 2]) add(`XGETBV ECX=${ecx}`, { op: ProbeOp.XGETBV, ecx });
  // XRSTOR header rules.
  const hdr = (mut: (a: Uint8Array) => void): Uint8Array => { const a = init(); mut(a); return a; };
  add('XRSTOR64, XSTATE_BV bit 63', { op: ProbeOp.XRSTOR64, target: hdr((a) => { a[XSAVE_HEADER_OFFSET + 7] = 0x80; }) });
  add('XRSTOR64, header byte 23 set', { op: ProbeOp.XRSTOR64, target: hdr((a) => { a[XSAVE_HEADER_OFFSET + 23] = 1; }) });
  add('XRSTOR64, header byte 24 set (not checked)', { op: ProbeOp.XRSTOR64, target: hdr((a) => { a[XSAVE_HEADER_OFFSET + 24] = 1; }) });
  add('XRSTOR64, MXCSR reserved bit', { op: ProbeOp.XRSTOR64, target: hdr((a) => put32(a, LEGACY.MXCSR, 0x80001f80)) });
  add('XRSTOR64, MXCSR reserved bit, RFBM without SSE/AVX', { op: ProbeOp.XRSTOR64, opRfbm: xcr0 & ~6n, target: hdr((a) => put32(a, LEGACY.MXCSR, 0x80001f80)) });
  if (ctx.cpu.features.xsavec) {
    const comp = (bv: number, compLo: number, compHi: number): Uint8Array => hdr((a) => { put64(a, XSAVE_HEADER_OFFSET, bv, 0); put64(a, XSAVE_HEADER_OFFSET + 8, compLo, compHi); });
    add('compacted XRSTOR64, XCOMP_BV = XCR0', { op: ProbeOp.XRSTOR64, target: comp(ctx.xcr0, ctx.xcr0, 0x80000000) });
    add('compacted XRSTOR64, XSTATE_BV bit 63', { op: ProbeOp.XRSTOR64, target: comp(0, ctx.xcr0, 0x80000000).map((v, k) => (k === XSAVE_HEADER_OFFSET + 7 ? 0x80 : v)) });
    add('compacted XRSTOR64, XCOMP_BV = 1<<63 only (force init)', { op: ProbeOp.XRSTOR64, target: comp(0, 0, 0x80000000) });
    add('compacted XRSTOR64, header byte 16 set', { op: ProbeOp.XRSTOR64, target: comp(0, ctx.xcr0, 0x80000000).map((v, k) => (k === XSAVE_HEADER_OFFSET + 16 ? 1 : v)) });
  }
  // PKRU: the 4 bytes after the register (the component is 8 bytes) loaded non-zero, then saved.
  const pkru = ctx.cpu.components[XFeature.PKRU];
  if (pkru && (ctx.xcr0 >>> XFeature.PKRU) & 1) {
    const img = init();
    put32(img, pkru.standardOffset, 0x55555554); // keeps key 0 accessible (keepPkey0Accessible)
    put32(img, pkru.standardOffset + 4, 0x12345678);
    put64(img, XSAVE_HEADER_OFFSET, bit(XFeature.PKRU), 0);
    add('PKRU with non-zero bytes 7:4, XRSTOR64 then XSAVE64', { op: ProbeOp.XSAVE64, setup: img, target: filledTarget(0xaa) });
    add('PKRU with non-zero bytes 7:4, XRSTOR64', { op: ProbeOp.XRSTOR64, target: img });
  }
  // AMX: a valid TILECFG (palette 1, every tile at its largest), an invalid one, and palette 0,
  // each with non-zero tile data.
  const cfgC = ctx.cpu.components[XFeature.TILECFG], dataC = ctx.cpu.components[XFeature.TILEDATA];
  if (cfgC && dataC && (ctx.xcr0 >>> XFeature.TILEDATA) & 1) {
    const p1 = ctx.cpu.cpuid.get(0x1d, 1);
    const bytesPerRow = p1[1] & 0xffff, maxNames = p1[1] >>> 16, maxRows = p1[2] & 0xffff;
    const amx = (palette: number, edit?: (cfg: Uint8Array) => void): Uint8Array => {
      const img = init();
      const cfg = img.subarray(cfgC.standardOffset, cfgC.standardOffset + 64);
      cfg[0] = palette;
      if (palette) for (let t = 0; t < Math.min(maxNames, 16); t++) { put16(cfg, 16 + 2 * t, bytesPerRow); cfg[48 + t] = maxRows; }
      edit?.(cfg);
      for (let k = 0; k < dataC.size; k++) img[dataC.standardOffset + k] = (k * 7 + 1) & 0xff;
      put64(img, XSAVE_HEADER_OFFSET, bit(XFeature.TILECFG) | bit(XFeature.TILEDATA), 0);
      return img;
    };
    for (const [name, img] of [['valid TILECFG (palette 1)', amx(1)], ['invalid TILECFG (reserved byte 2 set)', amx(1, (c) => { c[2] = 1; })], ['TILECFG palette 0', amx(0)]] as const) {
      add(`AMX ${name} with tile data, XRSTOR64`, { op: ProbeOp.XRSTOR64, target: img });
      add(`AMX ${name} with tile data, XRSTOR64 then XSAVEC64`, { op: ProbeOp.XSAVEC64, setup: img, target: filledTarget(0xaa) });
    }
  }
  void EXTENDED_REGION_OFFSET;
  return out;
}
