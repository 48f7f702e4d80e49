/**
 * The JSON-schema validators generated at build time (emulator/precompiled-validator.ts) against
 * ajv's compile of the same schema: the same verdict and the same errors on every built-in
 * profile and scenario and on seeded mutations of them, so the generated code cannot drift from
 * the schema; a generated file made from another schema or other options is not used; and the
 * build's own files (dist/emulator/generated/) are current.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileValidator, generatedFile, loadValidator, specDigest, writeValidator, type ValidatorSpec } from '../emulator/precompiled-validator.js';
import { PROFILE_VALIDATOR, builtinProfileIds, builtinProfilePath } from '../emulator/profile.js';
import { SCENARIO_VALIDATOR } from '../src/scenario/load.js';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-validators-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Mutants per document. */
const MUTANTS = 60;
const SEED = 0x5eed;

/** A small seeded PRNG (xorshift32): the same mutants on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

/** Every path to a value inside `v` (object keys and array indices). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** `doc` with one value replaced, removed or given an unknown key, as a careless edit would. */
function mutate(doc: unknown, rnd: () => number): unknown {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[Math.floor(rnd() * all.length)]!;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const replacements: unknown[] = [null, 'x', '0x1g', -1, 1.5, 2 ** 60, true, [], {}, [1, 'a'], { unknownKey: 1 }, ''];
  const r = rnd();
  if (r < 0.2 && !Array.isArray(parent)) delete parent[last];
  else if (r < 0.3 && parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last])) (parent[last] as Record<string, unknown>).notInTheSchema = 1;
  else parent[last] = replacements[Math.floor(rnd() * replacements.length)];
  return copy;
}

const profiles = builtinProfileIds().map((id) => JSON.parse(readFileSync(builtinProfilePath(id), 'utf8')) as unknown);
const scenarioDir = join(ROOT, 'scenarios');
const scenarios = readdirSync(scenarioDir).filter((f) => f.endsWith('.yaml')).map((f) => parse(readFileSync(join(scenarioDir, f), 'utf8')) as unknown);

const cases: { spec: ValidatorSpec; docs: unknown[] }[] = [
  { spec: PROFILE_VALIDATOR, docs: profiles },
  { spec: SCENARIO_VALIDATOR, docs: scenarios },
];

describe('generated validators (emulator/precompiled-validator.ts)', () => {
  for (const { spec, docs } of cases) {
    it(`${spec.name}: the generated code gives ajv's verdict and errors on ${docs.length} documents and ${docs.length * MUTANTS} mutants`, () => {
      expect(docs.length).toBeGreaterThan(0);
      writeValidator(spec, tmp);
      const generated = loadValidator(spec, tmp) as ReturnType<typeof loadValidator> & { schemaDigest?: string };
      expect(generated.schemaDigest, 'the generated file was used').toBe(specDigest(spec));
      const reference = compileValidator(spec);
      const rnd = prng(SEED);
      let valid = 0, invalid = 0;
      const inputs = docs.flatMap((d) => [d, ...Array.from({ length: MUTANTS }, () => mutate(d, rnd))]);
      for (const doc of inputs) {
        const want = reference(doc);
        expect(generated(doc)).toBe(want);
        expect(JSON.stringify(generated.errors ?? null)).toBe(JSON.stringify(reference.errors ?? null));
        if (want) valid++; else invalid++;
      }
      // The unmutated documents pass and most mutants do not: both verdicts were compared.
      expect(valid).toBeGreaterThanOrEqual(docs.length);
      expect(invalid).toBeGreaterThan(docs.length * MUTANTS / 2);
    });

    it(`${spec.name}: a generated file made from other options is not used`, () => {
      const dir = join(tmp, `stale-${spec.name}`);
      writeValidator(spec, dir);
      const other: ValidatorSpec = { ...spec, options: { ...spec.options, allErrors: !spec.options.allErrors } };
      expect(existsSync(generatedFile(other, dir))).toBe(true);
      const v = loadValidator(other, dir) as ReturnType<typeof loadValidator> & { schemaDigest?: string };
      expect(v.schemaDigest).toBeUndefined();
    });

    it(`${spec.name}: the build's generated file (dist/emulator/generated) is current`, () => {
      const file = join(ROOT, 'dist', 'emulator', 'generated', `${spec.name}.cjs`);
      expect(existsSync(file), `${file} is missing: build with 'npm run build' (scripts/setup.sh does)`).toBe(true);
      const v = loadValidator(spec, join(ROOT, 'dist', 'emulator', 'generated')) as ReturnType<typeof loadValidator> & { schemaDigest?: string };
      expect(v.schemaDigest, `${file} is stale: build again`).toBe(specDigest(spec));
    });
  }
});
