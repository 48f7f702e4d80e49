/**
 * General (non-vector) instructions the model runs instead of unicorn 2.0.1.
 *
 * MOVBE: unicorn 2.0.1 cannot run it (glibc's AVX2 memcmp uses it: measured with the real-program
 * corpus, bench/programs.ts, on amd-zen1).
 *
 * Instructions whose result comes from outside the register file: the time-stamp
 * counter, TSC_AUX and the random-number generator. Unicorn 2.0.1 gets them wrong for a
 * deterministic model (measured with the general-instruction referee, src/selfcheck/general-selfcheck.ts):
 * RDTSC/RDTSCP return the host's TSC (a different value every run), RDTSCP/RDPID return a TSC_AUX
 * of 0 where Linux stores the CPU and node, and RDRAND/RDSEED stop the run ("cannot run it").
 * The model owns them (emulator/ownership.ts); the values come from the OS model through
 * `SystemSources`, so that the same program gives the same answers on every run and host.
 */
import { Mnemonic, OpKind, Register, RegisterExt, type Instruction } from 'iced-x86';

/** What these instructions read and write: GPRs, memory and the status flags (a subset of avx.ts ExecEnv). */
export interface SystemInsnEnv {
  getGpr(r: Register): bigint;
  setGpr(r: Register, v: bigint): void;
  readMem(addr: bigint, len: number): Uint8Array;
  writeMem(addr: bigint, data: Uint8Array): void;
  segmentBase(seg: Register): bigint;
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
}

const MASK64 = (1n << 64n) - 1n;

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

export const SYSTEM_INSNS: ReadonlySet<Mnemonic> = new Set([Mnemonic.Movbe, Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdpid, Mnemonic.Rdrand, Mnemonic.Rdseed]);

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

/**
 * Execute one of SYSTEM_INSNS (the caller checked the CPUID feature and CPL rules); false for any
 * other instruction.
 */
export function emulateSystemInsn(ins: Instruction, env: SystemInsnEnv, src: SystemSources): boolean {
  switch (ins.mnemonic) {
    case Mnemonic.Movbe: {
      // SDM Vol. 2B MOVBE: a load or store with the bytes of the operand reversed; flags unaffected;
      // a 16-bit destination register keeps bits 63:16, a 32-bit one is zero-extended.
      const load = ins.op0Kind === OpKind.Register;
      const reg = load ? ins.op0Register : ins.op1Register;
      const size = RegisterExt.size(reg);
      const addr = memoryAddress(ins, env);
      if (load) {
        const b = env.readMem(addr, size);
        let v = 0n;
        for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[i]!);
        env.setGpr(reg, v);
      } else {
        const v = env.getGpr(reg);
        const b = new Uint8Array(size);
        for (let i = 0; i < size; i++) b[i] = Number((v >> BigInt(8 * (size - 1 - i))) & 0xffn);
        env.writeMem(addr, b);
      }
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
    default: return false;
  }
}
