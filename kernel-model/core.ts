/**
 * ELF core files as Linux writes them for an x86-64 process (fs/binfmt_elf.c elf_core_dump with
 * the regset-based fill_note_info / write_note_info, arch/x86 regsets, and the arch hook
 * elf_coredump_extra_notes_write for NT_X86_XSAVE_LAYOUT). Layout of the structures from the
 * UAPI headers (linux/elfcore.h, asm/user.h, asm-generic/siginfo.h); no kernel code copied.
 *
 * Note order: for the first (dumping) thread NT_PRSTATUS, then the process notes NT_PRPSINFO,
 * NT_SIGINFO, NT_AUXV, NT_FILE, then the thread's other regsets (NT_PRFPREG, NT_X86_XSTATE);
 * then each other thread's NT_PRSTATUS and regsets; then the extra notes (NT_X86_XSAVE_LAYOUT).
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { maskBits } from '../emulator/xfeatures.js';
import type { TaskFpu } from './fpstate.js';
import { NoteType, ptrace_getregset } from './regset.js';
import { KernelBehaviour } from './variants.js';
import { readCoreNotes as readElfNotes } from '../src/explain/elf-notes.js';

/** Note types beyond the regsets (include/uapi/linux/elf.h). */
export enum CoreNote {
  NT_PRSTATUS = 1,
  NT_PRFPREG = 2,
  NT_PRPSINFO = 3,
  NT_AUXV = 6,
  NT_SIGINFO = 0x53494749,
  NT_FILE = 0x46494c45,
  NT_X86_XSTATE = 0x202,
  NT_X86_XSAVE_LAYOUT = 0x205,
}

/** ELF constants (include/uapi/linux/elf.h, elf-em.h). */
const ET_CORE = 4;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ELFOSABI_NONE = 0;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** ELF_EXEC_PAGESIZE on x86 (asm/elf.h): alignment of the dumped memory. */
const ELF_EXEC_PAGESIZE = 4096;
/** PF_X, PF_W, PF_R. */
export const PF = { X: 1, W: 2, R: 4 } as const;

/** struct user_regs_struct (asm/user.h, x86-64): the order of elf_gregset_t. */
export const USER_REGS = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi',
  'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs'] as const;
export type UserReg = (typeof USER_REGS)[number];
export type UserRegs = Record<UserReg, bigint>;

/** sizeof(struct elf_prstatus) on x86-64 and the offset of pr_reg in it (linux/elfcore.h). */
const ELF_PRSTATUS_SIZE = 336;
const PR_REG_OFFSET = 112;
const PR_FPVALID_OFFSET = 328;
/** sizeof(struct elf_prpsinfo) on x86-64; ELF_PRARGSZ (linux/elfcore.h). */
const ELF_PRPSINFO_SIZE = 136;
const ELF_PRARGSZ = 80;
const TASK_COMM_LEN = 16;
/** sizeof(siginfo_t) (asm-generic/siginfo.h SI_MAX_SIZE). */
const SIGINFO_SIZE = 128;
/** struct x86_xfeat_component (asm/elf.h, 6.12): type, size, offset, flags. */
const X86_XFEAT_COMPONENT_SIZE = 16;

export interface CoreThread {
  tid: number;
  regs: UserRegs;
  fpu: TaskFpu;
  /** Signal mask and pending set (pr_sighold, pr_sigpend). */
  sigpend?: bigint;
  sighold?: bigint;
}

export interface CoreMapping {
  start: bigint;
  end: bigint;
  /** PF bits. */
  flags: number;
  /** File backing (NT_FILE) and its offset in bytes. */
  path?: string;
  fileOffset?: bigint;
  /** Bytes dumped (end - start of them); an empty array dumps nothing (p_filesz 0). */
  data: Uint8Array;
}

export interface CoreProcess {
  cpu: CpuModel;
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
  uid: number;
  gid: number;
  /** task->comm (15 characters) and the start of the command line. */
  comm: string;
  psargs: string;
  /** The signal that killed it and its siginfo fields. */
  signo: number;
  sigCode: number;
  sigErrno?: number;
  /** si_addr for faults; si_pid/si_uid for kill(). */
  sigAddr?: bigint;
  sigPid?: number;
  sigUid?: number;
  /** The dumping thread first. */
  threads: CoreThread[];
  auxv: bigint[];
  mappings: CoreMapping[];
}

class Writer {
  private parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  padTo(align: number): void {
    const pad = (align - (this.length % align)) % align;
    if (pad) this.push(new Uint8Array(pad));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

/** One ELF note: namesz, descsz, type, name (NUL, padded to 4), desc (padded to 4). */
export function elfNote(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name + '\0');
  const pad4 = (n: number): number => (n + 3) & ~3;
  const out = new Uint8Array(12 + pad4(nameBytes.length) + pad4(desc.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nameBytes.length, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type >>> 0, true);
  out.set(nameBytes, 12);
  out.set(desc, 12 + pad4(nameBytes.length));
  return out;
}

function prstatus(p: CoreProcess, t: CoreThread, fpvalid: boolean): Uint8Array {
  const b = new Uint8Array(ELF_PRSTATUS_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, p.signo, true); // pr_info.si_signo (si_code and si_errno are 0 in pr_info)
  dv.setInt16(12, p.signo, true); // pr_cursig
  dv.setBigUint64(16, t.sigpend ?? 0n, true);
  dv.setBigUint64(24, t.sighold ?? 0n, true);
  dv.setInt32(32, t.tid, true);
  dv.setInt32(36, p.ppid, true);
  dv.setInt32(40, p.pgrp, true);
  dv.setInt32(44, p.sid, true);
  USER_REGS.forEach((r, i) => dv.setBigUint64(PR_REG_OFFSET + 8 * i, BigInt.asUintN(64, t.regs[r]), true));
  dv.setInt32(PR_FPVALID_OFFSET, fpvalid ? 1 : 0, true);
  return b;
}

function prpsinfo(p: CoreProcess): Uint8Array {
  const b = new Uint8Array(ELF_PRPSINFO_SIZE);
  const dv = new DataView(b.buffer);
  b[0] = 0; // pr_state: running ('R')
  b[1] = 'R'.charCodeAt(0);
  dv.setUint32(16, p.uid, true);
  dv.setUint32(20, p.gid, true);
  dv.setInt32(24, p.pid, true);
  dv.setInt32(28, p.ppid, true);
  dv.setInt32(32, p.pgrp, true);
  dv.setInt32(36, p.sid, true);
  b.set(new TextEncoder().encode(p.comm).subarray(0, TASK_COMM_LEN - 1), 40);
  b.set(new TextEncoder().encode(p.psargs).subarray(0, ELF_PRARGSZ - 1), 56);
  return b;
}

/** siginfo_t as copy_siginfo_to_external leaves it: si_signo, si_errno, si_code, then the union. */
function siginfo(p: CoreProcess): Uint8Array {
  const b = new Uint8Array(SIGINFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, p.signo, true);
  dv.setInt32(4, p.sigErrno ?? 0, true);
  dv.setInt32(8, p.sigCode, true);
  if (p.sigAddr !== undefined) dv.setBigUint64(16, p.sigAddr, true);
  else { dv.setInt32(16, p.sigPid ?? 0, true); dv.setUint32(20, p.sigUid ?? 0, true); }
  return b;
}

function auxv(p: CoreProcess): Uint8Array {
  const b = new Uint8Array(8 * p.auxv.length);
  p.auxv.forEach((v, i) => new DataView(b.buffer).setBigUint64(8 * i, v, true));
  return b;
}

/** NT_FILE (fill_files_note): count, page size, {start, end, pgoff} per file mapping, then the names. */
function fileNote(p: CoreProcess): Uint8Array | undefined {
  const files = p.mappings.filter((m) => m.path !== undefined);
  if (!files.length) return undefined;
  const names = files.map((m) => new TextEncoder().encode(m.path + '\0'));
  const b = new Uint8Array(16 + 24 * files.length + names.reduce((n, x) => n + x.length, 0));
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(files.length), true);
  dv.setBigUint64(8, BigInt(ELF_EXEC_PAGESIZE), true);
  files.forEach((m, i) => {
    dv.setBigUint64(16 + 24 * i, m.start, true);
    dv.setBigUint64(24 + 24 * i, m.end, true);
    dv.setBigUint64(32 + 24 * i, (m.fileOffset ?? 0n) / BigInt(ELF_EXEC_PAGESIZE), true);
  });
  let at = 16 + 24 * files.length;
  for (const n of names) { b.set(n, at); at += n.length; }
  return b;
}

/**
 * NT_X86_XSAVE_LAYOUT (6.12, ba386777a30b): one x86_xfeat_component per extended feature of
 * fpu_user_cfg.max_features, in bit order; the offsets are the standard ones of NT_X86_XSTATE.
 */
export function xsaveLayoutNote(cpu: CpuModel, fpu: TaskFpu): Uint8Array {
  const feats = maskBits(fpu.cfg.user.maxFeatures).filter((i) => i >= 2 && cpu.components[i]);
  const b = new Uint8Array(X86_XFEAT_COMPONENT_SIZE * feats.length);
  const dv = new DataView(b.buffer);
  feats.forEach((i, k) => {
    const c = cpu.components[i]!;
    dv.setUint32(16 * k, i, true);
    dv.setUint32(16 * k + 4, c.size, true);
    dv.setUint32(16 * k + 8, c.standardOffset, true);
    dv.setUint32(16 * k + 12, 0, true);
  });
  return b;
}

/** The notes of a core file, in the kernel's order, as [owner, type, desc]. */
export function coreNotes(p: CoreProcess): [string, CoreNote, Uint8Array][] {
  const notes: [string, CoreNote, Uint8Array][] = [];
  const cpu = p.cpu;
  p.threads.forEach((t, k) => {
    const fp = ptrace_getregset(cpu, t.fpu, NoteType.NT_PRFPREG, 512);
    notes.push(['CORE', CoreNote.NT_PRSTATUS, prstatus(p, t, fp.errno === 0)]);
    if (k === 0) {
      notes.push(['CORE', CoreNote.NT_PRPSINFO, prpsinfo(p)]);
      notes.push(['CORE', CoreNote.NT_SIGINFO, siginfo(p)]);
      notes.push(['CORE', CoreNote.NT_AUXV, auxv(p)]);
      const f = fileNote(p);
      if (f) notes.push(['CORE', CoreNote.NT_FILE, f]);
    }
    // The other regsets with a core note: NT_PRFPREG owned "CORE", the rest "LINUX"
    // (fill_thread_core_info); NT_X86_XSTATE only when XSAVE is used (its n is 0 otherwise).
    if (fp.errno === 0) notes.push(['CORE', CoreNote.NT_PRFPREG, fp.data!]);
    if (t.fpu.cfg.useXsave) {
      const xs = ptrace_getregset(cpu, t.fpu, NoteType.NT_X86_XSTATE, t.fpu.cfg.user.maxSize);
      if (xs.errno === 0) notes.push(['LINUX', CoreNote.NT_X86_XSTATE, xs.data!]);
    }
  });
  const first = p.threads[0].fpu;
  if (first.variant.has(KernelBehaviour.XsaveLayoutNote) && first.cfg.useXsave) notes.push(['LINUX', CoreNote.NT_X86_XSAVE_LAYOUT, xsaveLayoutNote(cpu, first)]);
  return notes;
}

/** The whole core file: ELF header, PT_NOTE then one PT_LOAD per mapping, notes, page-aligned memory. */
export function writeElfCore(p: CoreProcess): Uint8Array {
  const noteBytes = new Writer();
  for (const [name, type, desc] of coreNotes(p)) noteBytes.push(elfNote(name, type, desc));
  const phnum = 1 + p.mappings.length;
  const notesOffset = EHDR_SIZE + PHDR_SIZE * phnum;
  const dataOffset = Math.ceil((notesOffset + noteBytes.length) / ELF_EXEC_PAGESIZE) * ELF_EXEC_PAGESIZE;
  const head = new Uint8Array(notesOffset);
  const dv = new DataView(head.buffer);
  head.set([0x7f, 0x45, 0x4c, 0x46, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE], 0);
  dv.setUint16(16, ET_CORE, true);
  dv.setUint16(18, EM_X86_64, true);
  dv.setUint32(20, EV_CURRENT, true);
  dv.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  dv.setUint16(52, EHDR_SIZE, true);
  dv.setUint16(54, PHDR_SIZE, true);
  dv.setUint16(56, phnum, true);
  dv.setUint16(58, 64, true); // e_shentsize (sizeof(struct elf64_shdr)), as Linux fills it
  const phdr = (i: number, type: number, flags: number, offset: number, vaddr: bigint, filesz: number, memsz: bigint, align: number): void => {
    const o = EHDR_SIZE + PHDR_SIZE * i;
    dv.setUint32(o, type, true);
    dv.setUint32(o + 4, flags, true);
    dv.setBigUint64(o + 8, BigInt(offset), true);
    dv.setBigUint64(o + 16, vaddr, true);
    dv.setBigUint64(o + 24, 0n, true);
    dv.setBigUint64(o + 32, BigInt(filesz), true);
    dv.setBigUint64(o + 40, memsz, true);
    dv.setBigUint64(o + 48, BigInt(align), true);
  };
  phdr(0, PT_NOTE, 0, notesOffset, 0n, noteBytes.length, 0n, 4);
  let at = dataOffset;
  p.mappings.forEach((m, i) => {
    phdr(i + 1, PT_LOAD, m.flags, at, m.start, m.data.length, m.end - m.start, ELF_EXEC_PAGESIZE);
    at += m.data.length;
  });
  const out = new Writer();
  out.push(head);
  out.push(noteBytes.bytes());
  out.padTo(ELF_EXEC_PAGESIZE);
  for (const m of p.mappings) out.push(m.data);
  return out.bytes();
}

/** The notes of an ELF64 core as [owner, type, desc] (the one ELF note reader: src/explain/elf-notes.ts). */
export function readCoreNotes(core: Uint8Array, file = '<core>'): [string, number, Uint8Array][] {
  return readElfNotes(core, file).notes.map((n) => [n.name, n.type, n.desc]);
}
