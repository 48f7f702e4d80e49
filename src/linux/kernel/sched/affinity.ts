/**
 * CPU affinity and the task's CPU as kernel/sched/core.c (Linux 6.18) shows them to user space:
 * sched_setaffinity, sched_getaffinity and getcpu over a modelled set of CPUs.
 *
 * Named assumption `modelled-cpus`: the modelled machine has MODELLED_NR_CPUS CPUs, all possible
 * and online (nr_cpu_ids = MODELLED_NR_CPUS), in one NUMA node (node 0); never the host's count,
 * so a run is the same on every host. KernelOptions.nrCpus changes it.
 * Named assumption `cpumask-nr-cpus-256`: cpumask_size() is NR_CPUS bits (CONFIG_CPUMASK_OFFSTACK=n,
 * large_cpumask_bits = NR_CPUS) with NR_CPUS = 256: sched_getaffinity answers 32 bytes, as the
 * reference host's 6.18 kernel does (measured by test/guests/affinity.c). A kernel built with
 * CPUMASK_OFFSTACK answers BITS_TO_LONGS(nr_cpu_ids) longs instead.
 * Named assumption `no-load-balancing`: a task stays on its CPU until its affinity excludes it;
 * a new task starts on its parent's CPU; a migration goes to the lowest allowed CPU (Linux's
 * cpumask_any_and_distribute spreads such moves; the model does not).
 */
import { Errno } from '../../abi.js';

/** The modelled CPU count (assumption `modelled-cpus`): more than one, so that pinning is observable. */
export const MODELLED_NR_CPUS = 4;
/** CPUs per cpumask word: unsigned long on x86-64. */
const BITS_PER_LONG = 64;
const BYTES_PER_LONG = 8;
/** NR_CPUS of the modelled kernel build (assumption `cpumask-nr-cpus-256`). */
export const MODELLED_NR_CPUS_CONFIG = 256;

const neg = (e: Errno): bigint => -BigInt(e);

/** The part of a task the scheduler's affinity code reads and writes. */
export interface SchedEntity {
  /** task_cpu(p). */
  cpu: number;
  /** p->cpus_mask, bit n for CPU n. */
  cpusMask: bigint;
}

export class CpuTopology {
  constructor(readonly nrCpuIds: number) {
    if (!Number.isInteger(nrCpuIds) || nrCpuIds < 1 || nrCpuIds > MODELLED_NR_CPUS_CONFIG) throw new Error(`modelled CPU count ${nrCpuIds}: must be an integer from 1 to NR_CPUS (${MODELLED_NR_CPUS_CONFIG})`);
  }
  /** cpu_online_mask (= cpu_possible_mask). */
  get onlineMask(): bigint { return (1n << BigInt(this.nrCpuIds)) - 1n; }
  /** cpumask_size(): bytes of a cpumask, NR_CPUS bits (assumption `cpumask-nr-cpus-256`). */
  get cpumaskSize(): number { return Math.ceil(MODELLED_NR_CPUS_CONFIG / BITS_PER_LONG) * BYTES_PER_LONG; }
  /** A new process's task: CPU 0, every CPU allowed. */
  initial(): SchedEntity { return { cpu: 0, cpusMask: this.onlineMask }; }
}

/** A little-endian byte mask as a bigint (bit n of byte k is CPU 8k + n). */
function maskFromBytes(b: Uint8Array): bigint {
  let v = 0n;
  for (let k = b.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]!);
  return v;
}

function maskToBytes(mask: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = mask;
  for (let k = 0; k < len; k++) { out[k] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** The lowest CPU of a non-empty mask. */
function firstCpu(mask: bigint): number {
  let n = 0;
  while (((mask >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

/**
 * sys_sched_getaffinity(): -EINVAL when the buffer holds fewer than nr_cpu_ids bits or is not a
 * whole number of longs; else min(len, cpumask_size()) bytes of the mask, and that count.
 */
export function sched_getaffinity(topo: CpuTopology, se: SchedEntity, len: bigint, put: (b: Uint8Array) => void): bigint {
  if (len * 8n < BigInt(topo.nrCpuIds)) return neg(Errno.EINVAL);
  if (len & BigInt(BYTES_PER_LONG - 1)) return neg(Errno.EINVAL);
  const n = Math.min(Number(len > 0x7fffffffn ? 0x7fffffffn : len), topo.cpumaskSize);
  put(maskToBytes(se.cpusMask & topo.onlineMask, n));
  return BigInt(n);
}

/**
 * sys_sched_setaffinity(): get_user_cpu_mask() reads min(len, cpumask_size()) bytes (the rest
 * zero); __sched_setaffinity() keeps the CPUs that exist; an empty result is -EINVAL. A task whose
 * CPU left its mask migrates (assumption `no-load-balancing` picks the lowest allowed CPU).
 * Returns 0 or -errno and whether the task migrated.
 */
export function sched_setaffinity(topo: CpuTopology, se: SchedEntity, len: bigint, get: (n: number) => Uint8Array): { ret: bigint; migrated: boolean } {
  const n = len < BigInt(topo.cpumaskSize) ? Number(len) : topo.cpumaskSize;
  const mask = maskFromBytes(n ? get(n) : new Uint8Array(0)) & topo.onlineMask;
  if (mask === 0n) return { ret: neg(Errno.EINVAL), migrated: false };
  se.cpusMask = mask;
  if (((mask >> BigInt(se.cpu)) & 1n) !== 0n) return { ret: 0n, migrated: false };
  se.cpu = firstCpu(mask);
  return { ret: 0n, migrated: true };
}

/** The NUMA node of every modelled CPU (assumption `modelled-cpus`). */
export const MODELLED_NODE = 0;
