/**
 * The arm64 room: the syscall-stop register rules of kernel-model/arm64/ptrace.ts against
 * arch/arm64/kernel/ptrace.c and syscall.c (as read: report_syscall, gpr_get/gpr_set,
 * system_call_get/set, valid_native_regs, el0_svc_common), the two unmerged proposals, the arm64
 * scenarios (which must fail when any rule of their variant is switched off), the process model
 * against qemu-aarch64 for plain programs, and the unicorn AArch64 facts the model relies on.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ASSUMED_NT_ARM_SYSCALL_REGS, Arm64StopKind, Errno, NO_SYSCALL, NT_ARM_SYSTEM_CALL, NT_PRSTATUS, PTRACE_O_ARM64_RAW_REGS, PTRACE_O_TRACESYSGOOD,
  PtraceSyscallDir, USER_PT_REGS_SIZE, el0_svc_entry, emptyPtRegs, gpr_get, gpr_set, otherStop, ptrace_regset_len, ptrace_setoptions,
  report_syscall_begin, report_syscall_end, syscallStopRegno, syscall_regs_get, syscall_regs_set, system_call_get, system_call_set, valid_native_regs,
  type Arm64PtRegs,
} from '../kernel-model/arm64/ptrace.js';
import { ARM64_KERNEL_VARIANTS, KernelArch, KernelBehaviour, resolveArm64Variant, type KernelVariant } from '../kernel-model/variants.js';
import { runArm64Program } from '../src/linux/arm64/kernel.js';
import { kernelList, kernelShow } from '../src/commands/kernel.js';
import { arm64GuestExecutable } from '../src/linux/arm64/build.js';
import { loadScenario, type Scenario } from '../src/scenario/load.js';
import { runScenario } from '../src/scenario/run.js';
import { passed } from '../src/scenario/report.js';
import { Arm64Reg, UnicornArm64, xReg } from '../emulator/unicorn-arm64.js';

const ROOT = join(import.meta.dirname, '..');
const linux = resolveArm64Variant('linux-arm64');
const v2 = resolveArm64Variant('arm64-raw-regs-v2');
const regsetAlt = resolveArm64Variant('arm64-raw-regset');

const REAL_X7 = 0x1111n;
function regs(): Arm64PtRegs {
  const r = emptyPtRegs();
  r.regs = r.regs.map((_, i) => BigInt(0x100 + i));
  r.regs[7] = REAL_X7;
  r.regs[0] = 0x5555n;
  r.sp = 0xfff0n; r.pc = 0x400100n; r.pstate = 0x60000000n;
  return r;
}
const x7Of = (b: Uint8Array): bigint => new DataView(b.buffer).getBigUint64(7 * 8, true);
const withX7 = (b: Uint8Array, v: bigint): Uint8Array => { const c = b.slice(); new DataView(c.buffer).setBigUint64(7 * 8, v, true); return c; };

describe('arm64 syscall stops on today\'s kernel (report_syscall, gpr_get/gpr_set)', () => {
  it('x7 reads 0 at an entry stop and 1 at an exit stop; the real value comes back after each', () => {
    for (const [dir, shown] of [[PtraceSyscallDir.ENTER, 0n], [PtraceSyscallDir.EXIT, 1n]] as const) {
      const r = regs();
      const st = report_syscall_begin(linux, r, dir, 0);
      expect(st.kind).toBe(dir === PtraceSyscallDir.ENTER ? Arm64StopKind.SyscallEntry : Arm64StopKind.SyscallExit);
      expect(x7Of(gpr_get(linux, r, st))).toBe(shown);
      report_syscall_end(r, st);
      expect(r.regs[7]).toBe(REAL_X7);
    }
  });
  it('a tracer\'s write to x7 at a syscall stop is discarded; its writes to other registers stay', () => {
    const r = regs();
    const st = report_syscall_begin(linux, r, PtraceSyscallDir.ENTER, 0);
    const img = withX7(gpr_get(linux, r, st), 0x2222n);
    new DataView(img.buffer).setBigUint64(6 * 8, 0x6666n, true);
    expect(gpr_set(linux, r, st, img)).toBe(0);
    report_syscall_end(r, st);
    expect(r.regs[7]).toBe(REAL_X7);
    expect(r.regs[6]).toBe(0x6666n);
  });
  it('seccomp stops, single-step traps and the pseudo-step of a stepped syscall exit leave x7 alone', () => {
    for (const st of [otherStop(Arm64StopKind.Seccomp, 0), otherStop(Arm64StopKind.SingleStep, 0), report_syscall_begin(linux, regs(), PtraceSyscallDir.EXIT, 0, true)]) {
      const r = regs();
      expect(x7Of(gpr_get(linux, r, st)), st.kind).toBe(REAL_X7);
      expect(gpr_set(linux, r, st, withX7(gpr_get(linux, r, st), 0x2222n))).toBe(0);
      report_syscall_end(r, st);
      expect(r.regs[7], st.kind).toBe(0x2222n);
    }
  });
  it('NT_PRSTATUS is struct user_pt_regs (x0-x30, sp, pc, pstate: 272 bytes): orig_x0 is not in it', () => {
    const r = regs();
    r.orig_x0 = 0xdeadbeefn;
    const b = gpr_get(linux, r, undefined);
    expect(b.length).toBe(USER_PT_REGS_SIZE);
    expect(USER_PT_REGS_SIZE).toBe(34 * 8);
    const dv = new DataView(b.buffer);
    expect([dv.getBigUint64(31 * 8, true), dv.getBigUint64(32 * 8, true), dv.getBigUint64(33 * 8, true)]).toEqual([0xfff0n, 0x400100n, 0x60000000n]);
    for (let i = 0; i < 34; i++) expect(dv.getBigUint64(i * 8, true)).not.toBe(0xdeadbeefn);
  });
  it('ptrace_regset: iov_len a multiple of the word (8, or 4 for NT_ARM_SYSTEM_CALL), clamped to the regset; unknown notes EINVAL', () => {
    expect(ptrace_regset_len(linux, NT_PRSTATUS, 4).errno).toBe(Errno.EINVAL);
    expect(ptrace_regset_len(linux, NT_PRSTATUS, 8)).toMatchObject({ errno: 0, len: 8 });
    expect(ptrace_regset_len(linux, NT_PRSTATUS, 4096)).toMatchObject({ errno: 0, len: 272 });
    expect(ptrace_regset_len(linux, NT_ARM_SYSTEM_CALL, 8)).toMatchObject({ errno: 0, len: 4 });
    expect(ptrace_regset_len(linux, NT_ARM_SYSTEM_CALL, 2).errno).toBe(Errno.EINVAL);
    expect(ptrace_regset_len(linux, ASSUMED_NT_ARM_SYSCALL_REGS, 16).errno).toBe(Errno.EINVAL);
  });
  it('NT_ARM_SYSTEM_CALL reads and writes pt_regs.syscallno as an int; -1 is NO_SYSCALL', () => {
    const r = regs();
    el0_svc_entry(r, 173, true);
    expect(new DataView(system_call_get(r).buffer).getInt32(0, true)).toBe(173);
    system_call_set(r, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(r.syscallno).toBe(NO_SYSCALL);
    expect(r.regs[8]).toBe(0x108n); // x8 untouched: the number lives in syscallno
  });
  it('el0_svc_common: orig_x0 = x0; a traced syscall(-1) has x0 = -ENOSYS before the entry stop, an untraced one keeps x0', () => {
    const a = regs();
    el0_svc_entry(a, -1, true);
    expect(a.orig_x0).toBe(0x5555n);
    expect(a.regs[0]).toBe(BigInt.asUintN(64, -38n));
    const b = regs();
    el0_svc_entry(b, -1, false);
    expect(b.regs[0]).toBe(0x5555n);
    const c = regs();
    el0_svc_entry(c, 64, true);
    expect(c.regs[0]).toBe(0x5555n);
  });
  it('valid_native_regs: a pstate other than EL0t AArch64 with D, A, I, F clear makes SETREGSET fail with EINVAL; RES0 bits are cleared', () => {
    expect(valid_native_regs(0x60000000n)).toEqual({ pstate: 0x60000000n, valid: true });
    expect(valid_native_regs(0x60000000n | (1n << 40n) | 0x20n)).toEqual({ pstate: 0x60000000n, valid: true });
    for (const bad of [0x3c5n, 0x4n, 0x10n, 0x80n, 0x200n]) expect(valid_native_regs(bad).valid, `0x${bad.toString(16)}`).toBe(false);
    const r = regs();
    const img = gpr_get(linux, r, undefined);
    new DataView(img.buffer).setBigUint64(33 * 8, 0x3c5n, true);
    expect(gpr_set(linux, r, undefined, img)).toBe(Errno.EINVAL);
    expect(r.pstate).toBe(0x60000000n);
  });
  it('PTRACE_SETOPTIONS: PTRACE_O_ARM64_RAW_REGS is outside PTRACE_O_MASK (EINVAL) except under Vagin\'s v2', () => {
    expect(ptrace_setoptions(linux, PTRACE_O_TRACESYSGOOD)).toBe(0);
    expect(ptrace_setoptions(linux, PTRACE_O_ARM64_RAW_REGS)).toBe(Errno.EINVAL);
    expect(ptrace_setoptions(regsetAlt, PTRACE_O_ARM64_RAW_REGS)).toBe(Errno.EINVAL);
    expect(ptrace_setoptions(v2, PTRACE_O_ARM64_RAW_REGS | PTRACE_O_TRACESYSGOOD)).toBe(0);
    expect(ptrace_setoptions(v2, 1 << 29)).toBe(Errno.EINVAL);
  });
  it('AArch32 tasks (r12) are not modelled: asking for them is an error, not a guess', () => {
    expect(() => syscallStopRegno(true)).toThrow(/not modelled/);
    expect(syscallStopRegno()).toBe(7);
  });
});

describe('the proposals', () => {
  it('arm64-raw-regs-v2 without the option shows what today\'s kernel shows, without touching pt_regs', () => {
    for (const dir of [PtraceSyscallDir.ENTER, PtraceSyscallDir.EXIT]) {
      const a = regs(), b = regs();
      const sa = report_syscall_begin(linux, a, dir, 0), sb = report_syscall_begin(v2, b, dir, 0);
      expect(gpr_get(v2, b, sb)).toEqual(gpr_get(linux, a, sa));
      expect(b.regs[7]).toBe(REAL_X7); // patch 1: no clobber in pt_regs
      expect(gpr_set(v2, b, sb, withX7(gpr_get(v2, b, sb), 0x2222n))).toBe(0);
      report_syscall_end(b, sb);
      expect(b.regs[7]).toBe(REAL_X7);
    }
  });
  it('arm64-raw-regs-v2 with PTRACE_O_ARM64_RAW_REGS: GETREGSET gives the real x7 and SETREGSET sets it', () => {
    const r = regs();
    const st = report_syscall_begin(v2, r, PtraceSyscallDir.ENTER, PTRACE_O_ARM64_RAW_REGS);
    expect(x7Of(gpr_get(v2, r, st))).toBe(REAL_X7);
    expect(gpr_set(v2, r, st, withX7(gpr_get(v2, r, st), 0x2222n))).toBe(0);
    report_syscall_end(r, st);
    expect(r.regs[7]).toBe(0x2222n);
  });
  it('arm64-raw-regset: NT_PRSTATUS as today; the assumed regset holds the real x7 and orig_x0, and its x7 write survives the stop', () => {
    const r = regs();
    el0_svc_entry(r, 173, true);
    const st = report_syscall_begin(regsetAlt, r, PtraceSyscallDir.ENTER, 0);
    expect(x7Of(gpr_get(regsetAlt, r, st))).toBe(0n);
    expect(ptrace_regset_len(regsetAlt, ASSUMED_NT_ARM_SYSCALL_REGS, 16)).toMatchObject({ errno: 0, len: 16 });
    const raw = new DataView(syscall_regs_get(r, st).buffer);
    expect([raw.getBigUint64(0, true), raw.getBigUint64(8, true)]).toEqual([REAL_X7, 0x5555n]);
    const w = new Uint8Array(16);
    new DataView(w.buffer).setBigUint64(0, 0x3333n, true);
    new DataView(w.buffer).setBigUint64(8, 0x5555n, true);
    syscall_regs_set(r, st, w);
    report_syscall_end(r, st);
    expect(r.regs[7]).toBe(0x3333n);
  });
  it('kernel list: the arm64 variants in their own group with their sources; the proposals say they were not merged', () => {
    expect(ARM64_KERNEL_VARIANTS.map((v) => [v.id, v.proposal, v.arch])).toEqual([['linux-arm64', false, KernelArch.Arm64], ['arm64-raw-regs-v2', true, KernelArch.Arm64], ['arm64-raw-regset', true, KernelArch.Arm64]]);
    const text = kernelList().split('\n');
    const group = text.indexOf('arm64 (syscall-stop registers, kernel-model/arm64):');
    expect(group).toBeGreaterThan(0);
    for (const v of ARM64_KERNEL_VARIANTS) {
      const at = text.findIndex((l) => l.startsWith(`${v.id} `));
      expect(at, v.id).toBeGreaterThan(group);
      const sources = text.slice(at + 1).filter((l, i, a) => a.slice(0, i + 1).every((x) => x.trim().startsWith('source:'))).join(' ');
      expect(sources, v.id).toContain(v.proposal ? 'not merged' : 'arch/arm64/kernel/ptrace.c');
    }
    expect(kernelShow('arm64-raw-regset')).toContain('[x] arm64-syscall-regs-regset');
    expect(kernelShow('arm64-raw-regset')).not.toContain('pkru');
  });
});

const ARM64_SCENARIOS = ['arm64-x7-syscall-stops', 'arm64-gvisor-x7-corruption', 'arm64-rr-like-tracer', 'arm64-pseudo-step-x7', 'arm64-system-call-regset'];
const scenarios = (): Scenario[] => ARM64_SCENARIOS.map((n) => loadScenario(join(ROOT, 'scenarios', `${n}.yaml`)));

describe('arm64 scenarios', () => {
  it('every arm64 scenario passes under each of its kernels', () => {
    const bad: string[] = [];
    for (const s of scenarios()) {
      expect(s.arch).toBe(KernelArch.Arm64);
      for (const k of s.kernels) {
        const o = runScenario(s, 'cortex-a72', resolveArm64Variant(k));
        if (!passed(o)) bad.push(`${s.name} ${k}: ${o.error ?? o.checks.filter((c) => !c.pass).map((c) => `${c.name} expected ${String(c.expected)} observed ${String(c.observed)}`).join('; ')}`);
      }
    }
    expect(bad).toEqual([]);
  }, 120_000);
  it('switching off any behaviour of a variant (or giving v2 today\'s clobber) makes some arm64 scenario fail', () => {
    const all = scenarios();
    const mutants: { name: string; v: KernelVariant; expectAs: string }[] = [];
    for (const v of ARM64_KERNEL_VARIANTS) for (const b of v.behaviours) mutants.push({ name: `${v.id} without ${b}`, v: v.with([], [b], `${v.id}-${b}`), expectAs: v.id });
    mutants.push({ name: 'arm64-raw-regs-v2 with the clobber', v: v2.with([KernelBehaviour.Arm64SyscallStopClobber], [KernelBehaviour.Arm64SyscallStopView]), expectAs: v2.id });
    mutants.push({ name: 'linux-arm64 with the raw-regs option', v: linux.with([KernelBehaviour.Arm64RawRegsOption]), expectAs: linux.id });
    const survived: string[] = [];
    for (const m of mutants) {
      const caught = all.some((s) => !passed(runScenario(s, 'cortex-a72', m.v, m.expectAs)));
      if (!caught) survived.push(m.name);
    }
    expect(survived).toEqual([]);
  }, 300_000);
});

describe('patch review: the raw-regs option without v2 patch 1', () => {
  it('accepting PTRACE_O_ARM64_RAW_REGS on a kernel that still clobbers pt_regs changes no x7 a tracer sees or keeps', () => {
    const patched = linux.with([KernelBehaviour.Arm64RawRegsOption], [], 'linux-arm64+raw-regs-option-only');
    const s = loadScenario(join(ROOT, 'scenarios/arm64-x7-syscall-stops.yaml'));
    const a = runScenario(s, 'cortex-a72', linux).observations, b = runScenario(s, 'cortex-a72', patched, linux.id).observations;
    expect([a['raw_opt.errno'], b['raw_opt.errno']]).toEqual(['EINVAL', '0']);
    const x7 = Object.keys(a).filter((k) => /x7/.test(k));
    expect(x7.length).toBeGreaterThanOrEqual(4);
    for (const k of x7) expect(b[k], k).toBe(a[k]);
  }, 60_000);
});

describe('signals through ptrace resumes', () => {
  it('resuming a syscall stop with a signal sends it (ptrace_report_syscall); the traced task then stops for it; PTRACE_CONT with it kills', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xstate-a64-'));
    try {
      copyFileSync(join(ROOT, 'scenarios/guests/arm64/x7-tracee.c'), join(dir, 'x7-tracee.c'));
      const f = join(dir, 'sig.yaml');
      writeFileSync(f, [
        'name: sig', 'about: a signal given with PTRACE_SYSCALL at a syscall stop', 'source: include/linux/ptrace.h ptrace_report_syscall()', 'arch: arm64', 'cpu: cortex-a72', 'kernels: [linux-arm64]', 'tasks: { t: {} }', 'steps:',
        '  - spawn: { task: t, program: x7-tracee.c, traced: true }', '  - wait: { task: t, as: a }',
        '  - syscall-stop: { task: t, at: entry, syscall: getppid, as: e }',
        '  - ptrace: { task: t, request: PTRACE_SYSCALL, sig: SIGTERM, as: r }', '  - wait: { task: t, as: x }',
        '  - ptrace: { task: t, request: PTRACE_SYSCALL, as: r2 }', '  - wait: { task: t, as: s }',
        '  - ptrace: { task: t, request: PTRACE_CONT, sig: SIGTERM }', '  - wait: { task: t, as: end }',
        'expect:', '  all: { x.stop: syscall-exit, s.stop: signal, s.signal: SIGTERM, end.stop: killed, end.signal: SIGTERM }', '',
      ].join('\n'));
      const s = loadScenario(f);
      const o = runScenario(s, 'cortex-a72', linux);
      expect(o.error).toBeUndefined();
      expect(o.checks.filter((c) => !c.pass)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the arm64 process model against qemu-aarch64 (plain programs)', () => {
  const qemu = spawnSync('qemu-aarch64', ['--version'], { encoding: 'utf8' });
  it.skipIf(qemu.error !== undefined)('plain.c: the same output and exit status as under qemu-aarch64 (Debian qemu-user)', () => {
    const exe = arm64GuestExecutable(join(ROOT, 'test/guests/arm64/plain.c'));
    const argv = ['plain', 'a', 'bc'];
    const ref = spawnSync('qemu-aarch64', ['-0', 'plain', exe, 'a', 'bc'], { encoding: 'utf8' });
    expect(ref.status).toBe(7);
    const model = runArm64Program(linux, exe, argv);
    expect(model.end).toBe('done');
    expect(model.output).toBe(ref.stdout);
    expect(model.exit).toBe(ref.status);
    expect(model.output).toContain('x7_after_svc: 0x7777');
  }, 60_000);
  it('a guest that faults dies with SIGSEGV; an unmodelled call is reported, not hidden', () => {
    const exe = arm64GuestExecutable(join(ROOT, 'test/guests/arm64/faults.c'));
    const r = runArm64Program(linux, exe, ['faults']);
    expect(r.signal).toBe(11);
    expect(r.output).toBe('before: 1\n');
    expect(r.notModelled).toContain('inotify_init1 (-ENOSYS)');
  }, 60_000);
});

describe('unicorn 2.0.1 AArch64 facts the model relies on', () => {
  it('svc #0 reaches UC_HOOK_INTR with intno 2 (EXCP_SWI) and PC after the svc; user code runs at EL1 (PSTATE 0x3c5 | NZCV)', () => {
    const uc = UnicornArm64.open();
    try {
      // mov x8, #172 ; svc #0 ; mov x1, #7
      uc.memMap(0x10000n, 0x1000);
      uc.memWrite(0x10000n, new Uint8Array([0x88, 0x15, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0xe1, 0x00, 0x80, 0xd2]));
      let seen: { n: number; pc: bigint } | undefined;
      uc.hookIntr((n) => { seen = { n, pc: uc.regRead(Arm64Reg.PC) }; uc.emuStop(); });
      expect(uc.emuStart(0x10000n)).toBe(0);
      expect(seen).toEqual({ n: 2, pc: 0x10008n });
      expect(uc.regRead(xReg(8))).toBe(172n);
      expect(uc.regRead(Arm64Reg.PSTATE) & 0x3ffn).toBe(0x3c5n);
    } finally {
      uc.close();
    }
  });
});
