/**
 * `xstate-lab run --matrix`: every scenario on every CPU profile and kernel variant asked for (or
 * all), one cell per scenario x CPU x variant.
 *
 * A scenario's expectations are claims about its own CPUs and kernels (its `cpu:` and `kernels:`):
 * even an `all` value can hold only there (pkru-ptrace-guest expects the Skylake-SP regset size
 * under `all`). So a cell is judged only when both its CPU and its variant are the scenario's own;
 * elsewhere the scenario runs and its observations are reported, not judged. Where the model
 * cannot carry the steps out (a register the CPU lacks, a component the variant does not enable,
 * a buffer a step could not make) the cell is "not applicable" and says why: that is the scenario
 * saying what it needs.
 */
import { showForPeople, showValue, type RunOutcome } from '../scenario/run.js';
import { passed } from '../scenario/report.js';

/** What became of one scenario x CPU x variant. */
export enum CellResult {
  /** One of the scenario's own cells; every expectation held. */
  Pass = 'pass',
  /** One of the scenario's own cells; an expectation failed or a step could not be carried out. */
  Fail = 'fail',
  /** Outside the scenario's own CPUs and kernels: ran, observations reported, nothing expected. */
  Observed = 'observed',
  /** Outside the scenario's own CPUs and kernels: a step cannot be carried out there (`reason`). */
  NotApplicable = 'n/a',
}

export interface MatrixCell {
  scenario: string;
  file: string;
  cpu: string;
  kernel: string;
  result: CellResult;
  /** Why the cell is not applicable (the step and what it needs). */
  reason?: string;
  /** The run (without its buffers); absent only when the scenario could not start. */
  outcome?: Omit<RunOutcome, 'buffers'>;
}

/** Whether (cpu, kernel) is one of the cells the scenario was written for. */
export function isOwnCell(s: { cpus: string[]; kernels: string[] }, cpu: string, kernel: string): boolean {
  return s.cpus.includes(cpu) && s.kernels.includes(kernel);
}

export function classifyCell(own: boolean, o: RunOutcome): MatrixCell {
  const { buffers: _buffers, ...outcome } = o;
  void _buffers;
  const base = { scenario: o.scenario, file: o.file, cpu: o.cpu, kernel: o.variant, outcome };
  if (own) return { ...base, result: passed(o) ? CellResult.Pass : CellResult.Fail };
  // Checks are not made outside the scenario's own cells.
  const unjudged = { ...base, outcome: { ...outcome, checks: [] } };
  return o.error ? { ...unjudged, result: CellResult.NotApplicable, reason: o.error } : { ...unjudged, result: CellResult.Observed };
}

export interface MatrixCounts { pass: number; fail: number; observed: number; notApplicable: number }

export function countCells(cells: MatrixCell[]): MatrixCounts {
  const n = (r: CellResult): number => cells.filter((c) => c.result === r).length;
  return { pass: n(CellResult.Pass), fail: n(CellResult.Fail), observed: n(CellResult.Observed), notApplicable: n(CellResult.NotApplicable) };
}

export function formatMatrixTable(cells: MatrixCell[], verbose: boolean): string {
  const w = Math.max(8, ...cells.map((c) => c.scenario.length));
  const cw = Math.max(3, ...cells.map((c) => c.cpu.length));
  const vw = Math.max(6, ...cells.map((c) => c.kernel.length));
  const lines = [`${'scenario'.padEnd(w)}  ${'cpu'.padEnd(cw)}  ${'kernel'.padEnd(vw)}  result    checks`];
  for (const c of cells) {
    const o = c.outcome;
    const checks = c.result === CellResult.Pass || c.result === CellResult.Fail ? `${o!.checks.filter((k) => k.pass).length}/${o!.checks.length}` : c.result === CellResult.Observed ? `${Object.keys(o!.observations).length} observations` : '-';
    lines.push(`${c.scenario.padEnd(w)}  ${c.cpu.padEnd(cw)}  ${c.kernel.padEnd(vw)}  ${(c.result === CellResult.Fail ? 'FAIL' : c.result).padEnd(8)}  ${checks}`);
    if (c.reason) lines.push(`    not applicable: ${c.reason}`);
    else if (o?.error) lines.push(`    error: ${o.error}`);
    for (const k of o?.checks ?? []) if (!k.pass || verbose) lines.push(`    ${k.pass ? 'ok  ' : 'FAIL'} ${k.name}: expected ${showForPeople(k.expected)}, observed ${showForPeople(k.observed)}`);
    if (verbose && o) for (const [k, v] of Object.entries(o.observations)) if (!o.checks.some((x) => x.name === k)) lines.push(`         ${k} = ${showForPeople(v)}`);
  }
  const n = countCells(cells);
  lines.push(`${n.pass} passed, ${n.fail} failed (the scenarios' own CPUs and kernels); ${n.observed} observed, ${n.notApplicable} not applicable (elsewhere)`);
  return lines.join('\n');
}

export function formatMatrixJson(cells: MatrixCell[], cpus: string[], kernels: string[]): string {
  return JSON.stringify({
    format: 'xstate-lab.matrix/1', cpus, kernels, counts: countCells(cells),
    cells: cells.map((c) => ({
      scenario: c.scenario, file: c.file, cpu: c.cpu, kernel: c.kernel, result: c.result, reason: c.reason,
      error: c.result === CellResult.Fail ? c.outcome?.error : undefined,
      checks: (c.outcome?.checks ?? []).map((k) => ({ name: k.name, expected: showValue(k.expected as never), observed: showValue(k.observed as never), pass: k.pass })),
      observations: c.outcome?.observations ?? {},
    })),
  }, null, 2);
}

export function formatMatrixTap(cells: MatrixCell[]): string {
  const lines = ['TAP version 13', `1..${cells.length}`];
  cells.forEach((c, i) => {
    const name = `${c.scenario} on ${c.cpu} with ${c.kernel}`;
    if (c.result === CellResult.NotApplicable) lines.push(`ok ${i + 1} - ${name} # SKIP not applicable: ${c.reason}`);
    else if (c.result === CellResult.Observed) lines.push(`ok ${i + 1} - ${name} # SKIP observed only (not one of the scenario's own CPUs and kernels)`);
    else {
      lines.push(`${c.result === CellResult.Pass ? 'ok' : 'not ok'} ${i + 1} - ${name}`);
      if (c.result === CellResult.Fail) {
        lines.push('  ---');
        if (c.outcome?.error) lines.push(`  error: ${JSON.stringify(c.outcome.error)}`);
        for (const k of (c.outcome?.checks ?? []).filter((x) => !x.pass)) lines.push(`  ${k.name}: { expected: ${JSON.stringify(showValue(k.expected as never))}, observed: ${JSON.stringify(showValue(k.observed as never))} }`);
        lines.push('  ...');
      }
    }
  });
  return lines.join('\n');
}
