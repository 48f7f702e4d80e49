/**
 * emulator/alignment-check.ts: which accesses #AC checks and at what alignment, as measured on AMD
 * Zen 5 (test/guests/alignment.c compares the vendor-independent part with the host) and the
 * vendor rule for operands wider than 8 bytes.
 */
import { describe, expect, it } from 'vitest';
import { Decoder, DecoderOptions, Register } from '../emulator/iced.js';
import { misalignedAccess, type AlignmentEnv } from '../emulator/alignment-check.js';

const AMD = { wideOperandAlignment: 16 };
const INTEL = { wideOperandAlignment: 8 };
const BASE = 0x10000n;

/** RAX = BASE, RSP/RSI/RDI as given, RCX = 1, k1 = `k1`. */
function env(regs: Partial<Record<'rsp' | 'rsi' | 'rdi' | 'rcx', bigint>> = {}, k1 = 0xffffn): AlignmentEnv {
  return {
    getGpr: (r) => r === Register.RAX ? BASE : r === Register.RSP ? regs.rsp ?? 0x7000n : r === Register.RSI ? regs.rsi ?? BASE : r === Register.RDI ? regs.rdi ?? BASE : r === Register.RCX ? regs.rcx ?? 1n : 0n,
    segmentBase: () => 0n,
    readK: (n) => (n === 1 ? k1 : 0n),
  };
}
function check(hex: string, rules = AMD, e = env()): bigint | undefined {
  const d = new Decoder(64, Uint8Array.from(hex.split(' ').map((x) => parseInt(x, 16))), DecoderOptions.None);
  d.ip = 0x401000n;
  const ins = d.decode();
  d.free();
  try {
    return misalignedAccess(ins, e, rules);
  } finally {
    ins.free();
  }
}

describe('#AC alignment rules', () => {
  it('operands wider than 8 bytes: 16 on AMD (measured), 8 on Intel (assumption ac-wide-operands-intel)', () => {
    expect(check('0f 10 40 08')).toBe(BASE + 8n); // movups 8(%rax)
    expect(check('0f 10 40 08', INTEL)).toBeUndefined();
    expect(check('0f 10 40 10')).toBeUndefined(); // movups 16(%rax)
    expect(check('c5 fc 10 40 10')).toBeUndefined(); // vmovups 16(%rax), ymm0: 16, not 32
  });
  it('masked EVEX and broadcasts: the element size; no element enabled, no check', () => {
    expect(check('62 f1 7e 49 6f 80 04 00 00 00')).toBeUndefined(); // vmovdqu32 4(%rax), zmm0{k1}
    expect(check('62 f1 7e 49 6f 80 02 00 00 00')).toBe(BASE + 2n); // vmovdqu32 2(%rax), zmm0{k1}
    expect(check('62 f1 7e 49 6f 80 02 00 00 00', AMD, env({}, 0n))).toBeUndefined(); // k1 = 0
    expect(check('62 f1 7c 58 58 40 01')).toBeUndefined(); // vaddps 4(%rax){1to16}
    expect(check('62 f1 7c 58 58 80 02 00 00 00')).toBe(BASE + 2n); // vaddps 2(%rax){1to16}
  });
  it('gathers, and operands that #GP instead, are not checked', () => {
    expect(check('c4 e2 6d 90 44 08 02')).toBeUndefined(); // vpgatherdd 2(%rax,%ymm1)
    expect(check('0f 28 40 08')).toBeUndefined(); // movaps 8(%rax): #GP
    expect(check('0f 58 40 08')).toBeUndefined(); // addps 8(%rax): #GP
  });
  it('the stack, strings (not with RCX 0), x87 areas and extended reals', () => {
    expect(check('50', AMD, env({ rsp: 0x7004n }))).toBe(0x6ffcn); // push %rax
    expect(check('50', AMD, env({ rsp: 0x7008n }))).toBeUndefined();
    expect(check('f3 48 a5', AMD, env({ rsi: BASE + 1n }))).toBe(BASE + 1n); // rep movsq
    expect(check('f3 48 a5', AMD, env({ rsi: BASE + 1n, rcx: 0n }))).toBeUndefined();
    expect(check('d9 70 04')).toBeUndefined(); // fnstenv 4(%rax): 4
    expect(check('d9 70 02')).toBe(BASE + 2n);
    expect(check('db 68 08')).toBeUndefined(); // fldt 8(%rax): 8
  });
});
