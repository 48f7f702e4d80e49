/**
 * The x87 referee: random, seeded sequences of x87 instructions run on the host CPU
 * (src/selfcheck/x87-probe.c) and on the model (a Machine: unicorn plus the model's owned
 * instructions) from the same FXRSTOR64 image and data; the FXSAVE64 image after the sequence
 * (or the signal frame's, after a fault), RAX, the status flags, the data page, the signal, its
 * si_code and the faulting instruction are compared. Expectations all come from the host.
 */
import { spawnSync } from 'node:child_process';
import { Machine, StopKind } from '../../emulator/machine.js';
import { LEGACY } from '../../emulator/register-file.js';
import { Prot, X86Reg } from '../../emulator/unicorn.js';
import { XsaveContext, fxrstor, fxsave } from '../../emulator/xsave.js';
import { X86_TRAP_MF, fpu__exception_code } from '../../kernel-model/fpstate.js';
import { HostProbeError, buildNative } from '../native.js';
import { LINUX_USER_SELECTORS } from '../linux/fs/binfmt_elf.js';
import { Prng } from './cases.js';
import type { SelfcheckOptions } from './cpu-selfcheck.js';
import { assembleLines } from './insn-selfcheck.js';
import { TRANSCENDENTAL_ANSWERS, TranscendentalAnswer, withTranscendentalAnswers } from '../../emulator/x87/fpu-functions.js';
import { TranscendentalSource, withTranscendentalSource } from '../../emulator/x87/host-functions.js';

/** SIGFPE's number on x86-64 Linux (the probe's signal). */
const SIGFPE = 8;

const CODE_MAX = 256;
const DATA_SIZE = 256;
const IMAGE = 512;
/** FXSAVE bytes the comparison covers: everything FXSAVE writes (SDM Vol. 1 Table 10-2). */
const COMPARED = LEGACY.END_OF_SAVED;
const X87_MAGIC = 0x37385850;
const GREETING = 24;
const RESULT_HEAD = 32;
const RECORD_OUT = RESULT_HEAD + IMAGE + DATA_SIZE;
/** RFLAGS CF PF AF ZF SF OF (SDM Vol. 1 3.4.3.1). */
const STATUS_FLAGS = 0x8d5n;
/** SYSCALL (0F 05) ends the model's sequence: the machine stops there (the host's ends with RET). */
const SYSCALL_BYTES = [0x0f, 0x05];
const PAGE = 0x1000n;
const SLOT = 16;
/** Transcendental results per sequence up to which every answer combination (6^n model runs) is tried. */
const MAX_ANSWERED = 3;

const ARITH = ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'];
const CMOV = ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', 'fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'];
/** {i}: ST or MMX index 0-7; {m}: a 16-byte slot of the data page. */
const TEMPLATES: readonly string[] = [
  ...ARITH.flatMap((op) => [`${op} %st({i}), %st`, `${op} %st, %st({i})`, `${op}p %st, %st({i})`, `${op}s {m}`, `${op}l {m}`, `fi${op.slice(1)}s {m}`, `fi${op.slice(1)}l {m}`]),
  'fld %st({i})', 'flds {m}', 'fldl {m}', 'fldt {m}', 'filds {m}', 'fildl {m}', 'fildll {m}',
  'fst %st({i})', 'fstp %st({i})', 'fsts {m}', 'fstl {m}', 'fstps {m}', 'fstpl {m}', 'fstpt {m}',
  'fists {m}', 'fistl {m}', 'fistps {m}', 'fistpl {m}', 'fistpll {m}', 'fisttps {m}', 'fisttpl {m}', 'fisttpll {m}',
  'fcom %st({i})', 'fcoms {m}', 'fcoml {m}', 'fcomp %st({i})', 'fcomps {m}', 'fcompl {m}', 'fcompp',
  'ficoms {m}', 'ficoml {m}', 'ficomps {m}', 'ficompl {m}',
  'fucom %st({i})', 'fucomp %st({i})', 'fucompp',
  'fcomi %st({i}), %st', 'fcomip %st({i}), %st', 'fucomi %st({i}), %st', 'fucomip %st({i}), %st',
  ...CMOV.map((op) => `${op} %st({i}), %st`),
  'ftst', 'fxam', 'fchs', 'fabs', 'fxch %st({i})', 'fld1', 'fldz', 'fldpi', 'fldl2e', 'fldl2t', 'fldlg2', 'fldln2',
  'fsqrt', 'frndint', 'fincstp', 'fdecstp', 'ffree %st({i})', 'fnop',
  'fnstsw %ax', 'fnstsw {m}', 'fnstcw {m}', 'fldcw {m}', 'fnclex', 'fwait', 'fninit', 'emms',
  // The environment instructions in both formats (66H: the 16-bit one, SDM Vol. 1 Figures 8-9 to
  // 8-12); {M}: a slot from which the 108-byte image stays inside the compared data.
  'fnstenv {M}', 'data16 fnstenv {M}', 'fldenv {M}', 'data16 fldenv {M}', 'fnsave {M}', 'data16 fnsave {M}', 'frstor {M}', 'data16 frstor {M}',
  // MMX: the x87 state's MMX transition and #MF before an MMX instruction (SDM Vol. 1 9.5).
  'pxor %mm{i}, %mm{i}', 'movq {m}, %mm{i}', 'movq %mm{i}, {m}', 'paddw %mm{i}, %mm{i}', 'movd %mm{i}, %eax',
];

/**
 * The transcendental, scaling, remainder and BCD instructions (emulator/x87/fpu-functions.ts),
 * added with `functions: true`: the CPU's transcendental results are not always correctly rounded
 * (README, x87), so these are counted apart from the default run's zero-mismatch templates.
 */
const FUNCTION_TEMPLATES: readonly string[] = [
  'f2xm1', 'fyl2x', 'fyl2xp1', 'fptan', 'fpatan', 'fsin', 'fcos', 'fsincos', 'fscale', 'fprem', 'fprem1', 'fxtract', 'fbld {m}', 'fbstp {m}',
];

/** An 80-bit value from a palette of classes (normal, integers, zeros, infinities, NaNs, denormals, unsupported). */
function randomF80(r: Prng): Uint8Array {
  const b = new Uint8Array(10);
  const sig = (): bigint => (BigInt(r.next()) << 32n) | BigInt(r.next());
  const put = (sign: number, exp: number, s: bigint): Uint8Array => {
    for (let i = 0; i < 8; i++) { b[i] = Number(s & 0xffn); s >>= 8n; }
    const se = (sign << 15) | exp;
    b[8] = se & 0xff; b[9] = se >> 8;
    return b;
  };
  const sign = r.below(2);
  const INT = 1n << 63n;
  switch (r.below(16)) {
    case 0: return put(sign, 0, 0n);
    case 1: return put(sign, 0x7fff, INT);
    case 2: return put(sign, 0x7fff, INT | (1n << 62n) | (sig() & ((1n << 62n) - 1n))); // QNaN
    case 3: return put(sign, 0x7fff, INT | ((sig() & ((1n << 62n) - 1n)) || 1n)); // SNaN
    case 4: return put(sign, 0, (sig() & ~INT) || 1n); // denormal
    case 5: return put(sign, 0x7ffe - r.below(3), sig() | INT); // near overflow
    case 6: return put(sign, 1 + r.below(3), sig() | INT); // near underflow
    case 7: return put(sign, 1 + r.below(0x7ffe), sig() & ~INT); // unnormal (unsupported)
    case 8: case 9: { const v = BigInt(r.below(2000)); if (v === 0n) return put(sign, 0, 0n); const n = v.toString(2).length; return put(sign, 0x3fff + n - 1, v << BigInt(64 - n)); }
    default: return put(sign, 0x3fff - 40 + r.below(80), sig() | INT);
  }
}

/** A single or double from a palette of classes. */
function randomFloat(r: Prng, bytes: 4 | 8): Uint8Array {
  const [eb, fb] = bytes === 4 ? [8, 23] : [11, 52];
  const emax = (1 << eb) - 1, bias = emax >> 1;
  const frac = (): bigint => ((BigInt(r.next()) << 32n) | BigInt(r.next())) & ((1n << BigInt(fb)) - 1n);
  const sign = BigInt(r.below(2));
  let exp: number, f: bigint;
  switch (r.below(12)) {
    case 0: exp = 0; f = 0n; break;
    case 1: exp = emax; f = 0n; break;
    case 2: exp = emax; f = (1n << BigInt(fb - 1)) | frac(); break;
    case 3: exp = emax; f = (frac() & ((1n << BigInt(fb - 1)) - 1n)) || 1n; break;
    case 4: exp = 0; f = frac() || 1n; break;
    case 5: exp = emax - 1 - r.below(2); f = frac(); break;
    default: exp = bias - 20 + r.below(40); f = frac(); break;
  }
  let bits = (sign << BigInt(bytes * 8 - 1)) | (BigInt(exp) << BigInt(fb)) | f;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) { out[i] = Number(bits & 0xffn); bits >>= 8n; }
  return out;
}

/** The data page: each 16-byte slot holds one value of a random kind (float, double, 80-bit, integer, raw). */
function randomData(r: Prng): Uint8Array {
  const d = new Uint8Array(DATA_SIZE);
  for (let o = 0; o < DATA_SIZE; o += SLOT) {
    switch (r.below(6)) {
      case 0: d.set(randomFloat(r, 4), o); break;
      case 1: d.set(randomFloat(r, 8), o); break;
      case 2: d.set(randomF80(r), o); break;
      case 3: { const v = r.chance(0.5) ? r.below(100000) - 50000 : r.next() | 0; new DataView(d.buffer).setInt32(o, v, true); if (r.chance(0.3)) new DataView(d.buffer).setInt32(o + 4, r.next() | 0, true); break; }
      case 4: { // a control word: masks, PC, RC random
        const cw = (r.chance(0.6) ? 0x3f : r.below(64)) | (r.below(4) << 8) | (r.below(4) << 10) | 0x40;
        new DataView(d.buffer).setUint16(o, cw, true);
        break;
      }
      default: r.fill(d, o, o + SLOT);
    }
  }
  return d;
}

/** An FXSAVE64 image: random FCW (masks, PC, RC), TOP, flags, tags and registers; pointers 0; MXCSR 1F80H. */
function randomImage(r: Prng): Uint8Array {
  const img = new Uint8Array(IMAGE);
  const v = new DataView(img.buffer);
  const masks = r.chance(0.7) ? 0x3f : r.below(64);
  const pc = r.pick([0, 2, 3, 3]);
  v.setUint16(0, masks | 0x40 | (pc << 8) | (r.below(4) << 10), true);
  const flags = r.chance(0.2) ? r.below(64) & (r.chance(0.7) ? masks : 0x3f) : 0;
  v.setUint16(2, flags | (r.below(8) << 11) | (r.next() & 0x4700), true);
  img[4] = r.chance(0.2) ? r.below(256) : r.chance(0.5) ? 0 : (0xff << r.below(8)) & 0xff;
  for (let i = 0; i < 8; i++) img.set(randomF80(r), LEGACY.ST0 + i * LEGACY.ST_STRIDE);
  v.setUint32(LEGACY.MXCSR, 0x1f80, true);
  return img;
}

/** The largest x87 image (FNSAVE's 108 bytes, SDM Vol. 1 Figure 8-10): {M} slots keep it inside the data page's compared bytes. */
const X87_IMAGE_MAX = 108;
function instantiate(r: Prng, t: string): string {
  return t.replace(/\{i\}/g, () => String(r.below(8)))
    .replace(/\{m\}/g, () => `${SLOT * r.below(DATA_SIZE / SLOT)}(%rbx)`)
    .replace(/\{M\}/g, () => `${SLOT * r.below(Math.floor((DATA_SIZE - X87_IMAGE_MAX) / SLOT) + 1)}(%rbx)`);
}

/**
 * mismatches: every mismatch (rule path and host path); ruleMismatches: the model's rules (with the
 * function templates: after the residual excuse); hostPathMismatches: the host path's (functions only).
 */
export interface X87SelfcheckSummary { cases: number; mismatches: number; ruleMismatches: number; hostPathMismatches: number; faults: number; unstable: number; residuals: number }

/** `rerun: false` skips the host re-runs of mismatches (for tests that expect mismatches). */
export function runX87Selfcheck(o: SelfcheckOptions & { rerun?: boolean; functions?: boolean }): X87SelfcheckSummary {
  const { cpu, log } = o;
  const r = new Prng(o.seed);
  const templates = o.functions ? [...TEMPLATES, ...FUNCTION_TEMPLATES] : TEMPLATES;
  // Sequences of 1-6 instructions, assembled together (one line per instruction).
  const seqs = Array.from({ length: o.cases }, () => Array.from({ length: 1 + r.below(6) }, () => instantiate(r, r.pick(templates))));
  const assembled = assembleLines(seqs.flat());
  let at = 0;
  const cases = seqs.map((lines) => {
    const parts = assembled.slice(at, at + lines.length);
    at += lines.length;
    const offsets: number[] = [];
    let len = 0;
    for (const p of parts) { offsets.push(len); len += p.bytes.length; }
    const code = new Uint8Array(len);
    parts.forEach((p, k) => code.set(p.bytes, offsets[k]!));
    return { lines, code, offsets, image: randomImage(r), data: randomData(r) };
  });
  const exe = buildNative('selfcheck/x87-probe.c');
  const input: Buffer[] = [];
  for (const c of cases) {
    const h = Buffer.alloc(8 + CODE_MAX);
    h.writeUInt32LE(c.code.length, 0);
    h.set(c.code, 8);
    input.push(h, Buffer.from(c.image), Buffer.from(c.data));
  }
  const runNative = (parts: Buffer[]): Buffer => {
    const res = spawnSync(exe, [], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new HostProbeError(`the x87 probe stopped (${res.status ?? res.signal}): ${res.stderr.toString().trim()}`);
    if (res.stdout.length < GREETING || res.stdout.readUInt32LE(0) !== X87_MAGIC) throw new HostProbeError('the x87 probe answered nothing usable');
    return res.stdout;
  };
  const outb = runNative(input);
  const codeAddr = outb.readBigUInt64LE(8), dataAddr = outb.readBigUInt64LE(16);
  if (outb.length !== GREETING + cases.length * RECORD_OUT) throw new HostProbeError(`the x87 probe answered ${outb.length} bytes, expected ${GREETING + cases.length * RECORD_OUT}`);

  // The model: one machine; each case maps its code (swept for owned instructions) and data at the host's addresses.
  const xs = new XsaveContext(cpu);
  const machine = new Machine(cpu, xs, { onSyscall: () => true });
  // The probe is a 64-bit Linux task: FCS/FDS of the 28- and 14-byte environments are its selectors.
  machine.userSelectors = LINUX_USER_SELECTORS;
  let mismatches = 0, shown = 0, faults = 0, unstable = 0, residuals = 0, hostPathMismatches = 0, hostShown = 0;
  /** The model's FXSAVE image of the last comparison. */
  let lastModelImage = new Uint8Array(IMAGE);
  // The transcendental results: with the function templates the rule (correctly rounded) path is
  // checked, its 1-ulp residuals counted apart, and then the host path (host-functions.ts) strictly.
  const primary = o.functions ? TranscendentalSource.Rule : TranscendentalSource.Auto;
  const compareWith = (src: TranscendentalSource, c: (typeof cases)[number], host: Buffer, codeAddr: bigint, dataAddr: bigint): string[] =>
    withTranscendentalSource(src, () => compareOne(c, host, codeAddr, dataAddr));
  cases.forEach((c, k) => {
    const host = outb.subarray(GREETING + k * RECORD_OUT, GREETING + (k + 1) * RECORD_OUT);
    const hostSignal = host.readUInt32LE(0);
    if (hostSignal) faults++;
    let diffs = compareWith(primary, c, host, codeAddr, dataAddr);
    let matched = { host, codeAddr, dataAddr };
    // Re-run on the host only for what this PVM host is known to vary in: FIP (and FDP) cut to 32
    // bits in the signal frame of an #MF (SIGFPE), which a re-run does not repeat (README, x87).
    // Anything else counts.
    if (hostSignal === SIGFPE && pointersCutOnly(diffs, host.subarray(RESULT_HEAD, RESULT_HEAD + IMAGE), lastModelImage) && o.rerun !== false) {
      for (let t = 0; t < 2 && diffs.length; t++) {
        const again = runNative(input.slice(3 * k, 3 * k + 3));
        const answer = { host: again.subarray(GREETING, GREETING + RECORD_OUT), codeAddr: again.readBigUInt64LE(8), dataAddr: again.readBigUInt64LE(16) };
        if (compareWith(primary, c, answer.host, answer.codeAddr, answer.dataAddr).length === 0) { diffs = []; unstable++; matched = answer; }
      }
    }
    if (diffs.length && o.functions) {
      // The CPU's transcendental results are within 1 ulp, not always correctly rounded (SDM Vol. 1
      // 8.3.10; measured here): the case is a residual when some answer of each transcendental
      // (the correctly rounded value, the other neighbour or one ulp beyond, each with C1 as rounded or the other side) makes the model match the host.
      const base = withTranscendentalAnswers([], () => compareWith(primary, c, host, codeAddr, dataAddr));
      const n = base.roundings;
      if (n > 0 && n <= MAX_ANSWERED) {
        const A = TRANSCENDENTAL_ANSWERS;
        for (let code = 1; code < A ** n && diffs.length; code++) {
          const list = Array.from({ length: n }, (_, i) => Math.floor(code / A ** i) % A as TranscendentalAnswer);
          if (withTranscendentalAnswers(list, () => compareWith(primary, c, host, codeAddr, dataAddr)).result.length === 0) { diffs = []; residuals++; }
        }
      }
    }
    if (diffs.length) {
      mismatches++;
      if (shown++ < (o.detail ?? 10)) {
        log(`MISMATCH case ${k}: ${c.lines.join('; ')}`);
        log(`  start: FCW ${hex16(c.image, 0)} FSW ${hex16(c.image, 2)} FTW ${c.image[4]!.toString(16).padStart(2, '0')} ${describeStack(c.image)}`);
        for (const d of diffs.slice(0, 8)) log(`  ${d}`);
      }
    }
    if (o.functions) {
      // The host path must give the CPU's bits: no residual, no re-run.
      const hd = compareWith(TranscendentalSource.Host, c, matched.host, matched.codeAddr, matched.dataAddr);
      if (hd.length) {
        hostPathMismatches++;
        if (hostShown++ < (o.detail ?? 10)) {
          log(`HOST-PATH MISMATCH case ${k}: ${c.lines.join('; ')}`);
          log(`  start: FCW ${hex16(c.image, 0)} FSW ${hex16(c.image, 2)} FTW ${c.image[4]!.toString(16).padStart(2, '0')} ${describeStack(c.image)}`);
          for (const d of hd.slice(0, 8)) log(`  ${d}`);
        }
      }
    }
  });
  if (unstable) log(`note: ${unstable} sequence(s) ending in SIGFPE differed only in FIP/FDP cut to 32 bits in the host's signal frame, and a host re-run gave the model's (this PVM host's #MF frame sometimes shows them cut)`);

  function compareOne(c: (typeof cases)[number], host: Buffer, codeAddr: bigint, dataAddr: bigint): string[] {
    const hSig = host.readUInt32LE(0), hCode = host.readUInt32LE(4), hRip = host.readBigUInt64LE(8);
    const hRax = host.readBigUInt64LE(16), hFlags = host.readBigUInt64LE(24) & STATUS_FLAGS;
    const hImg = host.subarray(RESULT_HEAD, RESULT_HEAD + IMAGE), hData = host.subarray(RESULT_HEAD + IMAGE);
    const code = new Uint8Array(Number(PAGE));
    code.set(c.code);
    code.set(SYSCALL_BYTES, c.code.length);
    machine.map(codeAddr, PAGE, Prot.READ | Prot.EXEC, code);
    machine.map(dataAddr, PAGE, Prot.READ | Prot.WRITE, c.data);
    fxrstor(xs, c.image, 0, true);
    machine.syncOut(true);
    const uc = machine.uc;
    uc.regWrite(X86Reg.RBX, dataAddr);
    uc.regWrite(X86Reg.RAX, 0n);
    uc.regWrite(X86Reg.RFLAGS, 2n);
    uc.regWrite(X86Reg.RIP, codeAddr);
    const stop = machine.run(10_000);
    machine.syncIn(true);
    let mSig = 0, mCode = 0, mRip = 0n;
    const diffs: string[] = [];
    if (stop.kind === StopKind.Fault && stop.fault) {
      mSig = stop.fault.signal;
      mCode = stop.fault.trapno === X86_TRAP_MF ? fpu__exception_code(xs, X86_TRAP_MF) : stop.fault.code;
      mRip = uc.regRead(X86Reg.RIP);
    } else if (stop.kind !== StopKind.Syscall) {
      diffs.push(`the model stopped early: ${stop.message ?? StopKind[stop.kind]}`);
    }
    const mImg = new Uint8Array(IMAGE);
    fxsave(xs, mImg, 0, true);
    lastModelImage = mImg;
    const mData = machine.read(dataAddr, DATA_SIZE);
    const where = (rip: bigint): string => { const i = c.offsets.indexOf(Number(rip - codeAddr)); return i >= 0 ? `at '${c.lines[i]}'` : `at 0x${rip.toString(16)}`; };
    if (hSig !== mSig || hCode !== mCode) diffs.push(`signal: host ${hSig}/si_code ${hCode}${hSig ? ` ${where(hRip)}` : ''}, model ${mSig}/si_code ${mCode}${mSig ? ` ${where(mRip)}` : ''}`);
    else if (hSig && hRip !== mRip) diffs.push(`faulting instruction: host ${where(hRip)}, model ${where(mRip)}`);
    diffs.push(...imageDiffs(hImg, mImg));
    if (!hSig && !mSig) {
      if ((hRax & 0xffffn) !== (uc.regRead(X86Reg.RAX) & 0xffffn)) diffs.push(`AX: host 0x${(hRax & 0xffffn).toString(16)}, model 0x${(uc.regRead(X86Reg.RAX) & 0xffffn).toString(16)}`);
      const mFlags = uc.regRead(X86Reg.RFLAGS) & STATUS_FLAGS;
      if (hFlags !== mFlags) diffs.push(`RFLAGS status: host 0x${hFlags.toString(16)}, model 0x${mFlags.toString(16)}`);
    }
    for (let j = 0; j < DATA_SIZE; j++) if (hData[j] !== mData[j]) { diffs.push(`data byte ${j}: host 0x${hData[j]!.toString(16)}, model 0x${mData[j]!.toString(16)}`); break; }
    return diffs;
  }
  machine.close();
  if (o.functions) log(`x87 function instructions, host path (the CPU's own F2XM1/FYL2X/FYL2XP1/FPTAN/FPATAN/FSIN/FCOS/FSINCOS, as for a profile that is this CPU): ${hostPathMismatches} mismatches in ${cases.length} sequences`);
  if (o.functions) log(`x87 function instructions, rule path: ${residuals} sequence(s) matched only with a transcendental result 1 ulp from the correctly rounded one (either side) or its C1 on the other side (the CPU's results are within 1 ulp, SDM Vol. 1 8.3.10; README, x87), counted apart from the mismatches`);
  log(`x87 selfcheck: ${cases.length} sequences (${assembled.length} instructions, ${templates.length} templates, ${faults} ending in a host signal), ${mismatches} mismatches, host ${cpu.id}`);
  return { cases: cases.length, mismatches: mismatches + hostPathMismatches, ruleMismatches: mismatches, hostPathMismatches, faults, unstable, residuals };
}

/**
 * Whether the images differ only in bits 63:32 of FIP and FDP, zero in the host's: the cut this PVM
 * host's #MF signal frames sometimes show (README, x87).
 */
function pointersCutOnly(diffs: string[], host: Uint8Array, model: Uint8Array): boolean {
  if (!diffs.length || !diffs.every((d) => d.startsWith('FIP:') || d.startsWith('FDP:'))) return false;
  const upper = (j: number): boolean => (j >= LEGACY.FIP + 4 && j < LEGACY.FIP + 8) || (j >= LEGACY.FDP + 4 && j < LEGACY.FDP + 8);
  for (let j = 0; j < COMPARED; j++) if (host[j] !== model[j] && !(upper(j) && host[j] === 0)) return false;
  return true;
}

const hex16 = (b: Uint8Array, o: number): string => (b[o]! | (b[o + 1]! << 8)).toString(16).padStart(4, '0');
function f80Text(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 9; i >= 0; i--) { s += b[o + i]!.toString(16).padStart(2, '0'); if (i === 8) s += ':'; }
  return s;
}
function describeStack(img: Uint8Array): string {
  return Array.from({ length: 8 }, (_, i) => `st${i}=${f80Text(img, LEGACY.ST0 + i * LEGACY.ST_STRIDE)}`).join(' ');
}

/** The FXSAVE64 fields that differ, named (SDM Vol. 1 Table 10-2). */
function imageDiffs(h: Uint8Array, m: Uint8Array): string[] {
  const out: string[] = [];
  const field = (name: string, o: number, n: number): void => {
    let same = true;
    for (let i = 0; i < n; i++) if (h[o + i] !== m[o + i]) same = false;
    if (same) return;
    const hex = (b: Uint8Array): string => Array.from(b.subarray(o, o + n)).reverse().map((x) => x.toString(16).padStart(2, '0')).join('');
    out.push(`${name}: host 0x${hex(h)}, model 0x${hex(m)}`);
  };
  field('FCW', 0, 2); field('FSW', 2, 2); field('FTW', 4, 1); field('FOP', 6, 2); field('FIP', 8, 8); field('FDP', 16, 8); field('MXCSR', 24, 4);
  for (let i = 0; i < 8; i++) field(`ST${i}`, LEGACY.ST0 + i * LEGACY.ST_STRIDE, LEGACY.ST_STRIDE);
  field('XMM', LEGACY.XMM0, COMPARED - LEGACY.XMM0);
  return out;
}


