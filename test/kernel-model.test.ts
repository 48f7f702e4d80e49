/**
 * The kernel model: against this host's kernel (selfcheck kernel, dmesg), and, where the host
 * cannot show a behaviour (other versions), against the rules of the kernel source each variant
 * cites (kernel-model/data/behaviours.json).
 */
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { resolveCpu } from '../emulator/profile.js';
import { LEGACY } from '../emulator/register-file.js';
import { XsaveContext } from '../emulator/xsave.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { INIT_PKRU_VALUE, fpu__init_system_xstate } from '../kernel-model/fpu-config.js';
import { TaskFpu, rdpkru, restore_fpregs_from_fpstate, switch_fpu_prepare, wrpkru } from '../kernel-model/fpstate.js';
import { NoteType, ptrace_getregset, ptrace_setregset } from '../kernel-model/regset.js';
import { KernelBehaviour, closestVariantTo, resolveKernelVariant } from '../kernel-model/variants.js';
import { Errno } from '../kernel-model/xstate.js';
import { runKernelSelfcheck } from '../src/selfcheck/kernel-selfcheck.js';
import { hostModel } from './helpers.js';

describe('selfcheck kernel (PTRACE_SETREGSET against this host kernel)', () => {
  const cpu = hostModel();
  // 2,000 mutations in four runs of 500 (a single synchronous run could outlast vitest's RPC timeout).
  const outcomes: string[] = [];
  for (const seed of [1, 2, 3, 4]) {
    it(`matches this host kernel on 500 random SETREGSET mutations (seed ${seed}; 2,000 in all)`, () => {
      const lines: string[] = [];
      const s = runKernelSelfcheck({ cpu, cases: 500, seed, log: (l) => lines.push(l), detail: 5 });
      if (seed === 1) console.log(lines.join('\n'));
      expect(s.cases).toBe(500);
      expect(s.mismatches, lines.join('\n')).toBe(0);
      outcomes.push(lines.find((l) => l.startsWith('host SETREGSET results')) ?? '');
    });
  }
  it('the 2,000 mutations reach every outcome: success, -EFAULT (size) and -EINVAL (header, MXCSR)', () => {
    expect(outcomes).toHaveLength(4);
    const all = outcomes.join(' ');
    for (const kind of [/ok x\d+/, /errno 14 x\d+/, /errno 22 x\d+/]) expect(all).toMatch(kind);
  });

  it('disagrees with the host when modelled as Linux 5.13 (lenient MXCSR, reset on error): the comparison can fail', () => {
    // 5.13 knew no AMX: dynamic features are switched on so that its XCR0 fits this host's.
    const v = resolveKernelVariant('linux-5.13').with([KernelBehaviour.DynamicXfeatures], [], 'linux-5.13+dynamic-xfeatures');
    const s = runKernelSelfcheck({ cpu, cases: 100, seed: 2, log: () => {}, variant: v });
    expect(s.mismatches).toBeGreaterThan(0);
  });

  it.runIf(cpu.features.pku)('shows the 5.14 to 6.1 PKRU bug: modelled as linux-6.1, PTRACE_SETREGSET writes of PKRU disagree with this kernel', () => {
    const s = runKernelSelfcheck({ cpu, cases: 200, seed: 3, log: () => {}, variant: resolveKernelVariant('linux-6.1') });
    expect(s.mismatches).toBeGreaterThan(0);
  });
  it.runIf(!cpu.features.pku)('cannot show the PKRU bug here', () => console.log('host CPU has no PKU: the PKRU rules are checked against the kernel source only (below)'));
});

describe('fpu__init_system_xstate against this host', () => {
  it("gives the features, context size and format the host kernel printed at boot", () => {
    let dmesg = '';
    try { dmesg = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }); } catch { /* not readable */ }
    const m = /x86\/fpu: Enabled xstate features (0x[0-9a-f]+), context size is (\d+) bytes, using '(\w+)' format/.exec(dmesg);
    if (!m) { console.log('dmesg is not readable or has no x86/fpu line here: not compared'); return; }
    const v = closestVariantTo(release());
    const cfg = fpu__init_system_xstate(hostModel(), v);
    console.log(`host: ${m[0]}; model (${v.id}): 0x${cfg.kernel.maxFeatures.toString(16)}, ${cfg.kernel.maxSize} bytes, ${cfg.compacted ? 'compacted' : 'standard'}`);
    expect(cfg.kernel.maxFeatures).toBe(Number(m[1]));
    expect(cfg.kernel.maxSize).toBe(Number(m[2]));
    expect(cfg.compacted ? 'compacted' : 'standard').toBe(m[3]);
  });
});

/** A stopped tracee on `cpuId` under `variantId` whose PKRU register holds `pkru`. */
function stopped(cpuId: string, variantId: string, pkru: number): { ctx: XsaveContext; fpu: TaskFpu; cpu: ReturnType<typeof resolveCpu> } {
  const cpu = resolveCpu(cpuId);
  const v = resolveKernelVariant(variantId);
  const cfg = fpu__init_system_xstate(cpu, v);
  const ctx = new XsaveContext(cpu);
  const fpu = new TaskFpu(cfg, v);
  restore_fpregs_from_fpstate(ctx, fpu); // exec: the task starts from its fresh fpstate
  wrpkru(ctx, pkru);
  switch_fpu_prepare(ctx, fpu);
  return { ctx, fpu, cpu };
}

describe('PKRU through PTRACE_SETREGSET across versions (Kyle Huey\'s 6.2 series, linux-fpu-uabi.md §3.2)', () => {
  const cases: [string, boolean, number | 'unchanged'][] = [
    ['linux-5.13', true, 0x2a], // the buffer was PKRU's home: the write reaches the register
    ['linux-5.14', true, 'unchanged'], // thread.pkru is not written: the write is lost
    ['linux-6.1', true, 'unchanged'],
    ['linux-6.2', true, 0x2a],
    ['linux-6.18', true, 0x2a],
    ['linux-5.14', false, 'unchanged'],
    ['linux-6.2', false, 0], // bit 9 clear: XRSTOR semantics, PKRU := 0
    ['linux-5.13', false, INIT_PKRU_VALUE], // buffer without PKRU: init_pkru_value (reference: unverified)
  ];
  for (const [variant, bitSet, want] of cases) {
    it(`${variant}: SETREGSET with PKRU 0x2a and XSTATE_BV[9] ${bitSet ? 'set' : 'clear'} -> tracee PKRU ${want === 'unchanged' ? 'unchanged (0x55555550)' : '0x' + want.toString(16)}`, () => {
      const { ctx, fpu, cpu } = stopped('intel-skylake-sp', variant, 0x55555550);
      const size = fpu.cfg.user.maxSize;
      const buf = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, size).data!.slice();
      const dv = new DataView(buf.buffer);
      dv.setUint32(cpu.components[XFeature.PKRU]!.standardOffset, 0x2a, true);
      const bv = dv.getUint32(XSAVE_HEADER_OFFSET, true);
      dv.setUint32(XSAVE_HEADER_OFFSET, bitSet ? bv | bit(XFeature.PKRU) : bv & ~bit(XFeature.PKRU), true);
      expect(ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, buf, size).errno).toBe(0);
      restore_fpregs_from_fpstate(ctx, fpu);
      expect(rdpkru(ctx)).toBe(want === 'unchanged' ? 0x55555550 : want);
    });
  }
  it('GETREGSET shows thread.pkru even with bit 9 clear from 5.14 to 6.2, and only with bit 9 from 6.3 (736a40b52861)', () => {
    for (const [variant, shown] of [['linux-6.2', true], ['linux-6.12', false]] as const) {
      const { fpu, cpu } = stopped('intel-skylake-sp', variant, 0x55555550);
      const dv = new DataView(fpu.fpstate.regs.buffer);
      dv.setUint32(XSAVE_HEADER_OFFSET, dv.getUint32(XSAVE_HEADER_OFFSET, true) & ~bit(XFeature.PKRU), true);
      const img = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, fpu.cfg.user.maxSize).data!;
      expect(new DataView(img.buffer).getUint32(cpu.components[XFeature.PKRU]!.standardOffset, true), variant).toBe(shown ? 0x55555550 : 0);
    }
  });
});

describe('xstateregs_set and xfpregs_set rules (linux-fpu-uabi.md §4)', () => {
  const withBuf = (variant: string, edit: (b: Uint8Array) => void): { errno: number; fpu: TaskFpu; cpu: ReturnType<typeof resolveCpu>; ctx: XsaveContext } => {
    const { fpu, cpu, ctx } = stopped('intel-skylake-sp', variant, 0x55555554);
    const size = fpu.cfg.user.maxSize;
    const buf = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, size).data!.slice();
    edit(buf);
    return { errno: ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, buf, size).errno, fpu, cpu, ctx };
  };
  it('a reserved MXCSR bit: -EINVAL from 5.14 (145e9e0d8c6f), silently masked before', () => {
    // MXCSR is checked only when FP, SSE or YMM is in XSTATE_BV (§3.1 step 3): set SSE.
    const bad = (b: Uint8Array): void => {
      const dv = new DataView(b.buffer);
      dv.setUint32(LEGACY.MXCSR, 0x80001fa0, true);
      dv.setUint32(XSAVE_HEADER_OFFSET, dv.getUint32(XSAVE_HEADER_OFFSET, true) | bit(XFeature.SSE), true);
    };
    const notChecked = (b: Uint8Array): void => new DataView(b.buffer).setUint32(LEGACY.MXCSR, 0x80001fa0, true);
    expect(withBuf('linux-6.18', (b) => { notChecked(b); new DataView(b.buffer).setUint32(XSAVE_HEADER_OFFSET, 0, true); }).errno).toBe(0);
    expect(withBuf('linux-6.18', bad).errno).toBe(Errno.EINVAL);
    const old = withBuf('linux-5.13', bad);
    expect(old.errno).toBe(0);
    restore_fpregs_from_fpstate(old.ctx, old.fpu);
    expect(old.ctx.regs.mxcsr).toBe(0x1fa0);
  });
  it('a bad header: -EINVAL everywhere; before 5.14 the tracee\'s FPU state is also reset to init', () => {
    const bad = (b: Uint8Array): void => { b[LEGACY.XMM0] = 0x77; b[XSAVE_HEADER_OFFSET + 8] = 1; };
    const strict = withBuf('linux-6.18', bad);
    expect(strict.errno).toBe(Errno.EINVAL);
    expect(new DataView(strict.fpu.fpstate.regs.buffer).getUint32(XSAVE_HEADER_OFFSET, true)).not.toBe(0);
    const old = withBuf('linux-5.13', bad);
    expect(old.errno).toBe(Errno.EINVAL);
    expect(new DataView(old.fpu.fpstate.regs.buffer).getUint32(XSAVE_HEADER_OFFSET, true)).toBe(0);
  });
  it('lengths: not a multiple of 8 -EINVAL, short -EFAULT, longer clamped (ptrace_regset + xstateregs_set)', () => {
    const { fpu, cpu } = stopped('intel-skylake-sp', 'linux-6.18', 0x55555554);
    const size = fpu.cfg.user.maxSize;
    const buf = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, size).data!;
    const big = new Uint8Array(size + 64);
    big.set(buf);
    expect(ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, big, 13).errno).toBe(Errno.EINVAL);
    expect(ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, big, 512).errno).toBe(Errno.EFAULT);
    const r = ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, big, size + 64);
    expect([r.errno, r.len]).toEqual([0, size]);
    expect(ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, 520).data!.length).toBe(520);
    expect(ptrace_setregset(cpu, fpu, NoteType.NT_PRFPREG, big, 504).errno).toBe(Errno.EINVAL);
  });
});
