/** Plain-text rendering of a decoded buffer: fields, findings, and how the ptracer readers see it. */
import { formatMask } from '../../emulator/xfeatures.js';
import { formatReaderReport } from '../commands/readers.js';
import { hex } from './abi.js';
import { Severity, type Decoded } from './decode.js';

export function renderDecodedText(d: Decoded): string {
  const lines = [
    `${d.format} image, ${d.size} bytes, decoded for ${d.cpu} (format: ${d.detectedBy})`,
    `XSTATE_BV ${hex(d.xstateBv)}, XCOMP_BV ${hex(d.xcompBv)}, layout from mask ${formatMask(d.layoutMask)}`,
  ];
  if (d.core) lines.push(`core: ${d.core.xstateNotes} NT_X86_XSTATE note(s), ${d.core.prstatusNotes} NT_PRSTATUS; NT_X86_XSAVE_LAYOUT ${d.core.layout ? d.core.layout.map((r) => `${r.type}@${r.offset}+${r.size}`).join(' ') : 'absent (kernel before 6.12)'}`);
  lines.push('', ' offset  size  component     field                                  value');
  for (const f of d.fields) lines.push(`${String(f.offset).padStart(7)} ${String(f.size).padStart(5)}  ${f.component.padEnd(13)} ${f.name.padEnd(38)} ${f.value}`);
  lines.push('');
  const order = [Severity.Error, Severity.Warning, Severity.Note];
  const sorted = [...d.findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  if (sorted.length === 0) lines.push('findings: none, the image is what Linux would produce on this CPU');
  for (const f of sorted) lines.push(`${f.severity.toUpperCase()}: ${f.where}: ${f.message}`);
  if (d.readers) {
    lines.push('', 'how ptracer readers locate the components of this image:');
    for (const r of d.readers) lines.push(...formatReaderReport(r, '    ').map((l, i) => (i === 0 ? '  ' + l : l)));
  }
  return lines.join('\n');
}
