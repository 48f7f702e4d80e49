/**
 * explain: the area description (text and HTML rendered in headless Chromium), and real buffers
 * made on this host (PTRACE_GETREGSET, a signal frame, a core file) decoded field by field, plus
 * tampered and hand-built ones that must be flagged.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CpuModel } from '../emulator/cpu-model.js';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { XFeature } from '../emulator/xfeatures.js';
import { computeLayout } from '../src/commands/layout.js';
import { describeArea } from '../src/explain/area.js';
import { LABEL_GAP, NOT_TO_SCALE, renderAreaHtml } from '../src/explain/html.js';
import { FPX_SW, FP_XSTATE_MAGIC1, HEADER, NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE, USER_XSTATE_XCR0_OFFSET } from '../src/explain/abi.js';
import { BufferFormat, Severity, decodeBuffer, type Decoded } from '../src/explain/decode.js';
import { readCoreNotes, writeNotesCore } from '../src/explain/elf-notes.js';
import { encodeLayoutNote, layoutNoteFor } from '../src/readers/layout-note.js';
import { ReadVerdict } from '../src/readers/compare.js';
import { hostModel } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
const CHROMIUM = '/usr/bin/chromium';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'xstate-explain-'));
const cli = (...args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
const field = (d: Decoded, name: string) => d.fields.find((f) => f.name === name);
const errors = (d: Decoded) => d.findings.filter((f) => f.severity === Severity.Error);

/** A ptrace-style image Linux would produce on `cpu` for `xcr0`, with k1 and PKRU set. */
function syntheticPtraceImage(cpu: CpuModel, xcr0: number): Uint8Array {
  const b = new Uint8Array(cpu.standardSize(xcr0));
  const v = new DataView(b.buffer);
  v.setUint16(0, 0x37f, true); // FCW_INIT
  v.setUint32(24, 0x1f80, true); // MXCSR_INIT
  v.setBigUint64(USER_XSTATE_XCR0_OFFSET, BigInt(xcr0), true);
  let bv = 0b10;
  if (cpu.components[XFeature.OPMASK] && (xcr0 >>> XFeature.OPMASK) & 1) { v.setBigUint64(cpu.components[XFeature.OPMASK]!.standardOffset + 8, 0xbeefn, true); bv |= 1 << XFeature.OPMASK; }
  if (cpu.components[XFeature.PKRU] && (xcr0 >>> XFeature.PKRU) & 1) { v.setUint32(cpu.components[XFeature.PKRU]!.standardOffset, 0x55555554, true); bv |= 1 << XFeature.PKRU; }
  v.setBigUint64(HEADER.XSTATE_BV, BigInt(bv), true);
  return b;
}

describe('explain --cpu', () => {
  it('text shows both formats, the header, and both meanings of bytes 464..511', () => {
    const r = cli('explain', '--cpu', 'intel-sapphire-rapids');
    expect(r.status).toBe(0);
    const cpu = resolveCpu('intel-sapphire-rapids');
    const d = describeArea(cpu);
    const std = computeLayout(cpu, d.xcr0, 0, false), cmp = computeLayout(cpu, d.xcr0, 0, true);
    expect(r.stdout).toContain(`size ${std.size}`);
    expect(r.stdout).toContain(`XCOMP_BV ${cmp.xcompBv}`);
    for (const reg of cmp.regions.filter((x) => x.kind === 'padding')) expect(r.stdout).toMatch(new RegExp(`${reg.offset}\\s+${reg.size}\\s+padding`));
    expect(r.stdout).toContain('0x46505853'); // magic1
    expect(r.stdout).toContain(`${std.size + 4} (xstate_size + 4`);
    expect(r.stdout).toContain(`${std.size}..${std.size + 3} FP_XSTATE_MAGIC2`);
    expect(r.stdout).toMatch(/464\.\.471\s+xstate_fx_sw_bytes\[0\]\s+0x602e7/);
  });
  it('a CPU without XSAVEC says there is no compacted format', () => {
    expect(cli('explain', '--cpu', 'intel-sandy-bridge').stdout).toContain('no compacted format');
  });
  it('--html never overwrites', () => {
    const f = join(tmp(), 'a.html');
    writeFileSync(f, 'keep');
    const r = cli('explain', '--cpu', 'amd-zen4', '--html', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('exists');
    expect(readFileSync(f, 'utf8')).toBe('keep');
  });
  it('the HTML page is self-contained', () => {
    const f = join(tmp(), 'zen4.html');
    expect(cli('explain', '--cpu', 'amd-zen4', '--html', f).status).toBe(0);
    const html = readFileSync(f, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(|@import/i);
    expect(html.replace('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/); // the SVG namespace is a name, not a fetch
  });
});

describe('the HTML drawing: labels, links, scale, width (issue 14)', () => {
  for (const id of builtinProfileIds()) {
    it(`${id}: offset labels apart and outside the links; says it is not to scale; no fixed width`, () => {
      const html = renderAreaHtml(describeArea(resolveCpu(id)));
      const svgTag = /<svg [^>]*>/.exec(html)![0];
      expect(svgTag).toMatch(/ width="100%"/);
      expect(svgTag).not.toMatch(/ width="\d+"| height="\d+"/);
      expect(html).toContain(`<p id="scale-note">${NOT_TO_SCALE.replace(/'/g, "'")}</p>`);
      expect(html).toMatch(/<text class="scale-note"[^>]*>not to scale/);
      const labels = [...html.matchAll(/<text class="offset" data-layout="(\w+)" x="([\d.]+)" y="([\d.]+)"/g)].map((m) => ({ layout: m[1]!, x: Number(m[2]), y: Number(m[3]) }));
      for (const layout of ['standard', 'compacted']) {
        const ys = labels.filter((l) => l.layout === layout).map((l) => l.y);
        for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!, `${layout} label ${i}`).toBeGreaterThanOrEqual(LABEL_GAP);
      }
      // Every link runs between the columns: from the standard column's right edge to the compacted one's left edge.
      const links = [...html.matchAll(/<path class="link[^"]*" d="M([\d.]+),[\d.]+ C[^"]* ([\d.]+),[\d.]+"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
      for (const [from, to] of links) {
        for (const l of labels) expect(l.x < from || l.x > to, `label at x ${l.x} inside the links' span ${from}..${to}`).toBe(true);
      }
    });
  }
});

describe('the HTML page in headless Chromium', () => {
  const have = existsSync(CHROMIUM);
  if (!have) console.log(`SKIPPED: ${CHROMIUM} is absent; scripts/setup.sh must install Debian's 'chromium' package`);
  const chromium = (dir: string, ...args: string[]) => spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`, ...args], { encoding: 'latin1', timeout: 120_000, maxBuffer: 64 << 20 });
  for (const id of ['intel-sapphire-rapids', 'amd-zen4', 'intel-skylake-sp']) {
    it.skipIf(!have)(`${id}: the DOM shows one rect per region, names and offsets; the screenshot is not blank`, () => {
      const dir = tmp();
      const f = join(dir, `${id}.html`);
      expect(cli('explain', '--cpu', id, '--html', f).status).toBe(0);
      const cpu = resolveCpu(id);
      const d = describeArea(cpu);
      const dom = chromium(dir, '--dump-dom', `file://${f}`).stdout;
      const rects = [...dom.matchAll(/<rect class="region" data-layout="(\w+)" data-kind="(\w+)" data-offset="(\d+)" data-size="(\d+)"(?: data-component="(\d+)")?/g)];
      const want = [...d.standard.regions.map((r) => ['standard', r] as const), ...(d.compacted?.regions ?? []).map((r) => ['compacted', r] as const)];
      expect(rects.length).toBe(want.length);
      for (const [layout, r] of want) expect(rects.some((m) => m[1] === layout && m[2] === r.kind && Number(m[3]) === r.offset && Number(m[4]) === r.size)).toBe(true);
      for (const r of d.standard.regions.filter((x) => x.kind === 'component')) {
        expect(dom).toContain(`${r.component} ${r.name} (${r.size})`);
        expect(dom).toContain(`>${r.offset}</text>`);
      }
      expect(dom).toContain('0x46505853');
      const png = join(dir, 'shot.png');
      chromium(dir, `--screenshot=${png}`, '--window-size=1100,1600', `file://${f}`);
      expect(existsSync(png)).toBe(true);
      const img = readFileSync(png);
      expect(img.readUInt32BE(16)).toBe(1100); // IHDR width
      // Concatenated IDAT chunks inflate to the filtered scanlines: a blank page is one value.
      const idat: Buffer[] = [];
      for (let p = 8; p < img.length;) { const len = img.readUInt32BE(p); if (img.toString('latin1', p + 4, p + 8) === 'IDAT') idat.push(img.subarray(p + 8, p + 8 + len)); p += 12 + len; }
      expect(new Set(inflateSync(Buffer.concat(idat))).size).toBeGreaterThan(20);
    });
  }
});

describe('real buffers from this host', () => {
  let dir = '', exe = '', host: CpuModel;
  beforeAll(() => {
    dir = tmp();
    exe = join(dir, 'xstate-dump');
    execFileSync('gcc', ['-O1', '-Wall', '-o', exe, join(import.meta.dirname, 'fixtures', 'explain', 'xstate-dump.c')]);
    host = hostModel();
  });
  const avx512 = () => !!host.components[XFeature.OPMASK];

  it('PTRACE_GETREGSET(NT_X86_XSTATE): detected as ptrace, decoded, nothing flagged', () => {
    const f = join(dir, 'pt.bin');
    execFileSync(exe, ['getregset', f]);
    const d = decodeBuffer(new Uint8Array(readFileSync(f)), host);
    expect(d.format).toBe(BufferFormat.Ptrace);
    expect(errors(d)).toEqual([]);
    expect(field(d, 'YMM0_H')?.value).toBe('0x3f8000003f8000003f8000003f800000');
    if (avx512()) { expect(field(d, 'k1')?.value).toBe('0xbeef'); expect(field(d, 'ZMM16')?.value).toBe('0x' + '11223344'.repeat(16)); }
    if (host.features.pku) expect(field(d, 'PKRU')?.value).toBe('0x55555550');
    // The CPUID-driven reader on the same machine reads everything right.
    expect(d.readers!.find((r) => r.reader.id === 'cpuid')!.components.every((c) => c.verdict === ReadVerdict.Right)).toBe(true);
  });

  it('tampered ptrace images are flagged', () => {
    const orig = new Uint8Array(readFileSync(join(dir, 'pt.bin')));
    const edit = (fn: (v: DataView) => void) => { const b = orig.slice(); fn(new DataView(b.buffer)); return decodeBuffer(b, host, { format: BufferFormat.Ptrace }); };
    expect(errors(edit((v) => v.setUint8(HEADER.RESERVED + 5, 1))).map((f) => f.where)).toContain('header reserved (528..575)');
    expect(errors(edit((v) => v.setBigUint64(HEADER.XCOMP_BV, 1n, true))).map((f) => f.where)).toContain('XCOMP_BV');
    // Bit 8 (PT) is supervisor state: never in a user XSTATE_BV.
    expect(errors(edit((v) => v.setBigUint64(HEADER.XSTATE_BV, v.getBigUint64(HEADER.XSTATE_BV, true) | (1n << 8n), true))).some((f) => f.where === 'XSTATE_BV')).toBe(true);
    if (avx512()) {
      const d = edit((v) => v.setBigUint64(HEADER.XSTATE_BV, v.getBigUint64(HEADER.XSTATE_BV, true) & ~(1n << 5n), true));
      expect(d.findings.some((f) => f.severity === Severity.Warning && f.where === 'opmask')).toBe(true);
    }
  });

  it('a signal frame: detected by magic1, magic2 found after xstate_size; broken magics flagged', () => {
    const f = join(dir, 'sf.bin');
    execFileSync(exe, ['sigframe', f]);
    const bytes = new Uint8Array(readFileSync(f));
    const d = decodeBuffer(bytes, host);
    expect(d.format).toBe(BufferFormat.Sigframe);
    expect(errors(d)).toEqual([]);
    const size = new DataView(bytes.buffer).getUint32(FPX_SW.XSTATE_SIZE, true);
    expect(field(d, 'extended_size')?.value).toBe(String(size + 4));
    expect(field(d, 'FP_XSTATE_MAGIC2')?.offset).toBe(size);
    expect(field(d, 'YMM0_H')?.value).toBe('0x3f8000003f8000003f8000003f800000');
    const bad1 = bytes.slice(); bad1[FPX_SW.MAGIC1] ^= 1;
    expect(errors(decodeBuffer(bad1, host, { format: BufferFormat.Sigframe })).map((x) => x.where)).toContain('magic1');
    const bad2 = bytes.slice(); bad2[size] ^= 1;
    expect(errors(decodeBuffer(bad2, host)).map((x) => x.where)).toContain(`byte ${size}`);
    expect(new DataView(bytes.buffer).getUint32(FPX_SW.MAGIC1, true)).toBe(FP_XSTATE_MAGIC1);
  });

  it('a core file written by this kernel: the NT_X86_XSTATE note decoded', () => {
    const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
    if (pattern.startsWith('|') || pattern.includes('/') || pattern.includes('%')) {
      console.log(`SKIPPED: core_pattern is '${pattern}', not a plain file name in the working directory`);
      return;
    }
    const cwd = tmp();
    spawnSync('bash', ['-c', `ulimit -c unlimited && exec ${exe} abort`], { cwd });
    const core = readdirSync(cwd).find((n) => n.startsWith(pattern));
    if (!core) { console.log(`SKIPPED: no core file appeared in ${cwd} (core_pattern '${pattern}', RLIMIT_CORE or a container may forbid it)`); return; }
    const bytes = new Uint8Array(readFileSync(join(cwd, core)));
    const d = decodeBuffer(bytes, host);
    expect(d.format).toBe(BufferFormat.CoreNote);
    expect(d.core!.xstateNotes).toBeGreaterThanOrEqual(1);
    expect(errors(d)).toEqual([]);
    const mask = d.layoutMask;
    expect(d.size).toBe(host.standardSize(mask));
    if (d.core!.layout) expect(d.core!.layout).toEqual(layoutNoteFor(host, mask)); // Linux 6.12+
    if (avx512()) expect(field(d, 'k1')?.value).toBe('0xbeef');
  });
});

describe('hand-built core files', () => {
  const zen4 = resolveCpu('amd-zen4');
  const xcr0 = 0x2e7;
  const image = syntheticPtraceImage(zen4, xcr0);
  const core = writeNotesCore([
    { name: 'CORE', type: 1, desc: new Uint8Array(336) },
    { name: 'LINUX', type: NT_X86_XSTATE, desc: image },
    { name: 'LINUX', type: NT_X86_XSAVE_LAYOUT, desc: encodeLayoutNote(layoutNoteFor(zen4, xcr0)) },
  ]);
  it('the note reader finds every note', () => {
    expect(readCoreNotes(core, 'core').notes.map((n) => n.type)).toEqual([1, NT_X86_XSTATE, NT_X86_XSAVE_LAYOUT]);
  });
  it('decoded on its own CPU: clean, k1 and PKRU at the AMD offsets', () => {
    const d = decodeBuffer(core, zen4);
    expect(errors(d)).toEqual([]);
    expect(field(d, 'k1')).toMatchObject({ offset: zen4.components[XFeature.OPMASK]!.standardOffset + 8, value: '0xbeef' });
    expect(field(d, 'PKRU')).toMatchObject({ offset: zen4.components[XFeature.PKRU]!.standardOffset, value: '0x55555554' });
  });
  it('decoded for an Intel CPU: the size fits the AMD CPUs, and the layout note disagrees', () => {
    const sky = resolveCpu('intel-skylake-sp');
    const d = decodeBuffer(core, sky);
    const fits = builtinProfileIds().filter((id) => id !== sky.id).filter((id) => { const c = resolveCpu(id); return (xcr0 & ~c.xcr0Supported) === 0 && c.standardSize(xcr0) === image.length; });
    expect(fits).toContain('amd-zen4');
    const size = errors(d).find((f) => f.where === 'size')!;
    for (const id of fits) expect(size.message).toContain(id);
    expect(errors(d).some((f) => f.where === 'NT_X86_XSAVE_LAYOUT')).toBe(true);
  });
  it('a truncated core is a clear error', () => {
    const r = (() => { try { decodeBuffer(core.subarray(0, core.length - 100), zen4, { file: 'short.core' }); return ''; } catch (e) { return (e as Error).message; } })();
    expect(r).toMatch(/short\.core.*past the end/);
  });
  it('the CLI decodes it too', () => {
    const f = join(tmp(), 'hand.core');
    writeFileSync(f, core);
    const r = cli('explain', f, '--cpu', 'amd-zen4');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('core-note image');
    expect(r.stdout).toMatch(/k1\s+0xbeef/);
  });
});
