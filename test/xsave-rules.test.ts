/**
 * Rules the host cannot show (other CPUs' features, CPL 0, XFD, AMX, CR4/CR0 bits), checked
 * against results written from the manuals; each test names its source.
 */
import { describe, expect, it } from 'vitest';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { CpuFault, Vector, XsaveContext, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv, fxsave, fxrstor, tilecfgInvalid } from '../emulator/xsave.js';
import { CpuidTable } from '../emulator/cpuid-table.js';
import { Quirk } from '../emulator/quirks.js';
import { LEGACY } from '../emulator/register-file.js';
import { vendorDefaults } from '../emulator/vendor-defaults.js';
import { afterFnsave, afterFnstenv, fldenv, fnsave, fnstenv } from '../emulator/x87-env.js';
import { XFeature, bit } from '../emulator/xfeatures.js';

/**
 * A committed profile with the AMD x87 pointer save rule (quirk x87-pointers-saved-only-with-es,
 * XSaveErPtr set), chosen by those properties, not by name: the tests below pin the model's rule
 * on such a CPU, whatever host runs them.
 */
const AMD_POINTER_RULE_CPU = builtinProfileIds().find((id) => {
  const c = resolveCpu(id);
  return c.hasQuirk(Quirk.X87PointersSavedOnlyWithEs) && !c.hasQuirk(Quirk.X87PointersOnlyWithEs) && c.features.xsaveErPtr;
})!;

function ctxFor(id: string, xcr0?: number): XsaveContext {
  const c = new XsaveContext(resolveCpu(id));
  c.xcr0 = xcr0 ?? c.cpu.xcr0Supported;
  return c;
}
function fault(f: () => unknown): Vector | undefined {
  try { f(); } catch (e) { if (e instanceof CpuFault) return e.vector; throw e; }
  return undefined;
}
const area = (n = 16384): Uint8Array => new Uint8Array(n);
const u64 = (a: Uint8Array, o: number): bigint => new DataView(a.buffer).getBigUint64(o, true);
const SPR_USER = 0x602e7; // x87 SSE AVX AVX-512 PKRU TILECFG TILEDATA

describe('#UD conditions (SDM Vol. 2B, Protected Mode Exceptions of each instruction)', () => {
  it('CR4.OSXSAVE = 0 makes the whole family #UD', () => {
    const c = ctxFor('intel-skylake-sp');
    c.cr4Osxsave = false;
    expect(fault(() => xsave(c, area(), 0, -1, -1))).toBe(Vector.UD);
    expect(fault(() => xgetbv(c, 0))).toBe(Vector.UD);
    expect(fault(() => xrstor(c, area(), 0, -1, -1))).toBe(Vector.UD);
  });
  it('Sandy Bridge has XSAVEOPT but neither XSAVEC nor XSAVES nor XGETBV(1)', () => {
    const c = ctxFor('intel-sandy-bridge');
    expect(fault(() => xsaveopt(c, area(), 0, -1, -1))).toBeUndefined();
    expect(fault(() => xsavec(c, area(), 0, -1, -1))).toBe(Vector.UD);
    c.cpl = 0;
    expect(fault(() => xsaves(c, area(), 0, -1, -1))).toBe(Vector.UD);
    expect(fault(() => xgetbv(c, 1))).toBe(Vector.GP);
  });
  it('Sandy Bridge restores a compacted header with #GP (no compaction support)', () => {
    const c = ctxFor('intel-sandy-bridge');
    const a = area();
    a[512 + 15] = 0x80;
    expect(fault(() => xrstor(c, a, 0, -1, -1))).toBe(Vector.GP);
  });
  it('LOCK prefix is #UD', () => {
    expect(fault(() => xsave(ctxFor('amd-zen4'), area(), 0, -1, -1, true, true))).toBe(Vector.UD);
  });
});

describe('#NM and #GP conditions', () => {
  it('CR0.TS = 1 is #NM for XSAVE and XRSTOR (SDM Vol. 2B XSAVE)', () => {
    const c = ctxFor('amd-zen4');
    c.cr0Ts = true;
    expect(fault(() => xsave(c, area(), 0, -1, -1))).toBe(Vector.NM);
    expect(fault(() => xrstor(c, area(), 0, -1, -1))).toBe(Vector.NM);
  });
  it('64-byte alignment for XSAVE, 16-byte for FXSAVE', () => {
    const c = ctxFor('amd-zen4');
    expect(fault(() => xsave(c, area(), 16, -1, -1))).toBe(Vector.GP);
    expect(fault(() => fxsave(c, area(), 16))).toBeUndefined();
    expect(fault(() => fxsave(c, area(), 8))).toBe(Vector.GP);
  });
  it('XSAVES/XRSTORS/XSETBV need CPL 0', () => {
    const c = ctxFor('intel-ice-lake-sp');
    expect(fault(() => xsaves(c, area(), 0, -1, -1))).toBe(Vector.GP);
    expect(fault(() => xrstors(c, area(), 0, -1, -1))).toBe(Vector.GP);
    expect(fault(() => xsetbv(c, 0, 3, 0))).toBe(Vector.GP);
  });
});

describe('XSETBV rules (SDM Vol. 1 13.3)', () => {
  const c = ctxFor('intel-sapphire-rapids');
  c.cpl = 0;
  const cases: [string, number, number, boolean][] = [
    ['x87|SSE|AVX', 0x7, 0, true],
    ['x87 clear', 0x6, 0, false],
    ['AVX without SSE', 0x5, 0, false],
    ['AVX-512 all three with AVX', 0xe7, 0, true],
    ['AVX-512 opmask alone', 0x27, 0, false],
    ['AVX-512 without AVX', 0xe3, 0, false],
    ['TILECFG without TILEDATA', 0x20007, 0, false],
    ['both AMX bits', 0x60007, 0, true],
    ['high dword', 0x7, 1, false],
  ];
  for (const [name, lo, hi, ok] of cases) {
    it(`${name}: ${ok ? 'accepted' : '#GP'}`, () => expect(fault(() => xsetbv(c, 0, lo, hi))).toBe(ok ? undefined : Vector.GP));
  }
  it('ECX != 0 is #GP', () => expect(fault(() => xsetbv(c, 1, 7, 0))).toBe(Vector.GP));
  it('an unsupported bit (MPX on Sapphire Rapids) is #GP', () => expect(fault(() => xsetbv(c, 0, 0x1f, 0))).toBe(Vector.GP));
  it('MPX pair on Skylake-SP is accepted, one alone is not', () => {
    const s = ctxFor('intel-skylake-sp');
    s.cpl = 0;
    expect(fault(() => xsetbv(s, 0, 0x1f, 0))).toBeUndefined();
    expect(fault(() => xsetbv(s, 0, 0x0f, 0))).toBe(Vector.GP);
  });
});

describe('XFD (SDM Vol. 1 13.14; KVM commit b45f721775947a84996deb5c661602254ce25ce6)', () => {
  it('saves treat an armed component as initial; XSAVE writes its initial configuration', () => {
    const c = ctxFor('intel-sapphire-rapids', SPR_USER);
    c.regs.comp[XFeature.TILEDATA]!.fill(0x5a);
    c.regs.touched(XFeature.TILEDATA);
    c.xfd = bit(XFeature.TILEDATA);
    const a = area().fill(0xee);
    a.fill(0, 512, 576);
    xsave(c, a, 0, SPR_USER, 0);
    const off = c.cpu.components[XFeature.TILEDATA]!.standardOffset;
    expect(Number(u64(a, 512)) & bit(XFeature.TILEDATA)).toBe(0);
    expect(a.subarray(off, off + 8192).every((b) => b === 0)).toBe(true);
    const b = area().fill(0xee);
    xsavec(c, b, 0, SPR_USER, 0);
    const coff = c.cpu.compactedLayout(SPR_USER).offsets[XFeature.TILEDATA];
    expect(b.subarray(coff, coff + 8192).every((x) => x === 0xee)).toBe(true); // not written
  });
  it('XRSTOR loading an armed component is #NM and sets IA32_XFD_ERR', () => {
    const c = ctxFor('intel-sapphire-rapids', SPR_USER);
    c.xfd = bit(XFeature.TILEDATA);
    const a = area();
    new DataView(a.buffer).setUint32(24, 0x1f80, true);
    new DataView(a.buffer).setUint32(512, bit(XFeature.TILEDATA), true);
    expect(fault(() => xrstor(c, a, 0, SPR_USER, 0))).toBe(Vector.NM);
    expect(c.xfdErr).toBe(bit(XFeature.TILEDATA));
    new DataView(a.buffer).setUint32(512, 0, true); // initializing it is allowed
    expect(fault(() => xrstor(c, a, 0, SPR_USER, 0))).toBeUndefined();
  });
});

describe('AMX TILECFG (SDM Vol. 2A LDTILECFG checks; XRSTOR initializes an invalid TILECFG, measured on Intel)', () => {
  const tilecfgImage = (c: XsaveContext, edit: (cfg: Uint8Array) => void): Uint8Array => {
    const a = area();
    new DataView(a.buffer).setUint32(24, 0x1f80, true);
    new DataView(a.buffer).setUint32(512, bit(XFeature.TILECFG), true);
    const off = c.cpu.components[XFeature.TILECFG]!.standardOffset;
    edit(a.subarray(off, off + 64));
    return a;
  };
  const good = (cfg: Uint8Array): void => { cfg[0] = 1; for (let t = 0; t < 8; t++) { cfg[16 + 2 * t] = 64; cfg[48 + t] = 16; } };
  const bad: [string, (g: Uint8Array) => void][] = [
    ['palette 2', (g) => { good(g); g[0] = 2; }],
    ['a reserved byte', (g) => { good(g); g[5] = 1; }],
    ['tile 8 configured', (g) => { good(g); g[48 + 8] = 1; g[32] = 4; }],
    ['colsb 65 > bytes_per_row 64', (g) => { good(g); g[16] = 65; }],
  ];
  it('LDTILECFG validity: accepts palette 1 with 8 tiles of 16 rows x 64 bytes, rejects palette 2, a reserved byte, tile 8, colsb 65', () => {
    const c = ctxFor('intel-sapphire-rapids', SPR_USER);
    const cfg = (edit: (g: Uint8Array) => void): Uint8Array => { const g = new Uint8Array(64); edit(g); return g; };
    expect(tilecfgInvalid(c.cpu, cfg(good))).toBeUndefined();
    for (const [name, edit] of bad) expect(tilecfgInvalid(c.cpu, cfg(edit)), name).toBeDefined();
  });
  it('XRSTOR loads a valid TILECFG (XINUSE[17] = 1) and initializes an invalid one without a fault (XINUSE[17] = 0)', () => {
    const c = ctxFor('intel-sapphire-rapids', SPR_USER);
    xrstor(c, tilecfgImage(c, good), 0, SPR_USER, 0);
    expect(c.regs.comp[XFeature.TILECFG]![0]).toBe(1);
    expect((c.regs.xinuse >>> XFeature.TILECFG) & 1).toBe(1);
    for (const [name, edit] of bad) {
      xrstor(c, tilecfgImage(c, good), 0, SPR_USER, 0);
      expect(fault(() => xrstor(c, tilecfgImage(c, edit), 0, SPR_USER, 0)), name).toBeUndefined();
      expect(c.regs.comp[XFeature.TILECFG]!.every((b) => b === 0), name).toBe(true);
      expect((c.regs.xinuse >>> XFeature.TILECFG) & 1, name).toBe(0);
    }
  });
});

describe('XSAVES / XRSTORS at CPL 0 (SDM Vol. 1 13.11, 13.12)', () => {
  it('Zen 4: CET_U goes into the compacted area after PKRU and round-trips', () => {
    const c = ctxFor('amd-zen4', 0x2e7);
    c.cpl = 0;
    c.xss = bit(XFeature.CET_U);
    c.regs.comp[XFeature.CET_U]!.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    c.regs.touched(XFeature.CET_U);
    const a = area();
    xsaves(c, a, 0, -1, -1);
    expect(u64(a, 520)).toBe(0x8000000000000ae7n); // RFBM = XCR0 0x2e7 | XSS 0x800
    expect(a[2440]).toBe(1); // 11:2440 as Linux prints it on Zen 4 (LACT#1180)
    c.regs.comp[XFeature.CET_U]!.fill(0);
    xrstors(c, a, 0, -1, -1);
    expect(c.regs.comp[XFeature.CET_U]![15]).toBe(16);
  });
  it('XRSTORS refuses the standard format, XSTATE_BV outside XCOMP_BV and XCOMP_BV outside XCR0|XSS', () => {
    const c = ctxFor('amd-zen4', 0x2e7);
    c.cpl = 0;
    c.xss = bit(XFeature.CET_U);
    const a = area();
    new DataView(a.buffer).setUint32(24, 0x1f80, true);
    expect(fault(() => xrstors(c, a, 0, -1, -1))).toBe(Vector.GP);
    new DataView(a.buffer).setBigUint64(520, 0x8000000000000003n, true);
    new DataView(a.buffer).setBigUint64(512, 0x4n, true);
    expect(fault(() => xrstors(c, a, 0, -1, -1))).toBe(Vector.GP);
    new DataView(a.buffer).setBigUint64(512, 0n, true);
    new DataView(a.buffer).setBigUint64(520, 0x8000000000001003n, true); // CET_S not in XSS
    expect(fault(() => xrstors(c, a, 0, -1, -1))).toBe(Vector.GP);
  });
  it('modified optimization of XSAVES needs XRSTOR_INFO from an XRSTORS with the same RFBM at the same address', () => {
    const c = ctxFor('amd-zen4', 0x2e7);
    c.cpl = 0;
    const a = area();
    c.regs.legacy[160] = 7;
    c.regs.touched(XFeature.SSE);
    xsaves(c, a, 0x1000, 0x2e7, 0);
    xrstors(c, a, 0x1000, 0x2e7, 0);
    a[160] = 0x55; // changed in memory, not in the register
    xsaves(c, a, 0x1000, 0x2e7, 0);
    expect(a[160]).toBe(0x55); // skipped: not modified since the XRSTORS
    const b = area();
    xsaves(c, b, 0x2000, 0x2e7, 0); // another address: no optimization, written
    expect(b[160]).toBe(7);
    xrstors(c, a, 0x1000, 0x2e5, 0); // SSE left out of the restore: XMODIFIED[1] := 1 (13.12)
    a[160] = 0x66;
    xsaves(c, a, 0x1000, 0x2e7, 0); // so SSE is written again, from the register (7)
    expect(a[160]).toBe(7);
  });
});

describe('CPUID leaf 0xD live values (SDM Vol. 1 13.2)', () => {
  it('(0,EBX) follows XCR0 and (1,EBX) follows XCR0|XSS', () => {
    const z = resolveCpu('amd-zen4');
    expect(z.leafD(0, 0x7, 0)[1]).toBe(0x340);
    expect(z.leafD(0, 0x2e7, 0)[1]).toBe(0x988);
    expect(z.leafD(1, 0x2e7, 0x800)[1]).toBe(2456);
    const s = resolveCpu('intel-sapphire-rapids');
    expect(s.leafD(0, SPR_USER, 0)[1]).toBe(0x2b00);
    expect(s.leafD(1, SPR_USER, 0)[1]).toBe(10752);
  });
  it('XGETBV(1) reads XCR0 & XINUSE with bit 1 forced by MXCSR != 1F80H', () => {
    const c = ctxFor('intel-ice-lake-sp', 0xe7);
    expect(xgetbv(c, 1)[0]).toBe(0);
    c.regs.mxcsr = 0x1fa0;
    expect(xgetbv(c, 1)[0]).toBe(2);
  });
});

describe('x87 last-instruction pointers in saves and restores (../shared/reference/xsave-hw-facts.md sections 8 and 11)', () => {
  const FIP = 0x401234n, FDP = 0x4a60e8n, FOP = 0x505, FCS = 0x33, FDS = 0x2b;
  /** A live x87 state: FCW, FSW, one register, the pointers of its last instruction. */
  function live(id: string, fcw: number, fsw: number): XsaveContext {
    const c = ctxFor(id);
    const r = c.regs;
    const v = r.legacyView;
    v.setUint16(LEGACY.FCW, fcw, true);
    v.setUint16(LEGACY.FSW, fsw, true);
    r.legacy[LEGACY.FTW] = 0x80;
    v.setUint16(LEGACY.ST0 + 8, 0x3fff, true);
    r.legacy[LEGACY.ST0 + 7] = 0x80; // 1.0
    v.setUint16(LEGACY.FOP, FOP, true);
    v.setBigUint64(LEGACY.FIP, FIP, true);
    v.setBigUint64(LEGACY.FDP, FDP, true);
    r.fcs = FCS;
    r.fds = FDS;
    r.touched(XFeature.X87);
    return c;
  }
  const MASKED_ZE = 0x3804; // ZE set, masked: ES = 0
  const PENDING_ZE = 0xb884; // ZE set and unmasked by FCW 037BH: ES = B = 1
  /** FOP, FIP, FDP, FCS, FDS as a save stored them. */
  function pointers(a: Uint8Array, rexW: boolean): [number, bigint, bigint, number, number] {
    const v = new DataView(a.buffer);
    if (rexW) return [v.getUint16(6, true), v.getBigUint64(8, true), v.getBigUint64(16, true), 0, 0];
    return [v.getUint16(6, true), BigInt(v.getUint32(8, true)), BigInt(v.getUint32(16, true)), v.getUint16(12, true), v.getUint16(20, true)];
  }
  const saves: [string, (c: XsaveContext, a: Uint8Array, rexW: boolean) => void][] = [
    ['FXSAVE', (c, a, w) => fxsave(c, a, 0, w)],
    ['XSAVE', (c, a, w) => xsave(c, a, 0, 3, 0, w)],
    ['XSAVEOPT', (c, a, w) => xsaveopt(c, a, 0, 3, 0, w)],
    ['XSAVEC', (c, a, w) => xsavec(c, a, 0, 3, 0, w)],
    ['XSAVES', (c, a, w) => { c.cpl = 0; xsaves(c, a, 0, 3, 0, w); }],
  ];

  for (const [name, save] of saves) {
    for (const rexW of [true, false]) {
      it(`AMD Zen 4 (x87-pointers-saved-only-with-es): ${name}${rexW ? '64' : ''} stores them as 0 with FSW.ES = 0, as they are with ES = 1`, () => {
        const masked = area(4096);
        save(live('amd-zen4', 0x37f, MASKED_ZE), masked, rexW);
        expect(pointers(masked, rexW)).toEqual([0, 0n, 0n, 0, 0]);
        expect(new DataView(masked.buffer).getUint16(2, true)).toBe(MASKED_ZE);
        const pending = area(4096);
        save(live('amd-zen4', 0x37b, PENDING_ZE), pending, rexW);
        expect(pointers(pending, rexW)).toEqual(rexW ? [FOP, FIP, FDP, 0, 0] : [FOP, FIP, FDP, FCS, FDS]);
      });
    }
  }

  it('Intel Sandy Bridge (no FCS/FDS deprecation): FXSAVE stores the pointers whatever ES is (SDM Vol. 2A FXSAVE)', () => {
    for (const rexW of [true, false]) {
      const a = area(512);
      fxsave(live('intel-sandy-bridge', 0x37f, MASKED_ZE), a, 0, rexW);
      expect(pointers(a, rexW)).toEqual(rexW ? [FOP, FIP, FDP, 0, 0] : [FOP, FIP, FDP, FCS, FDS]);
    }
  });
  it('Intel Sapphire Rapids (CPUID.(07H,0):EBX[13]): the 32-bit forms store FCS and FDS as 0, ES or not (SDM Vol. 1 8.1.8)', () => {
    for (const [fcw, fsw] of [[0x37f, MASKED_ZE], [0x37b, PENDING_ZE]] as const) {
      const a = area(4096);
      xsave(live('intel-sapphire-rapids', fcw, fsw), a, 0, 3, 0, false);
      expect(pointers(a, false)).toEqual([FOP, FIP & 0xffffffffn, FDP & 0xffffffffn, 0, 0]);
    }
  });

  it('Zen 5 with XSaveErPtr: FXRSTOR64 and XRSTOR64 of an ES = 0 image load the pointers (measured: FNSTENV shows them)', () => {
    const img = area(4096);
    xsave(live(AMD_POINTER_RULE_CPU, 0x37f, MASKED_ZE), img, 0, 3, 0, true); // pointers stored as 0: put them in by hand
    const v = new DataView(img.buffer);
    v.setUint16(6, FOP, true);
    v.setBigUint64(8, FIP, true);
    v.setBigUint64(16, FDP, true);
    for (const restore of [(c: XsaveContext) => fxrstor(c, img, 0, true), (c: XsaveContext) => xrstor(c, img, 0, 3, 0, true)]) {
      const c = ctxFor(AMD_POINTER_RULE_CPU);
      restore(c);
      const env = fnstenv(c);
      const e = new DataView(env.buffer);
      expect([e.getUint32(12, true), e.getUint32(16, true) >>> 16, e.getUint32(20, true)]).toEqual([Number(FIP), FOP, Number(FDP)]);
      // ... and a save hides them again while ES = 0.
      const out = area(4096);
      fxsave(c, out, 0, true);
      expect(pointers(out, true)).toEqual([0, 0n, 0n, 0, 0]);
    }
  });
  it('AMD without XSaveErPtr (assumed from the AMD APM and Linux X86_BUG_FXSAVE_LEAK): restores drop the pointers without ES, saves store 0', () => {
    const p = resolveCpu('amd-zen4').profile;
    const cpuid = CpuidTable.fromJson(p.cpuid);
    const ids = (q: { id: string }[]): string[] => q.map((x) => x.id);
    expect(ids(vendorDefaults('AuthenticAMD', cpuid).quirks)).toContain(Quirk.X87PointersSavedOnlyWithEs);
    expect(ids(vendorDefaults('AuthenticAMD', cpuid).quirks)).not.toContain(Quirk.X87PointersOnlyWithEs);
    const noErPtr = { ...p.cpuid, '80000008': [...p.cpuid['80000008']!] as [number, number, number, number] };
    noErPtr['80000008'][1] &= ~(1 << 2);
    const q = ids(vendorDefaults('AuthenticAMD', CpuidTable.fromJson(noErPtr)).quirks);
    expect(q).toContain(Quirk.X87PointersSavedOnlyWithEs);
    expect(q).toContain(Quirk.X87PointersOnlyWithEs);
    expect(ids(vendorDefaults('GenuineIntel', CpuidTable.fromJson(resolveCpu('intel-skylake-sp').profile.cpuid)).quirks)).not.toContain(Quirk.X87PointersSavedOnlyWithEs);
  });

  it('XINUSE[0] ignores the pointers: restoring an otherwise initial x87 image with pointers leaves XGETBV(1) bit 0 clear on Zen 5 (measured)', () => {
    const c = ctxFor(AMD_POINTER_RULE_CPU);
    const img = area(4096);
    xsave(c, img, 0, 3, 0, true);
    const v = new DataView(img.buffer);
    v.setUint16(6, FOP, true);
    v.setBigUint64(8, FIP, true);
    v.setBigUint64(16, FDP, true);
    v.setBigUint64(512, 3n, true); // XSTATE_BV: x87 and SSE given
    xrstor(c, img, 0, 3, 0, true);
    expect(xgetbv(c, 1)[0] & 1).toBe(0);
    expect(c.regs.legacyView.getBigUint64(LEGACY.FIP, true)).toBe(FIP);
  });
});

describe('x87 environment (SDM Vol. 1 Figure 8-9; FNSTENV, FNSAVE, FLDENV, FRSTOR)', () => {
  function withPointers(id: string): XsaveContext {
    const c = ctxFor(id);
    const v = c.regs.legacyView;
    v.setUint16(LEGACY.FCW, 0x37b, true);
    v.setUint16(LEGACY.FSW, 0xb084, true); // TOP 6, ZE pending unmasked: ES, B
    c.regs.legacy[LEGACY.FTW] = 0xc0; // physical 6 and 7 in use
    v.setUint16(LEGACY.ST0 + 8, 0x4000, true); c.regs.legacy[LEGACY.ST0 + 7] = 0xa0; // ST0 = R6 = 2.5: valid
    // ST1 = R7 = 0: zero
    v.setUint16(LEGACY.FOP, 0x505, true);
    v.setBigUint64(LEGACY.FIP, 0x7fff00401234n, true);
    v.setBigUint64(LEGACY.FDP, 0x4a60e8n, true);
    c.regs.fcs = 0x33;
    c.regs.fds = 0x2b;
    return c;
  }
  const dwords = (b: Uint8Array): number[] => Array.from({ length: b.length >> 2 }, (_, k) => new DataView(b.buffer).getUint32(4 * k, true));

  it('AMD: FFFFH in the reserved words, FOP in bits 26:16 beside FCS, the full tag word, FIP/FDP bits 31:0 (measured on Zen 5)', () => {
    const c = withPointers(AMD_POINTER_RULE_CPU);
    expect(dwords(fnstenv(c))).toEqual([0xffff037b, 0xffffb084, 0xffff4fff, 0x00401234, 0x05050033, 0x004a60e8, 0xffff002b]);
    afterFnstenv(c); // masks everything: ES and B clear
    expect([c.regs.legacyView.getUint16(LEGACY.FCW, true), c.regs.legacyView.getUint16(LEGACY.FSW, true)]).toEqual([0x37f, 0x3004]);
  });
  it('Intel with FCS/FDS deprecated stores them as 0 (SDM Vol. 1 8.1.8)', () => {
    const env = dwords(fnstenv(withPointers('intel-sapphire-rapids')));
    expect([env[4]! & 0xffff, env[6]! & 0xffff]).toEqual([0, 0]);
  });
  it('FNSAVE stores ST(0)-ST(7) after the environment, then initializes (FCW 037FH, tags empty, pointers 0)', () => {
    const c = withPointers('amd-zen4');
    const img = fnsave(c);
    expect(img.length).toBe(108);
    expect(Array.from(img.subarray(28, 38))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xa0, 0x00, 0x40]);
    afterFnsave(c);
    const again = dwords(fnstenv(c));
    expect(again).toEqual([0xffff037f, 0xffff0000, 0xffffffff, 0, 0, 0, 0xffff0000]);
  });
  it('FLDENV loads what FNSTENV stored, FIP/FDP bits 31:0', () => {
    const env = fnstenv(withPointers('amd-zen4'));
    const c = ctxFor('amd-zen4');
    fldenv(c, env);
    const v = c.regs.legacyView;
    expect([v.getUint16(LEGACY.FOP, true), v.getBigUint64(LEGACY.FIP, true), v.getBigUint64(LEGACY.FDP, true), c.regs.fcs, c.regs.fds, c.regs.legacy[LEGACY.FTW]])
      .toEqual([0x505, 0x00401234n, 0x4a60e8n, 0x33, 0x2b, 0xc0]);
  });
});
