/**
 * Loading CPU profiles: schema check (ajv), semantic checks against the raw CPUID data, and the
 * `--cpu` resolution (a built-in id, a profile file, or a CPUID dump file).
 */
import AjvModule from 'ajv';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import { InputError } from '../src/errors.js';
import { PROFILES_DIR, SCHEMA_DIR } from '../src/paths.js';
import { CpuModel, type Profile } from './cpu-model.js';
import { CpuidTable } from './cpuid-table.js';
import { defaultProfileId, detectDumpFormat, displayFamilyModel, dumpToProfile, parseDump } from './cpuid-dump.js';
import { isQuirkId } from './quirks.js';

// ajv's CommonJS default export under NodeNext.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as typeof AjvModule.default;
/** Compiled on first use: ajv's compile is most of a command's start-up time. */
let compiled: ReturnType<AjvModule.default['compile']> | undefined;
const profileSchema = (): ReturnType<AjvModule.default['compile']> =>
  (compiled ??= new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(SCHEMA_DIR, 'profile.schema.json'), 'utf8'))));

function vendorOfLeaf0(r: readonly number[]): string {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(r[1], 0);
  b.writeUInt32LE(r[3], 4);
  b.writeUInt32LE(r[2], 8);
  return b.toString('latin1');
}

/** Validate a parsed profile object; `file` names it in errors. */
export function validateProfile(json: unknown, file: string): Profile {
  const validateSchema = profileSchema();
  if (!validateSchema(json)) {
    const e = validateSchema.errors![0];
    const where = e.instancePath || '/';
    const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
    throw new InputError(file, where, `${e.message}${extra}`);
  }
  const p = json as Profile;
  p.quirks.forEach((q, k) => {
    if (!isQuirkId(q.id)) throw new InputError(file, `/quirks/${k}/id`, `unknown quirk '${q.id}' (see emulator/quirks.ts or 'xstate-lab cpu quirks')`);
  });
  // The `quirks` list is what the model uses; a probe's verdict in measured.quirks must agree with it.
  const listed = new Set(p.quirks.map((q) => q.id));
  for (const [id, verdict] of Object.entries(p.measured?.quirks ?? {})) {
    const where = `/measured/quirks/${id}`;
    if (!isQuirkId(id)) throw new InputError(file, where, `unknown quirk '${id}' (see emulator/quirks.ts or 'xstate-lab cpu quirks')`);
    if (!verdict && listed.has(id)) throw new InputError(file, where, `the probe measured no '${id}' on this CPU, but /quirks lists it: remove it from /quirks or re-measure`);
    if (verdict && !listed.has(id)) throw new InputError(file, where, `the probe measured '${id}' on this CPU, but /quirks does not list it: add it to /quirks or re-measure`);
  }
  const t = CpuidTable.fromJson(p.cpuid);
  if (t.has(0)) {
    const v = vendorOfLeaf0(t.get(0));
    if (v !== p.vendor) throw new InputError(file, '/vendor', `'${p.vendor}' disagrees with CPUID leaf 0 ('${v}')`);
  }
  if (t.has(1)) {
    const f = displayFamilyModel(t.get(1)[0]);
    for (const k of ['family', 'model', 'stepping'] as const) {
      if (f[k] !== p[k]) throw new InputError(file, `/${k}`, `${p[k]} disagrees with CPUID leaf 1 EAX (${k} ${f[k]})`);
    }
  } else {
    throw new InputError(file, '/cpuid', 'leaf 00000001 is required');
  }
  const xsave = (t.get(1)[2] >>> 26) & 1;
  if (xsave) {
    for (const s of [0, 1]) if (!t.has(0xd, s)) throw new InputError(file, '/cpuid', `CPUID.01H:ECX.XSAVE is set but sub-leaf 0000000d.0${s} is missing`);
    const d0 = t.get(0xd, 0);
    const d1 = t.get(0xd, 1);
    const all = (d0[0] | d1[2]) >>> 0;
    for (let i = 2; i < 32; i++) {
      if (!((all >>> i) & 1)) continue;
      const key = `0000000d.${i.toString(16).padStart(2, '0')}`;
      const r = t.get(0xd, i);
      if (r[0] === 0) throw new InputError(file, `/cpuid/${key}`, `component ${i} is enumerated in leaf 0xD but its size (EAX) is 0`);
      const user = ((d0[0] >>> i) & 1) === 1;
      if (user && r[1] + r[0] > d0[2]) {
        throw new InputError(file, `/cpuid/${key}`, `user component ${i} ends at ${r[1] + r[0]}, beyond CPUID.(0DH,0).ECX = ${d0[2]}`);
      }
    }
  }
  return p;
}

export function loadProfileFile(file: string): CpuModel {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, jsonErrorPlace(text, e as Error), `not valid JSON: ${(e as Error).message.replace(/\s+/g, " ")}`);
  }
  return new CpuModel(validateProfile(json, file));
}

function jsonErrorPlace(text: string, e: Error): string | undefined {
  const m = /position (\d+)/.exec(e.message);
  if (!m) {
    // Node 20 does not always say where; the YAML parser in JSON mode does (JSON is YAML 1.2).
    const pos = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
    return pos ? `line ${pos.line}, column ${pos.col}` : undefined;
  }
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** Ids of the profiles shipped in emulator/profiles/. */
export function builtinProfileIds(): string[] {
  if (!existsSync(PROFILES_DIR)) return [];
  return readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

export function builtinProfilePath(id: string): string {
  return join(PROFILES_DIR, `${id}.json`);
}

/**
 * Resolve a `--cpu` argument: a built-in profile id, a profile JSON file, or a CPUID dump
 * (`cpuid -r` or InstLatx64) turned into a profile on the fly.
 */
export function resolveCpu(arg: string): CpuModel {
  if (builtinProfileIds().includes(arg)) return loadProfileFile(builtinProfilePath(arg));
  if (!existsSync(arg)) {
    throw new InputError('<command line>', '--cpu', `'${arg}' is neither a profile id (${builtinProfileIds().join(', ')}) nor an existing file`);
  }
  const text = readFileSync(arg, 'utf8');
  if (text.trimStart().startsWith('{')) return loadProfileFile(arg);
  if (detectDumpFormat(text) === null) {
    throw new InputError(arg, 'line 1', 'expected a profile (JSON), a `cpuid -r` dump or an InstLatx64 CPUID dump');
  }
  const d = parseDump(text, arg);
  return new CpuModel(validateProfile(dumpToProfile(d, { id: defaultProfileId(d), reference: arg }), arg));
}
