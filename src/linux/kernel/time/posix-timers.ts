/**
 * Clocks (kernel/time/posix-timers.c, Linux 6.18) on the virtual clock: time advances with the
 * instructions run, never with the host's clock.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Machine } from '../../../../emulator/machine.js';
import { ClockId } from '../../abi.js';
import type { Kernel } from '../../kernel.js';

/** Virtual clock start: 2026-01-01T00:00:00Z, in ns since the epoch. */
export const CLOCK_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;
/** Virtual nanoseconds each instruction takes, and each clock read. */
export const NS_PER_INSN = 1n;
export const NS_PER_CLOCK_READ = 1000n;

export function readClock(this: Kernel, id: number): bigint {
  this.clockNs += NS_PER_CLOCK_READ;
  switch (id as ClockId) {
    case ClockId.REALTIME: case ClockId.REALTIME_COARSE: return this.clockNs;
    case ClockId.MONOTONIC: case ClockId.MONOTONIC_RAW: case ClockId.MONOTONIC_COARSE: case ClockId.BOOTTIME: return this.clockNs - CLOCK_EPOCH_NS;
    case ClockId.PROCESS_CPUTIME_ID: case ClockId.THREAD_CPUTIME_ID: return this.insns * NS_PER_INSN;
    default: return -1n;
  }
}

export function writeTimespec(this: Kernel, m: Machine, addr: bigint, ns: bigint, unit: bigint): void {
  m.writeU64(addr, ns / 1_000_000_000n);
  m.writeU64(addr + 8n, (ns % 1_000_000_000n) / unit);
}

export function readTimespec(this: Kernel, m: Machine, addr: bigint): bigint {
  return m.readU64(addr) * 1_000_000_000n + m.readU64(addr + 8n);
}
