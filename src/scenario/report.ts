/** Reports of `xstate-lab run`: a table for people, JSON (`xstate-lab.run/1`) and TAP for CI. */
import type { RunOutcome } from './run.js';
import { showForPeople, showValue } from './run.js';

export const passed = (o: RunOutcome): boolean => !o.error && o.checks.every((c) => c.pass);

export function formatTable(outcomes: RunOutcome[], verbose: boolean): string {
  const lines: string[] = [];
  const w = Math.max(8, ...outcomes.map((o) => o.scenario.length));
  const cw = Math.max(3, ...outcomes.map((o) => o.cpu.length));
  const vw = Math.max(6, ...outcomes.map((o) => o.variant.length));
  lines.push(`${'scenario'.padEnd(w)}  ${'cpu'.padEnd(cw)}  ${'kernel'.padEnd(vw)}  result  checks`);
  for (const o of outcomes) {
    const ok = passed(o);
    const n = o.checks.filter((c) => c.pass).length;
    lines.push(`${o.scenario.padEnd(w)}  ${o.cpu.padEnd(cw)}  ${o.variant.padEnd(vw)}  ${ok ? 'pass  ' : 'FAIL  '}  ${n}/${o.checks.length}`);
    if (o.error) lines.push(`    error: ${o.error}`);
    for (const c of o.checks) if (!c.pass || verbose) lines.push(`    ${c.pass ? 'ok  ' : 'FAIL'} ${c.name}: expected ${showForPeople(c.expected)}, observed ${showForPeople(c.observed)}`);
    if (verbose) for (const [k, v] of Object.entries(o.observations)) if (!o.checks.some((c) => c.name === k)) lines.push(`         ${k} = ${showForPeople(v)}`);
  }
  const bad = outcomes.filter((o) => !passed(o)).length;
  lines.push(`${outcomes.length - bad} passed, ${bad} failed`);
  return lines.join('\n');
}

export function formatJson(outcomes: RunOutcome[]): string {
  return JSON.stringify({
    format: 'xstate-lab.run/1',
    runs: outcomes.map((o) => ({
      scenario: o.scenario, file: o.file, cpu: o.cpu, kernel: o.variant, pass: passed(o), error: o.error,
      checks: o.checks.map((c) => ({ name: c.name, expected: showValue(c.expected as never), observed: showValue(c.observed as never), pass: c.pass })),
      observations: o.observations,
    })),
  }, null, 2);
}

export function formatTap(outcomes: RunOutcome[]): string {
  const lines = ['TAP version 13', `1..${outcomes.length}`];
  outcomes.forEach((o, i) => {
    lines.push(`${passed(o) ? 'ok' : 'not ok'} ${i + 1} - ${o.scenario} on ${o.cpu} with ${o.variant}`);
    if (!passed(o)) {
      lines.push('  ---');
      if (o.error) lines.push(`  error: ${JSON.stringify(o.error)}`);
      for (const c of o.checks.filter((x) => !x.pass)) lines.push(`  ${c.name}: { expected: ${JSON.stringify(showValue(c.expected as never))}, observed: ${JSON.stringify(showValue(c.observed as never))} }`);
      lines.push('  ...');
    }
  });
  return lines.join('\n');
}
