/**
 * The scenario reference (docs/scenario-reference.md) is generated from scenario.schema.json
 * (src/scenario/reference.ts) and must be in sync with it: regenerate with
 * `node dist/src/cli.js scenario-reference > docs/scenario-reference.md`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import schema from '../src/scenario/scenario.schema.json' with { type: 'json' };
import { scenarioReference } from '../src/scenario/reference.js';

const DOC = join(import.meta.dirname, '..', 'docs', 'scenario-reference.md');

describe('scenario reference', () => {
  it('docs/scenario-reference.md is what the generator writes from the schema today', () => {
    expect(readFileSync(DOC, 'utf8'), 'out of date: regenerate it with `node dist/src/cli.js scenario-reference > docs/scenario-reference.md`').toBe(scenarioReference());
  });
  it('names every step and every key of every step, and every top-level key', () => {
    const ref = scenarioReference();
    const steps = (schema.definitions.step as { properties: Record<string, { properties?: Record<string, unknown> }> }).properties;
    for (const [name, st] of Object.entries(steps)) {
      expect(ref, name).toContain(`### \`${name}\``);
      for (const k of Object.keys(st.properties ?? {})) expect(ref.split(`### \`${name}\``)[1].split('\n### ')[0], `${name}.${k}`).toContain(`| \`${k}\` |`);
    }
    for (const k of Object.keys(schema.properties)) expect(ref, k).toContain(`| \`${k}\` |`);
  });
});
