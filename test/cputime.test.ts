/**
 * RLIMIT_CPU as kernel/time/posix-cpu-timers.c check_process_timers (Linux 6.18) applies it, on
 * the model's CPU time (src/linux/kernel/sched/cputime.ts). A guest cannot referee it here: a
 * second of CPU time is 10^9 instructions of the model. The expectations are the kernel's rule,
 * written out: at the hard limit SIGKILL and nothing else; at the soft limit SIGXCPU and the soft
 * limit raised by one second while below the hard one.
 */
import { describe, expect, it } from 'vitest';
import { checkRlimitCpu, rlimitCpuLeft } from '../src/linux/kernel/sched/cputime.js';
import { RLIM_INFINITY, Rlimit, initRlimits } from '../src/linux/kernel/sys.js';
import type { Kernel } from '../src/linux/kernel.js';
import type { Process } from '../src/linux/sched.js';

const SEC = 1_000_000_000n;
const SIGKILL = 9, SIGXCPU = 24;

function fixture(soft: bigint, hard: bigint): { p: Process; sent: number[]; k: Kernel } {
  const rlimits = initRlimits();
  rlimits[Rlimit.CPU] = { cur: soft, max: hard };
  const p = { rlimits, cpuNs: 0n, alive: true } as unknown as Process;
  const sent: number[] = [];
  const k = { sendToProcess: (_: Process, info: { signo: number }) => { sent.push(info.signo); } } as unknown as Kernel;
  return { p, sent, k };
}

describe('RLIMIT_CPU (check_process_timers)', () => {
  it('SIGXCPU at the soft limit and every second after, the soft limit raised; SIGKILL at the hard limit', () => {
    const { p, sent, k } = fixture(1n, 3n);
    const at = (ns: bigint): number[] => { p.cpuNs = ns; sent.length = 0; checkRlimitCpu.call(k, p); return [...sent]; };
    expect(at(SEC / 2n)).toEqual([]);
    expect(rlimitCpuLeft(p)).toBe(SEC / 2n);
    expect(at(SEC)).toEqual([SIGXCPU]);
    expect(p.rlimits[Rlimit.CPU]).toEqual({ cur: 2n, max: 3n });
    expect(at(SEC + SEC / 2n)).toEqual([]);
    expect(at(2n * SEC)).toEqual([SIGXCPU]);
    expect(p.rlimits[Rlimit.CPU]!.cur).toBe(3n);
    expect(at(3n * SEC)).toEqual([SIGKILL]);
  });
  it('an unlimited hard limit: SIGXCPU every second, never SIGKILL; an unlimited soft limit: nothing', () => {
    const { p, sent, k } = fixture(1n, RLIM_INFINITY);
    for (let s = 1n; s <= 4n; s++) { p.cpuNs = s * SEC; checkRlimitCpu.call(k, p); }
    expect(sent).toEqual([SIGXCPU, SIGXCPU, SIGXCPU, SIGXCPU]);
    const free = fixture(RLIM_INFINITY, RLIM_INFINITY);
    free.p.cpuNs = 100n * SEC;
    checkRlimitCpu.call(free.k, free.p);
    expect(free.sent).toEqual([]);
    expect(rlimitCpuLeft(free.p)).toBeUndefined();
  });
});
