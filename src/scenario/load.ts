/**
 * Scenario files: YAML, checked with ajv against scenario.schema.json and then against the model
 * (CPUs, kernel variants, tasks, buffers, vCPUs, fields, value ranges, the files it names), all
 * before anything runs. Every error is an InputError `file:line:col: message` at the YAML node.
 */
import type { ValidateFunction } from 'ajv';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { isAlias, isMap, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import schema from './scenario.schema.json' with { type: 'json' };
import { InputError } from '../errors.js';
import { KERNEL_VARIANTS, resolveKernelVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { parseKernelBoot } from '../../kernel-model/cpufeature.js';
import { KvmVendorModule } from '../../kernel-model/kvm.js';
import { builtinProfileIds, resolveCpu } from '../../emulator/profile.js';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { hostCpuModel } from '../host/capture.js';
import { MAX_RAW_BYTES, fieldNameError, fieldWidth, resolveField } from './fields.js';
import type { Value } from './world.js';
import { BufferFormat, resolveFpregField, resolveXstateField } from './buffer-format.js';
import { fieldBytes } from './fields.js';
import type { KernelArch } from '../../kernel-model/variants.js';
import { checkArm64Scenario } from './arm64.js';
import { loadValidator, type ValidatorSpec } from '../../emulator/precompiled-validator.js';

/** The scenario schema's validator: generated at build time (emulator/precompiled-validator.ts). */
export const SCENARIO_VALIDATOR: ValidatorSpec = { name: 'scenario', schema: () => schema, options: { allErrors: false, strict: true, allowUnionTypes: true, verbose: true } };
/** Loaded on first use. */
let compiled: ValidateFunction | undefined;
const scenarioSchema = (): ValidateFunction => (compiled ??= loadValidator(SCENARIO_VALIDATOR));

/**
 * Aliases a scenario may expand (yaml's maxAliasCount): far more than a scenario needs, far fewer
 * than a "billion laughs" document expands to.
 */
const MAX_ALIASES = 100;
/** The CPU name `host`: this machine, captured (src/host/capture.ts), as `--cpu host` elsewhere. */
export const HOST_CPU = 'host';
/**
 * Lengths (`len`) are a size_t iov_len in the kernel; the model keeps them exact as JavaScript
 * numbers, so the language stops at 2^53 - 1 (a language limit: the kernel clamps any larger one).
 */
const MAX_LEN = BigInt(Number.MAX_SAFE_INTEGER);
/** CPUID's subleaf is ECX, 32 bits. */
const MAX_SUBLEAF = 0xffffffffn;
/**
 * arch_prctl arguments the model takes exactly: ARCH_REQ_XCOMP_PERM a feature number below 32
 * (the model's feature masks are 32 bits: no XSAVE component above bit 19 is defined),
 * ARCH_SET_XCR0 a 32-bit XCR0 value (same reason).
 */
const ARCH_PRCTL_MAX: Record<string, bigint> = { ARCH_REQ_XCOMP_PERM: 31n, ARCH_SET_XCR0: 0xffffffffn };
/** `read` also takes these (XGETBV(1) and XGETBV(0) as the task sees them). */
const READ_ONLY_NAMES = ['xinuse', 'xcr0'];

export type Step = Record<string, unknown>;

/** A use of a register field, kept for the per-CPU check (a component the CPU lacks). */
interface FieldUse { name: string; place: string }

export interface Scenario {
  file: string;
  name: string;
  about: string;
  source: string[];
  /** CPU names: a built-in id, `host`, or the id of a profile or dump file the scenario names. */
  cpus: string[];
  /** Per CPU name, what resolves it: the built-in id, `host`, or the file's real path. */
  cpuSpecs: Record<string, string>;
  /** Kernel names: a variant id, or the name of a variant booted with options (`linux-6.18+nopku`, or its `as`). */
  kernels: string[];
  /** Per kernel name, the variant it runs (with its boot options). */
  kernelVariants: Record<string, KernelVariant>;
  tasks: Record<string, { state?: Record<string, Value>; amx?: boolean }>;
  steps: Step[];
  /** Per variant id (or `all`): observation name to expected value. */
  expect: Record<string, Record<string, Value>>;
  /** file:line:col of each step, for reports. */
  stepPlaces: string[];
  /** Per step: the real path of the file it names (an `exec` program), checked to be in the scenario's folder. */
  stepFiles: (string | undefined)[];
  fieldUses: FieldUse[];
  /** `arm64` for a scenario of the arm64 process model (src/scenario/arm64.ts); absent: x86-64. */
  arch?: KernelArch;
}

/** Numbers as bigints (hex and large values stay exact); a copy with plain numbers for ajv. */
function forSchema(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(forSchema);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, forSchema(x)]));
  return v;
}

/** file:line:col of YAML nodes by their path in the document (the nearest existing parent when a node is missing). */
class Places {
  constructor(private doc: Document, private lc: LineCounter, readonly file: string) {}

  private pos(offset: number): string {
    const { line, col } = this.lc.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  at(path: (string | number)[]): string {
    for (let p = path.length; p >= 0; p--) {
      const node = (p === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, p), true)) as Node | null | undefined;
      if (node?.range) return this.pos(node.range[0]);
    }
    return `${this.file}:1:1`;
  }

  /** The key `key` of the map at `path` (an unknown or misspelt key). */
  key(path: (string | number)[], key: string): string {
    const map = path.length ? this.doc.getIn(path, true) : this.doc.contents;
    if (isMap(map)) {
      for (const it of map.items) {
        const k = it.key as Node | null;
        if (k && (k as { value?: unknown }).value === key && k.range) return this.pos(k.range[0]);
      }
    }
    return this.at(path);
  }

  offset(o: number): string {
    return this.pos(o);
  }
}

const fail = (place: string, message: string): never => { throw new InputError(place, undefined, message); };
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** A whole number written as a YAML integer within [min, max]. */
function wholeNumber(v: unknown, place: string, what: string, min: bigint, max: bigint, why = ''): bigint {
  if (typeof v !== 'bigint') fail(place, `${what}: ${JSON.stringify(v)} is not a whole number (write it as an integer, e.g. 42 or 0x2a)`);
  const b = v as bigint;
  if (b < min || b > max) fail(place, `${what}: ${b < 0n ? String(b) : hex(b)} is out of range: allowed ${min}..${max <= 0xffffn ? String(max) : hex(max)}${why}`);
  return b;
}

/** A register value: a YAML integer or a string holding one (decimal or 0x hex), fitting the field. */
function fieldValue(v: unknown, place: string, field: string, width = fieldWidth(field)): void {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim())) b = BigInt(v.trim());
  else return fail(place, `${field}: ${JSON.stringify(v)} is not a whole number (write e.g. 0x2a or 42)`);
  const bytes = width;
  const max = (1n << BigInt(8 * bytes)) - 1n;
  if (b < 0n || b > max) fail(place, `${field}: ${b < 0n ? String(b) : hex(b)} is out of range: ${field} is ${bytes} bytes, allowed 0..${hex(max)}`);
}

/** CPU models by what resolves them; one capture of the host per process. */
const cpuModels = new Map<string, CpuModel>();
export function scenarioCpuModel(spec: string): CpuModel {
  let m = cpuModels.get(spec);
  if (!m) { m = spec === HOST_CPU ? hostCpuModel() : resolveCpu(spec); cpuModels.set(spec, m); }
  return m;
}

/**
 * A file the scenario names: relative to its folder and, after symlinks, inside it (a scenario
 * reaches nothing else on the host), and a regular file. Returns its real path.
 */
export function fileInScenarioFolder(scenarioFile: string, value: string, place: string, what: string): string {
  const folder = realpathSync(dirname(resolve(scenarioFile)));
  if (value.trim() === '') fail(place, `${what}: an empty path`);
  if (isAbsolute(value)) fail(place, `${what} '${value}': an absolute path; a scenario names only files in its own folder (${folder}), relative to it`);
  let real: string;
  try { real = realpathSync(resolve(folder, value)); } catch { return fail(place, `${what} '${value}': no such file in the scenario's folder (${folder})`); }
  const rel = relative(folder, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) fail(place, `${what} '${value}' is ${real}, outside the scenario's folder (${folder}); a scenario reaches only files in its own folder`);
  const st = statSync(real);
  if (!st.isFile()) fail(place, `${what} '${value}' is not a regular file (${st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a file'})`);
  return real;
}

/** Parse, validate and check a scenario file (the entry `run`, `diff` and the worker use). */
export function loadScenario(file: string): Scenario {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new InputError(file, undefined, `cannot read: ${(e as Error).message}`); }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false });
  const places = new Places(doc, lc, file);
  if (doc.errors.length) {
    const e = doc.errors[0];
    fail(places.offset(e.pos[0]), `YAML: ${e.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // An alias expanding too far (an alias bomb) or one that points nowhere: the first alias is the place.
    let first: number | undefined;
    visit(doc, { Alias: (_, n) => { if (isAlias(n) && n.range && first === undefined) first = n.range[0]; } });
    return fail(first === undefined ? `${file}:1:1` : places.offset(first), `YAML: ${(e as Error).message.split('\n')[0]} (at most ${MAX_ALIASES} aliases)`);
  }
  const validate = scenarioSchema();
  if (!validate(forSchema(raw))) {
    const err = validate.errors![0];
    const path = err.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
    const params = err.params as Record<string, unknown>;
    if ('additionalProperty' in params) fail(places.key(path, String(params.additionalProperty)), `${err.instancePath || '/'}: unknown key '${String(params.additionalProperty)}'${allowedKeys(err.parentSchema)}`);
    const extra = 'allowedValues' in params ? ` (${(params.allowedValues as unknown[]).join(', ')})` : '';
    fail(places.at(path), `${err.instancePath || '/'} ${err.message}${extra}`);
  }
  if ((raw as { arch?: string }).arch === 'arm64') {
    const r = raw as RawScenario;
    // Boot options are x86 kernel options (kernel-model/cpufeature.ts): an arm64 scenario names variants only.
    r.kernels.forEach((k, i) => { if (typeof k !== 'string') fail(places.at(['kernels', i]), 'an arm64 scenario names kernel variants by id (boot options are x86 kernels\' only)'); });
    return checkArm64Scenario(file, (v, place) => fileInScenarioFolder(file, v, place, 'program'), { ...r, kernels: r.kernels as string[] }, (...p) => places.at(p), (p, k) => places.key(p, k));
  }
  return checkScenario(file, raw as RawScenario, (...p) => places.at(p), (p, k) => places.key(p, k));
}

/** The keys a schema object allows, for an unknown-key message. */
function allowedKeys(parent: unknown): string {
  const props = (parent as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? ` (expected one of: ${Object.keys(props).join(', ')})` : '';
}

/** A `kernels:` entry: a variant id, or a variant booted with options. */
type RawKernel = string | { variant: string; boot?: string; config?: string[]; as?: string };
/** What a kernel's `as` name may hold: no `/` (expectation keys are CPU/kernel) and no spaces. */
const KERNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._+=,-]*$/;

interface RawScenario { name: string; about: string; source: string | string[]; cpu: string | string[]; kernels: RawKernel[]; tasks: Scenario['tasks']; steps: Step[]; expect: Scenario['expect'] }
type At = (...path: (string | number)[]) => string;
type KeyAt = (path: (string | number)[], key: string) => string;

function checkScenario(file: string, s: RawScenario, at: At, keyAt: KeyAt): Scenario {
  // CPUs: a built-in id, `host`, or a profile / CPUID dump file in the scenario's folder.
  const cpuList = Array.isArray(s.cpu) ? s.cpu : [s.cpu];
  const cpuPlace = (i: number): string => at('cpu', ...(Array.isArray(s.cpu) ? [i] : []));
  const builtin = new Set(builtinProfileIds());
  const cpus: string[] = [];
  const cpuSpecs: Record<string, string> = {};
  const models: CpuModel[] = [];
  cpuList.forEach((c, i) => {
    let name: string, spec: string;
    if (builtin.has(c) || c === HOST_CPU) { name = c; spec = c; }
    else {
      const looksLikeFile = /[/.]/.test(c);
      let real: string;
      try { real = fileInScenarioFolder(file, c, cpuPlace(i), 'cpu'); } catch (e) {
        if (looksLikeFile) throw e;
        return fail(cpuPlace(i), `unknown CPU '${c}': not a built-in id (${[...builtin].join(', ')}), '${HOST_CPU}', or a profile or CPUID dump file in the scenario's folder`);
      }
      let m: CpuModel;
      try { m = scenarioCpuModel(real); } catch (e) {
        if (e instanceof InputError) return fail(cpuPlace(i), `cpu '${c}': ${e.message}`);
        throw e;
      }
      name = m.id; spec = real;
    }
    if (cpuSpecs[name] !== undefined) fail(cpuPlace(i), `CPU '${name}' is named twice${name === c ? '' : ` ('${c}' is a profile with that id)`}`);
    cpus.push(name); cpuSpecs[name] = spec;
    if (spec !== HOST_CPU) models.push(scenarioCpuModel(spec));
  });
  const variants = new Set(KERNEL_VARIANTS.map((v) => v.id));
  const kernels: string[] = [];
  const kernelVariants: Record<string, KernelVariant> = {};
  s.kernels.forEach((k, i) => {
    const id = typeof k === 'string' ? k : k.variant;
    const idPlace = typeof k === 'string' ? at('kernels', i) : at('kernels', i, 'variant');
    if (!variants.has(id)) fail(idPlace, `unknown kernel variant '${id}' (known: ${[...variants].join(', ')})`);
    let v = resolveKernelVariant(id);
    if (typeof k !== 'string') {
      const boot = parseKernelBoot(v, k.boot ?? '', k.config ?? []);
      if ('error' in boot) fail(at('kernels', i, boot.in), boot.error);
      else {
        if (k.as !== undefined && !KERNEL_NAME.test(k.as)) fail(at('kernels', i, 'as'), `kernel name '${k.as}': write letters, digits and . _ + = , - (no spaces or /: expectation keys are CPU/kernel)`);
        if (k.as !== undefined && variants.has(k.as) && k.as !== id) fail(at('kernels', i, 'as'), `kernel name '${k.as}' is another variant's id`);
        v = v.withBoot(boot, k.as ?? undefined);
      }
    }
    if (kernelVariants[v.id] !== undefined) fail(at('kernels', i), `kernel '${v.id}' is named twice`);
    kernels.push(v.id); kernelVariants[v.id] = v;
  });
  // Expectation keys: all, a kernel variant, a CPU, or CPU/variant (the most specific wins).
  for (const [k, obs] of Object.entries(s.expect)) {
    const [a, b] = k.split('/');
    const ok = k === 'all' || (b === undefined ? kernels.includes(a) || cpus.includes(a) : cpus.includes(a) && kernels.includes(b));
    if (!ok) fail(keyAt(['expect'], k), `expectations for '${k}': expected all, one of the kernels (${kernels.join(', ')}), one of the CPUs (${cpus.join(', ')}) or CPU/kernel`);
    for (const [o, v] of Object.entries(obs)) if (typeof v === 'number') fail(at('expect', k, o), `${o}: ${v} is not a whole number or a word (write integers as 42 or 0x2a)`);
  }

  const fieldUses: FieldUse[] = [];
  const useField = (name: string, place: string, value?: unknown, valuePlace?: string): void => {
    const bad = fieldNameError(name);
    if (bad) fail(place, bad);
    fieldUses.push({ name, place });
    if (valuePlace !== undefined) fieldValue(value, valuePlace, name);
  };
  for (const [t, def] of Object.entries(s.tasks)) {
    for (const [f, v] of Object.entries(def.state ?? {})) useField(f, keyAt(['tasks', t, 'state'], f), v, at('tasks', t, 'state', f));
  }

  // The steps in order: which tasks are stopped, which buffers, frames and vCPUs exist so far.
  const taskNames = new Set(Object.keys(s.tasks));
  const stopped = new Set<string>();
  const buffers = new Set<string>(), frames = new Set<string>(), vcpus = new Set<string>();
  /**
   * What each buffer holds, as far as the steps tell before running: NetBSD structs from the
   * pt- requests; `undefined` a standard XSAVE image; `portable` a get-/set-register buffer, whose
   * format is the personality's (either kind of name is accepted there, checked again when run).
   */
  const formats = new Map<string, BufferFormat | 'portable' | undefined>();
  /** A field of a buffer in its format: NetBSD structs are the same on every CPU (no per-CPU check). */
  const bufferField = (buf: string, name: string, place: string, value?: unknown, valuePlace?: string): void => {
    const fmt = formats.get(buf);
    const netbsd = fmt === BufferFormat.NetbsdXstate ? resolveXstateField(name) : fmt === BufferFormat.NetbsdFpreg ? resolveFpregField(name) : fmt === 'portable' ? resolveXstateField(name) : undefined;
    if (netbsd === undefined || (fmt === 'portable' && typeof netbsd === 'string')) return useField(name, place, value, valuePlace);
    if (typeof netbsd === 'string') fail(place, netbsd);
    if (valuePlace !== undefined) fieldValue(value, valuePlace, name, fieldBytes(netbsd as never));
  };
  const lwp = (): void => { if (a.lwp !== undefined) wholeNumber(a.lwp, here('lwp'), 'lwp', 0n, 0x7fffffffn, ' (an lwpid_t)'); };
  let a: Record<string, unknown> = {};
  let here = (_key?: string): string => '';
  const stepFiles: (string | undefined)[] = [];
  s.steps.forEach((st, i) => {
    const [kind, arg] = Object.entries(st)[0];
    a = (typeof arg === 'object' && arg !== null ? arg : {}) as Record<string, unknown>;
    here = (key?: string): string => (key === undefined ? at('steps', i, kind) : at('steps', i, kind, key));
    const task = (name: string, key: string | undefined, need?: 'running' | 'stopped'): void => {
      if (!taskNames.has(name)) fail(here(key), `no task '${name}' (tasks: ${[...taskNames].join(', ') || 'none'})`);
      if (need === 'running' && stopped.has(name)) fail(here(key), `${kind}: task '${name}' is stopped here: 'resume' it first`);
      if (need === 'stopped' && !stopped.has(name)) fail(here(key), `${kind}: task '${name}' is running here: a tracer sees it only while it is stopped ('stop' it first)`);
    };
    const buffer = (key: string): void => {
      const b = a[key] as string;
      if (!buffers.has(b)) fail(here(key), `no buffer '${b}' before this step (buffers come from the 'into' of getregset, signal, core, xsave, kvm-get-xsave and buffer${buffers.size ? `; so far: ${[...buffers].join(', ')}` : ''})`);
    };
    const vcpu = (): void => { if (!vcpus.has(a.vcpu as string)) fail(here('vcpu'), `no vCPU '${String(a.vcpu)}' before this step (kvm-create names it${vcpus.size ? `; so far: ${[...vcpus].join(', ')}` : ''})`); };
    const len = (): void => { if (a.len !== undefined) wholeNumber(a.len, here('len'), 'len', 0n, MAX_LEN, ' (iov_len; the model keeps lengths exact below 2^53)'); };
    stepFiles.push(undefined);
    switch (kind) {
      case 'stop': task(arg as string, undefined, 'running'); stopped.add(arg as string); break;
      case 'resume': task(arg as string, undefined, 'stopped'); stopped.delete(arg as string); break;
      case 'write':
        task(a.task as string, 'task', 'running');
        for (const [f, v] of Object.entries(a.fields as Record<string, unknown>)) useField(f, keyAt(['steps', i, kind, 'fields'], f), v, at('steps', i, kind, 'fields', f));
        ((a.clear as string[] | undefined) ?? []).forEach((f, j) => useField(f, at('steps', i, kind, 'clear', j)));
        break;
      case 'read':
        task(a.task as string, 'task', 'running');
        if (!READ_ONLY_NAMES.includes(a.field as string)) useField(a.field as string, here('field'));
        break;
      case 'getregset': task(a.task as string, 'task', 'stopped'); len(); buffers.add(a.into as string); formats.set(a.into as string, undefined); break;
      case 'setregset': task(a.task as string, 'task', 'stopped'); buffer('from'); len(); break;
      case 'poke': buffer('buf'); bufferField(a.buf as string, a.field as string, here('field'), a.value, here('value')); break;
      case 'peek': buffer('buf'); bufferField(a.buf as string, a.field as string, here('field')); break;
      case 'pt-getxstate': task(a.task as string, 'task', 'stopped'); len(); lwp(); buffers.add(a.into as string); formats.set(a.into as string, BufferFormat.NetbsdXstate); break;
      case 'pt-setxstate': task(a.task as string, 'task', 'stopped'); buffer('from'); len(); lwp(); break;
      case 'pt-getfpregs': task(a.task as string, 'task', 'stopped'); lwp(); buffers.add(a.into as string); formats.set(a.into as string, BufferFormat.NetbsdFpreg); break;
      case 'pt-setfpregs': task(a.task as string, 'task', 'stopped'); buffer('from'); lwp(); break;
      case 'get-register': case 'set-register': {
        task(a.task as string, 'task', 'stopped'); len();
        const reg = a.reg as string;
        if (/^(xstate_bv|xcomp_bv|sw_|bytes@)/i.test(reg)) fail(here('reg'), `${kind}: '${reg}' is not a register: a portable step names a register (xmm3, ymm3, zmm20, k1, mxcsr, st0 ...), which each personality finds in its own structure`);
        useField(reg, here('reg'), a.value, kind === 'set-register' ? here('value') : undefined);
        buffers.add(a.as as string); formats.set(a.as as string, 'portable');
        break;
      }
      case 'signal': task(a.task as string, 'task', 'running'); buffers.add(a.into as string); frames.add(a.into as string); break;
      case 'sigreturn':
        if (!frames.has(a.frame as string)) fail(here('frame'), `no signal frame '${String(a.frame)}' before this step (a signal step names it with 'into'${frames.size ? `; so far: ${[...frames].join(', ')}` : ''})`);
        break;
      case 'arch_prctl':
        task(a.task as string, 'task');
        wholeNumber(a.arg, here('arg'), `${String(a.op)} arg`, 0n, ARCH_PRCTL_MAX[a.op as string], a.op === 'ARCH_SET_XCR0' ? ' (an XCR0 value; the model\'s feature masks are 32 bits)' : ' (a feature number; the model\'s feature masks are 32 bits)');
        break;
      case 'core': task(a.task as string, 'task', 'running'); buffers.add(a.into as string); formats.set(a.into as string, 'portable'); break;
      case 'readers': buffer('buf'); break;
      case 'xsave': task(a.task as string, 'task', 'running'); if (a.fill !== undefined) wholeNumber(a.fill, here('fill'), 'fill', 0n, 255n); buffers.add(a.into as string); break;
      case 'cpuid': task(a.task as string, 'task', 'running'); if (a.sub !== undefined) wholeNumber(a.sub, here('sub'), 'sub', 0n, MAX_SUBLEAF, ' (ECX is 32 bits)'); break;
      case 'exec':
        stepFiles[i] = fileInScenarioFolder(file, a.program as string, here('program'), 'program');
        ((a.files as string[] | undefined) ?? []).forEach((x, j) => fileInScenarioFolder(file, x, at('steps', i, kind, 'files', j), 'file'));
        ((a.args as unknown[] | undefined) ?? []).forEach((x, j) => { if (typeof x === 'number') fail(at('steps', i, kind, 'args', j), `argument ${x} is not a whole number: quote it to pass it as text`); });
        break;
      case 'buffer':
        wholeNumber(a.size, here('size'), 'size', 1n, BigInt(MAX_RAW_BYTES), ' (a buffer the scenario builds lives in memory)');
        if (a.fill !== undefined) wholeNumber(a.fill, here('fill'), 'fill', 0n, 255n);
        if (a.from !== undefined) buffer('from');
        buffers.add(a.into as string);
        formats.set(a.into as string, (a.format as BufferFormat | undefined) ?? (a.from !== undefined ? formats.get(a.from as string) : undefined));
        break;
      case 'kvm-create': {
        const vendors = Object.values(KvmVendorModule) as string[];
        if (a.vendor !== undefined && !vendors.includes(a.vendor as string)) fail(here('vendor'), `unknown KVM vendor module '${String(a.vendor)}' (${vendors.join(', ')})`);
        vcpus.add(a.vcpu as string);
        break;
      }
      case 'kvm-get-xsave': vcpu(); buffers.add(a.into as string); break;
      case 'kvm-set-xsave': vcpu(); buffer('from'); break;
      case 'kvm-pkru': vcpu(); break;
      default: fail(here(), `unknown step '${kind}'`);
    }
  });

  const out: Scenario = {
    file, name: s.name, about: s.about, source: Array.isArray(s.source) ? s.source : [s.source], cpus, cpuSpecs, kernels, kernelVariants, tasks: s.tasks, steps: s.steps, expect: s.expect,
    stepPlaces: s.steps.map((_, i) => at('steps', i)), stepFiles, fieldUses,
  };
  for (const m of models) checkScenarioOnCpu(out, m);
  return out;
}

/** The fields a scenario names must exist on `cpu` (a component it has): an InputError at the first that does not. */
export function checkScenarioOnCpu(s: Scenario, cpu: CpuModel): void {
  for (const u of s.fieldUses) {
    const r = resolveField(cpu, u.name);
    if (typeof r === 'string') fail(u.place, r);
  }
}
