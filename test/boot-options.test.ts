/**
 * Kernel boot options and configuration (issue 14, "the CPU supports it, the kernel does not enable
 * it"): the capabilities the kernel clears (cpu_parse_early_param, cpuid_deps[], setup_pku), what
 * fpu__init_system_xstate and the kernel's view then give, what CPUID a task still sees, and the
 * scenario syntax with its errors. Expectations are derived from each profile's own default
 * configuration by the rule under test, on every built-in CPU with the property the rule needs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { CpuModel } from '../emulator/cpu-model.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { BOOT_OPTIONS, X86Feature, bootCpuCaps, featureNumber, parseKernelBoot, resolveKernelName, type KernelBootConfig } from '../kernel-model/cpufeature.js';
import { fpu__init_system_xstate } from '../kernel-model/fpu-config.js';
import { kernelView } from '../kernel-model/kernel-view.js';
import { KernelBehaviour, resolveKernelVariant, type KernelVariant } from '../kernel-model/variants.js';
import { InputError } from '../src/errors.js';
import { kernelListJson } from '../src/commands/kernel.js';
import { loadScenario } from '../src/scenario/load.js';
import { runAll } from '../src/scenario/run.js';

const AMX = bit(XFeature.TILECFG) | bit(XFeature.TILEDATA);
const AVX512 = bit(XFeature.OPMASK) | bit(XFeature.ZMM_HI256) | bit(XFeature.HI16_ZMM);
const PKRU = bit(XFeature.PKRU);

function booted(id: string, cmdline: string, config: string[] = []): KernelVariant {
  const v = resolveKernelVariant(id);
  const b = parseKernelBoot(v, cmdline, config);
  if ('error' in b) throw new Error(b.error);
  return v.withBoot(b as KernelBootConfig);
}
const cpus = builtinProfileIds().map((id) => resolveCpu(id));

describe('setup_clear_cpu_cap follows cpuid_deps[]', () => {
  it('noxsaves clears XFD and so AMX_TILE (AMX_TILE -> XFD -> XSAVES), and SHSTK and ENQCMD', () => {
    const spr = cpus.find((c) => c.features.amxTile && c.features.xfd && c.features.xsaves);
    expect(spr, 'a built-in CPU with AMX, XFD and XSAVES').toBeDefined();
    const caps = bootCpuCaps(spr!, booted('linux-6.18', 'noxsaves'));
    for (const f of [X86Feature.XSAVES, X86Feature.XFD, X86Feature.AMX_TILE, X86Feature.AMX_BF16, X86Feature.SHSTK, X86Feature.ENQCMD]) expect(caps.has(f), f).toBe(false);
    for (const f of [X86Feature.XSAVE, X86Feature.XSAVEC, X86Feature.AVX512F, X86Feature.PKU, X86Feature.OSPKE]) expect(caps.has(f), f).toBe(true);
    expect(caps.cleared.find((c) => c.feature === X86Feature.AMX_TILE)?.by).toMatch(/noxsaves/);
  });
  it('noxsave clears every XSAVE-dependent feature; clearcpuid=avx512f its subsets only', () => {
    const spr = cpus.find((c) => c.features.amxTile && c.features.avx512f)!;
    const none = bootCpuCaps(spr, booted('linux-6.18', 'noxsave'));
    for (const f of [X86Feature.XSAVE, X86Feature.XSAVEOPT, X86Feature.XSAVEC, X86Feature.XSAVES, X86Feature.AVX, X86Feature.AVX2, X86Feature.AVX512F, X86Feature.PKU, X86Feature.OSPKE, X86Feature.XFD, X86Feature.AMX_TILE]) expect(none.has(f), f).toBe(false);
    expect(none.has(X86Feature.FXSR)).toBe(true);
    const c = bootCpuCaps(spr, booted('linux-6.18', 'clearcpuid=avx512f'));
    for (const f of [X86Feature.AVX512F, X86Feature.AVX512BW, X86Feature.AVX512VL, X86Feature.AVX512_FP16]) expect(c.has(f), f).toBe(false);
    for (const f of [X86Feature.AVX, X86Feature.AVX2, X86Feature.AMX_TILE]) expect(c.has(f), f).toBe(true);
  });
});

describe('fpu__init_system_xstate under boot options, on every built-in CPU', () => {
  for (const cpu of cpus) {
    const v = resolveKernelVariant('linux-6.18');
    const base = fpu__init_system_xstate(cpu, v);
    if (!base.useXsave) continue;
    it(`${cpu.id}: noxsave, noxsaves, noxsaveopt, clearcpuid=avx512f`, () => {
      expect(fpu__init_system_xstate(cpu, booted('linux-6.18', 'noxsave')).useXsave).toBe(false);
      const ns = fpu__init_system_xstate(cpu, booted('linux-6.18', 'noxsaves'));
      expect(ns.xss).toBe(0);
      expect(ns.xcr0).toBe((base.xcr0 & ~AMX) >>> 0);
      expect(ns.saveInsn).toBe(cpu.features.xsavec ? 'XSAVEC' : cpu.features.xsaveopt ? 'XSAVEOPT' : 'XSAVE');
      expect(ns.compacted).toBe(cpu.features.xsavec);
      expect(ns.user.maxSize).toBe(cpu.standardSize(ns.xcr0));
      const no = fpu__init_system_xstate(cpu, booted('linux-6.18', 'noxsaveopt'));
      expect(no.xcr0).toBe(base.xcr0);
      expect(no.saveInsn).toBe(base.saveInsn === 'XSAVEOPT' ? 'XSAVE' : base.saveInsn);
      const na = fpu__init_system_xstate(cpu, booted('linux-6.18', 'clearcpuid=avx512f'));
      expect(na.xcr0).toBe((base.xcr0 & ~AVX512) >>> 0);
      // The standard layout keeps later components where they are: the UABI size is still the end of the last one.
      expect(na.user.maxSize).toBe(cpu.standardSize(na.xcr0));
    });
  }
});

describe('pkeys disabled (nopku, CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n)', () => {
  const pku = cpus.filter((c) => c.features.pku && fpu__init_system_xstate(c, resolveKernelVariant('linux-6.18')).xcr0 & PKRU);
  it('there are built-in CPUs with PKU', () => expect(pku.length).toBeGreaterThan(0));
  for (const cpu of pku) {
    it(`${cpu.id}: PKRU leaves XCR0 from 6.6 (pkru-xstate-needs-ospke), stays before; CR4.PKE 0 either way`, () => {
      for (const id of ['linux-6.2', 'linux-6.18']) {
        const v = resolveKernelVariant(id);
        const base = fpu__init_system_xstate(cpu, v);
        for (const k of [booted(id, 'nopku'), booted(id, '', ['CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n'])]) {
          const c = fpu__init_system_xstate(cpu, k);
          const want = v.has(KernelBehaviour.PkruXstateNeedsOspke) ? (base.xcr0 & ~PKRU) >>> 0 : base.xcr0;
          expect(c.xcr0, `${k.id}`).toBe(want);
          expect(kernelView(cpu, k, c).cr4Pke.value, k.id).toBe(false);
        }
        expect(kernelView(cpu, v, base).cr4Pke.value).toBe(true);
      }
    });
  }
  it('without the behaviour 6.18 keeps PKRU in XCR0 (the rule, not the example)', () => {
    const cpu = pku[0];
    const v = booted('linux-6.18', 'nopku');
    const off = v.with([], [KernelBehaviour.PkruXstateNeedsOspke]).withBoot(v.boot);
    expect(fpu__init_system_xstate(cpu, off).xcr0 & PKRU).toBe(PKRU);
  });
});

describe('the task still sees the CPU in CPUID', () => {
  it('clearcpuid=avx512f: CPUID.(07H,0):EBX.AVX512F stays set, XCR0 lacks the AVX-512 components', () => {
    const cpu = cpus.find((c) => c.features.avx512f)!;
    const v = booted('linux-6.18', 'clearcpuid=avx512f');
    const cfg = fpu__init_system_xstate(cpu, v);
    const view = kernelView(cpu, v, cfg);
    const l7 = cpu.cpuidAnswer(7, 0, { xcr0: cfg.xcr0, xss: cfg.xss, osxsave: cfg.useXsave, ospke: view.cr4Pke.value });
    expect((l7[1] >>> 16) & 1).toBe(1);
    expect(cfg.xcr0 & AVX512).toBe(0);
    const l1 = cpu.cpuidAnswer(1, 0, { xcr0: 0, xss: 0, osxsave: false, ospke: false });
    expect((l1[2] >>> 26) & 1, 'CPUID.1:ECX.XSAVE stays under noxsave').toBe(1);
    expect((l1[2] >>> 27) & 1, 'OSXSAVE follows CR4').toBe(0);
  });
  it('nofsgsbase: CR4.FSGSBASE 0 and no HWCAP2_FSGSBASE, CPUID bit kept', () => {
    const cpu = cpus.find((c) => c.features.fsgsbase && !c.profile.kernel)!;
    const v = booted('linux-6.18', 'nofsgsbase');
    const view = kernelView(cpu, v);
    expect(view.cr4Fsgsbase.value).toBe(false);
    expect(view.hwcap2.value & 2).toBe(0);
    expect(kernelView(cpu, resolveKernelVariant('linux-6.18')).hwcap2.value & 2).toBe(2);
  });
  it('clearcpuid=sse2 clears it in AT_HWCAP (ELF_HWCAP is the kernel\'s CPUID.01H:EDX word)', () => {
    const cpu = cpus.find((c) => !c.profile.kernel)!;
    const h = kernelView(cpu, booted('linux-6.18', `clearcpuid=${featureNumber(X86Feature.XMM2)}`)).hwcap.value;
    expect((h >>> 26) & 1).toBe(0);
    expect((kernelView(cpu, resolveKernelVariant('linux-6.18')).hwcap.value >>> 26) & 1).toBe(1);
  });
});

describe('parsing: the options by version, numbers and names', () => {
  const v518 = resolveKernelVariant('linux-5.14');
  const v618 = resolveKernelVariant('linux-6.18');
  const err = (v: KernelVariant, c: string, cfg: string[] = []): string => {
    const b = parseKernelBoot(v, c, cfg);
    return 'error' in b ? b.error : '';
  };
  it('names only with clearcpuid-names; the number is word*32+bit of the CPUID word', () => {
    expect(err(v518, 'clearcpuid=avx512f')).toMatch(/only X86_FEATURE_ numbers.*write 304/);
    expect(featureNumber(X86Feature.AVX512F)).toBe(9 * 32 + 16);
    expect(featureNumber(X86Feature.XSAVES)).toBe(10 * 32 + 3);
    expect(err(v518, 'clearcpuid=304')).toBe('');
    const b = parseKernelBoot(v618, 'clearcpuid=304,xsaves') as KernelBootConfig;
    expect(b.params[0].features).toEqual([X86Feature.AVX512F, X86Feature.XSAVES]);
  });
  it('unknown options, values and configuration are refused with what is known', () => {
    expect(err(v618, 'noxsave bogus')).toMatch(/'bogus' is not modelled.*noxsaves/);
    expect(err(v618, 'clearcpuid=nosuch')).toMatch(/not a feature the model tracks/);
    expect(err(v618, 'clearcpuid=')).toMatch(/needs features/);
    expect(err(v618, 'noxsave=1')).toMatch(/takes no value/);
    expect(err(v618, 'nopku', ['CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n'])).toMatch(/exists only with/);
    expect(err(v618, '', ['CONFIG_FOO=n'])).toMatch(/not modelled/);
    expect(err(v618, '', ['X86_INTEL_MEMORY_PROTECTION_KEYS=n'])).toMatch(/write CONFIG_NAME=y/);
  });
  it('a booted kernel\'s default name resolves back to the same kernel (run --kernel, run --matrix --kernel)', () => {
    const v = resolveKernelName('linux-6.18+noxsaves+clearcpuid=avx512f+CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n');
    expect(v.id).toBe('linux-6.18+noxsaves+clearcpuid=avx512f+CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n');
    expect(v.baseId).toBe('linux-6.18');
    expect(v.boot.params.map((p) => p.option)).toEqual(['noxsaves', 'clearcpuid']);
    expect(v.boot.configOff).toEqual(['CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS']);
    expect(resolveKernelName('linux-6.18').booted).toBe(false);
    expect(() => resolveKernelName('linux-6.18+bogus')).toThrow(/--kernel: linux-6.18\+bogus: boot option 'bogus' is not modelled/);
    expect(() => resolveKernelName('linux-9+nopku')).toThrow(/unknown kernel variant 'linux-9'/);
  });
  it('kernel list --json carries the options with their sources', () => {
    const j = kernelListJson();
    expect(j.bootOptions.map((o) => o.option)).toEqual(expect.arrayContaining(['noxsave', 'noxsaveopt', 'noxsaves', 'nopku', 'clearcpuid']));
    for (const o of j.bootOptions) expect(o.source.length).toBeGreaterThan(10);
    expect(j.kconfig[0].symbol).toBe('CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS');
  });
});

describe('setcpuid= and nousershstk (cpu_parse_early_param, 6.18)', () => {
  const v618 = resolveKernelVariant('linux-6.18');
  /** A built-in profile with CPUID.(07H,0):EBX[16] AVX512F cleared, as a VM that hides it while leaf 0DH still enumerates the components. */
  function hidden(id: string): CpuModel {
    const p = structuredClone(resolveCpu(id).profile);
    const ebx = parseInt(p.cpuid['00000007.00']![1], 16);
    p.cpuid['00000007.00']![1] = `0x${((ebx & ~(1 << 16)) >>> 0).toString(16).padStart(8, '0')}`;
    return new CpuModel(p);
  }
  it('setcpuid=avx512f brings the AVX-512 components back where leaf 0DH enumerates them; only the feature itself', () => {
    const avx512Cpus = cpus.filter((c) => (fpu__init_system_xstate(c, v618).xcr0 & AVX512) === AVX512);
    expect(avx512Cpus.length).toBeGreaterThan(0);
    for (const base of avx512Cpus) {
      const cpu = hidden(base.id);
      expect(fpu__init_system_xstate(cpu, v618).xcr0 & AVX512, `${cpu.id} hidden`).toBe(0);
      const forced = fpu__init_system_xstate(cpu, booted('linux-6.18', 'setcpuid=avx512f'));
      expect(forced.xcr0, cpu.id).toBe(fpu__init_system_xstate(base, v618).xcr0);
      const caps = bootCpuCaps(cpu, booted('linux-6.18', 'setcpuid=avx512f'));
      expect(caps.has(X86Feature.AVX512F)).toBe(true);
      expect(caps.notes.join(' ')).toMatch(/setcpuid=avx512f: forced on/);
    }
    // After clearcpuid=: the forced bit wins (apply_forced_caps), its dependents stay cleared.
    const spr = cpus.find((c) => c.features.avx512f && c.features.amxTile)!;
    const both = bootCpuCaps(spr, booted('linux-6.18', 'clearcpuid=avx512f setcpuid=avx512f'));
    expect(both.has(X86Feature.AVX512F)).toBe(true);
    expect(both.has(X86Feature.AVX512BW)).toBe(false);
    expect(both.cleared.some((c) => c.feature === X86Feature.AVX512F)).toBe(false);
  });
  it('setcpuid= of an instruction the CPU lacks is refused; before 6.15 the option does not exist', () => {
    const noXsaves = cpus.find((c) => c.features.xsave && !c.features.xsaves)!;
    expect(noXsaves, 'a built-in CPU without XSAVES').toBeDefined();
    expect(() => fpu__init_system_xstate(noXsaves, booted('linux-6.18', 'setcpuid=xsaves'))).toThrow(InputError);
    const e = parseKernelBoot(resolveKernelVariant('linux-6.12'), 'setcpuid=avx512f');
    expect('error' in e ? e.error : '').toMatch(/came in 6\.15/);
    const n = parseKernelBoot(v618, 'setcpuid=304,avx2') as KernelBootConfig;
    expect(n.params[0]!.features).toEqual([X86Feature.AVX512F, X86Feature.AVX2]);
  });
  it('nousershstk clears USER_SHSTK only: the CET_USER component stays in IA32_XSS; before 6.6 it does not exist', () => {
    const shstk = cpus.filter((c) => bootCpuCaps(c, v618).has(X86Feature.SHSTK));
    for (const cpu of shstk) {
      expect(bootCpuCaps(cpu, v618).has(X86Feature.USER_SHSTK)).toBe(true);
      const caps = bootCpuCaps(cpu, booted('linux-6.18', 'nousershstk'));
      expect(caps.has(X86Feature.USER_SHSTK)).toBe(false);
      expect(caps.has(X86Feature.SHSTK)).toBe(true);
      const a = fpu__init_system_xstate(cpu, v618), b = fpu__init_system_xstate(cpu, booted('linux-6.18', 'nousershstk'));
      expect([b.xcr0, b.xss, b.kernel.maxSize]).toEqual([a.xcr0, a.xss, a.kernel.maxSize]);
    }
    if (shstk.length === 0) console.log('no built-in CPU with SHSTK: nousershstk checked for parsing only');
    const e = parseKernelBoot(resolveKernelVariant('linux-6.2'), 'nousershstk');
    expect('error' in e ? e.error : '').toMatch(/came with user shadow stacks \(6\.6\)/);
  });
});

describe('scenarios: kernels: [{variant, boot, config, as}]', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xstate-boot-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const file = (kernels: string, expect_ = '  all: {}\n'): string => {
    const dir = join(tmp, `s${n++}`);
    mkdirSync(dir);
    const f = join(dir, 'case.yaml');
    writeFileSync(f, `name: x\nabout: a\nsource: s\ncpu: intel-skylake-sp\nkernels:\n${kernels}tasks: { t: {} }\nsteps:\n  - read: { task: t, field: xcr0, as: t.xcr0 }\nexpect:\n${expect_}`);
    return f;
  };
  const errorOf = (f: string): string => {
    try { loadScenario(f); } catch (e) { if (e instanceof InputError) return e.message; throw e; }
    throw new Error('accepted');
  };
  const place = (f: string, token: string): string => {
    const lines = readFileSync(f, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes(token));
    return `${f}:${i + 1}:${lines[i].indexOf(token) + 1}: `;
  };
  it('a booted kernel runs under its name (default variant+options, or as:) and expectations use it', () => {
    const f = file('  - linux-6.18\n  - { variant: linux-6.18, boot: nopku }\n  - { variant: linux-6.2, boot: nopku, as: old-nopku }\n',
      '  linux-6.18: { t.xcr0: 0x2ff }\n  linux-6.18+nopku: { t.xcr0: 0xff }\n  old-nopku: { t.xcr0: 0x2ff }\n');
    const s = loadScenario(f);
    expect(s.kernels).toEqual(['linux-6.18', 'linux-6.18+nopku', 'old-nopku']);
    const out = runAll(s);
    expect(out.map((o) => [o.variant, o.checks.every((c) => c.pass)])).toEqual([['linux-6.18', true], ['linux-6.18+nopku', true], ['old-nopku', true]]);
  });
  it('errors name the file, line and column of the option', () => {
    let f = file('  - { variant: linux-6.18, boot: "noxsaves bogus" }\n');
    expect(errorOf(f)).toBe(`${place(f, '"noxsaves bogus"')}boot option 'bogus' is not modelled (known: ${BOOT_OPTIONS.map((o) => o.syntax).join(', ')}; others do not change extended state here)`);
    f = file('  - { variant: linux-5.14, boot: clearcpuid=avx512f }\n');
    expect(errorOf(f).startsWith(place(f, 'clearcpuid=avx512f'))).toBe(true);
    f = file('  - { variant: linux-6.18, config: [CONFIG_FOO=n] }\n');
    expect(errorOf(f).startsWith(place(f, '[CONFIG_FOO=n]'))).toBe(true);
    f = file('  - { variant: linux-6.18, bot: nopku }\n');
    expect(errorOf(f)).toMatch(new RegExp(`^${place(f, 'bot').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*unknown key 'bot'.*variant, boot, config, as`));
    f = file('  - { variant: linux-9, boot: nopku }\n');
    expect(errorOf(f).startsWith(place(f, 'linux-9'))).toBe(true);
    f = file('  - { variant: linux-6.18, boot: nopku, as: a/b }\n');
    expect(errorOf(f)).toMatch(/no spaces or \//);
    f = file('  - { variant: linux-6.18, boot: nopku }\n  - { variant: linux-6.18, boot: nopku }\n');
    expect(errorOf(f)).toMatch(/named twice/);
  });
});

describe('exec under noxsave: a kernel that saves with FXSAVE', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xstate-noxsave-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('test/guests/signals.c (handlers, sigreturn, altstack, faults) prints the same with and without XSAVE; FXSAVE frames carry no magic', () => {
    const exe = join(tmp, 'signals');
    const cc = spawnSync('musl-gcc', ['-static', '-O1', '-o', exe, join(import.meta.dirname, 'guests', 'signals.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
    const run = (...extra: string[]) => spawnSync(process.execPath, [cli, 'exec', '--cpu', 'intel-skylake-sp', ...extra, exe], { encoding: 'utf8', cwd: tmp, timeout: 200_000 });
    const a = run(), b = run('--boot', 'noxsave');
    expect(b.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(b.stdout).toBe(a.stdout);
    expect(b.status).toBe(a.status);
  }, 420_000);
});
