/**
 * Loading a static AArch64 ELF executable into a fresh address space, after fs/binfmt_elf.c
 * load_elf_binary() and create_elf_tables(): PT_LOAD segments page-aligned with their
 * permissions, bss zeroed, brk right after the bss, and the initial stack (argc, argv, envp,
 * auxv, AT_RANDOM bytes, strings).
 *
 * Named assumptions (no randomisation, like personality(ADDR_NO_RANDOMIZE)):
 * - STACK_TOP 0xfffffffff000 (arm64 48-bit VA: TASK_SIZE_64 = 1 << 48, minus a page), 8 MiB stack;
 * - brk starts at PAGE_ALIGN(end of bss), mmap areas are handed out downwards from MMAP_BASE;
 * - AT_HWCAP = HWCAP_FP | HWCAP_ASIMD only (unicorn's Cortex-A72 has both; without HWCAP_CPUID
 *   glibc does not read MIDR_EL1), no vDSO (glibc falls back to system calls), AT_RANDOM bytes
 *   derived from the program path (deterministic, not random).
 * Static non-PIE executables only (ET_EXEC); a dynamic or PIE program is refused with its reason.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Prot, type UnicornArm64 } from '../../../emulator/unicorn-arm64.js';
import { AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP, AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_UID } from '../../loader/elf.js';
import { InputError } from '../../errors.js';

export const PAGE = 0x1000n;
export const STACK_TOP = 0xfffffffff000n;
export const STACK_SIZE = 8 * 1024 * 1024;
export const MMAP_BASE = 0xfffff7000000n;
/** include/uapi/linux/elf-em.h EM_AARCH64. */
const EM_AARCH64 = 183;
const ET_EXEC = 2;
const PT_LOAD = 1;
const PT_INTERP = 3;
/** arch/arm64/include/uapi/asm/hwcap.h HWCAP_FP | HWCAP_ASIMD. */
export const MODEL_HWCAP = (1n << 0n) | (1n << 1n);
/** USER_HZ on arm64 (AT_CLKTCK). */
const USER_HZ = 100n;

export const pageDown = (a: bigint): bigint => a & ~(PAGE - 1n);
export const pageUp = (a: bigint): bigint => (a + PAGE - 1n) & ~(PAGE - 1n);

export interface LoadedImage {
  entry: bigint;
  sp: bigint;
  brk: bigint;
}

/** PF_X/PF_W/PF_R to unicorn protections. */
const protOf = (flags: number): number => ((flags & 4) ? Prot.READ : 0) | ((flags & 2) ? Prot.WRITE : 0) | ((flags & 1) ? Prot.EXEC : 0);

export function loadElf(uc: UnicornArm64, path: string, argv: string[], envp: string[] = []): LoadedImage {
  let f: Buffer;
  try { f = readFileSync(path); } catch (e) { throw new InputError(path, undefined, `cannot read: ${(e as Error).message}`); }
  const bad = (why: string): never => { throw new InputError(path, undefined, why); };
  if (f.length < 64 || f.readUInt32BE(0) !== 0x7f454c46) bad('not an ELF file');
  if (f[4] !== 2 || f[5] !== 1) bad('not a 64-bit little-endian ELF file');
  const machine = f.readUInt16LE(18);
  if (machine !== EM_AARCH64) bad(`e_machine ${machine}: not an AArch64 program (EM_AARCH64 = ${EM_AARCH64})`);
  if (f.readUInt16LE(16) !== ET_EXEC) bad('not a static non-PIE executable (ET_EXEC): build it with aarch64-linux-gnu-gcc -static');
  const entry = f.readBigUInt64LE(24);
  const phoff = Number(f.readBigUInt64LE(32));
  const phentsize = f.readUInt16LE(54);
  const phnum = f.readUInt16LE(56);
  let end = 0n;
  let phdrAddr: bigint | undefined;
  const mapped: { lo: bigint; hi: bigint }[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 56 > f.length) bad(`program header ${i} lies outside the file`);
    const type = f.readUInt32LE(o);
    if (type === PT_INTERP) bad('has PT_INTERP (dynamically linked): build it with -static');
    if (type !== PT_LOAD) continue;
    const flags = f.readUInt32LE(o + 4);
    const off = Number(f.readBigUInt64LE(o + 8));
    const vaddr = f.readBigUInt64LE(o + 16);
    const filesz = Number(f.readBigUInt64LE(o + 32));
    const memsz = f.readBigUInt64LE(o + 40);
    if (off + filesz > f.length) bad(`PT_LOAD ${i} reaches beyond the end of the file`);
    const lo = pageDown(vaddr);
    const hi = pageUp(vaddr + memsz);
    // Overlapping pages of neighbouring segments: map only the part not mapped yet.
    let mlo = lo;
    for (const m of mapped) if (m.hi > mlo && m.lo <= mlo) mlo = m.hi;
    if (hi > mlo) uc.memMap(mlo, Number(hi - mlo), Prot.ALL);
    mapped.push({ lo, hi });
    uc.memWrite(vaddr, f.subarray(off, off + filesz));
    if (off <= phoff && phoff < off + filesz) phdrAddr = vaddr + BigInt(phoff - off);
    if (vaddr + memsz > end) end = vaddr + memsz;
    (mapped[mapped.length - 1] as { prot?: number }).prot = protOf(flags);
  }
  if (!mapped.length) bad('no PT_LOAD segment');
  for (const m of mapped) uc.memProtect(m.lo, Number(m.hi - m.lo), (m as { prot?: number }).prot ?? Prot.ALL);
  const brk = pageUp(end);

  // The stack: strings at the top, then AT_RANDOM bytes, then auxv, envp, argv, argc (16-byte aligned).
  uc.memMap(STACK_TOP - BigInt(STACK_SIZE), STACK_SIZE, Prot.READ | Prot.WRITE);
  let p = STACK_TOP;
  const putStr = (s: string): bigint => {
    const b = Buffer.from(`${s}\0`, 'utf8');
    p -= BigInt(b.length);
    uc.memWrite(p, b);
    return p;
  };
  const execfn = putStr(path);
  const platform = putStr('aarch64');
  const envPtrs = envp.map(putStr);
  const argPtrs = argv.map(putStr);
  p &= ~15n;
  p -= 16n;
  const random = p;
  uc.memWrite(random, createHash('sha256').update(`AT_RANDOM ${path}`).digest().subarray(0, 16));
  const auxv: [number, bigint][] = [
    [AT_PHDR, phdrAddr ?? 0n], [AT_PHENT, BigInt(phentsize)], [AT_PHNUM, BigInt(phnum)], [AT_PAGESZ, PAGE],
    [AT_FLAGS, 0n], [AT_ENTRY, entry], [AT_UID, 0n], [AT_EUID, 0n], [AT_GID, 0n], [AT_EGID, 0n],
    [AT_HWCAP, MODEL_HWCAP], [AT_CLKTCK, USER_HZ], [AT_PLATFORM, platform], [AT_SECURE, 0n],
    [AT_RANDOM, random], [AT_EXECFN, execfn], [AT_NULL, 0n],
  ];
  const words: bigint[] = [BigInt(argv.length), ...argPtrs, 0n, ...envPtrs, 0n, ...auxv.flatMap(([k, v]) => [BigInt(k), v])];
  p -= BigInt(words.length * 8);
  p &= ~15n;
  const buf = Buffer.alloc(words.length * 8);
  words.forEach((w, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, w), i * 8));
  uc.memWrite(p, buf);
  return { entry, sp: p, brk };
}
