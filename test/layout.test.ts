/**
 * Layouts agree with each profile's CPUID data, with layouts published from real machines, and
 * for this host with what its kernel printed at boot (dmesg xstate_offset lines).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, resolveCpu, validateProfile } from '../emulator/profile.js';
import { xcr0Invalid } from '../emulator/xsave.js';
import { cpuShow } from '../src/commands/cpu.js';
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

/** Leaf 0xD sub-leaves of user components (bits of (0DH,0) EDX:EAX from 2 up). */
function userComponents(m: CpuModel): number[] {
  const d0 = m.cpuid.get(0xd, 0);
  return Array.from({ length: 62 }, (_, k) => k + 2).filter((i) => (i < 32 ? (d0[0] >>> i) & 1 : (d0[3] >>> (i - 32)) & 1) === 1);
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Where `a` and `b` differ on the leaves that identify the silicon: family/model/stepping, leaf
 * 0xD sub-leaf 0 EAX/ECX/EDX (supported user components, maximum size; EBX follows the XCR0 in
 * force) and the sub-leaves of user components (size, offset, alignment). A hypervisor cannot
 * move a component in the XSAVE area without breaking every image, so these are the CPU's.
 */
function identifyingDifferences(a: CpuModel, b: CpuModel): string[] {
  const out: string[] = [];
  for (const k of ['vendor', 'family', 'model', 'stepping'] as const) if (a.profile[k] !== b.profile[k]) out.push(`${k} ${a.profile[k]} vs ${b.profile[k]}`);
  const a0 = a.cpuid.get(0xd, 0), b0 = b.cpuid.get(0xd, 0);
  for (const [r, name] of [[0, 'EAX'], [2, 'ECX'], [3, 'EDX']] as const) if (a0[r] !== b0[r]) out.push(`(0DH,0).${name} ${hex(a0[r])} vs ${hex(b0[r])}`);
  for (const i of new Set([...userComponents(a), ...userComponents(b)])) {
    const ra = a.cpuid.get(0xd, i), rb = b.cpuid.get(0xd, i);
    if (ra.some((v, k) => v !== rb[k])) out.push(`(0DH,${i}) ${ra.map(hex).join(' ')} vs ${rb.map(hex).join(' ')}`);
  }
  return out;
}

/** The bits a hypervisor chooses (leaf 1 ECX/EDX, leaf 7.0, (0DH,1), supervisor sub-leaves): information only. */
function hypervisorVariedDifferences(a: CpuModel, b: CpuModel): string[] {
  const out: string[] = [];
  const cmp = (label: string, leaf: number, sub: number, regs: readonly number[]): void => {
    const ra = a.cpuid.get(leaf, sub), rb = b.cpuid.get(leaf, sub);
    for (const r of regs) if (ra[r] !== rb[r]) out.push(`${label}.${['EAX', 'EBX', 'ECX', 'EDX'][r]} ${hex(ra[r])} vs ${hex(rb[r])} (bits ${hex(ra[r] ^ rb[r])} differ)`);
  };
  cmp('leaf 1', 1, 0, [2, 3]);
  cmp('leaf 7.0', 7, 0, [0, 1, 2, 3]);
  cmp('(0DH,1)', 0xd, 1, [0, 1, 2, 3]);
  const d1a = a.cpuid.get(0xd, 1), d1b = b.cpuid.get(0xd, 1);
  for (let i = 0; i < 32; i++) if ((((d1a[2] | d1b[2]) >>> i) & 1) === 1) cmp(`(0DH,${i})`, 0xd, i, [0, 1, 2, 3]);
  return out;
}

describe('the committed profiles of reference hosts', () => {
  it('a fresh capture equals a committed host capture of the same silicon on the leaves that identify it', () => {
    const host = hostModel();
    const captured = builtinProfileIds().map((id) => resolveCpu(id)).filter((m) => m.profile.source.kind === 'host-capture');
    expect(captured.length).toBeGreaterThan(0);
    const same = (m: CpuModel): boolean => (['vendor', 'family', 'model', 'stepping'] as const).every((k) => m.profile[k] === host.profile[k]);
    const candidates = captured.filter(same);
    const silicon = `${host.profile.vendor} family 0x${host.profile.family.toString(16)} model 0x${host.profile.model.toString(16)} stepping ${host.profile.stepping}`;
    if (candidates.length === 0) {
      console.log(`host is ${silicon}; no committed reference-host profile (${captured.map((m) => m.id).join(', ')}) is of this silicon: checking that its capture validates and shows`);
      expect(() => validateProfile(structuredClone(host.profile), '<host capture>')).not.toThrow();
      expect(cpuShow(host)).toContain(`family 0x${host.profile.family.toString(16)}, model 0x${host.profile.model.toString(16)}, stepping ${host.profile.stepping}`);
      expect(userComponents(host).every((i) => host.cpuid.get(0xd, i)[0] > 0)).toBe(true);
      return;
    }
    const results = candidates.map((m) => ({ id: m.id, diffs: identifyingDifferences(host, m), info: hypervisorVariedDifferences(host, m) }));
    for (const r of results) {
      console.log(`${r.id} (${silicon}): identifying leaves ${r.diffs.length ? `differ: ${r.diffs.join('; ')}` : 'equal'}`);
      for (const l of r.info) console.log(`  information, a hypervisor's choice: ${l}`);
    }
    const match = results.find((r) => r.diffs.length === 0);
    expect(match, `no committed profile of ${silicon} has this host's leaf 0xD layout: ${results.map((r) => `${r.id}: ${r.diffs.join('; ')}`).join(' | ')}`).toBeDefined();
    console.log(`host silicon matches the committed profile ${match!.id}`);
  });
  it('the quirk verdicts of committed captures of the same silicon agree with a fresh capture', () => {
    const host = hostModel();
    const fresh = host.profile.measured?.quirks ?? {};
    expect(Object.keys(fresh).length, 'the fresh capture measured no quirk').toBeGreaterThan(0);
    const same = builtinProfileIds().map((id) => resolveCpu(id)).filter((m) => m.profile.measured?.quirks && (['vendor', 'family', 'model', 'stepping'] as const).every((k) => m.profile[k] === host.profile[k]));
    if (same.length === 0) console.log('no committed capture of this silicon has measured quirks: the fresh verdicts are checked by test/capture.test.ts only');
    for (const m of same) {
      const shared = Object.keys(fresh).filter((id) => id in m.profile.measured!.quirks!);
      for (const id of shared) expect(m.profile.measured!.quirks![id], `${m.id}: ${id}`).toBe(fresh[id]);
      console.log(`${m.id}: ${shared.length} quirk verdicts measured in both, all equal`);
    }
  });
});
