/**
 * Turn a small assembly program into a static x86-64 ELF with GNU binutils:
 * `.S` goes through the C preprocessor (`gcc -c -nostdlib`), `.s` straight to `as`; then
 * `ld -static -nostdlib -e _start`. Outputs go to a folder the caller chooses, never next to
 * the user's source. Assembler and linker complaints become InputErrors naming the source
 * file and the line the assembler reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { NativeBuildError } from '../native.js';

const INSTALL: Record<string, string> = {
  as: 'as not found: apt-get install -y binutils',
  ld: 'ld not found: apt-get install -y binutils',
  gcc: 'gcc not found: apt-get install -y gcc',
};

interface Diagnostic { file: string; line: number; column?: number; message: string }

/**
 * Messages in GNU style: `file:12: Error: ...` (as) and `file:12:5: error: ...` /
 * `file:12:5: fatal error: ...` (gcc's preprocessor). Warnings are not errors and are skipped.
 */
function diagnostics(stderr: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^(.+?):(\d+):(?:(\d+):)? (?:Error|error|fatal error): (.*)$/.exec(l);
    if (m) out.push({ file: m[1]!, line: Number(m[2]), ...(m[3] ? { column: Number(m[3]) } : {}), message: m[4]!.trim() });
  }
  return out;
}

function run(tool: 'gcc' | 'as' | 'ld', args: string[]): { status: number; stderr: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new NativeBuildError(INSTALL[tool]!);
    throw r.error;
  }
  const stderr = r.stderr ?? '';
  // gcc found but not the assembler/linker it drives: "cannot execute 'as': execvp: ...".
  const missing = /cannot execute '(as|ld)'/.exec(stderr);
  if (missing) throw new NativeBuildError(INSTALL[missing[1]!]!);
  return { status: r.status ?? -1, stderr };
}

/**
 * Assemble and link `sourcePath` (`.S` or `.s`) into `outDir`; returns the executable's path
 * (`outDir/<name without extension>`; the object file sits beside it as `<name>.o`).
 */
export function assembleToElf(sourcePath: string, outDir: string): string {
  const ext = extname(sourcePath);
  if (ext !== '.S' && ext !== '.s') {
    throw new InputError(sourcePath, undefined, `expected a .S (assembly through the C preprocessor) or .s (plain assembly) file, got '${ext || 'no extension'}'`);
  }
  if (!existsSync(sourcePath) || !statSync(sourcePath).isFile()) throw new InputError(sourcePath, undefined, 'no such file');
  if (resolve(outDir) === resolve(dirname(sourcePath))) {
    throw new Error(`assembleToElf: outDir ${outDir} is the source's own folder; build products go elsewhere`);
  }
  mkdirSync(outDir, { recursive: true });
  const name = basename(sourcePath, ext);
  const obj = join(outDir, `${name}.o`);
  const exe = join(outDir, name);

  const asm = ext === '.S' ? run('gcc', ['-c', '-nostdlib', '-o', obj, sourcePath]) : run('as', ['--64', '-o', obj, sourcePath]);
  if (asm.status !== 0) {
    const ds = diagnostics(asm.stderr);
    const first = ds[0];
    if (!first) throw new InputError(sourcePath, undefined, `the assembler failed:\n${asm.stderr.trim()}`);
    const fileOf = (d: Diagnostic): string => (resolve(d.file) === resolve(sourcePath) ? sourcePath : d.file);
    const at = (d: Diagnostic): string => `line ${d.line}${d.column !== undefined ? `, column ${d.column}` : ''}`;
    const more = ds.slice(1).map((d) => `\n  ${fileOf(d) === fileOf(first) ? '' : fileOf(d) + ': '}${at(d)}: ${d.message}`).join('');
    throw new InputError(fileOf(first), at(first), first.message + more);
  }

  const link = run('ld', ['-static', '-nostdlib', '-e', '_start', '-o', exe, obj]);
  const noEntry = /cannot find entry symbol _start/.test(link.stderr);
  if (link.status !== 0 || noEntry) {
    const text = link.stderr.trim().split('\n').map((l) => l.replace(/^ld: /, '')).join('\n  ');
    const detail = noEntry && link.status === 0
      ? 'no _start symbol: declare the entry point with `.globl _start` and `_start:`'
      : `linking failed: ${text}`;
    throw new InputError(sourcePath, undefined, detail);
  }
  return exe;
}
