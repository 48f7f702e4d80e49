/** Binary protocol with src/selfcheck/xsave-probe.c (keep the two in step). */

export enum ProbeOp {
  XSAVE = 1, XSAVE64, XSAVEOPT, XSAVEOPT64, XSAVEC, XSAVEC64,
  XRSTOR, XRSTOR64, FXSAVE, FXSAVE64, FXRSTOR, FXRSTOR64,
  XSAVES64, XRSTORS64, XSETBV, XGETBV, LOCK_XSAVE64,
  /** XRSTOR64 from the target, byte pokes into the target, XSAVEOPT64 to the target. */
  XRSTOR_POKE_XSAVEOPT64,
}

export const CASE_HEADER_SIZE = 64;
export const RESULT_HEADER_SIZE = 16;
export const HELLO_SIZE = 24;
export const HELLO_MAGIC = 0x58505242;
/** The probe's target buffer is this much longer than the area, so misaligned targets fit. */
export const TARGET_SLACK = 128;

export interface ProbeCase {
  op: ProbeOp;
  targetOffset: number;
  setupRfbm: bigint;
  opRfbm: bigint;
  ecx: number;
  pokes: { offset: number; value: number }[];
  /** Standard-format image restored in step 2 (area bytes). */
  setup: Uint8Array;
  /** Target buffer content before the op (area bytes, at targetOffset). */
  target: Uint8Array;
}

export interface ProbeResult {
  signal: number;
  xinuse: bigint;
  target: Uint8Array;
  readback: Uint8Array;
}

export function encodeCase(c: ProbeCase, area: number): Buffer {
  const b = Buffer.alloc(CASE_HEADER_SIZE + area + area + TARGET_SLACK);
  b.writeUInt32LE(c.op, 0);
  b.writeUInt32LE(c.targetOffset, 4);
  b.writeBigUInt64LE(c.setupRfbm, 8);
  b.writeBigUInt64LE(c.opRfbm, 16);
  b.writeUInt32LE(c.ecx >>> 0, 24);
  b.writeUInt32LE(c.pokes.length, 28);
  c.pokes.slice(0, 2).forEach((p, k) => b.writeUInt32LE(((p.offset & 0xffffff) | (p.value << 24)) >>> 0, 32 + 4 * k));
  b.set(c.setup, CASE_HEADER_SIZE);
  // target_mem holds area + slack bytes; the probe uses target_mem + targetOffset.
  b.set(c.target, CASE_HEADER_SIZE + area + c.targetOffset);
  return b;
}

export const resultRecordSize = (area: number): number => RESULT_HEADER_SIZE + 2 * area;

export function decodeResult(b: Buffer, at: number, area: number): ProbeResult {
  return {
    signal: b.readUInt32LE(at),
    xinuse: b.readBigUInt64LE(at + 8),
    target: new Uint8Array(b.subarray(at + RESULT_HEADER_SIZE, at + RESULT_HEADER_SIZE + area)),
    readback: new Uint8Array(b.subarray(at + RESULT_HEADER_SIZE + area, at + RESULT_HEADER_SIZE + 2 * area)),
  };
}
