/**
 * `exec --trace` lines for system calls and signals, in strace's notation (strace(1): `name(args)
 * = result`, `--- SIGSEGV {si_signo=..., si_code=..., si_addr=...} ---`, `+++ exited with N +++`),
 * so a trace reads like `strace -f`: descriptors and sizes in decimal, pointers in hex, strings
 * quoted and cut at 32 bytes, flags and requests by name for the calls the model implements, errors
 * as `-1 ENAME`. Deviations from strace, named: errors carry no strerror text; arguments of calls
 * without a decoder are shown as three hex words; a failed `read` shows its buffer's address.
 * Deterministic: only guest memory and the call's own values.
 */
import { Errno, Sig, Sys } from './abi.js';
import type { SigInfo } from './signal-frame.js';
import { syscallName } from './syscall-table.js';

/** What a decoder may read from the guest: a C string (bounded), bytes. */
export interface TraceMemory {
  cString(addr: bigint, max: number): string | undefined;
  bytes(addr: bigint, len: number): Uint8Array | undefined;
}

/** strace's default string limit (-s 32). */
const STRING_LIMIT = 32;
/** AT_FDCWD (include/uapi/linux/fcntl.h). */
const AT_FDCWD = -100;

const i32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const hex = (v: bigint): string => (v === 0n ? 'NULL' : `0x${BigInt.asUintN(64, v).toString(16)}`);
const dec = (v: bigint): string => i64(v).toString();

/** A C-style quoted string as strace prints it (escapes, `...` when cut). */
function quote(bytes: Uint8Array, cut: boolean): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\${b.toString(8)}`;
  }
  return `${s}"${cut ? '...' : ''}`;
}

function str(mem: TraceMemory, addr: bigint): string {
  const s = mem.cString(addr, STRING_LIMIT + 1);
  if (s === undefined) return hex(addr);
  const b = new TextEncoder().encode(s);
  return quote(b.subarray(0, STRING_LIMIT), b.length > STRING_LIMIT);
}

function buf(mem: TraceMemory, addr: bigint, len: bigint): string {
  const n = Number(len > BigInt(STRING_LIMIT) ? BigInt(STRING_LIMIT) : len < 0n ? 0n : len);
  const b = mem.bytes(addr, n);
  return b === undefined ? hex(addr) : quote(b, len > BigInt(STRING_LIMIT));
}

/** A flag word by name: known bits joined with |, the rest in hex. */
function flags(v: number, names: readonly (readonly [number, string])[], zero?: string): string {
  if (v === 0 && zero) return zero;
  const parts: string[] = [];
  let rest = v >>> 0;
  for (const [bit, name] of names) if (bit !== 0 && (rest & bit) === bit) { parts.push(name); rest = (rest & ~bit) >>> 0; }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|') || '0';
}

/** Names from the uapi headers (asm-generic/fcntl.h, mman-common.h, asm/prctl.h, ptrace.h, ioctls.h). */
const O_FLAGS = [[0o100, 'O_CREAT'], [0o200, 'O_EXCL'], [0o1000, 'O_TRUNC'], [0o2000, 'O_APPEND'], [0o4000, 'O_NONBLOCK'], [0o200000, 'O_DIRECTORY'], [0o2000000, 'O_CLOEXEC']] as const;
const openFlags = (v: number): string => [['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][v & 3], ...(v & ~3 ? [flags(v & ~3, O_FLAGS)] : [])].join('|');
const PROT = [[1, 'PROT_READ'], [2, 'PROT_WRITE'], [4, 'PROT_EXEC']] as const;
const MAP = [[1, 'MAP_SHARED'], [2, 'MAP_PRIVATE'], [0x10, 'MAP_FIXED'], [0x20, 'MAP_ANONYMOUS'], [0x100, 'MAP_GROWSDOWN'], [0x4000, 'MAP_NORESERVE'], [0x8000, 'MAP_POPULATE'], [0x20000, 'MAP_STACK'], [0x100000, 'MAP_FIXED_NOREPLACE']] as const;
const ARCH_PRCTL: Record<number, string> = { 0x1001: 'ARCH_SET_GS', 0x1002: 'ARCH_SET_FS', 0x1003: 'ARCH_GET_FS', 0x1004: 'ARCH_GET_GS', 0x1021: 'ARCH_GET_XCOMP_SUPP', 0x1022: 'ARCH_GET_XCOMP_PERM', 0x1023: 'ARCH_REQ_XCOMP_PERM', 0x1024: 'ARCH_GET_XCOMP_GUEST_PERM', 0x1025: 'ARCH_REQ_XCOMP_GUEST_PERM' };
const PTRACE: Record<number, string> = { 0: 'PTRACE_TRACEME', 1: 'PTRACE_PEEKTEXT', 2: 'PTRACE_PEEKDATA', 4: 'PTRACE_POKETEXT', 5: 'PTRACE_POKEDATA', 7: 'PTRACE_CONT', 8: 'PTRACE_KILL', 9: 'PTRACE_SINGLESTEP', 12: 'PTRACE_GETREGS', 13: 'PTRACE_SETREGS', 14: 'PTRACE_GETFPREGS', 15: 'PTRACE_SETFPREGS', 16: 'PTRACE_ATTACH', 17: 'PTRACE_DETACH', 24: 'PTRACE_SYSCALL', 0x4200: 'PTRACE_SETOPTIONS', 0x4202: 'PTRACE_GETSIGINFO', 0x4204: 'PTRACE_GETREGSET', 0x4205: 'PTRACE_SETREGSET', 0x4206: 'PTRACE_SEIZE', 0x4207: 'PTRACE_INTERRUPT',
  3: 'PTRACE_PEEKUSER', 6: 'PTRACE_POKEUSER', 31: 'PTRACE_SYSEMU', 32: 'PTRACE_SYSEMU_SINGLESTEP', 0x4201: 'PTRACE_GETEVENTMSG', 0x4203: 'PTRACE_SETSIGINFO', 0x4208: 'PTRACE_LISTEN', 0x420e: 'PTRACE_GET_SYSCALL_INFO', 0x4212: 'PTRACE_SET_SYSCALL_INFO' };
const IOCTL: Record<number, string> = { 0x5401: 'TCGETS', 0x5413: 'TIOCGWINSZ', 0x541b: 'FIONREAD', 0xae00: 'KVM_GET_API_VERSION', 0xae01: 'KVM_CREATE_VM', 0xae03: 'KVM_CHECK_EXTENSION', 0xae04: 'KVM_GET_VCPU_MMAP_SIZE', 0xae41: 'KVM_CREATE_VCPU' };
const NT: Record<number, string> = { 1: 'NT_PRSTATUS', 2: 'NT_PRFPREG', 0x202: 'NT_X86_XSTATE' };
const SIG_HOW = ['SIG_BLOCK', 'SIG_UNBLOCK', 'SIG_SETMASK'];

export const signalName = (n: number): string => (Sig[n] ? `SIG${Sig[n]!.replace(/^SIG/, '')}` : `${n}`);
const fd = (v: bigint): string => { const n = i32(v); return n === AT_FDCWD ? 'AT_FDCWD' : String(n); };

/** The argument list of a call, decoded where the model knows its arguments. */
function args(nr: number, a: readonly bigint[], mem: TraceMemory, result: bigint | undefined): string {
  const [a0, a1, a2, a3, a4, a5] = a as [bigint, bigint, bigint, bigint, bigint, bigint];
  switch (nr) {
    case Sys.read: return `${fd(a0)}, ${result !== undefined && i64(result) >= 0n ? buf(mem, a1, result) : hex(a1)}, ${dec(a2)}`;
    case Sys.write: return `${fd(a0)}, ${buf(mem, a1, a2)}, ${dec(a2)}`;
    case Sys.close: case Sys.dup: return fd(a0);
    case Sys.dup2: return `${fd(a0)}, ${fd(a1)}`;
    case Sys.open: return `${str(mem, a0)}, ${openFlags(i32(a1))}`;
    case Sys.openat: return `${fd(a0)}, ${str(mem, a1)}, ${openFlags(i32(a2))}`;
    case Sys.fstat: return `${fd(a0)}, ${hex(a1)}`;
    case Sys.lseek: return `${fd(a0)}, ${dec(a1)}, ${['SEEK_SET', 'SEEK_CUR', 'SEEK_END'][i32(a2)] ?? dec(a2)}`;
    case Sys.mmap: return `${hex(a0)}, ${dec(a1)}, ${flags(i32(a2), PROT, 'PROT_NONE')}, ${flags(i32(a3), MAP)}, ${fd(a4)}, ${hex(a5)}`;
    case Sys.mprotect: return `${hex(a0)}, ${dec(a1)}, ${flags(i32(a2), PROT, 'PROT_NONE')}`;
    case Sys.munmap: return `${hex(a0)}, ${dec(a1)}`;
    case Sys.brk: return hex(a0);
    case Sys.rt_sigaction: return `${signalName(i32(a0))}, ${hex(a1)}, ${hex(a2)}, ${dec(a3)}`;
    case Sys.rt_sigprocmask: return `${SIG_HOW[i32(a0)] ?? dec(a0)}, ${hex(a1)}, ${hex(a2)}, ${dec(a3)}`;
    case Sys.ioctl: return `${fd(a0)}, ${IOCTL[Number(a1 & 0xffffffffn)] ?? hex(a1)}, ${hex(a2)}`;
    case Sys.kill: return `${i32(a0)}, ${signalName(i32(a1))}`;
    case Sys.tgkill: return `${i32(a0)}, ${i32(a1)}, ${signalName(i32(a2))}`;
    case Sys.rt_sigqueueinfo: return `${i32(a0)}, ${signalName(i32(a1))}, ${hex(a2)}`;
    case Sys.rt_tgsigqueueinfo: return `${i32(a0)}, ${i32(a1)}, ${signalName(i32(a2))}, ${hex(a3)}`;
    case Sys.signalfd4: return `${i32(a0)}, ${hex(a1)}, ${dec(a2)}, ${flags(i32(a3), O_FLAGS)}`;
    case Sys.exit: case Sys.exit_group: return String(i32(a0));
    case Sys.arch_prctl: return `${ARCH_PRCTL[i32(a0)] ?? hex(a0)}, ${hex(a1)}`;
    case Sys.ptrace: {
      const req = i32(a0);
      const data = req === 0x4204 || req === 0x4205 ? `${NT[Number(a2)] ?? hex(a2)}, ${hex(a3)}` : `${hex(a2)}, ${hex(a3)}`;
      return `${PTRACE[req] ?? hex(a0)}, ${i32(a1)}, ${data}`;
    }
    case Sys.access: return `${str(mem, a0)}, ${accessMode(i32(a1))}`;
    case Sys.faccessat: return `${fd(a0)}, ${str(mem, a1)}, ${accessMode(i32(a2))}`;
    case Sys.faccessat2: return `${fd(a0)}, ${str(mem, a1)}, ${accessMode(i32(a2))}, ${flags(i32(a3), AT_FLAGS)}`;
    // The link's target as filled in, result bytes long (strace prints it without a NUL).
    case Sys.readlink: return `${str(mem, a0)}, ${result !== undefined && i64(result) >= 0n ? buf(mem, a1, result) : hex(a1)}, ${dec(a2)}`;
    case Sys.readlinkat: return `${fd(a0)}, ${str(mem, a1)}, ${result !== undefined && i64(result) >= 0n ? buf(mem, a2, result) : hex(a2)}, ${dec(a3)}`;
    case Sys.getdents64: return `${fd(a0)}, ${hex(a1)}${result !== undefined && i64(result) > 0n ? ` /* ${direntCount(mem, a1, result)} entries */` : ''}, ${dec(a2)}`;
    case Sys.modify_ldt: {
      const func = i32(a0);
      const desc = (func === 1 || func === 0x11) && a2 === BigInt(USER_DESC_BYTES) ? userDesc(mem, a1) : undefined;
      return `${func}, ${desc ?? hex(a1)}, ${dec(a2)}`;
    }
    default: return `${hex(a0)}, ${hex(a1)}, ${hex(a2)}`;
  }
}

/** access modes (include/uapi/linux/fcntl.h... unistd.h F_OK, R_OK, W_OK, X_OK) and AT_ flags of faccessat2. */
const ACCESS = [[4, 'R_OK'], [2, 'W_OK'], [1, 'X_OK']] as const;
const accessMode = (v: number): string => flags(v, ACCESS, 'F_OK');
const AT_FLAGS = [[0x100, 'AT_SYMLINK_NOFOLLOW'], [0x200, 'AT_EACCESS'], [0x1000, 'AT_EMPTY_PATH']] as const;

/** The number of linux_dirent64 records in `len` bytes (each says its d_reclen at offset 16). */
function direntCount(mem: TraceMemory, addr: bigint, len: bigint): string {
  const b = mem.bytes(addr, Number(len));
  if (!b) return '?';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let n = 0;
  for (let off = 0; off + 18 <= b.length; n++) { const r = v.getUint16(off + 16, true); if (!r) break; off += r; }
  return String(n);
}

/** sizeof(struct user_desc) (arch/x86/include/uapi/asm/ldt.h). */
const USER_DESC_BYTES = 16;
/** struct user_desc as strace prints it: every field by name. */
function userDesc(mem: TraceMemory, addr: bigint): string | undefined {
  const b = mem.bytes(addr, USER_DESC_BYTES);
  if (!b) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const f = v.getUint32(12, true);
  return `{entry_number=${v.getUint32(0, true)}, base_addr=0x${v.getUint32(4, true).toString(16)}, limit=0x${v.getUint32(8, true).toString(16)}, seg_32bit=${f & 1}, contents=${(f >> 1) & 3}, read_exec_only=${(f >> 3) & 1}, limit_in_pages=${(f >> 4) & 1}, seg_not_present=${(f >> 5) & 1}, useable=${(f >> 6) & 1}}`;
}

/** The result as strace shows it: -1 ENAME for an error, hex for addresses, decimal otherwise. */
function resultOf(nr: number, r: bigint | 'stop'): string {
  if (r === 'stop') return '?';
  const v = i64(r);
  if (v < 0n && v >= -4095n) return `-1 ${Errno[Number(-v)] ?? `E${-v}`}`;
  return nr === Sys.mmap || nr === Sys.brk ? hex(r) : v.toString();
}

/** One system call: `name(args) = result` (`= ?` for one that does not return yet). */
export function straceSyscall(nr: number, a: readonly bigint[], r: bigint | 'stop', mem: TraceMemory): string {
  const name = syscallName(nr) ?? `syscall_${nr}`;
  return `${name}(${args(nr, a, mem, r === 'stop' ? undefined : r)}) = ${resultOf(nr, r)}`;
}

/** A signal delivered to a handler or acted on: `--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x10} ---`. */
export function straceSignal(info: SigInfo): string {
  const f = [`si_signo=${signalName(info.signo)}`, `si_code=${info.code}`];
  if (info.pid !== undefined) f.push(`si_pid=${info.pid}`, `si_uid=${info.uid ?? 0}`);
  if (info.addr !== undefined) f.push(`si_addr=${hex(info.addr)}`);
  return `--- ${signalName(info.signo)} {${f.join(', ')}} ---`;
}

/** The end of a process: `+++ exited with N +++` or `+++ killed by SIGSEGV +++`. */
export function straceExit(exit: { code: number } | { signal: number }): string {
  return 'code' in exit ? `+++ exited with ${exit.code} +++` : `+++ killed by ${signalName(exit.signal)} +++`;
}
