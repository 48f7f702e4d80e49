/** Plain-text rendering of an AreaDescription (the default output of `explain --cpu`). */
import type { Layout, LayoutRegion } from '../commands/layout.js';
import type { AreaDescription, FieldRow } from './area.js';

const COL = 54;

export function regionLine(r: LayoutRegion): string {
  const name = r.kind === 'component' ? `${r.component} ${r.name}${r.align64 ? ' (align64)' : ''}` : r.kind === 'hole' ? 'hole' : r.kind === 'padding' ? 'padding (64-byte alignment)' : r.kind === 'legacy' ? 'legacy region' : 'XSAVE header';
  return `${String(r.offset).padStart(5)} ${String(r.size).padStart(5)}  ${name}`;
}

function columns(a: Layout, b: Layout | undefined, missing: string | undefined): string[] {
  const left = [`standard (XSAVE, ptrace, cores, signal frames)`, `size ${a.size}`, ` offset  size  region`, ...a.regions.map(regionLine)];
  const right = b ? [`compacted (XSAVEC/XSAVES, XCOMP_BV ${b.xcompBv})`, `size ${b.size}`, ` offset  size  region`, ...b.regions.map(regionLine)] : [missing ?? ''];
  const out: string[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) out.push(`  ${(left[i] ?? '').padEnd(COL)}${right[i] ?? ''}`.trimEnd());
  return out;
}

export function fieldRows(rows: readonly FieldRow[]): string[] {
  return rows.map((r) => `  ${String(r.offset).padStart(4)}..${String(r.offset + r.size - 1).padEnd(4)} ${r.name.padEnd(26)} ${r.value}`);
}

export function renderAreaText(d: AreaDescription): string {
  const lines = [
    `XSAVE area of ${d.cpu} (${d.cpuName}), XCR0 0x${d.xcr0.toString(16)} (${d.xcr0Origin}), IA32_XSS 0x${d.xss.toString(16)}`,
    '',
    ...columns(d.standard, d.compacted, d.compactedMissing),
    '',
    'legacy region (FXSAVE layout), bytes 0..511:',
    ...fieldRows(d.legacy),
    '',
    'XSAVE header, bytes 512..575 (standard format):',
    ...fieldRows(d.headerStandard),
  ];
  if (d.headerCompacted) lines.push('  compacted format:', ...fieldRows(d.headerCompacted.slice(1, 2)));
  lines.push('', 'software-available bytes 464..511 as ptrace (PTRACE_GETREGSET NT_X86_XSTATE) and core files fill them:', ...fieldRows(d.swPtrace));
  lines.push('', 'the same bytes in a signal frame (struct _fpx_sw_bytes):', ...fieldRows(d.swSigframe), ...fieldRows([d.magic2]));
  lines.push('', ...d.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}
