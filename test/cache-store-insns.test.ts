/**
 * Instructions the legacy-code survey (src/selfcheck/insn-survey.ts) found stopping runs, now
 * emulated (emulator/general-insns.ts): CLWB, CLFLUSHOPT, MOVDIRI, MOVDIR64B natively-equal on
 * the host for what its CPUID has (the program is built per instruction and runs natively and
 * under `exec --cpu host`); SERIALIZE, PTWRITE, PCONFIG and the CPUID #UD by the SDM on profiles.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostModel } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist/src/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'xstate-lab-cache-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A static program: `body` runs with RDI = a 64-byte aligned buffer of 256 bytes (bytes 0..255), exit status = a checksum of the buffer. */
function build(name: string, body: string): string {
  const src = join(dir, `${name}.S`), exe = join(dir, name);
  writeFileSync(src, `.globl _start
_start:
  lea buf(%rip), %rdi
  xor %ecx, %ecx
1: mov %cl, (%rdi,%rcx)
  inc %ecx
  cmp $256, %ecx
  jne 1b
${body}
  lea buf(%rip), %rdi
  xor %eax, %eax
  xor %ecx, %ecx
2: movzbl (%rdi,%rcx), %edx
  imul $31, %eax
  add %edx, %eax
  inc %ecx
  cmp $256, %ecx
  jne 2b
  mov %eax, %edi
  and $255, %edi
  mov $60, %eax
  syscall
.data
.balign 64
buf: .space 256
`);
  const r = spawnSync('gcc', ['-nostdlib', '-static', '-o', exe, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${src}: ${r.stderr}`);
  return exe;
}
const native = (exe: string): number | string | null => { const r = spawnSync(exe); return r.signal ?? r.status; };
const SIGNAL_EXIT = 128;
const underExec = (cpu: string, exe: string): number | string | null => {
  const r = spawnSync(process.execPath, [CLI, 'exec', '--cpu', cpu, exe], { encoding: 'utf8' });
  // exec reports a guest killed by a signal as 128 + signal number.
  const m = /killed by (SIG[A-Z]+)/.exec(r.stderr);
  return m ? m[1]! : r.status;
};

/** CPUID.(07H,0) bits (SDM Vol. 2A Table 3-8). */
const FEATURES: Record<string, { reg: 1 | 2; bit: number }> = {
  clflushopt: { reg: 1, bit: 23 }, clwb: { reg: 1, bit: 24 }, movdiri: { reg: 2, bit: 27 }, movdir64b: { reg: 2, bit: 28 },
};
const PROGRAMS: Record<string, string> = {
  clflushopt: 'clflushopt 64(%rdi)\n clflushopt 0x1000000',
  clwb: 'clwb 64(%rdi)\n clwb 0x1000000',
  movdiri: 'mov $0x1122334455667788, %rax\n movdiri %rax, 8(%rdi)\n movdiri %eax, 20(%rdi)',
  movdir64b: 'lea 128(%rdi), %rax\n movdir64b 3(%rdi), %rax\n lea 1(%rdi), %rax\n movdir64b (%rdi), %rax',
};

describe('survey-found instructions, natively-equal on the host', () => {
  const host = hostModel();
  const leaf7 = host.cpuid.get(7, 0);
  for (const [name, f] of Object.entries(FEATURES)) {
    it(`${name}: the same outcome natively and under exec --cpu host`, ({ skip }) => {
      if (!((leaf7[f.reg]! >>> f.bit) & 1)) {
        console.log(`${name}: this host's CPUID lacks it; not compared`);
        skip();
      }
      const exe = build(name, PROGRAMS[name]!);
      const n = native(exe);
      console.log(`${name}: native ${n}`);
      // The memory-touching forms end in a fault (an unmapped address, a misaligned MOVDIR64B).
      expect(underExec('host', exe)).toBe(n);
      expect(typeof n === 'string' || (n ?? 0) < SIGNAL_EXIT).toBe(true);
    });
  }
});

describe('survey-found instructions by the SDM on profiles', () => {
  it('MOVDIR64B copies 64 bytes to an aligned destination; misaligned: #GP (SIGSEGV); MOVDIRI stores', () => {
    const ok = build('m64ok', 'lea 128(%rdi), %rax\n movdir64b 3(%rdi), %rax\n mov $0x55, %edx\n movdiri %edx, 200(%rdi)');
    // The checksum the SDM gives: bytes 128..191 = 3..66, bytes 200..203 = 55 00 00 00.
    const b = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let i = 0; i < 64; i++) b[128 + i] = 3 + i;
    b.set([0x55, 0, 0, 0], 200);
    let sum = 0;
    for (const x of b) sum = (Math.imul(sum, 31) + x) >>> 0;
    expect(underExec('intel-sapphire-rapids', ok)).toBe(sum & 255);
    const bad = build('m64bad', 'lea 129(%rdi), %rax\n movdir64b (%rdi), %rax');
    expect(underExec('intel-sapphire-rapids', bad)).toBe('SIGSEGV');
  });

  it('SERIALIZE and PTWRITE (Intel PT off) change nothing; PCONFIG at CPL 3: #GP; without the CPUID bit: #UD', () => {
    const plain = build('plain', '');
    const expected = native(plain);
    const ser = build('ser', 'serialize\n mov $7, %eax\n ptwrite %rax\n ptwrite 8(%rdi)');
    // SPR's profile: SERIALIZE (07H,0):EDX[14]; PTWRITE (14H,0):EBX[4].
    const spr = underExec('intel-sapphire-rapids', ser);
    expect(spr).toBe(expected);
    expect(underExec('amd-zen4', build('ser-only', 'serialize'))).toBe('SIGILL');
    expect(underExec('intel-sapphire-rapids', build('pconfig', 'pconfig'))).toBe('SIGSEGV');
    expect(underExec('amd-zen4', build('pconfig2', 'pconfig'))).toBe('SIGILL');
  });

  it('XSUSLDTRK/XRESLDTRK outside a transaction are NOPs; user-interrupt instructions #UD (Linux leaves CR4.UINTR clear)', () => {
    const expected = native(build('plain2', ''));
    // SPR's profile: TSXLDTRK (07H,0):EDX[16], UINTR EDX[5].
    expect(underExec('intel-sapphire-rapids', build('ldtrk', 'xsusldtrk\n xresldtrk'))).toBe(expected);
    expect(underExec('intel-sapphire-rapids', build('testui', 'testui'))).toBe('SIGILL');
    expect(underExec('amd-zen4', build('ldtrk2', 'xsusldtrk'))).toBe('SIGILL');
    // ENQCMD without a PASID bound to the process: #GP (SIGSEGV).
    expect(underExec('intel-sapphire-rapids', build('enqcmd', 'enqcmd (%rdi), %rdi'))).toBe('SIGSEGV');
  });
});
