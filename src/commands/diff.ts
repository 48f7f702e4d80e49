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
import { BEHAVIOURS, KernelBehaviour, resolveKernelVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { loadScenario } from '../scenario/load.js';
import { runScenario, type RunOutcome } from '../scenario/run.js';
import { scenarioFiles, selectedCpus } from './run.js';

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
  if (!/\.(ts|js|mjs)$/.test(arg)) return resolveKernelVariant(arg, '<command line>', '--with/--base');
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
  return resolveKernelVariant(p.base, arg, 'base').with((p.on ?? []) as KernelBehaviour[], (p.off ?? []) as KernelBehaviour[], p.id);
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

export function diffOutcomes(base: RunOutcome, other: RunOutcome): string[] {
  const d: string[] = [];
  if (base.error !== other.error) d.push(`error: base ${base.error ?? 'none'}, with ${other.error ?? 'none'}`);
  const keys = [...new Set([...Object.keys(base.observations), ...Object.keys(other.observations)])].sort();
  for (const k of keys) if (base.observations[k] !== other.observations[k]) d.push(`${k}: base ${showForPeople(base.observations[k])}, with ${showForPeople(other.observations[k])}`);
  const bufs = [...new Set([...Object.keys(base.buffers), ...Object.keys(other.buffers)])].sort();
  for (const b of bufs) d.push(...bufferDiffs(base.cpu, b, base.buffers[b], other.buffers[b]));
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
  // Every scenario x CPU first, so that progress can say how many remain.
  const work = scenarioFiles(paths).flatMap((f) => {
    const s = loadScenario(f);
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
