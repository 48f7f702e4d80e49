/**
 * Layouts agree with each profile's CPUID data, with layouts published from real machines, and
 * for this host with what its kernel printed at boot (dmesg xstate_offset lines).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { xcr0Invalid } from '../emulator/xsave.js';
import { computeLayout } from '../src/commands/layout.js';
import { hostModel } from './helpers.js';

/** Every subset of `mask` (masks here have at most ~12 bits). */
function* subsets(mask: number): Generator<number> {
  for (let s = mask; ; s = (s - 1) & mask) { yield s >>> 0; if (s === 0) return; }
}

describe('every built-in profile', () => {
  const ids = builtinProfileIds();
  it('has at least the ten reference CPUs and this machine', () => {
    for (const id of ['intel-sandy-bridge', 'intel-skylake-sp', 'intel-ice-lake-sp', 'intel-alder-lake', 'intel-alder-lake-avx512', 'intel-sapphire-rapids', 'amd-zen1', 'amd-zen2', 'amd-zen3', 'amd-zen4']) expect(ids).toContain(id);
    expect(ids.some((id) => id.includes('zen5'))).toBe(true);
  });
  for (const id of ids) {
    it(`${id}: layout agrees with its CPUID leaf 0xD`, () => {
      const cpu = resolveCpu(id);
      const raw0 = cpu.cpuid.get(0xd, 0), raw1 = cpu.cpuid.get(0xd, 1);
      const l = computeLayout(cpu, cpu.xcr0Supported & ~(cpu.features.pku ? 0 : 0), 0, false);
      for (const r of l.regions.filter((x) => x.kind === 'component')) {
        expect(r.offset).toBe(cpu.cpuid.get(0xd, r.component!)[1]);
        expect(r.size).toBe(cpu.cpuid.get(0xd, r.component!)[0]);
      }
      // (0,ECX) is the size for every supported user component; (0,EBX) the size for the XCR0 of the dump.
      expect(cpu.standardSize(cpu.xcr0Supported)).toBe(raw0[2]);
      const validX = [...subsets(cpu.xcr0Supported)].filter((x) => !xcr0Invalid(cpu, x, 0));
      expect(validX.some((x) => cpu.standardSize(x) === raw0[1])).toBe(true);
      // (1,EBX) is the compacted size of XCR0|XSS at dump time.
      if (cpu.features.xsaves) {
        const ok = validX.some((x) => [...subsets(cpu.xssSupported)].some((s) => cpu.compactedLayout(x | s).size === raw1[1]));
        expect(ok, `no XCR0|XSS gives (0DH,1).EBX = ${raw1[1]}`).toBe(true);
      }
      // The region list tiles the whole area with no overlap.
      let end = 0;
      for (const r of l.regions) { expect(r.offset).toBe(end); end = r.offset + r.size; }
      expect(end).toBe(l.size);
    });
  }
});

describe('published layouts', () => {
  it('Sapphire Rapids compacted, XCR0 0x602e7 (Xeon 8480C boot log)', () => {
    const l = computeLayout(resolveCpu('intel-sapphire-rapids'), 0x602e7, 0, true);
    const offs = Object.fromEntries(l.regions.filter((r) => r.kind === 'component').map((r) => [r.component, r.offset]));
    expect(offs).toEqual({ 2: 576, 5: 832, 6: 896, 7: 1408, 9: 2432, 17: 2496, 18: 2560 });
    expect(l.size).toBe(10752);
    expect(l.regions.find((r) => r.kind === 'padding')).toMatchObject({ offset: 2440, size: 56 });
  });
  it('Zen 4 compacted, XCR0 0x2e7, XSS CET_U (ilya-zlobintsev/LACT#1180)', () => {
    const l = computeLayout(resolveCpu('amd-zen4'), 0x2e7, 0x800, true);
    const offs = Object.fromEntries(l.regions.filter((r) => r.kind === 'component').map((r) => [r.component, r.offset]));
    expect(offs).toEqual({ 2: 576, 5: 832, 6: 896, 7: 1408, 9: 2432, 11: 2440 });
    expect(l.size).toBe(2456);
  });
  it("standard sizes GDB's i387_guess_xsave_layout keys on: AMD 2440, Intel 2696", () => {
    expect(resolveCpu('amd-zen4').standardSize(0x2e7)).toBe(2440);
    expect(resolveCpu('intel-skylake-sp').standardSize(0x2ff)).toBe(2696);
    expect(computeLayout(resolveCpu('intel-skylake-sp'), 0x2ff, 0, false).regions.find((r) => r.component === 5)?.offset).toBe(1088);
  });
  it('a standard layout shows the holes a smaller XCR0 leaves', () => {
    const l = computeLayout(resolveCpu('intel-skylake-sp'), 0x207, 0, false); // no MPX, no AVX-512: PKRU after a hole
    expect(l.regions.find((r) => r.kind === 'hole')).toMatchObject({ offset: 832, size: 2688 - 832 });
  });
  it('refuses XCR0 values XSETBV would refuse, with the reason', () => {
    expect(() => computeLayout(resolveCpu('amd-zen4'), 0x27, 0, false)).toThrow(/AVX-512/);
    expect(() => computeLayout(resolveCpu('amd-zen4'), 0x1f, 0, false)).toThrow(/not supported/);
  });
});

describe('this host', () => {
  it("compacted layout equals the kernel's boot-time xstate_offset lines", () => {
    let dmesg = '';
    try { dmesg = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }); } catch { /* not readable */ }
    const lines = [...dmesg.matchAll(/xstate_offset\[(\d+)\]:\s*(\d+), xstate_sizes\[\d+\]:\s*(\d+)/g)];
    const enabled = /Enabled xstate features (0x[0-9a-f]+), context size is (\d+) bytes, using '(\w+)' format/.exec(dmesg);
    if (!enabled) {
      console.log('dmesg is not readable here or has no x86/fpu lines: the host layout is checked against CPUID only');
      expect(hostModel().standardSize(hostModel().xcr0Supported)).toBe(hostModel().cpuid.get(0xd, 0)[2]);
      return;
    }
    const cpu = hostModel();
    const all = Number(enabled[1]);
    const xss = all & cpu.xssSupported;
    const l = computeLayout(cpu, all & ~xss, xss, enabled[3] === 'compacted');
    const mine = l.regions.filter((r) => r.kind === 'component').map((r) => [r.component, r.offset, r.size]);
    expect(mine).toEqual(lines.map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]));
    expect(l.size).toBe(Number(enabled[2]));
    console.log(`host: ${lines.length} xstate_offset lines, features ${enabled[1]}, ${enabled[2]} bytes ${enabled[3]}: equal`);
  });
});

describe('the committed profile of a reference host', () => {
  it('equals a fresh capture in every XSAVE-relevant leaf when run on the same CPU model', () => {
    const host = hostModel();
    const signature = (m: CpuModel): string => `${m.profile.vendor} ${(m.cpuid.get(1)[0] & ~0xf).toString(16)}`;
    const captured = builtinProfileIds().map((id) => resolveCpu(id)).filter((m) => m.profile.source.kind === 'host-capture');
    expect(captured.length).toBeGreaterThan(0);
    const committed = captured.find((m) => signature(m) === signature(host));
    if (!committed) {
      console.log(`host is ${host.profile.vendor} family 0x${host.profile.family.toString(16)} model 0x${host.profile.model.toString(16)}; no committed reference-host profile (${captured.map((m) => m.id).join(', ')}) is of this model: comparison skipped, host checked through selfcheck instead`);
      return;
    }
    console.log(`host matches the committed profile ${committed.id}`);
    for (let s = 0; s < 64; s++) expect(host.cpuid.get(0xd, s), `leaf 0xD sub-leaf ${s}`).toEqual(committed.cpuid.get(0xd, s));
    expect(host.cpuid.get(7, 0)).toEqual(committed.cpuid.get(7, 0));
    expect(host.cpuid.get(0x80000008)).toEqual(committed.cpuid.get(0x80000008));
    expect(host.profile.quirks.map((q) => q.id)).toEqual(committed.profile.quirks.map((q) => q.id));
    expect(host.mxcsrMask).toBe(committed.mxcsrMask);
  });
});
