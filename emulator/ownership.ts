/**
 * Which instructions the model must own, decided by decoding (not by waiting for #UD): unicorn
 * 2.0.1 rejects some of them and silently mis-executes others (KMOVW, VZEROUPPER, VEX.128 writes
 * that must clear bits 511:128), as measured in ../shared/reference/unicorn-notes.md.
 */
import { PRIVILEGED_AT_CPL3 } from './general-insns.js';
import { LEGACY_FP_MNEMONICS } from './vector/float-legacy.js';
import { LEGACY_CRYPTO_MNEMONICS } from './vector/crypto-legacy.js';
import { MMX_FP_CONVERSIONS } from './vector/float-mmx.js';
import { Code, CpuidFeature, Decoder, DecoderOptions, EncodingKind, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register, RegisterExt } from './iced.js';
import { isModelledX87 } from './x87/fpu.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Mnemonics of the XSAVE family and the other non-vector instructions the model emulates. */
const OWNED_LEGACY = new Set<Mnemonic>([
  Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64,
  Mnemonic.Xsaves, Mnemonic.Xsaves64, Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64,
  Mnemonic.Xgetbv, Mnemonic.Xsetbv, Mnemonic.Rdpkru, Mnemonic.Wrpkru, Mnemonic.Cpuid,
  Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64,
  // unicorn 2.0.1 rejects RDFSBASE & co. whatever CR4.FSGSBASE; the model decides (#UD or run).
  Mnemonic.Rdfsbase, Mnemonic.Rdgsbase, Mnemonic.Wrfsbase, Mnemonic.Wrgsbase,
  // The x87 environment: unicorn stores it without FOP/FCS and with 0 in the reserved words, and
  // its FLDENV/FRSTOR do not load the pointers (measured, issue 11); the model holds the pointers.
  Mnemonic.Fnstenv, Mnemonic.Fnsave, Mnemonic.Fldenv, Mnemonic.Frstor,
  // unicorn 2.0.1's LDMXCSR takes reserved bits without #GP (unicorn.ts); the model checks MXCSR_MASK.
  Mnemonic.Ldmxcsr, Mnemonic.Stmxcsr,
  // unicorn returns the host's TSC and a TSC_AUX of 0, and cannot run RDRAND/RDSEED: the model
  // answers from the OS model, deterministically (emulator/general-insns.ts).
  Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdpid, Mnemonic.Rdrand, Mnemonic.Rdseed,
  // unicorn 2.0.1 cannot run MOVBE (glibc's AVX2 memcmp/strcmp use it) or POPCNT.
  Mnemonic.Movbe, Mnemonic.Popcnt,
  // POPF at CPL 3 keeps IF and IOPL (unicorn runs at CPL 0); PDEP/PEXT: unicorn swaps the operands.
  Mnemonic.Popf, Mnemonic.Popfq, Mnemonic.Pdep, Mnemonic.Pext,
  // BLSI/BLSR/BLSMSK/BZHI: unicorn's CF (and BZHI's result for large indexes) are wrong.
  Mnemonic.Blsi, Mnemonic.Blsr, Mnemonic.Blsmsk, Mnemonic.Bzhi,
  // BSF/BSR with a zero source: the destination as the vendor leaves it (general-insns.ts).
  Mnemonic.Bsf, Mnemonic.Bsr,
  // LAR/LSL/VERR/VERW read the OS's descriptor tables, which unicorn does not hold (measured:
  // LSL 7BH returned the selector, LAR of the program's own CS failed): the OS model answers.
  Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw,
  // CPL-0 and IOPL-sensitive instructions: #GP(0) at CPL 3 (unicorn runs at CPL 0 and executes them).
  ...PRIVILEGED_AT_CPL3,
  // unicorn 2.0.1 cannot run these (measured by src/selfcheck/insn-survey.ts): emulator/general-insns.ts.
  Mnemonic.Serialize, Mnemonic.Clwb, Mnemonic.Clflushopt, Mnemonic.Movdiri, Mnemonic.Movdir64b, Mnemonic.Ptwrite,
  Mnemonic.Hreset, Mnemonic.Pconfig, Mnemonic.Xsusldtrk, Mnemonic.Xresldtrk,
  Mnemonic.Testui, Mnemonic.Clui, Mnemonic.Stui, Mnemonic.Uiret, Mnemonic.Senduipi, Mnemonic.Enqcmd, Mnemonic.Enqcmds,
]);

/**
 * x87 control instructions (SDM Vol. 1 8.1.8: they leave FIP, FDP and FOP alone; measured on AMD
 * Zen 5 for FNSTSW, FNSTCW, FLDCW, FNCLEX, FWAIT, while FNOP, FXAM, FFREE, FINCSTP and FDECSTP
 * update them). FNINIT and FNSAVE clear them; FLDENV and FRSTOR load them.
 */
const X87_CONTROL = new Set<Mnemonic>([
  Mnemonic.Fnstsw, Mnemonic.Fstsw, Mnemonic.Fnstcw, Mnemonic.Fstcw, Mnemonic.Fldcw, Mnemonic.Fnclex, Mnemonic.Fclex,
  Mnemonic.Fnstenv, Mnemonic.Fstenv, Mnemonic.Fldenv, Mnemonic.Fnsave, Mnemonic.Fsave, Mnemonic.Frstor,
  Mnemonic.Fninit, Mnemonic.Finit, Mnemonic.Wait,
]);
const X87_ENV = new Set<Mnemonic>([Mnemonic.Fnstenv, Mnemonic.Fstenv, Mnemonic.Fnsave, Mnemonic.Fsave, Mnemonic.Fldenv, Mnemonic.Frstor]);

/** Legacy prefixes and REX (SDM Vol. 2A 2.1.1, 2.2.1). */
function isPrefix(b: number): boolean {
  return b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 || b === 0x66 || b === 0x67 ||
    b === 0xf0 || b === 0xf2 || b === 0xf3 || (b >= 0x40 && b <= 0x4f);
}
/** x87 escape opcodes D8H-DFH (SDM Vol. 2A A.4). */
const ESC_FIRST = 0xd8, ESC_LAST = 0xdf;
/** FWAIT (9BH), the prefix-like first byte of the waiting forms. */
const FWAIT_BYTE = 0x9b;

export enum X87Role {
  None,
  /** A non-control x87 instruction: it sets FIP, FOP (and, with a memory operand, FDP and FDS). */
  NonControl,
  /** FNINIT: clears FIP, FDP, FOP, FCS, FDS. */
  Init,
  /** FNSTENV, FNSAVE, FLDENV, FRSTOR: owned by the model. */
  Env,
  /** The other control instructions: no effect on the pointers. */
  Control,
  /** An MMX instruction (an MMX register operand): TOP 0, all tags valid, exponent FFFFH for writes (SDM Vol. 1 9.5.1). */
  Mmx,
}

/** An x87 instruction found by the sweep. */
export interface X87Site {
  /** The address of the x87 instruction proper: after the FWAIT byte of a waiting form. */
  addr: bigint;
  role: X87Role;
  /** FOP (SDM Vol. 1 8.1.9): bits 2:0 of the escape opcode, then the ModR/M byte. */
  fop: number;
  /** The memory operand, if any. */
  mem: { base: Register; index: Register; scale: number; disp: bigint; ipRel: boolean; addr32: boolean; seg: Register } | undefined;
  /** X87Role.Mmx: bit k set when it writes MMk. */
  mmxWrites?: number;
}

/**
 * An MMX instruction (any MM0-MM7 operand; SDM Vol. 1 9.5 and Table 9-2) and the MMX registers
 * it writes: the first operand when it is an MMX register, except MASKMOVQ, which only reads it.
 */
export function mmxSiteOf(ins: Instruction): X87Site | undefined {
  let mm = false;
  for (let k = 0; k < ins.opCount; k++) {
    if (ins.opKind(k) !== OpKind.Register) continue;
    const r = ins.opRegister(k);
    if (r >= Register.MM0 && r <= Register.MM7) mm = true;
  }
  if (!mm) return undefined;
  const r0 = ins.opCount > 0 && ins.opKind(0) === OpKind.Register ? ins.opRegister(0) : Register.None;
  const writes = r0 >= Register.MM0 && r0 <= Register.MM7 && ins.mnemonic !== Mnemonic.Maskmovq ? 1 << (r0 - Register.MM0) : 0;
  return { addr: ins.ip, role: X87Role.Mmx, fop: 0, mem: undefined, mmxWrites: writes };
}

/**
 * The x87 role of a decoded instruction and its FOP, from its bytes (`bytes[at]` is its first byte);
 * undefined when it is not an x87 escape instruction.
 */
export function x87SiteOf(ins: Instruction, bytes: Uint8Array, at: number): X87Site | undefined {
  let k = at;
  const end = at + ins.length;
  let wait = false;
  if (bytes[k] === FWAIT_BYTE && ins.length > 1) { wait = true; k++; }
  const start = k;
  while (k < end && isPrefix(bytes[k]!)) k++;
  const op = bytes[k];
  if (op === undefined || op < ESC_FIRST || op > ESC_LAST || k + 1 >= end) return undefined;
  const m = ins.mnemonic;
  const role = X87_ENV.has(m) ? X87Role.Env : m === Mnemonic.Fninit || m === Mnemonic.Finit ? X87Role.Init
    : X87_CONTROL.has(m) ? X87Role.Control : X87Role.NonControl;
  const FOP_LOW_OPCODE_BITS = 7;
  const fop = ((op & FOP_LOW_OPCODE_BITS) << 8) | bytes[k + 1]!;
  const hasMem = ins.opCount > 0 && [...Array(ins.opCount).keys()].some((i) => ins.opKind(i) === OpKind.Memory);
  const addr = ins.ip + BigInt(wait ? start - at : 0);
  return {
    addr, role, fop,
    mem: hasMem ? {
      base: ins.memoryBase, index: ins.memoryIndex, scale: ins.memoryIndexScale, disp: ins.isIpRelMemoryOperand ? ins.ipRelMemoryAddress : ins.memoryDisplacementU64,
      ipRel: ins.isIpRelMemoryOperand, addr32: ins.isIpRelMemoryOperand ? false : RegisterExt.size(ins.memoryBase !== Register.None ? ins.memoryBase : ins.memoryIndex) === 4, seg: ins.memorySegment,
    } : undefined,
  };
}


export enum Ownership {
  /** unicorn runs it. */
  Unicorn,
  /** the model emulates it (or raises the fault the profile's CPU would). */
  Model,
}

/**
 * VEX, EVEX and XOP encodings (every AVX/AVX-512/AMX/opmask instruction) and the listed legacy
 * instructions belong to the model. FXSAVE/FXRSTOR are owned because the x87/SSE image must come
 * from the model's register file, which holds the MXCSR_MASK and pointer rules of the profile.
 */
export function ownershipOf(ins: Instruction): Ownership {
  if (codeOwnership(ins) === Ownership.Model) return Ownership.Model;
  // MMX instructions: the model raises a pending x87 exception (#MF) and records the MMX
  // transition; unicorn then runs them (machine.ts onMmx).
  if (mmxSiteOf(ins)) return Ownership.Model;
  return Ownership.Unicorn;
}

/** ownershipOf without the MMX-register test: a function of the instruction's code alone (its encoding and mnemonic). */
function codeOwnership(ins: Instruction): Ownership {
  if (ins.encoding === EncodingKind.VEX || ins.encoding === EncodingKind.EVEX || ins.encoding === EncodingKind.XOP) return Ownership.Model;
  const m = ins.mnemonic;
  if (OWNED_LEGACY.has(m)) return Ownership.Model;
  // Legacy SSE floating point: unicorn never sets MXCSR flags (emulator/vector/float-legacy.ts).
  if (LEGACY_FP_MNEMONICS.has(m)) return Ownership.Model;
  // SHA, GFNI, PCLMULQDQ in the legacy encoding: unicorn 2.0.1 cannot run them (emulator/vector/crypto-legacy.ts).
  if (LEGACY_CRYPTO_MNEMONICS.has(m)) return Ownership.Model;
  // The MMX-operand conversions: MXCSR flags and the MMX transition (emulator/vector/float-mmx.ts).
  if (MMX_FP_CONVERSIONS.has(m)) return Ownership.Model;
  // x87 arithmetic, loads, stores, compares and stack control, with their exception flags and #MF
  // (emulator/x87/fpu.ts): unicorn 2.0.1 sets no flags and pops after unmasked exceptions (issue 11).
  if (isModelledX87(m)) return Ownership.Model;
  return Ownership.Unicorn;
}

/**
 * Whether some form of `code` has an MMX register operand, from iced-x86's name of the code: its
 * operand tokens after the mnemonic (`Cvtpi2ps_xmm_mmm64`, `Movd_rm32_mm`) name MM registers as
 * `mm` or `mmmNN`. Asking iced's op-code tables instead (CodeExt.opCode) builds them at first use,
 * 100-200 ms of start-up; test/ownership-sweep.test.ts checks the names against those tables for
 * every code.
 */
export function codeMayHaveMm(code: Code): boolean {
  const name = (Code as unknown as Record<number, string>)[code] ?? '';
  return name.split('_').slice(1).some((t) => MM_OPERAND_TOKEN.test(t));
}
/** An MM register operand in a code's name: `mm` (register) or `mmm64`/`mmm32` (register or memory). */
const MM_OPERAND_TOKEN = /^mm(m\d+)?$/;

/** What a code tells of ownership: settled by the code, or to be decided per instruction (an MMX register operand in one form and not another). */
const enum CodeVerdict { Model, Unicorn, PerInstruction }

/** CPUID features an instruction needs, as iced-x86 lists them (to raise #UD when the profile lacks one). */
export function requiredFeatures(ins: Instruction): CpuidFeature[] {
  return Array.from(ins.cpuidFeatures());
}

export interface SweepResult {
  /** Addresses of owned instructions, ascending. */
  owned: bigint[];
  /** Bytes the sweep could not decode (data in code, or a mis-synchronized sweep). */
  invalidAt: bigint[];
  /** x87 instructions whose pointer effects the machine records (non-control, FNINIT; the owned ones are in `owned`), and MMX instructions. */
  x87: X87Site[];
  /** Legacy SSE instructions unicorn runs that write an XMM register (XINUSE[1] on any write). */
  sseWrites: SseWriteSite[];
}

/**
 * A legacy SSE instruction unicorn runs that writes XMM `reg`. Measured on AMD Zen 5 (XGETBV(1)
 * after XRSTOR of the SSE init state): every such write sets XINUSE[1], the same value included
 * (MOVAPS of a zero register, a load of zeros, ANDPS, MOVD of 0, PINSRW, MOVSS), while read-only ones
 * (UCOMISS, a store) do not; a zeroing idiom (`idiom`: PXOR/XORPS/XORPD/PSUBx/PCMPGTx of a register
 * with itself) leaves it clear where the CPU has the zeroing-idiom-keeps-init quirk.
 */
export interface SseWriteSite {
  addr: bigint;
  reg: number;
  idiom: boolean;
}

/** Legacy zeroing idioms (same register twice): the CPU recognises them as dependency-breaking zeroes. */
const LEGACY_ZEROING_IDIOMS = new Set<Mnemonic>([
  Mnemonic.Pxor, Mnemonic.Xorps, Mnemonic.Xorpd, Mnemonic.Psubb, Mnemonic.Psubw, Mnemonic.Psubd, Mnemonic.Psubq,
  Mnemonic.Pcmpgtb, Mnemonic.Pcmpgtw, Mnemonic.Pcmpgtd, Mnemonic.Pcmpgtq,
]);

/** The SseWriteSite of one instruction unicorn runs (the per-instruction rule the sweep applies with a per-code cache). */
export function sseWriteSiteOf(ins: Instruction): SseWriteSite | undefined {
  return sseSite(ins, sseWriteOf(ins));
}

function sseSite(ins: Instruction, w: SseWrite): SseWriteSite | undefined {
  if (w === SseWrite.None) return undefined;
  const reg = w === SseWrite.Op0 ? ins.op0Register - Register.XMM0 : 0;
  const idiom = LEGACY_ZEROING_IDIOMS.has(ins.mnemonic) && ins.op1Kind === OpKind.Register && ins.op1Register === ins.op0Register;
  return { addr: ins.ip, reg, idiom };
}

/** Which XMM register a legacy instruction of this code writes: its first operand, XMM0 (PCMPxSTRM), or none. */
enum SseWrite { None, Op0, Xmm0 }
let infoFactory: InstructionInfoFactory | undefined;
function sseWriteOf(ins: Instruction): SseWrite {
  if (ins.encoding !== EncodingKind.Legacy) return SseWrite.None;
  infoFactory ??= new InstructionInfoFactory();
  const info = infoFactory.info(ins);
  const written = info.usedRegisters().filter((u) => {
    const a = u.access;
    return RegisterExt.isXMM(u.register) && (a === OpAccess.Write || a === OpAccess.CondWrite || a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite);
  }).map((u) => u.register as Register);
  if (!written.length) return SseWrite.None;
  if (ins.opCount > 0 && ins.op0Kind === OpKind.Register && written.includes(ins.op0Register)) return SseWrite.Op0;
  return written.includes(Register.XMM0) ? SseWrite.Xmm0 : SseWrite.None;
}

/**
 * Linear sweep of an executable region, as objdump does: compiler output keeps no data in .text,
 * so instruction boundaries are found from the start. Anything the sweep misses still traps later
 * through unicorn's invalid-instruction hook; the silently mis-executed ones are what the sweep
 * is for.
 */
export function sweepOwned(bytes: Uint8Array, base: bigint): SweepResult {
  const d = new Decoder(64, bytes, DecoderOptions.None);
  d.ip = base;
  const owned: bigint[] = [];
  const invalidAt: bigint[] = [];
  const x87: X87Site[] = [];
  const sseWrites: SseWriteSite[] = [];
  // By code and whether the first operand is a register (xmm/m128 destinations: a store writes no XMM).
  const sseByCode = new Map<number, SseWrite>();
  const ins = new Instruction();
  // Each property read of a decoded instruction is a call into WebAssembly, and this sweep runs
  // over every executable mapping at start-up: ownership is settled once per code (encoding and
  // mnemonic are the code's), except for codes with an MMX register operand in some form (CVTPI2PS
  // xmm, mm/m64 is owned with MM1, not with memory), which are decided per instruction; only
  // instructions that start with an x87 escape byte are looked at for their x87 role.
  const byCode = new Map<Code, CodeVerdict>();
  while (d.canDecode) {
    const at = d.position;
    d.decodeOut(ins);
    const code = ins.code;
    if (code === Code.INVALID) { invalidAt.push(ins.ip); continue; }
    let verdict = byCode.get(code);
    if (verdict === undefined) {
      verdict = codeOwnership(ins) === Ownership.Model ? CodeVerdict.Model : codeMayHaveMm(code) ? CodeVerdict.PerInstruction : CodeVerdict.Unicorn;
      byCode.set(code, verdict);
    }
    if (verdict === CodeVerdict.Model || (verdict === CodeVerdict.PerInstruction && ownershipOf(ins) === Ownership.Model)) { owned.push(ins.ip); continue; }
    if (verdict === CodeVerdict.Unicorn) {
      const key = code * 2 + (ins.opCount > 0 && ins.op0Kind === OpKind.Register ? 1 : 0);
      let w = sseByCode.get(key);
      if (w === undefined) { w = sseWriteOf(ins); sseByCode.set(key, w); }
      const site = sseSite(ins, w);
      if (site) { sseWrites.push(site); continue; }
    }
    if (!mayBeX87Escape(bytes, at)) continue;
    const site = x87SiteOf(ins, bytes, at);
    if (!site) continue;
    // A waiting form of an owned instruction: unicorn runs its FWAIT, the model the rest.
    if (site.role === X87Role.Env) owned.push(site.addr);
    else if (site.role === X87Role.NonControl || site.role === X87Role.Init) x87.push(site);
  }
  // iced-x86 objects live in WebAssembly memory: free them explicitly.
  ins.free();
  d.free();
  return { owned, invalidAt, x87, sseWrites };
}

/**
 * Everything sweepOwned's result depends on besides its input (bytes and base): this module's code,
 * the mnemonic sets it consults (owned legacy, legacy SSE floating point and crypto, MMX conversions, modelled
 * x87, x87 control and environment) and the decoder's version. A cached sweep result
 * (sweep-cache.ts) stands only under the same identity, so a change of any rule makes old entries
 * stale, never wrong.
 */
export function sweepRulesIdentity(): string {
  const mnemonics = Object.values(Mnemonic).filter((v): v is Mnemonic => typeof v === 'number');
  const names = (ms: Iterable<Mnemonic>): string => [...ms].map((m) => Mnemonic[m]).sort().join(',');
  const icedPackage = join(dirname(createRequire(import.meta.url).resolve('iced-x86')), 'package.json');
  return JSON.stringify({
    code: readFileSync(fileURLToPath(import.meta.url), 'utf8'),
    iced: (JSON.parse(readFileSync(icedPackage, 'utf8')) as { version: string }).version,
    ownedLegacy: names(OWNED_LEGACY), legacyFp: names(LEGACY_FP_MNEMONICS), legacyCrypto: names(LEGACY_CRYPTO_MNEMONICS), mmxFp: names(MMX_FP_CONVERSIONS),
    x87: names(mnemonics.filter(isModelledX87)), x87Control: names(X87_CONTROL), x87Env: names(X87_ENV),
  });
}

/**
 * Whether the instruction at `bytes[at]` may be an x87 escape instruction: after an optional FWAIT
 * and prefixes, a byte D8H-DFH. A quick test before x87SiteOf, never false where x87SiteOf finds a
 * site (it looks at the same bytes, stopping at the instruction's end).
 */
function mayBeX87Escape(bytes: Uint8Array, at: number): boolean {
  let k = at;
  if (bytes[k] === FWAIT_BYTE) k++;
  while (k < bytes.length && isPrefix(bytes[k]!)) k++;
  const op = bytes[k];
  return op !== undefined && op >= ESC_FIRST && op <= ESC_LAST;
}
