/**
 * kernel/sys.c: do_sysinfo() and the layout of `struct sysinfo` (include/uapi/linux/sysinfo.h,
 * x86-64). Behaviour read from the kernel source; no kernel code copied.
 *
 * The sandbox models no physical memory, swap or load: what the call reports of them is a named
 * assumption (below), the same on every host, so that a program's output never depends on the
 * machine running the sandbox.
 */

/** struct sysinfo on x86-64: 112 bytes (uapi/linux/sysinfo.h; `_f` pads to 64 bytes of tail). */
export const SYSINFO_SIZE = 112;
/** Field offsets (x86-64: longs are 8 bytes; `procs` is u16 followed by u16 pad and u32 pad). */
const OFF = {
  uptime: 0, loads: 8, totalram: 32, freeram: 40, sharedram: 48, bufferram: 56, totalswap: 64,
  freeswap: 72, procs: 80, totalhigh: 88, freehigh: 96, memUnit: 104,
} as const;

/**
 * Assumption `modelled-ram`: the modelled machine has 8 GiB of RAM, all free, no swap, no shared
 * or buffer memory, no high memory, and load averages 0 (nothing runs but the sandbox's tasks, and
 * the model keeps no load average). mem_unit 1: byte units, as do_sysinfo leaves it when the
 * totals fit in an unsigned long.
 */
export const MODELLED_TOTALRAM_BYTES = 8n << 30n;
const MEM_UNIT = 1;

/**
 * do_sysinfo(): uptime is CLOCK_BOOTTIME in whole seconds, rounded up when there is a fraction
 * (kernel/sys.c adds one second when tv_nsec is nonzero); procs is the number of threads
 * (nr_threads), here the live tasks of the sandbox.
 */
export function do_sysinfo(bootNs: bigint, liveTasks: number): Uint8Array {
  const b = new Uint8Array(SYSINFO_SIZE);
  const v = new DataView(b.buffer);
  const NS_PER_S = 1_000_000_000n;
  const uptime = bootNs / NS_PER_S + (bootNs % NS_PER_S !== 0n ? 1n : 0n);
  v.setBigInt64(OFF.uptime, uptime, true);
  // loads[3] stay 0 (assumption above).
  v.setBigUint64(OFF.totalram, MODELLED_TOTALRAM_BYTES, true);
  v.setBigUint64(OFF.freeram, MODELLED_TOTALRAM_BYTES, true);
  // sharedram, bufferram, totalswap, freeswap, totalhigh, freehigh stay 0.
  v.setUint16(OFF.procs, Math.min(liveTasks, 0xffff), true);
  v.setUint32(OFF.memUnit, MEM_UNIT, true);
  return b;
}
