/**
 * Floating point as the hardware computes it (emulator/vector/float*.ts, mxcsr.ts, the native
 * kernel emulator/native/sse-float.c and the trap gate's fast path): the instruction referee on
 * the floating-point templates (results, MXCSR flags, #XM with si_code and the frame's MXCSR), and
 * guest programs run natively and under `exec --cpu host` with identical output: legacy SSE
 * instruction by instruction (through the gate's native fast path and through the JS path), and a
 * glibc program (printf, strtod, libm, <fenv.h>, vectorized loops) built for x86-64-v3 and -v4.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FpeCode, MXCSR, fpu__exception_code } from '../emulator/vector/mxcsr.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { runInsnSelfcheck } from '../src/selfcheck/insn-selfcheck.js';
import { hostModel } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/src/cli.js');
const GUESTS = join(ROOT, 'test/guests/vector-float');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-vfloat-'));

interface Run { stdout: string; stderr: string; status: number }
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), status: code ?? -1 }); });
  });
}
function build(cc: string, src: string, out: string, flags: string[]): string {
  const exe = join(tmp, out);
  const r = spawnSync(cc, [...flags, '-o', exe, join(GUESTS, src), '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} ${src}: ${r.stderr}`);
  return exe;
}

const cpu = hostModel();
/** CPUID.(07H,0):EBX bit 16 AVX512F (SDM Vol. 2A Table 3-8). */
const hostAvx512 = ((cpu.cpuid.get(7, 0)[1] >>> 16) & 1) === 1;

describe('floating point', () => {
  it('fpu__exception_code gives the si_code Linux gives (arch/x86/kernel/fpu/core.c): unmasked flags, first of IE ZE OE DE|UE PE', () => {
    // Each unmasked flag alone, then with a masked higher-priority flag that must not count.
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.IE << MXCSR.MASK_SHIFT) | MXCSR.IE)).toBe(FpeCode.FPE_FLTINV);
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.ZE << MXCSR.MASK_SHIFT) | MXCSR.ZE | MXCSR.IE)).toBe(FpeCode.FPE_FLTDIV);
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.OE << MXCSR.MASK_SHIFT) | MXCSR.OE | MXCSR.PE)).toBe(FpeCode.FPE_FLTOVF);
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.DE << MXCSR.MASK_SHIFT) | MXCSR.DE)).toBe(FpeCode.FPE_FLTUND);
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.UE << MXCSR.MASK_SHIFT) | MXCSR.UE)).toBe(FpeCode.FPE_FLTUND);
    expect(fpu__exception_code(MXCSR.MASKS & ~(MXCSR.PE << MXCSR.MASK_SHIFT) | MXCSR.PE)).toBe(FpeCode.FPE_FLTRES);
    expect(fpu__exception_code(MXCSR.MASKS | MXCSR.FLAGS)).toBe(0);
  });

  it.runIf(cpu.features.avx)('the instruction referee: every floating-point form matches the host, #XM included', () => {
    const lines: string[] = [];
    const s = runInsnSelfcheck({ cpu, cases: 2000, seed: 21, log: (l) => lines.push(l), detail: 10 }, (_t, floating) => floating);
    console.log(lines.join('\n'));
    expect(s.cases).toBe(2000);
    expect(s.mismatches, lines.join('\n')).toBe(0);
    // A quarter of the states unmask exceptions: the #XM path must have been compared.
    expect(s.hostSigfpe).toBeGreaterThan(30);
  }, 120_000);
  it.runIf(!cpu.features.avx)('referee cannot run here', () => console.log('host has no AVX: the floating-point referee has nothing to compare'));

  it('legacy SSE instruction by instruction: MXCSR flags, #XM si_code and frame MXCSR, faults; natively-equal through the gate fast path and through JS', async () => {
    const exe = build('musl-gcc', 'sse-flags.c', 'sse-flags', ['-static', '-O2']);
    const native = await run(exe, []);
    expect(native.status).toBe(0);
    expect(native.stdout).toContain('divsd 1/0, ZM clear                      signal 8 si_code 3');
    const fast = await run(process.execPath, [CLI, 'exec', '--cpu', 'host', exe]);
    expect(fast.stderr).toBe('');
    expect(fast.stdout).toBe(native.stdout);
    const slow = await run(process.execPath, [CLI, 'exec', '--cpu', 'host', exe], { ...process.env, XSTATE_LAB_NO_FP_FAST_PATH: '1' });
    expect(slow.stdout).toBe(native.stdout);
  }, 120_000);

  it('the MMX-operand conversions: MXCSR flags, #XM, the MMX transition and #MF natively-equal (unicorn set no flags)', async () => {
    const exe = build('musl-gcc', 'mmx-cvt.c', 'mmx-cvt', ['-static', '-O2']);
    const native = await run(exe, []);
    expect(native.status).toBe(0);
    // The guest exercises what it claims: PE from a conversion, #XM with si_code, #MF before an MMX-register form only.
    expect(native.stdout).toMatch(/cvt\(t\)ps2pi 00000001 3fc00000 -> \S+ \S+ mxcsr 1fa0 TOP=0 FTW=ff/);
    expect(native.stdout).toContain('pending #Z, cvtpi2ps mm: sig 8 code 3');
    expect(native.stdout).toContain('pending #Z, cvtpi2ps m64: sig 0');
    const e = await run(process.execPath, [CLI, 'exec', '--cpu', 'host', exe]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe(native.stdout);
  }, 120_000);

  it('DPPS/VDPPS #XM: the flags of completed stages (a product\'s UE|PE) recorded with the faulting add\'s DE, natively-equal', async () => {
    const exe = build('musl-gcc', 'dpps-xm.c', 'dpps-xm', ['-static', '-O1', '-mavx']);
    const native = await run(exe, []);
    expect(native.status).toBe(0);
    // The guest reaches the rule: some #XM record DE with UE|PE (0x32), others DE alone.
    expect(native.stdout).toMatch(/XM 0032/);
    expect(native.stdout).toMatch(/XM 0002/);
    // Every #XM costs the scheduler a whole quantum of the instruction budget: a larger one.
    const e = await run(process.execPath, [CLI, 'exec', '--cpu', 'host', '--max-insns', '100000000000', exe]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe(native.stdout);
  }, 240_000);

  it('RCPPS on a profile of another vendor than the host stops the run naming it (the table is the vendor\'s)', async () => {
    // A built-in profile of another vendor than the captured host's, chosen by that property.
    const other = builtinProfileIds().find((id) => loadBuiltinQuietly(id).profile.vendor !== cpu.profile.vendor);
    expect(other, `a built-in profile whose vendor is not ${cpu.profile.vendor}`).toBeDefined();
    if (!other) return;
    const src = join(tmp, 'rcp.S');
    writeFileSync(src, '.globl _start\n_start:\n rcpps %xmm1, %xmm0\n mov $60, %eax\n xor %edi, %edi\n syscall\n');
    const e = await run(process.execPath, [CLI, 'exec', '--cpu', other, src]);
    expect(e.status).toBe(125);
    expect(e.stderr).toMatch(/not emulated: RCPPS: .*approximation table is not known on this/);
    // On the host's own vendor the referee compares RCPPS/RSQRTPS with the host (cases-vector-float.ts).
  }, 120_000);

  /** glibc's string functions, the compiler's vector code and the floating point together: every instruction is emulated, so a stop fails. */
  for (const arch of ['x86-64-v3', 'x86-64-v4']) {
    it(`a glibc program (printf, strtod, libm, fenv, vector loops) built -O3 -march=${arch} runs natively-equal`, async () => {
      if (arch === 'x86-64-v4' && !hostAvx512) { console.log('host has no AVX-512: the -march=x86-64-v4 build cannot run natively here'); return; }
      const exe = build('gcc', 'float-prog.c', `float-prog-${arch}`, ['-static', '-O3', `-march=${arch}`]);
      const native = await run(exe, []);
      expect(native.status).toBe(0);
      const e = await run(process.execPath, [CLI, 'exec', '--cpu', 'host', exe]);
      expect(e.stderr).toBe('');
      expect(e.stdout).toBe(native.stdout);
      expect(e.status).toBe(native.status);
    }, 120_000);
  }
});
