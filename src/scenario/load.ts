/**
 * Scenario files: YAML, checked with ajv against scenario.schema.json and then against the model
 * (known CPUs, kernel variants, tasks and buffers), every error naming file, line and column.
 */
import AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import schema from './scenario.schema.json' with { type: 'json' };
import { InputError } from '../errors.js';
import { KERNEL_VARIANTS } from '../../kernel-model/variants.js';
import { builtinProfileIds } from '../../emulator/profile.js';
import type { Value } from './world.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
/** Compiled on first use: ajv's compile is most of a command's start-up time. */
let compiled: ReturnType<AjvModule.default['compile']> | undefined;
const scenarioSchema = (): ReturnType<AjvModule.default['compile']> => (compiled ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(schema));

export type Step = Record<string, unknown>;

export interface Scenario {
  file: string;
  name: string;
  about: string;
  source: string[];
  cpus: string[];
  kernels: string[];
  tasks: Record<string, { state?: Record<string, Value>; amx?: boolean }>;
  steps: Step[];
  /** Per variant id (or `all`): observation name to expected value. */
  expect: Record<string, Record<string, Value>>;
  /** file:line:col of each step, for reports. */
  stepPlaces: string[];
}

/** Numbers as bigints (hex and large values stay exact); a copy with plain numbers for ajv. */
function forSchema(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(forSchema);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, forSchema(x)]));
  return v;
}

function place(doc: Document, lc: LineCounter, file: string, path: (string | number)[]): string {
  let node: unknown = doc.getIn(path, true);
  for (let p = path.length; !node && p > 0; p--) node = doc.getIn(path.slice(0, p - 1), true);
  const range = (node as Node | undefined)?.range;
  if (!range) return file;
  const { line, col } = lc.linePos(range[0]);
  return `${file}:${line}:${col}`;
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new InputError(file, undefined, `cannot read: ${(e as Error).message}`); }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const { line, col } = lc.linePos(e.pos[0]);
    throw new InputError(file, `line ${line}, column ${col}`, `YAML: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  const validate = scenarioSchema();
  if (!validate(forSchema(raw))) {
    const err = validate.errors![0];
    const path = err.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
    const extra = err.params && 'additionalProperty' in err.params ? ` '${String(err.params.additionalProperty)}'` : err.params && 'allowedValues' in err.params ? ` (${(err.params.allowedValues as unknown[]).join(', ')})` : '';
    throw new InputError(place(doc, lc, file, path), undefined, `${err.instancePath || '/'} ${err.message}${extra}`);
  }
  const s = raw as { name: string; about: string; source: string | string[]; cpu: string | string[]; kernels: string[]; tasks: Scenario['tasks']; steps: Step[]; expect: Scenario['expect'] };
  const at = (...path: (string | number)[]): string => place(doc, lc, file, path);
  const cpus = Array.isArray(s.cpu) ? s.cpu : [s.cpu];
  const known = new Set(builtinProfileIds());
  cpus.forEach((c, i) => { if (!known.has(c)) throw new InputError(at('cpu', ...(Array.isArray(s.cpu) ? [i] : [])), undefined, `unknown CPU '${c}' (built in: ${[...known].join(', ')})`); });
  const variants = new Set(KERNEL_VARIANTS.map((v) => v.id));
  s.kernels.forEach((k, i) => { if (!variants.has(k)) throw new InputError(at('kernels', i), undefined, `unknown kernel variant '${k}' (known: ${[...variants].join(', ')})`); });
  // Expectation keys: all, a kernel variant, a CPU, or CPU/variant (the most specific wins).
  for (const k of Object.keys(s.expect)) {
    const [a, b] = k.split('/');
    const ok = k === 'all' || (b === undefined ? s.kernels.includes(a) || cpus.includes(a) : cpus.includes(a) && s.kernels.includes(b));
    if (!ok) throw new InputError(at('expect', k), undefined, `expectations for '${k}': expected all, one of the kernels (${s.kernels.join(', ')}), one of the CPUs (${cpus.join(', ')}) or CPU/kernel`);
  }
  const taskNames = new Set(Object.keys(s.tasks));
  s.steps.forEach((st, i) => {
    const [kind, arg] = Object.entries(st)[0];
    const t = typeof arg === 'string' ? arg : (arg as { task?: string }).task;
    if ((kind === 'stop' || kind === 'resume' || t !== undefined) && t !== undefined && !taskNames.has(t)) throw new InputError(at('steps', i, kind), undefined, `no task '${t}' (tasks: ${[...taskNames].join(', ') || 'none'})`);
  });
  return {
    file, name: s.name, about: s.about, source: Array.isArray(s.source) ? s.source : [s.source], cpus, kernels: s.kernels, tasks: s.tasks, steps: s.steps, expect: s.expect,
    stepPlaces: s.steps.map((_, i) => at('steps', i)),
  };
}

