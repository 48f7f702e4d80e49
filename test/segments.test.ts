/**
 * LAR/LSL/VERR/VERW and IRET's selector checks (emulator/general-insns.ts segmentCheck,
 * iretToUser) on the descriptors Linux sets up (src/linux/arch/x86/kernel/cpu/common.ts) and on
 * the LDT entries modify_ldt writes (src/linux/arch/x86/kernel/ldt.ts): the cases the host cannot
 * show (its PVM hypervisor hides __USER32_CS and the LDT from LAR), pinned on the SDM's rules.
 * test/guests/segments.c compares the rest with the real machine.
 */
import { Mnemonic } from 'iced-x86';
import { describe, expect, it } from 'vitest';
import { iretToUser, segmentCheck } from '../emulator/general-insns.js';

/** A descriptor from its access byte (P, DPL, S, type), flags nibble (G, D/B, L, AVL) and 20-bit limit. */
const desc = (access: number, flags: number, limit: number): bigint =>
  (BigInt((((access << 8) | (limit & 0xf0000) | (flags << 20)) >>> 0)) << 32n) | BigInt(limit & 0xffff);
const USER32_CS = desc(0xfb, 0xc, 0xfffff);
const USER_CS = desc(0xfb, 0xa, 0xfffff);
const USER_DS = desc(0xf3, 0xc, 0xfffff);
const KERNEL_CS = desc(0x9b, 0xa, 0xfffff);
const PER_CPU = desc(0xf5, 0x4, 0x1003);
const gdt = new Map<number, bigint>([[0x20, USER32_CS], [0x28, USER_DS], [0x30, USER_CS], [0x10, KERNEL_CS], [0x78, PER_CPU]]);
const lookup = (sel: number): bigint | undefined => gdt.get(sel & ~3);

describe('LAR, LSL, VERR, VERW at CPL 3', () => {
  it('read the user descriptors, hide the kernel ones, expand the limit by G', () => {
    expect(segmentCheck(Mnemonic.Lar, 0x23, lookup(0x23))).toBe(0x00cffb00n);
    expect(segmentCheck(Mnemonic.Lsl, 0x23, lookup(0x23))).toBe(0xffffffffn);
    expect(segmentCheck(Mnemonic.Lsl, 0x7b, lookup(0x7b))).toBe(0x1003n);
    expect(segmentCheck(Mnemonic.Lar, 0x10, lookup(0x10))).toBeUndefined();
    expect(segmentCheck(Mnemonic.Lar, 0x0, undefined)).toBeUndefined();
    expect(segmentCheck(Mnemonic.Verr, 0x33, lookup(0x33))).toBe(1n);
    expect(segmentCheck(Mnemonic.Verw, 0x33, lookup(0x33))).toBeUndefined();
    expect(segmentCheck(Mnemonic.Verw, 0x7b, lookup(0x7b))).toBeUndefined();
    expect(segmentCheck(Mnemonic.Verw, 0x2b, lookup(0x2b))).toBe(1n);
  });

  it('take LDT and TSS system descriptors as the SDM lists them, once the privilege rule allows', () => {
    const ldtDpl3 = desc(0xe2, 0, 0xff); // type 2 LDT, DPL 3
    const tssDpl3 = desc(0xeb, 0, 0x67); // busy 64-bit TSS, DPL 3
    const gateDpl3 = desc(0xec, 0, 0); // 64-bit call gate, DPL 3
    const intGate = desc(0xee, 0, 0); // interrupt gate: neither
    expect(segmentCheck(Mnemonic.Lar, 0x7, ldtDpl3)).toBe(0x0000e200n);
    expect(segmentCheck(Mnemonic.Lsl, 0x7, tssDpl3)).toBe(0x67n);
    expect(segmentCheck(Mnemonic.Lar, 0x7, gateDpl3)).toBe(0x0000ec00n);
    expect(segmentCheck(Mnemonic.Lsl, 0x7, gateDpl3)).toBeUndefined();
    expect(segmentCheck(Mnemonic.Lar, 0x7, intGate)).toBeUndefined();
    expect(segmentCheck(Mnemonic.Verr, 0x7, ldtDpl3)).toBeUndefined();
  });

  it('a conforming code segment passes whatever its DPL; a not-present one is still read', () => {
    const conforming = desc(0x9f, 0xc, 0xfffff); // DPL 0, conforming readable code
    expect(segmentCheck(Mnemonic.Lar, 0xf, conforming)).toBe(0x00cf9f00n);
    expect(segmentCheck(Mnemonic.Verr, 0xf, conforming)).toBe(1n);
    const absent = desc(0x73, 0x4, 0xfff); // not present, DPL 3 data (an LDT entry with seg_not_present)
    expect(segmentCheck(Mnemonic.Lar, 0xf, absent)).toBe(0x00407300n);
  });
});

describe('IRET to CPL 3 after rt_sigreturn', () => {
  it('returns to 64-bit or compat mode with good selectors, faults with the rest', () => {
    expect(iretToUser(0x33, 0x2b, lookup)).toEqual({ fault: undefined, longMode: true });
    expect(iretToUser(0x23, 0x2b, lookup)).toEqual({ fault: undefined, longMode: false });
    expect(iretToUser(0x2b, 0x2b, lookup)).toEqual({ fault: 'GP', selector: 0x28 });
    expect(iretToUser(0x13, 0x2b, lookup)).toEqual({ fault: 'GP', selector: 0x10 });
    expect(iretToUser(0x33, 0x3, lookup)).toEqual({ fault: 'GP', selector: 0 });
    expect(iretToUser(0x33, 0x7b, lookup)).toEqual({ fault: 'GP', selector: 0x78 });
    const np = new Map<number, bigint>([[0x30, desc(0x7b, 0xa, 0xfffff)], [0x28, USER_DS], [0x8, desc(0x73, 0xc, 0xfffff)]]);
    const l2 = (sel: number): bigint | undefined => np.get(sel & ~3);
    expect(iretToUser(0x33, 0x2b, l2)).toEqual({ fault: 'NP', selector: 0x30 });
    const ss = new Map<number, bigint>([[0x30, USER_CS], [0x8, desc(0x73, 0xc, 0xfffff)]]);
    expect(iretToUser(0x33, 0xb, (sel) => ss.get(sel & ~3))).toEqual({ fault: 'SS', selector: 0x8 });
  });
});
