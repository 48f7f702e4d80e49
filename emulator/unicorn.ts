/**
 * Typed binding over libunicorn2 (unicorn 2.0.1, `libunicorn.so.2`) for x86-64 guests, through koffi.
 *
 * The library is loaded lazily, on the first `Unicorn.open()` (or `loadLibUnicorn()`); no C header is
 * needed at run time: every constant below is copied from unicorn 2.0.1's `unicorn.h` / `x86.h` and
 * cites the name it was checked against.
 *
 * Facts about unicorn 2.0.1 this binding relies on or guards against (measured on Debian bookworm's
 * libunicorn2 2.0.1.post1; see also ../shared/reference/unicorn-notes.md):
 * - `uc_reg_read`/`uc_reg_write` return UC_ERR_OK for register ids they do not implement and touch
 *   nothing (CR8, K0..K7, MM0..MM7, XMM16..31, YMM16..31, ZMM0..31, unknown ids). `regRead`/`regWrite`
 *   refuse those ids instead of returning a silent 0.
 * - `uc_mem_write` does not drop translated blocks: rewriting code that already ran at the same address
 *   can run the old translation (measured: A, then C, then A again with `until` 0 ran C). Use
 *   `writeCode` (memWrite + removeTbCache) for guest code. `uc_mem_unmap` does not drop them either
 *   (measured: MOV EAX,1 run, unmapped, MOV EAX,2 mapped and written there: RAX 1); Machine drops
 *   the translations of an executable mapping before it goes.
 * - UC_HOOK_CODE calls are decided when a block is translated: a hook added after its block was
 *   translated is never called, and a deleted hook keeps being called from cached blocks. `hookCode` and
 *   `remove()` drop the translations of the hooked range (flushTb for an all-address hook). unicorn's own
 *   `count` hook has the same flaw; `emuStart` compensates (see there).
 * - For an instruction unicorn cannot translate (XGETBV, XSAVE, EVEX, UD2...) the UC_HOOK_CODE `size`
 *   is a placeholder (0xF1F2F1F1); `hookCode` reports 0, and the hook must use its own decoder's length.
 * - UC_HOOK_INSN_INVALID returning true does not resume: uc_emu_start returns UC_ERR_OK at the RIP the
 *   hook left, and the caller restarts there.
 * - Right after uc_open: CR0 = 0x11 (PE|ET), CR4 = 0, MXCSR = 0 and FPCW = 0 (not 0x1F80 / 0x37F).
 *   x87 instructions update FIP/FDP but never FOP; LDMXCSR with reserved bits set and unmasked SIMD
 *   exceptions (divss by zero with MXCSR = 0) raise nothing.
 * - `hlt` ends `uc_emu_start` with UC_ERR_OK and RIP after the `hlt`.
 * - CPU exceptions other than #UD go to UC_HOOK_INTR with RIP at the faulting instruction (#DE) or after
 *   it (int3); without an interrupt hook `uc_emu_start` fails with UC_ERR_EXCEPTION.
 */
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { buildNative } from '../src/native.js';

/** The soname this binding is written against (unicorn 2.x ABI). */
export const LIBUNICORN_SONAME = 'libunicorn.so.2';

/** uc_err (unicorn.h). */
export enum UcErr {
  OK = 0, /* unicorn.h UC_ERR_OK */
  NOMEM = 1, /* unicorn.h UC_ERR_NOMEM */
  ARCH = 2, /* unicorn.h UC_ERR_ARCH */
  HANDLE = 3, /* unicorn.h UC_ERR_HANDLE */
  MODE = 4, /* unicorn.h UC_ERR_MODE */
  VERSION = 5, /* unicorn.h UC_ERR_VERSION */
  READ_UNMAPPED = 6, /* unicorn.h UC_ERR_READ_UNMAPPED */
  WRITE_UNMAPPED = 7, /* unicorn.h UC_ERR_WRITE_UNMAPPED */
  FETCH_UNMAPPED = 8, /* unicorn.h UC_ERR_FETCH_UNMAPPED */
  HOOK = 9, /* unicorn.h UC_ERR_HOOK */
  INSN_INVALID = 10, /* unicorn.h UC_ERR_INSN_INVALID */
  MAP = 11, /* unicorn.h UC_ERR_MAP */
  WRITE_PROT = 12, /* unicorn.h UC_ERR_WRITE_PROT */
  READ_PROT = 13, /* unicorn.h UC_ERR_READ_PROT */
  FETCH_PROT = 14, /* unicorn.h UC_ERR_FETCH_PROT */
  ARG = 15, /* unicorn.h UC_ERR_ARG */
  READ_UNALIGNED = 16, /* unicorn.h UC_ERR_READ_UNALIGNED */
  WRITE_UNALIGNED = 17, /* unicorn.h UC_ERR_WRITE_UNALIGNED */
  FETCH_UNALIGNED = 18, /* unicorn.h UC_ERR_FETCH_UNALIGNED */
  HOOK_EXIST = 19, /* unicorn.h UC_ERR_HOOK_EXIST */
  RESOURCE = 20, /* unicorn.h UC_ERR_RESOURCE */
  EXCEPTION = 21, /* unicorn.h UC_ERR_EXCEPTION */
}

/** uc_prot (unicorn.h). */
export enum Prot {
  NONE = 0, /* unicorn.h UC_PROT_NONE */
  READ = 1, /* unicorn.h UC_PROT_READ */
  WRITE = 2, /* unicorn.h UC_PROT_WRITE */
  EXEC = 4, /* unicorn.h UC_PROT_EXEC */
  ALL = 7, /* unicorn.h UC_PROT_ALL */
}

/** uc_mem_type (unicorn.h): the `type` argument of memory hooks. */
export enum MemType {
  READ = 16, /* unicorn.h UC_MEM_READ */
  WRITE = 17, /* unicorn.h UC_MEM_WRITE */
  FETCH = 18, /* unicorn.h UC_MEM_FETCH */
  READ_UNMAPPED = 19, /* unicorn.h UC_MEM_READ_UNMAPPED */
  WRITE_UNMAPPED = 20, /* unicorn.h UC_MEM_WRITE_UNMAPPED */
  FETCH_UNMAPPED = 21, /* unicorn.h UC_MEM_FETCH_UNMAPPED */
  WRITE_PROT = 22, /* unicorn.h UC_MEM_WRITE_PROT */
  READ_PROT = 23, /* unicorn.h UC_MEM_READ_PROT */
  FETCH_PROT = 24, /* unicorn.h UC_MEM_FETCH_PROT */
  READ_AFTER = 25, /* unicorn.h UC_MEM_READ_AFTER */
}

/** uc_hook_type (unicorn.h), the subset this binding registers. */
export enum HookType {
  INTR = 1 << 0, /* unicorn.h UC_HOOK_INTR */
  INSN = 1 << 1, /* unicorn.h UC_HOOK_INSN */
  CODE = 1 << 2, /* unicorn.h UC_HOOK_CODE */
  BLOCK = 1 << 3, /* unicorn.h UC_HOOK_BLOCK */
  MEM_READ = 1 << 10, /* unicorn.h UC_HOOK_MEM_READ */
  MEM_WRITE = 1 << 11, /* unicorn.h UC_HOOK_MEM_WRITE */
  MEM_READ_UNMAPPED = 1 << 4, /* unicorn.h UC_HOOK_MEM_READ_UNMAPPED */
  MEM_WRITE_UNMAPPED = 1 << 5, /* unicorn.h UC_HOOK_MEM_WRITE_UNMAPPED */
  MEM_FETCH_UNMAPPED = 1 << 6, /* unicorn.h UC_HOOK_MEM_FETCH_UNMAPPED */
  MEM_READ_PROT = 1 << 7, /* unicorn.h UC_HOOK_MEM_READ_PROT */
  MEM_WRITE_PROT = 1 << 8, /* unicorn.h UC_HOOK_MEM_WRITE_PROT */
  MEM_FETCH_PROT = 1 << 9, /* unicorn.h UC_HOOK_MEM_FETCH_PROT */
  INSN_INVALID = 1 << 14, /* unicorn.h UC_HOOK_INSN_INVALID */
  /** unicorn.h UC_HOOK_MEM_UNMAPPED = READ|WRITE|FETCH_UNMAPPED (112). */
  MEM_UNMAPPED = (1 << 4) | (1 << 5) | (1 << 6),
  /** unicorn.h UC_HOOK_MEM_PROT = READ|WRITE|FETCH_PROT (896). */
  MEM_PROT = (1 << 7) | (1 << 8) | (1 << 9),
  /** unicorn.h UC_HOOK_MEM_INVALID = UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT (1008). */
  MEM_INVALID = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9),
}

/** uc_x86_insn (x86.h): the instructions UC_HOOK_INSN accepts on x86. */
export enum X86Insn {
  CPUID = 113, /* x86.h UC_X86_INS_CPUID */
  IN = 218, /* x86.h UC_X86_INS_IN */
  OUT = 500, /* x86.h UC_X86_INS_OUT */
  SYSCALL = 699, /* x86.h UC_X86_INS_SYSCALL */
  SYSENTER = 700, /* x86.h UC_X86_INS_SYSENTER */
}

/** uc_cpu_x86 (x86.h): CPU models for `UC_CTL_CPU_MODEL` / `setCpuModel`. */
export enum X86CpuModel {
  QEMU64 = 0, /* x86.h UC_CPU_X86_QEMU64 (the default) */
  PHENOM = 1, /* x86.h UC_CPU_X86_PHENOM */
  CORE2DUO = 2, /* x86.h UC_CPU_X86_CORE2DUO */
  KVM64 = 3, /* x86.h UC_CPU_X86_KVM64 */
  QEMU32 = 4, /* x86.h UC_CPU_X86_QEMU32 */
  KVM32 = 5, /* x86.h UC_CPU_X86_KVM32 */
  COREDUO = 6, /* x86.h UC_CPU_X86_COREDUO */
  I486 = 7, /* x86.h UC_CPU_X86_486 */
  PENTIUM = 8, /* x86.h UC_CPU_X86_PENTIUM */
  PENTIUM2 = 9, /* x86.h UC_CPU_X86_PENTIUM2 */
  PENTIUM3 = 10, /* x86.h UC_CPU_X86_PENTIUM3 */
  ATHLON = 11, /* x86.h UC_CPU_X86_ATHLON */
  N270 = 12, /* x86.h UC_CPU_X86_N270 */
  CONROE = 13, /* x86.h UC_CPU_X86_CONROE */
  PENRYN = 14, /* x86.h UC_CPU_X86_PENRYN */
  NEHALEM = 15, /* x86.h UC_CPU_X86_NEHALEM */
  WESTMERE = 16, /* x86.h UC_CPU_X86_WESTMERE */
  SANDYBRIDGE = 17, /* x86.h UC_CPU_X86_SANDYBRIDGE */
  IVYBRIDGE = 18, /* x86.h UC_CPU_X86_IVYBRIDGE */
  HASWELL = 19, /* x86.h UC_CPU_X86_HASWELL */
  BROADWELL = 20, /* x86.h UC_CPU_X86_BROADWELL */
  SKYLAKE_CLIENT = 21, /* x86.h UC_CPU_X86_SKYLAKE_CLIENT */
  SKYLAKE_SERVER = 22, /* x86.h UC_CPU_X86_SKYLAKE_SERVER */
  CASCADELAKE_SERVER = 23, /* x86.h UC_CPU_X86_CASCADELAKE_SERVER */
  COOPERLAKE = 24, /* x86.h UC_CPU_X86_COOPERLAKE */
  ICELAKE_CLIENT = 25, /* x86.h UC_CPU_X86_ICELAKE_CLIENT */
  ICELAKE_SERVER = 26, /* x86.h UC_CPU_X86_ICELAKE_SERVER */
  DENVERTON = 27, /* x86.h UC_CPU_X86_DENVERTON */
  SNOWRIDGE = 28, /* x86.h UC_CPU_X86_SNOWRIDGE */
  KNIGHTSMILL = 29, /* x86.h UC_CPU_X86_KNIGHTSMILL */
  OPTERON_G1 = 30, /* x86.h UC_CPU_X86_OPTERON_G1 */
  OPTERON_G2 = 31, /* x86.h UC_CPU_X86_OPTERON_G2 */
  OPTERON_G3 = 32, /* x86.h UC_CPU_X86_OPTERON_G3 */
  OPTERON_G4 = 33, /* x86.h UC_CPU_X86_OPTERON_G4 */
  OPTERON_G5 = 34, /* x86.h UC_CPU_X86_OPTERON_G5 */
  EPYC = 35, /* x86.h UC_CPU_X86_EPYC */
  DHYANA = 36, /* x86.h UC_CPU_X86_DHYANA */
  EPYC_ROME = 37, /* x86.h UC_CPU_X86_EPYC_ROME */
}

/**
 * uc_x86_reg (x86.h, unicorn 2.0.1). Every value was checked against the installed header (a C program
 * printing each UC_X86_REG_* constant) and the widths noted per group were measured by counting the
 * bytes uc_reg_read writes in 64-bit mode.
 */
export enum X86Reg {
  /** Not a register (unicorn ignores it). */
  INVALID = 0, /* x86.h UC_X86_REG_INVALID */
  // 8/16/32-bit views of the legacy GPRs, flags, segment selectors, in header order.
  AH = 1, /* x86.h UC_X86_REG_AH */
  AL = 2, /* x86.h UC_X86_REG_AL */
  AX = 3, /* x86.h UC_X86_REG_AX */
  BH = 4, /* x86.h UC_X86_REG_BH */
  BL = 5, /* x86.h UC_X86_REG_BL */
  BP = 6, /* x86.h UC_X86_REG_BP */
  BPL = 7, /* x86.h UC_X86_REG_BPL */
  BX = 8, /* x86.h UC_X86_REG_BX */
  CH = 9, /* x86.h UC_X86_REG_CH */
  CL = 10, /* x86.h UC_X86_REG_CL */
  CS = 11, /* x86.h UC_X86_REG_CS */
  CX = 12, /* x86.h UC_X86_REG_CX */
  DH = 13, /* x86.h UC_X86_REG_DH */
  DI = 14, /* x86.h UC_X86_REG_DI */
  DIL = 15, /* x86.h UC_X86_REG_DIL */
  DL = 16, /* x86.h UC_X86_REG_DL */
  DS = 17, /* x86.h UC_X86_REG_DS */
  DX = 18, /* x86.h UC_X86_REG_DX */
  EAX = 19, /* x86.h UC_X86_REG_EAX */
  EBP = 20, /* x86.h UC_X86_REG_EBP */
  EBX = 21, /* x86.h UC_X86_REG_EBX */
  ECX = 22, /* x86.h UC_X86_REG_ECX */
  EDI = 23, /* x86.h UC_X86_REG_EDI */
  EDX = 24, /* x86.h UC_X86_REG_EDX */
  EFLAGS = 25, /* x86.h UC_X86_REG_EFLAGS */
  EIP = 26, /* x86.h UC_X86_REG_EIP */
  ES = 28, /* x86.h UC_X86_REG_ES */
  ESI = 29, /* x86.h UC_X86_REG_ESI */
  ESP = 30, /* x86.h UC_X86_REG_ESP */
  FPSW = 31, /* x86.h UC_X86_REG_FPSW */
  FS = 32, /* x86.h UC_X86_REG_FS */
  GS = 33, /* x86.h UC_X86_REG_GS */
  IP = 34, /* x86.h UC_X86_REG_IP */
  // 64-bit GPRs and RIP.
  RAX = 35, /* x86.h UC_X86_REG_RAX */
  RBP = 36, /* x86.h UC_X86_REG_RBP */
  RBX = 37, /* x86.h UC_X86_REG_RBX */
  RCX = 38, /* x86.h UC_X86_REG_RCX */
  RDI = 39, /* x86.h UC_X86_REG_RDI */
  RDX = 40, /* x86.h UC_X86_REG_RDX */
  RIP = 41, /* x86.h UC_X86_REG_RIP */
  RSI = 43, /* x86.h UC_X86_REG_RSI */
  RSP = 44, /* x86.h UC_X86_REG_RSP */
  SI = 45, /* x86.h UC_X86_REG_SI */
  SIL = 46, /* x86.h UC_X86_REG_SIL */
  SP = 47, /* x86.h UC_X86_REG_SP */
  SPL = 48, /* x86.h UC_X86_REG_SPL */
  SS = 49, /* x86.h UC_X86_REG_SS */
  // Control registers. CR0..CR4 are stored as given (8 bytes); see enableSse() for what they do not control.
  // CR8 is ignored by unicorn 2.0.1 (uc_reg_read/uc_reg_write return UC_ERR_OK and touch nothing).
  CR0 = 50, /* x86.h UC_X86_REG_CR0 */
  CR1 = 51, /* x86.h UC_X86_REG_CR1 */
  CR2 = 52, /* x86.h UC_X86_REG_CR2 */
  CR3 = 53, /* x86.h UC_X86_REG_CR3 */
  CR4 = 54, /* x86.h UC_X86_REG_CR4 */
  CR8 = 58, /* x86.h UC_X86_REG_CR8 */
  // Debug registers.
  DR0 = 66, /* x86.h UC_X86_REG_DR0 */
  DR1 = 67, /* x86.h UC_X86_REG_DR1 */
  DR2 = 68, /* x86.h UC_X86_REG_DR2 */
  DR3 = 69, /* x86.h UC_X86_REG_DR3 */
  DR4 = 70, /* x86.h UC_X86_REG_DR4 */
  DR5 = 71, /* x86.h UC_X86_REG_DR5 */
  DR6 = 72, /* x86.h UC_X86_REG_DR6 */
  DR7 = 73, /* x86.h UC_X86_REG_DR7 */
  // x87 physical registers R0..R7 (10 bytes each: 64-bit significand then 16-bit sign/exponent), not TOP-relative.
  FP0 = 82, /* x86.h UC_X86_REG_FP0 */
  FP1 = 83, /* x86.h UC_X86_REG_FP1 */
  FP2 = 84, /* x86.h UC_X86_REG_FP2 */
  FP3 = 85, /* x86.h UC_X86_REG_FP3 */
  FP4 = 86, /* x86.h UC_X86_REG_FP4 */
  FP5 = 87, /* x86.h UC_X86_REG_FP5 */
  FP6 = 88, /* x86.h UC_X86_REG_FP6 */
  FP7 = 89, /* x86.h UC_X86_REG_FP7 */
  // AVX-512 opmask registers: ignored by unicorn 2.0.1 (read/write return UC_ERR_OK and touch nothing). Unusable.
  K0 = 90, /* x86.h UC_X86_REG_K0 */
  K1 = 91, /* x86.h UC_X86_REG_K1 */
  K2 = 92, /* x86.h UC_X86_REG_K2 */
  K3 = 93, /* x86.h UC_X86_REG_K3 */
  K4 = 94, /* x86.h UC_X86_REG_K4 */
  K5 = 95, /* x86.h UC_X86_REG_K5 */
  K6 = 96, /* x86.h UC_X86_REG_K6 */
  K7 = 97, /* x86.h UC_X86_REG_K7 */
  // MMX registers: ignored by unicorn 2.0.1 (read/write return UC_ERR_OK and touch nothing). Unusable;
  // MMn is the significand of physical x87 register FPn, so read it through FP0..FP7 instead.
  MM0 = 98, /* x86.h UC_X86_REG_MM0 */
  MM1 = 99, /* x86.h UC_X86_REG_MM1 */
  MM2 = 100, /* x86.h UC_X86_REG_MM2 */
  MM3 = 101, /* x86.h UC_X86_REG_MM3 */
  MM4 = 102, /* x86.h UC_X86_REG_MM4 */
  MM5 = 103, /* x86.h UC_X86_REG_MM5 */
  MM6 = 104, /* x86.h UC_X86_REG_MM6 */
  MM7 = 105, /* x86.h UC_X86_REG_MM7 */
  // 64-bit GPRs R8..R15.
  R8 = 106, /* x86.h UC_X86_REG_R8 */
  R9 = 107, /* x86.h UC_X86_REG_R9 */
  R10 = 108, /* x86.h UC_X86_REG_R10 */
  R11 = 109, /* x86.h UC_X86_REG_R11 */
  R12 = 110, /* x86.h UC_X86_REG_R12 */
  R13 = 111, /* x86.h UC_X86_REG_R13 */
  R14 = 112, /* x86.h UC_X86_REG_R14 */
  R15 = 113, /* x86.h UC_X86_REG_R15 */
  // x87 stack registers ST(0)..ST(7), TOP-relative (ST(i) = R[(TOP + i) & 7]), 10 bytes each.
  ST0 = 114, /* x86.h UC_X86_REG_ST0 */
  ST1 = 115, /* x86.h UC_X86_REG_ST1 */
  ST2 = 116, /* x86.h UC_X86_REG_ST2 */
  ST3 = 117, /* x86.h UC_X86_REG_ST3 */
  ST4 = 118, /* x86.h UC_X86_REG_ST4 */
  ST5 = 119, /* x86.h UC_X86_REG_ST5 */
  ST6 = 120, /* x86.h UC_X86_REG_ST6 */
  ST7 = 121, /* x86.h UC_X86_REG_ST7 */
  // XMM0..XMM15: 16 bytes each. XMM16..XMM31 are ignored by unicorn 2.0.1 (read/write return UC_ERR_OK
  // and touch nothing): unusable.
  XMM0 = 122, /* x86.h UC_X86_REG_XMM0 */
  XMM1 = 123, /* x86.h UC_X86_REG_XMM1 */
  XMM2 = 124, /* x86.h UC_X86_REG_XMM2 */
  XMM3 = 125, /* x86.h UC_X86_REG_XMM3 */
  XMM4 = 126, /* x86.h UC_X86_REG_XMM4 */
  XMM5 = 127, /* x86.h UC_X86_REG_XMM5 */
  XMM6 = 128, /* x86.h UC_X86_REG_XMM6 */
  XMM7 = 129, /* x86.h UC_X86_REG_XMM7 */
  XMM8 = 130, /* x86.h UC_X86_REG_XMM8 */
  XMM9 = 131, /* x86.h UC_X86_REG_XMM9 */
  XMM10 = 132, /* x86.h UC_X86_REG_XMM10 */
  XMM11 = 133, /* x86.h UC_X86_REG_XMM11 */
  XMM12 = 134, /* x86.h UC_X86_REG_XMM12 */
  XMM13 = 135, /* x86.h UC_X86_REG_XMM13 */
  XMM14 = 136, /* x86.h UC_X86_REG_XMM14 */
  XMM15 = 137, /* x86.h UC_X86_REG_XMM15 */
  XMM16 = 138, /* x86.h UC_X86_REG_XMM16 */
  XMM17 = 139, /* x86.h UC_X86_REG_XMM17 */
  XMM18 = 140, /* x86.h UC_X86_REG_XMM18 */
  XMM19 = 141, /* x86.h UC_X86_REG_XMM19 */
  XMM20 = 142, /* x86.h UC_X86_REG_XMM20 */
  XMM21 = 143, /* x86.h UC_X86_REG_XMM21 */
  XMM22 = 144, /* x86.h UC_X86_REG_XMM22 */
  XMM23 = 145, /* x86.h UC_X86_REG_XMM23 */
  XMM24 = 146, /* x86.h UC_X86_REG_XMM24 */
  XMM25 = 147, /* x86.h UC_X86_REG_XMM25 */
  XMM26 = 148, /* x86.h UC_X86_REG_XMM26 */
  XMM27 = 149, /* x86.h UC_X86_REG_XMM27 */
  XMM28 = 150, /* x86.h UC_X86_REG_XMM28 */
  XMM29 = 151, /* x86.h UC_X86_REG_XMM29 */
  XMM30 = 152, /* x86.h UC_X86_REG_XMM30 */
  XMM31 = 153, /* x86.h UC_X86_REG_XMM31 */
  // YMM0..YMM15: 32 bytes each; bits 127:0 are the XMM register. unicorn 2.0.1 stores bits 255:128 but no
  // instruction it executes uses them (it rejects VEX vector instructions), so the model must own them.
  // YMM16..YMM31 are ignored (read/write return UC_ERR_OK and touch nothing): unusable.
  YMM0 = 154, /* x86.h UC_X86_REG_YMM0 */
  YMM1 = 155, /* x86.h UC_X86_REG_YMM1 */
  YMM2 = 156, /* x86.h UC_X86_REG_YMM2 */
  YMM3 = 157, /* x86.h UC_X86_REG_YMM3 */
  YMM4 = 158, /* x86.h UC_X86_REG_YMM4 */
  YMM5 = 159, /* x86.h UC_X86_REG_YMM5 */
  YMM6 = 160, /* x86.h UC_X86_REG_YMM6 */
  YMM7 = 161, /* x86.h UC_X86_REG_YMM7 */
  YMM8 = 162, /* x86.h UC_X86_REG_YMM8 */
  YMM9 = 163, /* x86.h UC_X86_REG_YMM9 */
  YMM10 = 164, /* x86.h UC_X86_REG_YMM10 */
  YMM11 = 165, /* x86.h UC_X86_REG_YMM11 */
  YMM12 = 166, /* x86.h UC_X86_REG_YMM12 */
  YMM13 = 167, /* x86.h UC_X86_REG_YMM13 */
  YMM14 = 168, /* x86.h UC_X86_REG_YMM14 */
  YMM15 = 169, /* x86.h UC_X86_REG_YMM15 */
  YMM16 = 170, /* x86.h UC_X86_REG_YMM16 */
  YMM17 = 171, /* x86.h UC_X86_REG_YMM17 */
  YMM18 = 172, /* x86.h UC_X86_REG_YMM18 */
  YMM19 = 173, /* x86.h UC_X86_REG_YMM19 */
  YMM20 = 174, /* x86.h UC_X86_REG_YMM20 */
  YMM21 = 175, /* x86.h UC_X86_REG_YMM21 */
  YMM22 = 176, /* x86.h UC_X86_REG_YMM22 */
  YMM23 = 177, /* x86.h UC_X86_REG_YMM23 */
  YMM24 = 178, /* x86.h UC_X86_REG_YMM24 */
  YMM25 = 179, /* x86.h UC_X86_REG_YMM25 */
  YMM26 = 180, /* x86.h UC_X86_REG_YMM26 */
  YMM27 = 181, /* x86.h UC_X86_REG_YMM27 */
  YMM28 = 182, /* x86.h UC_X86_REG_YMM28 */
  YMM29 = 183, /* x86.h UC_X86_REG_YMM29 */
  YMM30 = 184, /* x86.h UC_X86_REG_YMM30 */
  YMM31 = 185, /* x86.h UC_X86_REG_YMM31 */
  // ZMM0..ZMM31: ignored by unicorn 2.0.1 (read/write return UC_ERR_OK and touch nothing). Unusable.
  ZMM0 = 186, /* x86.h UC_X86_REG_ZMM0 */
  ZMM1 = 187, /* x86.h UC_X86_REG_ZMM1 */
  ZMM2 = 188, /* x86.h UC_X86_REG_ZMM2 */
  ZMM3 = 189, /* x86.h UC_X86_REG_ZMM3 */
  ZMM4 = 190, /* x86.h UC_X86_REG_ZMM4 */
  ZMM5 = 191, /* x86.h UC_X86_REG_ZMM5 */
  ZMM6 = 192, /* x86.h UC_X86_REG_ZMM6 */
  ZMM7 = 193, /* x86.h UC_X86_REG_ZMM7 */
  ZMM8 = 194, /* x86.h UC_X86_REG_ZMM8 */
  ZMM9 = 195, /* x86.h UC_X86_REG_ZMM9 */
  ZMM10 = 196, /* x86.h UC_X86_REG_ZMM10 */
  ZMM11 = 197, /* x86.h UC_X86_REG_ZMM11 */
  ZMM12 = 198, /* x86.h UC_X86_REG_ZMM12 */
  ZMM13 = 199, /* x86.h UC_X86_REG_ZMM13 */
  ZMM14 = 200, /* x86.h UC_X86_REG_ZMM14 */
  ZMM15 = 201, /* x86.h UC_X86_REG_ZMM15 */
  ZMM16 = 202, /* x86.h UC_X86_REG_ZMM16 */
  ZMM17 = 203, /* x86.h UC_X86_REG_ZMM17 */
  ZMM18 = 204, /* x86.h UC_X86_REG_ZMM18 */
  ZMM19 = 205, /* x86.h UC_X86_REG_ZMM19 */
  ZMM20 = 206, /* x86.h UC_X86_REG_ZMM20 */
  ZMM21 = 207, /* x86.h UC_X86_REG_ZMM21 */
  ZMM22 = 208, /* x86.h UC_X86_REG_ZMM22 */
  ZMM23 = 209, /* x86.h UC_X86_REG_ZMM23 */
  ZMM24 = 210, /* x86.h UC_X86_REG_ZMM24 */
  ZMM25 = 211, /* x86.h UC_X86_REG_ZMM25 */
  ZMM26 = 212, /* x86.h UC_X86_REG_ZMM26 */
  ZMM27 = 213, /* x86.h UC_X86_REG_ZMM27 */
  ZMM28 = 214, /* x86.h UC_X86_REG_ZMM28 */
  ZMM29 = 215, /* x86.h UC_X86_REG_ZMM29 */
  ZMM30 = 216, /* x86.h UC_X86_REG_ZMM30 */
  ZMM31 = 217, /* x86.h UC_X86_REG_ZMM31 */
  // 8/16/32-bit views of R8..R15.
  R8B = 218, /* x86.h UC_X86_REG_R8B */
  R9B = 219, /* x86.h UC_X86_REG_R9B */
  R10B = 220, /* x86.h UC_X86_REG_R10B */
  R11B = 221, /* x86.h UC_X86_REG_R11B */
  R12B = 222, /* x86.h UC_X86_REG_R12B */
  R13B = 223, /* x86.h UC_X86_REG_R13B */
  R14B = 224, /* x86.h UC_X86_REG_R14B */
  R15B = 225, /* x86.h UC_X86_REG_R15B */
  R8D = 226, /* x86.h UC_X86_REG_R8D */
  R9D = 227, /* x86.h UC_X86_REG_R9D */
  R10D = 228, /* x86.h UC_X86_REG_R10D */
  R11D = 229, /* x86.h UC_X86_REG_R11D */
  R12D = 230, /* x86.h UC_X86_REG_R12D */
  R13D = 231, /* x86.h UC_X86_REG_R13D */
  R14D = 232, /* x86.h UC_X86_REG_R14D */
  R15D = 233, /* x86.h UC_X86_REG_R15D */
  R8W = 234, /* x86.h UC_X86_REG_R8W */
  R9W = 235, /* x86.h UC_X86_REG_R9W */
  R10W = 236, /* x86.h UC_X86_REG_R10W */
  R11W = 237, /* x86.h UC_X86_REG_R11W */
  R12W = 238, /* x86.h UC_X86_REG_R12W */
  R13W = 239, /* x86.h UC_X86_REG_R13W */
  R14W = 240, /* x86.h UC_X86_REG_R14W */
  R15W = 241, /* x86.h UC_X86_REG_R15W */
  // Descriptor-table registers (uc_x86_mmr struct): not exposed through regRead/regWrite.
  IDTR = 242, /* x86.h UC_X86_REG_IDTR */
  GDTR = 243, /* x86.h UC_X86_REG_GDTR */
  LDTR = 244, /* x86.h UC_X86_REG_LDTR */
  TR = 245, /* x86.h UC_X86_REG_TR */
  // x87 control word (2 bytes) and tag word (2 bytes, full 2-bit-per-register form; on write unicorn only
  // keeps empty (11) or not empty, the other tag values are recomputed from the register contents).
  FPCW = 246, /* x86.h UC_X86_REG_FPCW */
  FPTAG = 247, /* x86.h UC_X86_REG_FPTAG */
  // Model-specific register access (uc_x86_msr struct): not exposed through regRead/regWrite.
  MSR = 248, /* x86.h UC_X86_REG_MSR */
  // MXCSR (4 bytes; unicorn 2.0.1 stores reserved bits as given, no #GP check), FS/GS base (8 bytes).
  MXCSR = 249, /* x86.h UC_X86_REG_MXCSR */
  FS_BASE = 250, /* x86.h UC_X86_REG_FS_BASE */
  GS_BASE = 251, /* x86.h UC_X86_REG_GS_BASE */
  // FLAGS (2 bytes), RFLAGS (8 bytes).
  FLAGS = 252, /* x86.h UC_X86_REG_FLAGS */
  RFLAGS = 253, /* x86.h UC_X86_REG_RFLAGS */
  // x87 last-instruction and last-operand pointers and opcode: FIP and FDP 8 bytes, FCS, FDS, FOP 2 bytes.
  FIP = 254, /* x86.h UC_X86_REG_FIP */
  FCS = 255, /* x86.h UC_X86_REG_FCS */
  FDP = 256, /* x86.h UC_X86_REG_FDP */
  FDS = 257, /* x86.h UC_X86_REG_FDS */
  FOP = 258, /* x86.h UC_X86_REG_FOP */
}

/** Last id of uc_x86_reg + 1 (x86.h UC_X86_REG_ENDING = 259). */
const X86_REG_ENDING = 259;

/** Marker in the width table: the register takes a struct (uc_x86_mmr / uc_x86_msr). */
const STRUCT_REG = -1;

/**
 * Bytes unicorn 2.0.1 reads/writes for each register id in 64-bit mode (measured by counting the bytes
 * uc_reg_read writes). 0 means unicorn ignores the id.
 */
const REG_WIDTH: Int8Array = (() => {
  const t = new Int8Array(X86_REG_ENDING);
  const R = X86Reg;
  const set = (w: number, ...ids: number[]) => { for (const id of ids) t[id] = w; };
  const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);
  set(1, R.AH, R.AL, R.BH, R.BL, R.BPL, R.CH, R.CL, R.DH, R.DIL, R.DL, R.SIL, R.SPL, ...range(R.R8B, R.R15B));
  set(2, R.AX, R.BP, R.BX, R.CX, R.DI, R.DX, R.IP, R.SI, R.SP, ...range(R.R8W, R.R15W));
  set(2, R.CS, R.DS, R.ES, R.FS, R.GS, R.SS, R.FLAGS);
  set(2, R.FPSW, R.FPCW, R.FPTAG, R.FCS, R.FDS, R.FOP);
  set(4, R.EAX, R.EBP, R.EBX, R.ECX, R.EDI, R.EDX, R.EFLAGS, R.EIP, R.ESI, R.ESP, R.MXCSR, ...range(R.R8D, R.R15D));
  set(8, R.RAX, R.RBP, R.RBX, R.RCX, R.RDI, R.RDX, R.RIP, R.RSI, R.RSP, ...range(R.R8, R.R15));
  set(8, R.CR0, R.CR1, R.CR2, R.CR3, R.CR4, ...range(R.DR0, R.DR7));
  set(8, R.FS_BASE, R.GS_BASE, R.RFLAGS, R.FIP, R.FDP);
  set(10, ...range(R.FP0, R.FP7), ...range(R.ST0, R.ST7));
  set(16, ...range(R.XMM0, R.XMM15));
  set(32, ...range(R.YMM0, R.YMM15));
  set(STRUCT_REG, R.IDTR, R.GDTR, R.LDTR, R.TR, R.MSR);
  return t;
})();

/** Bytes unicorn 2.0.1 transfers for `reg` (0: ignored by unicorn, -1: struct-valued). */
export function regWidth(reg: X86Reg): number {
  return Number.isInteger(reg) && reg >= 0 && reg < X86_REG_ENDING ? REG_WIDTH[reg]! : 0;
}

/** Widest register value (YMM, 32 bytes) rounded up: size of one value slot in the scratch buffers. */
const SLOT = 64;

// uc_ctl control words: UC_CTL(type, nr, rw) = type | (nr << 26) | (rw << 30) (unicorn.h).
const UC_CTL_IO_WRITE = 1;
const UC_CTL_IO_READ = 2;
const ctl = (type: number, nr: number, rw: number) => (type | (nr << 26) | (rw << 30)) | 0;
const UC_CTL_CPU_MODEL = 7; /* unicorn.h UC_CTL_CPU_MODEL */
const UC_CTL_TB_REMOVE_CACHE = 9; /* unicorn.h UC_CTL_TB_REMOVE_CACHE */
const UC_CTL_TB_FLUSH = 10; /* unicorn.h UC_CTL_TB_FLUSH */
const CTL_SET_CPU_MODEL = ctl(UC_CTL_CPU_MODEL, 1, UC_CTL_IO_WRITE); // uc_ctl_set_cpu_model
const CTL_GET_CPU_MODEL = ctl(UC_CTL_CPU_MODEL, 1, UC_CTL_IO_READ); // uc_ctl_get_cpu_model
const CTL_REMOVE_CACHE = ctl(UC_CTL_TB_REMOVE_CACHE, 2, UC_CTL_IO_WRITE); // uc_ctl_remove_cache
const CTL_TB_FLUSH = ctl(UC_CTL_TB_FLUSH, 0, UC_CTL_IO_WRITE); // uc_ctl_flush_tlb (flushes the TB cache)

const UC_ARCH_X86 = 4; /* unicorn.h UC_ARCH_X86 */
const UC_MODE_64 = 1 << 3; /* unicorn.h UC_MODE_64 */

type Ptr = bigint;
type Addr = bigint | number;

/** The bound libunicorn functions (what loadLibUnicorn returns). */
export interface UnicornApi {
  uc_version(major: number[] | null, minor: number[] | null): number;
  uc_open(arch: number, mode: number, out: (Ptr | null)[]): number;
  uc_close(uc: Ptr): number;
  uc_strerror(code: number): string;
  uc_errno(uc: Ptr): number;
  uc_ctl(uc: Ptr, control: number, ...varargs: unknown[]): number;
  uc_reg_read(uc: Ptr, regid: number, value: Ptr): number;
  uc_reg_write(uc: Ptr, regid: number, value: Ptr): number;
  uc_reg_read_batch(uc: Ptr, regs: Ptr, vals: Ptr, count: number): number;
  uc_reg_write_batch(uc: Ptr, regs: Ptr, vals: Ptr, count: number): number;
  uc_mem_map(uc: Ptr, address: Addr, size: number, perms: number): number;
  uc_mem_unmap(uc: Ptr, address: Addr, size: number): number;
  uc_mem_protect(uc: Ptr, address: Addr, size: number, perms: number): number;
  uc_mem_read(uc: Ptr, address: Addr, bytes: Uint8Array, size: number): number;
  uc_mem_write(uc: Ptr, address: Addr, bytes: Uint8Array, size: number): number;
  uc_mem_regions(uc: Ptr, regions: (Ptr | null)[], count: number[]): number;
  uc_free(mem: Ptr): number;
  uc_emu_start(uc: Ptr, begin: Addr, until: Addr, timeout: Addr, count: number): number;
  uc_emu_stop(uc: Ptr): number;
  uc_hook_add(uc: Ptr, hh: (number | bigint | null)[], type: number, callback: Ptr, userData: number, begin: Addr, end: Addr, ...varargs: unknown[]): number;
  uc_hook_del(uc: Ptr, hh: number | bigint): number;
  uc_context_alloc(uc: Ptr, out: (Ptr | null)[]): number;
  uc_context_save(uc: Ptr, ctx: Ptr): number;
  uc_context_restore(uc: Ptr, ctx: Ptr): number;
  uc_context_free(ctx: Ptr): number;
  uc_context_reg_read(ctx: Ptr, regid: number, value: Ptr): number;
  uc_context_size(uc: Ptr): number;
  protos: {
    code: TypeObject;
    intr: TypeObject;
    insnInvalid: TypeObject;
    syscall: TypeObject;
    cpuid: TypeObject;
    memInvalid: TypeObject;
  };
  memRegion: TypeObject;
}

let cachedApi: UnicornApi | undefined;

/**
 * Loads libunicorn (once for the default soname) and binds its functions. Throws a one-line Error
 * naming the fix when the library cannot be loaded.
 */
/**
 * koffi's type names (protos, structs) are process-wide, while this module can be evaluated more than
 * once in one process (a test runner gives each test file its own module registry): what defines
 * named koffi types is made once per process and kept here.
 */
function processWide<T>(key: string, make: () => T): T {
  const have = processWideGet<T>(key);
  if (have !== undefined) return have;
  const made = make();
  processWideSet(key, made);
  return made;
}
function processWideGet<T>(key: string): T | undefined {
  return (globalThis as unknown as Record<symbol, T | undefined>)[Symbol.for(`xstate-lab:${key}`)];
}
function processWideSet<T>(key: string, value: T): void {
  (globalThis as unknown as Record<symbol, T | undefined>)[Symbol.for(`xstate-lab:${key}`)] = value;
}

/** uc_mem_regions of an engine of any architecture (the x86 and arm64 bindings share it). */
export function readMemRegions(api: UnicornApi, handle: Ptr, check: (err: number) => void): MemRegion[] {
  const out: (Ptr | null)[] = [null];
  const count = [0];
  check(api.uc_mem_regions(handle, out, count));
  const ptr = out[0];
  const regions: MemRegion[] = [];
  if (ptr === null || ptr === undefined) return regions;
  try {
    for (let i = 0; i < count[0]!; i++) {
      const r = koffi.decode(ptr, i * 24, api.memRegion) as { begin: number | bigint; end: number | bigint; perms: number };
      regions.push({ begin: toBig(r.begin), end: toBig(r.end), perms: r.perms });
    }
  } finally {
    api.uc_free(ptr);
  }
  return regions;
}

export function loadLibUnicorn(soname: string = LIBUNICORN_SONAME): UnicornApi {
  if (soname === LIBUNICORN_SONAME) return (cachedApi ??= processWide('libunicorn', () => loadLibUnicornOnce(soname)));
  return loadLibUnicornOnce(soname);
}

function loadLibUnicornOnce(soname: string): UnicornApi {
  let lib: LibraryHandle;
  try {
    lib = koffi.load(soname);
  } catch {
    throw new Error(`${soname} not found: install it with apt-get install -y libunicorn2`);
  }
  // uc_engine *, uc_context * and malloc'd results are passed around as koffi's BigInt pointers; the
  // hook user_data argument carries an integer hook id, declared uintptr_t on both sides.
  const api: UnicornApi = {
    uc_version: lib.func('unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)'),
    uc_open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: lib.func('int uc_close(void *uc)'),
    uc_strerror: lib.func('const char *uc_strerror(int code)'),
    uc_errno: lib.func('int uc_errno(void *uc)'),
    uc_ctl: lib.func('int uc_ctl(void *uc, int control, ...)'),
    uc_reg_read: lib.func('int uc_reg_read(void *uc, int regid, void *value)'),
    uc_reg_write: lib.func('int uc_reg_write(void *uc, int regid, void *value)'),
    uc_reg_read_batch: lib.func('int uc_reg_read_batch(void *uc, void *regs, void *vals, int count)'),
    uc_reg_write_batch: lib.func('int uc_reg_write_batch(void *uc, void *regs, void *vals, int count)'),
    uc_mem_map: lib.func('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_unmap: lib.func('int uc_mem_unmap(void *uc, uint64_t address, size_t size)'),
    uc_mem_protect: lib.func('int uc_mem_protect(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    // Not _Out_: koffi then passes the typed array's own memory (measured: 280 ns instead of 750 ns for
    // 11 KB, and the bytes land in the caller's array, subarrays included).
    uc_mem_read: lib.func('int uc_mem_read(void *uc, uint64_t address, uint8_t *bytes, size_t size)'),
    uc_mem_write: lib.func('int uc_mem_write(void *uc, uint64_t address, const uint8_t *bytes, size_t size)'),
    uc_mem_regions: lib.func('int uc_mem_regions(void *uc, _Out_ void **regions, _Out_ uint32_t *count)'),
    uc_free: lib.func('int uc_free(void *mem)'),
    uc_emu_start: lib.func('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    uc_emu_stop: lib.func('int uc_emu_stop(void *uc)'),
    uc_hook_add: lib.func('int uc_hook_add(void *uc, _Out_ size_t *hh, int type, void *callback, uintptr_t user_data, uint64_t begin, uint64_t end, ...)'),
    uc_hook_del: lib.func('int uc_hook_del(void *uc, size_t hh)'),
    uc_context_alloc: lib.func('int uc_context_alloc(void *uc, _Out_ void **context)'),
    uc_context_save: lib.func('int uc_context_save(void *uc, void *context)'),
    uc_context_restore: lib.func('int uc_context_restore(void *uc, void *context)'),
    uc_context_free: lib.func('int uc_context_free(void *context)'),
    uc_context_reg_read: lib.func('int uc_context_reg_read(void *context, int regid, void *value)'),
    uc_context_size: lib.func('size_t uc_context_size(void *uc)'),
    protos: {
      // uc_cb_hookcode_t
      code: koffi.proto('void uc_js_hookcode(uintptr_t uc, uint64_t address, uint32_t size, uintptr_t user_data)'),
      // uc_cb_hookintr_t
      intr: koffi.proto('void uc_js_hookintr(uintptr_t uc, uint32_t intno, uintptr_t user_data)'),
      // uc_cb_hookinsn_invalid_t
      insnInvalid: koffi.proto('bool uc_js_hookinsn_invalid(uintptr_t uc, uintptr_t user_data)'),
      // uc_cb_insn_syscall_t
      syscall: koffi.proto('void uc_js_insn_syscall(uintptr_t uc, uintptr_t user_data)'),
      // uc_cb_insn_cpuid_t (returns int: nonzero = the callback replaced CPUID)
      cpuid: koffi.proto('int uc_js_insn_cpuid(uintptr_t uc, uintptr_t user_data)'),
      // uc_cb_eventmem_t
      memInvalid: koffi.proto('bool uc_js_eventmem(uintptr_t uc, int type, uint64_t address, int size, int64_t value, uintptr_t user_data)'),
    },
    // uc_mem_region (unicorn.h): begin and end inclusive, 24 bytes.
    memRegion: koffi.struct('uc_js_mem_region', { begin: 'uint64_t', end: 'uint64_t', perms: 'uint32_t' }),
  };
  const major = [0];
  api.uc_version(major, [0]);
  if (major[0] !== 2) {
    throw new Error(`${soname} is unicorn ${major[0]}.x; this binding needs unicorn 2.x: install it with apt-get install -y libunicorn2`);
  }
  if (soname === LIBUNICORN_SONAME) cachedApi = api;
  return api;
}

/** Version of the loaded libunicorn, e.g. { major: 2, minor: 0 } (uc_version). */
export function unicornVersion(): { major: number; minor: number } {
  const api = loadLibUnicorn();
  const major = [0];
  const minor = [0];
  api.uc_version(major, minor);
  return { major: major[0]!, minor: minor[0]! };
}

/** A failed unicorn call: `code` is the uc_err value, the message carries uc_strerror's text. */
export class UnicornError extends Error {
  readonly code: UcErr;
  readonly func: string;
  constructor(code: number, func: string, detail?: string) {
    const text = cachedApi ? cachedApi.uc_strerror(code) : `uc_err ${code}`;
    super(`${func}: ${text}${detail ? ` ${detail}` : ''}`);
    this.name = 'UnicornError';
    this.code = code;
    this.func = func;
  }
}

/** One mapped region as uc_mem_regions reports it (`end` inclusive). */
export interface MemRegion {
  begin: bigint;
  end: bigint;
  perms: number;
}

/** What `hook*` methods return. `remove()` is idempotent. */
export interface HookHandle {
  remove(): void;
  readonly removed: boolean;
}

export interface EmuStartOptions {
  /** Stop after this many microseconds (0 or absent: no limit). */
  timeoutUs?: number;
  /** Stop after this many instructions (0 or absent: no limit); exact, but every instruction then calls unicorn's trace helper. */
  count?: number;
  /**
   * Stop at the first block boundary after which more than this many instructions would have run
   * (the native instruction counter, emulator/native/insn-counter.c): a run executes at least one
   * block. Nearly free on plain code, unlike `count`. Falls back to `count` without gcc.
   */
  quantum?: number;
  /**
   * With `quantum` and the native counter: the run is this many quanta in a row (at least 1), the
   * last one of `lastQuantum` instructions; each quantum ends at the block where a run of `quantum`
   * started at the previous end would stop (insn-counter.c CW_MORE_QUANTA), without leaving
   * uc_emu_start. `quantaDone` tells how many ended; `endAtQuantumEnd` makes the current one the last.
   */
  quanta?: { count: number; lastQuantum: number };
}

type ProtoKind = keyof UnicornApi['protos'];

interface HookRecord {
  kind: ProtoKind;
  /** UC_HOOK_CODE range (inclusive), whose translations must be dropped when the hook goes away. */
  codeRange?: { begin: bigint; end: bigint };
  native: number | bigint;
  fn: (...args: any[]) => any;
  handle: HookHandleImpl;
}

class HookHandleImpl implements HookHandle {
  removed = false;
  constructor(private readonly owner: Unicorn, readonly id: number) {}
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.owner['removeHook'](this.id);
  }
}

/** Saved CPU state (uc_context: registers only, not memory). Free it with `free()` or `Unicorn.contextFree`. */
export class UnicornContext {
  /** @internal */ ptr: Ptr;
  constructor(private readonly owner: Unicorn, ptr: Ptr) {
    this.ptr = ptr;
  }
  get freed(): boolean {
    return this.ptr === 0n;
  }
  /** Reads a register from the saved state (uc_context_reg_read). */
  regRead(reg: X86Reg): bigint {
    if (this.ptr === 0n) throw new Error('UnicornContext already freed');
    return this.owner['readRegWith']((p) => this.owner['api'].uc_context_reg_read(this.ptr, reg, p), reg, 'uc_context_reg_read');
  }
  free(): void {
    this.owner.contextFree(this);
  }
}

/**
 * A fixed set of registers transferred with one uc_reg_read_batch / uc_reg_write_batch call, each
 * straight to or from its own offset in one native buffer that JS sees as `bytes` (no BigInt, no
 * allocation per transfer). The offsets let a caller lay the values out as it likes, for example
 * the FXSAVE image. `read(n)` / `write(n)` transfer the first n registers only, in list order
 * (unicorn writes them in that order: put FPSW before the TOP-relative ST registers).
 */
export class RegBlock {
  /** @internal */ ids: Ptr;
  /** @internal */ ptrs: Ptr;
  /** @internal */ buf: Ptr;
  /** The native buffer; views become empty after `free()`. */
  bytes: Uint8Array;
  view: DataView;
  constructor(private readonly owner: Unicorn, readonly regs: readonly X86Reg[], readonly offsets: readonly number[], readonly size: number) {
    const n = regs.length;
    this.ids = koffi.alloc('int', Math.max(1, n)) as Ptr;
    this.ptrs = koffi.alloc('uint64_t', Math.max(1, n)) as Ptr;
    this.buf = koffi.alloc('uint8_t', Math.max(8, size)) as Ptr;
    const ids = new Int32Array(koffi.view(this.ids, Math.max(1, n) * 4));
    const ptrs = new BigUint64Array(koffi.view(this.ptrs, Math.max(1, n) * 8));
    for (let i = 0; i < n; i++) {
      ids[i] = regs[i]!;
      ptrs[i] = this.buf + BigInt(offsets[i]!);
    }
    this.bytes = new Uint8Array(koffi.view(this.buf, Math.max(8, size)));
    this.bytes.fill(0);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** Reads `n` registers (default: all) from index `first` (default 0) of the list into their slots. */
  read(n: number = this.regs.length, first = 0): void {
    this.owner['blockCall'](this, n, first, false);
  }

  /** Writes `n` registers (default: all) from index `first` (default 0) of the list from their slots. */
  write(n: number = this.regs.length, first = 0): void {
    this.owner['blockCall'](this, n, first, true);
  }

  get freed(): boolean {
    return this.buf === 0n;
  }

  free(): void {
    this.owner['freeBlock'](this);
  }
}

/** What trap-gate.c's fp fast path needs of one legacy SSE floating-point instruction (emulator/vector/float-legacy.ts legacyFastPath). */
export interface GateFp {
  /** FP_PACKED 1 ... FP_CVT_TO_GPR 8 (trap-gate.c). */
  shape: number;
  /** The floating-point kernel's op word (float-kernel.ts fpOp) and element count. */
  op: number;
  n: number;
  /** Destination: XMM index 0-15, or GPR index 0-15 (encoding order) for FP_CVT_TO_GPR. */
  dst: number;
  /** 0 xmm (src = index), 1 memory (base/index/scaleLog2/seg/disp), 2 GPR (src = index). */
  srcKind: number;
  src: number;
  srcLen: number;
  /** A memory source must be 16-byte aligned (else the JS path raises #GP). */
  align: boolean;
  imm: number;
  base: number;
  index: number;
  scaleLog2: number;
  seg: number;
  disp: bigint;
}

/** The native trap gate (emulator/native/trap-gate.c), built with gcc on first use. */
interface TrapGateApi {
  create(cb: unknown, ctl: Ptr, ids: Ptr, ptrs: Ptr, block: Ptr, blockSize: number, nRegs: number, gprOffset: number, gprFirst: number, area: Ptr, areaCap: number): Ptr | null;
  free(g: Ptr): void;
  add(g: Ptr, a: Addr): number;
  remove(g: Ptr, a: Addr): number;
  has(g: Ptr, a: Addr): number;
  describe(g: Ptr, a: Addr, readCount: number, gprMask: number, base: number, index: number, scaleLog2: number, seg: number, disp: bigint, pfFrom: number, pfTo: number): number;
  observe(g: Ptr, a: Addr, kind: number, base: number, index: number, scaleLog2: number, disp: bigint, addr32: number): number;
  setCompare(g: Ptr, triples: Uint32Array, n: number, blockSize: number): number;
  setWidths(g: Ptr, widths: Uint8Array): number;
  fpRegs(g: Ptr, xmm0: number, mxcsr: number, eflags: number): void;
  fp(g: Ptr, a: Addr, shape: number, op: number, n: number, dst: number, srcKind: number, src: number, srcLen: number, align: number, imm: number, base: number, index: number, scaleLog2: number, seg: number, disp: bigint, len: number): number;
  fpReadable(g: Ptr, pairs: BigUint64Array, n: number): number;
  xsBind(g: Ptr, table: Uint32Array | null, store: ArrayBuffer | null, ftag: number, fcs: number, fds: number, allCount: number, tagEmpty: number, changedX87Bits: number): void;
  xsDescribe(g: Ptr, a: Addr, op: number, rexW: number, len: number): number;
  xsWritable(g: Ptr, pairs: BigUint64Array, n: number): number;
  vfBind(g: Ptr, table: Uint32Array | null, accept: Uint32Array | null, store: ArrayBuffer | null, imgXmm0: number): void;
  vfDescribe(g: Ptr, a: Addr, bytes: Uint8Array, n: number): number;
  vfDone(g: Ptr): bigint | number;
  hook: Ptr;
  proto: TypeObject;
  xs: NativeXsaveLibrary;
  vf: NativeVectorLibrary;
}

/** The native vector path (emulator/native/vector-fast.c, in the trap gate's library); emulator/vector-native.ts is its front. */
export interface NativeVectorLibrary {
  /** "kind:name=value" lines of the C file's enums, checked by vector-native.ts. */
  binding(): string;
  /** Decodes and runs `bytes` over `store`: -1 declined (nothing changed), else the register written (| 0x100: an opmask register); `len[0]` the length. */
  run(table: Uint32Array, accept: Uint32Array, store: ArrayBuffer, bytes: Uint8Array, n: number, len: Uint32Array): number;
}

/** The native vector path, or null when the trap gate's library cannot be built or loaded. */
export function nativeVectorLibrary(): NativeVectorLibrary | null {
  return loadTrapGate()?.vf ?? null;
}

/** The native XSAVE family (emulator/native/xsave-fast.c, in the trap gate's library); emulator/xsave-native.ts is its front. */
export interface NativeXsaveLibrary {
  /** "kind:name=value" lines of the C file's enums, checked by xsave-native.ts. */
  binding(): string;
  /** 0 done, -1 fallback (nothing changed), else the number of written [from, to) pairs put in `ranges`. */
  save(table: Uint32Array, store: ArrayBuffer, op: number, area: Uint8Array, address: bigint, eax: number, edx: number, rexW: number, ranges: Uint32Array): number;
  /** The machine's size for the area of an XRSTOR(S), from its header; `need[0]`: the bytes it reads. */
  restoreSize(table: Uint32Array, store: ArrayBuffer, op: number, area: Uint8Array, eax: number, need: Uint32Array): number;
  /** 0 done, 1 fallback (nothing changed). */
  restore(table: Uint32Array, store: ArrayBuffer, op: number, area: Uint8Array, address: bigint, eax: number, edx: number, rexW: number): number;
}

/** The native XSAVE family, or null when the trap gate's library cannot be built or loaded. */
export function nativeXsaveLibrary(): NativeXsaveLibrary | null {
  return loadTrapGate()?.xs ?? null;
}
let trapGateApi: TrapGateApi | null | undefined;
/** Why the native gate is not available (for diagnostics), once known. */
export let trapGateUnavailable: string | undefined;

function loadTrapGate(): TrapGateApi | null {
  if (trapGateApi !== undefined) return trapGateApi;
  const kept = processWideGet<TrapGateApi>('trap-gate');
  if (kept) return (trapGateApi = kept);
  try {
    const so = buildNative('../emulator/native/trap-gate.c', ['-O2', '-shared', '-fPIC']);
    const lib = koffi.load(so);
    const hookPtr = lib.func('void *xl_gate_hook_ptr(void)');
    trapGateApi = {
      create: lib.func('void *xl_gate_new(void *cb, void *ctl, void *ids, void *ptrs, void *block, uint32_t block_size, int32_t n_regs, uint32_t gpr_offset, int32_t gpr_first, void *area, uint32_t area_cap)'),
      free: lib.func('void xl_gate_free(void *g)'),
      add: lib.func('int xl_gate_add(void *g, uint64_t a)'),
      remove: lib.func('int xl_gate_remove(void *g, uint64_t a)'),
      has: lib.func('int xl_gate_has(void *g, uint64_t a)'),
      describe: lib.func('int xl_gate_describe(void *g, uint64_t a, int32_t read_count, uint32_t gpr_mask, int32_t base, int32_t index, int32_t scale_log2, int32_t seg, int64_t disp, uint32_t pf_from, uint32_t pf_to)'),
      observe: lib.func('int xl_gate_observe(void *g, uint64_t a, int32_t kind, int32_t base, int32_t index, int32_t scale_log2, int64_t disp, int32_t addr32)'),
      setCompare: lib.func('int xl_gate_set_compare(void *g, const uint32_t *triples, uint32_t n, uint32_t block_size)'),
      setWidths: lib.func('int xl_gate_set_widths(void *g, const uint8_t *widths)'),
      fpRegs: lib.func('void xl_gate_fp_regs(void *g, int32_t xmm0, int32_t mxcsr, int32_t eflags)'),
      fp: lib.func('int xl_gate_fp(void *g, uint64_t a, int32_t shape, uint32_t op, int32_t n, int32_t dst, int32_t src_kind, int32_t src, int32_t src_len, int32_t align, int32_t imm, int32_t base, int32_t index, int32_t scale_log2, int32_t seg, int64_t disp, int32_t len)'),
      fpReadable: lib.func('int xl_gate_fp_readable(void *g, const uint64_t *pairs, uint32_t n)'),
      xsBind: lib.func('void xl_gate_xs_bind(void *g, const uint32_t *table, void *store, uint32_t ftag, uint32_t fcs, uint32_t fds, uint32_t all_count, uint32_t tag_empty, uint32_t changed_x87_bits)'),
      xsDescribe: lib.func('int xl_gate_xs_describe(void *g, uint64_t a, int32_t op, int32_t rexw, int32_t len)'),
      xsWritable: lib.func('int xl_gate_xs_writable(void *g, const uint64_t *pairs, uint32_t n)'),
      vfBind: lib.func('void xl_gate_vf_bind(void *g, const uint32_t *table, const uint32_t *accept, void *store, uint32_t img_xmm0)'),
      vfDescribe: lib.func('int xl_gate_vf_describe(void *g, uint64_t a, const uint8_t *bytes, uint32_t n)'),
      vfDone: lib.func('uint64_t xl_gate_vf_done(void *g)'),
      vf: {
        binding: lib.func('const char *xl_vf_binding(void)'),
        run: lib.func('int xl_vf_run(const uint32_t *t, const uint32_t *accept, void *store, const uint8_t *bytes, uint32_t n, _Out_ uint32_t *len)'),
      },
      hook: hookPtr() as Ptr,
      proto: koffi.proto('void xl_gate_cb(void)'),
      xs: {
        binding: lib.func('const char *xl_xs_binding(void)'),
        save: lib.func('int xl_xs_save_ranges(const uint32_t *table, void *store, int op, void *area, uint64_t address, uint32_t eax, uint32_t edx, int rexw, _Out_ uint32_t *ranges)'),
        restoreSize: lib.func('uint32_t xl_xs_restore_size(const uint32_t *table, void *store, int op, const uint8_t *area, uint32_t eax, _Out_ uint32_t *need)'),
        restore: lib.func('int xl_xs_restore(const uint32_t *table, void *store, int op, const uint8_t *area, uint64_t address, uint32_t eax, uint32_t edx, int rexw)'),
      },
    };
    processWideSet('trap-gate', trapGateApi);
  } catch (e) {
    trapGateUnavailable = (e as Error).message.split('\n')[0];
    trapGateApi = null;
  }
  return trapGateApi;
}

/** The native instruction counter (emulator/native/insn-counter.c), built with gcc on first use. */
interface CounterApi {
  create(miss: unknown, ctl: Ptr): Ptr | null;
  free(c: Ptr): void;
  forget(c: Ptr, begin: Addr, end: Addr): void;
  hook: Ptr;
  memHook: Ptr;
  proto: TypeObject;
}
let counterApi: CounterApi | null | undefined;
function loadCounter(): CounterApi | null {
  if (counterApi !== undefined) return counterApi;
  const kept = processWideGet<CounterApi>('insn-counter');
  if (kept) return (counterApi = kept);
  try {
    const so = buildNative('../emulator/native/insn-counter.c', ['-O2', '-shared', '-fPIC']);
    const lib = koffi.load(so);
    const hookPtr = lib.func('void *xl_counter_hook_ptr(void)');
    counterApi = {
      create: lib.func('void *xl_counter_new(void *miss, void *ctl)'),
      free: lib.func('void xl_counter_free(void *c)'),
      forget: lib.func('void xl_counter_forget(void *c, uint64_t begin, uint64_t end)'),
      hook: hookPtr() as Ptr,
      memHook: lib.func('void *xl_counter_mem_hook_ptr(void)')() as Ptr,
      proto: koffi.proto('void xl_counter_miss(void)'),
    };
    processWideSet('insn-counter', counterApi);
  } catch {
    counterApi = null;
  }
  return counterApi;
}
/** 64-bit words of insn-counter.c's control block (its CW_* enum). */
const enum CounterWord { LIMIT = 0, EXECUTED = 1, UNUSED = 2, STOPPED = 3, MISS_ADDR = 4, MISS_SIZE = 5, MISS_COUNT = 6, STOP_PC = 7, MORE_QUANTA = 8, QUANTA_DONE = 9, LAST_LIMIT = 10, WORDS = 11 }
/**
 * The gate's UC_HOOK_CODE hooks cover only the code around owned or observed instructions, so plain
 * code elsewhere calls no helper: addresses less than this many bytes apart share one hook range.
 * Not one hook per address: unicorn 2.0.1 walks every code hook at each hooked instruction, so the
 * cost of each trap grows with the number of hooks; instructions inside a range that the gate does
 * not own cost a helper call and a hash lookup each.
 */
const GATE_CLUSTER_GAP = 64n;
const MASK64_ADDR = (1n << 64n) - 1n;

/**
 * Word indexes (32-bit) of the fields of trap-gate.c's struct gate_ctl: the control block a trap
 * gate and its JS callback share. `in`: set by the gate before the callback; `out`: set by the
 * callback, acted on by the gate after it returns.
 */
export enum GateWord {
  /** in: the trapped address (64 bits). */
  ADDRESS = 0,
  /** in: guest address the prefetch window was read at (64 bits). */
  MEM_ADDR = 2,
  /** out: guest address the write ranges are relative to (64 bits). */
  WRITE_BASE = 4,
  /** in: registers of the block read before the callback (from index 0). */
  READ_COUNT = 6,
  /** in: 1 the window was read, -1 its read failed (in both cases MEM_ADDR is the operand's address), 0 none. */
  PF_STATUS = 7,
  PF_FROM = 8,
  PF_TO = 9,
  /** out: block registers [WRITE_FIRST, WRITE_FIRST + WRITE_COUNT) to write back. */
  WRITE_FIRST = 10,
  WRITE_COUNT = 11,
  /** out: [from, to) pairs of the area buffer, at WRITES, to copy to guest memory. */
  N_WRITES = 12,
  /** out: 1: RIP is set to NEXT_RIP last. */
  WRITE_RIP = 13,
  NEXT_RIP = 14,
  /** in: bits of the compare ranges (TrapGate.setCompare) whose bytes the register read changed; all ones without a read. */
  CHANGED = 16,
  /** in: bit k: general-purpose register k (encoding order) was read into the block before the callback. */
  GPRS_READ = 17,
  WRITES = 18,
  /** in: address of the last observed non-control x87 instruction, 0 after FNINIT (64 bits; TrapGate.observe). */
  X87_IP = 146,
  /** in: address of the last observed one with a memory operand, 0 after FNINIT (64 bits). */
  X87_MEM_IP = 148,
  /** in: that operand's effective address, without a segment base (64 bits). */
  X87_FDP = 150,
  /** in/out: bit 0 X87_IP, bit 1 X87_MEM_IP and X87_FDP were set since JS cleared the word. */
  X87_EVENTS = 152,
  /** out: 1 while the register block's x87/SSE bytes equal the model's (the native XSAVE family needs it). */
  XS_MIRROR = 153,
  /** in: XSAVE-family instructions the gate did natively (64 bits; trap-gate.c xs_fast). */
  XS_DONE = 154,
  /** out: bumped at every register write through the API and every run (trap-gate.c skip_addr: the gate's registers are then stale). */
  REG_GEN = 156,
}
/** GateWord.X87_EVENTS bits (trap-gate.c X87_EVENT_IP, X87_EVENT_MEM). */
export const X87_EVENT_IP = 1;
export const X87_EVENT_MEM = 2;
/** An MMX instruction ran; bits 15:8 the MMX registers written. Set by the machine (machine.ts onMmx), never by the gate. */
export const X87_EVENT_MMX = 4;
export const X87_EVENT_MMX_SHIFT = 8;
/** What an observed address is (trap-gate.c OBSERVE_*). */
export enum ObserveKind { X87 = 1, X87Mem = 2, X87Init = 3, SseWrite = 4 }
/** trap-gate.c SSE_EVENT_SHIFT: bit SSE_EVENT_SHIFT + n of X87_EVENTS is set when an observed legacy SSE instruction wrote XMMn. */
export const SSE_EVENT_SHIFT = 16;
/**
 * Registers whose write changes how later ones in a batch are taken: FPSW's TOP field, which the
 * ST(i) registers are relative to. The gate writes back only registers that changed; once it writes
 * one of these, it writes every later one of the range (trap-gate.c GATE_WRITE_REST).
 */
// SDM Vol. 1 8.1.2: ST(i) names physical register (TOP + i) mod 8; checked by test/unicorn.test.ts.
const WRITE_ORDER_DEPENDENT: ReadonlySet<X86Reg> = new Set([X86Reg.FPSW]);
const GATE_WRITE_REST = 0x80;
/** trap-gate.c GATE_MAX_WRITES. */
export const GATE_MAX_WRITES = 64;
/** Bytes of trap-gate.c's struct gate_ctl (through reg_gen, padded to 8). */
export const GATE_CTL_BYTES = (GateWord.REG_GEN + 2) * 4;

/** What the gate does at one address before calling JS (TrapGate.describe). */
export interface GateDescriptor {
  /** Registers of the block to read (from index 0); 0: none. */
  readCount: number;
  /** General-purpose registers to read besides (bit k: encoding order, RAX = 0). */
  gprMask: number;
  /** The memory operand, when the window is to be read: GPR indexes 0-15 (encoding order) or -1. */
  base: number;
  index: number;
  scaleLog2: number;
  /** 0 none, 1 FS, 2 GS. */
  seg: number;
  /** Displacement, or the absolute address of a RIP-relative operand (base and index -1). */
  disp: bigint;
  /** The window [pfFrom, pfTo) of the area buffer, relative to the operand's address; empty: none. */
  pfFrom: number;
  pfTo: number;
}

/**
 * A UC_HOOK_CODE trap gate over a changing set of exact addresses (Unicorn.hookTrapGate). The
 * callback gets no arguments: the address and what the gate did are in `ctl32`/`ctl64`.
 */
export interface TrapGate {
  add(address: bigint): void;
  remove(address: bigint): void;
  has(address: bigint): boolean;
  describe(address: bigint, d: GateDescriptor): void;
  /**
   * Observe an address instead of trapping it: when unicorn is about to run the instruction there,
   * the gate records it in the control block (X87_IP, X87_MEM_IP, X87_FDP, X87_EVENTS) without
   * calling JS. For ObserveKind.X87Mem, `mem` gives the operand (GPR indexes or -1, no segment base).
   */
  observe(address: bigint, kind: ObserveKind, mem?: { base: number; index: number; scaleLog2: number; disp: bigint; addr32: boolean }): void;
  /**
   * Ranges of the register block, each with a bit (0-31): before each register read the gate keeps
   * the block's bytes and sets the bit in CHANGED when the read changed that range.
   */
  setCompare(ranges: readonly { offset: number; length: number; bit: number }[]): void;
  /**
   * The legacy SSE floating-point fast path (trap-gate.c fp_fast): the gate computes the instruction
   * at `address` itself when it can, else calls JS as usual. `readable` gives the guest memory the
   * fast path may read ([start, end) pairs, ascending); it must follow every mapping change.
   */
  /** `length`: the instruction's length (the code hook's size argument is not reliable: trap-gate.c xs_len). */
  describeFp(address: bigint, f: GateFp, length: number): void;
  setFpReadable(ranges: readonly { start: bigint; end: bigint }[]): void;
  /**
   * The native XSAVE family (trap-gate.c xs_fast over emulator/native/xsave-fast.c): `table` is the
   * CPU's (xsave-native.ts xsaveTable), `store` the running thread's RegisterFile.store (null: off);
   * both must stay alive while bound. `image`: where the register block keeps the full tag word, FCS
   * and FDS, how many registers it has of x87/SSE, the tag of an empty register, and the CHANGED bits
   * of its x87 compare ranges. `describeXsave` marks an owned address (op 0: off) with its instruction's length; `setWritable` gives
   * the guest memory the guest may write (after every mapping change, with setFpReadable).
   */
  bindXsave(table: Uint32Array | null, store: ArrayBuffer | null, image: { ftag: number; fcs: number; fds: number; allCount: number; tagEmpty: number; changedX87Bits: number }): void;
  describeXsave(address: bigint, op: number, rexW: boolean, length: number): void;
  /**
   * The native vector path (trap-gate.c vf_fast over emulator/native/vector-fast.c): `table` and
   * `accept` are the CPU's (vector-native.ts vectorTable, vectorAcceptTable), `store` the running
   * thread's RegisterFile.store (null: off), all kept alive while bound; `image.xmm0` where the
   * register block keeps XMM0 (the gate reads an instruction's XMM operands there itself, so its
   * descriptor need read none). `describeVector` gives an owned address's instruction bytes: true
   * when the gate does it natively from now on; `vectorDone` counts what it did.
   */
  bindVector(table: Uint32Array | null, accept: Uint32Array | null, store: ArrayBuffer | null, image: { xmm0: number }): void;
  describeVector(address: bigint, bytes: Uint8Array): boolean;
  vectorDone(): bigint;
  setWritable(ranges: readonly { start: bigint; end: bigint }[]): void;
  /**
   * Hooks the addresses added or observed since the last call, addresses close together sharing a
   * hook (GATE_CLUSTER_GAP); emuStart does it before each run, and `add`/`observe` at once while running.
   */
  coverPending(): void;
  /** The control block as 32-bit words (GateWord) and as 64-bit words (GateWord / 2). */
  readonly ctl32: Int32Array;
  readonly ctl64: BigUint64Array;
  /** The area buffer (native memory) the window is read into and the write ranges are taken from. */
  readonly area: Uint8Array;
}

interface GateRecord { natives: (number | bigint)[]; gate: Ptr; js: unknown; ctl: Ptr; area: Ptr; coverPending?: () => void; ctl32?: Int32Array }

/** Longest x86 instruction. */
const MAX_INSN_LEN = 15;

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));

/** x86 CR0 / CR4 bits used by enableSse. */
export const CR0 = { PE: 1n << 0n, MP: 1n << 1n, EM: 1n << 2n, TS: 1n << 3n, ET: 1n << 4n, NE: 1n << 5n, PG: 1n << 31n } as const;
export const CR4 = { OSFXSR: 1n << 9n, OSXMMEXCPT: 1n << 10n, FSGSBASE: 1n << 16n, OSXSAVE: 1n << 18n } as const;

/**
 * A unicorn engine in x86 64-bit mode. Not thread-safe; every callback runs synchronously on the
 * calling thread inside `emuStart`.
 */
export class Unicorn {
  private handle: Ptr;
  private readonly api: UnicornApi;
  /** 64-byte native scratch for single-register transfers. */
  private readonly scratch: Ptr;
  private scratchView: DataView;
  private scratchBytes: Uint8Array;
  /** Batch buffers (int ids, pointer array, value slots), grown on demand and reused. */
  private batchCap = 0;
  private batchIds: Ptr = 0n;
  private batchPtrs: Ptr = 0n;
  private batchVals: Ptr = 0n;
  private batchIdView = new Int32Array(0);
  private batchValView = new DataView(new ArrayBuffer(0));
  private batchValBytes = new Uint8Array(0);

  private readonly hooks = new Map<number, HookRecord>();
  private nextHookId = 1;
  /** One registered koffi trampoline per callback prototype, shared by all hooks of that kind. */
  private readonly trampolines = new Map<ProtoKind, { ptr: bigint; users: number }>();
  private readonly contexts = new Set<UnicornContext>();
  /** The context endExceptionDelivery saves into and restores from (allocated on first use). */
  private deliveryCtx: UnicornContext | undefined;
  private readonly blocks = new Set<RegBlock>();
  private readonly gates: GateRecord[] = [];
  /** The native instruction counter (useInstructionCounter), once installed. */
  private counter: { native: Ptr; js: unknown; ctl: Ptr; words: BigUint64Array } | undefined;
  private running = false;
  /** False while no block can have been translated since open or the last flushTb (nothing to drop). */
  private tbsMayExist = false;
  /** Whether unicorn's own instruction-count hook is installed (the last run had a `count`). */
  private countHookInstalled = false;
  /** Code ranges whose translations must be dropped once emuStart returns (hooks removed while running). */
  private deferredTbDrops: { begin: bigint; end: bigint }[] = [];
  private pendingError: { error: unknown } | undefined;

  private constructor(api: UnicornApi, handle: Ptr) {
    this.api = api;
    this.handle = handle;
    this.scratch = koffi.alloc('uint8_t', SLOT) as Ptr;
    this.scratchView = new DataView(koffi.view(this.scratch, SLOT));
    this.scratchBytes = new Uint8Array(this.scratchView.buffer);
  }

  /**
   * Opens an x86-64 engine. `cpuModel` is applied with UC_CTL_CPU_MODEL before anything else touches the
   * engine (unicorn 2.0.1 refuses a model change once the CPU exists: UC_ERR_ARG).
   */
  static open(options: { cpuModel?: X86CpuModel } = {}): Unicorn {
    const api = loadLibUnicorn();
    const out: (Ptr | null)[] = [null];
    const err = api.uc_open(UC_ARCH_X86, UC_MODE_64, out);
    if (err !== UcErr.OK) throw new UnicornError(err, 'uc_open');
    const uc = new Unicorn(api, out[0] as Ptr);
    if (options.cpuModel !== undefined) {
      try {
        uc.setCpuModel(options.cpuModel);
      } catch (e) {
        uc.close();
        throw e;
      }
    }
    return uc;
  }

  get closed(): boolean {
    return this.handle === 0n;
  }

  /** Closes the engine, frees saved contexts and scratch memory and unregisters every callback. */
  close(): void {
    if (this.handle === 0n) return;
    if (this.running) throw new Error('Unicorn.close() called from inside a hook; call emuStop() and close after emuStart returns');
    for (const ctx of [...this.contexts]) this.contextFree(ctx);
    for (const b of [...this.blocks]) this.freeBlock(b);
    const err = this.api.uc_close(this.handle);
    this.handle = 0n;
    for (const rec of this.hooks.values()) rec.handle.removed = true;
    this.hooks.clear();
    for (const t of this.trampolines.values()) koffi.unregister(t.ptr);
    this.trampolines.clear();
    if (this.counter) {
      counterApi?.free(this.counter.native);
      koffi.unregister(this.counter.js as never);
      koffi.free(this.counter.ctl);
      this.counter = undefined;
    }
    // The engine is gone: nothing can call the gates any more.
    for (const g of this.gates.splice(0)) {
      trapGateApi?.free(g.gate);
      koffi.unregister(g.js as never);
      koffi.free(g.ctl);
      koffi.free(g.area);
    }
    // Point the views at JS memory before freeing the native buffers: nothing may write freed memory.
    this.scratchView = new DataView(new ArrayBuffer(SLOT));
    this.scratchBytes = new Uint8Array(this.scratchView.buffer);
    koffi.free(this.scratch);
    this.freeBatch();
    if (err !== UcErr.OK) throw new UnicornError(err, 'uc_close');
  }

  private h(): Ptr {
    if (this.handle === 0n) throw new Error('Unicorn engine is closed');
    return this.handle;
  }

  private check(err: number, func: string, detail?: string): void {
    if (err !== UcErr.OK) throw new UnicornError(err, func, detail);
  }

  // ---- CPU model and translation cache (uc_ctl) ----

  /** Selects the CPU model (UC_CTL_CPU_MODEL). Only valid right after open. */
  setCpuModel(model: X86CpuModel): void {
    const err = this.api.uc_ctl(this.h(), CTL_SET_CPU_MODEL, 'int', model);
    this.check(err, 'uc_ctl(UC_CTL_CPU_MODEL)', err === UcErr.ARG ? '(the model must be set before the first memory, register or emulation call)' : undefined);
  }

  getCpuModel(): X86CpuModel {
    const out = [0];
    this.check(this.api.uc_ctl(this.h(), CTL_GET_CPU_MODEL, koffi.out(koffi.pointer('int')), out), 'uc_ctl(UC_CTL_CPU_MODEL)');
    return out[0]!;
  }

  /** Drops translated blocks covering [begin, end) (UC_CTL_TB_REMOVE_CACHE), and their instruction counts. */
  removeTbCache(begin: Addr, end: Addr): void {
    this.check(this.api.uc_ctl(this.h(), CTL_REMOVE_CACHE, 'uint64_t', begin, 'uint64_t', end), 'uc_ctl(UC_CTL_TB_REMOVE_CACHE)');
    if (this.counter) counterApi!.forget(this.counter.native, begin, end);
  }

  /**
   * Installs the native instruction counter that `emuStart`'s `quantum` uses: a UC_HOOK_BLOCK over
   * every address. `count(address, size)` gives the number of instructions of a block unicorn
   * translated (asked once per block). Returns false when the counter cannot be built (no gcc):
   * `quantum` then runs with unicorn's `count`.
   */
  useInstructionCounter(count: (address: bigint, size: number) => number): boolean {
    if (this.counter) return true;
    const api = loadCounter();
    if (!api) return false;
    const h = this.h();
    const ctlBytes = CounterWord.WORDS * 8;
    const ctl = koffi.alloc('uint8_t', ctlBytes) as Ptr;
    const words = new BigUint64Array(koffi.view(ctl, ctlBytes));
    words.fill(0n);
    const self = this;
    const js = koffi.register(() => {
      try {
        words[CounterWord.MISS_COUNT] = BigInt(count(words[CounterWord.MISS_ADDR]!, Number(words[CounterWord.MISS_SIZE]!)));
      } catch (e) {
        self.fail(e);
      }
    }, koffi.pointer(api.proto));
    const native = api.create(js, ctl);
    if (!native) {
      koffi.unregister(js);
      koffi.free(ctl);
      return false;
    }
    const out: (number | bigint | null)[] = [null];
    const err = this.api.uc_hook_add(h, out, HookType.BLOCK, api.hook, native as unknown as number, 1, 0);
    if (err !== UcErr.OK) {
      api.free(native);
      koffi.unregister(js);
      koffi.free(ctl);
      throw new UnicornError(err, 'uc_hook_add');
    }
    // Faults at the faulting instruction (insn-counter.c never_called): covers address 1 only.
    const NEVER_MAPPED = 1;
    const memOut: (number | bigint | null)[] = [null];
    const memErr = this.api.uc_hook_add(h, memOut, HookType.MEM_READ | HookType.MEM_WRITE, api.memHook, 0, NEVER_MAPPED, NEVER_MAPPED);
    if (memErr !== UcErr.OK) throw new UnicornError(memErr, 'uc_hook_add');
    this.counter = { native, js, ctl, words };
    // Blocks translated before the hooks existed would not count.
    if (this.tbsMayExist) this.flushTb();
    return true;
  }

  /** Instructions of the blocks the last `quantum` run entered (an upper bound on those it executed). */
  get lastRunInstructions(): number {
    return this.counter ? Number(this.counter.words[CounterWord.EXECUTED]) : 0;
  }

  /**
   * Drops every translated block (UC_CTL_TB_FLUSH). Expensive in unicorn 2.0.1 (measured: about 2.8 s
   * for the first flush in a process, about 75 ms for the first on an engine, 12 ms afterwards).
   */
  flushTb(): void {
    this.check(this.api.uc_ctl(this.h(), CTL_TB_FLUSH), 'uc_ctl(UC_CTL_TB_FLUSH)');
    this.tbsMayExist = false;
    if (this.counter) counterApi!.forget(this.counter.native, 0n, MASK64_ADDR);
  }

  // ---- memory ----

  memMap(addr: Addr, size: number, perms: Prot | number = Prot.ALL): void {
    this.check(this.api.uc_mem_map(this.h(), addr, size, perms), 'uc_mem_map', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memUnmap(addr: Addr, size: number): void {
    this.check(this.api.uc_mem_unmap(this.h(), addr, size), 'uc_mem_unmap', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memProtect(addr: Addr, size: number, perms: Prot | number): void {
    this.check(this.api.uc_mem_protect(this.h(), addr, size, perms), 'uc_mem_protect', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memRead(addr: Addr, len: number): Uint8Array {
    const buf = new Uint8Array(len);
    this.memReadInto(addr, buf);
    return buf;
  }

  memReadInto(addr: Addr, buf: Uint8Array): void {
    if (buf.length === 0) return;
    const err = this.api.uc_mem_read(this.h(), addr, buf, buf.length);
    if (err !== UcErr.OK) throw new UnicornError(err, 'uc_mem_read', `(0x${addr.toString(16)}, ${buf.length})`);
  }

  memWrite(addr: Addr, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const err = this.api.uc_mem_write(this.h(), addr, bytes, bytes.length);
    if (err !== UcErr.OK) throw new UnicornError(err, 'uc_mem_write', `(0x${addr.toString(16)}, ${bytes.length})`);
  }

  /**
   * Writes guest code and drops translations of [addr, addr + len): unicorn 2.0.1's uc_mem_write alone
   * can leave a stale translated block that keeps running the old bytes.
   */
  writeCode(addr: Addr, bytes: Uint8Array): void {
    this.memWrite(addr, bytes);
    if (bytes.length > 0) this.removeTbCache(addr, toBig(addr) + BigInt(bytes.length));
  }

  memRegions(): MemRegion[] {
    return readMemRegions(this.api, this.h(), (err) => this.check(err, 'uc_mem_regions'));
  }

  // ---- registers ----

  private widthOf(reg: X86Reg, func: string): number {
    const w = regWidth(reg);
    if (w > 0) return w;
    const name = X86Reg[reg] ?? String(reg);
    if (w === STRUCT_REG) throw new Error(`${func}: UC_X86_REG_${name} takes a struct and is not supported here`);
    throw new Error(`${func}: UC_X86_REG_${name} (${reg}) is ignored by unicorn 2.0.1 (it returns UC_ERR_OK and transfers nothing)`);
  }

  /** Reads `width` bytes at `off` of `view` as an unsigned little-endian integer. */
  private static decodeLE(view: DataView, off: number, width: number): bigint {
    if (width === 8) return view.getBigUint64(off, true);
    if (width === 4) return BigInt(view.getUint32(off, true));
    if (width === 2) return BigInt(view.getUint16(off, true));
    if (width === 1) return BigInt(view.getUint8(off));
    let v = 0n;
    for (let i = Math.ceil(width / 8) - 1; i >= 0; i--) v = (v << 64n) | view.getBigUint64(off + i * 8, true);
    return width % 8 === 0 ? v : BigInt.asUintN(width * 8, v);
  }

  private static encodeLE(view: DataView, off: number, width: number, value: bigint, reg: X86Reg): void {
    const bits = BigInt(width * 8);
    if (value >= 1n << bits || value < -(1n << (bits - 1n))) {
      throw new RangeError(`value 0x${value.toString(16)} does not fit UC_X86_REG_${X86Reg[reg] ?? reg} (${width} bytes)`);
    }
    let v = BigInt.asUintN(width * 8, value);
    if (width <= 8) {
      view.setBigUint64(off, v, true);
      return;
    }
    for (let i = 0; i < Math.ceil(width / 8); i++) {
      view.setBigUint64(off + i * 8, BigInt.asUintN(64, v), true);
      v >>= 64n;
    }
  }

  private readRegWith(call: (p: Ptr) => number, reg: X86Reg, func: string): bigint {
    this.h();
    const w = this.widthOf(reg, func);
    const bytes = this.scratchBytes;
    if (w <= 8) this.scratchView.setBigUint64(0, 0n);
    else bytes.fill(0, 0, w + 8);
    this.check(call(this.scratch), func);
    return Unicorn.decodeLE(this.scratchView, 0, w);
  }

  /**
   * Reads a register as an unsigned integer of the register's width (XMM: 128 bits, ST/FP: 80 bits,
   * YMM0-15: 256 bits). Throws for ids unicorn 2.0.1 ignores.
   */
  regRead(reg: X86Reg): bigint {
    const h = this.h(); // before touching the native scratch buffer
    const w = this.widthOf(reg, 'uc_reg_read');
    if (w <= 8) {
      this.scratchView.setBigUint64(0, 0n);
      this.check(this.api.uc_reg_read(h, reg, this.scratch), 'uc_reg_read');
      return w === 8 ? this.scratchView.getBigUint64(0, true) : Unicorn.decodeLE(this.scratchView, 0, w);
    }
    this.scratchBytes.fill(0, 0, w);
    this.check(this.api.uc_reg_read(h, reg, this.scratch), 'uc_reg_read');
    return Unicorn.decodeLE(this.scratchView, 0, w);
  }

  /**
   * Writes a register. `v` must fit the register width (negative values down to -2^(bits-1) are taken
   * as two's complement).
   */
  regWrite(reg: X86Reg, v: bigint): void {
    const h = this.h();
    const w = this.widthOf(reg, 'uc_reg_write');
    Unicorn.encodeLE(this.scratchView, 0, w, v, reg);
    this.regsTouched();
    this.check(this.api.uc_reg_write(h, reg, this.scratch), 'uc_reg_write');
  }

  private freeBatch(): void {
    if (this.batchCap === 0) return;
    this.batchIdView = new Int32Array(0);
    this.batchValView = new DataView(new ArrayBuffer(0));
    this.batchValBytes = new Uint8Array(0);
    koffi.free(this.batchIds);
    koffi.free(this.batchPtrs);
    koffi.free(this.batchVals);
    this.batchCap = 0;
  }

  private ensureBatch(n: number): void {
    if (n <= this.batchCap) return;
    this.freeBatch();
    const cap = Math.max(32, 1 << Math.ceil(Math.log2(n)));
    this.batchIds = koffi.alloc('int', cap) as Ptr;
    this.batchPtrs = koffi.alloc('uint64_t', cap) as Ptr;
    this.batchVals = koffi.alloc('uint8_t', cap * SLOT) as Ptr;
    this.batchCap = cap;
    this.batchIdView = new Int32Array(koffi.view(this.batchIds, cap * 4));
    const ptrs = new BigUint64Array(koffi.view(this.batchPtrs, cap * 8));
    for (let i = 0; i < cap; i++) ptrs[i] = this.batchVals + BigInt(i * SLOT);
    this.batchValView = new DataView(koffi.view(this.batchVals, cap * SLOT));
    this.batchValBytes = new Uint8Array(this.batchValView.buffer);
  }

  /** Reads several registers with one uc_reg_read_batch call (buffers allocated once and reused). */
  regReadBatch(regs: readonly X86Reg[]): bigint[] {
    const n = regs.length;
    const h = this.h();
    if (n === 0) return [];
    this.ensureBatch(n);
    const widths = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      widths[i] = this.widthOf(regs[i]!, 'uc_reg_read_batch');
      this.batchIdView[i] = regs[i]!;
    }
    this.batchValBytes.fill(0, 0, n * SLOT);
    this.check(this.api.uc_reg_read_batch(h, this.batchIds, this.batchPtrs, n), 'uc_reg_read_batch');
    const out = new Array<bigint>(n);
    for (let i = 0; i < n; i++) out[i] = Unicorn.decodeLE(this.batchValView, i * SLOT, widths[i]!);
    return out;
  }

  /** Writes several registers with one uc_reg_write_batch call. */
  regWriteBatch(regs: readonly X86Reg[], values: readonly bigint[]): void {
    const n = regs.length;
    if (values.length !== n) throw new RangeError(`regWriteBatch: ${n} registers but ${values.length} values`);
    const h = this.h();
    if (n === 0) return;
    this.ensureBatch(n);
    for (let i = 0; i < n; i++) {
      const w = this.widthOf(regs[i]!, 'uc_reg_write_batch');
      this.batchIdView[i] = regs[i]!;
      Unicorn.encodeLE(this.batchValView, i * SLOT, w, values[i]!, regs[i]!);
    }
    this.regsTouched();
    this.check(this.api.uc_reg_write_batch(h, this.batchIds, this.batchPtrs, n), 'uc_reg_write_batch');
  }

  /**
   * A register block (see RegBlock): `regs[i]` goes to byte `offsets[i]` of a native buffer of
   * `size` bytes. Checked once here: every id transfers bytes and every slot fits.
   */
  regBlock(regs: readonly X86Reg[], offsets: readonly number[], size: number): RegBlock {
    this.h();
    if (offsets.length !== regs.length) throw new RangeError(`regBlock: ${regs.length} registers but ${offsets.length} offsets`);
    for (let i = 0; i < regs.length; i++) {
      const w = this.widthOf(regs[i]!, 'regBlock');
      const o = offsets[i]!;
      if (!Number.isInteger(o) || o < 0 || o + w > size) throw new RangeError(`regBlock: UC_X86_REG_${X86Reg[regs[i]!]} at ${o} (${w} bytes) does not fit ${size} bytes`);
    }
    const b = new RegBlock(this, regs, offsets, size);
    this.blocks.add(b);
    return b;
  }

  private blockCall(b: RegBlock, n: number, first: number, write: boolean): void {
    const h = this.h();
    if (b.freed || !this.blocks.has(b)) throw new Error('RegBlock is freed or belongs to another engine');
    if (n <= 0) return;
    if (!(first >= 0 && first + n <= b.regs.length)) throw new RangeError(`RegBlock has ${b.regs.length} registers, asked for ${n} from ${first}`);
    const ids = first === 0 ? b.ids : b.ids + BigInt(first * 4);
    const ptrs = first === 0 ? b.ptrs : b.ptrs + BigInt(first * 8);
    const err = write ? this.api.uc_reg_write_batch(h, ids, ptrs, n) : this.api.uc_reg_read_batch(h, ids, ptrs, n);
    if (write) this.regsTouched();
    if (err !== UcErr.OK) throw new UnicornError(err, write ? 'uc_reg_write_batch' : 'uc_reg_read_batch');
  }

  private freeBlock(b: RegBlock): void {
    if (b.freed) return;
    this.blocks.delete(b);
    // Point the views at JS memory before freeing the native buffers: nothing may write freed memory.
    b.bytes = new Uint8Array(Math.max(8, b.size));
    b.view = new DataView(b.bytes.buffer);
    koffi.free(b.ids);
    koffi.free(b.ptrs);
    koffi.free(b.buf);
    b.ids = 0n;
    b.ptrs = 0n;
    b.buf = 0n;
  }

  private readBytes(reg: X86Reg, len: number): Uint8Array {
    const h = this.h();
    this.scratchBytes.fill(0, 0, len);
    this.check(this.api.uc_reg_read(h, reg, this.scratch), 'uc_reg_read');
    return this.scratchBytes.slice(0, len);
  }

  private writeBytes(reg: X86Reg, bytes: Uint8Array, len: number, what: string): void {
    if (bytes.length !== len) throw new RangeError(`${what} needs exactly ${len} bytes, got ${bytes.length}`);
    const h = this.h();
    this.scratchBytes.set(bytes, 0);
    this.regsTouched();
    this.check(this.api.uc_reg_write(h, reg, this.scratch), 'uc_reg_write');
  }

  private static index(i: number, n: number, what: string): number {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${what} index ${i} out of range 0..${n - 1}`);
    return i;
  }

  /** XMMi (0..15), 16 bytes little-endian. */
  readXmm(i: number): Uint8Array {
    return this.readBytes(X86Reg.XMM0 + Unicorn.index(i, 16, 'XMM'), 16);
  }

  writeXmm(i: number, bytes: Uint8Array): void {
    this.writeBytes(X86Reg.XMM0 + Unicorn.index(i, 16, 'XMM'), bytes, 16, 'writeXmm');
  }

  /**
   * YMMi (0..15), 32 bytes: bits 127:0 are XMMi. unicorn 2.0.1 keeps bits 255:128 but executes no
   * instruction that uses them.
   */
  readYmm(i: number): Uint8Array {
    return this.readBytes(X86Reg.YMM0 + Unicorn.index(i, 16, 'YMM'), 32);
  }

  writeYmm(i: number, bytes: Uint8Array): void {
    this.writeBytes(X86Reg.YMM0 + Unicorn.index(i, 16, 'YMM'), bytes, 32, 'writeYmm');
  }

  /** ST(i) (TOP-relative), 10 bytes: significand (8, little-endian) then sign/exponent (2). */
  readSt(i: number): Uint8Array {
    return this.readBytes(X86Reg.ST0 + Unicorn.index(i, 8, 'ST'), 10);
  }

  writeSt(i: number, bytes: Uint8Array): void {
    this.writeBytes(X86Reg.ST0 + Unicorn.index(i, 8, 'ST'), bytes, 10, 'writeSt');
  }

  /** Physical x87 register R<i> (not TOP-relative), 10 bytes. */
  readFpReg(i: number): Uint8Array {
    return this.readBytes(X86Reg.FP0 + Unicorn.index(i, 8, 'FP'), 10);
  }

  writeFpReg(i: number, bytes: Uint8Array): void {
    this.writeBytes(X86Reg.FP0 + Unicorn.index(i, 8, 'FP'), bytes, 10, 'writeFpReg');
  }

  // ---- contexts ----

  /** Saves the CPU state (registers, not memory) into a new context, or into `into` when given. */
  contextSave(into?: UnicornContext): UnicornContext {
    const h = this.h();
    let ctx = into;
    if (ctx === undefined) {
      const out: (Ptr | null)[] = [null];
      this.check(this.api.uc_context_alloc(h, out), 'uc_context_alloc');
      ctx = new UnicornContext(this, out[0] as Ptr);
      this.contexts.add(ctx);
    } else if (ctx.freed || !this.contexts.has(ctx)) {
      throw new Error('contextSave: context is freed or belongs to another engine');
    }
    this.check(this.api.uc_context_save(h, ctx.ptr), 'uc_context_save');
    return ctx;
  }

  contextRestore(ctx: UnicornContext): void {
    if (ctx.freed || !this.contexts.has(ctx)) throw new Error('contextRestore: context is freed or belongs to another engine');
    this.regsTouched();
    this.check(this.api.uc_context_restore(this.h(), ctx.ptr), 'uc_context_restore');
  }

  contextFree(ctx: UnicornContext): void {
    if (ctx.freed) return;
    if (!this.contexts.has(ctx)) throw new Error('contextFree: context belongs to another engine');
    const err = this.api.uc_context_free(ctx.ptr);
    ctx.ptr = 0n;
    this.contexts.delete(ctx);
    this.check(err, 'uc_context_free');
  }

  /** Size in bytes of one saved context (uc_context_size). */
  contextSize(): number {
    return Number(this.api.uc_context_size(this.h()));
  }

  /**
   * Ends the delivery of a CPU exception the UC_HOOK_INTR hook took over, so that the next one is
   * not taken for a fault during its delivery. Call it after the hook ran, outside emulation.
   *
   * Why: unicorn 2.0.1's `check_exception` (QEMU 5.0 target/i386/excp_helper.c) records each
   * contributory exception (#DE, #TS, #NP, #SS, #GP) and #PF in CPUX86State.old_exception and turns
   * the next one into #DF, and the one after that into a triple fault (a reset request that spins);
   * only `x86_cpu_do_interrupt` clears it, and an interrupt hook replaces that delivery. On the
   * CPU each exception is delivered (SDM Vol. 3A 6.15, Table 6-5: double faults arise only during a
   * delivery), so a process that catches #DE twice gets SIGFPE twice. No API reaches
   * old_exception: its place in a saved uc_context is measured once per process
   * (`measureExceptionInFlight`) and written back with uc_context_save / uc_context_restore.
   */
  endExceptionDelivery(): void {
    const how = exceptionInFlight();
    if (how.kind !== ExceptionInFlightReset.ContextOffset) return;
    this.deliveryCtx = this.contextSave(this.deliveryCtx);
    const view = new DataView(koffi.view(this.deliveryCtx.ptr, how.offset + 4));
    if (view.getInt32(how.offset, true) === NO_EXCEPTION_IN_FLIGHT) return;
    view.setInt32(how.offset, NO_EXCEPTION_IN_FLIGHT, true);
    this.contextRestore(this.deliveryCtx);
  }

  // ---- emulation ----

  /**
   * Runs from `begin` until RIP reaches `until`, `hlt`, emuStop, the timeout or the instruction count.
   * A JS exception thrown by a hook stops emulation and is rethrown here once uc_emu_start returns;
   * otherwise a failing uc_emu_start throws UnicornError (with RIP at the stop).
   *
   * unicorn 2.0.1 counts instructions with an internal UC_HOOK_CODE hook, which (like every code hook)
   * only blocks translated after it was added call. Measured: `count` on code that already ran without
   * a count is ignored (a `jmp $` loop ran until the timeout), so the first counted run after uncounted
   * ones flushes the translation cache first (see flushTb for the cost). The first run without `count`
   * after a counted one is flushed by unicorn itself (measured 80 ms); a timeout given to either run is
   * spent partly on the flush.
   */
  /** Instructions the last run with a quantum executed, by the native counter (undefined: a counted run, or no counter). */
  executedInLastRun: bigint | undefined;

  emuStart(begin: Addr, until: Addr, options: EmuStartOptions = {}): void {
    const h = this.h();
    if (this.running) throw new Error('emuStart: already running (unicorn 2.0.1 does not support nested uc_emu_start)');
    let count = options.count ?? 0;
    if (this.counter) {
      const w = this.counter.words;
      const more = !count && options.quantum && options.quanta && options.quanta.count > 1 ? options.quanta.count - 1 : 0;
      w[CounterWord.LIMIT] = BigInt(count ? 0 : more === 0 && options.quanta ? options.quanta.lastQuantum : options.quantum ?? 0);
      w[CounterWord.EXECUTED] = 0n;
      w[CounterWord.STOPPED] = 0n;
      w[CounterWord.MORE_QUANTA] = BigInt(more);
      w[CounterWord.QUANTA_DONE] = 0n;
      w[CounterWord.LAST_LIMIT] = BigInt(options.quanta?.lastQuantum ?? 0);
    } else if (!count && options.quantum) count = options.quanta && options.quanta.count <= 1 ? options.quanta.lastQuantum : options.quantum;
    if (count) {
      if (!this.countHookInstalled && this.tbsMayExist) this.flushTb();
      this.countHookInstalled = true;
    } else {
      this.countHookInstalled = false;
    }
    // Addresses given to a gate since the last run get their hooks now, clustered.
    for (const g of this.gates) g.coverPending?.();
    this.tbsMayExist = true;
    this.regsTouched();
    this.running = true;
    this.pendingError = undefined;
    let err: number;
    try {
      err = this.api.uc_emu_start(h, begin, until, options.timeoutUs ?? 0, count);
    } finally {
      this.running = false;
      const drops = this.deferredTbDrops;
      this.deferredTbDrops = [];
      try {
        for (const r of drops) this.dropTranslations(r.begin, r.end);
      } finally {
        this.releaseIdleTrampolines();
      }
    }
    // Instructions of the blocks this quantum run entered (the counter's count; a block a fault cut
    // short counts whole): what the scheduler charges for a run that ended early.
    this.executedInLastRun = this.counter && !count ? this.counter.words[CounterWord.EXECUTED]! : undefined;
    const pending = this.takePendingError();
    if (pending !== undefined) throw pending.error;
    // Stopped by the counter before a block: RIP is that block (unicorn leaves it stale; insn-counter.c).
    if (err === UcErr.OK && this.counter && this.counter.words[CounterWord.STOPPED] === 1n) this.regWrite(X86Reg.RIP, this.counter.words[CounterWord.STOP_PC]!);
    if (err !== UcErr.OK) {
      let rip = '';
      try {
        rip = `at rip=0x${this.regRead(X86Reg.RIP).toString(16)}`;
      } catch {
        /* keep the original error */
      }
      throw new UnicornError(err, 'uc_emu_start', rip);
    }
  }

  private takePendingError(): { error: unknown } | undefined {
    const pending = this.pendingError;
    this.pendingError = undefined;
    return pending;
  }

  /**
   * From a hook: end the run before the next translated block. uc_emu_stop from a hook in the first
   * block of a run is lost (insn-counter.c, measured), so with the native counter installed its
   * limit is lowered to what already ran and the counter stops before the next block (an owned
   * instruction's hook moves RIP, which ends its block); without the counter, uc_emu_stop.
   */
  stopBeforeNextBlock(): void {
    this.emuStop();
    if (!this.counter) return;
    const w = this.counter.words;
    w[CounterWord.LIMIT] = w[CounterWord.EXECUTED]! > 0n ? w[CounterWord.EXECUTED]! : 1n;
    w[CounterWord.MORE_QUANTA] = 0n;
  }

  /** Quanta of the current (or last) run of several that ended before its last (EmuStartOptions.quanta). */
  get quantaDone(): number {
    return this.counter ? Number(this.counter.words[CounterWord.QUANTA_DONE]) : 0;
  }

  /** From a hook during a run of several quanta: the run ends where the current quantum ends. */
  endAtQuantumEnd(): void {
    if (this.counter) this.counter.words[CounterWord.MORE_QUANTA] = 0n;
  }

  /** Registers may change behind the trap gates' backs: they must read them again (GateWord.REG_GEN). */
  private regsTouched(): void {
    for (const g of this.gates) if (g.ctl32) g.ctl32[GateWord.REG_GEN] = (g.ctl32[GateWord.REG_GEN]! + 1) | 0;
  }

  /** Asks a running emulation to stop (uc_emu_stop); meant for hooks. */
  emuStop(): void {
    this.check(this.api.uc_emu_stop(this.h()), 'uc_emu_stop');
  }

  // ---- hooks ----

  /** Records an exception thrown by a hook and stops emulation; emuStart rethrows it. */
  private fail(error: unknown): void {
    if (this.pendingError === undefined) this.pendingError = { error };
    if (this.handle !== 0n) this.api.uc_emu_stop(this.handle);
  }

  private trampolineFor(kind: ProtoKind): bigint {
    const existing = this.trampolines.get(kind);
    if (existing) {
      existing.users++;
      return existing.ptr;
    }
    const hooks = this.hooks;
    const self = this;
    const get = (ud: number | bigint) => hooks.get(Number(ud));
    let fn: (...args: never[]) => unknown;
    switch (kind) {
      case 'code':
        fn = (_uc: unknown, address: number | bigint, size: number, ud: number) => {
          const rec = get(ud);
          if (!rec) return;
          try {
            // For an instruction unicorn cannot translate, 2.0.1 passes its unpatched size placeholder
            // (0xF1F2F1F1); report 0 ("unknown", as unicorn.h documents) for anything over 15 bytes.
            rec.fn(toBig(address), size > MAX_INSN_LEN ? 0 : size);
          } catch (e) {
            self.fail(e);
          }
        };
        break;
      case 'intr':
        fn = (_uc: unknown, intno: number, ud: number) => {
          const rec = get(ud);
          if (!rec) return;
          try {
            rec.fn(intno);
          } catch (e) {
            self.fail(e);
          }
        };
        break;
      case 'syscall':
        fn = (_uc: unknown, ud: number) => {
          const rec = get(ud);
          if (!rec) return;
          try {
            rec.fn();
          } catch (e) {
            self.fail(e);
          }
        };
        break;
      case 'cpuid':
        fn = (_uc: unknown, ud: number): number => {
          const rec = get(ud);
          if (!rec) return 0;
          try {
            return rec.fn() ? 1 : 0;
          } catch (e) {
            self.fail(e);
            return 1;
          }
        };
        break;
      case 'insnInvalid':
        fn = (_uc: unknown, ud: number): boolean => {
          const rec = get(ud);
          if (!rec) return false;
          try {
            return rec.fn() === true;
          } catch (e) {
            self.fail(e);
            return false;
          }
        };
        break;
      case 'memInvalid':
        fn = (_uc: unknown, type: number, address: number | bigint, size: number, value: number | bigint, ud: number): boolean => {
          const rec = get(ud);
          if (!rec) return false;
          try {
            return rec.fn(type, toBig(address), size, toBig(value)) === true;
          } catch (e) {
            self.fail(e);
            return false;
          }
        };
        break;
    }
    const ptr = koffi.register(fn, koffi.pointer(this.api.protos[kind]));
    this.trampolines.set(kind, { ptr, users: 1 });
    return ptr;
  }

  private releaseTrampoline(kind: ProtoKind): void {
    const t = this.trampolines.get(kind);
    if (!t) return;
    t.users--;
    if (t.users <= 0 && !this.running) {
      koffi.unregister(t.ptr);
      this.trampolines.delete(kind);
    }
  }

  /** After emuStart: unregister trampolines whose last hook was removed while running. */
  private releaseIdleTrampolines(): void {
    for (const [kind, t] of this.trampolines) {
      if (t.users <= 0) {
        koffi.unregister(t.ptr);
        this.trampolines.delete(kind);
      }
    }
  }

  private addHook(kind: ProtoKind, type: number, fn: HookRecord['fn'], begin: Addr, end: Addr, insn?: X86Insn): HookRecord {
    const h = this.h();
    const id = this.nextHookId++;
    const cb = this.trampolineFor(kind);
    const out: (number | bigint | null)[] = [null];
    const err = insn === undefined
      ? this.api.uc_hook_add(h, out, type, cb, id, begin, end)
      : this.api.uc_hook_add(h, out, type, cb, id, begin, end, 'int', insn);
    if (err !== UcErr.OK) {
      this.releaseTrampoline(kind);
      throw new UnicornError(err, 'uc_hook_add');
    }
    const handle = new HookHandleImpl(this, id);
    const rec: HookRecord = { kind, native: out[0] as number | bigint, fn, handle };
    this.hooks.set(id, rec);
    return rec;
  }

  private removeHook(id: number): void {
    const rec = this.hooks.get(id);
    if (!rec) return;
    this.hooks.delete(id);
    if (this.handle !== 0n) {
      try {
        this.check(this.api.uc_hook_del(this.handle, rec.native), 'uc_hook_del');
        // unicorn 2.0.1 bakes UC_HOOK_CODE calls into translated blocks and keeps calling a deleted hook
        // from a cached block; drop those blocks before the trampoline can be unregistered.
        if (rec.codeRange) {
          if (this.running) this.deferredTbDrops.push(rec.codeRange);
          else this.dropTranslations(rec.codeRange.begin, rec.codeRange.end);
        }
      } finally {
        this.releaseTrampoline(rec.kind);
      }
    } else {
      this.releaseTrampoline(rec.kind);
    }
  }

  /** Drops translations of [begin, end] (inclusive); begin > end (an all-address hook) flushes all. */
  private dropTranslations(begin: bigint, end: bigint): void {
    if (!this.tbsMayExist) return;
    if (begin > end || end >= 0xffff_ffff_ffff_ffffn) this.flushTb();
    else this.removeTbCache(begin, end + 1n);
  }

  /** Live hooks (for diagnostics and tests). */
  get hookCount(): number {
    return this.hooks.size;
  }

  /** Registered koffi callbacks held by this engine (one per hook prototype in use). */
  get registeredCallbackCount(): number {
    return this.trampolines.size;
  }

  /**
   * UC_HOOK_CODE on [begin, end] (inclusive; begin > end: every instruction). The callback runs before
   * the instruction executes; writing RIP there skips it. Translations of the range are dropped so the
   * hook also applies to code that already ran (an all-address hook flushes the whole cache when
   * anything was translated: see flushTb for its cost).
   *
   * `size` is 0 when unicorn does not know it: unicorn 2.0.1 passes a placeholder (0xF1F2F1F1) for
   * instructions it cannot translate (XGETBV, XSAVE, EVEX, UD2, ...), so a hook that skips such an
   * instruction must take its length from its own decoder; `address + size` would jump to garbage.
   */
  hookCode(begin: Addr, end: Addr, cb: (address: bigint, size: number) => void): HookHandle {
    const rec = this.addHook('code', HookType.CODE, cb, begin, end);
    rec.codeRange = { begin: toBig(begin), end: toBig(end) };
    try {
      // unicorn 2.0.1 decides at translation time whether a block calls UC_HOOK_CODE hooks: without this,
      // a hook on code that already ran is never called.
      this.dropTranslations(rec.codeRange.begin, rec.codeRange.end);
    } catch (e) {
      rec.handle.remove();
      throw e;
    }
    return rec.handle;
  }

  /**
   * A trap gate (emulator/native/trap-gate.c): UC_HOOK_CODE hooks over the code ranges around the
   * addresses it is given (GATE_CLUSTER_GAP), one native callback whose hash decides; the callback, for the addresses added to the returned set, reads registers of `block` and a window of
   * guest memory as the address's descriptor says, calls `cb`, then writes back the memory ranges,
   * block registers (those that changed) and RIP that `cb` asked for in the control block. RAX..R15
   * are registers `gprFirst`..`gprFirst`+15 of the block, 8 bytes each from `gprOffset`; `areaCap`
   * bytes of area buffer. Addresses
   * added or removed later take effect at once. Lives as long as the engine; the block must too.
   * Returns undefined when the gate cannot be built (no gcc): use hookCode per address then.
   */
  hookTrapGate(cb: () => void, block: RegBlock, gprFirst: number, gprOffset: number, areaCap: number): TrapGate | undefined {
    const api = loadTrapGate();
    if (!api) return undefined;
    const h = this.h();
    if (block.freed || !this.blocks.has(block)) throw new Error('hookTrapGate: the RegBlock is freed or belongs to another engine');
    if (gprOffset + 16 * 8 > block.size || gprFirst + 16 > block.regs.length) throw new RangeError(`hookTrapGate: GPRs at ${gprOffset} (register ${gprFirst}) do not fit the block`);
    for (let k = 0; k < 16; k++) {
      if (block.offsets[gprFirst + k] !== gprOffset + 8 * k || this.widthOf(block.regs[gprFirst + k]!, 'hookTrapGate') !== 8) throw new RangeError(`hookTrapGate: register ${gprFirst + k} of the block is not GPR ${k} at ${gprOffset + 8 * k}`);
    }
    const self = this;
    const ctl = koffi.alloc('uint8_t', GATE_CTL_BYTES) as Ptr;
    const area = koffi.alloc('uint8_t', areaCap) as Ptr;
    const ctlBuf = koffi.view(ctl, GATE_CTL_BYTES);
    const ctl32 = new Int32Array(ctlBuf);
    ctl32.fill(0);
    const js = koffi.register(() => {
      try {
        cb();
      } catch (e) {
        // Nothing half-done goes back to the engine.
        ctl32[GateWord.WRITE_COUNT] = 0;
        ctl32[GateWord.N_WRITES] = 0;
        ctl32[GateWord.WRITE_RIP] = 0;
        self.fail(e);
      }
    }, koffi.pointer(api.proto));
    const gate = api.create(js, ctl, block.ids, block.ptrs, block.buf, block.size, block.regs.length, gprOffset, gprFirst, area, areaCap);
    if (!gate) {
      koffi.unregister(js);
      koffi.free(ctl);
      koffi.free(area);
      throw new Error('xl_gate_new: out of memory, or libunicorn.so.2 not loaded');
    }
    const rec: GateRecord = { natives: [], gate, js, ctl, area, ctl32 };
    this.gates.push(rec);
    const widths = Uint8Array.from(block.regs, (r) => this.widthOf(r, 'hookTrapGate') | (WRITE_ORDER_DEPENDENT.has(r) ? GATE_WRITE_REST : 0));
    if (api.setWidths(gate, widths) !== 0) throw new Error('xl_gate_set_widths: out of memory or a slot outside the block');
    api.fpRegs(gate, X86Reg.XMM0, X86Reg.MXCSR, X86Reg.EFLAGS);
    // Code ranges with a hook calling the gate, sorted by start (disjoint); addresses not yet covered.
    const ranges: { begin: bigint; end: bigint }[] = [];
    let pending: bigint[] = [];
    const covered = (a: bigint): boolean => {
      let lo = 0, hi = ranges.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1, r = ranges[mid]!;
        if (a < r.begin) hi = mid - 1;
        else if (a > r.end) lo = mid + 1;
        else return true;
      }
      return false;
    };
    const hookRange = (begin: bigint, end: bigint): void => {
      const out: (number | bigint | null)[] = [null];
      const err = this.api.uc_hook_add(h, out, HookType.CODE, api.hook, gate as unknown as number, begin, end);
      if (err !== UcErr.OK) throw new UnicornError(err, 'uc_hook_add');
      rec.natives.push(out[0] as number | bigint);
      let i = ranges.length;
      while (i > 0 && ranges[i - 1]!.begin > begin) i--;
      ranges.splice(i, 0, { begin, end });
      // Blocks translated before the hook existed would never call it.
      this.dropTranslations(begin, end);
    };
    /** Hooks for the pending addresses: runs of them less than GATE_CLUSTER_GAP apart share one range. */
    const coverPending = (): void => {
      if (self.closed || pending.length === 0) return;
      const todo = [...new Set(pending)].filter((a) => !covered(a)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      pending = [];
      for (let i = 0; i < todo.length;) {
        let j = i;
        while (j + 1 < todo.length && todo[j + 1]! - todo[j]! < GATE_CLUSTER_GAP && !covered(todo[j + 1]!)) j++;
        hookRange(todo[i]!, todo[j]!);
        i = j + 1;
      }
    };
    rec.coverPending = coverPending;
    const cover = (address: bigint): void => {
      if (covered(address)) return;
      pending.push(address);
      // Found while running (a lazily discovered instruction): it must trap from now on.
      if (self.running) coverPending();
    };
    return {
      ctl32,
      ctl64: new BigUint64Array(ctlBuf),
      area: new Uint8Array(koffi.view(area, areaCap)),
      add(address: bigint): void {
        if (self.closed) return;
        if (api.add(gate, address) < 0) throw new Error(`xl_gate_add(0x${address.toString(16)}) failed`);
        cover(address);
      },
      remove(address: bigint): void {
        if (!self.closed) api.remove(gate, address);
      },
      has(address: bigint): boolean {
        return !self.closed && api.has(gate, address) === 1;
      },
      describe(address: bigint, d: GateDescriptor): void {
        if (!self.closed) api.describe(gate, address, d.readCount, d.gprMask, d.base, d.index, d.scaleLog2, d.seg, BigInt.asIntN(64, d.disp), d.pfFrom, d.pfTo);
      },
      observe(address, kind, mem): void {
        if (self.closed) return;
        const m = mem ?? { base: -1, index: -1, scaleLog2: 0, disp: 0n, addr32: false };
        if (api.observe(gate, address, kind, m.base, m.index, m.scaleLog2, BigInt.asIntN(64, m.disp), m.addr32 ? 1 : 0) < 0) throw new Error(`xl_gate_observe(0x${address.toString(16)}) failed`);
        cover(address);
      },
      describeFp(address, f, length): void {
        if (self.closed) return;
        api.fp(gate, address, f.shape, f.op, f.n, f.dst, f.srcKind, f.src, f.srcLen, f.align ? 1 : 0, f.imm, f.base, f.index, f.scaleLog2, f.seg, BigInt.asIntN(64, f.disp), length);
      },
      setFpReadable(ranges): void {
        if (self.closed) return;
        const pairs = new BigUint64Array(ranges.length * 2);
        ranges.forEach((r, k) => { pairs[2 * k] = r.start; pairs[2 * k + 1] = r.end; });
        if (api.fpReadable(gate, pairs, ranges.length) !== 0) throw new Error('xl_gate_fp_readable: out of memory');
      },
      bindXsave(table, store, im): void {
        if (!self.closed) api.xsBind(gate, table, store, im.ftag, im.fcs, im.fds, im.allCount, im.tagEmpty, im.changedX87Bits);
      },
      describeXsave(address, op, rexW, length): void {
        if (!self.closed) api.xsDescribe(gate, address, op, rexW ? 1 : 0, length);
      },
      bindVector(table, accept, store, im): void {
        if (!self.closed) api.vfBind(gate, table, accept, store, im.xmm0);
      },
      describeVector(address, bytes): boolean {
        return !self.closed && api.vfDescribe(gate, address, bytes, bytes.length) === 1;
      },
      vectorDone(): bigint {
        return self.closed ? 0n : BigInt(api.vfDone(gate));
      },
      setWritable(ranges): void {
        if (self.closed) return;
        const pairs = new BigUint64Array(ranges.length * 2);
        ranges.forEach((r, k) => { pairs[2 * k] = r.start; pairs[2 * k + 1] = r.end; });
        if (api.xsWritable(gate, pairs, ranges.length) !== 0) throw new Error('xl_gate_xs_writable: out of memory');
      },
      coverPending,
      setCompare(ranges): void {
        if (self.closed) return;
        const t = new Uint32Array(ranges.flatMap((r) => [r.offset, r.length, r.bit]));
        if (api.setCompare(gate, t, ranges.length, block.size) !== ranges.length) throw new RangeError('xl_gate_set_compare: a range is out of the block or its bit is not 0-31');
      },
    };
  }

  /**
   * `syscall` (UC_HOOK_INSN + UC_X86_INS_SYSCALL). Inside the callback RIP reads as the address of the
   * syscall instruction itself; execution continues after it.
   */
  hookInsnSyscall(cb: () => void): HookHandle {
    return this.addHook('syscall', HookType.INSN, cb, 1, 0, X86Insn.SYSCALL).handle;
  }

  /** `cpuid` (UC_HOOK_INSN + UC_X86_INS_CPUID): return true after setting RAX..RDX to skip unicorn's CPUID. */
  hookInsnCpuid(cb: () => boolean): HookHandle {
    return this.addHook('cpuid', HookType.INSN, cb, 1, 0, X86Insn.CPUID).handle;
  }

  /**
   * Reads and writes (UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE) whose first byte is in [begin, end],
   * after the access (uc_cb_hookmem_t; its void return shares the event trampoline, whose bool
   * unicorn ignores). Translated blocks already call memory hooks (the instruction counter's own
   * hook exists from the start), so no translation has to be dropped.
   */
  hookMem(types: number, begin: Addr, end: Addr, cb: (type: MemType, address: bigint, size: number, value: bigint) => void): HookHandle {
    return this.addHook('memInvalid', types, (type: MemType, address: bigint, size: number, value: bigint) => { cb(type, address, size, value); return true; }, begin, end).handle;
  }

  /** CPU exceptions and `int n` (UC_HOOK_INTR). */
  hookIntr(cb: (intno: number) => void): HookHandle {
    return this.addHook('intr', HookType.INTR, cb, 1, 0).handle;
  }

  /**
   * Unmapped or protection-violating reads, writes and fetches (UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT).
   * Return true to retry the access (after mapping / re-protecting it), false to fail emulation.
   */
  hookMemInvalid(cb: (type: MemType, address: bigint, size: number, value: bigint) => boolean): HookHandle {
    return this.addHook('memInvalid', HookType.MEM_INVALID, cb, 1, 0).handle;
  }

  /**
   * Instructions unicorn cannot decode or execute (UC_HOOK_INSN_INVALID); RIP is at the instruction.
   * Return false to end emulation with UC_ERR_INSN_INVALID. Returning true (after moving RIP) does not
   * resume in unicorn 2.0.1: uc_emu_start returns UC_ERR_OK at that RIP and the caller calls emuStart
   * again from there (unicorn-notes.md: about 5 us per trap this way, against under 1 us for a hookCode on
   * the instruction's address).
   */
  hookInsnInvalid(cb: () => boolean): HookHandle {
    return this.addHook('insnInvalid', HookType.INSN_INVALID, cb, 1, 0).handle;
  }
}

/** Selects the CPU model of a freshly opened engine (UC_CTL_CPU_MODEL); see Unicorn.open({ cpuModel }). */
export function setCpuModel(uc: Unicorn, model: X86CpuModel): void {
  uc.setCpuModel(model);
}

/**
 * Sets the CR0/CR4 bits an OS sets before using SSE: CR0.MP and CR0.NE set, CR0.EM and CR0.TS cleared
 * (CR0.PE/ET and every other bit kept; CR0.PG is never set, unicorn 2.0.1 runs 64-bit guests without
 * paging), CR4.OSFXSR and CR4.OSXMMEXCPT set, and CR4.OSXSAVE when `osxsave` is true.
 *
 * What unicorn 2.0.1 does with them (measured): it stores and reads back these bits but does not gate
 * anything on them. In 64-bit mode SSE already runs right after uc_open (CR0 = 0x11, CR4 = 0) and still
 * runs with CR4 = 0 or CR0.EM/CR0.TS set (no #UD/#NM). CR4.OSXSAVE reads back, yet XGETBV and XSAVE
 * stay #UD and CPUID.1:ECX reports neither XSAVE nor OSXSAVE with any CPU model, so the model must
 * own the XSAVE family. Returns the values written.
 */
export function enableSse(uc: Unicorn, options: { osxsave?: boolean } = {}): { cr0: bigint; cr4: bigint } {
  const cr0 = (uc.regRead(X86Reg.CR0) & ~(CR0.EM | CR0.TS)) | CR0.MP | CR0.NE;
  let cr4 = uc.regRead(X86Reg.CR4) | CR4.OSFXSR | CR4.OSXMMEXCPT;
  if (options.osxsave) cr4 |= CR4.OSXSAVE;
  uc.regWrite(X86Reg.CR0, cr0);
  uc.regWrite(X86Reg.CR4, cr4);
  return { cr0, cr4 };
}

/** QEMU's "no exception in flight" value of CPUX86State.old_exception (x86_cpu_reset sets -1). */
const NO_EXCEPTION_IN_FLIGHT = -1;
/** Vector numbers the measurement raises and expects (SDM Vol. 3A Table 6-1). */
const VECTOR_DE = 0, VECTOR_DF = 8;
/** `div ecx` (F7 /6, ModR/M F1): #DE with ECX = 0. */
const DIV_ECX = [0xf7, 0xf1];

/** How endExceptionDelivery clears unicorn's exception in flight, as measured on this library. */
export enum ExceptionInFlightReset {
  /** old_exception found at a byte offset of a saved uc_context, cleared through save/restore. */
  ContextOffset = 'context-offset',
  /** A second #DE is delivered as #DE without help (a unicorn that clears it itself). */
  NotNeeded = 'not-needed',
  /** The experiment found no single place: the second contributory exception of a process becomes #DF. */
  Unavailable = 'unavailable',
}

export type ExceptionInFlight =
  | { kind: ExceptionInFlightReset.ContextOffset; offset: number }
  | { kind: ExceptionInFlightReset.NotNeeded }
  | { kind: ExceptionInFlightReset.Unavailable; why: string };

let exceptionInFlightMeasured: ExceptionInFlight | undefined;

/** The measurement of `measureExceptionInFlight`, made on first use and kept for the process. */
export function exceptionInFlight(): ExceptionInFlight {
  if (exceptionInFlightMeasured === undefined) {
    exceptionInFlightMeasured = measureExceptionInFlight();
    if (exceptionInFlightMeasured.kind === ExceptionInFlightReset.Unavailable) {
      process.stderr.write(`xstate-lab: warning: ${LIBUNICORN_SONAME}: the exception in flight cannot be cleared (${exceptionInFlightMeasured.why}); a second #DE, #GP, #SS, #NP or #TS in one process is delivered as a double fault (SIGSEGV)\n`);
    }
  }
  return exceptionInFlightMeasured;
}

/**
 * Finds where a saved uc_context holds unicorn's exception in flight, on a scratch engine, and
 * proves it by behaviour: a fresh engine holds -1 there; after a #DE taken by an interrupt hook, 0
 * (its vector); after a second #DE, 8 (the #DF unicorn reports instead); with -1 written back at
 * that offset and restored, a third #DE is reported as #DE. Exactly one offset must pass every step.
 */
export function measureExceptionInFlight(): ExceptionInFlight {
  const CODE = 0x10000n, PAGE = 0x1000;
  const uc = Unicorn.open();
  try {
    uc.memMap(CODE, PAGE);
    uc.memWrite(CODE, Uint8Array.from(DIV_ECX));
    const seen: number[] = [];
    uc.hookIntr((intno) => { seen.push(intno); uc.emuStop(); });
    const size = uc.contextSize();
    const ctx = uc.contextSave();
    const bytes = (): DataView => new DataView(koffi.view(ctx.ptr, size));
    const snapshot = (): Int32Array => {
      uc.contextSave(ctx);
      const v = bytes(), out = new Int32Array(size >> 2);
      for (let i = 0; i < out.length; i++) out[i] = v.getInt32(i * 4, true);
      return out;
    };
    const divide = (): number | undefined => {
      seen.length = 0;
      uc.regWrite(X86Reg.RCX, 0n);
      uc.emuStart(CODE, CODE + BigInt(DIV_ECX.length));
      return seen[0];
    };
    const fresh = snapshot();
    if (divide() !== VECTOR_DE) return { kind: ExceptionInFlightReset.Unavailable, why: 'a first division by zero was not reported as #DE' };
    const first = snapshot();
    const second = divide();
    if (second === VECTOR_DE) return { kind: ExceptionInFlightReset.NotNeeded };
    if (second !== VECTOR_DF) return { kind: ExceptionInFlightReset.Unavailable, why: `a second division by zero was reported as vector ${second}` };
    const doubled = snapshot();
    const candidates: number[] = [];
    for (let i = 0; i < fresh.length; i++) {
      if (fresh[i] === NO_EXCEPTION_IN_FLIGHT && first[i] === VECTOR_DE && doubled[i] === VECTOR_DF) candidates.push(i * 4);
    }
    if (candidates.length !== 1) return { kind: ExceptionInFlightReset.Unavailable, why: `${candidates.length} places in a saved context behave as the exception in flight` };
    const offset = candidates[0]!;
    uc.contextSave(ctx);
    bytes().setInt32(offset, NO_EXCEPTION_IN_FLIGHT, true);
    uc.contextRestore(ctx);
    const third = divide();
    if (third !== VECTOR_DE) return { kind: ExceptionInFlightReset.Unavailable, why: `with the place at offset ${offset} cleared, a division by zero was reported as vector ${third}` };
    return { kind: ExceptionInFlightReset.ContextOffset, offset };
  } finally {
    uc.close();
  }
}
