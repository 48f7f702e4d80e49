/**
 * One guest address space on one unicorn engine, and the trap-and-emulate loop for the
 * instructions the model owns (emulator/ownership.ts): unicorn runs everything else.
 *
 * Division of state: unicorn holds the GPRs, RIP, RFLAGS, FS/GS bases and the x87/SSE registers
 * (XMM low halves, MXCSR, x87 stack). The model (an XsaveContext per thread) holds everything
 * above bit 127, the opmask registers, PKRU, the tiles and XINUSE. Around each emulated
 * instruction the x87/SSE part is copied from unicorn into the register file and back.
 *
 * Owned instructions are found by a linear sweep of executable mappings and trapped by address
 * (unicorn silently mis-executes some VEX forms, so waiting for #UD is not enough) through the native
 * trap gate (unicorn.ts hookTrapGate), which also moves the registers and the save area a trap needs
 * in and out of unicorn, so that the JS side makes no call into unicorn on the common path; the
 * invalid-instruction hook catches what the sweep missed.
 */
import { Code, Decoder, DecoderOptions, EncodingKind, Formatter, FormatterSyntax, Instruction, MemorySize, Mnemonic, OpKind, Register, RegisterExt } from './iced.js';
import { effectiveAddress, emulateVector, isEmulatedVector, vecIndex, type ExecEnv } from './avx.js';
import { SimdFpFault } from './vector/mxcsr.js';
import { legacyFastPath } from './vector/float-legacy.js';
import { MMX_FP_CONVERSIONS } from './vector/float-mmx.js';
import { ApproximationUnknown } from './vector/float-kernel.js';
import type { CpuModel } from './cpu-model.js';
import { XSAVE_HEADER_OFFSET } from './cpu-model.js';
import { missingFeature, xcr0Needed } from './machine-features.js';
import { executeAmx, isAmx, type AmxEnv } from './amx.js';
import { misalignedAccess, type AlignmentEnv, type AlignmentRules } from './alignment-check.js';
import { SYSTEM_INSNS, StandaloneSources, emulateSystemInsn, type SystemInsnEnv, type SystemSources, type VendorRules } from './general-insns.js';
import { Ownership, X87Role, mmxSiteOf, ownershipOf, sweepOwned, x87SiteOf, type SseWriteSite, type X87Site } from './ownership.js';
import { Quirk } from './quirks.js';
import { CodeCache } from './sweep-cache.js';
import { X87Fault, enterMmxState, executeX87, isModelledX87, setsX87Pointers, type X87Io } from './x87/fpu.js';
import { LEGACY } from './register-file.js';
import {
  GATE_CTL_BYTES, GATE_MAX_WRITES, GateWord, HookType, MemType, ObserveKind, Prot, SSE_EVENT_SHIFT, Unicorn, UnicornError, X86Reg, X87_EVENT_IP, X87_EVENT_MEM, X87_EVENT_MMX, X87_EVENT_MMX_SHIFT, enableSse,
  type GateDescriptor, type HookHandle, type RegBlock, type TrapGate,
} from './unicorn.js';
import { VectorFile } from './vector-file.js';
import type { FaultInsn } from './profile-json.js';
import {
  AreaAccess, CpuFault, Vector, XsaveContext, vectorOf, fxrstor, fxsave, requiredAreaSize, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv,
} from './xsave.js';
import { XsOp, nativeXsave, xsaveTable } from './xsave-native.js';
import { nativeVector, vectorAcceptTable, vectorTable } from './vector-native.js';
import { XFeature, bit } from './xfeatures.js';
import { X87_ENV16_BYTES, X87_ENV_BYTES, X87_SAVE16_BYTES, X87_SAVE_BYTES, afterFnsave, afterFnstenv, fldenv, fnsave, fnstenv, frstor, fswWithSummary, xinuseAfterFninit } from './x87-env.js';

/**
 * The segment selectors a user program runs with, for FCS and FDS: the OS sets them (Linux
 * x86-64: CS 33H, SS 2BH, DS/ES/FS/GS null, arch/x86/kernel/process_64.c start_thread).
 */
export interface SegmentSelectors { cs: number; ss: number; ds: number; es: number; fs: number; gs: number }
export const NULL_SELECTORS: SegmentSelectors = { cs: 0, ss: 0, ds: 0, es: 0, fs: 0, gs: 0 };

/** Longest x86 instruction (SDM Vol. 2A 2.3.11). */
const MAX_INSN_BYTES = 15;
/** Guest page size (x86-64 4 KiB pages, SDM Vol. 3A 4.5). */
export const GUEST_PAGE = 0x1000n;
/** CR4.PKE, bit 22 (SDM Vol. 3A 2.5): not in unicorn.ts's CR4 table. */
const CR4_PKE = 1n << 22n;
/** Linear-address width of a canonical address with 4-level paging (SDM Vol. 1 3.3.7.1); the guest runs without LA57 (assumed: 5-level paging is not modelled). */
const CANONICAL_BITS_4LEVEL = 48n;

/**
 * CR4 bits an OS chooses that change what user-mode instructions do. The kernel model decides
 * them (src/linux/kernel.ts from kernel-model/kernel-view.ts); emulator/ only obeys them.
 */
export interface GuestCr4 {
  /** CR4.PKE (bit 22): RDPKRU/WRPKRU run and CPUID.(07H,0):ECX.OSPKE reads 1. Needs CPUID PKU (SDM Vol. 3A 2.5). */
  pke: boolean;
  /** CR4.FSGSBASE (bit 16): RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE run at any CPL (SDM Vol. 3A 2.5). Needs CPUID FSGSBASE. */
  fsgsbase: boolean;
}

/** Without a kernel's choice: an OS that sets every CR4 bit the CPU enumerates. */
export function defaultGuestCr4(cpu: CpuModel): GuestCr4 {
  return { pke: cpu.features.pku, fsgsbase: cpu.features.fsgsbase };
}
/** XCOMP_BV bit 63 in the high dword of the header (SDM Vol. 1 13.4.2). */
const XCOMP_BV_FORMAT_HI = 0x80000000;
/** x87 tag word value for an empty register (SDM Vol. 1 8.1.7). */
const X87_TAG_EMPTY = 3;
/** RFLAGS status flag positions (SDM Vol. 1 3.4.3.1). */
const FLAG = { CF: 0, PF: 2, AF: 4, ZF: 6, SF: 7, OF: 11 } as const;
const MASK64 = (1n << 64n) - 1n;
/** FSW.ES, the error summary (SDM Vol. 1 8.1.3). */
const FSW_ES = 0x80;

/** Linux signal numbers the machine can raise (include/uapi/asm-generic/signal.h). */
export enum GuestSignal {
  SIGILL = 4,
  SIGTRAP = 5,
  SIGBUS = 7,
  SIGFPE = 8,
  SIGSEGV = 11,
}

/** si_code values (include/uapi/asm-generic/siginfo.h). */
export enum SiCode {
  SI_KERNEL = 0x80,
  ILL_ILLOPC = 1,
  ILL_ILLOPN = 2,
  FPE_INTDIV = 1,
  SEGV_MAPERR = 1,
  SEGV_ACCERR = 2,
  BUS_ADRALN = 1,
  BUS_ADRERR = 2,
  TRAP_BRKPT = 1,
  /** A single-step trap (include/uapi/asm-generic/siginfo.h TRAP_TRACE). */
  TRAP_TRACE = 2,
}

/** A fault the guest takes: Linux turns it into this signal. */
export interface GuestFault {
  signal: GuestSignal;
  code: SiCode;
  /** si_addr. */
  addr: bigint;
  /** Exception vector number (uc_mcontext.trapno). */
  trapno: number;
  /** Why, for the one-line report. */
  reason: string;
  /** SEGV_PKUERR: the protection key of the page (siginfo si_pkey). */
  pkey?: number;
  /** A page fault's access (the W/R and I/D bits of its error code, SDM Vol. 3A 4.7); the OS adds what its page tables say (P). */
  access?: PfAccess;
}

/** What a faulting access did (SDM Vol. 3A 4.7, page-fault error code bits 1 and 4). */
export enum PfAccess { Read, Write, Fetch }

/** A 64-bit address whose bits 63:47 are not all equal: its access is #GP, not #PF (SDM Vol. 3A 3.3.7.1). */
export function nonCanonical(addr: bigint): boolean {
  const w = Number(CANONICAL_BITS_4LEVEL);
  return BigInt.asUintN(64, BigInt.asIntN(w, addr)) !== BigInt.asUintN(64, addr);
}

/** The fault of an access to a non-canonical address: #GP(0), which Linux reports as SIGSEGV SI_KERNEL with si_addr 0. */
function canonicalGp(addr: bigint): GuestFault {
  return { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: IntVector.GP, reason: `access to the non-canonical address 0x${addr.toString(16)} (#GP)` };
}

/** RFLAGS.AC (SDM Vol. 1 3.4.3.3): alignment checking at CPL 3 when CR0.AM is set. */
const RFLAGS_AC = 1n << 18n;
/**
 * The alignment #AC checks for an operand wider than 8 bytes (SDM Vol. 3A 6.15 leaves it to the
 * implementation): 16 measured on AMD Zen 5; 8 on Intel, named assumption `ac-wide-operands-intel`
 * (the SDM's bound, no Intel CPU measured).
 */
const AC_WIDE_ALIGNMENT_AMD = 16, AC_WIDE_ALIGNMENT_INTEL = 8;

/** Why a run of the engine ended. */
export enum StopKind {
  /** The instruction count ran out (or nothing else stopped it). */
  Quantum,
  /** A syscall handler asked for a reschedule (exit, block, signal). */
  Syscall,
  Fault,
  /** The CPU has the instruction but the model does not emulate it. */
  Unemulated,
  /** A debugger's breakpoint (setBreakpoints): RIP is at it, the instruction has not run. */
  Breakpoint,
}

export interface Stop {
  kind: StopKind;
  fault?: GuestFault;
  message?: string;
}

/** RFLAGS.TF (SDM Vol. 1 3.4.3.3): the single-step trap flag. */
const RFLAGS_TF_BIT = 1n << 8n;

/** Interrupt vectors unicorn reports through UC_HOOK_INTR (SDM Vol. 3A Table 6-1). */
enum IntVector { DE = 0, DB = 1, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, GP = 13, PF = 14, MF = 16, AC = 17, XM = 19 }

/** Thrown by memory helpers when the guest touches what it may not. */
export class GuestMemoryFault extends Error {
  constructor(readonly addr: bigint, readonly mapped: boolean, readonly write = false) {
    super(`guest memory fault at 0x${addr.toString(16)}`);
  }
}

/**
 * A mapping as the guest sees it (the model's VMA): page-granular bounds, Prot bits, the protection
 * key of its pages (SDM Vol. 3A 4.6.2: bits 62:59 of the PTE; Linux keeps it in vm_flags), and the
 * OS's own flags, which the machine only carries along (splits, copies).
 */
export interface Region { start: bigint; end: bigint; prot: number; pkey?: number; vmFlags?: number; file?: RegionFile }

/**
 * The file behind a mapping, carried along as the OS's data: its name, `base` (the file offset of
 * address a is base + a, so splits need no change), its bytes, and `beyondEof`: the pages past the last page
 * of the file, where every access is a bus error (the machine denies them all, and reports SIGBUS).
 */
export interface RegionFile { path: string; base: bigint; data: Uint8Array; beyondEof?: boolean }

/** si_code of a fault on a page whose protection key denies the access (include/uapi/asm-generic/siginfo.h SEGV_PKUERR). */
export const SEGV_PKUERR = 4;
/** PKRU bits of one key (SDM Vol. 3A 4.6.2): AD (access disable) is bit 2i, WD (write disable) bit 2i+1. */
const PKRU_AD = 1;
const PKRU_WD = 2;
/**
 * Assumption `lazy-backing`: unicorn backs a mapping with host memory when it is mapped (uc_mem_map
 * of 9 GiB fails here with UC_ERR_NOMEM, and a partial unmap copies the whole block), so mappings
 * above EAGER_MAX_BYTES are backed LAZY_CHUNK_BYTES (aligned) at a time on the first touch (the
 * guest's, through UC_HOOK_MEM_UNMAPPED, or the kernel's). Invisible to the guest: untouched
 * anonymous memory reads as zero either way. The chunk is large because uc_mem_map's cost grows
 * with the number of blocks, and cheap because the host commits a block's pages only when written
 * (measured: 64 blocks of 16 MiB mapped, RSS up 4 MB).
 */
const EAGER_MAX_BYTES = 64n << 20n;
const LAZY_CHUNK_BYTES = 16n << 20n;
/** How many unicorn blocks a stack growing page by page may become before it is remapped as one. */
const GROWN_BLOCKS_MAX = 16;

/** Registers copied when a whole CPU moves to another engine (fork). */
const CPU_STATE_REGS: readonly X86Reg[] = [
  X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP,
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
  X86Reg.RIP, X86Reg.RFLAGS, X86Reg.FS_BASE, X86Reg.GS_BASE, X86Reg.MXCSR, X86Reg.FPCW, X86Reg.FPSW,
  X86Reg.FP0, X86Reg.FP1, X86Reg.FP2, X86Reg.FP3, X86Reg.FP4, X86Reg.FP5, X86Reg.FP6, X86Reg.FP7, X86Reg.FPTAG,
  X86Reg.FIP, X86Reg.FDP, X86Reg.FOP,
  ...Array.from({ length: 16 }, (_, i) => (X86Reg.XMM0 + i) as X86Reg),
];

/**
 * The x87/SSE synchronisation moves raw bytes: one uc_reg_read_batch / uc_reg_write_batch puts each
 * register straight at its place in an FXSAVE64 image (the register file's `legacy` layout, LEGACY
 * offsets), with the full tag word and FCS/FDS, which that layout has no room for, after it. SSE
 * registers come first (a vector instruction syncs only them); FSW precedes the TOP-relative ST
 * registers because unicorn writes in list order.
 */
const IMG_FTAG = 512;
const IMG_FCS = 516;
const IMG_FDS = 518;
/** A trap's RIP and the GPRs share the block, so that one call reads (or writes) all a trap needs. */
const IMG_RIP = 520;
const IMG_GPR = 528;
const IMG_SIZE = IMG_GPR + 16 * 8;
/** RAX..R15 in encoding order (iced-x86's and the ModRM's). */
const GPR_ORDER: readonly X86Reg[] = [
  X86Reg.RAX, X86Reg.RCX, X86Reg.RDX, X86Reg.RBX, X86Reg.RSP, X86Reg.RBP, X86Reg.RSI, X86Reg.RDI,
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
];
export const SYNC_REGS: readonly X86Reg[] = [
  ...Array.from({ length: 16 }, (_, i) => (X86Reg.XMM0 + i) as X86Reg), X86Reg.MXCSR,
  X86Reg.FPCW, X86Reg.FPSW, ...Array.from({ length: 8 }, (_, i) => (X86Reg.ST0 + i) as X86Reg),
  X86Reg.FPTAG, X86Reg.FIP, X86Reg.FDP, X86Reg.FOP, X86Reg.FCS, X86Reg.FDS,
  X86Reg.RIP, ...GPR_ORDER,
];
const SYNC_OFFSETS: readonly number[] = [
  ...Array.from({ length: 16 }, (_, i) => LEGACY.XMM0 + i * LEGACY.XMM_BYTES), LEGACY.MXCSR,
  LEGACY.FCW, LEGACY.FSW, ...Array.from({ length: 8 }, (_, i) => LEGACY.ST0 + i * LEGACY.ST_STRIDE),
  IMG_FTAG, LEGACY.FIP, LEGACY.FDP, LEGACY.FOP, IMG_FCS, IMG_FDS,
  IMG_RIP, ...GPR_ORDER.map((_, k) => IMG_GPR + k * 8),
];
/** XMM0-15 and MXCSR: the first 17 registers of SYNC_REGS; then x87 up to 33; RIP at 33; GPRs from 34. */
const SYNC_SSE_COUNT = 17;
export const SYNC_ALL_COUNT = 33;
const SYNC_RIP_INDEX = 33;
const SYNC_GPR_INDEX = 34;
const SYNC_TRAP_COUNT = SYNC_REGS.length;

/** Every GPR (bits 0-15 of a GPR mask). */
const ALL_GPRS = 0xffff;
/** GPR mask bits of RAX, RCX, RDX (encoding order 0, 1, 2). */
const GPR_BIT = { RAX: 1 << 0, RCX: 1 << 1, RDX: 1 << 2 } as const;

/**
 * The general-purpose registers an owned instruction reads (bit k: encoding order), for the gate to
 * read before the callback: register operands, the memory operand's base and index, and the
 * implicit ones (EDX:EAX of the XSAVE family, ECX of XGETBV, ...). One missed here costs a read in JS.
 */
function gprsRead(ins: Instruction): number {
  let mask = 0;
  const add = (r: Register): void => {
    if (r === Register.None) return;
    const k = ICED_GPR64.indexOf(RegisterExt.fullRegister(r));
    if (k >= 0) mask |= 1 << k;
  };
  for (let i = 0; i < ins.opCount; i++) {
    const kind = ins.opKind(i);
    if (kind === OpKind.Register) add(ins.opRegister(i));
    else if (kind === OpKind.Memory) { add(ins.memoryBase); add(ins.memoryIndex); }
  }
  const m = ins.mnemonic;
  if (xsaveOpOf(m) !== XsaveOp.None) mask |= GPR_BIT.RAX | GPR_BIT.RDX;
  else if (m === Mnemonic.Xgetbv) mask |= GPR_BIT.RCX;
  else if (m === Mnemonic.Xsetbv || m === Mnemonic.Rdpkru || m === Mnemonic.Wrpkru) mask |= GPR_BIT.RAX | GPR_BIT.RCX | GPR_BIT.RDX;
  return mask;
}

/** The instructions that start in `bytes`, decoded from the first (a block's count: instructionsIn); at least one. */
export function countInstructions(bytes: Uint8Array): number {
  const d = new Decoder(64, bytes, DecoderOptions.None);
  const ins = new Instruction();
  let n = 0;
  while (d.canDecode) { d.decodeOut(ins); n++; }
  ins.free();
  d.free();
  return Math.max(n, 1);
}

/** iced-x86 64-bit GPRs in encoding order, and unicorn's ids for them. */
const ICED_GPR64: readonly Register[] = [
  Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RSP, Register.RBP, Register.RSI, Register.RDI,
  Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15,
];
const UC_GPR64: readonly X86Reg[] = [
  X86Reg.RAX, X86Reg.RCX, X86Reg.RDX, X86Reg.RBX, X86Reg.RSP, X86Reg.RBP, X86Reg.RSI, X86Reg.RDI,
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
];

interface GprSlot { uc: X86Reg; k: number; bytes: number; shift: bigint }
const gprSlots = new Map<Register, GprSlot>();
function gprSlot(r: Register): GprSlot {
  let s = gprSlots.get(r);
  if (!s) {
    const full = RegisterExt.fullRegister(r);
    const k = ICED_GPR64.indexOf(full);
    if (k < 0) throw new CpuFault(Vector.UD, `register ${Register[r]} is not a general-purpose register`);
    const high8 = r === Register.AH || r === Register.CH || r === Register.DH || r === Register.BH;
    s = { uc: UC_GPR64[k]!, k, bytes: RegisterExt.size(r), shift: high8 ? 8n : 0n };
    gprSlots.set(r, s);
  }
  return s;
}

/** A VEX instruction whose register operands are all general-purpose (BMI1, BMI2: ANDN, BLSMSK, SHLX, ...). */
function isVexGprOnly(ins: Instruction): boolean {
  if (ins.encoding !== EncodingKind.VEX) return false;
  for (let k = 0; k < ins.opCount; k++) {
    if (ins.opKind(k) !== OpKind.Register) continue;
    const r = ins.opRegister(k);
    if (vecIndex(r) >= 0 || (r >= Register.K0 && r <= Register.K7)) return false;
  }
  return ins.opCount > 0;
}

/** Which part of unicorn's x87/SSE state an emulated instruction can change. */
enum LegacyWrite { None, Sse, X87AndSse }
/** Saves, XGETBV, CPUID and PKRU leave x87/SSE alone; restores load them; vector instructions write XMM. */
const LEGACY_UNCHANGED = new Set<Mnemonic>([
  Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64,
  Mnemonic.Xsaves, Mnemonic.Xsaves64, Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Xgetbv, Mnemonic.Xsetbv,
  Mnemonic.Cpuid, Mnemonic.Rdpkru, Mnemonic.Wrpkru,
  Mnemonic.Rdfsbase, Mnemonic.Rdgsbase, Mnemonic.Wrfsbase, Mnemonic.Wrgsbase, Mnemonic.Movbe, Mnemonic.Popcnt,
]);
const LEGACY_RESTORES = new Set<Mnemonic>([
  Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64,
  // The x87 environment instructions change FCW (FNSTENV), initialize (FNSAVE) or load (FLDENV, FRSTOR).
  Mnemonic.Fnstenv, Mnemonic.Fnsave, Mnemonic.Fldenv, Mnemonic.Frstor,
]);
/** The x87 environment instructions the model owns (emulator/x87-env.ts). */
enum X87EnvOp { None, Fnstenv, Fnsave, Fldenv, Frstor }
function x87EnvOpOf(m: Mnemonic): X87EnvOp {
  switch (m) {
    case Mnemonic.Fnstenv: return X87EnvOp.Fnstenv;
    case Mnemonic.Fnsave: return X87EnvOp.Fnsave;
    case Mnemonic.Fldenv: return X87EnvOp.Fldenv;
    case Mnemonic.Frstor: return X87EnvOp.Frstor;
    default: return X87EnvOp.None;
  }
}
function writesLegacyState(ins: Instruction): LegacyWrite {
  if (LEGACY_UNCHANGED.has(ins.mnemonic)) return LegacyWrite.None;
  if (LEGACY_RESTORES.has(ins.mnemonic) || isModelledX87(ins.mnemonic) || MMX_FP_CONVERSIONS.has(ins.mnemonic)) return LegacyWrite.X87AndSse;
  return LegacyWrite.Sse;
}

type AreaKind = Parameters<typeof requiredAreaSize>[1];
/** Index of an area kind in AREA_KINDS (the key of the size cache). */
enum AreaKindIndex { Xsave, Xsaveopt, XrstorStandard, Xsavec, Xsaves, XrstorCompacted, Fxsave }
const AREA_KINDS: readonly AreaKind[] = ['XSAVE', 'XSAVEOPT', 'XRSTOR-standard', 'XSAVEC', 'XSAVES', 'XRSTOR-compacted', 'FXSAVE'];
/**
 * The XSAVE family (owned instructions outside avx.ts that the machine emulates itself) as the
 * trap path switches on it, worked out once per decode: iced-x86's Mnemonic
 * object has some 3,800 properties and V8 keeps it in dictionary mode, so every `Mnemonic.X` read
 * is a slow lookup (measured: 2% of all time in a loop of pairs, from the cases of one switch).
 */
enum XsaveOp { None, Fxsave, Fxrstor, Xsave, Xsaveopt, Xsavec, Xsaves, Xrstor, Xrstors }
function xsaveOpOf(m: Mnemonic): XsaveOp {
  switch (m) {
    case Mnemonic.Fxsave: case Mnemonic.Fxsave64: return XsaveOp.Fxsave;
    case Mnemonic.Fxrstor: case Mnemonic.Fxrstor64: return XsaveOp.Fxrstor;
    case Mnemonic.Xsave: case Mnemonic.Xsave64: return XsaveOp.Xsave;
    case Mnemonic.Xsaveopt: case Mnemonic.Xsaveopt64: return XsaveOp.Xsaveopt;
    case Mnemonic.Xsavec: case Mnemonic.Xsavec64: return XsaveOp.Xsavec;
    case Mnemonic.Xsaves: case Mnemonic.Xsaves64: return XsaveOp.Xsaves;
    case Mnemonic.Xrstor: case Mnemonic.Xrstor64: return XsaveOp.Xrstor;
    case Mnemonic.Xrstors: case Mnemonic.Xrstors64: return XsaveOp.Xrstors;
    default: return XsaveOp.None;
  }
}
/** Mnemonics the trap path compares with, read once (see XsaveOp). */
const M_CPUID = Mnemonic.Cpuid, M_XGETBV = Mnemonic.Xgetbv, M_XSETBV = Mnemonic.Xsetbv, M_RDPKRU = Mnemonic.Rdpkru, M_WRPKRU = Mnemonic.Wrpkru;
/** The FSGSBASE instructions, by mnemonic: their name in a profile's measured faults, the base register, and whether they write it. */
const FSGSBASE_INSNS = new Map<Mnemonic, { name: FaultInsn; base: X86Reg; write: boolean }>([
  [Mnemonic.Rdfsbase, { name: 'RDFSBASE', base: X86Reg.FS_BASE, write: false }],
  [Mnemonic.Rdgsbase, { name: 'RDGSBASE', base: X86Reg.GS_BASE, write: false }],
  [Mnemonic.Wrfsbase, { name: 'WRFSBASE', base: X86Reg.FS_BASE, write: true }],
  [Mnemonic.Wrgsbase, { name: 'WRGSBASE', base: X86Reg.GS_BASE, write: true }],
]);
/** The area kind of a save. */
function saveAreaKind(op: XsaveOp): AreaKindIndex {
  switch (op) {
    case XsaveOp.Xsaveopt: return AreaKindIndex.Xsaveopt;
    case XsaveOp.Xsavec: return AreaKindIndex.Xsavec;
    case XsaveOp.Xsaves: return AreaKindIndex.Xsaves;
    default: return AreaKindIndex.Xsave;
  }
}
const REX_W_FORMS = new Set<Mnemonic>([
  Mnemonic.Xsave64, Mnemonic.Xsaveopt64, Mnemonic.Xsavec64, Mnemonic.Xsaves64, Mnemonic.Xrstor64, Mnemonic.Xrstors64, Mnemonic.Fxsave64, Mnemonic.Fxrstor64,
]);

/** What a trap needs to know about an owned instruction, worked out once per address. */
interface Decoded {
  ins: Instruction;
  /** ins.ip, ins.nextIP, ins.mnemonic, ins.hasLockPrefix, read once (iced-x86 getters cross into WebAssembly). */
  ip: bigint;
  nextIP: bigint;
  mnemonic: Mnemonic;
  lock: boolean;
  owned: boolean;
  /** A VEX form with only general-purpose operands (BMI1/BMI2: the model's, vector/bmi.ts; any other goes back to unicorn). */
  vexGprOnly: boolean;
  /** The CPUID feature the profile's CPU lacks for it, or undefined (the CPU does not change). */
  missing: string | undefined;
  needXcr0: number;
  xsaveFamily: boolean;
  /** x87 too in the synchronisation (the XSAVE family and the x87 environment instructions read and write it). */
  syncX87: boolean;
  x87Env: X87EnvOp;
  /** An x87 instruction the model computes (emulator/x87/fpu.ts), with its FOP and memory operand. */
  x87: X87Site | undefined;
  /** An MMX instruction: the model checks for #MF and records the MMX transition, unicorn runs it. */
  mmx: X87Site | undefined;
  /** Whether the instruction can read or write XMM0-15 or MXCSR (else no SSE synchronisation). */
  touchesSse: boolean;
  writes: LegacyWrite;
  /** The memory operand, read out of iced-x86 once (the XSAVE family only). */
  mem: MemOperand | undefined;
  /** What the trap gate does here before the callback (undefined: not described yet). */
  gate: GateDescriptor | undefined;
  /** The XSAVE family: which instruction, its 64-bit (REX.W) form, the area kind of a save. */
  xop: XsaveOp;
  rexW: boolean;
  areaKind: AreaKindIndex;
}

interface MemOperand { ipRel: boolean; ipRelAddr: bigint; disp: bigint; base: Register; index: Register; scale: bigint; seg: Register }

/**
 * Whether an owned instruction reads or writes XMM0-15, MXCSR or XINUSE (then the SSE part is
 * synchronised around it): false only for VEX/EVEX forms without vector register operands (opmask
 * instructions, AMX), XSETBV, CPUID and the PKRU instructions.
 */
function touchesSse(ins: Instruction): boolean {
  if (xsaveOpOf(ins.mnemonic) !== XsaveOp.None) return true;
  switch (ins.mnemonic) {
    // XGETBV(ECX=1) reads XINUSE, which an SSE write by unicorn since the last trap changes.
    case Mnemonic.Vzeroupper: case Mnemonic.Vzeroall: case Mnemonic.Ldmxcsr: case Mnemonic.Stmxcsr: case Mnemonic.Vldmxcsr: case Mnemonic.Vstmxcsr: case Mnemonic.Xgetbv: return true;
    case Mnemonic.Xsetbv: case Mnemonic.Cpuid: case Mnemonic.Rdpkru: case Mnemonic.Wrpkru: case Mnemonic.Movbe: case Mnemonic.Popcnt: return false;
  }
  if (ins.encoding !== EncodingKind.VEX && ins.encoding !== EncodingKind.EVEX && ins.encoding !== EncodingKind.XOP) return true;
  for (let k = 0; k < ins.opCount; k++) if (ins.opKind(k) === OpKind.Register && vecIndex(ins.opRegister(k)) >= 0) return true;
  // MXCSR-dependent arithmetic has vector operands; an instruction with none (k registers, BMI, AMX) leaves SSE alone.
  return false;
}

/** CHANGED bits of the gate's compare ranges: XMMk is bit k; then MXCSR; then the x87 registers. */
const CHANGED_MXCSR_BIT = 16;
const CHANGED_X87_BIT = 17;
/** The sync block's x87 bytes the gate compares: FCW+FSW, FOP..FDP, ST0-7, full tag word + FCS + FDS (not FTW, which absorb fills). */
const X87_COMPARE_RANGES: readonly [number, number][] = [
  [LEGACY.FCW, LEGACY.FTW - LEGACY.FCW], [LEGACY.FOP, LEGACY.MXCSR - LEGACY.FOP], [LEGACY.ST0, LEGACY.XMM0 - LEGACY.ST0], [IMG_FTAG, IMG_RIP - IMG_FTAG],
];

/** The XSAVE family the gate can do natively (xsave-native.ts XsOp), by the machine's XsaveOp. */
const NATIVE_XSAVE_OPS: ReadonlyMap<XsaveOp, XsOp> = new Map([
  [XsaveOp.Xsave, XsOp.XSAVE], [XsaveOp.Xsaveopt, XsOp.XSAVEOPT], [XsaveOp.Xsavec, XsOp.XSAVEC],
  [XsaveOp.Xsaves, XsOp.XSAVES], [XsaveOp.Xrstor, XsOp.XRSTOR], [XsaveOp.Xrstors, XsOp.XRSTORS],
]);

/** Bytes of native area buffer behind the gate: more than any profile's largest save area (AMX: 11008). */
const GATE_AREA_BYTES = 65536;

/** Trace sink for `--trace`. */
export type TraceFn = (line: string) => void;

export interface MachineHooks {
  /** A `syscall` instruction; unicorn 2.0.1 calls this with RIP still at it and advances RIP afterwards. Return true to end the run (reschedule). */
  onSyscall(): boolean;
  /** The TSC, TSC_AUX and random numbers the OS model gives (emulator/general-insns.ts); StandaloneSources without one. */
  systemSources?: SystemSources;
  /**
   * An access (the guest's or the kernel's) to an address no mapping covers: the OS may make it
   * valid (a stack growing down) and return true, and the access is made again.
   */
  pageFault?(addr: bigint): boolean;
}

let formatter: Formatter | undefined;
export function disassemble(ins: Instruction): string {
  formatter ??= new Formatter(FormatterSyntax.Gas);
  return formatter.format(ins);
}

/**
 * A guest address space: one unicorn engine, its mappings, the owned-instruction hooks and the
 * decode cache. `xs` is the extended state of the thread currently on the CPU; the scheduler
 * swaps it (kernel-model/context-switch.ts).
 */
export class Machine {
  readonly uc: Unicorn;
  /** The running thread's extended state; changed only by setXstate (the gate's native path is bound to it). */
  get xs(): XsaveContext { return this.xsCurrent; }
  private xsCurrent: XsaveContext;
  vec: VectorFile;
  /** Mappings as the guest sees them, sorted, page-granular. */
  private regions: Region[] = [];
  /** What unicorn has mapped (sorted, disjoint, adjacent ranges merged): all of a small mapping, the touched chunks of a big one. */
  private backed: { start: bigint; end: bigint }[] = [];
  /** The PKRU whose denials unicorn's page protections carry (0 when CR4.PKE is clear). */
  private pkruApplied = 0;
  /**
   * Owned instruction addresses. With the trap gate (its hooks cover ranges around them, unicorn.ts
   * hookTrapGate) the value is undefined; without it, each has its own hook.
   */
  private readonly ownedHooks = new Map<bigint, HookHandle | undefined>();
  /**
   * x87 instructions whose effect on the last-instruction pointers the machine records (non-control
   * ones and FNINIT, found by the sweep): observed by the gate without a JS call (trap-gate.c
   * observe_x87), or by a hook each without it. Their FOP and operand segment, by address.
   */
  private readonly observedHooks = new Map<bigint, HookHandle | undefined>();
  /** Observed legacy SSE writers (ownership.ts SseWriteSite), by address; `hook` without the gate. */
  private readonly sseWriters = new Map<bigint, { site: SseWriteSite; hook?: HookHandle }>();
  private readonly x87Sites = new Map<number, X87Site>();
  /** The selectors FCS and FDS take (the OS sets them; see SegmentSelectors). */
  userSelectors: SegmentSelectors = NULL_SELECTORS;
  private readonly gate: TrapGate | undefined;
  /** The gate's control block; `inGate` while a gate callback runs (then the gate does the unicorn calls). */
  private readonly ctl32: Int32Array;
  private readonly ctl64: BigUint64Array;
  private inGate = false;
  /**
   * Whether the sync block's SSE (x87) bytes equal the register file's, as they do after a trap in
   * the gate synchronised them: then a clear CHANGED bit means the register also equals the model's
   * and absorb can skip it. Cleared whenever anything else may have run (a new run, a syscall,
   * another thread, a synchronisation outside the gate).
   */
  private get mirrorSse(): boolean { return this.mirrorSseBit; }
  private set mirrorSse(v: boolean) { this.mirrorSseBit = v; this.ctl32[GateWord.XS_MIRROR] = v && this.mirrorX87Bit ? 1 : 0; }
  private get mirrorX87(): boolean { return this.mirrorX87Bit; }
  private set mirrorX87(v: boolean) { this.mirrorX87Bit = v; this.ctl32[GateWord.XS_MIRROR] = v && this.mirrorSseBit ? 1 : 0; }
  private mirrorSseBit = false;
  private mirrorX87Bit = false;
  /** Decodes by address (a number: user addresses are below 2^53); dropped when the code is unmapped. */
  private readonly decodeCache = new Map<number, Decoded>();
  private stop: Stop | undefined;
  /** Set by the interrupt hook: unicorn still holds that exception as in flight (Unicorn.endExceptionDelivery). */
  private exceptionDelivered = false;
  private memFault: { addr: bigint; type: MemType; pkey?: number; sigbus?: boolean } | undefined;
  /** `--trace`: every owned instruction goes through the model (the native XSAVE family is off while set). */
  get trace(): TraceFn | undefined { return this.traceFn; }
  set trace(t: TraceFn | undefined) { this.traceFn = t; this.bindXsaveNative(); }
  private traceFn: TraceFn | undefined;
  /** Trapped instructions emulated so far (for statistics; the gate's native XSAVE family counts apart, nativeXsaveCount). */
  emulatedCount = 0;
  private readonly env: ExecEnv;
  /** The x87/SSE image unicorn reads into and writes from (SYNC_REGS at SYNC_OFFSETS). */
  private readonly syncBlock: RegBlock;
  private syncImg32: Int32Array;
  /** 32-bit view of the current register file's `legacy` bytes (rebuilt when the thread changes). */
  private legacy32: Int32Array;
  private legacy32Of: Uint8Array;
  /**
   * Views of legacy32 made once per register file: XMM0-15, and FCW..FDP. A TypedArray.set from a
   * ready view copies 256 bytes in about 40 ns, a word loop in 150-250 ns (measured here).
   */
  private legacyXmmWords: Int32Array = new Int32Array(0);
  private legacyHeadWords: Int32Array = new Int32Array(0);
  /** RAX..R15 (in the sync block), read once per trap when first needed. */
  private readonly ripView: BigUint64Array;
  /** Bit k: GPR k (encoding order) in the sync block is current for this trap. */
  private gprValidMask = 0;
  private gpr64: BigUint64Array;
  private gprLo32: Uint32Array;
  /** Reused memory for save areas (no allocation per trap) and the XRSTOR header. */
  private areaBuf: Uint8Array = new Uint8Array(4096);
  private areaView = new DataView(this.areaBuf.buffer);
  private readonly areaViews = new Map<number, Uint8Array>();
  private readonly headerBuf = new Uint8Array(16);
  /** Guest address of the area the XSAVE-family instruction being emulated works on. */
  private areaEa = 0n;
  /** Bytes [areaPfFrom, areaPfTo) of areaBuf already hold the guest's area (read in one call). */
  private areaPfFrom = 0;
  private areaPfTo = 0;
  /** Ranges the instruction wrote, as [from, to) pairs, copied to guest memory once it is done. */
  /** Written ranges as [from, to) pairs: areaWrites[0 .. 2 * areaWriteCount), grown on demand. */
  private areaWrites = new Int32Array(64);
  private areaWriteCount = 0;
  /** areaBuf.subarray(from, to) by from * 2^20 + to, so that range copies allocate nothing. */
  private readonly areaRanges = new Map<number, Uint8Array>();
  /** The XSAVE family reports what it reads and writes: only those bytes cross guest memory. */
  /** The union [fetchLo, fetchHi) of the bytes the instruction fetched (what the gate's window should be). */
  private fetchLo = 0;
  private fetchHi = 0;
  /** The window [windowFrom, windowTo) of the area buffer that holds the guest's bytes for this instruction. */
  private windowFrom = 0;
  private windowTo = 0;
  private readonly areaAccess: AreaAccess = {
    fetch: (from, to) => {
      if (from < this.fetchLo) this.fetchLo = from;
      if (to > this.fetchHi) this.fetchHi = to;
      if (from >= this.areaPfFrom && to <= this.areaPfTo) return;
      this.uc.memReadInto(this.areaEa + BigInt(from), this.areaRange(from, to));
    },
    wrote: (from, to) => {
      const n = this.areaWriteCount;
      if (2 * n + 2 > this.areaWrites.length) { const g = new Int32Array(this.areaWrites.length * 2); g.set(this.areaWrites); this.areaWrites = g; }
      this.areaWrites[2 * n] = from;
      this.areaWrites[2 * n + 1] = to;
      this.areaWriteCount = n + 1;
    },
  };
  private readonly headerView = new DataView(this.headerBuf.buffer);
  /** requiredAreaSize by instruction kind and mask (a function of the CPU alone). */
  private readonly areaSizes = new Map<number, number>();
  /** Sweep results and block instruction counts kept across runs (sweep-cache.ts). */
  private readonly codeCache = new CodeCache();

  /** CR4 bits the OS chose (GuestCr4). */
  readonly cr4: GuestCr4;
  /** Where RDTSC, RDTSCP, RDPID, RDRAND and RDSEED take their values. */
  private readonly systemSources: SystemSources;
  private generalEnvCache: SystemInsnEnv | undefined;
  /** emulator/general-insns.ts VendorRules for the profile's vendor. */
  private get vendorRules(): VendorRules {
    return { bitScanZeroKeepsUpper: this.cpu.profile.vendor === 'AuthenticAMD' };
  }
  /** The vector engine's view plus RFLAGS and RSP, for emulator/general-insns.ts. */
  private get generalEnv(): SystemInsnEnv {
    return this.generalEnvCache ??= Object.assign(Object.create(this.env) as ExecEnv, {
      getRflags: (): bigint => this.uc.regRead(X86Reg.RFLAGS),
      setRflags: (v: bigint): void => this.uc.regWrite(X86Reg.RFLAGS, v),
    });
  }

  constructor(readonly cpu: CpuModel, xs: XsaveContext, private readonly hooks: MachineHooks, cr4: GuestCr4 = defaultGuestCr4(cpu)) {
    // MOV to CR4 #GP's on a bit the CPU does not enumerate (SDM Vol. 3A 2.5): no OS can set it.
    // (Unless the capture measured that the silicon has the instruction although CPUID hides it.)
    if (cr4.pke && !cpu.features.pku && !cpu.implementsDespiteCpuid('RDPKRU')) throw new Error(`CR4.PKE on ${cpu.id}, whose CPUID does not enumerate PKU`);
    if (cr4.fsgsbase && !cpu.features.fsgsbase && !cpu.implementsDespiteCpuid('RDFSBASE')) throw new Error(`CR4.FSGSBASE on ${cpu.id}, whose CPUID does not enumerate FSGSBASE`);
    this.cr4 = { ...cr4 };
    this.systemSources = hooks.systemSources ?? new StandaloneSources();
    this.uc = Unicorn.open();
    this.xsCurrent = xs;
    this.vec = new VectorFile(xs.regs);
    this.env = this.makeEnv();
    const uc = this.uc;
    this.syncBlock = uc.regBlock(SYNC_REGS, SYNC_OFFSETS, IMG_SIZE);
    this.syncImg32 = new Int32Array(this.syncBlock.bytes.buffer, this.syncBlock.bytes.byteOffset, IMG_SIZE >> 2);
    this.legacy32Of = new Uint8Array(0);
    this.legacy32 = new Int32Array(0);
    this.legacyWords(xs.regs.legacy);
    const img = this.syncBlock.bytes;
    this.ripView = new BigUint64Array(img.buffer, img.byteOffset + IMG_RIP, 1);
    // Installed before any code is translated, so no translation has to be dropped for them.
    if (!process.env.XSTATE_LAB_UNICORN_COUNT) uc.useInstructionCounter((a, size) => this.instructionsIn(a, size));
    this.gate = process.env.XSTATE_LAB_HOOK_PER_ADDRESS ? undefined : uc.hookTrapGate(() => this.onGate(), this.syncBlock, SYNC_GPR_INDEX, IMG_GPR, GATE_AREA_BYTES);
    const ctlBuf = new ArrayBuffer(GATE_CTL_BYTES);
    this.ctl32 = this.gate?.ctl32 ?? new Int32Array(ctlBuf);
    this.ctl64 = this.gate?.ctl64 ?? new BigUint64Array(ctlBuf);
    if (this.gate) {
      this.gate.setCompare([
        ...Array.from({ length: 16 }, (_, k) => ({ offset: LEGACY.XMM0 + k * LEGACY.XMM_BYTES, length: LEGACY.XMM_BYTES, bit: k })),
        { offset: LEGACY.MXCSR, length: 4, bit: CHANGED_MXCSR_BIT },
        ...X87_COMPARE_RANGES.map(([offset, length]) => ({ offset, length, bit: CHANGED_X87_BIT })),
      ]);
      this.areaBuf = this.gate.area;
      this.areaView = new DataView(this.areaBuf.buffer, this.areaBuf.byteOffset, this.areaBuf.byteLength);
      this.bindXsaveNative();
    }
    this.gpr64 = new BigUint64Array(img.buffer, img.byteOffset + IMG_GPR, 16);
    this.gprLo32 = new Uint32Array(img.buffer, img.byteOffset + IMG_GPR, 32);
    enableSse(uc, { osxsave: cpu.features.xsave });
    if (this.cr4.pke) uc.regWrite(X86Reg.CR4, uc.regRead(X86Reg.CR4) | CR4_PKE);
    uc.hookInsnSyscall(() => {
      this.mirrorSse = this.mirrorX87 = false;
      if (this.hooks.onSyscall()) { this.stop ??= { kind: StopKind.Syscall }; uc.emuStop(); }
    });
    uc.hookInsnCpuid(() => { this.emulateCpuid(); return true; });
    uc.hookInsnInvalid(() => this.onInvalid());
    uc.hookIntr((intno) => this.onInterrupt(intno));
    uc.hookMemInvalid((type, address) => this.onMemInvalid(type, address));
    this.pkruApplied = this.currentPkru();
  }

  /** Switch the thread whose extended state the machine emulates. */
  setXstate(xs: XsaveContext): void {
    // x87 and SSE instructions observed since the last synchronisation ran in the outgoing thread.
    this.applySseEvents();
    if (this.applyX87Events()) xinuseAfterFninit(this.xs);
    this.mirrorSse = this.mirrorX87 = false;
    this.xsCurrent = xs;
    this.vec = new VectorFile(xs.regs);
    this.bindXsaveNative();
  }

  /**
   * The gate's native XSAVE family (trap-gate.c xs_fast) works on the running thread's register
   * file: bound to it here, off while tracing, without the native library, or with
   * XSTATE_LAB_NO_XSAVE_FAST_PATH set.
   */
  private bindXsaveNative(): void {
    if (!this.gate) return;
    const on = !this.traceFn && process.env.XSTATE_LAB_NO_XSAVE_FAST_PATH === undefined && nativeXsave() !== null;
    this.gate.bindXsave(on ? xsaveTable(this.cpu) : null, on ? this.xs.regs.store : null, {
      ftag: IMG_FTAG, fcs: IMG_FCS, fds: IMG_FDS, allCount: SYNC_ALL_COUNT, tagEmpty: X87_TAG_EMPTY, changedX87Bits: bit(CHANGED_X87_BIT),
    });
    this.bindVectorNative();
  }

  /**
   * The gate's native vector path (trap-gate.c vf_fast over vector-fast.c) works on the running
   * thread's register file too: bound once the first vector instruction is described (its tables
   * need iced-x86, which a trap has loaded), off while tracing, without the native library, or with
   * XSTATE_LAB_NO_VECTOR_FAST_PATH set.
   */
  private vectorBound = false;
  private get vectorFastPath(): boolean {
    return !this.traceFn && process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH === undefined && nativeVector() !== null;
  }
  private bindVectorNative(): void {
    if (!this.gate || !this.vectorBound) return;
    const on = this.vectorFastPath;
    this.gate.bindVector(on ? vectorTable(this.cpu) : null, on ? vectorAcceptTable(this.cpu) : null, on ? this.xs.regs.store : null, {
      xmm0: SYNC_OFFSETS[0]!,
    });
  }

  /** Vector and opmask instructions the gate did natively (not counted in emulatedCount). */
  get nativeVectorCount(): number {
    return this.gate && this.vectorBound ? Number(this.gate.vectorDone()) : 0;
  }

  /** XSAVE-family instructions the gate did natively (not counted in emulatedCount). */
  get nativeXsaveCount(): number {
    return Number(this.ctl64[GateWord.XS_DONE >> 1] ?? 0n);
  }

  close(): void {
    this.codeCache.save();
    this.uc.close();
  }

  // ------------------------------------------------------------------ debugger breakpoints

  /** A remote debugger's breakpoints: a code hook each, never a byte in guest memory (the guest cannot see them). */
  private readonly breakpointHooks = new Map<bigint, HookHandle>();

  /** EFLAGS.RF for the next run: the address of its first instruction, whose breakpoint does not fire once. */
  private resumeAt: bigint | undefined;

  /**
   * Make the hooked addresses exactly `addrs`: the run stops before the instruction at any of them
   * (StopKind.Breakpoint); a debugger's breakpoints and a thread's instruction breakpoints in DR0-DR3
   * alike. `resumeFlag`: EFLAGS.RF is set for the next run, so an instruction breakpoint at its
   * first instruction does not fire (SDM Vol. 3 18.3.1.1, "Instruction-Breakpoint Exception
   * Condition": RF suppresses it, and the CPU clears RF once an instruction completes). The engine
   * has no RF bit: the first hook call at RIP is skipped instead.
   */
  setBreakpoints(addrs: ReadonlySet<bigint>, resumeFlag = false): void {
    const rip = resumeFlag && addrs.size ? this.uc.regRead(X86Reg.RIP) : undefined;
    this.resumeAt = rip !== undefined && addrs.has(rip) ? rip : undefined;
    for (const [a, h] of this.breakpointHooks) if (!addrs.has(a)) { h.remove(); this.breakpointHooks.delete(a); }
    for (const a of addrs) {
      if (this.breakpointHooks.has(a)) continue;
      this.breakpointHooks.set(a, this.uc.hookCode(a, a, (at) => {
        if (at !== a) return;
        if (this.resumeAt === at) { this.resumeAt = undefined; return; }
        this.stop = { kind: StopKind.Breakpoint };
        this.uc.emuStop();
      }));
    }
  }

  // ------------------------------------------------------------------ data breakpoints

  /** The memory hooks of the data breakpoints in place (setWatchpoints), and the slots hit since takeWatchHits. */
  private watchHooks: HookHandle[] = [];
  private watchKey = '';
  private watchHits = 0;

  /**
   * Make the watched ranges exactly `watches` (a thread's DR0-DR3 with R/W 01 or 11): a guest
   * access overlapping one (any byte of it, SDM Vol. 3 18.2.5) records the slot's bit, writes only
   * or reads and writes. The hooks exist only while some range is watched, so runs without
   * watchpoints pay nothing. Accesses of instructions the model emulates are not seen.
   */
  setWatchpoints(watches: readonly { slot: number; start: bigint; len: number; reads: boolean }[]): void {
    const key = watches.map((w) => `${w.slot}:${w.start}:${w.len}:${w.reads}`).join(',');
    if (key === this.watchKey) return;
    for (const h of this.watchHooks) h.remove();
    this.watchHooks = [];
    this.watchKey = key;
    // A wider access starting below the range still overlaps it: the hook covers the widest access (64 bytes) before it.
    const WIDEST_ACCESS = 64n;
    for (const w of watches) {
      const types = HookType.MEM_WRITE | (w.reads ? HookType.MEM_READ : 0);
      const lo = w.start > WIDEST_ACCESS ? w.start - WIDEST_ACCESS + 1n : 0n;
      this.watchHooks.push(this.uc.hookMem(types, lo, w.start + BigInt(w.len) - 1n, (_type, address, size) => {
        if (address < w.start + BigInt(w.len) && address + BigInt(size) > w.start) this.watchHits |= 1 << w.slot;
      }));
    }
  }

  /** Whether a watched range was accessed since takeWatchHits. */
  peekWatchHits(): boolean {
    return this.watchHits !== 0;
  }

  /** The watchpoint slots hit since the last call (their DR6.Bn bits), cleared. */
  takeWatchHits(): number {
    const h = this.watchHits;
    this.watchHits = 0;
    return h;
  }

  // ------------------------------------------------------------------ memory

  mappings(): readonly Region[] {
    return this.regions;
  }

  /** The mapping that holds `addr`, if any. */
  regionAt(addr: bigint): Region | undefined {
    for (const r of this.regions) if (r.start <= addr && addr < r.end) return r;
    return undefined;
  }

  /**
   * Map [start, start+size) with `prot` (Prot bits), replacing whatever was there. `bytes` are
   * written at `start`. `extra` carries the protection key and the OS's flags.
   */
  map(start: bigint, size: bigint, prot: number, bytes?: Uint8Array, extra?: { pkey?: number; vmFlags?: number; file?: RegionFile }): void {
    this.unmap(start, size);
    const r: Region = { start, end: start + size, prot, ...(extra?.pkey ? { pkey: extra.pkey } : {}), ...(extra?.vmFlags ? { vmFlags: extra.vmFlags } : {}), ...(extra?.file ? { file: extra.file } : {}) };
    this.regions.push(r);
    this.regions.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    if (size <= EAGER_MAX_BYTES) this.back(start, start + size, this.effectiveProt(r));
    if (bytes && bytes.length) this.poke(start, bytes);
    if (prot & Prot.EXEC) this.sweep(start, start + size);
    this.fpReadableChanged();
  }

  /**
   * A stack that grows down (mm/mmap.c expand_downwards): the mapping `r` now starts at
   * `newStart` (page-aligned, below r.start); the caller checked Linux's rules.
   */
  growDown(r: Region, newStart: bigint): void {
    if (newStart >= r.start || !this.regions.includes(r)) throw new Error(`growDown: 0x${newStart.toString(16)} does not extend a mapping of this machine downwards`);
    const oldStart = r.start;
    this.back(newStart, oldStart, this.effectiveProt(r));
    r.start = newStart;
    // Each growth is one more unicorn block, and uc_mem_map's cost grows with the number of blocks
    // (measured: 5 ms a call with some thousands), while uc_mem_read is slow (60 MB/s here): the
    // lowest GROWN_BLOCKS_MAX blocks of one level are remapped as one block of the next level, so
    // the blocks stay few and each byte is copied about log16(size / page) times.
    const blocks = this.grownBlocks.get(r) ?? [];
    blocks.unshift({ start: newStart, end: oldStart, level: 0 });
    while (blocks.length >= GROWN_BLOCKS_MAX && blocks.slice(0, GROWN_BLOCKS_MAX).every((b) => b.level === blocks[0]!.level)) {
      const lo = blocks[0]!.start, hi = blocks[GROWN_BLOCKS_MAX - 1]!.end, level = blocks[0]!.level + 1;
      const bytes = this.uc.memRead(lo, Number(hi - lo));
      this.uc.memUnmap(lo, Number(hi - lo));
      this.uc.memMap(lo, Number(hi - lo), this.effectiveProt(r));
      this.uc.memWrite(lo, bytes);
      blocks.splice(0, GROWN_BLOCKS_MAX, { start: lo, end: hi, level });
    }
    this.grownBlocks.set(r, blocks);
    this.lastChecked = undefined;
    this.fpReadableChanged();
  }
  /** The unicorn blocks a grown mapping's growth made, lowest first, with their merge level. */
  private readonly grownBlocks = new WeakMap<Region, { start: bigint; end: bigint; level: number }[]>();

  /** Map [start, end) in unicorn (each call one unicorn block) and record it as backed. */
  private back(start: bigint, end: bigint, prot: number): void {
    this.lastChecked = undefined;
    this.uc.memMap(start, Number(end - start), prot);
    const out: { start: bigint; end: bigint }[] = [];
    let cur = { start, end };
    for (const b of this.backed) {
      if (b.end < cur.start || b.start > cur.end) out.push(b);
      else cur = { start: b.start < cur.start ? b.start : cur.start, end: b.end > cur.end ? b.end : cur.end };
    }
    out.push(cur);
    this.backed = out.sort((a, b) => (a.start < b.start ? -1 : 1));
  }

  /** The backed parts of [start, end). */
  private backedPieces(start: bigint, end: bigint): { start: bigint; end: bigint }[] {
    const out: { start: bigint; end: bigint }[] = [];
    for (const b of this.backed) {
      if (b.end <= start || b.start >= end) continue;
      out.push({ start: b.start > start ? b.start : start, end: b.end < end ? b.end : end });
    }
    return out;
  }

  /** Back whatever of [start, end) lies in a mapping and is not backed yet, LAZY_CHUNK_BYTES-aligned chunks at a time. */
  private ensureBacked(start: bigint, end: bigint): void {
    const lo = start - (start % LAZY_CHUNK_BYTES);
    const hi = end % LAZY_CHUNK_BYTES ? end + LAZY_CHUNK_BYTES - (end % LAZY_CHUNK_BYTES) : end;
    for (const r of this.regions) {
      if (r.end <= lo || r.start >= hi) continue;
      let p = r.start > lo ? r.start : lo;
      const e = r.end < hi ? r.end : hi;
      for (const b of this.backedPieces(p, e)) {
        if (b.start > p) this.back(p, b.start, this.effectiveProt(r));
        p = b.end;
      }
      if (p < e) this.back(p, e, this.effectiveProt(r));
    }
  }

  /** Whether all of [start, end) is backed. */
  private isBacked(start: bigint, end: bigint): boolean {
    for (const b of this.backed) if (b.start <= start && end <= b.end) return true;
    return false;
  }

  /**
   * Kernel-side read without permission checks (a copy of the mm's pages): unbacked pages of a
   * mapping read as zero, as untouched anonymous memory does.
   */
  peek(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (const b of this.backedPieces(addr, addr + BigInt(len))) out.set(this.uc.memRead(b.start, Number(b.end - b.start)), Number(b.start - addr));
    return out;
  }

  /** Kernel-side write without permission checks: backs the pages first. */
  poke(addr: bigint, bytes: Uint8Array): void {
    if (!bytes.length) return;
    this.ensureBacked(addr, addr + BigInt(bytes.length));
    this.uc.memWrite(addr, bytes);
  }

  /**
   * Kernel-side write that may hit code (ptrace POKETEXT, a debugger's M packet): backs the pages,
   * then writes and drops the range's translations (unicorn's stale-block rule, Unicorn.writeCode).
   */
  pokeCode(addr: bigint, bytes: Uint8Array): void {
    if (!bytes.length) return;
    this.ensureBacked(addr, addr + BigInt(bytes.length));
    this.uc.writeCode(addr, bytes);
  }

  /** The touched (backed) parts of [start, end) with their bytes: what a move of the range must carry. */
  backedContents(start: bigint, end: bigint): { addr: bigint; bytes: Uint8Array }[] {
    return this.backedPieces(start, end).map((b) => ({ addr: b.start, bytes: this.uc.memRead(b.start, Number(b.end - b.start)) }));
  }

  /** The fp fast path reads memory itself: tell the gate what the guest may read (after every mapping change). */
  private fpReadableChanged(): void {
    if (!this.gate) return;
    const out: { start: bigint; end: bigint }[] = [];
    for (const r of this.regions) {
      if (!(this.effectiveProt(r) & Prot.READ)) continue;
      for (const b of this.backedPieces(r.start, r.end)) {
        const last = out[out.length - 1];
        if (last && last.end === b.start) last.end = b.end; else out.push({ start: b.start, end: b.end });
      }
    }
    this.gate.setFpReadable(out);
    const wr: { start: bigint; end: bigint }[] = [];
    for (const r of this.regions) {
      // PKRU's write-disable counts (effectiveProt), and only backed pages: the gate writes with uc_mem_write.
      if (!(this.effectiveProt(r) & Prot.WRITE)) continue;
      for (const b of this.backedPieces(r.start, r.end)) {
        const last = wr[wr.length - 1];
        if (last && last.end === b.start) last.end = b.end; else wr.push({ start: b.start, end: b.end });
      }
    }
    this.gate.setWritable(wr);
  }

  /** Unmap whatever lies in [start, start+size). */
  unmap(start: bigint, size: bigint): void {
    this.lastChecked = undefined;
    const end = start + size;
    const kept: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= start || r.start >= end) { kept.push(r); continue; }
      const lo = r.start > start ? r.start : start;
      const hi = r.end < end ? r.end : end;
      this.forgetCode(lo, hi);
      if (r.prot & Prot.EXEC) this.dropTranslations(lo, hi);
      if (r.start < lo) kept.push({ ...r, end: lo });
      if (r.end > hi) kept.push({ ...r, start: hi });
    }
    for (const b of this.backedPieces(start, end)) this.uc.memUnmap(b.start, Number(b.end - b.start));
    const backed: { start: bigint; end: bigint }[] = [];
    for (const b of this.backed) {
      if (b.end <= start || b.start >= end) { backed.push(b); continue; }
      if (b.start < start) backed.push({ start: b.start, end: start });
      if (b.end > end) backed.push({ start: end, end: b.end });
    }
    this.backed = backed;
    this.regions = kept.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.fpReadableChanged();
  }

  /**
   * mprotect / pkey_mprotect of the mapped parts of [start, start+size): the new Prot bits, and the
   * protection key and the OS's flags when given.
   */
  protect(start: bigint, size: bigint, prot: number, pkey?: number, vmFlags?: number): void {
    this.lastChecked = undefined;
    const end = start + size;
    const out: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= start || r.start >= end) { out.push(r); continue; }
      const lo = r.start > start ? r.start : start;
      const hi = r.end < end ? r.end : end;
      if (r.start < lo) out.push({ ...r, end: lo });
      const n: Region = { ...r, start: lo, end: hi, prot };
      if (pkey !== undefined) { if (pkey) n.pkey = pkey; else delete n.pkey; }
      if (vmFlags !== undefined) { if (vmFlags) n.vmFlags = vmFlags; else delete n.vmFlags; }
      out.push(n);
      if (r.end > hi) out.push({ ...r, start: hi });
      if ((r.prot & Prot.EXEC) && !(prot & Prot.EXEC)) this.dropTranslations(lo, hi);
      for (const b of this.backedPieces(lo, hi)) this.uc.memProtect(b.start, Number(b.end - b.start), this.effectiveProt(n));
      if ((prot & Prot.EXEC) && !(r.prot & Prot.EXEC)) this.sweep(lo, hi);
      if (!(prot & Prot.EXEC)) this.forgetCode(lo, hi);
    }
    this.regions = out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.fpReadableChanged();
  }

  // ------------------------------------------------------------------ protection keys

  /** PKRU as the thread on the CPU has it (0 without CR4.PKE: no key denies anything). */
  private currentPkru(): number {
    const c = this.xs.regs.comp[XFeature.PKRU];
    if (!this.cr4.pke || !c) return 0;
    return new DataView(c.buffer, c.byteOffset, c.byteLength).getUint32(0, true);
  }

  /**
   * What unicorn lets the guest do on a mapping: its Prot bits less what PKRU denies to its key
   * (SDM Vol. 3A 4.6.2: AD denies data reads and writes, WD writes; instruction fetches are not
   * checked). Unicorn's page protections carry the check, so no access pays for a hook.
   */
  private effectiveProt(r: Region): number {
    if (r.file?.beyondEof) return 0;
    const bits = (this.pkruApplied >>> (2 * (r.pkey ?? 0))) & 3;
    if (bits & PKRU_AD) return r.prot & ~(Prot.READ | Prot.WRITE);
    if (bits & PKRU_WD) return r.prot & ~Prot.WRITE;
    return r.prot;
  }

  /**
   * After PKRU may have changed (WRPKRU, XRSTOR, a signal, a thread switch): re-protect the
   * mappings whose key's rights changed. Returns whether anything changed.
   */
  syncPkru(): boolean {
    const v = this.currentPkru();
    const old = this.pkruApplied;
    if (v === old) return false;
    this.pkruApplied = v;
    this.lastChecked = undefined;
    let changed = false;
    for (const r of this.regions) {
      const k = 2 * (r.pkey ?? 0);
      if (((v >>> k) & 3) === ((old >>> k) & 3)) continue;
      changed = true;
      for (const b of this.backedPieces(r.start, r.end)) this.uc.memProtect(b.start, Number(b.end - b.start), this.effectiveProt(r));
    }
    if (changed) this.fpReadableChanged();
    return changed;
  }

  /**
   * UC_HOOK_MEM_INVALID: a lazily backed page is backed and the access retried; an address outside
   * every mapping goes to the OS (a growing stack); a protection fault on a page whose mapping
   * allows the access was PKRU's (SEGV_PKUERR). Anything else ends the run with the fault.
   */
  private onMemInvalid(type: MemType, rawAddress: bigint): boolean {
    const address = BigInt.asUintN(64, rawAddress);
    const unmapped = type === MemType.READ_UNMAPPED || type === MemType.WRITE_UNMAPPED || type === MemType.FETCH_UNMAPPED;
    const r = this.regionAt(address);
    if (unmapped && r) { this.ensureBacked(address, address + 1n); this.fpReadableChanged(); return true; }
    if (unmapped && this.hooks.pageFault?.(address)) return true;
    // Keys never apply to instruction fetches (SDM Vol. 3A 4.6.2); a data access the key denies is
    // SEGV_PKUERR whatever the page's other protections (Linux's bad_area_access_from_pkeys).
    let pkey: number | undefined;
    if (r && (type === MemType.READ_PROT || type === MemType.WRITE_PROT)) {
      const bits = (this.pkruApplied >>> (2 * (r.pkey ?? 0))) & 3;
      if (bits & (type === MemType.WRITE_PROT ? PKRU_AD | PKRU_WD : PKRU_AD)) pkey = r.pkey ?? 0;
    }
    // Past a mapped file's end, an access its protection allows is a bus error; one it does not is the protection fault it is anyway.
    const need = type === MemType.WRITE_PROT ? Prot.WRITE : type === MemType.FETCH_PROT ? Prot.EXEC : Prot.READ;
    const sigbus = r?.file?.beyondEof === true && (r.prot & need) === need;
    this.memFault = { addr: address, type, pkey, ...(sigbus ? { sigbus } : {}) };
    return false;
  }

  /** Is every byte of [start, end) mapped? */
  isMapped(start: bigint, end: bigint): boolean {
    let p = start;
    for (const r of this.regions) {
      if (r.end <= p) continue;
      if (r.start > p) return false;
      p = r.end;
      if (p >= end) return true;
    }
    return p >= end;
  }

  /** Whether the guest may access all of [addr, addr+len) with `need` (check without the throw). */
  private accessible(addr: bigint, len: number, need: Prot): boolean {
    let p = addr;
    const end = addr + BigInt(len);
    for (const r of this.regions) {
      if (r.end <= p) continue;
      if (r.start > p || (r.prot & need) !== need) return false;
      p = r.end;
      if (p >= end) return true;
    }
    return p >= end;
  }

  /** Check [addr + off, addr + off + len). */
  private check(addr: bigint, len: number, need: Prot, off = 0): void {
    // The last region that satisfied a check (saves hit the same area again and again), compared
    // as doubles: no BigInt arithmetic on the trap path. Exact for user addresses (below 2^47); an
    // address that rounds is far outside any user region and takes the exact path.
    const last = this.lastChecked;
    if (last) {
      const a = Number(addr) + off;
      if (a >= this.lastStartN && a + len <= this.lastEndN && ((this.userAccessPkru || last.file?.beyondEof ? this.effectiveProt(last) : last.prot) & need) === need) return;
    }
    this.checkSlow(off ? addr + BigInt(off) : addr, len, need);
  }
  /**
   * The kernel's copies to and from user memory during a system call (copy_to_user, copy_from_user,
   * get_user, put_user) run with the thread's PKRU in the register (it is user state, loaded at the
   * switch to the task), and a supervisor-mode data access to a user-mode address is checked
   * against PKRU when CR4.PKE = 1 (SDM Vol. 3A 4.6.1; CR0.WP = 1 under Linux, so WD counts): a key
   * that denies the access makes the copy fault, which the exception table turns into -EFAULT.
   * The kernel sets this while a system call runs; other kernel accesses (the signal frame, ptrace,
   * /proc) do not apply PKRU.
   */
  userAccessPkru = false;
  /** Dropped whenever the mappings change (map, unmap, protect); its bounds as numbers. */
  private lastChecked: Region | undefined;
  private lastStartN = 0;
  private lastEndN = 0;

  /**
   * The kernel's access (copy_from_user / copy_to_user): an address below a growing stack is
   * offered to the OS first, as the kernel's own page fault would; unbacked pages are backed.
   * PKRU applies while `userAccessPkru` is set (a system call's copies); the signal frame writes of
   * 6.12+ run with PKRU 0 (sig_prepare_pkru), ptrace and /proc use the mm's pages without it.
   */
  private checkSlow(addr: bigint, len: number, need: Prot): void {
    let p = addr;
    const end = addr + BigInt(len);
    for (let k = 0; k < this.regions.length; k++) {
      const r = this.regions[k]!;
      if (r.end <= p) continue;
      if (r.start > p) {
        if (this.hooks.pageFault?.(p)) { k = -1; continue; }
        throw new GuestMemoryFault(p, false, need === Prot.WRITE);
      }
      if (((this.userAccessPkru || r.file?.beyondEof ? this.effectiveProt(r) : r.prot) & need) !== need) throw new GuestMemoryFault(p, true, need === Prot.WRITE);
      const e = r.end < end ? r.end : end;
      if (!this.isBacked(p, e)) { this.ensureBacked(p, e); this.fpReadableChanged(); }
      if (p === addr && r.end >= end && this.isBacked(r.start, r.end)) { this.lastChecked = r; this.lastStartN = Number(r.start); this.lastEndN = Number(r.end); }
      p = r.end;
      if (p >= end) return;
    }
    if (p < end) {
      if (this.hooks.pageFault?.(p)) { this.checkSlow(p, Number(end - p), need); return; }
      throw new GuestMemoryFault(p, false, need === Prot.WRITE);
    }
  }

  /** Guest read with the guest's permissions (unicorn's own uc_mem_read ignores them). */
  read(addr: bigint, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    this.check(addr, len, Prot.READ);
    return this.uc.memRead(addr, len);
  }

  write(addr: bigint, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.check(addr, bytes.length, Prot.WRITE);
    this.uc.memWrite(addr, bytes);
  }

  /** Kernel-side access (copy_to_user without the permission check the caller already made). */
  readU64(addr: bigint): bigint {
    return new DataView(this.read(addr, 8).buffer).getBigUint64(0, true);
  }
  writeU64(addr: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v & MASK64, true);
    this.write(addr, b);
  }
  readU32(addr: bigint): number {
    return new DataView(this.read(addr, 4).buffer).getUint32(0, true);
  }
  writeU32(addr: bigint, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.write(addr, b);
  }
  readCString(addr: bigint, max = 4096): string {
    const out: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.read(addr + BigInt(i), 1)[0]!;
      if (b === 0) break;
      out.push(b);
    }
    return Buffer.from(out).toString('utf8');
  }

  // ------------------------------------------------------------------ owned-instruction hooks

  /** Find the owned instructions in [start, end) and hook each by address. */
  private sweep(start: bigint, end: bigint): void {
    const bytes = this.uc.memRead(start, Number(end - start));
    const found = this.codeCache.sweep(bytes, start);
    for (const addr of found.owned) {
      this.addOwned(addr);
    }
    for (const site of found.x87) this.addObserved(site);
    // A zeroing idiom the CPU recognises leaves XINUSE[1] as it was: no event (the value check still sees a change).
    const idiomKeeps = this.cpu.hasQuirk(Quirk.ZeroingIdiomKeepsInit);
    // XSTATE_LAB_NO_SSE_WRITE_EVENTS: off, for measuring what the observation costs (README "Speed").
    if (process.env.XSTATE_LAB_NO_SSE_WRITE_EVENTS !== undefined) return;
    for (const site of found.sseWrites) if (!(site.idiom && idiomKeeps)) this.addSseWriter(site);
  }

  /** Record that the legacy SSE instruction at site.addr wrote its XMM register whenever it runs (applySseEvents). */
  private addSseWriter(site: SseWriteSite): void {
    if (this.sseWriters.has(site.addr)) return;
    if (this.gate) {
      this.gate.observe(site.addr, ObserveKind.SseWrite, { base: site.reg, index: -1, scaleLog2: 0, disp: 0n, addr32: false });
      this.sseWriters.set(site.addr, { site });
    } else {
      const bitOf = 1 << (SSE_EVENT_SHIFT + site.reg);
      this.sseWriters.set(site.addr, { site, hook: this.uc.hookCode(site.addr, site.addr, () => { this.ctl32[GateWord.X87_EVENTS] |= bitOf; }) });
    }
  }

  /**
   * XMM registers written by observed legacy SSE instructions since the last call: in use, with
   * XINUSE[1] set, whether or not the value changed (the value comparison sees only changes).
   */
  private applySseEvents(): void {
    const written = this.ctl32[GateWord.X87_EVENTS]! >>> SSE_EVENT_SHIFT;
    if (!written) return;
    this.ctl32[GateWord.X87_EVENTS] &= (1 << SSE_EVENT_SHIFT) - 1;
    const r = this.xs.regs;
    if (r.tracksZeroRegisters) for (let n = 0; n < 16; n++) if ((written >>> n) & 1) r.setRegInUse(XFeature.SSE, n, true);
    r.touched(XFeature.SSE, true);
  }

  /** Record the pointer effects of the x87 instruction at site.addr whenever it runs. */
  private addObserved(site: X87Site): void {
    this.x87Sites.set(Number(site.addr), site);
    if (this.observedHooks.has(site.addr)) return;
    if (this.gate) {
      const m = site.mem;
      const gprIndex = (r: Register): number => (r === Register.None ? -1 : ICED_GPR64.indexOf(RegisterExt.fullRegister(r)));
      const kind = site.role === X87Role.Init ? ObserveKind.X87Init : m ? ObserveKind.X87Mem : ObserveKind.X87;
      this.gate.observe(site.addr, kind, m ? {
        base: m.ipRel ? -1 : gprIndex(m.base), index: m.ipRel ? -1 : gprIndex(m.index), scaleLog2: Math.log2(m.scale || 1), disp: m.disp, addr32: m.addr32,
      } : undefined);
      this.observedHooks.set(site.addr, undefined);
    } else {
      this.observedHooks.set(site.addr, this.uc.hookCode(site.addr, site.addr, () => this.observeInJs(site)));
    }
  }

  /** The gate's observe_x87, for machines without the gate. */
  private observeInJs(site: X87Site): void {
    const c = this.ctl32, c64 = this.ctl64;
    if (site.role === X87Role.Init) {
      c64[GateWord.X87_IP >> 1] = c64[GateWord.X87_MEM_IP >> 1] = c64[GateWord.X87_FDP >> 1] = 0n;
      c[GateWord.X87_EVENTS] |= X87_EVENT_IP | X87_EVENT_MEM;
      return;
    }
    c64[GateWord.X87_IP >> 1] = site.addr;
    c[GateWord.X87_EVENTS] |= X87_EVENT_IP;
    const m = site.mem;
    if (!m) return;
    this.gprValidMask = 0;
    let ea = m.disp;
    if (!m.ipRel) {
      if (m.base !== Register.None) ea += this.env.getGpr(RegisterExt.fullRegister(m.base));
      if (m.index !== Register.None) ea += this.env.getGpr(RegisterExt.fullRegister(m.index)) * BigInt(m.scale);
    }
    c64[GateWord.X87_MEM_IP >> 1] = site.addr;
    c64[GateWord.X87_FDP >> 1] = m.addr32 ? ea & 0xffffffffn : ea & MASK64;
    c[GateWord.X87_EVENTS] |= X87_EVENT_MEM;
  }

  /** The selector of a memory operand's segment register. */
  private selectorOf(seg: Register): number {
    const s = this.userSelectors;
    switch (seg) {
      case Register.CS: return s.cs;
      case Register.SS: return s.ss;
      case Register.ES: return s.es;
      case Register.FS: return s.fs;
      case Register.GS: return s.gs;
      default: return s.ds;
    }
  }

  /**
   * Bring the x87 instructions observed since the last call into the register file's pointers
   * (SDM Vol. 1 8.1.8, 8.1.9): FIP is the last non-control x87 instruction's address (RIP in
   * 64-bit mode), FOP its 11-bit opcode, FCS the code selector; FDP and FDS come from the last one
   * with a memory operand (its offset, without the segment base: measured on AMD Zen 5, `fldl
   * %fs:0` gives FDP 0) and stay as they were after a register form (measured). FNINIT clears
   * them. With FDP_EXCPTN_ONLY (CPUID.(07H,0):EBX[6]) FDP/FDS change only for an instruction that
   * raised an unmasked exception, taken here as: it was the last x87 instruction and `raisedUnmasked`
   * (unicorn's FSW.ES, which only an unmasked exception of an instruction sets; the hardware would
   * then stop at the next waiting x87 instruction with #MF, so that one is the last).
   */
  private applyX87Events(raisedUnmasked = (this.xs.regs.legacy[LEGACY.FSW]! & FSW_ES) !== 0): boolean {
    const c = this.ctl32;
    const ev = c[GateWord.X87_EVENTS]! & (X87_EVENT_IP | X87_EVENT_MEM);
    if (ev === 0) return false;
    // The gate records FIP 0 for FNINIT and the address for any later non-control instruction.
    const fninitLast = (ev & X87_EVENT_IP) !== 0 && this.ctl64[GateWord.X87_IP >> 1] === 0n;
    // The MMX bits stay for absorb, which applies them to the registers it copies.
    c[GateWord.X87_EVENTS] &= ~(X87_EVENT_IP | X87_EVENT_MEM);
    const r = this.xs.regs;
    const v = r.legacyView;
    if (ev & X87_EVENT_IP) {
      const ip = this.ctl64[GateWord.X87_IP >> 1]!;
      v.setBigUint64(LEGACY.FIP, ip, true);
      v.setUint16(LEGACY.FOP, ip === 0n ? 0 : this.x87Sites.get(Number(ip))?.fop ?? 0, true);
      r.fcs = ip === 0n ? 0 : this.userSelectors.cs;
    }
    if (ev & X87_EVENT_MEM) {
      const memIp = this.ctl64[GateWord.X87_MEM_IP >> 1]!;
      const unmasked = memIp === v.getBigUint64(LEGACY.FIP, true) && raisedUnmasked;
      if (memIp === 0n || !this.cpu.features.fdpExcptnOnly || unmasked) {
        v.setBigUint64(LEGACY.FDP, memIp === 0n ? 0n : this.ctl64[GateWord.X87_FDP >> 1]!, true);
        const seg = memIp === 0n ? undefined : this.x87Sites.get(Number(memIp))?.mem?.seg;
        r.fds = seg === undefined ? 0 : this.selectorOf(seg);
      }
    }
    r.touched(XFeature.X87, true);
    return fninitLast;
  }

  private forgetCode(start: bigint, end: bigint): void {
    for (const a of [...this.ownedHooks.keys()]) if (a >= start && a < end) this.removeOwned(a);
    // Their sites stay: an observed instruction's pointers may still be waiting in the events.
    for (const [a, h] of [...this.observedHooks]) {
      if (a < start || a >= end) continue;
      if (h) h.remove();
      else this.gate?.remove(a);
      this.observedHooks.delete(a);
    }
    for (const [a, w] of [...this.sseWriters]) {
      if (a < start || a >= end) continue;
      if (w.hook) w.hook.remove();
      else this.gate?.remove(a);
      this.sseWriters.delete(a);
    }
    const lo = Number(start), hi = Number(end);
    for (const a of this.decodeCache.keys()) if (a >= lo && a < hi) this.decodeCache.delete(a);
  }

  /**
   * Drop unicorn's translations of [start, end) while it is still backed: unicorn 2.0.1 keeps them
   * across uc_mem_unmap, so code mapped again at the same address would run the old translation
   * (measured: unmap, map and write MOV EAX,2 where MOV EAX,1 ran, and RAX is 1; the x87 referee's
   * code page, remapped for each case, showed it). An executable mapping is unmapped or loses EXEC.
   */
  private dropTranslations(start: bigint, end: bigint): void {
    for (const b of this.backedPieces(start, end)) this.uc.removeTbCache(b.start, b.end);
  }

  private addOwned(addr: bigint): void {
    if (this.ownedHooks.has(addr)) return;
    if (this.gate) {
      this.gate.add(addr);
      this.ownedHooks.set(addr, undefined);
    } else {
      this.ownedHooks.set(addr, this.uc.hookCode(addr, addr, (a) => this.onOwned(this.decodeAt(a))));
    }
  }

  private removeOwned(addr: bigint): void {
    if (!this.ownedHooks.has(addr)) return;
    const h = this.ownedHooks.get(addr);
    if (h) h.remove();
    else this.gate?.remove(addr);
    this.ownedHooks.delete(addr);
  }

  /** Owned addresses (fork re-creates their hooks in the child's engine). */
  ownedAddresses(): bigint[] {
    return [...this.ownedHooks.keys()];
  }

  private decodeAt(addr: bigint): Decoded {
    const key = Number(addr);
    const cached = this.decodeCache.get(key);
    if (cached) return cached;
    let len = MAX_INSN_BYTES;
    for (const r of this.regions) if (addr >= r.start && addr < r.end) { len = Math.min(len, Number(r.end - addr)); break; }
    const bytes = this.uc.memRead(addr, len);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    d.ip = addr;
    const ins = d.decode();
    d.free();
    const owned = ins.code !== Code.INVALID && ownershipOf(ins) === Ownership.Model;
    const xop = xsaveOpOf(ins.mnemonic);
    const xsaveFamily = xop !== XsaveOp.None;
    const rec: Decoded = {
      ins,
      ip: ins.ip,
      nextIP: ins.nextIP,
      mnemonic: ins.mnemonic,
      lock: ins.hasLockPrefix,
      owned,
      vexGprOnly: owned && isVexGprOnly(ins),
      missing: ins.code === Code.INVALID ? undefined : missingFeature(this.cpu, ins),
      needXcr0: xcr0Needed(ins),
      xsaveFamily,
      syncX87: xsaveFamily || x87EnvOpOf(ins.mnemonic) !== X87EnvOp.None || (owned && (isModelledX87(ins.mnemonic) || MMX_FP_CONVERSIONS.has(ins.mnemonic))),
      x87Env: x87EnvOpOf(ins.mnemonic),
      // The MMX-operand conversions do their MMX transition themselves (emulator/vector/float-mmx.ts).
      mmx: owned && !MMX_FP_CONVERSIONS.has(ins.mnemonic) ? mmxSiteOf(ins) : undefined,
      x87: owned && isModelledX87(ins.mnemonic) ? x87SiteOf(ins, bytes, 0) ?? { addr: ins.ip, role: X87Role.Control, fop: 0, mem: undefined } : undefined,
      touchesSse: touchesSse(ins),
      writes: writesLegacyState(ins),
      mem: xsaveFamily && ins.opCount > 0 && ins.opKind(0) === OpKind.Memory ? {
        ipRel: ins.isIpRelMemoryOperand, ipRelAddr: ins.isIpRelMemoryOperand ? ins.ipRelMemoryAddress : 0n, disp: ins.memoryDisplacementU64,
        base: ins.memoryBase, index: ins.memoryIndex, scale: BigInt(ins.memoryIndexScale), seg: ins.memorySegment,
      } : undefined,
      gate: undefined,
      xop,
      rexW: REX_W_FORMS.has(ins.mnemonic),
      areaKind: saveAreaKind(xop),
    };
    this.decodeCache.set(key, rec);
    return rec;
  }

  // ------------------------------------------------------------------ running

  /**
   * Instructions in the block unicorn translated at [address, address + size) (the instruction
   * counter asks once per block): those that start inside it, at least one.
   */
  private instructionsIn(address: bigint, size: number): number {
    if (size <= 0 || size > 0x10000) return 1;
    let bytes: Uint8Array;
    try {
      bytes = this.uc.memRead(address, size);
    } catch {
      return 1;
    }
    return this.codeCache.instructionCount(bytes, countInstructions);
  }

  /**
   * Run from the current RIP for about `count` instructions: exactly one when `count` is 1 (a
   * single step), else until the first block boundary after which more than `count` would have run
   * (a block is never cut); returns why it stopped.
   */
  run(count: number, quanta?: { count: number; lastQuantum: number }): Stop {
    this.lastRunInsns = undefined;
    this.runQuanta = undefined;
    if ((this.uc.regRead(X86Reg.RFLAGS) & RFLAGS_AC) !== 0n) return this.runCheckingAlignment(count);
    // Several quanta in one run (Unicorn EmuStartOptions.quanta): only without single steps.
    this.runQuanta = count > 1 && quanta && quanta.count > 1 ? quanta : undefined;
    const stop = this.runEngine(count);
    this.runQuanta = undefined;
    const executed = count === 1 ? 1n : this.uc.executedInLastRun;
    this.lastRunInsns = executed === undefined ? undefined : Number(executed);
    return stop;
  }

  /**
   * How many instructions the last run executed, when the engine knows it (the block counter counts
   * whole blocks: a fault inside a block counts the block); undefined when it does not.
   */
  lastRunInsns: number | undefined;

  /** The quanta of the run in progress when it is several (run's `quanta`); undefined otherwise. */
  private runQuanta: { count: number; lastQuantum: number } | undefined;

  /**
   * Quanta of the current or last run that ended before its last one (0 for a run of one quantum):
   * the instructions of the last quantum only are in lastRunInsns.
   */
  get quantaDone(): number {
    return this.uc.quantaDone;
  }

  /** From a hook, during a run of several quanta: the run ends where the current quantum ends. */
  endAtQuantumEnd(): void {
    this.uc.endAtQuantumEnd();
  }

  /**
   * RFLAGS.AC is set (CR0.AM is, under Linux; CPL 3): one instruction at a time, each checked for
   * #AC before it runs (emulator/alignment-check.ts), until the count, a stop, or AC clears. The
   * cost is a single step per instruction while AC is set, and nothing while it is clear.
   */
  private runCheckingAlignment(count: number): Stop {
    let stop: Stop;
    let ran = 0;
    do {
      const rip = this.uc.regRead(X86Reg.RIP);
      let d: Decoded | undefined;
      try {
        d = this.decodeAt(rip);
      } catch {
        d = undefined; // unreadable code: the engine reports the fetch fault
      }
      this.gprValidMask = 0; // the GPRs as the engine holds them now (the cache is per emulated instruction)
      const at = d ? misalignedAccess(d.ins, this.alignmentEnv, this.alignmentRules) : undefined;
      if (at !== undefined) {
        // Linux: exc_alignment_check -> do_trap(X86_TRAP_AC, SIGBUS, ..., BUS_ADRALN, NULL): no address (measured si_addr 0, err 0).
        return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRALN, addr: 0n, trapno: IntVector.AC, reason: `alignment check: ${disassemble(d!.ins)} accesses 0x${at.toString(16)}` } };
      }
      stop = this.runEngine(1);
      ran++;
    } while (stop.kind === StopKind.Quantum && ran < count && (this.uc.regRead(X86Reg.RFLAGS) & RFLAGS_AC) !== 0n);
    this.lastRunInsns = ran;
    return stop;
  }

  /** What emulator/alignment-check.ts reads: GPRs and segment bases (the engine's), opmasks (the model's). */
  private get alignmentEnv(): AlignmentEnv {
    return { getGpr: (r) => this.env.getGpr(r), segmentBase: (seg) => this.env.segmentBase(seg), readK: (n) => this.vec.readK(n) };
  }

  /** emulator/alignment-check.ts AlignmentRules for the profile's vendor. */
  private get alignmentRules(): AlignmentRules {
    return { wideOperandAlignment: this.cpu.profile.vendor === 'AuthenticAMD' ? AC_WIDE_ALIGNMENT_AMD : AC_WIDE_ALIGNMENT_INTEL };
  }

  private runEngine(count: number): Stop {
    this.mirrorSse = this.mirrorX87 = false;
    this.stop = undefined;
    this.memFault = undefined;
    this.syncPkru();
    const rip = this.uc.regRead(X86Reg.RIP);
    try {
      // One instruction (a single step) exactly; a scheduling quantum at block granularity.
      try {
        this.uc.emuStart(rip, 0n, count === 1 ? { count } : { quantum: count, quanta: this.runQuanta });
      } finally {
        // The interrupt hook delivered an exception: unicorn must not keep it in flight (a second #DE would be #DF).
        if (this.exceptionDelivered) { this.exceptionDelivered = false; this.uc.endExceptionDelivery(); }
      }
    } catch (e) {
      if (!(e instanceof UnicornError)) throw e;
      if (this.stop) return this.stop;
      const mf = this.memFault as { addr: bigint; type: MemType; pkey?: number; sigbus?: boolean } | undefined;
      if (mf?.sigbus) {
        // A page of a file mapping past the file's last page: the fault handler's VM_FAULT_SIGBUS (do_sigbus: BUS_ADRERR).
        const access = mf.type === MemType.WRITE_PROT ? PfAccess.Write : mf.type === MemType.FETCH_PROT ? PfAccess.Fetch : PfAccess.Read;
        if (access === PfAccess.Fetch) this.uc.regWrite(X86Reg.RIP, mf.addr);
        return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRERR, addr: mf.addr, trapno: IntVector.PF, access, reason: `access to 0x${mf.addr.toString(16)}, past the end of the mapped file` } };
      }
      if (mf?.pkey !== undefined) {
        // The mapping allows the access, PKRU denies it (SDM Vol. 3A 4.6.2; Linux's bad_area_access_error: SEGV_PKUERR, si_pkey).
        const what = mf.type === MemType.WRITE_PROT ? 'write' : 'read';
        return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: SEGV_PKUERR as SiCode, addr: mf.addr, trapno: IntVector.PF, pkey: mf.pkey, access: mf.type === MemType.WRITE_PROT ? PfAccess.Write : PfAccess.Read, reason: `${what} of address 0x${mf.addr.toString(16)} denied by PKRU (protection key ${mf.pkey})` } };
      }
      if (mf) {
        const prot = mf.type === MemType.READ_PROT || mf.type === MemType.WRITE_PROT || mf.type === MemType.FETCH_PROT;
        const what = mf.type === MemType.FETCH_UNMAPPED || mf.type === MemType.FETCH_PROT ? 'execute' : mf.type === MemType.WRITE_UNMAPPED || mf.type === MemType.WRITE_PROT ? 'write' : 'read';
        if (mf.type === MemType.FETCH_UNMAPPED || mf.type === MemType.FETCH_PROT) this.uc.regWrite(X86Reg.RIP, mf.addr);
        if (nonCanonical(mf.addr)) return { kind: StopKind.Fault, fault: canonicalGp(mf.addr) };
        const access = what === 'execute' ? PfAccess.Fetch : what === 'write' ? PfAccess.Write : PfAccess.Read;
        return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: prot ? SiCode.SEGV_ACCERR : SiCode.SEGV_MAPERR, addr: mf.addr, trapno: IntVector.PF, access, reason: `${what} of ${prot ? 'protected' : 'unmapped'} address 0x${mf.addr.toString(16)}` } };
      }
      return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: IntVector.GP, reason: e.message } };
    }
    return this.stop ?? { kind: StopKind.Quantum };
  }

  private onInterrupt(intno: number): void {
    this.mirrorSse = this.mirrorX87 = false;
    this.exceptionDelivered = true;
    const rip = this.uc.regRead(X86Reg.RIP);
    const fault = ((): GuestFault => {
      switch (intno) {
        case IntVector.DE: return { signal: GuestSignal.SIGFPE, code: SiCode.FPE_INTDIV, addr: rip, trapno: intno, reason: 'integer divide error (#DE)' };
        // #DB of the program's own TF (a trap: RIP is the next instruction) is TRAP_TRACE with si_addr that
        // RIP (exc_debug_user's send_sigtrap, get_si_code(DR_STEP)); without TF (ICEBP) TRAP_BRKPT.
        case IntVector.DB: return (this.uc.regRead(X86Reg.RFLAGS) & RFLAGS_TF_BIT) !== 0n
          ? { signal: GuestSignal.SIGTRAP, code: SiCode.TRAP_TRACE, addr: rip, trapno: intno, reason: 'single-step trap (TF)' }
          : { signal: GuestSignal.SIGTRAP, code: SiCode.TRAP_BRKPT, addr: rip, trapno: intno, reason: 'debug exception' };
        case IntVector.BP: return { signal: GuestSignal.SIGTRAP, code: SiCode.SI_KERNEL, addr: 0n, trapno: intno, reason: 'breakpoint' };
        case IntVector.MF: case IntVector.XM: return { signal: GuestSignal.SIGFPE, code: 0 as SiCode, addr: rip, trapno: intno, reason: 'floating-point exception' };
        case IntVector.UD: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPN, addr: rip, trapno: intno, reason: 'invalid opcode' };
        case IntVector.AC: return { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRALN, addr: 0n, trapno: intno, reason: 'alignment check' };
        default: return { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: intno, reason: `exception or interrupt ${intno}` };
      }
    })();
    this.stop = { kind: StopKind.Fault, fault };
    this.uc.emuStop();
  }

  /** The trap gate's callback: the address is in the control block. */
  private onGate(): void {
    const c = this.ctl32;
    const key = (c[GateWord.ADDRESS]! >>> 0) + (c[GateWord.ADDRESS + 1]! >>> 0) * 4294967296;
    const d = this.decodeCache.get(key) ?? this.decodeAt(BigInt(key));
    if (d.gate === undefined) this.describeGate(d, 0, 0);
    this.inGate = true;
    try {
      this.onOwned(d);
    } finally {
      this.inGate = false;
    }
  }

  /**
   * Tell the gate what to read before the callback at this instruction: the registers its
   * synchronisation reads and, for the XSAVE family with a plain 64-bit memory operand, the window
   * [pfFrom, pfTo) of the area (what the last execution here read; an empty window at first).
   */
  private describeGate(d: Decoded, pfFrom: number, pfTo: number): void {
    // MMX: no register reads (a block read JS does not absorb would hide changes from the next trap).
    const readCount = d.mmx || !d.touchesSse ? 0 : d.syncX87 ? SYNC_ALL_COUNT : SYNC_SSE_COUNT;
    const m = d.mem;
    const gprIndex = (r: Register): number => (r === Register.None ? -1 : RegisterExt.size(r) === 8 ? ICED_GPR64.indexOf(r) : -2);
    const base = m && !m.ipRel ? gprIndex(m.base) : -1, index = m && !m.ipRel ? gprIndex(m.index) : -1;
    const gprMask = d.mmx ? 0 : gprsRead(d.ins);
    const seg = m?.seg === Register.FS ? 1 : m?.seg === Register.GS ? 2 : 0;
    // A 32-bit address (67h), RIP or another register the gate cannot add: no window.
    const usable = m !== undefined && base !== -2 && index !== -2 && (m.ipRel || m.base !== Register.RIP);
    d.gate = {
      readCount, gprMask, base, index, scaleLog2: m ? Math.log2(Number(m.scale) || 1) : 0, seg,
      disp: m ? (m.ipRel ? m.ipRelAddr : m.disp) : 0n,
      pfFrom: usable ? pfFrom : 0, pfTo: usable ? pfTo : 0,
    };
    this.gate!.describe(d.ip, d.gate);
    // The XSAVE family: the gate does the common cases natively from now on (trap-gate.c xs_fast).
    const xop = NATIVE_XSAVE_OPS.get(d.xop);
    if (xop !== undefined && usable && d.owned && !d.missing && !d.lock && d.needXcr0 === 0) this.gate!.describeXsave(d.ip, xop, d.rexW, Number(d.nextIP - d.ip));
    // Legacy SSE floating point: the gate computes it natively from now on (trap-gate.c fp_fast).
    if (d.owned && !d.missing && !this.trace && process.env.XSTATE_LAB_NO_FP_FAST_PATH === undefined) {
      const fp = legacyFastPath(d.ins);
      if (fp) this.gate!.describeFp(d.ip, fp, Number(d.nextIP - d.ip));
    }
    // VEX/EVEX vector and opmask instructions: the gate does the common register forms natively from now on (trap-gate.c vf_fast).
    if (d.owned && !d.missing && (d.ins.encoding === EncodingKind.VEX || d.ins.encoding === EncodingKind.EVEX) && this.vectorFastPath) {
      if (!this.vectorBound) { this.vectorBound = true; this.bindVectorNative(); }
      // Accepted: the gate reads the instruction's XMM operands itself, no block read first (a declined one is synchronised by execute).
      if (this.gate!.describeVector(d.ip, this.uc.memRead(d.ip, Number(d.nextIP - d.ip))) && d.gate.readCount > 0) {
        d.gate = { ...d.gate, readCount: 0 };
        this.gate!.describe(d.ip, d.gate);
      }
    }
  }

  /** Hook on an owned address: emulate and skip it, or stop the run with a fault. */
  private onOwned(d: Decoded): void {
    const addr = d.ip;
    if (!d.owned) return; // the sweep was out of step here: unicorn runs it
    if (d.mmx) return this.onMmx(d, d.mmx);
    if (d.vexGprOnly && !d.missing && !isEmulatedVector(d.ins)) {
      // VEX forms without vector or mask operands that the model does not define touch no extended
      // state: hand the address back to unicorn for good. BMI1/BMI2 are the model's (emulator/vector/bmi.ts):
      // unicorn 2.0.1 sets their flags unlike the CPU (BLSI of 0 sets CF; PF, AF; measured, issue 11).
      this.removeOwned(addr);
      return;
    }
    this.execute(d, true);
  }

  /**
   * An MMX instruction is about to run: a pending unmasked x87 exception raises #MF first (SDM
   * Vol. 1 9.5.2, measured on AMD Zen 5: MOVQ mm, mm after an unmasked #Z gives SIGFPE); else its
   * MMX transition is recorded (enterMmx at the next synchronisation) and unicorn runs it. The
   * model's FSW is current: unicorn runs no x87 instruction that sets exception flags.
   */
  private onMmx(d: Decoded, site: X87Site): void {
    const fsw = this.xs.regs.legacyView.getUint16(LEGACY.FSW, true);
    if (fsw & FSW_ES) {
      this.stopWith(true, { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGFPE, code: 0 as SiCode, addr: d.ip, trapno: IntVector.MF, reason: `${disassemble(d.ins)}: #MF: x87 exception pending (FSW 0x${fsw.toString(16)})` } });
      return;
    }
    this.ctl32[GateWord.X87_EVENTS] |= X87_EVENT_MMX | ((site.mmxWrites ?? 0) << X87_EVENT_MMX_SHIFT);
  }

  /** Unicorn rejected an instruction: emulate it if owned, else raise SIGILL or report the gap. */
  private onInvalid(): boolean {
    this.mirrorSse = this.mirrorX87 = false;
    const rip = this.uc.regRead(X86Reg.RIP);
    let d: Decoded;
    try {
      d = this.decodeAt(rip);
    } catch {
      this.stop = { kind: StopKind.Fault, fault: nonCanonical(rip) ? canonicalGp(rip) : { signal: GuestSignal.SIGSEGV, code: SiCode.SEGV_MAPERR, addr: rip, trapno: IntVector.PF, access: PfAccess.Fetch, reason: `instruction fetch at 0x${rip.toString(16)}` } };
      return false;
    }
    const ins = d.ins;
    if (ins.code === Code.INVALID || ins.mnemonic === Mnemonic.Ud0 || ins.mnemonic === Mnemonic.Ud1 || ins.mnemonic === Mnemonic.Ud2) {
      this.stop = { kind: StopKind.Fault, fault: this.udFault(rip, ins.code === Code.INVALID ? 'undefined opcode' : disassemble(ins)) };
      return false;
    }
    if (d.owned) {
      this.execute(d, false);
      this.stop ??= { kind: StopKind.Quantum };
      return true;
    }
    const missing = d.missing;
    if (missing) {
      this.stop = { kind: StopKind.Fault, fault: this.udFault(rip, `${disassemble(ins)} needs ${missing}, which ${this.cpu.id} lacks`) };
      return false;
    }
    this.stop = { kind: StopKind.Unemulated, message: `instruction not emulated: ${Mnemonic[ins.mnemonic].toUpperCase()} (${disassemble(ins)}) at 0x${rip.toString(16)}; unicorn 2.0.1 cannot run it and the model does not emulate it` };
    return false;
  }

  private udFault(rip: bigint, reason: string): GuestFault {
    return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPN, addr: rip, trapno: IntVector.UD, reason };
  }

  /**
   * Emulate one owned instruction at RIP. `inHook`: called from a UC_HOOK_CODE hook, where
   * stopping means emuStop without moving RIP (measured: the instruction is then not executed).
   */
  private execute(d: Decoded, inHook: boolean): void {
    const ins = d.ins;
    const rip = d.ip;
    const missing = d.missing;
    if (missing) return this.stopWith(inHook, { kind: StopKind.Fault, fault: this.udFault(rip, `${disassemble(ins)} needs ${missing}, which ${this.cpu.id} lacks`) });
    const needXcr0 = d.needXcr0;
    if ((this.xs.xcr0 & needXcr0) !== needXcr0) return this.stopWith(inHook, { kind: StopKind.Fault, fault: this.udFault(rip, `${disassemble(ins)}: XCR0 lacks 0x${(needXcr0 & ~this.xs.xcr0).toString(16)}`) });
    const before = this.trace ? this.xs.regs.xinuseForSave() : 0;
    this.gprValidMask = this.inGate ? this.ctl32[GateWord.GPRS_READ]! : 0;
    if (d.touchesSse) {
      // Inside the gate, the gate has read what the descriptor asked for and said what changed.
      const inGate = this.inGate;
      const preRead = inGate ? this.ctl32[GateWord.READ_COUNT]! : 0;
      if (!inGate) this.mirrorSse = this.mirrorX87 = false;
      if (d.syncX87) {
        // The XSAVE family needs GPRs too: x87, SSE, RIP and GPRs in one call (or the gate read them).
        const pre = preRead >= SYNC_ALL_COUNT;
        if (!pre) { this.syncBlock.read(SYNC_TRAP_COUNT); this.gprValidMask = ALL_GPRS; }
        this.absorb(true, pre ? this.ctl32[GateWord.CHANGED]! : -1);
        if (inGate) this.mirrorSse = this.mirrorX87 = true;
      } else {
        const pre = preRead >= SYNC_SSE_COUNT;
        if (!pre) this.syncBlock.read(SYNC_SSE_COUNT);
        this.absorb(false, pre ? this.ctl32[GateWord.CHANGED]! : -1);
        if (inGate) this.mirrorSse = true;
      }
    }
    try {
      if (!this.emulate(d)) {
        return this.stopWith(inHook, { kind: StopKind.Unemulated, message: `instruction not emulated: ${Mnemonic[ins.mnemonic].toUpperCase()} (${disassemble(ins)}) at 0x${rip.toString(16)}; ${this.cpu.id} has it but the model does not emulate it` });
      }
    } catch (e) {
      if (e instanceof SimdFpFault && d.touchesSse) {
        // #XM leaves the destination alone but MXCSR holds the flags (SDM Vol. 1 11.5.2.1): write SSE back, RIP stays.
        if (this.inGate) { this.fillImage(false); this.ctl32[GateWord.WRITE_FIRST] = 0; this.ctl32[GateWord.WRITE_COUNT] = SYNC_SSE_COUNT; }
        else this.syncOut(false);
      }
      if (e instanceof ApproximationUnknown) return this.stopWith(inHook, { kind: StopKind.Unemulated, message: `instruction not emulated: ${e.message} at 0x${rip.toString(16)}` });
      if (e instanceof CpuFault) return this.stopWith(inHook, { kind: StopKind.Fault, fault: this.cpuFault(e, rip) });
      // #MF before a waiting x87 instruction: Linux's math_error computes si_code from FSW/FCW (src/linux).
      if (e instanceof X87Fault) return this.stopWith(inHook, { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGFPE, code: 0 as SiCode, addr: rip, trapno: IntVector.MF, reason: `${disassemble(ins)}: ${e.message}` } });
      if (e instanceof GuestMemoryFault) {
        if (nonCanonical(e.addr)) return this.stopWith(inHook, { kind: StopKind.Fault, fault: canonicalGp(e.addr) });
        return this.stopWith(inHook, { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: e.mapped ? SiCode.SEGV_ACCERR : SiCode.SEGV_MAPERR, addr: e.addr, trapno: IntVector.PF, access: e.write ? PfAccess.Write : PfAccess.Read, reason: `${disassemble(ins)}: access to 0x${e.addr.toString(16)}` } });
      }
      throw e;
    }
    const pushX87 = this.x87PushPending;
    this.x87PushPending = false;
    const writes = pushX87 && d.touchesSse ? LegacyWrite.X87AndSse : d.writes;
    this.emulatedCount++;
    if (this.inGate) {
      // The gate writes the registers and RIP back after the callback returns.
      const c = this.ctl32;
      this.ctl64[GateWord.NEXT_RIP >> 1] = d.nextIP;
      c[GateWord.WRITE_RIP] = 1;
      c[GateWord.WRITE_FIRST] = 0;
      if (writes === LegacyWrite.X87AndSse && d.touchesSse) {
        this.fillImage(true);
        c[GateWord.WRITE_COUNT] = SYNC_ALL_COUNT;
      } else if (writes === LegacyWrite.Sse && d.touchesSse) {
        this.fillImage(false);
        c[GateWord.WRITE_COUNT] = SYNC_SSE_COUNT;
      }
    } else {
      this.ripView[0] = d.nextIP;
      if (writes === LegacyWrite.X87AndSse && d.touchesSse) {
        // Restores: x87, SSE and RIP (right after them in the list) in one call.
        this.fillImage(true);
        this.syncBlock.write(SYNC_RIP_INDEX + 1);
      } else {
        if (writes === LegacyWrite.Sse && d.touchesSse) this.syncOut(false);
        this.syncBlock.write(1, SYNC_RIP_INDEX);
      }
    }
    if (this.trace) {
      const after = this.xs.regs.xinuseForSave();
      this.trace(`0x${rip.toString(16)}: ${disassemble(ins)}${after !== before ? `  XINUSE 0x${before.toString(16)} -> 0x${after.toString(16)}` : ''}`);
    }
    // WRPKRU or an XRSTOR of PKRU changed a key's rights: the pages re-protected at once, and the run
    // ends after this instruction so that the next access starts from fresh translations.
    if (this.cr4.pke && this.currentPkru() !== this.pkruApplied && this.syncPkru()) this.stopWith(inHook, { kind: StopKind.Quantum });
    // A POPF that set AC: the run ends after it, so that the next instructions are checked for #AC (run()).
    if ((d.mnemonic === Mnemonic.Popf || d.mnemonic === Mnemonic.Popfq) && this.stop === undefined && (this.uc.regRead(X86Reg.RFLAGS) & RFLAGS_AC) !== 0n) {
      this.stop = { kind: StopKind.Quantum };
      if (inHook) this.uc.stopBeforeNextBlock();
    }
  }

  private stopWith(inHook: boolean, s: Stop): void {
    this.stop = s;
    if (inHook) this.uc.emuStop();
  }

  private cpuFault(e: CpuFault, rip: bigint): GuestFault {
    switch (e.vector) {
      case Vector.UD: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPN, addr: rip, trapno: IntVector.UD, reason: e.reason };
      // Linux's XFD #NM handler sends SIGILL when the task has no permission (arch/x86/kernel/traps.c handle_xfd_event).
      case Vector.NM: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPC, addr: rip, trapno: IntVector.NM, reason: e.reason };
      // Linux's exc_alignment_check sends no address (do_trap with NULL; measured si_addr 0).
      case Vector.AC: return { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRALN, addr: 0n, trapno: IntVector.AC, reason: e.reason };
      // Linux: exc_simd_coprocessor_error -> math_error (arch/x86/kernel/traps.c), si_code from fpu__exception_code, si_addr the instruction.
      case Vector.XM: return { signal: GuestSignal.SIGFPE, code: (e instanceof SimdFpFault ? e.siCode : 0) as SiCode, addr: rip, trapno: IntVector.XM, reason: e.reason };
      default: return { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: IntVector.GP, reason: e.reason };
    }
  }

  /** Returns false when the model has no emulation for this owned instruction. */
  private emulate(d: Decoded): boolean {
    const ins = d.ins;
    const m = d.mnemonic;
    if (d.xsaveFamily) { this.emulateXsaveFamily(d); return true; }
    if (d.x87Env !== X87EnvOp.None) return this.emulateX87Env(d);
    if (d.x87) { this.emulateX87(d, d.x87); return true; }
    switch (m) {
      case M_CPUID: this.emulateCpuid(); return true;
      case M_XGETBV: {
        const [lo, hi] = xgetbv(this.xs, this.gpr32(X86Reg.RCX), ins.hasLockPrefix);
        this.uc.regWriteBatch([X86Reg.RAX, X86Reg.RDX], [BigInt(lo >>> 0), BigInt(hi >>> 0)]);
        return true;
      }
      case M_XSETBV: xsetbv(this.xs, this.gpr32(X86Reg.RCX), this.gpr32(X86Reg.RAX), this.gpr32(X86Reg.RDX), ins.hasLockPrefix); return true;
      case M_RDPKRU: case M_WRPKRU: this.emulatePkru(ins); return true;
      default: {
        const fsgs = FSGSBASE_INSNS.get(m);
        if (fsgs) { this.emulateFsgsbase(ins, fsgs); return true; }
        if (SYSTEM_INSNS.has(m)) return emulateSystemInsn(ins, this.generalEnv, this.systemSources, this.vendorRules);
        if (isAmx(m)) return executeAmx(ins, this.amxEnv);
        return emulateVector(ins, this.env);
      }
    }
  }

  /**
   * An x87 instruction the model computes (emulator/x87/fpu.ts), then its pointer effects: FIP,
   * FOP and FCS from it, FDP and FDS from its memory operand (its offset, without the segment
   * base, as observed instructions get them), with FDP_EXCPTN_ONLY only when it raised an
   * unmasked exception (SDM Vol. 1 8.1.8). Events of instructions unicorn ran before it were
   * applied by the synchronisation.
   */
  private emulateX87(d: Decoded, site: X87Site): void {
    const ins = d.ins;
    const env = this.env;
    const io: X87Io = {
      ea: () => effectiveAddress(ins, env),
      read: (a, n) => this.read(a, n),
      write: (a, b) => this.write(a, b),
      setAx: (v) => env.setGpr(Register.AX, BigInt(v)),
      setCompareFlags: (zf, pf, cf) => env.setStatusFlags({ cf, pf, af: 0, zf, sf: 0, of: 0 }),
      rflags: () => this.uc.regRead(X86Reg.RFLAGS),
    };
    const r = executeX87(this.xs, ins, io);
    if (!setsX87Pointers(d.mnemonic)) return;
    const regs = this.xs.regs;
    const v = regs.legacyView;
    v.setBigUint64(LEGACY.FIP, site.addr, true);
    v.setUint16(LEGACY.FOP, site.fop, true);
    regs.fcs = this.userSelectors.cs;
    const mem = site.mem;
    if (mem && (!this.cpu.features.fdpExcptnOnly || r.unmasked)) {
      let off = mem.disp;
      if (!mem.ipRel) {
        if (mem.base !== Register.None) off += env.getGpr(RegisterExt.fullRegister(mem.base));
        if (mem.index !== Register.None) off += env.getGpr(RegisterExt.fullRegister(mem.index)) * BigInt(mem.scale);
      }
      v.setBigUint64(LEGACY.FDP, mem.addr32 ? off & 0xffffffffn : off & MASK64, true);
      regs.fds = this.selectorOf(mem.seg);
    }
    regs.touched(XFeature.X87, true);
  }

  /**
   * FNSTENV, FNSAVE, FLDENV, FRSTOR in the 32-bit protected-mode format, or with a 66H prefix the
   * 16-bit one (emulator/x87-env.ts). A store checks the whole operand before the state changes,
   * so a fault leaves the registers as they were.
   */
  private emulateX87Env(d: Decoded): boolean {
    const ins = d.ins;
    const size = ins.memorySize;
    const bytes16 = size === MemorySize.FpuEnv14 || size === MemorySize.FpuState94;
    if (!bytes16 && size !== MemorySize.FpuEnv28 && size !== MemorySize.FpuState108) return false;
    const ea = effectiveAddress(ins, this.env);
    const xs = this.xs;
    // FLDENV and FRSTOR wait: a pending unmasked exception raises #MF first (SDM Vol. 1 8.3.12;
    // measured on AMD Zen 5 by `selfcheck x87`: SIGFPE at the FLDENV after an unmasked underflow).
    if (d.x87Env === X87EnvOp.Fldenv || d.x87Env === X87EnvOp.Frstor) {
      const v = xs.regs.legacyView, fsw = v.getUint16(LEGACY.FSW, true);
      if (fsw & FSW_ES) throw new X87Fault(fsw, v.getUint16(LEGACY.FCW, true));
    }
    switch (d.x87Env) {
      case X87EnvOp.Fnstenv: this.write(ea, fnstenv(xs, bytes16)); afterFnstenv(xs); return true;
      case X87EnvOp.Fnsave: this.write(ea, fnsave(xs, bytes16)); afterFnsave(xs); return true;
      case X87EnvOp.Fldenv: fldenv(xs, this.read(ea, bytes16 ? X87_ENV16_BYTES : X87_ENV_BYTES)); return true;
      case X87EnvOp.Frstor: frstor(xs, this.read(ea, bytes16 ? X87_SAVE16_BYTES : X87_SAVE_BYTES)); return true;
      default: return false;
    }
  }

  /** Bits 31:0 of RAX, RCX or RDX, from the per-trap GPR block. */
  private gpr32(r: X86Reg): number {
    const k = r === X86Reg.RAX ? 0 : r === X86Reg.RCX ? 1 : r === X86Reg.RDX ? 2 : -1;
    if (k < 0) return Number(this.uc.regRead(r) & 0xffffffffn);
    if (!((this.gprValidMask >>> k) & 1)) this.loadGprs();
    return this.gprLo32[k * 2]!;
  }

  private loadGprs(): void {
    this.syncBlock.read(16, SYNC_GPR_INDEX);
    this.gprValidMask = ALL_GPRS;
  }

  /**
   * An instruction whose CPUID bit is 0 on the profile's CPU: the fault CpuModel.faultWhenNotEnumerated
   * gives (the capture's measurement; else the manual's #UD). Returns only when the measurement says
   * the silicon implements it (a hypervisor hid the bit): then its other checks decide.
   */
  private notEnumerated(insn: FaultInsn, cpuidBit: string): void {
    if (this.cpu.implementsDespiteCpuid(insn)) return;
    const f = this.cpu.faultWhenNotEnumerated(insn);
    throw new CpuFault(vectorOf(f.vector) ?? Vector.UD, `${insn}: ${cpuidBit} = 0 (${f.source})`);
  }

  /**
   * RDPKRU / WRPKRU (SDM Vol. 2B): #UD without CR4.PKE (which the OS can set only with CPUID PKU,
   * Vol. 3A 2.5) or with LOCK, #GP when ECX (and EDX for WRPKRU) is not 0.
   */
  private emulatePkru(ins: Instruction): void {
    const write = ins.mnemonic === Mnemonic.Wrpkru;
    const name = write ? 'WRPKRU' : 'RDPKRU';
    const pkru = this.xs.regs.comp[XFeature.PKRU];
    if (!this.cpu.features.pku) this.notEnumerated(name, 'CPUID.(07H,0):ECX.PKU[bit 3]');
    if (!this.cr4.pke || !pkru) throw new CpuFault(Vector.UD, `${name}: CR4.PKE = 0`);
    if (ins.hasLockPrefix) throw new CpuFault(Vector.UD, `${name} with a LOCK prefix`);
    if (this.gpr32(X86Reg.RCX) !== 0) throw new CpuFault(Vector.GP, `${name}: ECX is not 0`);
    const view = new DataView(pkru.buffer, pkru.byteOffset, pkru.byteLength);
    if (!write) {
      this.uc.regWriteBatch([X86Reg.RAX, X86Reg.RDX], [BigInt(view.getUint32(0, true)), 0n]);
      return;
    }
    if (this.gpr32(X86Reg.RDX) !== 0) throw new CpuFault(Vector.GP, 'WRPKRU: EDX is not 0');
    view.setUint32(0, this.gpr32(X86Reg.RAX), true);
    this.xs.regs.touched(XFeature.PKRU, true);
  }

  /**
   * RDFSBASE / RDGSBASE / WRFSBASE / WRGSBASE (SDM Vol. 2B): #UD with LOCK, without CPUID.07H.0H:EBX.FSGSBASE
   * or with CR4.FSGSBASE = 0 (the kernel's choice: Linux 5.9+ sets it unless it cleared the feature);
   * WR*BASE #GP(0) when the value is not canonical. The 32-bit forms read and write bits 31:0.
   */
  private emulateFsgsbase(ins: Instruction, op: { name: FaultInsn; base: X86Reg; write: boolean }): void {
    if (ins.hasLockPrefix) throw new CpuFault(Vector.UD, `${op.name} with a LOCK prefix`);
    if (!this.cpu.features.fsgsbase) this.notEnumerated(op.name, 'CPUID.07H.0H:EBX.FSGSBASE[bit 0]');
    if (!this.cr4.fsgsbase) throw new CpuFault(Vector.UD, `${op.name}: CR4.FSGSBASE = 0`);
    const reg = ins.opRegister(0);
    if (!op.write) { this.env.setGpr(reg, this.uc.regRead(op.base)); return; }
    const v = this.env.getGpr(reg);
    if (nonCanonical(v)) throw new CpuFault(Vector.GP, `${op.name}: 0x${v.toString(16)} is not canonical`);
    this.uc.regWrite(op.base, v);
  }

  /** CPUID answered from the profile, with the OS-dependent bits live (SDM Vol. 2A CPUID). */
  emulateCpuid(): void {
    const [rax, rcx] = this.uc.regReadBatch([X86Reg.RAX, X86Reg.RCX]);
    const leaf = Number(rax! & 0xffffffffn);
    const sub = Number(rcx! & 0xffffffffn);
    const r = this.cpuidAnswer(leaf, sub);
    this.uc.regWriteBatch([X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX], r.map((v) => BigInt(v >>> 0)));
    this.trace?.(`cpuid leaf 0x${leaf.toString(16)}.${sub}: ${r.map((v) => (v >>> 0).toString(16).padStart(8, '0')).join(' ')}`);
  }

  /** CpuModel.cpuidAnswer for this thread's XCR0, IA32_XSS and the CR4 bits. */
  cpuidAnswer(leaf: number, sub: number): number[] {
    return [...this.cpu.cpuidAnswer(leaf, sub, { xcr0: this.xs.xcr0, xss: this.xs.xss, osxsave: this.xs.cr4Osxsave, ospke: this.cr4.pke })];
  }

  /** Effective address of a cached memory operand (as avx.ts effectiveAddress computes it). */
  private effectiveAddressOf(mem: MemOperand): bigint {
    let a: bigint;
    if (mem.ipRel) a = mem.ipRelAddr;
    else {
      a = mem.disp;
      if (mem.base !== Register.None) a += this.env.getGpr(mem.base);
      if (mem.index !== Register.None) a += this.env.getGpr(mem.index) * mem.scale;
    }
    if (mem.seg === Register.FS || mem.seg === Register.GS) a += this.env.segmentBase(mem.seg);
    return a & MASK64;
  }

  private areaSize(kind: AreaKindIndex, mask: number): number {
    const key = kind * 2 ** 32 + (mask >>> 0);
    let n = this.areaSizes.get(key);
    if (n === undefined) { n = requiredAreaSize(this.xs, AREA_KINDS[kind]!, mask); this.areaSizes.set(key, n); }
    return n;
  }

  private emulateXsaveFamily(d: Decoded): void {
    const ins = d.ins;
    const op = d.xop;
    const mem = d.mem;
    // Inside the gate, a window read means the gate computed the operand's address from the same registers.
    const ea = this.inGate && this.ctl32[GateWord.PF_STATUS] !== 0 ? this.ctl64[GateWord.MEM_ADDR >> 1]!
      : mem ? this.effectiveAddressOf(mem) : effectiveAddress(ins, this.env);
    const address = Number(ea);
    const rexW = d.rexW;
    const lock = d.lock;
    const eax = this.gpr32(X86Reg.RAX);
    const edx = this.gpr32(X86Reg.RDX);
    const xs = this.xs;
    const rfbm = (eax & (xs.xcr0 | xs.xss)) >>> 0;
    switch (op) {
      case XsaveOp.Fxsave: {
        const a = this.wholeArea(ea, 512, true);
        fxsave(xs, a, address, rexW, lock);
        this.uc.memWrite(ea, a);
        return;
      }
      case XsaveOp.Fxrstor: return fxrstor(xs, this.wholeArea(ea, 512, false), address, rexW, lock);
      case XsaveOp.Xsave: case XsaveOp.Xsaveopt: case XsaveOp.Xsavec: case XsaveOp.Xsaves: {
        const size = this.areaSize(d.areaKind, rfbm);
        const area = this.areaOf(size);
        this.check(ea, size, Prot.READ);
        this.check(ea, size, Prot.WRITE);
        this.areaEa = ea;
        const gate = this.viaGate();
        // Outside the gate, one window read before the instruction ([416, size): everything but the
        // legacy region, which saves write whole or in ranges whose gaps are not crossed) also
        // supplies the bytes between written ranges, so that they go out in one call.
        const pfFrom = gate ? 0 : LEGACY.END_OF_SAVED, pfTo = gate ? 0 : size;
        this.beginArea(ea, size, gate, pfFrom, pfTo);
        try {
          switch (op) {
            case XsaveOp.Xsave: xsave(xs, area, address, eax, edx, rexW, lock, this.areaAccess); break;
            case XsaveOp.Xsaveopt: xsaveopt(xs, area, address, eax, edx, rexW, lock, this.areaAccess); break;
            case XsaveOp.Xsavec: xsavec(xs, area, address, eax, edx, rexW, lock, this.areaAccess); break;
            default: xsaves(xs, area, address, eax, edx, rexW, lock, this.areaAccess); break;
          }
        } finally {
          this.areaPfFrom = this.areaPfTo = 0;
        }
        this.endArea(ea, gate, true);
        return;
      }
      default: {
        // XRSTOR(S): the header says which format, and so how many bytes the restore reads.
        const supervisor = op === XsaveOp.Xrstors;
        const gate = this.viaGate();
        let size: number;
        if (gate) {
          // The header from the gate's window (or one read), then the restore fetches what it loads.
          this.check(ea, 16, Prot.READ, XSAVE_HEADER_OFFSET);
          const c = this.ctl32;
          const inWindow = c[GateWord.PF_STATUS] === 1 && c[GateWord.PF_FROM]! <= XSAVE_HEADER_OFFSET && c[GateWord.PF_TO]! >= XSAVE_HEADER_OFFSET + 16;
          if (!inWindow) this.uc.memReadInto(ea + BigInt(XSAVE_HEADER_OFFSET), this.areaRange(XSAVE_HEADER_OFFSET, XSAVE_HEADER_OFFSET + 16));
          size = this.restoreSize(this.areaView, XSAVE_HEADER_OFFSET, rfbm);
          this.check(ea, size, Prot.READ);
        } else {
          // Usually: the standard-format size for RFBM is readable; one read of the legacy region
          // and header gives the format (then the restore has the bytes it loads); else the header alone.
          const guess = this.areaSize(AreaKindIndex.XrstorStandard, rfbm);
          let whole = false;
          if (guess >= XSAVE_HEADER_OFFSET + 16 && this.accessible(ea, guess, Prot.READ)) {
            this.uc.memReadInto(ea, this.areaOf(guess));
            size = this.restoreSize(this.areaView, XSAVE_HEADER_OFFSET, rfbm);
            // areaOf views share one buffer from offset 0: the bytes just read are the area's first ones.
            whole = size <= guess;
          } else {
            const hdrAt = ea + BigInt(XSAVE_HEADER_OFFSET);
            this.check(hdrAt, 16, Prot.READ);
            this.uc.memReadInto(hdrAt, this.headerBuf);
            size = this.restoreSize(this.headerView, 0, rfbm);
          }
          if (!whole) {
            const a = this.wholeArea(ea, size, false);
            return supervisor ? xrstors(xs, a, address, eax, edx, rexW, lock) : xrstor(xs, a, address, eax, edx, rexW, lock);
          }
          const a = this.areaOf(size);
          return supervisor ? xrstors(xs, a, address, eax, edx, rexW, lock) : xrstor(xs, a, address, eax, edx, rexW, lock);
        }
        const area = this.areaOf(size);
        this.areaEa = ea;
        this.beginArea(ea, size, true, 0, 0, XSAVE_HEADER_OFFSET, XSAVE_HEADER_OFFSET + 16);
        try {
          if (supervisor) xrstors(xs, area, address, eax, edx, rexW, lock, this.areaAccess);
          else xrstor(xs, area, address, eax, edx, rexW, lock, this.areaAccess);
        } finally {
          this.areaPfFrom = this.areaPfTo = 0;
        }
        this.endArea(ea, true, false);
        return;
      }
    }
  }

  /** The bytes an XRSTOR(S) reads, from the header at `hv[at..]`: its format and, compacted, XCOMP_BV. */
  private restoreSize(hv: DataView, at: number, rfbm: number): number {
    const compacted = (hv.getUint32(at + 12, true) & XCOMP_BV_FORMAT_HI) !== 0;
    if (!compacted) return this.areaSize(AreaKindIndex.XrstorStandard, rfbm);
    // Compacted offsets follow all of XCOMP_BV (SDM Vol. 1 13.4.3), not only its RFBM part: the
    // restore reads up to the end of the last RFBM component in that layout (xsave-fast.c
    // xl_xs_restore_size keeps the same rule). The layout of XCOMP_BV & RFBM alone stopped short.
    const xcomp = hv.getUint32(at + 8, true);
    const offsets = this.cpu.compactedOffsets(xcomp);
    let end = this.areaSize(AreaKindIndex.XrstorCompacted, 0);
    for (const c of this.cpu.extendedComponents) {
      if (((xcomp & rfbm) >>> c.number) & 1) end = Math.max(end, offsets[c.number]! + c.size);
    }
    return end;
  }

  /** The whole area [ea, ea+size) read into the area buffer, permissions checked (FXSAVE, FXRSTOR, odd XRSTORs). */
  private wholeArea(ea: bigint, size: number, store: boolean): Uint8Array {
    const area = this.areaOf(size);
    this.check(ea, size, Prot.READ);
    if (store) this.check(ea, size, Prot.WRITE);
    this.uc.memReadInto(ea, area);
    return area;
  }

  /**
   * Before an XSAVE-family instruction that reports its accesses (AreaAccess). Inside the gate, the
   * bytes it fetches come from the window the gate read before the callback, or are read when
   * fetched (endArea then widens the window for next time: what this execution fetched, and
   * [knownFrom, knownTo), bytes the caller read); outside, [pfFrom, pfTo) is read now.
   */
  private beginArea(ea: bigint, size: number, gate: boolean, pfFrom: number, pfTo: number, knownFrom = 0, knownTo = 0): void {
    if (gate) {
      const c = this.ctl32;
      const ok = c[GateWord.PF_STATUS] === 1;
      pfFrom = ok ? c[GateWord.PF_FROM]! : 0;
      pfTo = ok ? Math.min(c[GateWord.PF_TO]!, size) : 0;
    } else {
      if (pfTo > size) pfTo = size;
      if (pfFrom < pfTo) this.uc.memReadInto(ea + BigInt(pfFrom), this.areaRange(pfFrom, pfTo));
    }
    this.areaPfFrom = this.windowFrom = pfFrom;
    this.areaPfTo = this.windowTo = pfTo;
    this.fetchLo = knownFrom < knownTo ? knownFrom : 1 << 30;
    this.fetchHi = knownFrom < knownTo ? knownTo : 0;
    this.areaWriteCount = 0;
  }

  /** After the instruction: widen the gate's window if it fetched outside it; copy out what it wrote. */
  private endArea(ea: bigint, gate: boolean, store: boolean): void {
    const wFrom = this.windowFrom, wTo = this.windowTo;
    if (gate) {
      const lo = this.fetchLo, hi = this.fetchHi;
      if (lo < hi && (lo < wFrom || hi > wTo)) {
        const d = this.decodeCache.get(Number(this.ctl64[GateWord.ADDRESS >> 1]));
        if (d && hi <= this.areaBuf.length) this.describeGate(d, wFrom < wTo ? Math.min(lo, wFrom) : lo, Math.max(hi, wTo));
      }
    }
    if (store) this.flushAreaWrites(ea, wFrom, wTo);
  }

  /** Whether this trap's area goes through the gate (its window in, its write ranges out). */
  private viaGate(): boolean {
    return this.inGate && this.areaBuf === this.gate!.area;
  }

  /**
   * Copy the ranges in areaWrites from areaBuf to the guest area at `ea`: adjacent ones merged,
   * and ranges joined across a gap that lies inside [pfFrom, pfTo), whose bytes hold the guest's.
   */
  private flushAreaWrites(ea: bigint, pfFrom: number, pfTo: number): void {
    const w = this.areaWrites;
    const len = 2 * this.areaWriteCount;
    // Insertion sort of the [from, to) pairs by `from` (a handful per instruction).
    for (let i = 2; i < len; i += 2) {
      const f = w[i]!, t = w[i + 1]!;
      let j = i - 2;
      for (; j >= 0 && w[j]! > f; j -= 2) { w[j + 2] = w[j]!; w[j + 3] = w[j + 1]!; }
      w[j + 2] = f; w[j + 3] = t;
    }
    // Inside the gate, the gate copies the ranges out after the callback (up to GATE_MAX_WRITES).
    const c = this.ctl32;
    const viaGate = this.viaGate();
    if (viaGate) this.ctl64[GateWord.WRITE_BASE >> 1] = ea;
    let n = 0;
    for (let i = 0; i < len;) {
      const from = w[i]!;
      let to = w[i + 1]!;
      i += 2;
      while (i < len && (w[i]! <= to || (to >= pfFrom && w[i]! <= pfTo))) { if (w[i + 1]! > to) to = w[i + 1]!; i += 2; }
      if (viaGate && n < GATE_MAX_WRITES) {
        c[GateWord.WRITES + 2 * n] = from;
        c[GateWord.WRITES + 2 * n + 1] = to;
        n++;
      } else {
        this.uc.memWrite(ea + BigInt(from), this.areaRange(from, to));
      }
    }
    if (viaGate) c[GateWord.N_WRITES] = n;
    this.areaWriteCount = 0;
  }

  /** areaBuf[from, to), a cached view. */
  private areaRange(from: number, to: number): Uint8Array {
    const key = from * 1048576 + to;
    let v = this.areaRanges.get(key);
    if (!v) { v = this.areaBuf.subarray(from, to); this.areaRanges.set(key, v); }
    return v;
  }

  /** A reused buffer of `size` bytes for a save area (same view for the same size). */
  private areaOf(size: number): Uint8Array {
    let v = this.areaViews.get(size);
    if (v) return v;
    if (this.areaBuf.length < size) {
      this.areaBuf = new Uint8Array(Math.max(size, this.areaBuf.length * 2));
      this.areaView = new DataView(this.areaBuf.buffer);
      this.areaViews.clear();
      this.areaRanges.clear();
    }
    v = this.areaBuf.subarray(0, size);
    this.areaViews.set(size, v);
    return v;
  }

  // ------------------------------------------------------------------ x87/SSE synchronisation

  /**
   * Copy unicorn's x87/SSE registers into the register file. A register that changed since the
   * model last saw it was written by an instruction unicorn ran, so its component is in use.
   */
  syncIn(x87: boolean): void {
    this.mirrorSse = this.mirrorX87 = false;
    this.syncBlock.read(x87 ? SYNC_ALL_COUNT : SYNC_SSE_COUNT);
    this.absorb(x87);
    if (this.x87PushPending) { this.x87PushPending = false; this.syncOut(true); }
  }
  /** The model changed x87 state behind unicorn (enterMmx): write it back at the next chance. */
  private x87PushPending = false;

  /**
   * The compare-and-copy half of syncIn, over what the sync block last read. `changed`: the gate's
   * CHANGED bits for this read (-1: unknown); with the block mirroring the model, a register whose
   * bit is clear equals the model's and is not compared.
   */
  private absorb(x87: boolean, changedBits = -1): void {
    const r = this.xs.regs;
    const L = this.legacyWords(r.legacy);
    const blk = this.syncBlock;
    const I = this.syncImg32;
    const sseMask = this.mirrorSse ? changedBits : -1;
    for (let n = 0, w = LEGACY.XMM0 >> 2; n < 16; n++, w += 4) {
      if (!((sseMask >>> n) & 1)) continue;
      if (L[w] === I[w] && L[w + 1] === I[w + 1] && L[w + 2] === I[w + 2] && L[w + 3] === I[w + 3]) continue;
      L[w] = I[w]!; L[w + 1] = I[w + 1]!; L[w + 2] = I[w + 2]!; L[w + 3] = I[w + 3]!;
      if (r.tracksZeroRegisters) r.setRegInUse(XFeature.SSE, n, true);
      r.touched(XFeature.SSE, true);
    }
    this.applySseEvents();
    const dv = blk.view;
    r.mxcsr = dv.getUint32(LEGACY.MXCSR, true);
    if (!x87) return;
    // The pointers are the model's own (unicorn tracks FIP loosely and never FOP, FCS, FDS):
    // they come from the observed x87 instructions, and unicorn's FIP/FDP/FOP/FCS/FDS are ignored.
    // unicorn's own ES is set only by an instruction that raised an unmasked exception.
    const fninitLast = this.applyX87Events((dv.getUint16(LEGACY.FSW, true) & FSW_ES) !== 0);
    const mmx = this.ctl32[GateWord.X87_EVENTS]! & X87_EVENT_MMX ? this.ctl32[GateWord.X87_EVENTS]! >>> X87_EVENT_MMX_SHIFT & 0xff : -1;
    if (mmx >= 0) this.ctl32[GateWord.X87_EVENTS] &= X87_EVENT_IP | X87_EVENT_MEM;
    if (mmx < 0 && this.mirrorX87 && !((changedBits >>> CHANGED_X87_BIT) & 1)) { if (fninitLast) xinuseAfterFninit(this.xs); return; }
    const ftag = dv.getUint16(IMG_FTAG, true);
    let abridged = 0;
    for (let i = 0; i < 8; i++) if (((ftag >> (2 * i)) & 3) !== X87_TAG_EMPTY) abridged |= 1 << i;
    // FCW and FSW (word 0), with FSW.ES and B as the flags and masks make them (unicorn's FLDCW
    // leaves ES clear when it unmasks a pending exception: measured, issue 11).
    const fcw = dv.getUint16(LEGACY.FCW, true);
    const w0 = (fcw | (fswWithSummary(dv.getUint16(LEGACY.FSW, true), fcw) << 16)) | 0;
    let changed = false;
    if (L[0] !== w0) { L[0] = w0; changed = true; }
    if (r.legacy[LEGACY.FTW] !== abridged) { r.legacy[LEGACY.FTW] = abridged; changed = true; }
    // ST0-7 with their reserved bytes, which unicorn never writes: 0.
    for (let w = LEGACY.ST0 >> 2; w < LEGACY.XMM0 >> 2; w++) if (L[w] !== I[w]) { L[w] = I[w]!; changed = true; }
    if (mmx >= 0) { this.enterMmx(mmx); changed = true; this.x87PushPending = true; }
    if (changed) r.touched(XFeature.X87, true);
    // FNINIT ran last (only control instructions after it): XINUSE[0] as that CPU leaves it.
    if (fninitLast) xinuseAfterFninit(this.xs);
  }

  /**
   * After MMX instructions ran in unicorn: TOP 0 and every tag valid, and the MMX registers they
   * wrote (physical registers, `written` bit k for MMk) get exponent bits FFFFH (SDM Vol. 1 9.5.1,
   * Table 9-2; measured on AMD Zen 5: TOP 0 and FTW FFH after PXOR, also after a read-only MOVD).
   * unicorn 2.0.1 leaves the exponent as it was (issue 11).
   */
  private enterMmx(written: number): void {
    enterMmxState(this.xs.regs.legacy, written);
  }


  /** Copy the register file's SSE registers (and with `x87`, the x87 state) back into unicorn. */
  syncOut(x87: boolean): void {
    this.mirrorSse = this.mirrorX87 = false;
    this.fillImage(x87);
    this.syncBlock.write(x87 ? SYNC_ALL_COUNT : SYNC_SSE_COUNT);
  }

  /** The image half of syncOut: the register file's x87/SSE state into the sync block. */
  private fillImage(x87: boolean): void {
    const r = this.xs.regs;
    const L = r.legacy;
    const W = this.legacyWords(L);
    const I = this.syncImg32;
    const blk = this.syncBlock;
    I.set(this.legacyXmmWords, LEGACY.XMM0 >> 2);
    const dv = blk.view;
    dv.setUint32(LEGACY.MXCSR, r.mxcsr, true);
    if (x87) {
      // FCW, FSW, FOP, FIP, FDP (FTW goes as the full tag word, at IMG_FTAG).
      I.set(this.legacyHeadWords, 0);
      // ST(i): 10 bytes; the slot's 6 reserved bytes stay 0 in the image, as unicorn never writes them.
      for (let w = LEGACY.ST0 >> 2; w < LEGACY.XMM0 >> 2; w += 4) {
        I[w] = W[w]!;
        I[w + 1] = W[w + 1]!;
        I[w + 2] = W[w + 2]! & 0xffff;
        I[w + 3] = 0;
      }
      let tag = 0;
      const abridged = L[LEGACY.FTW]!;
      for (let i = 0; i < 8; i++) if (!((abridged >> i) & 1)) tag |= X87_TAG_EMPTY << (2 * i);
      dv.setUint16(IMG_FTAG, tag, true);
      dv.setUint16(IMG_FCS, r.fcs & 0xffff, true);
      dv.setUint16(IMG_FDS, r.fds & 0xffff, true);
    }
  }

  /** The current register file's legacy bytes as 32-bit words (the view is rebuilt after a thread switch). */
  private legacyWords(legacy: Uint8Array): Int32Array {
    if (this.legacy32Of !== legacy) {
      this.legacy32Of = legacy;
      this.legacy32 = new Int32Array(legacy.buffer, legacy.byteOffset, legacy.byteLength >> 2);
      this.legacyXmmWords = this.legacy32.subarray(LEGACY.XMM0 >> 2, LEGACY.END_OF_SAVED >> 2);
      this.legacyHeadWords = this.legacy32.subarray(0, LEGACY.MXCSR >> 2);
    }
    return this.legacy32;
  }

  // ------------------------------------------------------------------ the vector engine's view of the CPU

  /** The AMX instructions' view (emulator/amx.ts): the vector engine's, the running thread's state, the canonical-address rule. */
  private get amxEnv(): AmxEnv {
    if (this.amxEnvCache) return this.amxEnvCache;
    const self = this, env = this.env;
    return this.amxEnvCache = {
      cpu: this.cpu,
      get xs(): XsaveContext { return self.xs; },
      getGpr: (r) => env.getGpr(r),
      segmentBase: (seg) => env.segmentBase(seg),
      readMem: (a, n) => this.read(a, n),
      writeMem: (a, b) => this.write(a, b),
      canonical: (a) => !nonCanonical(a),
    };
  }
  private amxEnvCache: AmxEnv | undefined;

  private makeEnv(): ExecEnv {
    const uc = this.uc;
    const self = this;
    return {
      get vec() { return self.vec; },
      getGpr(reg: Register): bigint {
        const s = gprSlot(reg);
        if (!((self.gprValidMask >>> s.k) & 1)) self.loadGprs();
        const full = self.gpr64[s.k]!;
        if (s.bytes === 8) return full;
        return (full >> s.shift) & ((1n << BigInt(s.bytes * 8)) - 1n);
      },
      setGpr(reg: Register, v: bigint): void {
        const s = gprSlot(reg);
        const bits = BigInt(s.bytes * 8);
        const val = v & ((1n << bits) - 1n);
        self.gprValidMask = 0;
        // SDM Vol. 1 3.4.1.1: 32-bit writes zero-extend; 8/16-bit writes keep the other bits.
        if (s.bytes >= 4) { uc.regWrite(s.uc, val); return; }
        const full = uc.regRead(s.uc);
        const mask = ((1n << bits) - 1n) << s.shift;
        uc.regWrite(s.uc, (full & ~mask) | (val << s.shift));
      },
      readMem: (addr: bigint, len: number) => self.read(addr, len),
      writeMem: (addr: bigint, data: Uint8Array) => self.write(addr, data),
      setStatusFlags(f): void {
        let fl = uc.regRead(X86Reg.RFLAGS);
        const set = (b: number, v: number): void => { fl = v ? fl | (1n << BigInt(b)) : fl & ~(1n << BigInt(b)); };
        set(FLAG.CF, f.cf); set(FLAG.PF, f.pf); set(FLAG.AF, f.af); set(FLAG.ZF, f.zf); set(FLAG.SF, f.sf); set(FLAG.OF, f.of);
        uc.regWrite(X86Reg.RFLAGS, fl);
      },
      segmentBase: (seg: Register) => uc.regRead(seg === Register.FS ? X86Reg.FS_BASE : X86Reg.GS_BASE),
    };
  }

  // ------------------------------------------------------------------ fork

  /** Copy of the whole CPU state unicorn holds (for another engine). */
  readCpuState(): bigint[] {
    return this.uc.regReadBatch(CPU_STATE_REGS);
  }

  writeCpuState(values: readonly bigint[]): void {
    // FPSW before the FP registers is irrelevant here: FP0..7 are physical registers.
    this.uc.regWriteBatch(CPU_STATE_REGS, values);
  }

  /** A new engine with a copy of every mapping and owned-instruction hook (fork's copy of the mm). */
  cloneAddressSpace(xs: XsaveContext, hooks: MachineHooks): Machine {
    const child = new Machine(this.cpu, xs, hooks, this.cr4);
    child.uc.regWrite(X86Reg.CR4, this.uc.regRead(X86Reg.CR4));
    child.pkruApplied = this.pkruApplied;
    for (const r of this.regions) child.regions.push({ ...r });
    // Only what is backed is copied; the rest stays lazy in the child too.
    for (const r of this.regions) {
      for (const b of this.backedPieces(r.start, r.end)) {
        child.back(b.start, b.end, this.effectiveProt(r));
        child.uc.memWrite(b.start, this.uc.memRead(b.start, Number(b.end - b.start)));
      }
    }
    child.fpReadableChanged();
    for (const a of this.ownedHooks.keys()) child.addOwned(a);
    for (const a of this.observedHooks.keys()) child.addObserved(this.x87Sites.get(Number(a))!);
    for (const w of this.sseWriters.values()) child.addSseWriter(w.site);
    child.userSelectors = this.userSelectors;
    child.trace = this.trace;
    return child;
  }
}

/** A deep copy of a thread's extended state (fork and clone copy the parent's, arch/x86/kernel/fpu/core.c fpu_clone). */
export function cloneXsaveContext(src: XsaveContext): XsaveContext {
  const dst = new XsaveContext(src.cpu);
  dst.regs.copyFrom(src.regs);
  dst.xcr0 = src.xcr0;
  dst.xss = src.xss;
  dst.cr4Osxsave = src.cr4Osxsave;
  dst.cr4Osfxsr = src.cr4Osfxsr;
  dst.cpl = src.cpl;
  dst.xfd = src.xfd;
  dst.xfdErr = src.xfdErr;
  return dst;
}

