/**
 * `xstate-lab explain`: with --cpu only, the XSAVE area of a CPU described and drawn (text, or
 * one self-contained HTML file with --html); with a FILE, that buffer decoded field by field.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { InputError } from '../errors.js';
import { describeArea } from '../explain/area.js';
import { BufferFormat, decodeBuffer } from '../explain/decode.js';
import { renderDecodedText } from '../explain/decode-text.js';
import { renderAreaHtml } from '../explain/html.js';
import { renderAreaText } from '../explain/text.js';

export interface ExplainOptions {
  xcr0?: number;
  xss?: number;
  html?: string;
  format?: string;
  kernel?: string;
  json?: boolean;
}

/** Never overwrites: the page goes to a new file or nowhere. */
export function writeNewFile(path: string, text: string): void {
  if (existsSync(path)) throw new InputError('<command line>', '--html', `${path} exists; give a new file name (explain never overwrites)`);
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (e) {
    throw new InputError('<command line>', '--html', `cannot create ${path}: ${(e as Error).message}`);
  }
}

export function parseFormat(s: string): BufferFormat {
  const f = Object.values(BufferFormat).find((x) => x === s);
  if (!f) throw new InputError('<command line>', '--format', `'${s}': expected one of ${Object.values(BufferFormat).join(', ')}`);
  return f;
}

export function explain(cpu: CpuModel, file: string | undefined, o: ExplainOptions): string {
  if (o.html === '') throw new InputError('<command line>', '--html', 'expected a file name, got an empty one');
  if (file === undefined) {
    if (o.format) throw new InputError('<command line>', '--format', 'only with a FILE to decode');
    const d = describeArea(cpu, { xcr0: o.xcr0, xss: o.xss, kernel: o.kernel });
    if (o.html !== undefined) {
      writeNewFile(o.html, renderAreaHtml(d));
      return `wrote ${o.html} (${d.standard.regions.length + (d.compacted?.regions.length ?? 0)} regions drawn)`;
    }
    return o.json ? JSON.stringify(d, null, 2) : renderAreaText(d);
  }
  if (o.html !== undefined || o.xcr0 !== undefined || o.xss !== undefined) throw new InputError('<command line>', o.html ? '--html' : '--xcr0/--xss', 'not with a FILE: the buffer carries its own masks');
  if (!existsSync(file)) throw new InputError(file, undefined, 'no such file');
  const bytes = new Uint8Array(readFileSync(file));
  const d = decodeBuffer(bytes, cpu, { format: o.format ? parseFormat(o.format) : BufferFormat.Auto, kernel: o.kernel, file });
  return o.json ? JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v), 2) : renderDecodedText(d);
}
