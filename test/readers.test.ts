/**
 * Ptracer reader models against the true layouts of the built-in CPUs. Expected misreads are
 * derived from layouts (an Intel reference layout, the compacted walk, CPUID of another CPU),
 * never written down as results.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { XFeature, maskBits } from '../emulator/xfeatures.js';
import { linuxReaderInput } from '../src/commands/readers.js';
import { ReadVerdict, compareReader, registerNames, type ReaderReport } from '../src/readers/compare.js';
import { layoutNoteFor } from '../src/readers/layout-note.js';
import { ReaderId, gdbMajorVersion, gdbReaderForVersion } from '../src/readers/readers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
/** Components GDB has registers for (i387_supply_xsave): AVX, MPX, AVX-512, PKRU. */
const GDB_KNOWS = [XFeature.AVX, XFeature.BNDREGS, XFeature.BNDCSR, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM, XFeature.PKRU];
/** The layout GDB 13 hard-coded is the one of Intel parts with MPX and AVX-512: Skylake-SP's CPUID. */
const INTEL_REFERENCE = 'intel-skylake-sp';

const misread = (r: ReaderReport): number[] => r.components.filter((c) => c.verdict === ReadVerdict.Misread).map((c) => c.component).sort((a, b) => a - b);
const extended = (cpu: CpuModel, mask: number): number[] => maskBits(mask).filter((c) => c >= 2 && cpu.components[c] && !cpu.components[c]!.supervisor);

const ids = builtinProfileIds().filter((id) => resolveCpu(id).features.xsave);

describe('readers on every built-in CPU, with the XCR0 Linux enables there', () => {
  const ref = resolveCpu(INTEL_REFERENCE);
  for (const id of ids) {
    const cpu = resolveCpu(id);
    const { input, xcr0 } = linuxReaderInput(cpu);
    it(`${id}: gdb-13 misreads exactly the components whose offset differs from the Intel reference layout`, () => {
      const want = extended(cpu, xcr0).filter((c) => GDB_KNOWS.includes(c) && ref.components[c] && ref.components[c]!.standardOffset !== cpu.components[c]!.standardOffset);
      expect(misread(compareReader(ReaderId.Gdb13, input, cpu))).toEqual(want);
    });
    it(`${id}: manpage-2020 misreads exactly the components whose compacted offset differs from the standard one`, () => {
      const { offsets } = cpu.compactedLayout(xcr0);
      const want = extended(cpu, xcr0).filter((c) => offsets[c] !== cpu.components[c]!.standardOffset);
      expect(misread(compareReader(ReaderId.Manpage2020, input, cpu))).toEqual(want);
    });
    it(`${id}: gdb-14 guesses right or shows nothing; with the layout note it reads every component it knows`, () => {
      const r = compareReader(ReaderId.Gdb14, input, cpu);
      expect(misread(r)).toEqual([]);
      // GDB's table holds the sizes of the reference layouts (Intel with MPX/AVX-512/PKRU, AMD Zen 4):
      // an image of one of those sizes must be guessed.
      const known = new Set([INTEL_REFERENCE, 'amd-zen4'].map((x) => resolveCpu(x)).map((c) => c.standardSize(c.xcr0Supported)));
      if (known.has(input.size)) expect(r.belief.unavailable).toBeUndefined();
      const withNote = compareReader(ReaderId.Gdb14, { ...input, layoutNote: layoutNoteFor(cpu, xcr0) }, cpu);
      expect(withNote.components.filter((c) => GDB_KNOWS.includes(c.component)).every((c) => c.verdict === ReadVerdict.Right)).toBe(true);
    });
    it(`${id}: the CPUID reader on the same CPU reads everything right`, () => {
      expect(compareReader(ReaderId.Cpuid, input, cpu).components.every((c) => c.verdict === ReadVerdict.Right)).toBe(true);
    });
  }
});

describe('named cases from the bug corpus', () => {
  it('GDB < 14 misreads PKRU and the AVX-512 state on AMD Zen 4 (D1 in peers-and-bugs.md)', () => {
    const zen4 = resolveCpu('amd-zen4');
    const { input } = linuxReaderInput(zen4);
    const r = compareReader(ReaderId.Gdb13, input, zen4);
    const pkru = r.components.find((c) => c.component === XFeature.PKRU)!;
    expect(pkru.verdict).toBe(ReadVerdict.Misread);
    expect(pkru.trueOffset).toBe(zen4.components[XFeature.PKRU]!.standardOffset);
    expect(pkru.landsIn).toMatch(/past the end/); // Intel's 2688 is beyond a 2440-byte image
    expect(misread(r)).toEqual([XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM, XFeature.PKRU].filter((c) => zen4.components[c]!.standardOffset !== resolveCpu(INTEL_REFERENCE).components[c]!.standardOffset));
  });
  it('a CPUID-driven reader on Intel misreads a Zen 4 image (Delve #3827, rr #3573)', () => {
    const zen4 = resolveCpu('amd-zen4'), sky = resolveCpu(INTEL_REFERENCE);
    const { input, xcr0 } = linuxReaderInput(zen4, { runsOn: sky });
    const want = extended(zen4, xcr0).filter((c) => sky.components[c]?.standardOffset !== zen4.components[c]!.standardOffset);
    expect(misread(compareReader(ReaderId.Cpuid, input, zen4))).toEqual(want);
  });
  it('the man-page walk misreads MPX and AVX-512 on Skylake-SP but is right on Zen 4 (linux-fpu-uabi.md §10.3)', () => {
    for (const [id, wrong] of [['intel-skylake-sp', true], ['amd-zen4', false]] as const) {
      const cpu = resolveCpu(id);
      expect(misread(compareReader(ReaderId.Manpage2020, linuxReaderInput(cpu).input, cpu)).length > 0).toBe(wrong);
    }
  });
  it('GDB 14 cannot guess a Sapphire Rapids layout with AMX (11008 bytes) and shows no extended register', () => {
    const spr = resolveCpu('intel-sapphire-rapids');
    const { input } = linuxReaderInput(spr);
    expect(input.size).toBe(spr.standardSize(spr.xcr0Supported & ~(1 << XFeature.PT)));
    const r = compareReader(ReaderId.Gdb14, input, spr);
    expect(r.belief.unavailable).toMatch(new RegExp(`size ${input.size}`));
    expect(r.components.every((c) => c.verdict === ReadVerdict.Unavailable)).toBe(true);
  });
  it('register names come from the catalogue', () => {
    expect(registerNames(XFeature.OPMASK)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    expect(registerNames(XFeature.PKRU)).toEqual(['PKRU']);
  });
});

describe('readers CLI', () => {
  it('--json lists the misread registers per reader', () => {
    const r = spawnSync('node', [CLI, 'readers', '--cpu', 'amd-zen4', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('xstate-lab.readers/1');
    const g = j.readers.find((x: { id: string }) => x.id === 'gdb-13');
    expect(g.misread).toContain('PKRU');
    expect(g.misread).toContain('k1');
    expect(g.misread).toContain('ZMM16');
    expect(j.readers.find((x: { id: string }) => x.id === 'cpuid').misread).toEqual([]);
  });
  it('text names each reader and where its reads land', () => {
    const r = spawnSync('node', [CLI, 'readers', '--cpu', 'intel-skylake-sp'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/manpage-2020[\s\S]*MISREADS k0\.\.k7 \(opmask\): reads offset \d+, true offset 1088/);
  });
  it('bad input is one clear line', () => {
    const r = spawnSync('node', [CLI, 'readers', '--cpu', 'amd-zen4', '--xcr0', '0x40000'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--xcr0.*not supported by amd-zen4/);
  });
});

describe('which reader model describes an installed GDB (readers.json gdbVersions)', () => {
  it('reads the major version of `gdb --version` and maps it to a model; none for versions the project has not read', () => {
    expect(gdbMajorVersion('GNU gdb (Debian 13.1-3) 13.1\nCopyright (C) 2023 Free Software Foundation, Inc.\n')).toBe(13);
    expect(gdbMajorVersion('GNU gdb (GDB) Fedora Linux 14.2-1.fc40\n')).toBe(14);
    expect(gdbMajorVersion('lldb version 17\n')).toBeUndefined();
    expect([8, 13, 14, 16].map(gdbReaderForVersion)).toEqual([ReaderId.Gdb13, ReaderId.Gdb13, ReaderId.Gdb14, ReaderId.Gdb14]);
    expect(gdbReaderForVersion(7)).toBeUndefined();
  });
});
