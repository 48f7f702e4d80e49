/**
 * The vector and opmask instructions the model emulates: importing the operation modules fills
 * the dispatch table (core.ts OPS); emulateVector looks an instruction up by mnemonic.
 */
import { EncodingKind, Instruction, Mnemonic } from '../iced.js';
import { OPS, infoOf, type ExecEnv } from './core.js';
import './moves.js';
import './integer.js';
import './opmask.js';
import './mxcsr.js';
import './float.js';
import './float-legacy.js';
import './float-bf16.js';
import './float-avx512.js';
import './float-mmx.js';
import './float-fp16.js';
// [vector-int] the table-driven integer and data-movement modules
import './int-arith.js';
import './shuffle.js';
import './misc-int.js';
import './crypto.js';
import './crypto-legacy.js';
import './gather.js';
import './bmi.js';

/** Mnemonics this module emulates (the README lists them). */
export const EMULATED_VECTOR_MNEMONICS: readonly string[] = [...OPS.keys()].map((m) => Mnemonic[m]).sort();

export function isEmulatedVector(ins: Instruction): boolean {
  return OPS.has(ins.mnemonic);
}
/** [vector-int] Whether a mnemonic is in the table (the referee generates its forms from this). */
export function isEmulatedMnemonic(m: Mnemonic): boolean {
  return OPS.has(m);
}

/**
 * Emulate one decoded vector or opmask instruction. Returns false when it is not in the table
 * (the caller reports it by name). Faults are thrown as CpuFault.
 */
export function emulateVector(ins: Instruction, env: ExecEnv): boolean {
  const op = OPS.get(infoOf(ins).mnemonic);
  if (!op) return false;
  const info = infoOf(ins);
  // The operand width: the widest vector register operand, else 16 bytes.
  op({ ins: info, env, vec: env.vec, width: info.width, evex: info.encoding === EncodingKind.EVEX });
  return true;
}
