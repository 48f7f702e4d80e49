/**
 * Loading CPU profiles: schema check (ajv), semantic checks against the raw CPUID data, and the
 * `--cpu` resolution (a built-in id, a profile file, or a CPUID dump file).
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { InputError } from '../src/errors.js';
import { PROFILES_DIR, SCHEMA_DIR } from '../src/paths.js';
import { CpuModel, type Profile } from './cpu-model.js';
import { CpuidTable, cpuidKey } from './cpuid-table.js';
import { type CpuidFinding, Severity, checkCpuidConsistency, warnOnce, withoutCpuidWarnings } from './cpuid-consistency.js';
import { defaultProfileId, detectDumpFormat, displayFamilyModel, dumpToProfile, parseDump } from './cpuid-dump.js';
import { isQuirkId } from './quirks.js';
import { loadValidator, type ValidatorSpec } from './precompiled-validator.js';

/** CPUID.01H:ECX.XSAVE (SDM Vol. 2A Table 3-10). */
const XSAVE_ECX_BIT = 26;

let schemaJson: unknown;
const profileSchemaJson = (): unknown => (schemaJson ??= JSON.parse(readFileSync(join(SCHEMA_DIR, 'profile.schema.json'), 'utf8')));
/** The profile schema's validator: generated at build time (emulator/precompiled-validator.ts). */
export const PROFILE_VALIDATOR: ValidatorSpec = { name: 'profile', schema: () => profileSchemaJson() as object, options: { allErrors: true, strict: false } };
/** Loaded on first use. */
let compiled: ValidateFunction | undefined;
const profileSchema = (): ValidateFunction => (compiled ??= loadValidator(PROFILE_VALIDATOR));

function vendorOfLeaf0(r: readonly number[]): string {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(r[1], 0);
  b.writeUInt32LE(r[3], 4);
  b.writeUInt32LE(r[2], 8);
  return b.toString('latin1');
}

/** A JSON pointer token (RFC 6901). */
const pointerToken = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** The value at a JSON pointer, or undefined. */
function atPointer(root: unknown, pointer: string): unknown {
  let v: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A value as a message shows it: short, typed. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  const cut = text.length > 60 ? text.slice(0, 60) + '...' : text;
  return `${typeof v === 'string' ? 'the string' : `the ${typeof v}`} ${cut}`;
}

/**
 * What to write, for each pattern the profile schema uses (emulator/schema/profile.schema.json).
 * Keyed by the pattern's source so that a new pattern without advice is caught by the fallback.
 */
export const PATTERN_ADVICE: Readonly<Record<string, string>> = {
  '^0x[0-9a-f]{8}$': 'write eight lowercase hex digits after 0x, zero-padded, e.g. "0x000000e7"',
  '^0x[0-9a-f]{1,16}$': 'write 0x and 1 to 16 lowercase hex digits, e.g. "0x2e7" or "0x00000000000002e7"',
  '^[a-z0-9][a-z0-9.-]*$': "write lowercase letters, digits, '.' and '-', starting with a letter or digit, e.g. \"amd-zen4\"",
  '^[0-9a-f]{8}(\\.[0-9a-f]{1,8})?$':
    'write the leaf as eight lowercase hex digits, e.g. "0000000d", and for a leaf indexed by ECX add "." and the sub-leaf in hex, e.g. "0000000d.01"',
};

const TYPE_ADVICE: Record<string, string> = {
  string: 'a string in double quotes',
  integer: 'a whole number without quotes, e.g. 23',
  number: 'a number without quotes',
  boolean: 'true or false',
  object: 'an object ({ ... })',
  array: 'an array ([ ... ])',
};

type SchemaError = ErrorObject;

/** One ajv error as `[JSON pointer, what is wrong and what to write]`. */
export function describeSchemaError(e: SchemaError, json: unknown, schema: unknown): [string, string] {
  const params = e.params as Record<string, unknown>;
  // A bad property name: point at the property itself.
  const propertyName = (e as { propertyName?: string }).propertyName;
  const where = (e.instancePath || '') + (propertyName !== undefined ? `/${pointerToken(propertyName)}` : '');
  const place = where || '/';
  const value = propertyName !== undefined ? propertyName : atPointer(json, e.instancePath);
  const got = propertyName !== undefined ? `the key ${JSON.stringify(propertyName)}` : shown(value);
  switch (e.keyword) {
    case 'pattern': {
      const pattern = String(params.pattern);
      const advice = PATTERN_ADVICE[pattern] ?? `write a value matching the regular expression ${pattern}`;
      return [place, `${advice}; got ${got}`];
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return [place, `write one of ${allowed}; got ${got}`];
    }
    case 'type': {
      const types = String(params.type).split(',');
      const hex = /hex(32|64)/.exec(e.schemaPath);
      const advice = hex ? ` (${PATTERN_ADVICE[hex[1] === '32' ? '^0x[0-9a-f]{8}$' : '^0x[0-9a-f]{1,16}$']})` : '';
      return [place, `write ${types.map((t) => TYPE_ADVICE[t] ?? t).join(' or ')}${advice}; got ${got}`];
    }
    case 'required':
      return [place, `missing the required key ${JSON.stringify(params.missingProperty)}`];
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      // The allowed keys: the `properties` next to the failing `additionalProperties`.
      const parent = e.schemaPath.replace(/^#/, '').replace(/\/additionalProperties$/, '');
      const props = atPointer(schema, parent + '/properties');
      const allowed = props && typeof props === 'object' ? Object.keys(props).map((k) => JSON.stringify(k)).join(', ') : '';
      return [`${e.instancePath}/${pointerToken(extra)}`, `unknown key ${JSON.stringify(extra)}${allowed ? `; the keys allowed here are ${allowed}` : ''}`];
    }
    case 'minItems':
    case 'maxItems':
      if (/^\/cpuid\//.test(e.instancePath)) return [place, `write four registers, ["EAX", "EBX", "ECX", "EDX"], each like "0x000000e7"; got ${got}`];
      return [place, `write ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${params.limit} items; got ${got}`];
    case 'minimum':
      return [place, `write a whole number of at least ${params.limit}; got ${got}`];
    case 'maximum':
      return [place, `write a whole number of at most ${params.limit}; got ${got}`];
    case 'minLength':
      return [place, `write a non-empty string; got ${got}`];
    case 'minProperties':
      return [place, 'write at least one CPUID leaf, e.g. "00000000": ["0x0000000d", "0x68747541", "0x444d4163", "0x69746e65"]'];
    default:
      return [place, `${e.message ?? 'invalid'}; got ${got}`];
  }
}

/** Numbers JSON can write but a profile cannot mean: beyond 2^53 they are not exact. */
function checkHugeNumbers(v: unknown, file: string, pointer: string): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) && Number.isInteger(v)) {
      throw new InputError(file, pointer || '/', `${v} is too large to be exact (above 2^53 - 1); write a number below 9007199254740992`);
    }
    return;
  }
  if (Array.isArray(v)) v.forEach((x, k) => checkHugeNumbers(x, file, `${pointer}/${k}`));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkHugeNumbers(x, file, `${pointer}/${pointerToken(k)}`);
}

/** The JSON pointer of a CPUID register in a profile, or of /cpuid when the key is absent. */
const cpuidPointer = (cpuid: Record<string, unknown>, f: CpuidFinding): string => {
  const key = cpuidKey(f.leaf, f.sub);
  return key in cpuid ? `/cpuid/${key}/${f.reg}` : '/cpuid';
};

export interface ValidateOptions {
  /**
   * Skip checkCpuidConsistency: the caller (a dump parser) already ran it and reported by line.
   */
  cpuidChecked?: boolean;
}

/**
 * Validate a parsed profile object; `file` names it in errors. Warnings (checkCpuidConsistency)
 * are printed once each, after the profile passed every check.
 */
export function validateProfile(json: unknown, file: string, opts: ValidateOptions = {}): Profile {
  const validateSchema = profileSchema();
  if (!validateSchema(json)) {
    // ajv reports a bad property name twice: the inner error (with the name) and `propertyNames`.
    const errors = validateSchema.errors!;
    const e = errors.find((x) => x.keyword !== 'propertyNames') ?? errors[0];
    const [place, detail] = describeSchemaError(e, json, profileSchemaJson());
    throw new InputError(file, place, detail);
  }
  checkHugeNumbers(json, file, '');
  const p = json as Profile;
  p.quirks.forEach((q, k) => {
    if (!isQuirkId(q.id)) throw new InputError(file, `/quirks/${k}/id`, `unknown quirk '${q.id}' (see emulator/quirks.ts or 'xstate-lab cpu quirks')`);
  });
  // measured.quirks: known ids, and the quirk list agrees with each verdict.
  for (const [id, present] of Object.entries(p.measured?.quirks ?? {})) {
    const where = `/measured/quirks/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!isQuirkId(id)) throw new InputError(file, where, `unknown quirk '${id}' (see emulator/quirks.ts or 'xstate-lab cpu quirks')`);
    const listed = p.quirks.some((q) => q.id === id);
    if (present && !listed) throw new InputError(file, where, `quirk '${id}' was measured present but is missing from /quirks`);
    if (!present && listed) throw new InputError(file, where, `quirk '${id}' was measured absent but is listed in /quirks`);
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
  const xsave = (t.get(1)[2] >>> XSAVE_ECX_BIT) & 1;
  if (xsave) {
    for (const sub of [0, 1]) if (!t.has(0xd, sub)) throw new InputError(file, '/cpuid', `CPUID.01H:ECX.XSAVE is set but sub-leaf 0000000d.0${sub} is missing`);
  }
  const findings = opts.cpuidChecked ? [] : checkCpuidConsistency(t);
  const error = findings.find((f) => f.severity === Severity.Error);
  if (error) throw new InputError(file, cpuidPointer(p.cpuid, error), error.detail);
  for (const f of findings) warnOnce(file, cpuidPointer(p.cpuid, f), f.detail);
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

function jsonErrorPlace(text: string, e: Error): string {
  const m = /position (\d+)/.exec(e.message);
  if (!m) {
    // Node 20 does not always say where; the YAML parser in JSON mode does (JSON is YAML 1.2).
    // yaml is loaded here only: it is about 100 ms of start-up for a command that never needs it.
    const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof Yaml;
    const pos = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
    if (pos) return `line ${pos.line}, column ${pos.col}`;
    // Neither says (e.g. "Unexpected end of JSON input"): the end of the text is where it broke.
    const lines = text.split('\n');
    return `line ${lines.length}, column ${lines[lines.length - 1].length + 1}`;
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
/**
 * A built-in profile loaded for a scan the user did not ask about (which CPUs share a layout, the
 * largest CPU for a benchmark): its CPUID consistency warnings are not printed, because the user
 * named no such CPU. `cpu show ID` prints them.
 */
export function loadBuiltinQuietly(id: string): CpuModel {
  return withoutCpuidWarnings(() => loadProfileFile(builtinProfilePath(id)));
}

export function resolveCpu(arg: string): CpuModel {
  if (builtinProfileIds().includes(arg)) return loadProfileFile(builtinProfilePath(arg));
  if (!existsSync(arg)) {
    throw new InputError('<command line>', '--cpu', `'${arg}' is neither a profile id (${builtinProfileIds().join(', ')}) nor an existing file`);
  }
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    throw new InputError(arg, undefined, `cannot read: ${(e as Error).message}`);
  }
  if (text.trimStart().startsWith('{')) return loadProfileFile(arg);
  if (detectDumpFormat(text) === null) {
    throw new InputError(arg, 'line 1', 'expected a profile (JSON), a `cpuid -r` dump or an InstLatx64 CPUID dump');
  }
  const d = parseDump(text, arg);
  return new CpuModel(validateProfile(dumpToProfile(d, { id: defaultProfileId(d), reference: arg }), arg, { cpuidChecked: true }));
}
