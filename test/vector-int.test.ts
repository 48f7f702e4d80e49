/**
 * The table-driven integer vector emulation (emulator/vector/): the table's element sizes agree
 * with iced-x86's metadata; the forms this host cannot run (AVX-IFMA, AVX-VNNI-INT8/INT16,
 * AVX512-FP16 moves) against the SDM's pseudo-code written out independently here; EVEX fault
 * suppression; gathers' progress on a fault; BMI flags on edge values. The host-run referee for
 * every form the host has is `selfcheck insn` (test/insn-selfcheck.test.ts).
 */
import { Code, CodeExt, Decoder, DecoderOptions, Encoder, Instruction, MemorySizeExt, Mnemonic, Register } from 'iced-x86';
import { describe, expect, it } from 'vitest';
import { emulateVector, isEmulatedMnemonic, type ExecEnv } from '../emulator/avx.js';
import { loadBuiltinQuietly } from '../emulator/profile.js';
import { VectorFile } from '../emulator/vector-file.js';
import { ELEMENTWISE_INT } from '../emulator/vector/int-arith.js';
import { XsaveContext } from '../emulator/xsave.js';

/** A page-granular guest memory: unmapped pages throw, as the machine's GuestMemoryFault does. */
class Unmapped extends Error {
  constructor(readonly addr: bigint) { super(`unmapped 0x${addr.toString(16)}`); }
}
const PAGE = 4096n;
class TestEnv implements ExecEnv {
  readonly gpr = new Map<Register, bigint>();
  readonly mem = new Map<bigint, Uint8Array>();
  flags = { cf: 0, pf: 0, af: 0, zf: 0, sf: 0, of: 0 };
  constructor(readonly vec: VectorFile) {}
  map(page: bigint): void { this.mem.set(page, new Uint8Array(Number(PAGE))); }
  private byte(a: bigint): [Uint8Array, number] {
    const p = this.mem.get(a & ~(PAGE - 1n));
    if (!p) throw new Unmapped(a);
    return [p, Number(a & (PAGE - 1n))];
  }
  getGpr(r: Register): bigint { return this.gpr.get(r) ?? 0n; }
  setGpr(r: Register, v: bigint): void { this.gpr.set(r, v); }
  readMem(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) { const [p, o] = this.byte(addr + BigInt(i)); out[i] = p[o]; }
    return out;
  }
  writeMem(addr: bigint, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.byte(addr + BigInt(i)); // all or nothing
    for (let i = 0; i < data.length; i++) { const [p, o] = this.byte(addr + BigInt(i)); p[o] = data[i]; }
  }
  setStatusFlags(f: { cf: number; pf: number; af: number; zf: number; sf: number; of: number }): void { this.flags = { ...f }; }
  segmentBase(): bigint { return 0n; }
}

function machine(): { env: TestEnv; vec: VectorFile } {
  const cpu = loadBuiltinQuietly('intel-sapphire-rapids');
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = cpu.xcr0Supported;
  const vec = new VectorFile(ctx.regs);
  return { env: new TestEnv(vec), vec };
}

/** Encode an instruction built with iced-x86 and decode it back (the emulator sees decoded instructions). */
function roundTrip(ins: Instruction): Instruction {
  const e = new Encoder(64);
  e.encode(ins, 0n);
  const bytes = e.takeBuffer();
  e.free();
  const d = new Decoder(64, bytes, DecoderOptions.None);
  const out = d.decode();
  d.free();
  return out;
}
function run(env: TestEnv, ins: Instruction): void {
  expect(emulateVector(roundTrip(ins), env)).toBe(true);
}

/** mulberry32, for repeatable operands. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
const randomBytes = (r: () => number, n: number): Uint8Array => Uint8Array.from({ length: n }, () => r() & 0xff);
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('the elementwise table and iced-x86 metadata', () => {
  it('every broadcastable code of a table mnemonic broadcasts elements of the table\'s size', () => {
    const sizes = new Map(ELEMENTWISE_INT.map(([m, es]) => [m, es]));
    let checked = 0;
    for (let c = 0; Code[c] !== undefined; c++) {
      const o = CodeExt.opCode(c);
      const es = sizes.get(o.mnemonic);
      if (es !== undefined && o.canBroadcast) {
        expect(MemorySizeExt.elementSize(o.broadcastMemorySize), Code[c]).toBe(es);
        checked++;
      }
      o.free();
    }
    expect(checked).toBeGreaterThan(100);
  });
  it('every VEX/EVEX integer mnemonic of the extensions in scope is emulated', () => {
    for (const m of [Mnemonic.Vpminub, Mnemonic.Vpshufb, Mnemonic.Vpermt2b, Mnemonic.Vpcompressb, Mnemonic.Vpgatherdd, Mnemonic.Vpscatterqq,
      Mnemonic.Vaesenc, Mnemonic.Vpclmulqdq, Mnemonic.Vgf2p8affineinvqb, Mnemonic.Vpdpbusds, Mnemonic.Vpmadd52huq, Mnemonic.Vpshufbitqmb,
      Mnemonic.Vpconflictq, Mnemonic.Vplzcntd, Mnemonic.Vpopcntb, Mnemonic.Vpmultishiftqb, Mnemonic.Vpshrdvq, Mnemonic.Vdbpsadbw,
      Mnemonic.Vp2intersectd, Mnemonic.Andn, Mnemonic.Pdep, Mnemonic.Movbe, Mnemonic.Vmovw, Mnemonic.Vmovsh]) {
      expect(isEmulatedMnemonic(m), Mnemonic[m]).toBe(true);
    }
  });
});

describe('forms this host cannot run, against the SDM pseudo-code', () => {
  it('VPMADD52LUQ/HUQ (VEX, AVX-IFMA) per 52-bit product', () => {
    const { env, vec } = machine();
    const r = prng(1);
    const M52 = (1n << 52n) - 1n;
    for (const [code, high] of [[Code.VEX_Vpmadd52luq_ymm_ymm_ymmm256, false], [Code.VEX_Vpmadd52huq_xmm_xmm_xmmm128, true]] as const) {
      for (let t = 0; t < 20; t++) {
        const [d, a, b] = [randomBytes(r, 32), randomBytes(r, 32), randomBytes(r, 32)];
        vec.write(1, d, 1); vec.write(2, a, 1); vec.write(3, b, 1);
        const width = code === Code.VEX_Vpmadd52luq_ymm_ymm_ymmm256 ? 32 : 16;
        run(env, Instruction.createRegRegReg(code, width === 32 ? Register.YMM1 : Register.XMM1, width === 32 ? Register.YMM2 : Register.XMM2, width === 32 ? Register.YMM3 : Register.XMM3));
        const got = vec.read(1, 32);
        for (let q = 0; q < width / 8; q++) {
          const p = (dv(a).getBigUint64(8 * q, true) & M52) * (dv(b).getBigUint64(8 * q, true) & M52);
          const want = BigInt.asUintN(64, dv(d).getBigUint64(8 * q, true) + (high ? p >> 52n : p & M52));
          expect(dv(got).getBigUint64(8 * q, true)).toBe(want);
        }
        if (width === 16) expect([...got.subarray(16)].every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('AVX-VNNI-INT8 / INT16 dot products with their signedness and saturation', () => {
    const { env, vec } = machine();
    const r = prng(2);
    type Case = { code: Code; part: 8 | 16; sa: boolean; sb: boolean; sat: 'none' | 's' | 'u' };
    const cases: Case[] = [
      { code: Code.VEX_Vpdpbssd_ymm_ymm_ymmm256, part: 8, sa: true, sb: true, sat: 'none' },
      { code: Code.VEX_Vpdpbssds_ymm_ymm_ymmm256, part: 8, sa: true, sb: true, sat: 's' },
      { code: Code.VEX_Vpdpbsud_ymm_ymm_ymmm256, part: 8, sa: true, sb: false, sat: 'none' },
      { code: Code.VEX_Vpdpbsuds_ymm_ymm_ymmm256, part: 8, sa: true, sb: false, sat: 's' },
      { code: Code.VEX_Vpdpbuud_ymm_ymm_ymmm256, part: 8, sa: false, sb: false, sat: 'none' },
      { code: Code.VEX_Vpdpbuuds_ymm_ymm_ymmm256, part: 8, sa: false, sb: false, sat: 'u' },
      { code: Code.VEX_Vpdpwsud_ymm_ymm_ymmm256, part: 16, sa: true, sb: false, sat: 'none' },
      { code: Code.VEX_Vpdpwsuds_ymm_ymm_ymmm256, part: 16, sa: true, sb: false, sat: 's' },
      { code: Code.VEX_Vpdpwusd_ymm_ymm_ymmm256, part: 16, sa: false, sb: true, sat: 'none' },
      { code: Code.VEX_Vpdpwusds_ymm_ymm_ymmm256, part: 16, sa: false, sb: true, sat: 's' },
      { code: Code.VEX_Vpdpwuud_ymm_ymm_ymmm256, part: 16, sa: false, sb: false, sat: 'none' },
      { code: Code.VEX_Vpdpwuuds_ymm_ymm_ymmm256, part: 16, sa: false, sb: false, sat: 'u' },
    ];
    for (const k of cases) {
      for (let t = 0; t < 10; t++) {
        const [d, a, b] = [randomBytes(r, 32), randomBytes(r, 32), randomBytes(r, 32)];
        // Accumulators near the limits, so that saturation happens.
        if (t % 3 === 0) for (let i = 0; i < 8; i++) dv(d).setInt32(4 * i, i % 2 ? 0x7ffffff0 : -0x7ffffff0, true);
        if (t % 3 === 1) for (let i = 0; i < 8; i++) dv(d).setUint32(4 * i, 0xfffffff0, true);
        vec.write(1, d, 1); vec.write(2, a, 1); vec.write(3, b, 1);
        run(env, Instruction.createRegRegReg(k.code, Register.YMM1, Register.YMM2, Register.YMM3));
        const got = vec.read(1, 32);
        for (let i = 0; i < 8; i++) {
          let sum = k.sat === 'u' ? dv(d).getUint32(4 * i, true) : dv(d).getInt32(4 * i, true);
          for (let j = 0; j < 32 / k.part; j++) {
            const o = 4 * i + (j * k.part) / 8;
            const x = k.part === 8 ? (k.sa ? dv(a).getInt8(o) : dv(a).getUint8(o)) : (k.sa ? dv(a).getInt16(o, true) : dv(a).getUint16(o, true));
            const y = k.part === 8 ? (k.sb ? dv(b).getInt8(o) : dv(b).getUint8(o)) : (k.sb ? dv(b).getInt16(o, true) : dv(b).getUint16(o, true));
            sum += x * y;
          }
          if (k.sat === 's') sum = Math.max(-0x80000000, Math.min(0x7fffffff, sum));
          if (k.sat === 'u') sum = Math.max(0, Math.min(0xffffffff, sum));
          expect(dv(got).getUint32(4 * i, true), `${Code[k.code]} dword ${i}`).toBe(sum >>> 0);
        }
      }
    }
  });

  it('VMOVW and VMOVSH (AVX512-FP16 moves)', () => {
    const { env, vec } = machine();
    vec.write(4, Uint8Array.from({ length: 64 }, (_, i) => i + 1), 1);
    env.setGpr(Register.ECX, 0xabcd1234n);
    run(env, Instruction.createRegReg(Code.EVEX_Vmovw_xmm_r32m16, Register.XMM4, Register.ECX));
    expect([...vec.read(4, 64)]).toEqual([0x34, 0x12, ...new Array(62).fill(0)]);
    run(env, Instruction.createRegReg(Code.EVEX_Vmovw_r32m16_xmm, Register.EDX, Register.XMM4));
    expect(env.getGpr(Register.EDX)).toBe(0x1234n);
    // VMOVSH xmm1, xmm2, xmm3: the low word of xmm3, bits 127:16 of xmm2, zero above.
    vec.write(5, Uint8Array.from({ length: 64 }, () => 0xaa), 1);
    vec.write(6, Uint8Array.from({ length: 64 }, () => 0x55), 1);
    run(env, Instruction.createRegRegReg(Code.EVEX_Vmovsh_xmm_k1z_xmm_xmm, Register.XMM7, Register.XMM5, Register.XMM6));
    expect([...vec.read(7, 64)]).toEqual([0x55, 0x55, ...new Array(14).fill(0xaa), ...new Array(48).fill(0)]);
  });
});

describe('memory rules', () => {
  it('an EVEX masked load does not touch masked-off elements on an unmapped page', () => {
    const { env, vec } = machine();
    env.map(0x10000n);
    const at = 0x11000n - 16n; // 16 mapped bytes, then an unmapped page
    env.writeMem(at, Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i));
    vec.writeK(1, 0xffffn); // 16 bytes enabled
    vec.write(1, new Uint8Array(64).fill(0x11), 1);
    // vmovdqu8 (%rax), %zmm2{%k1}{z} (bytes from GNU as) with RAX = at.
    const bytes = Uint8Array.from([0x62, 0xf1, 0x7f, 0xc9, 0x6f, 0x10]);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    const load = d.decode();
    d.free();
    expect(Mnemonic[load.mnemonic]).toBe('Vmovdqu8');
    env.setGpr(Register.RAX, at);
    expect(emulateVector(load, env)).toBe(true);
    expect([...vec.read(2, 64)]).toEqual([...Array.from({ length: 16 }, (_, i) => 0x80 + i), ...new Array(48).fill(0)]);
    vec.writeK(1, 0x1ffffn); // one element on the unmapped page: the fault
    expect(() => emulateVector(load, env)).toThrow(Unmapped);
  });

  it('a gather that faults leaves the completed elements loaded and their mask bits clear', () => {
    const { env, vec } = machine();
    env.map(0x20000n);
    env.writeMem(0x20000n, Uint8Array.from({ length: 64 }, (_, i) => i));
    // vpgatherdd 0(%rax,%zmm1,4), %zmm2{%k1}: indices 0,1,2 then one far away, then 4...
    const idx = new Uint8Array(64);
    for (let i = 0; i < 16; i++) dv(idx).setInt32(4 * i, i === 3 ? 0x4000 : i, true);
    vec.write(1, idx, 1);
    vec.write(2, new Uint8Array(64).fill(0xee), 1);
    vec.writeK(1, 0xffffn);
    env.setGpr(Register.RAX, 0x20000n);
    const bytes = Uint8Array.from([0x62, 0xf2, 0x7d, 0x49, 0x90, 0x14, 0x88]);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    const g = d.decode();
    d.free();
    expect(Mnemonic[g.mnemonic]).toBe('Vpgatherdd');
    expect(() => emulateVector(g, env)).toThrow(Unmapped);
    expect(vec.readK(1)).toBe(0xfff8n);
    const got = vec.read(2, 64);
    expect([...got.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect([...got.subarray(12, 64)].every((x) => x === 0xee)).toBe(true);
    // With the element mapped, the gather completes and clears the whole mask.
    env.map(0x30000n);
    expect(emulateVector(g, env)).toBe(true);
    expect(vec.readK(1)).toBe(0n);
  });
});

describe('BMI1/BMI2 edge values (SDM Vol. 2A/2B)', () => {
  const cases: [string, Code, bigint, bigint, bigint, Partial<{ cf: number; zf: number; sf: number }>][] = [
    ['BLSI of 0: result 0, CF 0, ZF 1', Code.VEX_Blsi_r64_rm64, 0n, 0n, 0n, { cf: 0, zf: 1 }],
    ['BLSMSK of 0: all ones, CF 1, ZF 0', Code.VEX_Blsmsk_r64_rm64, 0n, 0n, (1n << 64n) - 1n, { cf: 1, zf: 0, sf: 1 }],
    ['BLSR of 0x80: 0, CF 0, ZF 1', Code.VEX_Blsr_r32_rm32, 0x80n, 0n, 0n, { cf: 0, zf: 1 }],
    ['BZHI index 64 keeps the source, CF 1', Code.VEX_Bzhi_r64_rm64_r64, 0x1234n, 64n, 0x1234n, { cf: 1 }],
    ['BZHI index 4', Code.VEX_Bzhi_r32_rm32_r32, 0xffn, 4n, 0xfn, { cf: 0 }],
    ['BEXTR start 4 length 8', Code.VEX_Bextr_r32_rm32_r32, 0xabcdn, 0x0804n, 0xbcn, { cf: 0, zf: 0 }],
    ['BEXTR start beyond the operand', Code.VEX_Bextr_r64_rm64_r64, 0xabcdn, 0x0840n, 0n, { zf: 1 }],
    ['PDEP', Code.VEX_Pdep_r64_r64_rm64, 0b101n, 0xf0f0n, 0b1010000n, {}],
    ['PEXT', Code.VEX_Pext_r64_r64_rm64, 0xabcdn, 0xff00n, 0xabn, {}],
  ];
  for (const [name, code, a, b, want, flags] of cases) {
    it(name, () => {
      const { env } = machine();
      const info = CodeExt.opCode(code);
      const n = info.opCount;
      info.free();
      env.setGpr(Register.RCX, a); env.setGpr(Register.ECX, a & 0xffffffffn);
      env.setGpr(Register.RDX, b); env.setGpr(Register.EDX, b & 0xffffffffn);
      const is64 = Code[code].includes('r64');
      const dst = is64 ? Register.RAX : Register.EAX, s1 = is64 ? Register.RCX : Register.ECX, s2 = is64 ? Register.RDX : Register.EDX;
      // Operand order of iced-x86: BEXTR/BZHI r, rm (source), vvvv (control); PDEP/PEXT r, vvvv (source), rm (mask).
      const ins = n === 2 ? Instruction.createRegReg(code, dst, s1) : Instruction.createRegRegReg(code, dst, s1, s2);
      run(env, ins);
      expect(env.getGpr(dst)).toBe(want);
      for (const [f, v] of Object.entries(flags)) expect(env.flags[f as 'cf'], f).toBe(v);
    });
  }
});
