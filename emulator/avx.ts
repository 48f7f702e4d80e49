/**
 * AVX, AVX2 and AVX-512 instructions and the opmask instructions, emulated over the register file;
 * the implementation lives in emulator/vector/ (core.ts: operands and masking; one module per
 * instruction group; table.ts: dispatch). This module is the entry point the machine uses.
 */
export { effectiveAddress, vecIndex, vecWidth, type ExecEnv } from './vector/core.js';
export { EMULATED_VECTOR_MNEMONICS, emulateVector, isEmulatedMnemonic, isEmulatedVector } from './vector/table.js';
