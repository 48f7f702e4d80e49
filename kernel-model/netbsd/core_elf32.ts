/**
 * The FPU notes of a NetBSD/amd64 core file (sys/kern/core_elf32.c coredump_note, with the
 * COREDUMP_MACHDEP_LWP_NOTES hook of sys/arch/amd64/include/ptrace.h rev. 1.22, 2020): after the
 * process-wide "NetBSD-CORE" procinfo note, each LWP (the one that dumped first) gets notes named
 * "NetBSD-CORE@<lwpid>" of types PT_GETREGS, PT_GETFPREGS and PT_GETXSTATE, the last holding the
 * whole struct xstate as process_read_xstate() fills a zeroed one. No NetBSD code copied.
 * ASSUMPTION: the machine-dependent hook runs after the PT_GETFPREGS note, where core_elf32.c
 * rev. 1.45 left "XXX Add hook for machdep per-LWP notes"; the stored revisions read do not show
 * the call site itself.
 */
import { SIZEOF_XSTATE } from './cpu_extended_state.js';
import { type NetbsdLwpFpu, process_read_fpregs_xmm, process_read_xstate } from './fpu.js';
import { PtRequest } from './process_machdep.js';

/** ELF_NOTE_NETBSD_CORE_NAME (sys/exec_elf.h). */
export const ELF_NOTE_NETBSD_CORE_NAME = 'NetBSD-CORE';
/** ELF_NOTE_NETBSD_CORE_PROCINFO (sys/exec_elf.h): struct netbsd_elfcore_procinfo. */
export const ELF_NOTE_NETBSD_CORE_PROCINFO = 1;

export interface NetbsdCoreNote {
  name: string;
  type: number;
  /** The descriptor where the model produces it (the FPU notes); undefined for notes only listed. */
  desc?: Uint8Array;
}

/**
 * The notes in file order for LWPs `lwps` (the dumping one first). The procinfo and PT_GETREGS
 * descriptors are outside this model (general registers and process data): they are listed,
 * with no bytes.
 */
export function netbsd_coredump_notes(lwps: readonly NetbsdLwpFpu[]): NetbsdCoreNote[] {
  const notes: NetbsdCoreNote[] = [{ name: ELF_NOTE_NETBSD_CORE_NAME, type: ELF_NOTE_NETBSD_CORE_PROCINFO }];
  for (const l of lwps) {
    const name = `${ELF_NOTE_NETBSD_CORE_NAME}@${l.lid}`;
    notes.push({ name, type: PtRequest.PT_GETREGS });
    notes.push({ name, type: PtRequest.PT_GETFPREGS, desc: process_read_fpregs_xmm(l) });
    const xs = new Uint8Array(SIZEOF_XSTATE);
    process_read_xstate(l, xs);
    notes.push({ name, type: PtRequest.PT_GETXSTATE, desc: xs });
  }
  return notes;
}
