/** `xstate-lab cpu list | show | capture | import | quirks`. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { PROFILES_DIR } from '../paths.js';
import { CpuModel, type Profile } from '../../emulator/cpu-model.js';
import { dumpToProfile, parseDump } from '../../emulator/cpuid-dump.js';
import { builtinProfileIds, builtinProfilePath, loadProfileFile, validateProfile } from '../../emulator/profile.js';
import { setCpuidWarningSink } from '../../emulator/cpuid-consistency.js';
import { QUIRKS } from '../../emulator/quirks.js';
import { formatProfileJson } from '../../emulator/profile-json.js';
import { xfeatureDesc, xfeatureId } from '../../emulator/xfeatures.js';
import { InputError } from '../errors.js';
import { captureHostProfile } from '../host/capture.js';

/** `cpu list --json`: one entry per built-in profile; the field names are stable (README). */
export interface CpuListJson {
  format: 'xstate-lab.cpu-list/1';
  cpus: {
    id: string;
    name: string;
    vendor: string;
    family: number;
    model: number;
    stepping: number;
    /** CPUID.(0DH,0):EDX:EAX, hex. */
    xcr0Supported: string;
    /** CPUID.(0DH,1):EDX:ECX, hex. */
    xssSupported: string;
    /** How many CPUID consistency warnings loading it gives (`cpu show ID` prints them). */
    cpuidWarnings: number;
    /** Where the CPUID data came from (the profile's source.kind). */
    source: string;
  }[];
}

export function cpuListJson(): CpuListJson {
  return {
    format: 'xstate-lab.cpu-list/1',
    cpus: builtinProfileIds().map((id) => {
      // A listing names every built-in CPU without the user asking for one: their CPUID warnings
      // (real silicon oddities such as Zen 2's PKRU sub-leaf) are counted in the row, and
      // printed by `cpu show ID`, instead of going to stderr.
      const warnings: string[] = [];
      const previous = setCpuidWarningSink((line) => warnings.push(line));
      let c: CpuModel;
      try { c = loadProfileFile(builtinProfilePath(id)); } finally { setCpuidWarningSink(previous); }
      const p = c.profile;
      return {
        id, name: p.name, vendor: p.vendor, family: p.family, model: p.model, stepping: p.stepping,
        xcr0Supported: '0x' + c.xcr0Supported.toString(16), xssSupported: '0x' + c.xssSupported.toString(16), source: p.source.kind,
        cpuidWarnings: warnings.length,
      };
    }),
  };
}

export function cpuList(): string {
  return cpuListJson().cpus.map((c) =>
    `${c.id.padEnd(26)} ${c.vendor.padEnd(13)} fam 0x${c.family.toString(16).padStart(2, '0')} model 0x${c.model.toString(16).padStart(2, '0')}  XCR0 max ${c.xcr0Supported.padEnd(8)} ${c.name}${c.cpuidWarnings ? `  (${c.cpuidWarnings} CPUID warning${c.cpuidWarnings > 1 ? 's' : ''}: cpu show ${c.id})` : ''}`).join('\n');
}

export function cpuShow(c: CpuModel): string {
  const p = c.profile;
  const f = c.features;
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const out = [
    `${p.id}: ${p.name}`,
    `  vendor ${p.vendor}, family 0x${p.family.toString(16)}, model 0x${p.model.toString(16)}, stepping ${p.stepping}`,
    `  source: ${p.source.kind}: ${p.source.reference}`,
    ...(p.source.notes ?? []).map((n) => `    note: ${n}`),
    `  XSAVE ${yes(f.xsave)}  XSAVEOPT ${yes(f.xsaveopt)}  XSAVEC ${yes(f.xsavec)}  XGETBV1 ${yes(f.xgetbv1)}  XSAVES ${yes(f.xsaves)}  XFD ${yes(f.xfd)}`,
    `  AVX ${yes(f.avx)}  AVX2 ${yes(f.avx2)}  AVX-512F ${yes(f.avx512f)}  PKU ${yes(f.pku)}  AMX-TILE ${yes(f.amxTile)}`,
    `  FDP_EXCPTN_ONLY ${yes(f.fdpExcptnOnly)}  FCS/FDS deprecated ${yes(f.fcsFdsDeprecated)}  XSaveErPtr ${yes(f.xsaveErPtr)}`,
    `  XCR0 supported 0x${c.xcr0Supported.toString(16)}, IA32_XSS supported 0x${c.xssSupported.toString(16)}`,
    `  standard size (all user) ${c.standardSize(c.xcr0Supported)}, compacted size (all) ${c.compactedLayout(c.xcr0Supported | c.xssSupported).size}`,
    `  MXCSR_MASK 0x${c.mxcsrMask.toString(16).padStart(8, '0')} (${p.fxsave.evidence})`,
    '  components:',
    '     0  x87          legacy region         x87 floating point registers',
    '     1  sse          legacy region         SSE registers',
  ];
  for (const k of c.extendedComponents) {
    out.push(`    ${String(k.number).padStart(2)}  ${xfeatureId(k.number).padEnd(11)}  size ${String(k.size).padStart(5)}  ${k.supervisor ? 'supervisor      ' : `offset ${String(k.standardOffset).padStart(5)}   `}${k.align64 ? ' align64' : ''}${k.xfdCapable ? ' xfd' : ''}  ${xfeatureDesc(k.number)?.linuxName ?? ''}`);
  }
  const verdicts = p.measured?.quirks ?? {};
  out.push('  quirks:' + (p.quirks.length ? '' : ' none (SDM pseudocode throughout)'));
  for (const q of p.quirks) out.push(`    ${q.id} [${verdicts[q.id] === true ? 'measured' : 'assumed'}]: ${q.evidence}`);
  const absent = Object.entries(verdicts).filter(([, v]) => !v).map(([id]) => id);
  if (p.measured) out.push(`  quirks measured absent: ${absent.length ? absent.join(', ') : 'none'}`);
  out.push(...measuredLines(p), ...kernelLines(p));
  return out.join('\n');
}

function measuredLines(p: Profile): string[] {
  if (!p.measured) return ['  measured: nothing (not a host capture: faults follow CPUID, quirks are assumed)'];
  const out = [`  measured: ${p.measured.evidence}`];
  const faults = Object.entries(p.measured.faults ?? {});
  if (faults.length) {
    out.push('  faults at CPL 3:');
    const byVector = new Map<string, string[]>();
    for (const [insn, v] of faults) byVector.set(v, [...(byVector.get(v) ?? []), insn]);
    for (const [v, insns] of byVector) out.push(`    ${v.padEnd(5)} ${insns.join(' ')}`);
  }
  return out;
}

function kernelLines(p: Profile): string[] {
  const k = p.kernel;
  if (!k) return ['  kernel view: none recorded'];
  const out = [`  kernel view: ${k.evidence}`];
  const row = (label: string, v: string | number | undefined): void => { if (v !== undefined) out.push(`    ${label.padEnd(19)} ${v}`); };
  row('release', k.release);
  row('XCR0', k.xcr0);
  row('xfeatures', k.xfeatures);
  if (k.context_size !== undefined || k.format) row('context', `${k.context_size ?? '?'} bytes, ${k.format ?? '?'} format`);
  row('NT_X86_XSTATE size', k.xstate_regset_size);
  row('AT_HWCAP', k.hwcap);
  row('AT_HWCAP2', k.hwcap2);
  row('AT_MINSIGSTKSZ', k.minsigstksz);
  if (k.hypervisor) row('hypervisor', `'${k.hypervisor.signature}'${k.hypervisor.max_leaf ? `, max leaf ${k.hypervisor.max_leaf}` : ''}`);
  if (k.cpuinfo_flags) row('cpuinfo flags', `${k.cpuinfo_flags.length}: ${k.cpuinfo_flags.join(' ')}`);
  for (const l of k.dmesg_fpu ?? []) out.push(`    dmesg: ${l}`);
  return out;
}

export function cpuQuirks(): string {
  return QUIRKS.map((q) => `${q.id.padEnd(34)} ${q.summary}`).join('\n');
}

function writeNew(file: string, text: string): void {
  // Nothing the user gave is overwritten.
  if (existsSync(file)) throw new InputError(file, undefined, 'already exists; choose another -o file or remove it first');
  writeFileSync(file, text);
}

/** Where the profile schema is, relative to the built-in profiles (emulator/profiles/*.json). */
const SCHEMA_FROM_PROFILES = '../schema/profile.schema.json';

/**
 * The profile as a file. `$schema` is relative, so it is written only into emulator/profiles/,
 * the one folder where it resolves (editors use it); anywhere else, or on stdout, it is left out:
 * the loader checks every profile against the schema whether it names it or not.
 */
export function profileFileText(p: Profile, out: string | undefined): string {
  const inProfiles = out !== undefined && dirname(resolve(out)) === PROFILES_DIR;
  return formatProfileJson(inProfiles ? { $schema: SCHEMA_FROM_PROFILES, ...p } : { ...p });
}

function checkOutput(out: string | undefined): void {
  if (out === '') throw new InputError('<command line>', '-o', 'expected a file name, got an empty one (leave -o out to print on stdout)');
}

export function cpuCapture(out: string | undefined, id?: string): string {
  checkOutput(out);
  const p = captureHostProfile({ id });
  const text = profileFileText(p, out);
  if (out !== undefined) { writeNew(out, text); return `wrote ${out} (${p.id})`; }
  return text.trimEnd();
}

/**
 * A profile from a CPUID dump. Its id follows one rule with `--cpu DUMP`: from the dump's content,
 * `vendor-fFF-mMM-sS` (defaultProfileId), never from the file's name; `--id` chooses another.
 */
export function cpuImport(file: string, out: string | undefined, id: string | undefined, logicalCpu: number | undefined): string {
  checkOutput(out);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new InputError(file, undefined, `cannot read: ${(e as Error).message}`); }
  const d = parseDump(text, file, logicalCpu);
  const pj = dumpToProfile(d, { id, reference: basename(file) });
  const p: Profile = validateProfile(pj, file);
  const textOut = profileFileText(p, out);
  if (out !== undefined) { writeNew(out, textOut); return `wrote ${out} (${p.id})`; }
  return textOut.trimEnd();
}
