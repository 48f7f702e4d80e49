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
 * (a UC_HOOK_CODE hook per instruction: unicorn silently mis-executes some VEX forms, so waiting
 * for #UD is not enough); the invalid-instruction hook catches what the sweep missed.
 */
import { Code, Decoder, DecoderOptions, EncodingKind, Formatter, FormatterSyntax, Instruction, Mnemonic, OpKind, Register, RegisterExt } from 'iced-x86';
import { effectiveAddress, emulateVector, vecIndex, type ExecEnv } from './avx.js';
import type { CpuModel } from './cpu-model.js';
import { XSAVE_HEADER_OFFSET } from './cpu-model.js';
import { missingFeature, xcr0Needed } from './machine-features.js';
import { Ownership, ownershipOf, sweepOwned } from './ownership.js';
import { LEGACY, TRACKED_COMPONENTS } from './register-file.js';
import { MemType, Prot, Unicorn, UnicornError, X86Reg, enableSse, type HookHandle } from './unicorn.js';
import { VectorFile } from './vector-file.js';
import {
  CpuFault, Vector, XsaveContext, fxrstor, fxsave, requiredAreaSize, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv,
} from './xsave.js';
import { XFeature } from './xfeatures.js';

/** Longest x86 instruction (SDM Vol. 2A 2.3.11). */
const MAX_INSN_BYTES = 15;
/** Guest page size (x86-64 4 KiB pages, SDM Vol. 3A 4.5). */
export const GUEST_PAGE = 0x1000n;
/** CPUID.01H:ECX[27] OSXSAVE, CPUID.(07H,0):ECX[4] OSPKE (SDM Vol. 2A Table 3-10, 3-8). */
const LEAF1_ECX_OSXSAVE = 27;
const LEAF7_ECX_OSPKE = 4;
/** CR4.PKE, bit 22 (SDM Vol. 3A 2.5): not in unicorn.ts's CR4 table. */
const CR4_PKE = 1n << 22n;
/** XCOMP_BV bit 63 in the high dword of the header (SDM Vol. 1 13.4.2). */
const XCOMP_BV_FORMAT_HI = 0x80000000;
/** x87 tag word value for an empty register (SDM Vol. 1 8.1.7). */
const X87_TAG_EMPTY = 3;
/** RFLAGS status flag positions (SDM Vol. 1 3.4.3.1). */
const FLAG = { CF: 0, PF: 2, AF: 4, ZF: 6, SF: 7, OF: 11 } as const;
const MASK64 = (1n << 64n) - 1n;
/** FOP is an 11-bit opcode (SDM Vol. 1 8.1.8). */
const FOP_MASK = 0x7ff;

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
  TRAP_BRKPT = 1,
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
}

/** Why a run of the engine ended. */
export enum StopKind {
  /** The instruction count ran out (or nothing else stopped it). */
  Quantum,
  /** A syscall handler asked for a reschedule (exit, block, signal). */
  Syscall,
  Fault,
  /** The CPU has the instruction but the model does not emulate it. */
  Unemulated,
}

export interface Stop {
  kind: StopKind;
  fault?: GuestFault;
  message?: string;
}

/** Interrupt vectors unicorn reports through UC_HOOK_INTR (SDM Vol. 3A Table 6-1). */
enum IntVector { DE = 0, DB = 1, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, GP = 13, PF = 14, MF = 16, AC = 17, XM = 19 }

/** Thrown by memory helpers when the guest touches what it may not. */
export class GuestMemoryFault extends Error {
  constructor(readonly addr: bigint, readonly mapped: boolean) {
    super(`guest memory fault at 0x${addr.toString(16)}`);
  }
}

export interface Region { start: bigint; end: bigint; prot: number }

/** Registers copied when a whole CPU moves to another engine (fork). */
const CPU_STATE_REGS: readonly X86Reg[] = [
  X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP,
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
  X86Reg.RIP, X86Reg.RFLAGS, X86Reg.FS_BASE, X86Reg.GS_BASE, X86Reg.MXCSR, X86Reg.FPCW, X86Reg.FPSW,
  X86Reg.FP0, X86Reg.FP1, X86Reg.FP2, X86Reg.FP3, X86Reg.FP4, X86Reg.FP5, X86Reg.FP6, X86Reg.FP7, X86Reg.FPTAG,
  X86Reg.FIP, X86Reg.FDP, X86Reg.FOP,
  ...Array.from({ length: 16 }, (_, i) => (X86Reg.XMM0 + i) as X86Reg),
];

const XMM_REGS: readonly X86Reg[] = Array.from({ length: 16 }, (_, i) => (X86Reg.XMM0 + i) as X86Reg);
/** x87 state as unicorn exposes it, in the order syncIn reads it. */
const X87_REGS: readonly X86Reg[] = [
  X86Reg.FPCW, X86Reg.FPSW, X86Reg.FPTAG, X86Reg.FIP, X86Reg.FDP, X86Reg.FOP, X86Reg.FCS, X86Reg.FDS,
  ...Array.from({ length: 8 }, (_, i) => (X86Reg.ST0 + i) as X86Reg),
];

const SYNC_SSE_REGS: readonly X86Reg[] = [...XMM_REGS, X86Reg.MXCSR];
const SYNC_ALL_REGS: readonly X86Reg[] = [...XMM_REGS, X86Reg.MXCSR, ...X87_REGS];
const X87_CONTROL_REGS: readonly X86Reg[] = [X86Reg.FPCW, X86Reg.FPSW];
/** Written after FSW: the ST registers (TOP-relative), then the tag word and the pointers. */
const X87_REST_REGS: readonly X86Reg[] = [
  ...Array.from({ length: 8 }, (_, i) => (X86Reg.ST0 + i) as X86Reg), X86Reg.FPTAG, X86Reg.FIP, X86Reg.FDP, X86Reg.FOP, X86Reg.FCS, X86Reg.FDS,
];

/** iced-x86 64-bit GPRs in encoding order, and unicorn's ids for them. */
const ICED_GPR64: readonly Register[] = [
  Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RSP, Register.RBP, Register.RSI, Register.RDI,
  Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15,
];
const UC_GPR64: readonly X86Reg[] = [
  X86Reg.RAX, X86Reg.RCX, X86Reg.RDX, X86Reg.RBX, X86Reg.RSP, X86Reg.RBP, X86Reg.RSI, X86Reg.RDI,
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
];

interface GprSlot { uc: X86Reg; bytes: number; shift: bigint }
const gprSlots = new Map<Register, GprSlot>();
function gprSlot(r: Register): GprSlot {
  let s = gprSlots.get(r);
  if (!s) {
    const full = RegisterExt.fullRegister(r);
    const k = ICED_GPR64.indexOf(full);
    if (k < 0) throw new CpuFault(Vector.UD, `register ${Register[r]} is not a general-purpose register`);
    const high8 = r === Register.AH || r === Register.CH || r === Register.DH || r === Register.BH;
    s = { uc: UC_GPR64[k]!, bytes: RegisterExt.size(r), shift: high8 ? 8n : 0n };
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
]);
const LEGACY_RESTORES = new Set<Mnemonic>([
  Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64,
]);
function writesLegacyState(ins: Instruction): LegacyWrite {
  if (LEGACY_UNCHANGED.has(ins.mnemonic)) return LegacyWrite.None;
  if (LEGACY_RESTORES.has(ins.mnemonic)) return LegacyWrite.X87AndSse;
  return LegacyWrite.Sse;
}

/** Owned mnemonics outside avx.ts that the machine emulates itself. */
const XSAVE_FAMILY = new Set<Mnemonic>([
  Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64,
  Mnemonic.Xsaves, Mnemonic.Xsaves64, Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64,
  Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64,
]);

/** Trace sink for `--trace`. */
export type TraceFn = (line: string) => void;

export interface MachineHooks {
  /** A `syscall` instruction; RIP is already past it. Return true to end the run (reschedule). */
  onSyscall(): boolean;
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
  xs: XsaveContext;
  vec: VectorFile;
  /** Mappings as the guest sees them, sorted, page-granular. */
  private regions: Region[] = [];
  private readonly ownedHooks = new Map<bigint, HookHandle>();
  private readonly decodeCache = new Map<bigint, Instruction>();
  private stop: Stop | undefined;
  private memFault: { addr: bigint; type: MemType } | undefined;
  trace: TraceFn | undefined;
  /** Trapped instructions emulated so far (for statistics). */
  emulatedCount = 0;
  private readonly env: ExecEnv;
  /** Reused buffers of the x87/SSE synchronisation (no allocation per trap). */
  private readonly scratchBytes = new Uint8Array(16);
  private readonly scratch = new DataView(this.scratchBytes.buffer);
  private readonly x87Image = new Uint8Array(LEGACY.XMM0);
  private readonly x87View = new DataView(this.x87Image.buffer);
  private readonly syncOutValues: bigint[] = new Array<bigint>(17).fill(0n);

  constructor(readonly cpu: CpuModel, xs: XsaveContext, private readonly hooks: MachineHooks) {
    this.uc = Unicorn.open();
    this.xs = xs;
    this.vec = new VectorFile(xs.regs);
    this.env = this.makeEnv();
    const uc = this.uc;
    enableSse(uc, { osxsave: cpu.features.xsave });
    if (cpu.features.pku) uc.regWrite(X86Reg.CR4, uc.regRead(X86Reg.CR4) | CR4_PKE);
    uc.hookInsnSyscall(() => {
      if (this.hooks.onSyscall()) { this.stop ??= { kind: StopKind.Syscall }; uc.emuStop(); }
    });
    uc.hookInsnCpuid(() => { this.emulateCpuid(); return true; });
    uc.hookInsnInvalid(() => this.onInvalid());
    uc.hookIntr((intno) => this.onInterrupt(intno));
    uc.hookMemInvalid((type, address) => { this.memFault = { addr: address, type }; return false; });
  }

  /** Switch the thread whose extended state the machine emulates. */
  setXstate(xs: XsaveContext): void {
    this.xs = xs;
    this.vec = new VectorFile(xs.regs);
  }

  close(): void {
    this.uc.close();
  }

  // ------------------------------------------------------------------ memory

  mappings(): readonly Region[] {
    return this.regions;
  }

  /** Map [start, start+size) with `prot` (Prot bits), replacing whatever was there. */
  map(start: bigint, size: bigint, prot: number, bytes?: Uint8Array): void {
    this.unmap(start, size);
    this.uc.memMap(start, Number(size), prot);
    if (bytes && bytes.length) this.uc.memWrite(start, bytes);
    this.regions.push({ start, end: start + size, prot });
    this.regions.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    if (prot & Prot.EXEC) this.sweep(start, start + size);
  }

  /** Unmap whatever lies in [start, start+size). */
  unmap(start: bigint, size: bigint): void {
    const end = start + size;
    const kept: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= start || r.start >= end) { kept.push(r); continue; }
      const lo = r.start > start ? r.start : start;
      const hi = r.end < end ? r.end : end;
      this.uc.memUnmap(lo, Number(hi - lo));
      this.forgetCode(lo, hi);
      if (r.start < lo) kept.push({ start: r.start, end: lo, prot: r.prot });
      if (r.end > hi) kept.push({ start: hi, end: r.end, prot: r.prot });
    }
    this.regions = kept.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  /** mprotect: every page of [start, start+size) must be mapped (the caller checks). */
  protect(start: bigint, size: bigint, prot: number): void {
    const end = start + size;
    const out: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= start || r.start >= end) { out.push(r); continue; }
      const lo = r.start > start ? r.start : start;
      const hi = r.end < end ? r.end : end;
      if (r.start < lo) out.push({ start: r.start, end: lo, prot: r.prot });
      out.push({ start: lo, end: hi, prot });
      if (r.end > hi) out.push({ start: hi, end: r.end, prot: r.prot });
      this.uc.memProtect(lo, Number(hi - lo), prot);
      if ((prot & Prot.EXEC) && !(r.prot & Prot.EXEC)) this.sweep(lo, hi);
      if (!(prot & Prot.EXEC)) this.forgetCode(lo, hi);
    }
    this.regions = out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
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

  private check(addr: bigint, len: number, need: Prot): void {
    let p = addr;
    const end = addr + BigInt(len);
    for (const r of this.regions) {
      if (r.end <= p) continue;
      if (r.start > p) throw new GuestMemoryFault(p, false);
      if ((r.prot & need) !== need) throw new GuestMemoryFault(p, true);
      p = r.end;
      if (p >= end) return;
    }
    if (p < end) throw new GuestMemoryFault(p, false);
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
    for (const addr of sweepOwned(bytes, start).owned) {
      if (this.ownedHooks.has(addr)) continue;
      this.ownedHooks.set(addr, this.uc.hookCode(addr, addr, (a) => this.onOwned(a)));
    }
  }

  private forgetCode(start: bigint, end: bigint): void {
    for (const [a, h] of this.ownedHooks) if (a >= start && a < end) { h.remove(); this.ownedHooks.delete(a); }
    for (const a of this.decodeCache.keys()) if (a >= start && a < end) this.decodeCache.delete(a);
  }

  /** Owned addresses (fork re-creates their hooks in the child's engine). */
  ownedAddresses(): bigint[] {
    return [...this.ownedHooks.keys()];
  }

  private decodeAt(addr: bigint): Instruction {
    const cached = this.decodeCache.get(addr);
    if (cached) return cached;
    let len = MAX_INSN_BYTES;
    for (const r of this.regions) if (addr >= r.start && addr < r.end) { len = Math.min(len, Number(r.end - addr)); break; }
    const bytes = this.uc.memRead(addr, len);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    d.ip = addr;
    const ins = d.decode();
    d.free();
    this.decodeCache.set(addr, ins);
    return ins;
  }

  // ------------------------------------------------------------------ running

  /** Run from the current RIP for at most `count` instructions; returns why it stopped. */
  run(count: number): Stop {
    this.stop = undefined;
    this.memFault = undefined;
    const rip = this.uc.regRead(X86Reg.RIP);
    try {
      this.uc.emuStart(rip, 0n, { count });
    } catch (e) {
      if (!(e instanceof UnicornError)) throw e;
      if (this.stop) return this.stop;
      const mf = this.memFault as { addr: bigint; type: MemType } | undefined;
      if (mf) {
        const prot = mf.type === MemType.READ_PROT || mf.type === MemType.WRITE_PROT || mf.type === MemType.FETCH_PROT;
        const what = mf.type === MemType.FETCH_UNMAPPED || mf.type === MemType.FETCH_PROT ? 'execute' : mf.type === MemType.WRITE_UNMAPPED || mf.type === MemType.WRITE_PROT ? 'write' : 'read';
        if (mf.type === MemType.FETCH_UNMAPPED || mf.type === MemType.FETCH_PROT) this.uc.regWrite(X86Reg.RIP, mf.addr);
        return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: prot ? SiCode.SEGV_ACCERR : SiCode.SEGV_MAPERR, addr: mf.addr, trapno: IntVector.PF, reason: `${what} of ${prot ? 'protected' : 'unmapped'} address 0x${mf.addr.toString(16)}` } };
      }
      return { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: IntVector.GP, reason: e.message } };
    }
    return this.stop ?? { kind: StopKind.Quantum };
  }

  private onInterrupt(intno: number): void {
    const rip = this.uc.regRead(X86Reg.RIP);
    const fault = ((): GuestFault => {
      switch (intno) {
        case IntVector.DE: return { signal: GuestSignal.SIGFPE, code: SiCode.FPE_INTDIV, addr: rip, trapno: intno, reason: 'integer divide error (#DE)' };
        case IntVector.DB: case IntVector.BP: return { signal: GuestSignal.SIGTRAP, code: intno === IntVector.BP ? SiCode.SI_KERNEL : SiCode.TRAP_BRKPT, addr: 0n, trapno: intno, reason: 'breakpoint' };
        case IntVector.MF: case IntVector.XM: return { signal: GuestSignal.SIGFPE, code: 0 as SiCode, addr: rip, trapno: intno, reason: 'floating-point exception' };
        case IntVector.UD: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPN, addr: rip, trapno: intno, reason: 'invalid opcode' };
        case IntVector.AC: return { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRALN, addr: rip, trapno: intno, reason: 'alignment check' };
        default: return { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: intno, reason: `exception or interrupt ${intno}` };
      }
    })();
    this.stop = { kind: StopKind.Fault, fault };
    this.uc.emuStop();
  }

  /** Hook on an owned address: emulate and skip it, or stop the run with a fault. */
  private onOwned(addr: bigint): void {
    const ins = this.decodeAt(addr);
    if (ownershipOf(ins) !== Ownership.Model) return; // the sweep was out of step here: unicorn runs it
    if (isVexGprOnly(ins) && !missingFeature(this.cpu, ins)) {
      // BMI1/BMI2 and other VEX forms without vector or mask operands touch no extended state and
      // unicorn runs them right (unicorn-notes.md): hand the address back to unicorn for good.
      this.ownedHooks.get(addr)?.remove();
      this.ownedHooks.delete(addr);
      return;
    }
    this.execute(ins, true);
  }

  /** Unicorn rejected an instruction: emulate it if owned, else raise SIGILL or report the gap. */
  private onInvalid(): boolean {
    const rip = this.uc.regRead(X86Reg.RIP);
    let ins: Instruction;
    try {
      ins = this.decodeAt(rip);
    } catch {
      this.stop = { kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: SiCode.SEGV_MAPERR, addr: rip, trapno: IntVector.PF, reason: `instruction fetch at 0x${rip.toString(16)}` } };
      return false;
    }
    if (ins.code === Code.INVALID || ins.mnemonic === Mnemonic.Ud0 || ins.mnemonic === Mnemonic.Ud1 || ins.mnemonic === Mnemonic.Ud2) {
      this.stop = { kind: StopKind.Fault, fault: this.udFault(rip, ins.code === Code.INVALID ? 'undefined opcode' : disassemble(ins)) };
      return false;
    }
    if (ownershipOf(ins) === Ownership.Model) {
      this.execute(ins, false);
      this.stop ??= { kind: StopKind.Quantum };
      return true;
    }
    const missing = missingFeature(this.cpu, ins);
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
  private execute(ins: Instruction, inHook: boolean): void {
    const rip = ins.ip;
    const stopWith = (s: Stop): void => {
      this.stop = s;
      if (inHook) this.uc.emuStop();
    };
    const missing = missingFeature(this.cpu, ins);
    if (missing) return stopWith({ kind: StopKind.Fault, fault: this.udFault(rip, `${disassemble(ins)} needs ${missing}, which ${this.cpu.id} lacks`) });
    const needXcr0 = xcr0Needed(ins);
    if ((this.xs.xcr0 & needXcr0) !== needXcr0) return stopWith({ kind: StopKind.Fault, fault: this.udFault(rip, `${disassemble(ins)}: XCR0 lacks 0x${(needXcr0 & ~this.xs.xcr0).toString(16)}`) });
    const before = this.trace ? this.xs.regs.xinuseForSave() : 0;
    const full = XSAVE_FAMILY.has(ins.mnemonic);
    this.syncIn(full);
    try {
      if (!this.emulate(ins)) {
        return stopWith({ kind: StopKind.Unemulated, message: `instruction not emulated: ${Mnemonic[ins.mnemonic].toUpperCase()} (${disassemble(ins)}) at 0x${rip.toString(16)}; ${this.cpu.id} has it but the model does not emulate it` });
      }
    } catch (e) {
      if (e instanceof CpuFault) return stopWith({ kind: StopKind.Fault, fault: this.cpuFault(e, rip) });
      if (e instanceof GuestMemoryFault) {
        return stopWith({ kind: StopKind.Fault, fault: { signal: GuestSignal.SIGSEGV, code: e.mapped ? SiCode.SEGV_ACCERR : SiCode.SEGV_MAPERR, addr: e.addr, trapno: IntVector.PF, reason: `${disassemble(ins)}: access to 0x${e.addr.toString(16)}` } });
      }
      throw e;
    }
    const writes = writesLegacyState(ins);
    if (writes !== LegacyWrite.None) this.syncOut(writes === LegacyWrite.X87AndSse);
    this.emulatedCount++;
    this.uc.regWrite(X86Reg.RIP, ins.nextIP);
    if (this.trace) {
      const after = this.xs.regs.xinuseForSave();
      this.trace(`0x${rip.toString(16)}: ${disassemble(ins)}${after !== before ? `  XINUSE 0x${before.toString(16)} -> 0x${after.toString(16)}` : ''}`);
    }
  }

  private cpuFault(e: CpuFault, rip: bigint): GuestFault {
    switch (e.vector) {
      case Vector.UD: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPN, addr: rip, trapno: IntVector.UD, reason: e.reason };
      // Linux's XFD #NM handler sends SIGILL when the task has no permission (arch/x86/kernel/traps.c handle_xfd_event).
      case Vector.NM: return { signal: GuestSignal.SIGILL, code: SiCode.ILL_ILLOPC, addr: rip, trapno: IntVector.NM, reason: e.reason };
      case Vector.AC: return { signal: GuestSignal.SIGBUS, code: SiCode.BUS_ADRALN, addr: rip, trapno: IntVector.AC, reason: e.reason };
      default: return { signal: GuestSignal.SIGSEGV, code: SiCode.SI_KERNEL, addr: 0n, trapno: IntVector.GP, reason: e.reason };
    }
  }

  /** Returns false when the model has no emulation for this owned instruction. */
  private emulate(ins: Instruction): boolean {
    const m = ins.mnemonic;
    if (XSAVE_FAMILY.has(m)) { this.emulateXsaveFamily(ins); return true; }
    switch (m) {
      case Mnemonic.Cpuid: this.emulateCpuid(); return true;
      case Mnemonic.Xgetbv: {
        const [lo, hi] = xgetbv(this.xs, this.gpr32(X86Reg.RCX), ins.hasLockPrefix);
        this.uc.regWriteBatch([X86Reg.RAX, X86Reg.RDX], [BigInt(lo >>> 0), BigInt(hi >>> 0)]);
        return true;
      }
      case Mnemonic.Xsetbv: xsetbv(this.xs, this.gpr32(X86Reg.RCX), this.gpr32(X86Reg.RAX), this.gpr32(X86Reg.RDX), ins.hasLockPrefix); return true;
      case Mnemonic.Rdpkru: case Mnemonic.Wrpkru: this.emulatePkru(ins); return true;
      default: return emulateVector(ins, this.env);
    }
  }

  private gpr32(r: X86Reg): number {
    return Number(this.uc.regRead(r) & 0xffffffffn);
  }

  /** RDPKRU / WRPKRU (SDM Vol. 2B): #UD without CR4.PKE, #GP when ECX (and EDX for WRPKRU) is not 0. */
  private emulatePkru(ins: Instruction): void {
    const write = ins.mnemonic === Mnemonic.Wrpkru;
    const name = write ? 'WRPKRU' : 'RDPKRU';
    const pkru = this.xs.regs.comp[XFeature.PKRU];
    if (!this.cpu.features.pku || !(this.uc.regRead(X86Reg.CR4) & CR4_PKE) || !pkru) throw new CpuFault(Vector.UD, `${name}: CR4.PKE = 0`);
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

  /** CPUID answered from the profile, with the OS-dependent bits live (SDM Vol. 2A CPUID). */
  emulateCpuid(): void {
    const [rax, rcx] = this.uc.regReadBatch([X86Reg.RAX, X86Reg.RCX]);
    const leaf = Number(rax! & 0xffffffffn);
    const sub = Number(rcx! & 0xffffffffn);
    const r = this.cpuidAnswer(leaf, sub);
    this.uc.regWriteBatch([X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX], r.map((v) => BigInt(v >>> 0)));
    this.trace?.(`cpuid leaf 0x${leaf.toString(16)}.${sub}: ${r.map((v) => (v >>> 0).toString(16).padStart(8, '0')).join(' ')}`);
  }

  cpuidAnswer(leaf: number, sub: number): number[] {
    if (leaf === 0xd) return [...this.cpu.leafD(sub, this.xs.xcr0, this.xs.xss)];
    const r = [...this.cpu.cpuid.get(leaf, sub)];
    if (leaf === 1 && this.cpu.features.xsave) {
      r[2] = this.xs.cr4Osxsave ? r[2]! | (1 << LEAF1_ECX_OSXSAVE) : r[2]! & ~(1 << LEAF1_ECX_OSXSAVE);
    }
    if (leaf === 7 && sub === 0 && this.cpu.features.pku) {
      const pke = (this.uc.regRead(X86Reg.CR4) & CR4_PKE) !== 0n;
      r[2] = pke ? r[2]! | (1 << LEAF7_ECX_OSPKE) : r[2]! & ~(1 << LEAF7_ECX_OSPKE);
    }
    return r.map((v) => v >>> 0);
  }

  private emulateXsaveFamily(ins: Instruction): void {
    const m = ins.mnemonic;
    const ea = effectiveAddress(ins, this.env);
    const address = Number(ea);
    const rexW = m === Mnemonic.Xsave64 || m === Mnemonic.Xsaveopt64 || m === Mnemonic.Xsavec64 || m === Mnemonic.Xsaves64
      || m === Mnemonic.Xrstor64 || m === Mnemonic.Xrstors64 || m === Mnemonic.Fxsave64 || m === Mnemonic.Fxrstor64;
    const lock = ins.hasLockPrefix;
    const eax = this.gpr32(X86Reg.RAX);
    const edx = this.gpr32(X86Reg.RDX);
    const xs = this.xs;
    const rfbm = (eax & (xs.xcr0 | xs.xss)) >>> 0;
    const withArea = (size: number, store: boolean, fn: (area: Uint8Array) => void): void => {
      const area = this.read(ea, size);
      if (store) this.check(ea, size, Prot.WRITE);
      fn(area);
      if (store) this.uc.memWrite(ea, area);
    };
    switch (m) {
      case Mnemonic.Fxsave: case Mnemonic.Fxsave64: return withArea(512, true, (a) => fxsave(xs, a, address, rexW, lock));
      case Mnemonic.Fxrstor: case Mnemonic.Fxrstor64: return withArea(512, false, (a) => fxrstor(xs, a, address, rexW, lock));
      case Mnemonic.Xsave: case Mnemonic.Xsave64: return withArea(requiredAreaSize(xs, 'XSAVE', rfbm), true, (a) => xsave(xs, a, address, eax, edx, rexW, lock));
      case Mnemonic.Xsaveopt: case Mnemonic.Xsaveopt64: return withArea(requiredAreaSize(xs, 'XSAVEOPT', rfbm), true, (a) => xsaveopt(xs, a, address, eax, edx, rexW, lock));
      case Mnemonic.Xsavec: case Mnemonic.Xsavec64: return withArea(requiredAreaSize(xs, 'XSAVEC', rfbm), true, (a) => xsavec(xs, a, address, eax, edx, rexW, lock));
      case Mnemonic.Xsaves: case Mnemonic.Xsaves64: return withArea(requiredAreaSize(xs, 'XSAVES', rfbm), true, (a) => xsaves(xs, a, address, eax, edx, rexW, lock));
      default: {
        // XRSTOR(S): the header says which format, and so how many bytes the restore reads.
        const hdr = this.read(ea + BigInt(XSAVE_HEADER_OFFSET), 16);
        const compacted = (new DataView(hdr.buffer).getUint32(12, true) & XCOMP_BV_FORMAT_HI) !== 0;
        const restoreMask = compacted ? (new DataView(hdr.buffer).getUint32(8, true) & rfbm) >>> 0 : rfbm;
        const size = requiredAreaSize(xs, compacted ? 'XRSTOR-compacted' : 'XRSTOR-standard', restoreMask);
        if (m === Mnemonic.Xrstors || m === Mnemonic.Xrstors64) return withArea(size, false, (a) => xrstors(xs, a, address, eax, edx, rexW, lock));
        return withArea(size, false, (a) => xrstor(xs, a, address, eax, edx, rexW, lock));
      }
    }
  }

  // ------------------------------------------------------------------ x87/SSE synchronisation

  /**
   * Copy unicorn's x87/SSE registers into the register file. A register that changed since the
   * model last saw it was written by an instruction unicorn ran, so its component is in use.
   */
  syncIn(x87: boolean): void {
    const r = this.xs.regs;
    const L = r.legacy;
    const v = this.uc.regReadBatch(x87 ? SYNC_ALL_REGS : SYNC_SSE_REGS);
    const w = this.scratch;
    for (let n = 0; n < 16; n++) {
      const x = v[n]!;
      w.setBigUint64(0, x & MASK64, true);
      w.setBigUint64(8, x >> 64n, true);
      const off = LEGACY.XMM0 + n * 16;
      let changed = false;
      for (let b = 0; b < 16; b++) if (L[off + b] !== this.scratchBytes[b]) { changed = true; break; }
      if (!changed) continue;
      L.set(this.scratchBytes.subarray(0, 16), off);
      if (r.tracksZeroRegisters) r.setRegInUse(XFeature.SSE, n, true);
      r.touched(XFeature.SSE, true);
    }
    r.mxcsr = Number(v[16]!);
    if (!x87) return;
    const fcw = v[17]!, fsw = v[18]!, ftag = v[19]!, fip = v[20]!, fdp = v[21]!, fop = v[22]!, fcs = v[23]!, fds = v[24]!;
    const img = this.x87Image;
    img.fill(0);
    const dv = this.x87View;
    dv.setUint16(LEGACY.FCW, Number(fcw), true);
    dv.setUint16(LEGACY.FSW, Number(fsw), true);
    let abridged = 0;
    for (let i = 0; i < 8; i++) if (((Number(ftag) >> (2 * i)) & 3) !== X87_TAG_EMPTY) abridged |= 1 << i;
    img[LEGACY.FTW] = abridged;
    dv.setUint16(LEGACY.FOP, Number(fop) & FOP_MASK, true);
    dv.setBigUint64(LEGACY.FIP, fip, true);
    dv.setBigUint64(LEGACY.FDP, fdp, true);
    for (let i = 0; i < 8; i++) {
      const st = v[25 + i]!;
      const o = LEGACY.ST0 + i * LEGACY.ST_STRIDE;
      dv.setBigUint64(o, st & MASK64, true);
      dv.setUint16(o + 8, Number(st >> 64n), true);
    }
    let changed = Number(fcs) !== r.fcs || Number(fds) !== r.fds;
    for (let o = 0; o < LEGACY.XMM0; o++) {
      if (o >= LEGACY.MXCSR && o < LEGACY.ST0) continue;
      if (L[o] !== img[o]) { L[o] = img[o]!; changed = true; }
    }
    r.fcs = Number(fcs);
    r.fds = Number(fds);
    if (changed) r.touched(XFeature.X87, true);
  }

  /** Copy the register file's SSE registers (and with `x87`, the x87 state) back into unicorn. */
  syncOut(x87: boolean): void {
    const r = this.xs.regs;
    const dv = r.legacyView;
    const vals = this.syncOutValues;
    for (let n = 0; n < 16; n++) {
      const o = LEGACY.XMM0 + n * 16;
      vals[n] = (dv.getBigUint64(o + 8, true) << 64n) | dv.getBigUint64(o, true);
    }
    vals[16] = BigInt(r.mxcsr);
    this.uc.regWriteBatch(SYNC_SSE_REGS, vals);
    if (!x87) return;
    // FSW first: its TOP field decides which physical register each ST(i) is.
    this.uc.regWriteBatch(X87_CONTROL_REGS, [BigInt(dv.getUint16(LEGACY.FCW, true)), BigInt(dv.getUint16(LEGACY.FSW, true))]);
    const stv: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const o = LEGACY.ST0 + i * LEGACY.ST_STRIDE;
      stv.push((BigInt(dv.getUint16(o + 8, true)) << 64n) | dv.getBigUint64(o, true));
    }
    let tag = 0;
    const abridged = r.legacy[LEGACY.FTW]!;
    for (let i = 0; i < 8; i++) if (!((abridged >> i) & 1)) tag |= X87_TAG_EMPTY << (2 * i);
    this.uc.regWriteBatch(X87_REST_REGS, [
      ...stv, BigInt(tag), dv.getBigUint64(LEGACY.FIP, true), dv.getBigUint64(LEGACY.FDP, true), BigInt(dv.getUint16(LEGACY.FOP, true)), BigInt(r.fcs & 0xffff), BigInt(r.fds & 0xffff),
    ]);
  }

  // ------------------------------------------------------------------ the vector engine's view of the CPU

  private makeEnv(): ExecEnv {
    const uc = this.uc;
    const self = this;
    return {
      get vec() { return self.vec; },
      getGpr(reg: Register): bigint {
        const s = gprSlot(reg);
        const full = uc.regRead(s.uc);
        return (full >> s.shift) & ((1n << BigInt(s.bytes * 8)) - 1n);
      },
      setGpr(reg: Register, v: bigint): void {
        const s = gprSlot(reg);
        const bits = BigInt(s.bytes * 8);
        const val = v & ((1n << bits) - 1n);
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
    const child = new Machine(this.cpu, xs, hooks);
    child.uc.regWrite(X86Reg.CR4, this.uc.regRead(X86Reg.CR4));
    for (const r of this.regions) {
      child.uc.memMap(r.start, Number(r.end - r.start), r.prot);
      child.uc.memWrite(r.start, this.uc.memRead(r.start, Number(r.end - r.start)));
      child.regions.push({ ...r });
    }
    for (const a of this.ownedHooks.keys()) child.ownedHooks.set(a, child.uc.hookCode(a, a, (x) => child.onOwned(x)));
    child.trace = this.trace;
    return child;
  }
}

/** A deep copy of a thread's extended state (fork and clone copy the parent's, arch/x86/kernel/fpu/core.c fpu_clone). */
export function cloneXsaveContext(src: XsaveContext): XsaveContext {
  const dst = new XsaveContext(src.cpu);
  const a = src.regs, b = dst.regs;
  b.legacy.set(a.legacy);
  b.fcs = a.fcs;
  b.fds = a.fds;
  a.comp.forEach((c, i) => { if (c) b.comp[i]!.set(c); });
  b.xinuse = a.xinuse;
  b.xmodified = a.xmodified;
  b.xrstorInfo = a.xrstorInfo ? { ...a.xrstorInfo } : undefined;
  for (const c of TRACKED_COMPONENTS) b.regsInUse[c] = a.regsInUse[c]!;
  dst.xcr0 = src.xcr0;
  dst.xss = src.xss;
  dst.cr4Osxsave = src.cr4Osxsave;
  dst.cr4Osfxsr = src.cr4Osfxsr;
  dst.cpl = src.cpl;
  dst.xfd = src.xfd;
  dst.xfdErr = src.xfdErr;
  return dst;
}

