/**
 * The ELF loader against real toolchains and a real kernel: musl-gcc static and static-PIE
 * programs compared with `readelf -lW`; their memory layout and initial stack compared with what
 * Linux itself builds for them (run under `setarch -R`, which turns address randomisation off);
 * bad files rejected with the field named; and hand-made ELF files for the corner cases of
 * elf_load. Needs musl-tools, binutils, gcc and util-linux (setarch).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { NativeBuildError } from '../src/native.js';
import { assembleToElf } from '../src/loader/assemble.js';
import {
  AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ,
  AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_SYSINFO_EHDR, AT_UID,
  buildInitialStack, layoutProcess, parseElf, permString, type ElfImage, type InitialStackInput,
} from '../src/loader/elf.js';

const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-elf-'));
const PAGE = 0x1000n;

function tool(cmd: string, args: string[], pkg: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(`${cmd} not found: apt-get install -y ${pkg}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** The program run under the real kernel: prints its initial stack, brk and /proc/self/maps. */
const PROBE_C = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
_Thread_local int tls_value = 42;
static char bss_block[20000];
int data_value = 7;
static char maps[1 << 16];
int main(int argc, char **argv) {
  unsigned long brk0 = syscall(SYS_brk, 0);
  unsigned long sp = (unsigned long)argv - 8;   /* argc sits just below argv at entry */
  int fd = open("/proc/self/maps", O_RDONLY);
  long n, t = 0;
  while ((n = read(fd, maps + t, sizeof maps - 1 - t)) > 0) t += n;
  close(fd);
  unsigned long top = 0;
  for (char *l = maps; *l;) {
    char *e = strchr(l, '\n');
    if (!e) break;
    if (strstr(l, "[stack]") && strstr(l, "[stack]") < e) { unsigned long a, b; sscanf(l, "%lx-%lx", &a, &b); top = b; }
    l = e + 1;
  }
  printf("values %d %d %d %d\n", argc, tls_value, bss_block[100], data_value);
  printf("sp %lx\ntop %lx\nbrk %lx\nstack ", sp, top, brk0);
  for (unsigned long a = sp; a < top; a++) printf("%02x", *(unsigned char *)a);
  printf("\nmaps\n%s", maps);
  return 0;
}
`;

interface ReadelfPh { type: string; offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; flags: string; align: bigint }
/** `readelf -lW`, parsed. */
function readelf(path: string): { type: string; entry: bigint; phnum: number; phoff: bigint; ph: ReadelfPh[] } {
  const out = tool('readelf', ['-lW', path], 'binutils');
  const ph = [...out.matchAll(/^\s+(\w+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+) (.{3}) (0x[0-9a-f]+)$/gm)]
    .map((m) => ({ type: m[1]!, offset: BigInt(m[2]!), vaddr: BigInt(m[3]!), filesz: BigInt(m[4]!), memsz: BigInt(m[5]!), flags: m[6]!, align: BigInt(m[7]!) }));
  const hdr = /There are (\d+) program headers, starting at offset (\d+)/.exec(out)!;
  return { type: /Elf file type is (\w+)/.exec(out)![1]!, entry: BigInt(/Entry point (0x[0-9a-f]+)/.exec(out)![1]!), phnum: Number(hdr[1]), phoff: BigInt(hdr[2]!), ph };
}

interface ProbeRun { sp: bigint; top: bigint; brk: bigint; stack: Uint8Array; maps: Array<{ start: bigint; end: bigint; perms: string; path: string }> }
/** Run a probe with ASLR off (personality ADDR_NO_RANDOMIZE) and a fixed environment. */
function runProbe(path: string, args: string[], env: Record<string, string>): ProbeRun {
  const r = spawnSync('setarch', ['x86_64', '-R', path, ...args], { encoding: 'utf8', env });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('setarch not found: apt-get install -y util-linux');
  expect(r.status, r.stderr).toBe(0);
  const field = (k: string): string => new RegExp(`^${k} (\\S+)$`, 'm').exec(r.stdout)![1]!;
  const maps = r.stdout.split('\nmaps\n')[1]!.trim().split('\n').map((l) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(l)!;
    return { start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), perms: m[3]!.slice(0, 3), path: m[4]! };
  });
  return { sp: BigInt('0x' + field('sp')), top: BigInt('0x' + field('top')), brk: BigInt('0x' + field('brk')), stack: Buffer.from(field('stack'), 'hex'), maps };
}

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

const u64 = (b: Uint8Array, off: number): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
const cstrAt = (b: Uint8Array, off: number): string => Buffer.from(b.subarray(off, b.indexOf(0, off))).toString('utf8');

let staticExe = '', pieExe = '', dynExe = '';
let staticBytes: Uint8Array, pieBytes: Uint8Array;

beforeAll(() => {
  const src = join(tmp, 'probe.c');
  writeFileSync(src, PROBE_C);
  staticExe = join(tmp, 'probe-static');
  tool('musl-gcc', ['-static', '-O1', '-o', staticExe, src], 'musl-tools');
  // The musl-gcc wrapper's specs ignore -static-pie, but musl supports static PIE through
  // rcrt1.o: link it the way gcc's own -static-pie does (-static -pie --no-dynamic-linker).
  const muslLib = dirname(/(\S+\/Scrt1\.o)/.exec(spawnSync('musl-gcc', ['-###', '-x', 'c', '/dev/null', '-o', '/dev/null'], { encoding: 'utf8' }).stderr)![1]!);
  const gccFile = (f: string): string => tool('gcc', [`-print-file-name=${f}`], 'gcc').trim();
  pieExe = join(tmp, 'probe-pie');
  tool('musl-gcc', ['-fPIE', '-O1', '-nostartfiles', '-Wl,-static,-pie,--no-dynamic-linker,-z,text', '-o', pieExe,
    join(muslLib, 'rcrt1.o'), join(muslLib, 'crti.o'), gccFile('crtbeginS.o'), src, gccFile('crtendS.o'), join(muslLib, 'crtn.o')], 'musl-tools');
  dynExe = join(tmp, 'probe-dynamic');
  tool('gcc', ['-O1', '-o', dynExe, src], 'gcc');
  staticBytes = readFileSync(staticExe);
  pieBytes = readFileSync(pieExe);
});

describe('parseElf on real programs, checked against readelf -lW', () => {
  for (const which of ['static', 'static-pie'] as const) {
    it(`${which}: type, entry, PT_LOAD segments, PT_TLS, PT_GNU_STACK and AT_PHDR`, () => {
      const path = which === 'static' ? staticExe : pieExe;
      const img = parseElf(which === 'static' ? staticBytes : pieBytes, path);
      const re = readelf(path);
      expect(img.type).toBe(which === 'static' ? 'exec' : 'pie');
      expect(re.type).toBe(which === 'static' ? 'EXEC' : 'DYN');
      expect(re.ph.some((p) => p.type === 'INTERP')).toBe(false);
      expect(img.entry).toBe(re.entry);
      const loads = re.ph.filter((p) => p.type === 'LOAD');
      expect(loads.length).toBeGreaterThanOrEqual(2);
      expect(img.segments.map((s) => ({ offset: s.offset, vaddr: s.vaddr, filesz: s.filesz, memsz: s.memsz, align: s.align, flags: `${s.flags.r ? 'R' : ' '}${s.flags.w ? 'W' : ' '}${s.flags.x ? 'E' : ' '}` })))
        .toEqual(loads.map((p) => ({ offset: p.offset, vaddr: p.vaddr, filesz: p.filesz, memsz: p.memsz, align: p.align, flags: p.flags })));
      for (let i = 1; i < img.segments.length; i++) expect(img.segments[i]!.vaddr).toBeGreaterThanOrEqual(img.segments[i - 1]!.vaddr + img.segments[i - 1]!.memsz);
      const home = img.segments.find((s) => img.entry >= s.vaddr && img.entry < s.vaddr + s.memsz)!;
      expect(home.flags.x).toBe(true);
      const tls = re.ph.find((p) => p.type === 'TLS')!;
      expect(img.tls).toMatchObject({ offset: tls.offset, vaddr: tls.vaddr, filesz: tls.filesz, memsz: tls.memsz, align: tls.align });
      const stack = re.ph.find((p) => p.type === 'GNU_STACK')!;
      expect(img.gnuStack).toEqual({ present: true, executable: stack.flags.includes('E') });
      expect(img.phdr.num).toBe(re.phnum);
      expect(img.phdr.entsize).toBe(56);
      // The first PT_LOAD holds the ELF header and the program headers in both programs.
      expect(img.phdr.mapped).toBe(true);
      expect(img.phdr.vaddr).toBe(loads[0]!.vaddr + re.phoff - loads[0]!.offset);
    });
  }

  it('layoutProcess: page-aligned mappings holding each segment\'s file bytes, zero bss, brk after the image', () => {
    for (const [bytes, path, base] of [[staticBytes, staticExe, 0n], [pieBytes, pieExe, 0x7f0000000000n]] as const) {
      const img = parseElf(bytes, path);
      const lay = layoutProcess(img, { pieBase: base });
      expect(lay.loadBias).toBe(img.type === 'exec' ? 0n : base);
      expect(lay.entry).toBe(img.entry + lay.loadBias);
      /** Read process memory through the mappings (a range may cross from file pages to bss pages). */
      const read = (addr: bigint, n: number): Uint8Array => {
        const out = new Uint8Array(n);
        for (let i = 0; i < n;) {
          const a = addr + BigInt(i);
          const m = lay.mappings.find((x) => a >= x.start && a < x.start + x.size);
          expect(m, `nothing mapped at ${a.toString(16)}`).toBeDefined();
          const chunk = m!.bytes.subarray(Number(a - m!.start), Number(a - m!.start) + (n - i));
          out.set(chunk, i);
          i += chunk.length;
        }
        return out;
      };
      for (let i = 0; i < lay.mappings.length; i++) {
        const m = lay.mappings[i]!;
        expect(m.start % PAGE).toBe(0n);
        expect(m.size % PAGE).toBe(0n);
        expect(BigInt(m.bytes.length)).toBe(m.size);
        if (i > 0) expect(m.start).toBeGreaterThanOrEqual(lay.mappings[i - 1]!.start + lay.mappings[i - 1]!.size);
      }
      let end = 0n;
      for (const s of img.segments) {
        const v = s.vaddr + lay.loadBias;
        expect(Buffer.from(read(v, Number(s.filesz))).equals(Buffer.from(bytes.subarray(Number(s.offset), Number(s.offset + s.filesz))))).toBe(true);
        if (s.memsz > s.filesz) {
          expect(s.flags.w).toBe(true);
          expect(read(v + s.filesz, Number(s.memsz - s.filesz)).every((b) => b === 0)).toBe(true);
        }
        for (const m of lay.mappings.filter((x) => x.segment === s.index && x.kind === 'file')) expect(m.perms).toEqual(s.flags);
        if (v + s.memsz > end) end = v + s.memsz;
      }
      expect(lay.brk).toBe((end + PAGE - 1n) & ~(PAGE - 1n));
      expect(lay.phdr).toBe(img.phdr.vaddr + lay.loadBias);
      // The mapped program headers are the file's.
      expect(Buffer.from(read(lay.phdr, 56 * img.phdr.num)).equals(Buffer.from(bytes.subarray(Number(img.phdr.offset), Number(img.phdr.offset) + 56 * img.phdr.num)))).toBe(true);
    }
  });
});

describe('the layout and the initial stack match what Linux builds (setarch -R)', () => {
  const args = ['first arg', 'ünïcödé', ''];
  const env = { FOO: 'bar', EMPTY: '', LONGER_VARIABLE: 'x'.repeat(100) };

  it('static: mappings, brk and the [stack] permission are those of the real process', () => {
    const run = runProbe(staticExe, args, env);
    const img = parseElf(staticBytes, staticExe);
    const lay = layoutProcess(img);
    const lo = lay.mappings[0]!.start, hi = lay.mappings.at(-1)!.start + lay.mappings.at(-1)!.size;
    const real = run.maps.filter((m) => m.start >= lo && m.end <= hi).map((m) => ({ start: m.start, end: m.end, perms: m.perms }));
    expect(real).toEqual(lay.mappings.map((m) => ({ start: m.start, end: m.start + m.size, perms: permString(m.perms) })));
    expect(run.brk).toBe(lay.brk);
    expect(run.maps.find((m) => m.path === '[stack]')!.perms).toBe(lay.stackExecutable ? 'rwx' : 'rw-');
  });

  it('static PIE: mappings match the real process at the base Linux chose', () => {
    const run = runProbe(pieExe, args, env);
    const img = parseElf(pieBytes, pieExe);
    // Linux maps a static PIE wherever mmap puts it; find that base from the file mapping of offset 0.
    const first = run.maps.find((m) => m.path === pieExe)!;
    const lay = layoutProcess(img, { pieBase: first.start });
    const lo = lay.mappings[0]!.start, hi = lay.mappings.at(-1)!.start + lay.mappings.at(-1)!.size;
    const real = run.maps.filter((m) => m.start >= lo && m.end <= hi).map((m) => ({ start: m.start, end: m.end, perms: m.perms }));
    expect(real).toEqual(lay.mappings.map((m) => ({ start: m.start, end: m.start + m.size, perms: permString(m.perms) })));
  });

  it('buildInitialStack reproduces the real initial stack byte for byte (less the vDSO entry)', () => {
    const run = runProbe(staticExe, args, env);
    const real = run.stack;
    // Decode the real stack: argc, argv, envp, auxv.
    let o = 0;
    const argc = Number(u64(real, o)); o += 8;
    const argvReal: string[] = [];
    for (let i = 0; i < argc; i++, o += 8) argvReal.push(cstrAt(real, Number(u64(real, o) - run.sp)));
    expect(u64(real, o)).toBe(0n); o += 8;
    const envReal: string[] = [];
    for (; u64(real, o) !== 0n; o += 8) envReal.push(cstrAt(real, Number(u64(real, o) - run.sp)));
    o += 8;
    const auxvStart = o;
    const auxvReal: Array<[number, bigint]> = [];
    for (;; o += 16) {
      auxvReal.push([Number(u64(real, o)), u64(real, o + 8)]);
      if (auxvReal.at(-1)![0] === AT_NULL) break;
    }
    expect(argvReal).toEqual([staticExe, ...args]);
    expect(envReal).toEqual(Object.entries(env).map(([k, v]) => `${k}=${v}`));
    const aux = new Map(auxvReal);
    const randomAt = Number(aux.get(AT_RANDOM)! - run.sp);
    const input: InitialStackInput = {
      argv: argvReal, envp: envReal, execfn: staticExe, platform: 'x86_64', stackTop: run.top,
      random16: real.slice(randomAt, randomAt + 16),
      auxv: new Map(auxvReal.filter(([t]) => ![AT_NULL, AT_SYSINFO_EHDR, AT_RANDOM, AT_EXECFN, AT_PLATFORM].includes(t))),
    };
    const built = buildInitialStack(input);
    // The kernel's vector starts with AT_SYSINFO_EHDR (the vDSO), which this model never writes:
    // one 16-byte pair less, so everything below the strings sits 16 bytes higher.
    const vdso = auxvReal[0]![0] === AT_SYSINFO_EHDR;
    const withoutVdso = vdso ? Buffer.concat([real.subarray(0, auxvStart), real.subarray(auxvStart + 16)]) : Buffer.from(real);
    expect(built.sp).toBe(run.sp + (vdso ? 16n : 0n));
    expect(built.bytes.length).toBe(withoutVdso.length);
    expect(Buffer.from(built.bytes).equals(withoutVdso)).toBe(true);
    // And the values the program saw agree with the loader's.
    const lay = layoutProcess(parseElf(staticBytes, staticExe));
    expect(aux.get(AT_ENTRY)).toBe(lay.entry);
    expect(aux.get(AT_PHDR)).toBe(lay.phdr);
    expect(aux.get(AT_BASE)).toBe(0n);
  });
});

describe('bad files are InputErrors naming the field', () => {
  it('truncated copies, cut at several sizes', () => {
    const re = readelf(staticExe);
    const text = re.ph.find((p) => p.type === 'LOAD' && p.flags.includes('E'))!;
    const cut = (n: number): string => {
      const f = join(tmp, `cut-${n}`);
      writeFileSync(f, staticBytes.subarray(0, n));
      return inputError(() => parseElf(readFileSync(f), 'prog')).message;
    };
    expect(cut(3)).toBe('prog: ELF header: truncated: the ELF header ends at byte 64 but the file has 3 bytes');
    expect(cut(40)).toBe('prog: ELF header: truncated: the ELF header ends at byte 64 but the file has 40 bytes');
    const inPh2 = Number(re.phoff) + 2 * 56 + 10;
    expect(cut(inPh2)).toBe(`prog: program header 2: truncated: the program header at e_phoff + 112 ends at byte ${Number(re.phoff) + 3 * 56} but the file has ${inPh2} bytes`);
    const inText = Number(text.offset + text.filesz / 2n);
    const textIndex = re.ph.indexOf(text);
    expect(cut(inText)).toBe(`prog: program header ${textIndex} (PT_LOAD at byte ${Number(re.phoff) + textIndex * 56}): truncated: the PT_LOAD segment (p_offset + p_filesz) ends at byte ${text.offset + text.filesz} but the file has ${inText} bytes`);
    expect(cut(0)).toMatch(/^prog: e_ident\[EI_MAG0\.\.3\]: expected 7f 45 4c 46 .*got an empty file: not an ELF file$/);
  });

  it('a non-x86-64 ELF (e_machine patched to ARM)', () => {
    const b = Buffer.from(staticBytes);
    b.writeUInt16LE(40, 18);
    expect(inputError(() => parseElf(b, 'prog')).message).toBe('prog: e_machine: expected 62 (EM_X86_64), got 40 (ARM): only x86-64 programs run here');
    b.writeUInt16LE(3, 18);
    expect(inputError(() => parseElf(b, 'prog')).place).toBe('e_machine');
  });

  it('a non-ELF file', () => {
    const e = inputError(() => parseElf(Buffer.from('#!/bin/sh\necho hello\n'), 'hello.sh'));
    expect(e.file).toBe('hello.sh');
    expect(e.place).toBe('e_ident[EI_MAG0..3]');
    expect(e.message).toBe('hello.sh: e_ident[EI_MAG0..3]: expected 7f 45 4c 46 ("\\x7fELF"), got 23 21 2f 62 ("#!/b"): not an ELF file (a script: run its interpreter on it instead)');
  });

  it('a dynamically linked program (gcc default)', () => {
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(tool('readelf', ['-lW', dynExe], 'binutils'))![1]!;
    expect(inputError(() => parseElf(readFileSync(dynExe), 'prog')).message)
      .toMatch(/^prog: program header \d+ \(PT_INTERP at byte \d+\): dynamically linked/);
    expect(inputError(() => parseElf(readFileSync(dynExe), 'prog')).message)
      .toContain(`dynamically linked (PT_INTERP ${interp}): only static programs run here; build with musl-gcc -static or gcc -static`);
  });

  it('header fields: class, type, phentsize', () => {
    const patched = (f: (b: Buffer) => void): InputError => {
      const b = Buffer.from(staticBytes);
      f(b);
      return inputError(() => parseElf(b, 'prog'));
    };
    expect(patched((b) => { b[4] = 1; }).message).toBe('prog: e_ident[EI_CLASS]: expected 2 (ELFCLASS64), got 1 (ELFCLASS32): an x32 or 32-bit program');
    expect(patched((b) => b.writeUInt16LE(1, 16)).message).toBe('prog: e_type: expected 2 (ET_EXEC) or 3 (ET_DYN), got 1 (ET_REL): an object file; link it into an executable first');
    expect(patched((b) => b.writeUInt16LE(32, 54)).message).toBe('prog: e_phentsize: expected 56 (sizeof(Elf64_Phdr)), got 32');
    expect(patched((b) => b.writeUInt16LE(0, 56)).message).toBe('prog: e_phnum: expected at least 1 program header, got 0');
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made ELF files for what compilers do not produce
// ---------------------------------------------------------------------------------------------

interface Ph { type?: number; flags: number; offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; align?: bigint }
const R = 4, W = 2, X = 1;
function craft(o: { entry: bigint; ph: Ph[]; size: number; type?: number }): Buffer {
  const b = Buffer.alloc(o.size);
  for (let i = 0; i < o.size; i++) b[i] = (i * 7 + 3) & 0xff | 1; // recognisable, never zero
  b.fill(0, 0, 64 + 56 * o.ph.length);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.writeUInt16LE(o.type ?? 2, 16);
  b.writeUInt16LE(62, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(o.entry, 24);
  b.writeBigUInt64LE(64n, 32);
  b.writeUInt16LE(64, 52);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(o.ph.length, 56);
  o.ph.forEach((p, i) => {
    const at = 64 + 56 * i;
    b.writeUInt32LE(p.type ?? 1, at);
    b.writeUInt32LE(p.flags, at + 4);
    b.writeBigUInt64LE(p.offset, at + 8);
    b.writeBigUInt64LE(p.vaddr, at + 16);
    b.writeBigUInt64LE(p.vaddr, at + 24);
    b.writeBigUInt64LE(p.filesz, at + 32);
    b.writeBigUInt64LE(p.memsz, at + 40);
    b.writeBigUInt64LE(p.align ?? 0x1000n, at + 48);
  });
  return b;
}

describe('elf_load corner cases on hand-made files', () => {
  it('a shared page goes to the later segment; read-only bss keeps file bytes; bss pages are rw; filesz 0', () => {
    const file = craft({
      entry: 0x400100n, size: 0x2000,
      ph: [
        { flags: R | X, offset: 0n, vaddr: 0x400000n, filesz: 0x1100n, memsz: 0x1100n },
        { flags: R | W, offset: 0x1200n, vaddr: 0x401200n, filesz: 0x100n, memsz: 0x2000n }, // shares page 0x401000
        { flags: R, offset: 0x1400n, vaddr: 0x405400n, filesz: 0x10n, memsz: 0x1000n }, // read-only, with bss
        { flags: R | W, offset: 0n, vaddr: 0x408000n, filesz: 0n, memsz: 0x10n }, // bss only
        { type: 0x6474e551, flags: R | W, offset: 0n, vaddr: 0n, filesz: 0n, memsz: 0n }, // PT_GNU_STACK
      ],
    });
    const img: ElfImage = parseElf(file, 'crafted');
    expect(img.gnuStack).toEqual({ present: true, executable: false });
    const lay = layoutProcess(img);
    expect(lay.mappings.map((m) => [m.start, m.size, permString(m.perms), m.kind, m.segment])).toEqual([
      [0x400000n, 0x1000n, 'r-x', 'file', 0],
      [0x401000n, 0x1000n, 'rw-', 'file', 1],
      [0x402000n, 0x2000n, 'rw-', 'anon', 1],
      [0x405000n, 0x1000n, 'r--', 'file', 2],
      [0x406000n, 0x1000n, 'rw-', 'anon', 2],
      [0x408000n, 0x1000n, 'rw-', 'anon', 3],
    ]);
    const [text, data, , ro] = lay.mappings;
    expect(Buffer.from(text!.bytes).equals(file.subarray(0, 0x1000))).toBe(true);
    // Page 0x401000 is the file page at 0x1000 (segment 1's view), zeroed after its p_filesz.
    expect(Buffer.from(data!.bytes.subarray(0, 0x300)).equals(file.subarray(0x1000, 0x1300))).toBe(true);
    expect(data!.bytes.subarray(0x300).every((v) => v === 0)).toBe(true);
    // padzero fails on a read-only mapping, so the rest of that page is the file's.
    expect(Buffer.from(ro!.bytes).equals(file.subarray(0x1000, 0x2000))).toBe(true);
    expect(lay.mappings.filter((m) => m.kind === 'anon').every((m) => m.bytes.every((v) => v === 0))).toBe(true);
    expect(lay.brk).toBe(0x409000n);
    expect(lay.phdr).toBe(0x400040n);
    expect([lay.startCode, lay.endCode, lay.startData, lay.endData]).toEqual([0x400000n, 0x401100n, 0x408000n, 0x408000n]); // end_data: max p_vaddr + p_filesz, even for filesz 0
  });

  it('a static PIE is placed at pieBase, page-aligned down from the first p_vaddr', () => {
    const file = craft({ type: 3, entry: 0x1010n, size: 0x2000, ph: [{ flags: R | X, offset: 0x800n, vaddr: 0x800n, filesz: 0x1000n, memsz: 0x1800n }] });
    const img = parseElf(file, 'pie');
    expect(img.type).toBe('pie');
    const lay = layoutProcess(img); // default: 0x555555554000
    expect(lay.loadBias).toBe(0x555555554000n - 0x1000n);
    expect(lay.entry).toBe(lay.loadBias + 0x1010n);
    expect(lay.mappings[0]!.start).toBe(0x555555553000n);
    expect(Buffer.from(lay.mappings[0]!.bytes.subarray(0, 0x1000)).equals(file.subarray(0, 0x1000))).toBe(true);
    expect(lay.brk).toBe(0x555555555000n); // ELF_PAGEALIGN(bias + 0x800 + 0x1800)
  });

  it('AT_PHDR comes from the PT_LOAD whose file bytes hold e_phoff, not from PT_PHDR', () => {
    const at40 = parseElf(craft({
      entry: 0x401000n, size: 0x2000,
      ph: [
        { type: 6, flags: R, offset: 64n, vaddr: 0x999040n, filesz: 112n, memsz: 112n }, // PT_PHDR lying about the address
        { flags: R | X, offset: 0x30n, vaddr: 0x400030n, filesz: 0x1800n, memsz: 0x1800n },
      ],
    }), 'prog');
    expect(at40.phdr).toMatchObject({ vaddr: 0x400040n, mapped: true, num: 2 });
    const unmapped = parseElf(craft({ entry: 0x401000n, size: 0x2000, ph: [{ flags: R | X, offset: 0x1000n, vaddr: 0x401000n, filesz: 0x100n, memsz: 0x100n }] }), 'prog');
    expect(unmapped.phdr).toMatchObject({ vaddr: 0n, mapped: false });
    expect(layoutProcess(unmapped).phdr).toBe(0n); // Linux passes 0 + load bias
  });

  it('segment errors name the program header and the rule', () => {
    const bad = (ph: Ph[], entry = 0x400100n): string => inputError(() => parseElf(craft({ entry, size: 0x3000, ph }), 'prog')).message;
    const text: Ph = { flags: R | X, offset: 0n, vaddr: 0x400000n, filesz: 0x1000n, memsz: 0x1000n };
    expect(bad([text, { flags: R | W, offset: 0x1000n, vaddr: 0x401000n, filesz: 0x200n, memsz: 0x100n }]))
      .toBe('prog: program header 1 (PT_LOAD at byte 120): p_filesz 0x200 is larger than p_memsz 0x100; expected p_filesz <= p_memsz');
    expect(bad([text, { flags: R | W, offset: 0x1000n, vaddr: 0x400800n, filesz: 0x100n, memsz: 0x100n }]))
      .toMatch(/^prog: program header 1 \(PT_LOAD at byte 120\): p_vaddr 0x400800 and p_offset 0x1000 differ modulo the page size/);
    expect(bad([text, { flags: R | W, offset: 0x1800n, vaddr: 0x400800n, filesz: 0x100n, memsz: 0x100n }]))
      .toBe('prog: program header 1 (PT_LOAD at byte 120): p_vaddr 0x400800 overlaps the PT_LOAD of program header 0 (0x400000..0x401000); expected PT_LOAD segments not to overlap');
    expect(bad([{ ...text, vaddr: 0x500000n }, { flags: R | W, offset: 0x1000n, vaddr: 0x401000n, filesz: 0x100n, memsz: 0x100n }], 0x500100n))
      .toMatch(/^prog: program header 1 \(PT_LOAD at byte 120\): p_vaddr 0x401000 is below the 0x500000 of program header 0; expected PT_LOAD segments in ascending p_vaddr order/);
    expect(bad([text, { flags: R | W, offset: 0x1000n, vaddr: 0x401000n, filesz: 0x100n, memsz: 0x100n }], 0x401010n))
      .toBe('prog: e_entry: 0x401010 is not inside an executable (PF_X) PT_LOAD segment; it is inside the rw- segment of program header 1; the executable segments are 0x400000..0x401000 (program header 0)');
    expect(bad([text, { flags: R | W, offset: 0x2800n, vaddr: 0x402800n, filesz: 0x1000n, memsz: 0x1000n }]))
      .toBe('prog: program header 1 (PT_LOAD at byte 120): truncated: the PT_LOAD segment (p_offset + p_filesz) ends at byte 14336 but the file has 12288 bytes');
    expect(bad([{ ...text, type: 4 }])).toBe('prog: program headers: no PT_LOAD program header: nothing to load');
    expect(bad([{ ...text, vaddr: 0x7ffffffff000n }], 0x7ffffffff010n)).toMatch(/does not fit below 0x7ffffffff000 \(TASK_SIZE/);
  });
});

describe('buildInitialStack', () => {
  const auxv = new Map<number, bigint>([
    [AT_MINSIGSTKSZ, 3376n], [AT_HWCAP, 0x178bfbffn], [AT_PAGESZ, 4096n], [AT_CLKTCK, 100n], [AT_PHDR, 0x400040n],
    [AT_PHENT, 56n], [AT_PHNUM, 6n], [AT_BASE, 0n], [AT_FLAGS, 0n], [AT_ENTRY, 0x401000n], [AT_UID, 1000n],
    [AT_EUID, 1001n], [AT_GID, 100n], [AT_EGID, 101n], [AT_SECURE, 0n], [AT_HWCAP2, 2n],
  ]);
  const random16 = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const base: InitialStackInput = {
    argv: ['./prog', 'one', 'twö'], envp: ['HOME=/root', 'X='], auxv, execfn: './prog', platform: 'x86_64', random16, stackTop: 0x7ffffffff000n,
  };

  /** Decode a stack the way a libc's _start does, knowing nothing of how it was built. */
  function decode(s: { bytes: Uint8Array; sp: bigint }) {
    const at = (addr: bigint): number => Number(addr - s.sp);
    let o = 0;
    const argc = Number(u64(s.bytes, 0)); o = 8;
    const argv: string[] = [];
    for (let i = 0; i < argc; i++, o += 8) argv.push(cstrAt(s.bytes, at(u64(s.bytes, o))));
    const argvNull = u64(s.bytes, o); o += 8;
    const envp: string[] = [];
    for (; u64(s.bytes, o) !== 0n; o += 8) envp.push(cstrAt(s.bytes, at(u64(s.bytes, o))));
    o += 8;
    const aux: Array<[number, bigint]> = [];
    for (;; o += 16) {
      aux.push([Number(u64(s.bytes, o)), u64(s.bytes, o + 8)]);
      if (aux.at(-1)![0] === 0) break;
    }
    return { argc, argv, argvNull, envp, aux, auxEnd: o + 16, at };
  }

  it('argc, argv, envp, auxv in create_elf_tables order, AT_RANDOM, AT_EXECFN, AT_PLATFORM, rsp % 16', () => {
    const s = buildInitialStack(base);
    expect(s.sp % 16n).toBe(0n);
    expect(s.sp + BigInt(s.bytes.length)).toBe(base.stackTop);
    const d = decode(s);
    expect(d.argc).toBe(3);
    expect(d.argv).toEqual(base.argv);
    expect(d.argvNull).toBe(0n);
    expect(d.envp).toEqual(base.envp);
    expect(d.aux.map(([t]) => t)).toEqual([51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 0]);
    const aux = new Map(d.aux);
    for (const [t, v] of auxv) expect(aux.get(t)).toBe(v);
    expect(aux.get(AT_NULL)).toBe(0n);
    const rnd = d.at(aux.get(AT_RANDOM)!);
    expect([...s.bytes.subarray(rnd, rnd + 16)]).toEqual([...random16]);
    expect(cstrAt(s.bytes, d.at(aux.get(AT_EXECFN)!))).toBe('./prog');
    expect(cstrAt(s.bytes, d.at(aux.get(AT_PLATFORM)!))).toBe('x86_64');
    // The strings: execfn ends one pointer below the top, which stays zero; argv[0] is lowest.
    expect(aux.get(AT_EXECFN)! + 7n).toBe(base.stackTop - 8n);
    expect(u64(s.bytes, s.bytes.length - 8)).toBe(0n);
    expect(s.argStart).toBe(u64(s.bytes, 8));
    expect(s.envEnd).toBe(aux.get(AT_EXECFN)!);
    // Platform string right below the 16-aligned end of the strings, random bytes right below it.
    expect(aux.get(AT_PLATFORM)!).toBe((s.argStart & ~15n) - 7n);
    expect(aux.get(AT_RANDOM)!).toBe(aux.get(AT_PLATFORM)! - 16n);
    // Between the end of auxv and the random bytes: at most 15 bytes of alignment padding, zero.
    const gap = d.at(aux.get(AT_RANDOM)!) - d.auxEnd;
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThan(16);
    expect(s.bytes.subarray(d.auxEnd, d.at(aux.get(AT_RANDOM)!)).every((v) => v === 0)).toBe(true);
    expect(s.auxv).toEqual(d.aux);
  });

  it('rsp stays 16-byte aligned whatever the string lengths and counts', () => {
    for (let n = 0; n < 40; n++) {
      const s = buildInitialStack({ ...base, argv: Array.from({ length: n % 5 + 1 }, (_, i) => 'a'.repeat(i + n)), envp: Array.from({ length: n % 3 }, () => 'E='.padEnd(n + 2, 'e')) });
      expect(s.sp % 16n).toBe(0n);
      expect(decode(s).argv.length).toBe(n % 5 + 1);
    }
  });

  it('an empty argv gets "" as argv[0]; alignRandom shifts everything below the strings', () => {
    const s = buildInitialStack({ ...base, argv: [] });
    expect(decode(s).argv).toEqual(['']);
    const a = buildInitialStack(base), b = buildInitialStack({ ...base, alignRandom: 4000 });
    expect(b.execfn).toBe(a.execfn);
    expect(b.platform).toBe(((a.argStart - 4000n) & ~15n) - 7n);
    expect(b.sp % 16n).toBe(0n);
  });

  it('refuses auxv entries it must compute or cannot back, and missing ones', () => {
    expect(() => buildInitialStack({ ...base, auxv: new Map([...auxv, [AT_SYSINFO_EHDR, 0x7ffff7fc1000n]]) })).toThrow(/no vDSO/);
    expect(() => buildInitialStack({ ...base, auxv: new Map([...auxv, [AT_RANDOM, 1n]]) })).toThrow(/filled in here/);
    const partial = new Map(auxv);
    partial.delete(AT_PHDR);
    expect(() => buildInitialStack({ ...base, auxv: partial })).toThrow(/lacks AT_PHDR/);
    expect(() => buildInitialStack({ ...base, stackTop: 0x7ffffffff008n })).toThrow(/page-aligned/);
  });
});

describe('assembleToElf', () => {
  const dir = join(tmp, 'src');
  const out = join(tmp, 'out');
  mkdirSync(dir, { recursive: true });

  it('a .S program becomes a static ELF in outDir that parses and runs', () => {
    const src = join(dir, 'exit0.S');
    writeFileSync(src, '#define SYS_exit 60\n.globl _start\n_start:\n  mov $SYS_exit, %eax\n  xor %edi, %edi\n  syscall\n');
    const exe = assembleToElf(src, out);
    expect(dirname(exe)).toBe(out);
    const img = parseElf(readFileSync(exe), exe);
    expect(img.type).toBe('exec');
    expect(img.entry).toBe(readelf(exe).entry);
    const home = img.segments.find((s) => img.entry >= s.vaddr && img.entry < s.vaddr + s.memsz)!;
    expect(home.flags.x).toBe(true);
    // mov $60,%eax (b8 3c 00 00 00); xor %edi,%edi (31 ff); syscall (0f 05)
    const at = Number(home.offset + (img.entry - home.vaddr));
    expect([...readFileSync(exe).subarray(at, at + 9)]).toEqual([0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]);
    expect(spawnSync(exe).status).toBe(0);
  });

  it('a .s program (no preprocessor) exits with its status', () => {
    const src = join(dir, 'exit7.s');
    writeFileSync(src, '.globl _start\n_start:\n  mov $60, %eax\n  mov $7, %edi\n  syscall\n');
    expect(spawnSync(assembleToElf(src, out)).status).toBe(7);
  });

  it('a syntax error is an InputError naming the source file and the line', () => {
    const src = join(dir, 'bad.S');
    writeFileSync(src, '.globl _start\n_start:\n  mov $60, %eax\n  movx %eax, %ebx\n  syscall\n  frobnicate\n');
    const e = inputError(() => assembleToElf(src, out));
    expect(e.file).toBe(src);
    expect(e.place).toBe('line 4');
    expect(e.message).toContain("no such instruction: `movx %eax,%ebx'");
    expect(e.message).toContain("line 6: no such instruction: `frobnicate'");
  });

  it('a preprocessor error names the line and column; a missing _start and unresolved symbols are InputErrors', () => {
    const inc = join(dir, 'inc.S');
    writeFileSync(inc, '.globl _start\n#include "missing-header.h"\n_start: ret\n');
    const e = inputError(() => assembleToElf(inc, out));
    expect(e.place).toBe('line 2, column 10');
    expect(e.message).toContain('missing-header.h: No such file or directory');
    const nostart = join(dir, 'nostart.s');
    writeFileSync(nostart, 'begin:\n  ret\n');
    expect(inputError(() => assembleToElf(nostart, out)).message).toContain('no _start symbol');
    const undef = join(dir, 'undef.s');
    writeFileSync(undef, '.globl _start\n_start:\n  call nowhere\n');
    expect(inputError(() => assembleToElf(undef, out)).message).toMatch(/linking failed: .*undefined reference to `nowhere'/s);
  });

  it('refuses other extensions and writing next to the source', () => {
    const c = join(dir, 'prog.asm');
    writeFileSync(c, 'nop\n');
    expect(inputError(() => assembleToElf(c, out)).message).toContain("got '.asm'");
    const src = join(dir, 'here.S');
    writeFileSync(src, '.globl _start\n_start: ret\n');
    expect(() => assembleToElf(src, dir)).toThrow(/source's own folder/);
    expect(existsSync(join(dir, 'here'))).toBe(false);
  });

  it('says which package to install when the tools are missing', () => {
    const src = join(dir, 'tools.s');
    writeFileSync(src, '.globl _start\n_start: ret\n');
    const saved = process.env.PATH;
    process.env.PATH = join(tmp, 'empty-path');
    try {
      expect(() => assembleToElf(src, out)).toThrow(new NativeBuildError('as not found: apt-get install -y binutils'));
      expect(() => assembleToElf(src.replace(/\.s$/, '.S'), out)).toThrow(InputError); // no such file
      writeFileSync(src.replace(/\.s$/, '.S'), '.globl _start\n_start: ret\n');
      expect(() => assembleToElf(src.replace(/\.s$/, '.S'), out)).toThrow(new NativeBuildError('gcc not found: apt-get install -y gcc'));
    } finally {
      process.env.PATH = saved;
    }
  });
});
