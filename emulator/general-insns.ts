/**
 * General (non-vector) instructions the model runs instead of unicorn 2.0.1.
 *
 * MOVBE and POPCNT: unicorn 2.0.1 cannot run them, whatever its CPU model (../shared/reference/
 * unicorn-notes.md; glibc's AVX2 memcmp stopped on MOVBE in the real-program corpus, bench/programs.ts,
 * on amd-zen1; the general-instruction referee stopped on POPCNT).
 *
 * POPF/POPFQ: unicorn runs the guest at CPL 0, where POPF also loads IF and IOPL; at CPL 3 under
 * Linux (IOPL 0) they stay as they were (measured: a POPFQ of a value without IF left IF clear in
 * unicorn, set on the host).
 *
 * PDEP/PEXT: unicorn 2.0.1 (QEMU 5.0's translator) swaps the source and the mask (measured by the
 * referee; QEMU fixed the operand order later).
 *
 * BLSI, BLSR, BLSMSK, BZHI: unicorn 2.0.1 leaves CF clear where the SDM sets it (BLSI of a non-zero
 * source) and BZHI with an index at or beyond the operand size clears the top bit (measured by the
 * referee).
 *
 * BSF/BSR with a zero source: unicorn writes the (zero-extended) old low half of a 32-bit
 * destination; AMD leaves all 64 bits unchanged (AMD APM Vol. 3 BSF: "does not change the
 * contents of the destination register"; measured on Zen 5 by the referee); Intel documents the
 * destination as undefined and, as arch/x86/include/asm/bitops.h (variable__ffs, 6.18) records
 * from Intel's architects, keeps the value but clears bits 63:32 of a 32-bit destination
 * (vendor rule `VendorRules.bitScanZeroKeepsUpper`).
 *
 * Instructions whose result comes from outside the register file: the time-stamp
 * counter, TSC_AUX and the random-number generator. Unicorn 2.0.1 gets them wrong for a
 * deterministic model (measured with the general-instruction referee, src/selfcheck/general-selfcheck.ts):
 * RDTSC/RDTSCP return the host's TSC (a different value every run), RDTSCP/RDPID return a TSC_AUX
 * of 0 where Linux stores the CPU and node, and RDRAND/RDSEED stop the run ("cannot run it").
 * The model owns them (emulator/ownership.ts); the values come from the OS model through
 * `SystemSources`, so that the same program gives the same answers on every run and host.
 */
import { Code, Mnemonic, OpKind, Register, RegisterExt, type Instruction } from './iced.js';
import { CpuFault, Vector } from './xsave.js';

/** What these instructions read and write: GPRs, memory and the status flags (a subset of avx.ts ExecEnv). */
export interface SystemInsnEnv {
  getGpr(r: Register): bigint;
  setGpr(r: Register, v: bigint): void;
  readMem(addr: bigint, len: number): Uint8Array;
  writeMem(addr: bigint, data: Uint8Array): void;
  segmentBase(seg: Register): bigint;
  getRflags(): bigint;
  setRflags(v: bigint): void;
  setStatusFlags(f: { cf: number; pf: number; af: number; zf: number; sf: number; of: number }): void;
}

/** Where the values come from: the OS model (src/linux/kernel.ts) or, without one, `StandaloneSources`. */
export interface SystemSources {
  /** IA32_TIME_STAMP_COUNTER as the guest reads it. */
  readTsc(): bigint;
  /** IA32_TSC_AUX, which the OS writes (Linux: setup_getcpu, the CPU number and node). */
  tscAux(): number;
  /** The next 64 bits of the random-number generator behind RDRAND and RDSEED. */
  random64(): bigint;
  /**
   * The 8-byte segment descriptor a selector names in the OS's GDT or the task's LDT (TI bit),
   * or undefined for a null selector or one beyond the table's limit: what LAR, LSL, VERR and
   * VERW read (Linux: the GDT of arch/x86/kernel/cpu/common.c and the mm's LDT).
   */
  descriptor?(selector: number): bigint | undefined;
}

const MASK64 = (1n << 64n) - 1n;
/**
 * RFLAGS bits POPF loads at CPL 3 with IOPL 0 (SDM Vol. 1 3.4.3, Vol. 2B POPF): CF, PF, AF, ZF,
 * SF, TF, DF, OF, NT, AC, ID. Bit 1 reads as 1; RF (16) is cleared by POPF.
 */
const POPF_CPL3_LOADABLE = 0x1n | 0x4n | 0x10n | 0x40n | 0x80n | 0x100n | 0x400n | 0x800n | 0x4000n | 0x40000n | 0x200000n;
const RFLAGS_RF = 0x10000n, RFLAGS_FIXED_ONE = 0x2n;

/** splitmix64 (Steele, Lea, Flood 2014): a fixed-seed stream, so RDRAND is the same on every run. */
export class SplitMix64 {
  private s: bigint;
  constructor(seed: bigint) { this.s = seed & MASK64; }
  next(): bigint {
    this.s = (this.s + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
}

/** The seed of the random-number generator model ("rdrd"). */
export const RDRAND_SEED = 0x72647264n;

/**
 * Sources for a machine without an OS model: a TSC that advances by one per read and TSC_AUX 0
 * (CPU 0, node 0).
 */
export class StandaloneSources implements SystemSources {
  private tsc = 0n;
  private readonly rng = new SplitMix64(RDRAND_SEED);
  readTsc(): bigint { return ++this.tsc; }
  tscAux(): number { return 0; }
  random64(): bigint { return this.rng.next(); }
}

/**
 * Instructions that raise #GP(0) at CPL 3 under Linux (SDM Vol. 3A 5.9 "Privileged Instructions":
 * CPL 0 only; and the IOPL-sensitive ones of 5.8.1/Vol. 1 19.5.1, since Linux runs user code with
 * IOPL 0 and no I/O permission bitmap unless ioperm/iopl, which the model does not grant). unicorn
 * runs the guest at CPL 0 and would execute them (HLT ends the run, CLI clears IF, WRMSR writes
 * unicorn's MSRs). Linux's exc_general_protection sends SIGSEGV with SI_KERNEL and no address
 * (measured: HLT and CLI give SIGSEGV, si_code 128, trapno 13, err 0). Left to unicorn: MOV to/from
 * CR/DR (one mnemonic with ordinary MOV), SGDT/SIDT/SLDT/STR/SMSW (CR4.UMIP decides, per CPU).
 */
export const PRIVILEGED_AT_CPL3: ReadonlySet<Mnemonic> = new Set([
  Mnemonic.Hlt, Mnemonic.Cli, Mnemonic.Sti, Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd,
  Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Lldt, Mnemonic.Ltr,
  Mnemonic.Lmsw, Mnemonic.Clts, Mnemonic.Invd, Mnemonic.Wbinvd, Mnemonic.Wbnoinvd, Mnemonic.Invlpg,
  Mnemonic.Rdmsr, Mnemonic.Wrmsr, Mnemonic.Swapgs, Mnemonic.Sysret, Mnemonic.Sysexit,
]);

/** BMI1/BMI2, MOVBE and POPCNT are emulated in vector/bmi.ts (one implementation each). */
export const SYSTEM_INSNS: ReadonlySet<Mnemonic> = new Set([Mnemonic.Bsf, Mnemonic.Bsr, Mnemonic.Popf, Mnemonic.Popfq, Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdpid, Mnemonic.Rdrand, Mnemonic.Rdseed,
  Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw,
  Mnemonic.Serialize, Mnemonic.Clwb, Mnemonic.Clflushopt, Mnemonic.Movdiri, Mnemonic.Movdir64b, Mnemonic.Ptwrite,
  Mnemonic.Hreset, Mnemonic.Pconfig, Mnemonic.Xsusldtrk, Mnemonic.Xresldtrk,
  Mnemonic.Testui, Mnemonic.Clui, Mnemonic.Stui, Mnemonic.Uiret, Mnemonic.Senduipi, Mnemonic.Enqcmd, Mnemonic.Enqcmds, ...PRIVILEGED_AT_CPL3]);

/** MOVDIR64B's size and destination alignment (SDM Vol. 2B MOVDIR64B: 64 bytes, #GP(0) unless 64-byte aligned). */
const MOVDIR64B_BYTES = 64;

/** Fields of a segment descriptor's second doubleword (SDM Vol. 3A 3.4.5, Figure 3-8). */
const DESC_TYPE_SHIFT = 8, DESC_S = 1 << 12, DESC_DPL_SHIFT = 13, DESC_G = 1 << 23;
/** Code-segment type bits (SDM Vol. 3A Table 3-1): bit 3 code, bit 2 conforming, bit 1 readable; data: bit 1 writable. */
const TYPE_CODE = 0x8, TYPE_CONFORMING = 0x4, TYPE_READ_WRITE = 0x2;
/**
 * System-descriptor types LAR and LSL accept in 64-bit mode (SDM Vol. 2A LAR Table 3-52, LSL
 * Table 3-55): LDT (2) and available/busy 64-bit TSS (9, B) for both; 64-bit call gate (C) for LAR only.
 */
const LAR_SYSTEM_TYPES: ReadonlySet<number> = new Set([0x2, 0x9, 0xb, 0xc]);
const LSL_SYSTEM_TYPES: ReadonlySet<number> = new Set([0x2, 0x9, 0xb]);
/**
 * LAR's mask of the second doubleword (SDM Vol. 2A LAR: 00FxFF00H, x for bits 19:16, which the
 * SDM leaves undefined). Named assumption `lar-limit-bits`: bits 19:16 carry the descriptor's
 * limit 19:16, as measured on AMD Zen 5 (LAR 2BH gives 00CFF300H under Linux 6.18).
 */
const LAR_MASK = 0x00ffff00;
/** The CPL of user mode under Linux. */
const USER_CPL = 3;
const RFLAGS_ZF = 0x40n;

/** The operand register of RDRAND/RDSEED/RDPID. */
function destination(ins: Instruction): Register {
  if (ins.opCount !== 1 || ins.op0Kind !== OpKind.Register) throw new Error(`${Mnemonic[ins.mnemonic]}: expected one register operand`);
  return ins.op0Register;
}

/** The linear address of the memory operand (SDM Vol. 1 3.7.5; FS/GS add their base in 64-bit mode). */
function memoryAddress(ins: Instruction, env: SystemInsnEnv): bigint {
  let a: bigint;
  if (ins.isIpRelMemoryOperand) a = ins.ipRelMemoryAddress;
  else {
    a = ins.memoryDisplacementU64;
    if (ins.memoryBase !== Register.None) a += env.getGpr(ins.memoryBase);
    if (ins.memoryIndex !== Register.None) a += env.getGpr(ins.memoryIndex) * BigInt(ins.memoryIndexScale);
    // A 67H prefix: the address is computed in 32 bits.
    const base = ins.memoryBase !== Register.None ? ins.memoryBase : ins.memoryIndex;
    if (base !== Register.None && RegisterExt.size(base) === 4) a &= 0xffffffffn;
  }
  const seg = ins.memorySegment;
  if (seg === Register.FS || seg === Register.GS) a += env.segmentBase(seg);
  return a & MASK64;
}

/** Operand `op` (a register or memory of `size` bytes, little endian). */
function readRm(ins: Instruction, op: number, env: SystemInsnEnv, size: number): bigint {
  if (ins.opKind(op) === OpKind.Register) return env.getGpr(ins.opRegister(op));
  const b = env.readMem(memoryAddress(ins, env), size);
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** What differs between vendors among these instructions. */
export interface VendorRules {
  /** BSF/BSR with a zero source leave bits 63:32 of a 32-bit destination (AMD) instead of clearing them (Intel). */
  bitScanZeroKeepsUpper: boolean;
}

/**
 * Execute one of SYSTEM_INSNS (the caller checked the CPUID feature and CPL rules); false for any
 * other instruction.
 */
export function emulateSystemInsn(ins: Instruction, env: SystemInsnEnv, src: SystemSources, vendor: VendorRules): boolean {
  if (PRIVILEGED_AT_CPL3.has(ins.mnemonic)) throw new CpuFault(Vector.GP, `${Mnemonic[ins.mnemonic]} at CPL 3`);
  switch (ins.mnemonic) {
    case Mnemonic.Bsf: case Mnemonic.Bsr: {
      // SDM Vol. 2A BSF/BSR: the index of the lowest/highest set bit; ZF = 1 and the destination
      // as the vendor leaves it when the source is 0. CF, OF, SF, AF, PF undefined: left 0.
      const dst = ins.op0Register;
      const size = RegisterExt.size(dst);
      const v = readRm(ins, 1, env, size);
      if (v === 0n) {
        if (size === 4 && !vendor.bitScanZeroKeepsUpper) env.setGpr(dst, env.getGpr(dst));
      } else {
        let i = 0n;
        if (ins.mnemonic === Mnemonic.Bsf) { while (!((v >> i) & 1n)) i++; }
        else { i = BigInt(size * 8 - 1); while (!((v >> i) & 1n)) i--; }
        env.setGpr(dst, i);
      }
      env.setStatusFlags({ cf: 0, pf: 0, af: 0, zf: v === 0n ? 1 : 0, sf: 0, of: 0 });
      return true;
    }
    case Mnemonic.Popf: case Mnemonic.Popfq: {
      // SDM Vol. 2B POPF, protected/64-bit mode with CPL > 0 and CPL > IOPL (Linux keeps IOPL 0):
      // IF, IOPL, VIP, VIF and VM are unchanged, RF is cleared, the other defined flags load.
      const size = ins.mnemonic === Mnemonic.Popfq ? 8 : 2;
      const rsp = env.getGpr(Register.RSP);
      const b = env.readMem(rsp, size);
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      const old = env.getRflags();
      const loadable = size === 8 ? POPF_CPL3_LOADABLE : POPF_CPL3_LOADABLE & 0xffffn;
      env.setRflags(((old & ~loadable & ~RFLAGS_RF) | (v & loadable) | RFLAGS_FIXED_ONE) & MASK64);
      env.setGpr(Register.RSP, (rsp + BigInt(size)) & MASK64);
      return true;
    }
    case Mnemonic.Rdtsc: case Mnemonic.Rdtscp: {
      // SDM Vol. 2B RDTSC/RDTSCP: EDX:EAX := TSC (the high halves of RAX and RDX cleared);
      // RDTSCP also ECX := IA32_TSC_AUX[31:0]. Linux leaves CR4.TSD clear, so both run at CPL 3.
      const tsc = src.readTsc() & MASK64;
      env.setGpr(Register.EAX, tsc & 0xffffffffn);
      env.setGpr(Register.EDX, tsc >> 32n);
      if (ins.mnemonic === Mnemonic.Rdtscp) env.setGpr(Register.ECX, BigInt(src.tscAux() >>> 0));
      return true;
    }
    case Mnemonic.Rdpid: {
      // SDM Vol. 2B RDPID: in 64-bit mode the operand is 64 bits, IA32_TSC_AUX zero-extended.
      env.setGpr(destination(ins), BigInt(src.tscAux() >>> 0));
      return true;
    }
    case Mnemonic.Rdrand: case Mnemonic.Rdseed: {
      // SDM Vol. 2B RDRAND/RDSEED: the destination gets a random value of its size and CF = 1 when
      // one was available; OF, SF, ZF, AF and PF are cleared. Assumption (named in the README,
      // `rdrand-never-empty`): the modelled generator always has a value, so CF is always 1.
      const r = destination(ins);
      const bits = BigInt(RegisterExt.size(r) * 8);
      env.setGpr(r, src.random64() & ((1n << bits) - 1n));
      env.setStatusFlags({ cf: 1, pf: 0, af: 0, zf: 0, sf: 0, of: 0 });
      return true;
    }
    case Mnemonic.Lar: case Mnemonic.Lsl: case Mnemonic.Verr: case Mnemonic.Verw: {
      const verify = ins.mnemonic === Mnemonic.Verr || ins.mnemonic === Mnemonic.Verw;
      const sel = Number(readRm(ins, verify ? 0 : 1, env, 2) & 0xffffn);
      const r = segmentCheck(ins.mnemonic, sel, src.descriptor?.(sel));
      if (r !== undefined && !verify) env.setGpr(ins.op0Register, r);
      env.setRflags(r !== undefined ? env.getRflags() | RFLAGS_ZF : env.getRflags() & ~RFLAGS_ZF);
      return true;
    }
    case Mnemonic.Serialize:
      // SDM Vol. 2B SERIALIZE: serializes instruction execution; no architectural register or memory effect.
      return true;
    case Mnemonic.Clwb: case Mnemonic.Clflushopt:
      // SDM Vol. 2A CLWB/CLFLUSHOPT: write back (and, CLFLUSHOPT, invalidate) the line; no
      // architectural data change. Faults as a byte load of the address (SDM: "treated as a byte
      // load" for permission and page faults; assumption `cache-line-hint-byte-load`).
      env.readMem(memoryAddress(ins, env), 1);
      return true;
    case Mnemonic.Movdiri: {
      // SDM Vol. 2B MOVDIRI: a direct store of the 32/64-bit source register to memory.
      const src = ins.op1Register;
      const size = RegisterExt.size(src);
      const v = env.getGpr(src);
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
      env.writeMem(memoryAddress(ins, env), b);
      return true;
    }
    case Mnemonic.Movdir64b: {
      // SDM Vol. 2B MOVDIR64B: 64 bytes from the source memory to ES:[reg] (64-bit register in
      // 64-bit mode, 32-bit with 67H); #GP(0) when the destination is not 64-byte aligned. ES's
      // base is 0 in 64-bit mode.
      const r = ins.op0Register;
      let dst = env.getGpr(r);
      if (RegisterExt.size(r) === 4) dst &= 0xffffffffn;
      if (dst % BigInt(MOVDIR64B_BYTES) !== 0n) throw new CpuFault(Vector.GP, `MOVDIR64B: destination 0x${dst.toString(16)} is not 64-byte aligned`);
      const data = env.readMem(memoryAddress(ins, env), MOVDIR64B_BYTES);
      env.writeMem(dst, data);
      return true;
    }
    case Mnemonic.Ptwrite:
      // SDM Vol. 2B PTWRITE: with IA32_RTIT_CTL.TraceEn = 0 (Linux enables Intel PT only for a
      // perf session; assumption `pt-trace-off`) no packet is generated: the operand is read
      // (its faults apply) and nothing else changes.
      readRm(ins, 0, env, ins.code === Code.Ptwrite_rm64 ? 8 : 4);
      return true;
    case Mnemonic.Hreset: case Mnemonic.Pconfig:
      // SDM Vol. 2A HRESET, Vol. 2B PCONFIG: #GP(0) if CPL > 0; Linux user space runs at CPL 3.
      throw new CpuFault(Vector.GP, `${Mnemonic[ins.mnemonic].toUpperCase()} at CPL ${USER_CPL}`);
    case Mnemonic.Xsusldtrk: case Mnemonic.Xresldtrk:
      // SDM Vol. 2B XSUSLDTRK/XRESLDTRK: outside a transactional region, a NOP (#UD with LOCK).
      // Assumption `no-active-transaction`: the model never has an RTM transaction active.
      if (ins.hasLockPrefix) throw new CpuFault(Vector.UD, `${Mnemonic[ins.mnemonic].toUpperCase()} with LOCK`);
      return true;
    case Mnemonic.Testui: case Mnemonic.Clui: case Mnemonic.Stui: case Mnemonic.Uiret: case Mnemonic.Senduipi:
      // SDM Vol. 2 (user interrupts): #UD if CR4.UINTR = 0. Linux 6.18 has no user-interrupt
      // support and never sets CR4.UINTR (arch/x86, 6.18), so they are #UD (SIGILL) at CPL 3.
      throw new CpuFault(Vector.UD, `${Mnemonic[ins.mnemonic].toUpperCase()}: CR4.UINTR is clear (Linux 6.18 does not enable user interrupts)`);
    case Mnemonic.Enqcmd:
      // SDM Vol. 2A ENQCMD: #GP(0) if IA32_PASID.Valid = 0. Linux sets IA32_PASID only for a
      // process bound to a device for shared virtual addressing (IOMMU SVA), which the model has
      // none of (assumption `no-pasid`): SIGSEGV (SI_KERNEL).
      throw new CpuFault(Vector.GP, 'ENQCMD: IA32_PASID is not valid (no PASID bound to this process)');
    case Mnemonic.Enqcmds:
      // SDM Vol. 2A ENQCMDS: #GP(0) if CPL > 0.
      throw new CpuFault(Vector.GP, `ENQCMDS at CPL ${USER_CPL}`);
    default: return false;
  }
}

/**
 * LAR, LSL, VERR, VERW at CPL 3 (SDM Vol. 2A LAR, LSL; Vol. 2B VERR/VERW): the value LAR or LSL
 * loads (VERR/VERW: any value when the check passes), or undefined when ZF is cleared and the
 * destination left alone (a null selector, one beyond the table, a type the instruction does not
 * take, or a descriptor the privilege rule hides: a non-conforming one with DPL < max(CPL, RPL)).
 * The present bit is not checked (SDM: LAR and LSL "do not check the P flag").
 */
export function segmentCheck(m: Mnemonic, sel: number, desc: bigint | undefined): bigint | undefined {
  if (desc === undefined) return undefined;
  const hi = Number((desc >> 32n) & 0xffffffffn);
  const lo = Number(desc & 0xffffffffn);
  const type = (hi >> DESC_TYPE_SHIFT) & 0xf;
  const system = (hi & DESC_S) === 0;
  const dpl = (hi >> DESC_DPL_SHIFT) & 3;
  const rpl = sel & 3;
  const conformingCode = !system && (type & TYPE_CODE) !== 0 && (type & TYPE_CONFORMING) !== 0;
  if (!conformingCode && dpl < Math.max(USER_CPL, rpl)) return undefined;
  switch (m) {
    case Mnemonic.Lar:
      if (system && !LAR_SYSTEM_TYPES.has(type)) return undefined;
      return BigInt((hi & LAR_MASK) >>> 0);
    case Mnemonic.Lsl: {
      if (system && !LSL_SYSTEM_TYPES.has(type)) return undefined;
      const raw = (lo & 0xffff) | (hi & 0xf0000);
      // The limit in bytes: with G set, 4-KiB units and the low 12 bits set.
      return BigInt(hi & DESC_G ? ((raw << 12) | 0xfff) >>> 0 : raw);
    }
    case Mnemonic.Verr:
      // Readable: any data segment, a code segment with R set.
      if (system || ((type & TYPE_CODE) !== 0 && (type & TYPE_READ_WRITE) === 0)) return undefined;
      return 1n;
    case Mnemonic.Verw:
      // Writable: a data segment with W set (code is never writable).
      if (system || (type & TYPE_CODE) !== 0 || (type & TYPE_READ_WRITE) === 0) return undefined;
      return 1n;
    default: return undefined;
  }
}

/** What IRET does when it returns to CPL 3 with these selectors (SDM Vol. 2A IRET, return to outer privilege level). */
export type IretOutcome = { fault: 'GP' | 'NP' | 'SS'; selector: number } | { fault: undefined; longMode: boolean };

/**
 * IRET from CPL 0 to a CS and SS of RPL 3 (SDM Vol. 2A IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL):
 * CS must name a code segment (non-conforming: DPL = RPL; conforming: DPL <= RPL), present
 * (#NP) and not null or beyond its table (#GP); SS a writable data segment with DPL = RPL,
 * present (#SS), not null (#GP: a null SS is allowed only below CPL 3). `longMode`: CS.L set.
 */
export function iretToUser(cs: number, ss: number, descriptor: (sel: number) => bigint | undefined): IretOutcome {
  const fields = (d: bigint): { type: number; s: boolean; dpl: number; p: boolean; l: boolean } => {
    const hi = Number((d >> 32n) & 0xffffffffn);
    return { type: (hi >> DESC_TYPE_SHIFT) & 0xf, s: (hi & DESC_S) !== 0, dpl: (hi >> DESC_DPL_SHIFT) & 3, p: (hi & (1 << 15)) !== 0, l: (hi & (1 << 21)) !== 0 };
  };
  const err = (sel: number): number => sel & ~3;
  const rpl = cs & 3;
  const c = descriptor(cs);
  if (c === undefined) return { fault: 'GP', selector: err(cs) };
  const cf = fields(c);
  if (!cf.s || !(cf.type & TYPE_CODE)) return { fault: 'GP', selector: err(cs) };
  if (cf.type & TYPE_CONFORMING ? cf.dpl > rpl : cf.dpl !== rpl) return { fault: 'GP', selector: err(cs) };
  if (!cf.p) return { fault: 'NP', selector: err(cs) };
  const s = descriptor(ss);
  if (s === undefined) return { fault: 'GP', selector: err(ss) };
  const sf = fields(s);
  if ((ss & 3) !== rpl || sf.dpl !== rpl || !sf.s || (sf.type & TYPE_CODE) || !(sf.type & TYPE_READ_WRITE)) return { fault: 'GP', selector: err(ss) };
  if (!sf.p) return { fault: 'SS', selector: err(ss) };
  return { fault: undefined, longMode: cf.l };
}
