/**
 * `cpu capture` records what CPUID cannot tell: the CPL-3 fault of each FAULT_INSNS instruction,
 * the quirk verdicts of the probes, and the kernel's view. Each recorded value is checked against
 * an independent read of this host (a second probe run, the dynamic loader's auxv dump, uname,
 * /proc/cpuinfo, dmesg) or against the architectural rule, never against the capture itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAULT_INSNS, type FaultInsn } from '../emulator/profile-json.js';
import { validateProfile } from '../emulator/profile.js';
import { isQuirkId } from '../emulator/quirks.js';
import { cpuShow } from '../src/commands/cpu.js';
import { ASSUMED_PREFIX, measureFaults, parseDmesgFpu, probeQuirks, QuirkVerdict } from '../src/host/capture.js';
import { hostModel, hostProfile } from './helpers.js';

/** The auxv as the dynamic loader prints it (LD_SHOW_AUXV, glibc elf/dl-sysdep.c _dl_show_auxv). */
function loaderAuxv(): Map<string, string> {
  const out = execFileSync('/bin/true', { encoding: 'utf8', env: { ...process.env, LD_SHOW_AUXV: '1' } });
  return new Map([...out.matchAll(/^(AT_\w+|AT_\?\?\? \(0x[0-9a-f]+\)):\s+(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** /proc/cpuinfo 'flags' of the first processor, read here with its own parse. */
function cpu0Flags(): string[] {
  const first = readFileSync('/proc/cpuinfo', 'utf8').split(/\n\s*\n/)[0];
  const line = first.split('\n').find((l) => l.startsWith('flags'));
  return line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : [];
}

describe('cpu capture: measured faults at CPL 3', () => {
  const p = hostProfile();
  it('records a fault for every FAULT_INSNS instruction', () => {
    expect(Object.keys(p.measured?.faults ?? {}).sort()).toEqual([...FAULT_INSNS].sort());
  });
  it('a second run of the fault probe sees the same fault for every instruction', () => {
    const again = measureFaults();
    for (const insn of FAULT_INSNS) expect(p.measured!.faults![insn], insn).toBe(again.faults[insn]);
  });
  it('agrees with the architectural rules and the kernel flags', () => {
    const f = p.measured!.faults! as Record<FaultInsn, string>;
    const flags = cpu0Flags();
    console.log(`host faults at CPL 3: ${FAULT_INSNS.map((i) => `${i} ${f[i]}`).join(', ')}`);
    // XSETBV, XSAVES and XRSTORS are CPL-0 only (SDM Vol. 2: #GP(0) if CPL > 0, or #UD when absent).
    for (const insn of ['XSETBV', 'XSAVES', 'XRSTORS'] as const) expect(['#GP', '#UD']).toContain(f[insn]);
    // XSAVE and XGETBV(0) run exactly when the OS enabled XSAVE (CR4.OSXSAVE; Linux clears 'xsave' otherwise).
    const osxsave = flags.includes('xsave');
    for (const insn of ['XSAVE', 'XRSTOR', 'XGETBV0'] as const) expect(f[insn], insn).toBe(osxsave ? 'none' : '#UD');
    expect(f.FXSAVE).toBe(flags.includes('fxsr') ? 'none' : '#UD');
    // The kernel reports CR4.PKE as 'ospke': with it RDPKRU runs.
    if (flags.includes('ospke')) expect(f.RDPKRU).toBe('none');
  });
});

describe('cpu capture: measured quirks', () => {
  const p = hostProfile();
  it('names known quirks only, and the quirk list follows the verdicts', () => {
    const verdicts = p.measured?.quirks ?? {};
    expect(Object.keys(verdicts).length).toBeGreaterThan(0);
    for (const [id, present] of Object.entries(verdicts)) {
      expect(isQuirkId(id), id).toBe(true);
      const listed = p.quirks.find((q) => q.id === id);
      expect(listed !== undefined, id).toBe(present);
      if (listed) expect(listed.evidence).toMatch(/^measured by xstate-lab cpu capture on Linux /);
    }
    for (const q of p.quirks.filter((x) => !(x.id in verdicts))) expect(q.evidence.startsWith(ASSUMED_PREFIX), q.id).toBe(true);
    // The CPL-0 quirk is never measured.
    expect('xsaves-modified-optimization' in verdicts).toBe(false);
  });
  it('a second run of the quirk probe gives the same verdicts', () => {
    const again = probeQuirks();
    for (const [id, present] of Object.entries(p.measured?.quirks ?? {})) {
      const r = again.results.find((x) => x.id === id);
      expect(r?.verdict, id).toBe(present ? QuirkVerdict.Present : QuirkVerdict.Absent);
    }
  });
  it('MXCSR_MASK is the one FXSAVE stores', () => {
    expect(p.fxsave.evidence).toMatch(/^measured by xstate-lab cpu capture/);
    expect(p.fxsave.evidence).toContain(`MXCSR_MASK ${p.fxsave.mxcsr_mask}`);
  });
});

describe('cpu capture: the kernel view', () => {
  const k = hostProfile().kernel!;
  it('release is uname -r', () => {
    expect(k.release).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  });
  it("xcr0 is XGETBV(0)'s", () => {
    const x = measureFaults().xcr0; // the fault probe reads XGETBV(0) itself
    expect(k.xcr0).toBe(`0x${x.toString(16)}`);
  });
  it("AT_HWCAP, AT_HWCAP2 and AT_MINSIGSTKSZ are the loader's", () => {
    const aux = loaderAuxv();
    const hex = (v: string | undefined): number | undefined => (v === undefined ? undefined : parseInt(v.replace(/^0x/, ''), 16));
    expect(hex(k.hwcap)).toBe(hex(aux.get('AT_HWCAP')));
    expect(hex(k.hwcap2) ?? 0).toBe(hex(aux.get('AT_HWCAP2')) ?? 0);
    // AT_MINSIGSTKSZ is 51 (0x33); older loaders print it unnamed.
    const min = aux.get('AT_MINSIGSTKSZ') ?? aux.get('AT_??? (0x33)');
    if (min === undefined) expect(k.minsigstksz).toBeUndefined();
    else expect(k.minsigstksz).toBe(min.startsWith('0x') ? parseInt(min, 16) : Number(min));
  });
  it('cpuinfo flags are those of CPU 0', () => {
    expect(k.cpuinfo_flags).toEqual(cpu0Flags());
  });
  it('the hypervisor leaf is recorded exactly when CPUID says a hypervisor is present', () => {
    expect(k.hypervisor !== undefined).toBe(cpu0Flags().includes('hypervisor'));
  });
  it('the NT_X86_XSTATE size is the standard-format size of the user features in XCR0', () => {
    const cpu = hostModel();
    if (k.xstate_regset_size === undefined) {
      expect(cpu.features.xsave && cpu0Flags().includes('xsave')).toBe(false);
      return;
    }
    // arch/x86/kernel/fpu/xstate.c: the regset is fpu_user_cfg.max_size, the non-compacted size of XCR0.
    expect(k.xstate_regset_size).toBe(cpu.standardSize(Number(k.xcr0)));
  });
  it('the dmesg summary is the one dmesg prints, or absent when dmesg is unreadable', () => {
    let dmesg: string | undefined;
    try { dmesg = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }); } catch { /* unreadable */ }
    const e = dmesg ? /Enabled xstate features (0x[0-9a-f]+), context size is (\d+) bytes, using '(\w+)' format/.exec(dmesg) : null;
    if (!e) {
      console.log('dmesg is unreadable here or has no x86/fpu summary: the capture must not claim one');
      expect(k.xfeatures).toBeUndefined();
      expect(k.context_size).toBeUndefined();
      return;
    }
    expect(BigInt(k.xfeatures!)).toBe(BigInt(e[1]));
    expect(k.context_size).toBe(Number(e[2]));
    expect(k.format).toBe(e[3]);
    expect(k.dmesg_fpu?.length).toBe(dmesg!.split('\n').filter((l) => l.includes('x86/fpu:')).length);
  });
  it('parses the summary line of the kernel (fpu__init_system_xstate)', () => {
    const r = parseDmesgFpu("[    0.19] x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'\n[    0.20] x86/fpu: Enabled xstate features 0x2e7, context size is 2440 bytes, using 'standard' format.\nother\n");
    expect(r).toEqual({
      dmesg_fpu: ["x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'", "x86/fpu: Enabled xstate features 0x2e7, context size is 2440 bytes, using 'standard' format."],
      xfeatures: '0x2e7', context_size: 2440, format: 'standard',
    });
    expect(parseDmesgFpu('no fpu lines\n')).toEqual({});
  });
});

describe('cpu capture: the profile', () => {
  it('validates and `cpu show` prints its measurements and kernel view', () => {
    const p = hostProfile();
    expect(() => validateProfile(structuredClone(p), '<host capture>')).not.toThrow();
    const text = cpuShow(hostModel());
    expect(text).toContain('faults at CPL 3:');
    expect(text).toContain(`XCR0                ${p.kernel!.xcr0}`);
    expect(text).toMatch(/\[measured\]|quirks measured absent/);
  });
  it('a measured quirk verdict with an unknown id or contradicting the quirk list is refused with the place', () => {
    const p = hostProfile();
    expect(() => validateProfile({ ...structuredClone(p), measured: { evidence: 'x', quirks: { 'made-up': true } } }, 'f.json')).toThrow(/f\.json: \/measured\/quirks\/made-up: unknown quirk 'made-up'/);
    expect(() => validateProfile({ ...structuredClone(p), quirks: [], measured: { evidence: 'x', quirks: { 'modified-optimization': true } } }, 'f.json')).toThrow(/\/measured\/quirks\/modified-optimization: quirk 'modified-optimization' was measured present but is missing from \/quirks/);
  });
});
