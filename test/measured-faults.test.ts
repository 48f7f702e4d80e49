/**
 * What the model takes from a profile's measurements (profile.measured) and from its capturing
 * kernel (profile.kernel), on hand-made profiles: a committed profile copied and edited the way a
 * hypervisor edits CPUID (a bit hidden), with and without the measurement a capture would add.
 * Without a measurement the manuals' rule holds; with one, the measurement.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuModel, Evidence, type Profile } from '../emulator/cpu-model.js';
import type { FaultInsn, MeasuredFault } from '../emulator/profile-json.js';
import { builtinProfileIds, builtinProfilePath, resolveCpu, validateProfile } from '../emulator/profile.js';
import { CpuFault, Vector, XsaveContext, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves } from '../emulator/xsave.js';
import { HWCAP2_FSGSBASE, ViewBasis, kernelView } from '../kernel-model/kernel-view.js';
import { closestVariantTo, resolveKernelVariant } from '../kernel-model/variants.js';
import { release } from 'node:os';
import { hostModel } from './helpers.js';
import { fpu__init_system_xstate } from '../kernel-model/fpu-config.js';

const profileOf = (id: string): Profile => JSON.parse(readFileSync(builtinProfilePath(id), 'utf8')) as Profile;
const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
/** CPUID.(0DH,1).EAX bit 3 (XSAVES) and bit 1 (XSAVEC), bit 2 (XGETBV1) (SDM Vol. 1 13.2). */
const D1_XSAVES = 1 << 3;

/** A committed profile whose CPUID enumerates XSAVES and supervisor state, chosen by that, not by name. */
const XSAVES_CPU = builtinProfileIds().find((id) => { const c = resolveCpu(id); return c.features.xsaves && c.xssSupported !== 0; })!;

/**
 * That profile with XSAVES hidden as a hypervisor hides it: (0DH,1).EAX bit 3 clear and no
 * IA32_XSS components (ECX = 0). `faults` is what a capture measured, if anything.
 */
function xsavesHidden(faults?: Partial<Record<FaultInsn, MeasuredFault>>): CpuModel {
  const p = profileOf(XSAVES_CPU);
  const d1 = p.cpuid['0000000d.01']!;
  p.cpuid['0000000d.01'] = [hex32(parseInt(d1[0], 16) & ~D1_XSAVES), d1[1], hex32(0), d1[3]];
  if (faults) p.measured = { evidence: 'hand-made for this test', faults };
  return new CpuModel(validateProfile(p, '<test profile>'));
}

function ctxOf(cpu: CpuModel, cpl = 3): XsaveContext {
  const c = new XsaveContext(cpu);
  c.xcr0 = cpu.xcr0Supported;
  c.cpl = cpl;
  return c;
}
function fault(f: () => unknown): Vector | undefined {
  try { f(); } catch (e) { if (e instanceof CpuFault) return e.vector; throw e; }
  return undefined;
}
const area = (): Uint8Array => new Uint8Array(16384);

describe('a CPUID bit hidden by a hypervisor: the measured fault (CpuModel.faultWhenNotEnumerated)', () => {
  it('without a measurement, XSAVES/XRSTORS are #UD as the SDM says for CPUID.(0DH,1):EAX.XSAVES = 0 (assumed)', () => {
    const cpu = xsavesHidden();
    expect(cpu.features.xsaves).toBe(false);
    expect(cpu.faultWhenNotEnumerated('XSAVES')).toMatchObject({ vector: '#UD', evidence: Evidence.Assumed });
    const c = ctxOf(cpu);
    expect(fault(() => xsaves(c, area(), 0, -1, -1))).toBe(Vector.UD);
    expect(fault(() => xrstors(c, area(), 0, -1, -1))).toBe(Vector.UD);
  });

  it("with a measured '#GP' (the silicon's CPL check runs first), XSAVES/XRSTORS at CPL 3 are #GP", () => {
    const cpu = xsavesHidden({ XSAVES: '#GP', XRSTORS: '#GP' });
    expect(cpu.faultWhenNotEnumerated('XSAVES')).toMatchObject({ vector: '#GP', evidence: Evidence.Measured });
    expect(cpu.implementsDespiteCpuid('XSAVES')).toBe(true);
    const c = ctxOf(cpu);
    let e: unknown;
    try { xsaves(c, area(), 0, -1, -1); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(CpuFault);
    expect((e as CpuFault).vector).toBe(Vector.GP);
    expect(fault(() => xrstors(c, area(), 0, -1, -1))).toBe(Vector.GP);
    // Faults that precede the CPL check on the silicon still come first: CR0.TS is #NM.
    c.cr0Ts = true;
    expect(fault(() => xsaves(c, area(), 0, -1, -1))).toBe(Vector.NM);
  });

  it("with a measured '#UD' the model says #UD, now as a measurement", () => {
    const cpu = xsavesHidden({ XSAVES: '#UD' });
    expect(cpu.faultWhenNotEnumerated('XSAVES')).toMatchObject({ vector: '#UD', evidence: Evidence.Measured });
    expect(cpu.implementsDespiteCpuid('XSAVES')).toBe(false);
    expect(fault(() => xsaves(ctxOf(cpu), area(), 0, -1, -1))).toBe(Vector.UD);
    // XRSTORS has no measurement of its own: the SDM's #UD.
    expect(cpu.faultWhenNotEnumerated('XRSTORS').evidence).toBe(Evidence.Assumed);
  });

  it('a measurement of an enumerated instruction changes nothing: the manual decides (XSAVES at CPL 3 is #GP by CPL)', () => {
    const p = profileOf('amd-zen4');
    p.measured = { evidence: 'hand-made', faults: { XSAVES: '#GP', XSAVEC: 'none' } };
    const cpu = new CpuModel(validateProfile(p, '<test profile>'));
    expect(cpu.features.xsaves).toBe(true);
    expect(fault(() => xsaves(ctxOf(cpu), area(), 0, -1, -1))).toBe(Vector.GP);
    expect(fault(() => xsavec(ctxOf(cpu), area(), 0, -1, -1))).toBeUndefined();
  });

  it("Sandy Bridge: XSAVEC and XGETBV(1) absent give the SDM's #UD and #GP; a measured 'none' makes them run", () => {
    const plain = new CpuModel(validateProfile(profileOf('intel-sandy-bridge'), '<sandy bridge>'));
    expect(fault(() => xsavec(ctxOf(plain), area(), 0, -1, -1))).toBe(Vector.UD);
    expect(fault(() => xgetbv(ctxOf(plain), 1))).toBe(Vector.GP);
    const compact = new Uint8Array(4096);
    compact[512 + 15] = 0x80; // XCOMP_BV[63]: the compacted form, which Sandy Bridge lacks (#GP)
    expect(fault(() => xrstor(ctxOf(plain), compact, 0, -1, -1))).toBe(Vector.GP);

    const p = profileOf('intel-sandy-bridge');
    p.measured = { evidence: 'hand-made', faults: { XSAVEC: 'none', XGETBV1: 'none' } };
    const hidden = new CpuModel(validateProfile(p, '<test profile>'));
    const c = ctxOf(hidden);
    expect(fault(() => xsavec(c, area(), 0, -1, -1))).toBeUndefined();
    expect(xgetbv(c, 1)[0]).toBe(0); // nothing in use on a fresh register file
    expect(fault(() => xrstor(c, compact, 0, -1, -1))).toBeUndefined(); // the silicon has the compacted form
    // A measured #GP for XGETBV(1) is the manual's answer: not "implemented despite CPUID".
    const q = profileOf('intel-sandy-bridge');
    q.measured = { evidence: 'hand-made', faults: { XGETBV1: '#GP', XSAVEOPT: 'none' } };
    const gp = new CpuModel(validateProfile(q, '<test profile>'));
    expect(gp.implementsDespiteCpuid('XGETBV1')).toBe(false);
    expect(fault(() => xgetbv(ctxOf(gp), 1))).toBe(Vector.GP);
    expect(fault(() => xsaveopt(ctxOf(gp), area(), 0, -1, -1))).toBeUndefined(); // enumerated anyway
    expect(fault(() => xsave(ctxOf(gp), area(), 0, -1, -1))).toBeUndefined();
  });
});

describe('measured quirk verdicts and the quirks list (validateProfile)', () => {
  it('a verdict false for a listed quirk, or true for an unlisted one, is refused naming the place', () => {
    const p = profileOf('amd-zen4');
    p.measured = { evidence: 'hand-made', quirks: { 'zeroing-idiom-keeps-init': false } };
    expect(() => validateProfile(p, 'zen4.json')).toThrow(/zen4\.json: \/measured\/quirks\/zeroing-idiom-keeps-init: .*'zeroing-idiom-keeps-init'.*\/quirks/);
    p.measured = { evidence: 'hand-made', quirks: { 'pkru-state-four-bytes': true } };
    expect(() => validateProfile(p, 'zen4.json')).toThrow(/zen4\.json: \/measured\/quirks\/pkru-state-four-bytes: .*'pkru-state-four-bytes'.*\/quirks/);
    p.measured = { evidence: 'hand-made', quirks: { 'made-up': true } };
    expect(() => validateProfile(p, 'zen4.json')).toThrow(/unknown quirk 'made-up'/);
  });
  it('agreeing verdicts load, and the list is what the model uses', () => {
    const p = profileOf('amd-zen4');
    p.measured = { evidence: 'hand-made', quirks: { 'zeroing-idiom-keeps-init': true, 'pkru-state-four-bytes': false } };
    const cpu = new CpuModel(validateProfile(p, 'zen4.json'));
    expect(cpu.quirks.has('zeroing-idiom-keeps-init' as never)).toBe(true);
    expect(cpu.quirks.has('pkru-state-four-bytes' as never)).toBe(false);
  });
  it('an imported profile carries only assumed quirks (vendor-defaults.ts names the reference host measured)', () => {
    for (const id of ['amd-zen4', 'amd-zen1', 'intel-sapphire-rapids', 'intel-sandy-bridge']) {
      const p = profileOf(id);
      for (const q of p.quirks) expect(q.evidence, `${id} ${q.id}`).toMatch(/^assumed: /);
      expect(p.fxsave.evidence).toMatch(/^assumed: /);
    }
  });
});

describe('the kernel view (kernel-model/kernel-view.ts)', () => {
  const v618 = resolveKernelVariant('linux-6.18');
  it('an imported dump: AT_HWCAP is CPUID.01H:EDX, AT_HWCAP2 has FSGSBASE iff CPUID.(07H,0):EBX[0], CR4.PKE iff PKU; all derived', () => {
    for (const id of ['intel-sapphire-rapids', 'amd-zen2', 'intel-sandy-bridge']) {
      const cpu = new CpuModel(validateProfile(profileOf(id), id));
      const view = kernelView(cpu, v618);
      expect(view.hwcap).toMatchObject({ value: cpu.cpuid.get(1)[3] >>> 0, basis: ViewBasis.Derived });
      expect(view.hwcap2).toMatchObject({ value: (cpu.cpuid.get(7, 0)[1] & 1) ? HWCAP2_FSGSBASE : 0, basis: ViewBasis.Derived });
      expect(view.cr4Fsgsbase.value).toBe((cpu.cpuid.get(7, 0)[1] & 1) === 1);
      expect(view.cr4Pke.value).toBe(((cpu.cpuid.get(7, 0)[2] >>> 3) & 1) === 1);
      const cfg = fpu__init_system_xstate(cpu, v618);
      expect(view.xcr0.value).toBe(cfg.xcr0);
      expect(view.saveInsn.value).toBe(cfg.saveInsn);
      for (const f of Object.values(view)) expect(f.rule.length).toBeGreaterThan(10);
    }
    // Sapphire Rapids has FSGSBASE and PKU; Sandy Bridge has neither.
    expect(kernelView(new CpuModel(profileOf('intel-sapphire-rapids')), v618).hwcap2.value).toBe(HWCAP2_FSGSBASE);
    expect(kernelView(new CpuModel(profileOf('intel-sandy-bridge')), v618).cr4Fsgsbase.value).toBe(false);
  });

  it('a capture: the kernel cleared MTRR from AT_HWCAP and FSGSBASE although CPUID has it; the view says so, captured', () => {
    const p = profileOf('intel-sapphire-rapids');
    const raw = parseInt(p.cpuid['00000001']![3], 16) >>> 0;
    const MTRR = 1 << 12; // CPUID.01H:EDX[12] MTRR (SDM Vol. 2A Table 3-11)
    p.kernel = { evidence: 'hand-made', release: '6.18.44', hwcap: hex32(raw & ~MTRR), hwcap2: hex32(0), cpuinfo_flags: ['fpu', 'pku', 'ospke'], xcr0: '0x602e7', format: 'compacted' };
    const cpu = new CpuModel(validateProfile(p, '<capture>'));
    const view = kernelView(cpu, v618);
    expect(view.hwcap).toMatchObject({ value: (raw & ~MTRR) >>> 0, basis: ViewBasis.Captured });
    expect(view.hwcap2).toMatchObject({ value: 0, basis: ViewBasis.Captured });
    expect(view.cr4Fsgsbase).toMatchObject({ value: false, basis: ViewBasis.Captured });
    expect(view.cr4Pke).toMatchObject({ value: true, basis: ViewBasis.Captured });
    expect(view.xcr0).toMatchObject({ value: 0x602e7, basis: ViewBasis.Captured });
    // Another variant than the capturing kernel's: version-dependent facts are derived.
    const v513 = kernelView(cpu, resolveKernelVariant('linux-5.13'));
    expect(v513.xcr0.basis).toBe(ViewBasis.Derived);
    expect(v513.minsigstksz.value).toBeUndefined();
    expect(v513.hwcap.basis).toBe(ViewBasis.Captured);
    // cpuinfo flags alone (no auxv) still say what the kernel kept.
    p.kernel = { evidence: 'hand-made', cpuinfo_flags: ['fpu', 'fsgsbase'] };
    const flagsOnly = kernelView(new CpuModel(validateProfile(p, '<capture>')), v618);
    expect(flagsOnly.cr4Fsgsbase).toMatchObject({ value: true, basis: ViewBasis.Captured });
    expect(flagsOnly.hwcap2.value).toBe(HWCAP2_FSGSBASE);
    expect(flagsOnly.cr4Pke).toMatchObject({ value: false, basis: ViewBasis.Captured });
  });

  it('the capturing kernel cleared FSGSBASE (AT_HWCAP2 0) but RDFSBASE ran at CPL 3 (measured): user space can use it, AT_HWCAP2 stays 0', () => {
    const p = profileOf('intel-sapphire-rapids');
    p.kernel = { evidence: 'hand-made', release: '6.18.44-example', hwcap2: hex32(0), cpuinfo_flags: ['fpu', 'pku', 'ospke'] };
    p.measured = { evidence: 'hand-made', faults: { RDFSBASE: 'none', RDPKRU: '#UD' } };
    const cpu = new CpuModel(validateProfile(p, '<capture>'));
    const view = kernelView(cpu, v618);
    expect(view.cr4Fsgsbase).toMatchObject({ value: true, basis: ViewBasis.Captured });
    expect(view.cr4Fsgsbase.rule).toMatch(/measured\.faults\.RDFSBASE/);
    expect(view.hwcap2.value).toBe(0);
    expect(view.cr4Pke.value).toBe(false); // the measurement beats the cpuinfo flag
    // Another kernel than the capturing one: the measurement does not describe it.
    expect(kernelView(cpu, resolveKernelVariant('linux-6.1')).cr4Fsgsbase).toMatchObject({ value: false, basis: ViewBasis.Captured });
  });

  it("this host's capture: the derived AT_MINSIGSTKSZ, XCR0 and format equal what the capturing kernel showed", () => {
    const cpu = hostModel();
    const k = cpu.profile.kernel;
    if (!k) {
      console.log('the host capture has no kernel section (cpu capture without the kernel-view probe): nothing to compare');
      return;
    }
    const v = closestVariantTo(release());
    const cfg = fpu__init_system_xstate(cpu, v);
    const view = kernelView(cpu, v, cfg);
    if (k.minsigstksz !== undefined) expect(view.minsigstksz.value).toBe(k.minsigstksz);
    if (k.xcr0 !== undefined) expect(cfg.xcr0).toBe(parseInt(k.xcr0, 16));
    if (k.format !== undefined) expect(cfg.compacted ? 'compacted' : 'standard').toBe(k.format);
  });

  it('before 5.9 no kernel set CR4.FSGSBASE for user space: no HWCAP2_FSGSBASE (variant without user-fsgsbase)', () => {
    const cpu = new CpuModel(profileOf('intel-sapphire-rapids'));
    const old = resolveKernelVariant('linux-6.18').with([], ['user-fsgsbase' as never], 'pre-5.9');
    const view = kernelView(cpu, old);
    expect(view.cr4Fsgsbase.value).toBe(false);
    expect(view.hwcap2.value).toBe(0);
  });
});

describe('CPUID.(0DH,1).EBX on a CPU with XSAVEC but not XSAVES (SDM Vol. 1 13.2: XCR0 | IA32_XSS, XSS = 0)', () => {
  it('is the compacted size of XCR0 whatever IA32_XSS a caller passes (XSAVES hidden)', () => {
    const cpu = xsavesHidden();
    const xcr0 = cpu.xcr0Supported;
    expect(cpu.features.xsavec).toBe(true);
    expect(cpu.leafD(1, xcr0, 0)[1]).toBe(cpu.compactedLayout(xcr0).size);
    // IA32_XSS does not exist without XSAVES: a caller's XSS is ignored.
    expect(cpu.leafD(1, xcr0, 0x1800)[1]).toBe(cpu.compactedLayout(xcr0).size);
  });
  it('equals what a captured XSAVEC-only CPU reported for its captured XCR0', () => {
    // Chosen by property: a committed host capture whose CPUID has XSAVEC without XSAVES.
    const captures = builtinProfileIds().map((id) => resolveCpu(id))
      .filter((c) => c.profile.source.kind === 'host-capture' && c.profile.source.captured_xcr0 && c.features.xsavec && !c.features.xsaves);
    expect(captures.length, 'no committed capture of an XSAVEC-only CPU').toBeGreaterThan(0);
    for (const c of captures) {
      const xcr0 = Number(BigInt(c.profile.source.captured_xcr0!) & 0xffffffffn);
      expect(c.leafD(1, xcr0, 0)[1], c.id).toBe(c.cpuid.get(0xd, 1)[1]);
    }
  });
  it('is the raw value on a CPU without compaction (Sandy Bridge)', () => {
    const sb = new CpuModel(profileOf('intel-sandy-bridge'));
    expect(sb.leafD(1, 0x7, 0)[1]).toBe(sb.cpuid.get(0xd, 1)[1]);
  });
});
