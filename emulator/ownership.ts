/**
 * Which instructions the model must own, decided by decoding (not by waiting for #UD): unicorn
 * 2.0.1 rejects some of them and silently mis-executes others (KMOVW, VZEROUPPER, VEX.128 writes
 * that must clear bits 511:128), as measured in ../shared/reference/unicorn-notes.md.
 */
import { Code, CpuidFeature, Decoder, DecoderOptions, EncodingKind, Instruction, Mnemonic } from 'iced-x86';

/** Mnemonics of the XSAVE family and the other non-vector instructions the model emulates. */
const OWNED_LEGACY = new Set<Mnemonic>([
  Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64,
  Mnemonic.Xsaves, Mnemonic.Xsaves64, Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64,
  Mnemonic.Xgetbv, Mnemonic.Xsetbv, Mnemonic.Rdpkru, Mnemonic.Wrpkru, Mnemonic.Cpuid,
  Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64,
  // unicorn 2.0.1 rejects RDFSBASE & co. whatever CR4.FSGSBASE; the model decides (#UD or run).
  Mnemonic.Rdfsbase, Mnemonic.Rdgsbase, Mnemonic.Wrfsbase, Mnemonic.Wrgsbase,
]);

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
  if (ins.encoding === EncodingKind.VEX || ins.encoding === EncodingKind.EVEX || ins.encoding === EncodingKind.XOP) return Ownership.Model;
  if (OWNED_LEGACY.has(ins.mnemonic)) return Ownership.Model;
  return Ownership.Unicorn;
}

/** CPUID features an instruction needs, as iced-x86 lists them (to raise #UD when the profile lacks one). */
export function requiredFeatures(ins: Instruction): CpuidFeature[] {
  return Array.from(ins.cpuidFeatures());
}

export interface SweepResult {
  /** Addresses of owned instructions, ascending. */
  owned: bigint[];
  /** Bytes the sweep could not decode (data in code, or a mis-synchronized sweep). */
  invalidAt: bigint[];
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
  const ins = new Instruction();
  while (d.canDecode) {
    d.decodeOut(ins);
    if (ins.code === Code.INVALID) { invalidAt.push(ins.ip); continue; }
    if (ownershipOf(ins) === Ownership.Model) owned.push(ins.ip);
  }
  // iced-x86 objects live in WebAssembly memory: free them explicitly.
  ins.free();
  d.free();
  return { owned, invalidAt };
}
