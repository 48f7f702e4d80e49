/**
 * The ELF side of exec for x86-64 Linux static programs: parse and validate the file
 * (`parseElf`), place its segments in memory (`layoutProcess`) and build the initial stack
 * (`buildInitialStack`), the way Linux's fs/binfmt_elf.c (`load_elf_binary`, `elf_load`,
 * `create_elf_tables`) and fs/exec.c (`do_execveat_common`, `setup_arg_pages`) do.
 *
 * Pure: no emulator dependency, no file system. Every problem with the file is an InputError
 * naming the file, the place (ELF field, program header, byte offset) and what was expected.
 * Problems with arguments that only the calling code can get wrong are plain Errors.
 *
 * References: the System V gABI ("ELF Header", "Program Header"), the x86-64 psABI
 * ("Process Initialization"), and the Linux sources named next to each rule.
 */
import { InputError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** x86-64 page size (ELF_MIN_ALIGN = ELF_EXEC_PAGESIZE = PAGE_SIZE = 4096 in fs/binfmt_elf.c). */
export const PAGE_SIZE = 0x1000n;
/**
 * Top of the x86-64 user address space with 4-level paging: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE
 * (arch/x86/include/asm/page_64_types.h). load_elf_binary rejects segments that do not fit below it.
 */
export const TASK_SIZE = (1n << 47n) - PAGE_SIZE;
/**
 * Where Linux puts a PIE that has an interpreter when ASLR is off: ELF_ET_DYN_BASE =
 * DEFAULT_MAP_WINDOW / 3 * 2 = 0x555555554aaa (arch/x86/include/asm/elf.h), page-aligned down by
 * load_elf_binary's `ELF_PAGESTART(load_bias - vaddr)`. The familiar gdb address.
 */
export const ELF_ET_DYN_BASE = 0x555555554aaan;
export const DEFAULT_PIE_BASE = ELF_ET_DYN_BASE & ~(PAGE_SIZE - 1n); // 0x555555554000

const EHDR_SIZE = 64; // sizeof(Elf64_Ehdr)
const PHDR_SIZE = 56; // sizeof(Elf64_Phdr)
/** load_elf_phdrs refuses a program header table larger than this (fs/binfmt_elf.c). */
const MAX_PHDR_TABLE = 65536;
/**
 * A model limit, not Linux's: the model copies every page of the image (file and bss) into the
 * emulator, where Linux maps them lazily. Measured on a 2-core VM: 64 MiB of bss costs about 1 s
 * and 200 MB, 1 GiB about 20 s and 2 GB, and a mapping of 2 GiB or more crashes uc_mem_write
 * (UC_ERR_ARG). Images above this total are refused with a clear error.
 */
export const MAX_IMAGE_BYTES = 1n << 28n; // 256 MiB

const ET_REL = 1, ET_EXEC = 2, ET_DYN = 3, ET_CORE = 4;
const EM_X86_64 = 62;
const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_TLS = 7, PT_GNU_STACK = 0x6474e551;
const PF_X = 1, PF_W = 2, PF_R = 4;

const MACHINES: Record<number, string> = {
  0: 'no machine', 2: 'SPARC', 3: 'Intel 80386', 4: 'Motorola 68000', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64',
  22: 'IBM S/390', 40: 'ARM', 42: 'SuperH', 43: 'SPARC V9', 50: 'IA-64', 62: 'EM_X86_64', 183: 'AArch64',
  243: 'RISC-V', 247: 'BPF', 258: 'LoongArch',
};

// ---------------------------------------------------------------------------------------------
// Auxiliary vector types: include/uapi/linux/auxvec.h and arch/x86/include/uapi/asm/auxvec.h
// ---------------------------------------------------------------------------------------------

/** End of the vector (include/uapi/linux/auxvec.h). */
export const AT_NULL = 0;
/** Address of the program headers (include/uapi/linux/auxvec.h). */
export const AT_PHDR = 3;
/** Size of one program header (include/uapi/linux/auxvec.h). */
export const AT_PHENT = 4;
/** Number of program headers (include/uapi/linux/auxvec.h). */
export const AT_PHNUM = 5;
/** System page size (include/uapi/linux/auxvec.h). */
export const AT_PAGESZ = 6;
/** Load address of the interpreter; 0 for a static program (include/uapi/linux/auxvec.h). */
export const AT_BASE = 7;
/** Flags, AT_FLAGS_PRESERVE_ARGV0 (include/uapi/linux/auxvec.h). */
export const AT_FLAGS = 8;
/** Entry point of the program (include/uapi/linux/auxvec.h). */
export const AT_ENTRY = 9;
/** Real uid (include/uapi/linux/auxvec.h). */
export const AT_UID = 11;
/** Effective uid (include/uapi/linux/auxvec.h). */
export const AT_EUID = 12;
/** Real gid (include/uapi/linux/auxvec.h). */
export const AT_GID = 13;
/** Effective gid (include/uapi/linux/auxvec.h). */
export const AT_EGID = 14;
/** Address of the platform string, "x86_64" (include/uapi/linux/auxvec.h). */
export const AT_PLATFORM = 15;
/** CPUID.1:EDX on x86 (include/uapi/linux/auxvec.h). */
export const AT_HWCAP = 16;
/** Frequency of times() (include/uapi/linux/auxvec.h). */
export const AT_CLKTCK = 17;
/** Secure mode, e.g. setuid (include/uapi/linux/auxvec.h). */
export const AT_SECURE = 23;
/** Address of 16 random bytes (include/uapi/linux/auxvec.h). */
export const AT_RANDOM = 25;
/** HWCAP2_RING3MWAIT, HWCAP2_FSGSBASE on x86 (include/uapi/linux/auxvec.h). */
export const AT_HWCAP2 = 26;
/** Supported rseq feature size, Linux 6.3+ with CONFIG_RSEQ (include/uapi/linux/auxvec.h). */
export const AT_RSEQ_FEATURE_SIZE = 27;
/** rseq area alignment, Linux 6.3+ with CONFIG_RSEQ (include/uapi/linux/auxvec.h). */
export const AT_RSEQ_ALIGN = 28;
/** Address of the file name given to execve (include/uapi/linux/auxvec.h). */
export const AT_EXECFN = 31;
/** vDSO base (arch/x86/include/uapi/asm/auxvec.h). Never emitted here: there is no vDSO. */
export const AT_SYSINFO_EHDR = 33;
/** Minimum signal stack size, from the XSAVE size (arch/x86/include/uapi/asm/auxvec.h; Linux 5.14+). */
export const AT_MINSIGSTKSZ = 51;

const AUXV_NAMES: Record<number, string> = {
  [AT_NULL]: 'AT_NULL', [AT_PHDR]: 'AT_PHDR', [AT_PHENT]: 'AT_PHENT', [AT_PHNUM]: 'AT_PHNUM', [AT_PAGESZ]: 'AT_PAGESZ',
  [AT_BASE]: 'AT_BASE', [AT_FLAGS]: 'AT_FLAGS', [AT_ENTRY]: 'AT_ENTRY', [AT_UID]: 'AT_UID', [AT_EUID]: 'AT_EUID',
  [AT_GID]: 'AT_GID', [AT_EGID]: 'AT_EGID', [AT_PLATFORM]: 'AT_PLATFORM', [AT_HWCAP]: 'AT_HWCAP',
  [AT_CLKTCK]: 'AT_CLKTCK', [AT_SECURE]: 'AT_SECURE', [AT_RANDOM]: 'AT_RANDOM', [AT_HWCAP2]: 'AT_HWCAP2',
  [AT_RSEQ_FEATURE_SIZE]: 'AT_RSEQ_FEATURE_SIZE', [AT_RSEQ_ALIGN]: 'AT_RSEQ_ALIGN', [AT_EXECFN]: 'AT_EXECFN',
  [AT_SYSINFO_EHDR]: 'AT_SYSINFO_EHDR', [AT_MINSIGSTKSZ]: 'AT_MINSIGSTKSZ',
};
/** `AT_HWCAP` for 16, `AT_26`-style for unknown types. */
export function auxvName(type: number): string {
  return AUXV_NAMES[type] ?? `AT_${type}`;
}

/**
 * The order in which create_elf_tables (fs/binfmt_elf.c) writes the x86-64 auxiliary vector:
 * ARCH_DLINFO first (arch/x86/include/asm/elf.h: AT_SYSINFO_EHDR when the vDSO is mapped, then
 * AT_MINSIGSTKSZ), then the generic entries. x86 defines ELF_HWCAP2 but neither ELF_HWCAP3/4
 * nor ELF_BASE_PLATFORM; AT_EXECFD only appears for binfmt_misc's O flag. AT_SYSINFO_EHDR is
 * listed for completeness and refused by buildInitialStack (no vDSO here).
 */
export const AUXV_ORDER_X86_64: readonly number[] = [
  AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS,
  AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM,
  AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN,
];
/** Entries every x86-64 Linux kernel writes; the others depend on the version (see the constants). */
const AUXV_REQUIRED = [AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY,
  AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE];
/** Entries whose values are addresses on the stack, so buildInitialStack fills them in. */
const AUXV_COMPUTED = new Set([AT_RANDOM, AT_EXECFN, AT_PLATFORM]);

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** PF_R / PF_W / PF_X, also used for mapping protections. */
export interface Perms { r: boolean; w: boolean; x: boolean }

/** One PT_LOAD program header. Addresses are link-time (not relocated). */
export interface ElfSegment {
  /** Index of the program header in the table. */
  index: number;
  vaddr: bigint;
  memsz: bigint;
  filesz: bigint;
  offset: bigint;
  flags: Perms;
  align: bigint;
}

/** The PT_TLS program header: the initial image of the thread-local block. */
export interface ElfTls {
  index: number;
  vaddr: bigint;
  memsz: bigint;
  filesz: bigint;
  offset: bigint;
  align: bigint;
}

export interface ElfImage {
  /** The file name used in messages. */
  file: string;
  /** The whole file (not copied); layoutProcess reads the segments from it. */
  bytes: Uint8Array;
  /** ET_EXEC, or ET_DYN without PT_INTERP (static PIE). */
  type: 'exec' | 'pie';
  /** e_entry, link-time. */
  entry: bigint;
  /** The PT_LOAD segments in program-header order, which is ascending p_vaddr (checked). */
  segments: ElfSegment[];
  /**
   * The program header table. `vaddr` is the link-time address Linux reports as AT_PHDR (before
   * relocation): load_elf_binary takes the last PT_LOAD whose file bytes contain e_phoff and
   * computes e_phoff - p_offset + p_vaddr; it does not look at PT_PHDR. When no PT_LOAD contains
   * e_phoff, Linux passes 0 + load bias; `mapped` is then false.
   */
  phdr: { vaddr: bigint; offset: bigint; num: number; entsize: number; mapped: boolean };
  tls?: ElfTls;
  /**
   * PT_GNU_STACK: PF_X asks for an executable stack. Without the header, x86-64 Linux 5.8+
   * gives a non-executable stack (elf_read_implies_exec is false for 64-bit programs since
   * "x86/elf: Disable automatic READ_IMPLIES_EXEC on 64-bit").
   */
  gnuStack: { executable: boolean; present: boolean };
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

const hex = (v: bigint | number): string => '0x' + v.toString(16);
const ptName = (t: number): string =>
  ({ [PT_LOAD]: 'PT_LOAD', [PT_DYNAMIC]: 'PT_DYNAMIC', [PT_INTERP]: 'PT_INTERP', [PT_TLS]: 'PT_TLS', [PT_GNU_STACK]: 'PT_GNU_STACK' } as Record<number, string>)[t] ??
  `type ${hex(t)}`;
const perms = (f: number): Perms => ({ r: (f & PF_R) !== 0, w: (f & PF_W) !== 0, x: (f & PF_X) !== 0 });
/** `r-x`-style text for messages and listings. */
export function permString(p: Perms): string {
  return (p.r ? 'r' : '-') + (p.w ? 'w' : '-') + (p.x ? 'x' : '-');
}

interface RawPhdr { index: number; at: number; type: number; flags: number; offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; align: bigint }

/**
 * Parse and validate an x86-64 Linux static program. Accepts ET_EXEC, and ET_DYN without
 * PT_INTERP (static PIE); refuses dynamically linked programs with the build command to use.
 */
export function parseElf(bytes: Uint8Array, file: string): ElfImage {
  const len = bytes.length;
  const fileLen = BigInt(len);
  const fail = (place: string | undefined, detail: string): never => {
    throw new InputError(file, place, detail);
  };
  // The place is the structure that runs past the end: every error names a place.
  const truncated = (place: string, what: string, end: bigint | number): never =>
    fail(place, `truncated: ${what} ends at byte ${end} but the file has ${len} bytes`);

  // e_ident: magic first, so that any non-ELF file gets the same clear message.
  const MAGIC = [0x7f, 0x45, 0x4c, 0x46];
  const head = Array.from(bytes.subarray(0, 4));
  if (len === 0) fail('e_ident[EI_MAG0..3]', 'expected 7f 45 4c 46 ("\\x7fELF"), got an empty file: not an ELF file');
  if (head.some((b, i) => b !== MAGIC[i])) {
    const shown = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = JSON.stringify(String.fromCharCode(...head.map((b) => (b >= 0x20 && b < 0x7f ? b : 0x2e))));
    const hint = head[0] === 0x23 && head[1] === 0x21 ? ' (a script: run its interpreter on it instead)' : '';
    fail('e_ident[EI_MAG0..3]', `expected 7f 45 4c 46 ("\\x7fELF"), got ${shown} (${text}): not an ELF file${hint}`);
  }
  // e_machine sits at byte 18 in both classes: check it before the class so that a foreign
  // program is named for what it is.
  if (len < 20) truncated('ELF header', 'the ELF header', EHDR_SIZE);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eiClass = bytes[4], eiData = bytes[5], eiVersion = bytes[6];
  if (eiData !== 1 && eiData !== 2) fail('e_ident[EI_DATA]', `expected 1 (ELFDATA2LSB, little-endian), got ${eiData}`);
  const machine = dv.getUint16(18, eiData === 1);
  if (machine !== EM_X86_64) {
    const name = MACHINES[machine] ?? 'unknown machine';
    const hint = machine === 3 ? ': a 32-bit x86 program; only x86-64 programs run here' : ': only x86-64 programs run here';
    fail('e_machine', `expected 62 (EM_X86_64), got ${machine} (${name})${hint}`);
  }
  if (eiClass !== 2) {
    const got = eiClass === 1 ? '1 (ELFCLASS32): an x32 or 32-bit program' : `${eiClass}`;
    fail('e_ident[EI_CLASS]', `expected 2 (ELFCLASS64), got ${got}`);
  }
  if (eiData !== 1) fail('e_ident[EI_DATA]', `expected 1 (ELFDATA2LSB, little-endian), got ${eiData} (ELFDATA2MSB, big-endian)`);
  if (eiVersion !== 1) fail('e_ident[EI_VERSION]', `expected 1 (EV_CURRENT), got ${eiVersion}`);
  if (len < EHDR_SIZE) truncated('ELF header', 'the ELF header', EHDR_SIZE);

  const eType = dv.getUint16(16, true);
  const eVersion = dv.getUint32(20, true);
  const eEntry = dv.getBigUint64(24, true);
  const ePhoff = dv.getBigUint64(32, true);
  const ePhentsize = dv.getUint16(54, true);
  const ePhnum = dv.getUint16(56, true);

  if (eVersion !== 1) fail('e_version', `expected 1 (EV_CURRENT), got ${eVersion}`);
  if (eType !== ET_EXEC && eType !== ET_DYN) {
    const what = eType === ET_REL ? '1 (ET_REL): an object file; link it into an executable first'
      : eType === ET_CORE ? '4 (ET_CORE): a core dump, not a program' : `${eType}`;
    fail('e_type', `expected 2 (ET_EXEC) or 3 (ET_DYN), got ${what}`);
  }
  // load_elf_phdrs: e_phentsize must be sizeof(struct elf_phdr), and the table 1..65536 bytes.
  if (ePhentsize !== PHDR_SIZE) fail('e_phentsize', `expected 56 (sizeof(Elf64_Phdr)), got ${ePhentsize}`);
  if (ePhnum === 0) fail('e_phnum', 'expected at least 1 program header, got 0');
  if (ePhnum * PHDR_SIZE > MAX_PHDR_TABLE) {
    fail('e_phnum', `${ePhnum} program headers make a ${ePhnum * PHDR_SIZE}-byte table; Linux (load_elf_phdrs) accepts at most 65536 bytes`);
  }
  for (let i = 0; i < ePhnum; i++) {
    const end = ePhoff + BigInt((i + 1) * PHDR_SIZE);
    if (end > fileLen) truncated(`program header ${i}`, `the program header at e_phoff + ${i * PHDR_SIZE}`, end);
  }

  const phdrs: RawPhdr[] = [];
  for (let i = 0; i < ePhnum; i++) {
    const at = Number(ePhoff) + i * PHDR_SIZE;
    phdrs.push({
      index: i, at,
      type: dv.getUint32(at, true),
      flags: dv.getUint32(at + 4, true),
      offset: dv.getBigUint64(at + 8, true),
      vaddr: dv.getBigUint64(at + 16, true),
      filesz: dv.getBigUint64(at + 32, true),
      memsz: dv.getBigUint64(at + 40, true),
      align: dv.getBigUint64(at + 48, true),
    });
  }
  const where = (p: RawPhdr): string => `program header ${p.index} (${ptName(p.type)} at byte ${p.at})`;

  // A dynamic program: say so before anything else about its segments.
  const interp = phdrs.find((p) => p.type === PT_INTERP);
  if (interp) {
    let path = '?';
    if (interp.offset + interp.filesz <= fileLen && interp.filesz <= 4096n) {
      const raw = bytes.subarray(Number(interp.offset), Number(interp.offset + interp.filesz));
      const nul = raw.indexOf(0);
      path = new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw);
    }
    fail(where(interp), `dynamically linked (PT_INTERP ${path}): only static programs run here; build with musl-gcc -static or gcc -static`);
  }

  const segments: ElfSegment[] = [];
  let prev: RawPhdr | undefined;
  for (const p of phdrs) {
    if (p.type !== PT_LOAD) continue;
    if (p.filesz > p.memsz) {
      fail(where(p), `p_filesz ${hex(p.filesz)} is larger than p_memsz ${hex(p.memsz)}; expected p_filesz <= p_memsz`);
    }
    if (p.offset + p.filesz > fileLen) truncated(where(p), `the PT_LOAD segment (p_offset + p_filesz)`, p.offset + p.filesz);
    // elf_map mmaps from p_offset - ELF_PAGEOFFSET(p_vaddr), which must be page-aligned (mmap).
    if ((p.vaddr - p.offset) % PAGE_SIZE !== 0n) {
      fail(where(p), `p_vaddr ${hex(p.vaddr)} and p_offset ${hex(p.offset)} differ modulo the page size (4096); expected them congruent, as mmap needs a page-aligned file offset`);
    }
    // load_elf_binary: BAD_ADDR(p_vaddr) || p_memsz > TASK_SIZE || TASK_SIZE - p_memsz < p_vaddr.
    if (p.vaddr >= TASK_SIZE || p.memsz > TASK_SIZE || TASK_SIZE - p.memsz < p.vaddr) {
      fail(where(p), `segment ${hex(p.vaddr)}..${hex(p.vaddr + p.memsz)} does not fit below ${hex(TASK_SIZE)} (TASK_SIZE, the x86-64 user address space)`);
    }
    if (prev) {
      if (p.vaddr < prev.vaddr) {
        fail(where(p), `p_vaddr ${hex(p.vaddr)} is below the ${hex(prev.vaddr)} of program header ${prev.index}; expected PT_LOAD segments in ascending p_vaddr order (gABI, "Program Header")`);
      }
      if (p.vaddr < prev.vaddr + prev.memsz) {
        fail(where(p), `p_vaddr ${hex(p.vaddr)} overlaps the PT_LOAD of program header ${prev.index} (${hex(prev.vaddr)}..${hex(prev.vaddr + prev.memsz)}); expected PT_LOAD segments not to overlap`);
      }
    }
    prev = p;
    segments.push({ index: p.index, vaddr: p.vaddr, memsz: p.memsz, filesz: p.filesz, offset: p.offset, flags: perms(p.flags), align: p.align });
  }
  if (segments.length === 0) fail('program headers', 'no PT_LOAD program header: nothing to load');

  let tls: ElfTls | undefined;
  for (const p of phdrs) {
    if (p.type !== PT_TLS) continue;
    if (tls) fail(where(p), `a second PT_TLS (the first is program header ${tls.index}); expected at most one`);
    if (p.filesz > p.memsz) fail(where(p), `p_filesz ${hex(p.filesz)} is larger than p_memsz ${hex(p.memsz)}; expected p_filesz <= p_memsz`);
    if (p.offset + p.filesz > fileLen) truncated(where(p), `the PT_TLS image (p_offset + p_filesz)`, p.offset + p.filesz);
    if (p.align > 1n && (p.align & (p.align - 1n)) !== 0n) fail(where(p), `p_align ${p.align} is not a power of two`);
    tls = { index: p.index, vaddr: p.vaddr, memsz: p.memsz, filesz: p.filesz, offset: p.offset, align: p.align };
  }

  // Last PT_GNU_STACK wins, as in load_elf_binary's loop.
  const gnuStack = { executable: false, present: false };
  for (const p of phdrs) if (p.type === PT_GNU_STACK) Object.assign(gnuStack, { present: true, executable: (p.flags & PF_X) !== 0 });

  const home = segments.find((s) => eEntry >= s.vaddr && eEntry < s.vaddr + s.memsz);
  if (!home || !home.flags.x) {
    const xs = segments.filter((s) => s.flags.x).map((s) => `${hex(s.vaddr)}..${hex(s.vaddr + s.memsz)} (program header ${s.index})`);
    const inside = home ? ` it is inside the ${permString(home.flags)} segment of program header ${home.index};` : '';
    fail('e_entry', `${hex(eEntry)} is not inside an executable (PF_X) PT_LOAD segment;${inside} the executable segments are ${xs.length ? xs.join(', ') : 'none'}`);
  }

  let phdrVaddr = 0n, mapped = false;
  for (const s of segments) {
    if (s.offset <= ePhoff && ePhoff < s.offset + s.filesz) {
      phdrVaddr = ePhoff - s.offset + s.vaddr;
      mapped = true;
    }
  }

  return {
    file, bytes,
    type: eType === ET_EXEC ? 'exec' : 'pie',
    entry: eEntry,
    segments,
    phdr: { vaddr: phdrVaddr, offset: ePhoff, num: ePhnum, entsize: ePhentsize, mapped },
    ...(tls ? { tls } : {}),
    gnuStack,
  };
}

// ---------------------------------------------------------------------------------------------
// Memory layout
// ---------------------------------------------------------------------------------------------

export interface Mapping {
  start: bigint;
  size: bigint;
  perms: Perms;
  /** The page contents: `size` bytes. */
  bytes: Uint8Array;
  /** 'file': pages mmapped from the file; 'anon': zero pages for the bss beyond the file pages. */
  kind: 'file' | 'anon';
  /** Program header index of the segment this came from. */
  segment: number;
}

export interface ProcessLayout {
  /** Added to every link-time address: 0 for ET_EXEC. */
  loadBias: bigint;
  /** Page-aligned, sorted, non-overlapping. */
  mappings: Mapping[];
  /** Relocated e_entry (also AT_ENTRY for a static program). */
  entry: bigint;
  /** AT_PHDR. */
  phdr: bigint;
  /** mm->start_brk = mm->brk: the page-aligned end of the highest segment. */
  brk: bigint;
  /** mm->start_code/end_code/start_data/end_data as load_elf_binary computes them (/proc/pid/stat). */
  startCode: bigint;
  endCode: bigint;
  startData: bigint;
  endData: bigint;
  /** Whether the stack is executable (PT_GNU_STACK). */
  stackExecutable: boolean;
}

const pageStart = (v: bigint): bigint => v & ~(PAGE_SIZE - 1n);
const pageAlign = (v: bigint): bigint => (v + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);

/**
 * Place the segments in memory as load_elf_binary / elf_load (fs/binfmt_elf.c) do, with ASLR off:
 *
 * - load bias: 0 for ET_EXEC; for a static PIE, ELF_PAGESTART(pieBase - first p_vaddr).
 *   (Linux itself loads a PIE *without* interpreter at the mmap base, load_bias 0 without
 *   MAP_FIXED, i.e. near the top of the address space; the caller picks `pieBase` here.)
 * - file pages: mmap of [ELF_PAGESTART(v), ELF_PAGEALIGN(v + p_filesz)) from p_offset -
 *   ELF_PAGEOFFSET(v), so the bytes around the segment in those pages are the file's bytes too
 *   (past the end of the file: zeros, as for a partial last page of a mmapped file).
 * - when p_memsz > p_filesz: padzero clears the rest of the last file page, but only succeeds
 *   (and so only happens) when the segment is writable; then [ELF_PAGEALIGN(v + p_filesz),
 *   ELF_PAGEALIGN(v + p_memsz)) gets anonymous zero pages from vm_brk_flags, which are always
 *   read-write (VM_DATA_DEFAULT_FLAGS), plus exec when the segment has PF_X.
 * - segments are mapped in program-header order with MAP_FIXED, so a page shared by two
 *   segments ends up with the later one's contents and protection.
 * - brk: ELF_PAGEALIGN of the highest p_vaddr + p_memsz. (Recent kernels move a static PIE's
 *   brk to ELF_ET_DYN_BASE; with the image at `pieBase` that would collide, so the brk stays
 *   right after the image here, as for ET_EXEC.)
 */
export function layoutProcess(img: ElfImage, opts: { pieBase?: bigint } = {}): ProcessLayout {
  const pieBase = opts.pieBase ?? DEFAULT_PIE_BASE;
  if (pieBase < 0n || pieBase % PAGE_SIZE !== 0n) throw new Error(`layoutProcess: pieBase ${hex(pieBase)} is not page-aligned`);
  const first = img.segments[0];
  if (!first) throw new Error('layoutProcess: an ElfImage without PT_LOAD segments (not from parseElf)');
  const bias = img.type === 'exec' ? 0n : pageStart(pieBase - first.vaddr);
  const fileLen = BigInt(img.bytes.length);

  let mappings: Mapping[] = [];
  const place = (m: Mapping): void => {
    const mEnd = m.start + m.size;
    const kept: Mapping[] = [];
    for (const e of mappings) {
      const eEnd = e.start + e.size;
      if (eEnd <= m.start || e.start >= mEnd) { kept.push(e); continue; }
      if (e.start < m.start) kept.push(slice(e, e.start, m.start));
      if (eEnd > mEnd) kept.push(slice(e, mEnd, eEnd));
    }
    kept.push(m);
    mappings = kept;
  };
  let materialised = 0n;
  const tooBig = (s: ElfSegment, size: bigint): void => {
    materialised += size;
    if (materialised > MAX_IMAGE_BYTES) {
      throw new InputError(img.file, `program header ${s.index} (PT_LOAD)`,
        `p_memsz ${hex(s.memsz)} brings the image to ${materialised} bytes; this model copies every page into the emulator and loads at most ${MAX_IMAGE_BYTES} bytes (256 MiB; Linux maps lazily and has no such limit)`);
    }
  };

  let brk = 0n;
  let startCode = -1n, endCode = 0n, startData = 0n, endData = 0n;
  for (const s of img.segments) {
    const v = s.vaddr + bias;
    if (v + s.memsz > TASK_SIZE) {
      throw new InputError(img.file, `program header ${s.index} (PT_LOAD)`, `loaded at ${hex(v)}..${hex(v + s.memsz)}, beyond ${hex(TASK_SIZE)} (TASK_SIZE); choose a lower PIE base`);
    }
    if (s.filesz > 0n) {
      const start = pageStart(v);
      const size = pageAlign(v + s.filesz) - start;
      tooBig(s, size);
      const bytes = new Uint8Array(Number(size));
      const from = s.offset - (v - start);
      const to = from + size < fileLen ? from + size : fileLen;
      bytes.set(img.bytes.subarray(Number(from), Number(to)));
      if (s.memsz > s.filesz && s.flags.w) bytes.fill(0, Number(v + s.filesz - start));
      place({ start, size, perms: { ...s.flags }, bytes, kind: 'file', segment: s.index });
    }
    if (s.memsz > s.filesz) {
      const zeroStart = s.filesz > 0n ? pageAlign(v + s.filesz) : pageStart(v);
      const zeroEnd = pageAlign(v + s.memsz);
      if (zeroEnd > zeroStart) {
        tooBig(s, zeroEnd - zeroStart);
        place({ start: zeroStart, size: zeroEnd - zeroStart, perms: { r: true, w: true, x: s.flags.x }, bytes: new Uint8Array(Number(zeroEnd - zeroStart)), kind: 'anon', segment: s.index });
      }
    }
    if (s.vaddr + s.memsz > brk) brk = s.vaddr + s.memsz;
    if (s.flags.x && (startCode < 0n || s.vaddr < startCode)) startCode = s.vaddr;
    if (startData < s.vaddr) startData = s.vaddr;
    if (s.flags.x && endCode < s.vaddr + s.filesz) endCode = s.vaddr + s.filesz;
    if (endData < s.vaddr + s.filesz) endData = s.vaddr + s.filesz;
  }
  mappings.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));

  return {
    loadBias: bias,
    mappings,
    entry: img.entry + bias,
    phdr: img.phdr.vaddr + bias,
    brk: pageAlign(brk + bias),
    startCode: startCode + bias,
    endCode: endCode + bias,
    startData: startData + bias,
    endData: endData + bias,
    stackExecutable: img.gnuStack.executable,
  };
}

function slice(m: Mapping, start: bigint, end: bigint): Mapping {
  return { ...m, start, size: end - start, bytes: m.bytes.subarray(Number(start - m.start), Number(end - m.start)) };
}

// ---------------------------------------------------------------------------------------------
// Initial stack
// ---------------------------------------------------------------------------------------------

export interface InitialStackInput {
  argv: string[];
  envp: string[];
  /**
   * The caller's auxiliary vector values, by AT_* type: at least AT_HWCAP, AT_PAGESZ, AT_CLKTCK,
   * AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID and
   * AT_SECURE; optionally AT_MINSIGSTKSZ (5.14+), AT_HWCAP2 (4.11+), AT_RSEQ_FEATURE_SIZE and
   * AT_RSEQ_ALIGN (6.3+). Leaving an optional one out models a kernel without it. AT_RANDOM,
   * AT_EXECFN and AT_PLATFORM are addresses on this stack and are filled in here. The order of
   * the map does not matter: entries are written in create_elf_tables' order.
   */
  auxv: Map<number, bigint>;
  /** The file name passed to execve (bprm->filename), copied to the top of the stack. */
  execfn: string;
  platform: 'x86_64';
  random16: Uint8Array;
  /** The end of the stack mapping: page-aligned, as setup_arg_pages makes it. */
  stackTop: bigint;
  /**
   * What arch_align_stack (arch/x86/kernel/process.c) subtracted before aligning to 16 bytes:
   * get_random_u32_below(8192) with ASLR on, 0 with ASLR off (the default).
   */
  alignRandom?: number;
}

export interface InitialStack {
  /** The stack contents from `sp` up to `stackTop`. */
  bytes: Uint8Array;
  /** The initial rsp: the address of argc, 16-byte aligned. */
  sp: bigint;
  /** mm->arg_start/arg_end/env_start/env_end (what /proc/pid/cmdline and environ read). */
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
  /** Addresses of the AT_EXECFN string, the AT_PLATFORM string and the AT_RANDOM bytes. */
  execfn: bigint;
  platform: bigint;
  random: bigint;
  /** The auxiliary vector as written, ending with [AT_NULL, 0n]. */
  auxv: Array<[number, bigint]>;
}

/** Linux's per-string limit (MAX_ARG_STRLEN = 32 pages, include/uapi/linux/binfmts.h). */
const MAX_ARG_STRLEN = 32 * 4096;

/**
 * Build the initial process stack exactly as Linux lays it out:
 *
 * fs/exec.c, do_execveat_common: the stack starts one pointer below the top (bprm->p =
 * vm_end - sizeof(void *), so the top 8 bytes stay zero); then copy_string_kernel(filename)
 * (AT_EXECFN), copy_strings(envp), copy_strings(argv), each string copied last-to-first
 * going down, so argv[0] ends up lowest; with an empty argv, "" is added as argv[0] (5.18+).
 *
 * fs/binfmt_elf.c, create_elf_tables: p = arch_align_stack(p) (subtract the random offset,
 * round down to 16); the platform string "x86_64" below it, then the 16 AT_RANDOM bytes
 * (neither aligned); then rsp = (p - 8 * (auxv words + argc + 1 + envc + 1 + 1)) & ~15, and
 * from rsp upwards: argc, argv pointers, NULL, envp pointers, NULL, auxv pairs, AT_NULL pair.
 */
export function buildInitialStack(input: InitialStackInput): InitialStack {
  const { envp, auxv, execfn, platform, random16, stackTop } = input;
  const alignRandom = input.alignRandom ?? 0;
  if (stackTop % PAGE_SIZE !== 0n || stackTop <= 0n || stackTop > TASK_SIZE) {
    throw new Error(`buildInitialStack: stackTop ${hex(stackTop)} must be a page-aligned user address (setup_arg_pages page-aligns it)`);
  }
  if (random16.length !== 16) throw new Error(`buildInitialStack: random16 has ${random16.length} bytes, expected 16`);
  if (!Number.isInteger(alignRandom) || alignRandom < 0 || alignRandom >= 8192) {
    throw new Error(`buildInitialStack: alignRandom ${alignRandom} must be an integer in 0..8191 (get_random_u32_below(8192))`);
  }
  if (platform !== 'x86_64') throw new Error(`buildInitialStack: platform '${platform}', expected 'x86_64' (ELF_PLATFORM on x86-64)`);
  for (const [type, value] of auxv) {
    if (type === AT_SYSINFO_EHDR) throw new Error('buildInitialStack: AT_SYSINFO_EHDR given, but there is no vDSO to point at');
    if (AUXV_COMPUTED.has(type)) throw new Error(`buildInitialStack: ${auxvName(type)} is an address on the new stack and is filled in here; do not pass it`);
    if (!AUXV_ORDER_X86_64.includes(type)) throw new Error(`buildInitialStack: ${auxvName(type)} is not an auxv entry x86-64 Linux writes`);
    if (value < 0n || value >= 1n << 64n) throw new Error(`buildInitialStack: ${auxvName(type)} value ${value} does not fit in 64 bits`);
  }
  const missing = AUXV_REQUIRED.filter((t) => !auxv.has(t));
  if (missing.length) throw new Error(`buildInitialStack: auxv lacks ${missing.map(auxvName).join(', ')} (every x86-64 kernel writes them)`);

  const enc = new TextEncoder();
  const cstr = (what: string, s: string): Uint8Array => {
    const b = enc.encode(s);
    if (b.includes(0)) throw new Error(`buildInitialStack: ${what} contains a NUL byte`);
    if (b.length + 1 > MAX_ARG_STRLEN) throw new Error(`buildInitialStack: ${what} is ${b.length + 1} bytes with its NUL; Linux refuses more than MAX_ARG_STRLEN (${MAX_ARG_STRLEN}) with E2BIG`);
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    return z;
  };
  // fs/exec.c: an empty argv gets "" as argv[0].
  const argv = input.argv.length ? input.argv : [''];
  const execfnBytes = cstr('execfn', execfn);
  const envBytes = envp.map((s, i) => cstr(`envp[${i}]`, s));
  const argBytes = argv.map((s, i) => cstr(`argv[${i}]`, s));

  // Strings, going down from one pointer below the top.
  const writes: Array<[bigint, Uint8Array]> = [];
  let p = stackTop - 8n;
  p -= BigInt(execfnBytes.length);
  const execfnAddr = p;
  writes.push([p, execfnBytes]);
  const envAddrs: bigint[] = new Array(envp.length);
  for (let i = envBytes.length - 1; i >= 0; i--) {
    p -= BigInt(envBytes[i]!.length);
    envAddrs[i] = p;
    writes.push([p, envBytes[i]!]);
  }
  const argAddrs: bigint[] = new Array(argv.length);
  for (let i = argBytes.length - 1; i >= 0; i--) {
    p -= BigInt(argBytes[i]!.length);
    argAddrs[i] = p;
    writes.push([p, argBytes[i]!]);
  }
  const argStart = p;
  const argEnd = envp.length ? envAddrs[0]! : execfnAddr;
  const envEnd = execfnAddr;

  // create_elf_tables.
  p = (p - BigInt(alignRandom)) & ~0xfn;
  const platformBytes = cstr('platform', platform);
  p -= BigInt(platformBytes.length);
  const platformAddr = p;
  writes.push([p, platformBytes]);
  p -= 16n;
  const randomAddr = p;
  writes.push([p, random16.slice()]);

  const computed = new Map<number, bigint>([[AT_RANDOM, randomAddr], [AT_EXECFN, execfnAddr], [AT_PLATFORM, platformAddr]]);
  const vector: Array<[number, bigint]> = [];
  for (const t of AUXV_ORDER_X86_64) {
    const v = computed.get(t) ?? auxv.get(t);
    if (v !== undefined) vector.push([t, v]);
  }
  vector.push([AT_NULL, 0n]);
  const eiIndex = BigInt(vector.length * 2);
  const items = BigInt(argv.length + 1 + envp.length + 1 + 1);
  const sp = (p - 8n * (eiIndex + items)) & ~0xfn;

  const bytes = new Uint8Array(Number(stackTop - sp));
  const dv = new DataView(bytes.buffer);
  for (const [addr, b] of writes) bytes.set(b, Number(addr - sp));
  let w = 0;
  const put = (v: bigint): void => { dv.setBigUint64(w, v, true); w += 8; };
  put(BigInt(argv.length));
  for (const a of argAddrs) put(a);
  put(0n);
  for (const e of envAddrs) put(e);
  put(0n);
  for (const [t, v] of vector) { put(BigInt(t)); put(v); }

  return {
    bytes, sp,
    argStart, argEnd, envStart: argEnd, envEnd,
    execfn: execfnAddr, platform: platformAddr, random: randomAddr,
    auxv: vector,
  };
}
