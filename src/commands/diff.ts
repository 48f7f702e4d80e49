/**
 * `xstate-lab diff --base VARIANT --with VARIANT|PATCH.ts [PATHS...]`: the ABI difference a kernel
 * change makes. Every scenario (default: the corpus) runs on each of its CPUs under both
 * variants; every observation and every byte of every buffer the steps produced (GETREGSET
 * images, signal frames, KVM regions, core notes) is compared, buffers decoded field by field.
 * Expectations are not consulted. No difference: one summary line and nothing else.
 *
 * A patch is a TypeScript module whose default export is a KernelPatch (the whole API):
 *   export default { id: 'my-fix', base: 'linux-5.14', about: '...', on: ['pkru-ptrace-write'], off: [] };
 * `on`/`off` switch named behaviours of kernel-model/data/behaviours.json on the base variant.
 */
import { showForPeople } from '../scenario/run.js';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { AreaMap } from '../../emulator/area-map.js';
import { resolveCpu } from '../../emulator/profile.js';
import { BEHAVIOURS, KernelArch, KernelBehaviour, resolveAnyVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { loadScenario } from '../scenario/load.js';
import { runScenario, type RunOutcome } from '../scenario/run.js';
import { scenarioFiles, selectedCpus } from './run.js';
import { BufferFormat, resolveFieldIn } from '../scenario/buffer-format.js';
import { fieldEnd, readField } from '../scenario/fields.js';
import { XFeature, xfeatureId } from '../../emulator/xfeatures.js';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { memberOfComponent } from '../../kernel-model/netbsd/cpu_extended_state.js';

/** The documented patch API: a base variant and the behaviours it switches. */
export interface KernelPatch {
  id: string;
  base: string;
  about: string;
  on?: string[];
  off?: string[];
}

const LEGACY_AND_HEADER = 576;

/** A variant id, or a .ts/.js patch module turned into a variant. */
export async function resolveVariantOrPatch(arg: string): Promise<KernelVariant> {
  if (!/\.(ts|js|mjs)$/.test(arg)) return resolveAnyVariant(arg, '<command line>', '--with/--base');
  let code: string;
  try { code = readFileSync(arg, 'utf8'); } catch (e) { throw new InputError(arg, undefined, `cannot read: ${(e as Error).message}`); }
  if (arg.endsWith('.ts')) {
    // typescript is large: loaded only when a patch module is written in TypeScript.
    const ts = (await import('typescript')).default;
    const out = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, reportDiagnostics: true, fileName: arg });
    const diag = out.diagnostics?.[0];
    if (diag) throw new InputError(arg, undefined, ts.flattenDiagnosticMessageText(diag.messageText, '\n'));
    code = out.outputText;
  }
  let mod: { default?: KernelPatch };
  try {
    mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}#${encodeURIComponent(pathToFileURL(arg).href)}`)) as { default?: KernelPatch };
  } catch (e) { throw new InputError(arg, undefined, `cannot load the patch module: ${(e as Error).message}`); }
  const p = mod.default;
  if (!p || typeof p.id !== 'string' || typeof p.base !== 'string') throw new InputError(arg, 'default export', 'expected { id, base, about, on?, off? } (see `xstate-lab diff --help`)');
  const known = new Set<string>(BEHAVIOURS.map((b) => b.id));
  for (const b of [...(p.on ?? []), ...(p.off ?? [])]) if (!known.has(b)) throw new InputError(arg, 'on/off', `unknown behaviour '${b}' (known: ${[...known].join(', ')})`);
  const base = resolveAnyVariant(p.base, arg, 'base');
  // A patch switches behaviours of its base's architecture (an arm64 rule means nothing to the XSAVE model and back).
  for (const b of [...(p.on ?? []), ...(p.off ?? [])]) if (BEHAVIOURS.find((x) => x.id === b)!.arch !== base.arch) throw new InputError(arg, 'on/off', `behaviour '${b}' is not a ${base.arch} behaviour (base ${base.id})`);
  return base.with((p.on ?? []) as KernelBehaviour[], (p.off ?? []) as KernelBehaviour[], p.id);
}

/** Two buffers of the same NetBSD format: differing byte runs (the struct has no CPU-dependent layout to decode). */
function rawDiffs(name: string, a: Uint8Array, b: Uint8Array): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`buffer ${name}: ${a.length} bytes in base, ${b.length} with the change`);
  for (let k = 0; k < Math.min(a.length, b.length); k++) {
    if (a[k] === b[k]) continue;
    let e = k;
    while (e < Math.min(a.length, b.length) && a[e] !== b[e]) e++;
    const hex = (x: Uint8Array): string => '0x' + Buffer.from(x.subarray(k, e)).reverse().toString('hex');
    out.push(`buffer ${name} bytes @${k}..${e - 1}: base ${hex(a)}, with ${hex(b)}`);
    k = e;
  }
  return out;
}

function bufferDiffs(cpuId: string, name: string, a: Uint8Array | undefined, b: Uint8Array | undefined): string[] {
  if (!a || !b) return a === b ? [] : [`buffer ${name}: ${a ? `${a.length} bytes` : 'absent'} in base, ${b ? `${b.length} bytes` : 'absent'} with the change`];
  const out: string[] = [];
  if (a.length !== b.length) out.push(`buffer ${name}: ${a.length} bytes in base, ${b.length} with the change`);
  const n = Math.min(a.length, b.length);
  const map = n >= LEGACY_AND_HEADER ? new AreaMap(resolveCpu(cpuId), { compacted: false, rexW: true }) : undefined;
  for (let k = 0; k < n;) {
    if (a[k] === b[k]) { k++; continue; }
    const p = map?.locate(k);
    const from = p?.fieldOffset ?? k, to = Math.min(n, p ? p.fieldOffset + p.fieldSize : k + 1);
    const hex = (x: Uint8Array): string => '0x' + Buffer.from(x.subarray(from, to)).reverse().toString('hex');
    out.push(`buffer ${name} ${p ? `${p.component}.${p.field}` : 'byte'} @${from}: base ${hex(a)}, with ${hex(b)}`);
    k = Math.max(to, k + 1);
  }
  return out;
}

/** How a report names a buffer format. */
const FORMAT_LABEL: Record<BufferFormat, string> = {
  [BufferFormat.Xsave]: "an XSAVE image (Linux's UABI layout: the CPU's CPUID offsets)",
  [BufferFormat.NetbsdXstate]: "NetBSD's struct xstate (fixed offsets)",
  [BufferFormat.NetbsdFpreg]: "NetBSD's struct fpreg (the FXSAVE area)",
};

/** Registers compared by name when two runs hold the same state in differently laid out buffers. */
const range = (p: string, n: number, from = 0, suffix = ''): string[] => Array.from({ length: n }, (_, i) => `${p}${i + from}${suffix}`);
const REGISTERS = ['fcw', 'fsw', 'ftw', 'fop', 'fip', 'fdp', 'mxcsr', 'mxcsr_mask', ...range('st', 8), ...range('xmm', 16), ...range('ymm', 16, 0, '_h'), ...range('k', 8), ...range('zmm', 16, 0, '_h'), ...range('zmm', 16, 16)];
/** The bitmap each format keeps of the components it holds. */
const BV_FIELD: Record<BufferFormat, string | undefined> = { [BufferFormat.Xsave]: 'xstate_bv', [BufferFormat.NetbsdXstate]: 'xs_xstate_bv', [BufferFormat.NetbsdFpreg]: undefined };

/**
 * Two runs put the same kind of state in buffers of different formats (Linux's NT_X86_XSTATE image
 * and NetBSD's struct xstate): say so, say where each component lives in each, and compare the
 * registers by name, not the bytes by offset.
 */
function crossFormatDiffs(cpu: CpuModel, name: string, fa: BufferFormat, a: Uint8Array, fb: BufferFormat, b: Uint8Array): string[] {
  const out = [`buffer ${name}: base ${FORMAT_LABEL[fa]}, ${a.length} bytes; with the change ${FORMAT_LABEL[fb]}, ${b.length} bytes (compared register by register)`];
  const where = (f: BufferFormat, c: XFeature): number | undefined => (f === BufferFormat.Xsave ? cpu.components[c]?.standardOffset : f === BufferFormat.NetbsdXstate ? memberOfComponent(c)?.offset : undefined);
  for (const c of [XFeature.AVX, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM]) {
    const oa = where(fa, c), ob = where(fb, c);
    if (oa !== ob) out.push(`buffer ${name} ${xfeatureId(c)}: base at ${oa ?? 'nowhere'}, with at ${ob ?? 'nowhere'}`);
  }
  const value = (f: BufferFormat, buf: Uint8Array, field: string): string => {
    const r = resolveFieldIn(f, cpu, field);
    if (typeof r === 'string') return 'absent';
    return buf.length >= fieldEnd(r) ? `0x${readField(buf, r).toString(16)}` : 'not in the buffer';
  };
  const ba = BV_FIELD[fa], bb = BV_FIELD[fb];
  if (ba && bb) { const va = value(fa, a, ba), vb = value(fb, b, bb); if (va !== vb) out.push(`buffer ${name} XSTATE_BV (${ba} / ${bb}): base ${va}, with ${vb}`); }
  for (const reg of REGISTERS) {
    const va = value(fa, a, reg), vb = value(fb, b, reg);
    if (va !== vb) out.push(`buffer ${name} ${reg}: base ${va}, with ${vb}`);
  }
  return out;
}

export function diffOutcomes(base: RunOutcome, other: RunOutcome): string[] {
  const d: string[] = [];
  if (base.error !== other.error) d.push(`error: base ${base.error ?? 'none'}, with ${other.error ?? 'none'}`);
  const keys = [...new Set([...Object.keys(base.observations), ...Object.keys(other.observations)])].sort();
  for (const k of keys) if (base.observations[k] !== other.observations[k]) d.push(`${k}: base ${showForPeople(base.observations[k])}, with ${showForPeople(other.observations[k])}`);
  const bufs = [...new Set([...Object.keys(base.buffers), ...Object.keys(other.buffers)])].sort();
  for (const b of bufs) {
    const fa = (base.bufferFormats?.[b] ?? BufferFormat.Xsave) as BufferFormat, fb = (other.bufferFormats?.[b] ?? BufferFormat.Xsave) as BufferFormat;
    const x = base.buffers[b], y = other.buffers[b];
    if (x && y && fa !== fb) d.push(...crossFormatDiffs(resolveCpu(base.cpu), b, fa, x, fb, y));
    else if (x && y && fa !== BufferFormat.Xsave) d.push(...rawDiffs(b, x, y));
    else d.push(...bufferDiffs(base.cpu, b, x, y));
  }
  return d;
}

/** Progress of a diff: called before each scenario x CPU pair (done so far, total, which); clear() before other output. */
export interface DiffProgress { (done: number, total: number, what: string): void; clear(): void }

/** On a terminal, one line on stderr rewritten in place (as `run` does); nothing when stderr is a file or pipe. */
function ttyProgress(): DiffProgress | undefined {
  if (!process.stderr.isTTY) return undefined;
  const p = ((d: number, t: number, what: string): void => { process.stderr.write(`\r[${d + 1}/${t}] ${what}\x1b[K`); }) as DiffProgress;
  p.clear = (): void => { process.stderr.write('\r\x1b[K'); };
  return p;
}

export async function diffCommand(paths: string[], o: { base: string; with: string; cpu?: string[] }, progress: DiffProgress | undefined = ttyProgress()): Promise<number> {
  const cpus = selectedCpus(o.cpu);
  const base = await resolveVariantOrPatch(o.base);
  const other = await resolveVariantOrPatch(o.with);
  if (base.arch !== other.arch) throw new InputError('<command line>', '--base/--with', `${base.id} is ${base.arch}, ${other.id} is ${other.arch}: diff compares variants of one architecture`);
  // Every scenario x CPU first, so that progress can say how many remain; a scenario runs under the
  // variants of its own architecture only (arch: arm64, or x86-64).
  const work = scenarioFiles(paths).flatMap((f) => {
    const s = loadScenario(f);
    if ((s.arch ?? KernelArch.X86_64) !== base.arch) return [];
    return s.cpus.filter((cpu) => !cpus || cpus.includes(cpu)).map((cpu) => ({ s, cpu }));
  });
  let runs = 0, differing = 0;
  for (const { s, cpu } of work) {
    progress?.(runs, work.length, `${s.name} on ${cpu}`);
    runs++;
    const d = diffOutcomes(runScenario(s, cpu, base), runScenario(s, cpu, other));
    if (!d.length) continue;
    differing++;
    progress?.clear();
    console.log(`${s.name} on ${cpu}:`);
    for (const line of d) console.log(`  ${line}`);
  }
  progress?.clear();
  if (runs === 0) throw new InputError('<command line>', '--cpu', `nothing to compare: no scenario lists CPU ${cpus!.join(', ')}`);
  console.log(`diff: ${runs} scenario runs, ${differing} with user-visible differences between ${base.id} and ${other.id}`);
  return 0;
}
