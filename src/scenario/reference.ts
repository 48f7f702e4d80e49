/**
 * The scenario language reference, generated from scenario.schema.json so it cannot drift from
 * what the loader accepts: every top-level key, every step and every field of each, with the
 * schema's descriptions, types, required keys and allowed values. `xstate-lab scenario-reference`
 * prints it; docs/scenario-reference.md is its output, kept in sync by test/scenario-reference.test.ts.
 */
import schema from './scenario.schema.json' with { type: 'json' };

/** A JSON-schema node as scenario.schema.json uses them. */
interface Node {
  title?: string;
  description?: string;
  type?: string | string[];
  $ref?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  minItems?: number;
  items?: Node;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: boolean | Node;
  oneOf?: Node[];
  if?: Node;
  then?: Node;
  else?: Node;
}

const root = schema as unknown as Node & { definitions: Record<string, Node> };

/** The definition a $ref names (only local #/definitions/ refs exist). */
function deref(n: Node): Node {
  if (!n.$ref) return n;
  const name = n.$ref.replace('#/definitions/', '');
  return { ...root.definitions[name], description: n.description ?? root.definitions[name].description };
}

/** How to write a value of this node, in words. */
function typeOf(raw: Node): string {
  const n = deref(raw);
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return n.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (n.oneOf) return n.oneOf.map(typeOf).join(', or ');
  if (n.if && n.then && n.else) return `${typeOf(n.then)}, or ${typeOf(n.else)}`;
  const t = Array.isArray(n.type) ? n.type : n.type ? [n.type] : [];
  const words = t.map((x) => {
    if (x === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}${n.minItems ? ` (at least ${n.minItems})` : ''}`;
    if (x === 'object') return n.properties ? `map (${Object.keys(n.properties).map((k) => `\`${k}\``).join(', ')})` : 'map';
    if (x === 'number' || x === 'integer') return n.minimum !== undefined ? `whole number >= ${n.minimum}` : 'whole number';
    if (x === 'string' && raw.$ref === '#/definitions/name') return 'name (letters, digits, _ and -)';
    return x;
  });
  return words.join(' or ') || 'value';
}

/** The rows of a map's keys: key, required, type, description. */
function keyRows(n: Node): string[] {
  const req = new Set(n.required ?? []);
  return Object.entries(n.properties ?? {}).map(([k, v]) => {
    const d = deref(v).description ?? v.description ?? '';
    return `| \`${k}\` | ${req.has(k) ? 'yes' : 'no'} | ${typeOf(v)} | ${d.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`;
  });
}

/** The nested maps of a node worth their own table (a step's object, a `kernels:` entry). */
function objectOf(n: Node): Node | undefined {
  const d = deref(n);
  if (d.properties) return d;
  if (d.items) return objectOf(d.items);
  if (d.else?.properties) return d.else;
  if (typeof d.additionalProperties === 'object' && d.additionalProperties.properties) return d.additionalProperties;
  return undefined;
}

export function scenarioReference(): string {
  const out: string[] = [
    '# Scenario language reference',
    '',
    '<!-- Generated from src/scenario/scenario.schema.json by `xstate-lab scenario-reference`; do not edit by hand. -->',
    '',
    `A scenario is a YAML file checked against \`src/scenario/scenario.schema.json\` (${root.title ?? 'the schema'}), then against the model (README, "Scenarios"). Every error is one line \`file:line:col: message\`.`,
    '',
    '## Top-level keys',
    '',
    '| key | required | value | meaning |',
    '| --- | --- | --- | --- |',
    ...keyRows(root),
  ];
  for (const [k, v] of Object.entries(root.properties ?? {})) {
    const o = objectOf(v);
    if (!o || k === 'steps') continue;
    if (!o.properties || Object.keys(o.properties).length === 0) continue;
    out.push('', `### \`${k}\` entries`, '', '| key | required | value | meaning |', '| --- | --- | --- | --- |', ...keyRows(o));
  }
  const steps = root.definitions.step.properties ?? {};
  out.push('', '## Steps', '', `Each step is a map with one key, the step's name (${Object.keys(steps).length} steps).`, '');
  for (const [name, raw] of Object.entries(steps)) {
    const n = deref(raw);
    out.push(`### \`${name}\``, '', n.description ?? '', '');
    if (n.properties) out.push('| key | required | value | meaning |', '| --- | --- | --- | --- |', ...keyRows(n), '');
    else out.push(`Value: ${typeOf(raw)}.`, '');
  }
  out.push('## Shared definitions', '');
  for (const [name, n] of Object.entries(root.definitions)) {
    if (name === 'step') continue;
    out.push(`- \`${name}\`: ${typeOf({ $ref: `#/definitions/${name}` })}${n.pattern ? ` matching \`${n.pattern}\`` : ''}${n.description ? `. ${n.description}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
