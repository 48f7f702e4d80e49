/**
 * Signal numbers in the GDB remote protocol: GDB's own numbering (include/gdb/signals.def, "part
 * of the remote protocol"), not the target's. A stub reports the Linux signal by its GDB number
 * (T/S/X replies) and takes GDB numbers in C/S/vCont actions, as gdbserver does with
 * gdb_signal_from_host / gdb_signal_to_host.
 */
import { Sig } from '../linux/abi.js';

/** GDB_SIGNAL_* for each Linux x86-64 signal that has one by name (signals.def). */
const LINUX_TO_GDB: Record<number, number> = {
  [Sig.SIGHUP]: 1, [Sig.SIGINT]: 2, [Sig.SIGQUIT]: 3, [Sig.SIGILL]: 4, [Sig.SIGTRAP]: 5, [Sig.SIGABRT]: 6,
  [Sig.SIGFPE]: 8, [Sig.SIGKILL]: 9, [Sig.SIGBUS]: 10, [Sig.SIGSEGV]: 11, [Sig.SIGSYS]: 12, [Sig.SIGPIPE]: 13,
  [Sig.SIGALRM]: 14, [Sig.SIGTERM]: 15, [Sig.SIGURG]: 16, [Sig.SIGSTOP]: 17, [Sig.SIGTSTP]: 18, [Sig.SIGCONT]: 19,
  [Sig.SIGCHLD]: 20, [Sig.SIGTTIN]: 21, [Sig.SIGTTOU]: 22, [Sig.SIGIO]: 23, [Sig.SIGXCPU]: 24, [Sig.SIGXFSZ]: 25,
  [Sig.SIGVTALRM]: 26, [Sig.SIGPROF]: 27, [Sig.SIGWINCH]: 28, [Sig.SIGUSR1]: 30, [Sig.SIGUSR2]: 31, [Sig.SIGPWR]: 32,
};
/** signals.def: GDB_SIGNAL_REALTIME_32 is 77, 33..63 are 45..75, 64 is 78. */
const GDB_SIGNAL_REALTIME_32 = 77;
const GDB_SIGNAL_REALTIME_33 = 45;
const GDB_SIGNAL_REALTIME_64 = 78;
/** GDB_SIGNAL_UNKNOWN: Linux's SIGSTKFLT has no GDB name. */
const GDB_SIGNAL_UNKNOWN = 143;

export function gdbSignalFromLinux(sig: number): number {
  const named = LINUX_TO_GDB[sig];
  if (named !== undefined) return named;
  if (sig === 32) return GDB_SIGNAL_REALTIME_32;
  if (sig >= 33 && sig <= 63) return GDB_SIGNAL_REALTIME_33 + (sig - 33);
  if (sig === 64) return GDB_SIGNAL_REALTIME_64;
  return GDB_SIGNAL_UNKNOWN;
}

/** The Linux signal for a GDB number; undefined when Linux has none (GDB_SIGNAL_EMT, ...). */
export function linuxSignalFromGdb(gdb: number): number | undefined {
  if (gdb === 0) return 0;
  for (const [linux, g] of Object.entries(LINUX_TO_GDB)) if (g === gdb) return Number(linux);
  if (gdb === GDB_SIGNAL_REALTIME_32) return 32;
  if (gdb >= GDB_SIGNAL_REALTIME_33 && gdb <= GDB_SIGNAL_REALTIME_33 + 30) return 33 + (gdb - GDB_SIGNAL_REALTIME_33);
  if (gdb === GDB_SIGNAL_REALTIME_64) return 64;
  return undefined;
}
