/**
 * One self-contained HTML page (inline CSS and SVG, no script, no external resource) drawing an
 * AreaDescription: the two formats side by side, one <rect class="region"> per layout region,
 * same components joined across the columns, and tables for the legacy region, the header and
 * the software bytes.
 */
import type { Layout, LayoutRegion } from '../commands/layout.js';
import type { AreaDescription, FieldRow } from './area.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Heights grow with log2(size) so that 8-byte PKRU and 8 KiB tile data both stay readable. */
const MIN_H = 20;
const H_PER_DOUBLING = 22;
const BASE_BYTES = 64;
const regionHeight = (size: number): number => Math.round(MIN_H + H_PER_DOUBLING * Math.max(0, Math.log2(size / BASE_BYTES)));

const COLOURS: Record<string, string> = {
  legacy: '#cfe3f7', header: '#f7e3b5', hole: '#ffffff', padding: '#eeeeee',
  avx: '#b8e0b8', bndregs: '#e6c9e6', bndcsr: '#e6c9e6', opmask: '#f4c2a1', zmm_hi256: '#f2d49b', hi16_zmm: '#ecc27a',
  pkru: '#f4a6a6', tilecfg: '#a9d4d9', tiledata: '#8cc4cb', apx: '#c8c8f0',
};
const colour = (r: LayoutRegion): string => COLOURS[r.kind === 'component' ? r.name! : r.kind] ?? '#d9d9d9';

const COL_W = 300;
const GAP = 200;
const LEFT = 70;
const TOP = 40;
/** Room right of the compacted column for its offset labels (they sit outside the gap the links cross). */
const RIGHT_LABELS = 60;
/** Offset labels are 12px text: a label closer than this to the one above it moves down (2432 and 2440 of an 8-byte region would overlap). */
export const LABEL_GAP = 14;
/** The note the drawing carries: heights are not proportional to sizes. */
export const NOT_TO_SCALE = 'Not to scale: a region\'s height grows with log2 of its size (so 8-byte PKRU and 8 KiB of tile data both stay readable); the offsets and sizes written are exact.';

interface Placed { r: LayoutRegion; y: number; h: number }

function place(l: Layout): Placed[] {
  let y = TOP;
  return l.regions.map((r) => { const p = { r, y, h: regionHeight(r.size) }; y += p.h; return p; });
}

function label(r: LayoutRegion): string {
  if (r.kind === 'component') return `${r.component} ${r.name} (${r.size})`;
  if (r.kind === 'hole') return `hole (${r.size})`;
  if (r.kind === 'padding') return `padding (${r.size})`;
  return r.kind === 'legacy' ? 'legacy region (512)' : 'XSAVE header (64)';
}

/**
 * One column. Offset labels go on the column's outer side (`labels`): left of the standard
 * column, right of the compacted one, so the links between the columns cross none of them; each
 * label keeps LABEL_GAP below the one above it.
 */
function column(l: Layout, which: string, x: number, placed: Placed[], labels: 'left' | 'right'): string[] {
  const out = [`<text class="title" x="${x}" y="${TOP - 22}">${esc(which)}: ${l.size} bytes</text>`];
  const lx = labels === 'left' ? x - 6 : x + COL_W + 6;
  const anchor = labels === 'left' ? 'end' : 'start';
  let lastY = -Infinity;
  const labelAt = (boundary: number, y: number, text: number): string => {
    const at = Math.max(y, lastY + LABEL_GAP);
    lastY = at;
    // A tick marks the boundary the label names, wherever the label had to go.
    const tx = labels === 'left' ? x - 4 : x + COL_W;
    return `<line class="tick" x1="${tx}" y1="${boundary}" x2="${tx + 4}" y2="${boundary}" stroke="#555"/><text class="offset" data-layout="${which}" x="${lx}" y="${at}" text-anchor="${anchor}">${text}</text>`;
  };
  for (const p of placed) {
    const r = p.r;
    out.push(`<rect class="region" data-layout="${which}" data-kind="${r.kind}" data-offset="${r.offset}" data-size="${r.size}"${r.component !== undefined ? ` data-component="${r.component}" data-name="${esc(r.name!)}"` : ''} x="${x}" y="${p.y}" width="${COL_W}" height="${p.h}" fill="${colour(r)}" stroke="#555"${r.kind === 'hole' ? ' stroke-dasharray="4 3"' : ''}><title>${esc(label(r))} at offset ${r.offset}</title></rect>`);
    out.push(labelAt(p.y, p.y + 13, r.offset));
    out.push(`<text class="name" x="${x + 8}" y="${p.y + Math.min(p.h / 2 + 5, 15)}">${esc(label(r))}</text>`);
  }
  const end = placed.length ? placed[placed.length - 1]!.y + placed[placed.length - 1]!.h : TOP;
  out.push(labelAt(end, end + 4, l.size));
  return out;
}

function svg(d: AreaDescription): string {
  const a = place(d.standard);
  const b = d.compacted ? place(d.compacted) : [];
  const x2 = LEFT + COL_W + GAP;
  const parts = [...column(d.standard, 'standard', LEFT, a, 'left')];
  if (d.compacted) parts.push(...column(d.compacted, 'compacted', x2, b, 'right'));
  // Join each component across the two columns: where it moves is the lesson.
  for (const p of a) {
    if (p.r.kind !== 'component') continue;
    const q = b.find((x) => x.r.kind === 'component' && x.r.component === p.r.component);
    if (!q) continue;
    const moved = q.r.offset !== p.r.offset;
    parts.push(`<path class="link${moved ? ' moved' : ''}" d="M${LEFT + COL_W},${p.y + p.h / 2} C${LEFT + COL_W + GAP / 2},${p.y + p.h / 2} ${x2 - GAP / 2},${q.y + q.h / 2} ${x2},${q.y + q.h / 2}" fill="none" stroke="${moved ? '#c0392b' : '#7f8c8d'}" stroke-width="1.5"/>`);
  }
  const bottom = Math.max(a.length ? a[a.length - 1]!.y + a[a.length - 1]!.h : 0, b.length ? b[b.length - 1]!.y + b[b.length - 1]!.h : 0);
  parts.push(`<text class="scale-note" x="${LEFT}" y="${bottom + 36}">not to scale: heights grow with log2(size)</text>`);
  const height = bottom + 50;
  const width = x2 + COL_W + RIGHT_LABELS;
  // No fixed size: the drawing fills the page's width up to its natural size and keeps its aspect (viewBox).
  return `<svg xmlns="http://www.w3.org/2000/svg" id="layout" width="100%" style="max-width: ${width}px; height: auto" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="XSAVE layouts of ${esc(d.cpu)}">\n<desc>${esc(NOT_TO_SCALE)}</desc>\n${parts.join('\n')}\n</svg>`;
}

function table(caption: string, rows: readonly FieldRow[], id: string): string {
  const body = rows.map((r) => `<tr><td class="num">${r.offset}</td><td class="num">${r.size}</td><td>${esc(r.name)}</td><td>${esc(r.value)}</td></tr>`).join('\n');
  return `<table id="${id}"><caption>${esc(caption)}</caption><thead><tr><th>offset</th><th>size</th><th>field</th><th>holds</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderAreaHtml(d: AreaDescription): string {
  const title = `XSAVE area of ${d.cpu}`;
  const comp = d.compacted ? '' : `<p class="missing">${esc(d.compactedMissing ?? '')}</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font: 14px/1.4 sans-serif; margin: 24px; color: #222; }
svg text { font: 12px monospace; } svg text.title { font: bold 14px sans-serif; } svg text.scale-note { font: italic 12px sans-serif; fill: #555; }
table { border-collapse: collapse; margin: 16px 0; } caption { text-align: left; font-weight: bold; padding: 4px 0; }
td, th { border: 1px solid #bbb; padding: 2px 8px; } td.num { text-align: right; font-family: monospace; }
.missing { color: #a00; } .note { color: #444; }
</style></head>
<body>
<h1>${esc(title)}</h1>
<p id="summary">${esc(d.cpuName)}; XCR0 0x${d.xcr0.toString(16)} (${esc(d.xcr0Origin)}); IA32_XSS 0x${d.xss.toString(16)}. Left: the standard format (XSAVE/XSAVEOPT; what ptrace, core files and signal frames show). Right: the compacted format (XSAVEC/XSAVES). Red links: components whose offset differs between the two.</p>
<p id="scale-note">${esc(NOT_TO_SCALE)}</p>
${comp}
${svg(d)}
${table('legacy region (FXSAVE layout), bytes 0..511', d.legacy, 'legacy')}
${table('XSAVE header, bytes 512..575 (standard format)', d.headerStandard, 'header')}
${d.headerCompacted ? table('XSAVE header, compacted format', d.headerCompacted, 'header-compacted') : ''}
${table('bytes 464..511 as ptrace (PTRACE_GETREGSET NT_X86_XSTATE) and core files fill them', d.swPtrace, 'sw-ptrace')}
${table('bytes 464..511 in a signal frame (struct _fpx_sw_bytes), and FP_XSTATE_MAGIC2 after the image', [...d.swSigframe, d.magic2], 'sw-sigframe')}
${d.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
</body></html>
`;
}
