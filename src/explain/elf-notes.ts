/**
 * A small reader (and, for tests and the sandbox, writer) of ELF64 core-file notes: the PT_NOTE
 * segments of a little-endian x86-64 core, as fs/binfmt_elf.c writes them (System V gABI
 * "Note Section": namesz, descsz, type, name and descriptor each padded to 4 bytes).
 */
import { InputError } from '../errors.js';

/** e_ident (gABI): magic, ELFCLASS64 = 2, ELFDATA2LSB = 1. */
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
/** e_type ET_CORE, e_machine EM_X86_64, p_type PT_NOTE (gABI, x86-64 psABI). */
export const ET_CORE = 4;
export const EM_X86_64 = 62;
const PT_NOTE = 4;
/** sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr). */
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** Note fields are 4-byte aligned in Linux cores (binfmt_elf.c notesize). */
const NOTE_ALIGN = 4;

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
  /** File offset of the descriptor. */
  offset: number;
}

const align = (n: number): number => Math.ceil(n / NOTE_ALIGN) * NOTE_ALIGN;

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && ELF_MAGIC.every((m, i) => b[i] === m);
}

export function readCoreNotes(b: Uint8Array, file: string): { type: number; machine: number; notes: ElfNote[] } {
  if (!isElf(b)) throw new InputError(file, 'byte 0', 'not an ELF file');
  if (b.length < EHDR_SIZE) throw new InputError(file, 'ELF header', `file of ${b.length} bytes is shorter than an ELF64 header`);
  if (b[4] !== ELFCLASS64 || b[5] !== ELFDATA2LSB) throw new InputError(file, 'e_ident', 'only little-endian ELF64 cores are read');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = v.getUint16(16, true), machine = v.getUint16(18, true);
  const phoff = Number(v.getBigUint64(32, true)), phentsize = v.getUint16(54, true), phnum = v.getUint16(56, true);
  if (phnum && phentsize !== PHDR_SIZE) throw new InputError(file, 'e_phentsize', `expected ${PHDR_SIZE}, got ${phentsize}`);
  if (phoff + phnum * PHDR_SIZE > b.length) throw new InputError(file, 'e_phoff', 'program headers run past the end of the file');
  const notes: ElfNote[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    if (v.getUint32(ph, true) !== PT_NOTE) continue;
    const off = Number(v.getBigUint64(ph + 8, true)), size = Number(v.getBigUint64(ph + 32, true));
    if (off + size > b.length) throw new InputError(file, `program header ${i}`, `PT_NOTE at ${off} (+${size}) runs past the end of the file (${b.length} bytes): truncated core?`);
    let p = off;
    while (p + 12 <= off + size) {
      const namesz = v.getUint32(p, true), descsz = v.getUint32(p + 4, true), ntype = v.getUint32(p + 8, true);
      const nameAt = p + 12, descAt = nameAt + align(namesz);
      if (descAt + descsz > off + size) throw new InputError(file, `note at ${p}`, `descriptor of ${descsz} bytes runs past its PT_NOTE segment`);
      const name = new TextDecoder().decode(b.subarray(nameAt, nameAt + namesz)).replace(/\0+$/, '');
      notes.push({ name, type: ntype, desc: b.subarray(descAt, descAt + descsz), offset: descAt });
      p = descAt + align(descsz);
    }
  }
  return { type, machine, notes };
}

/** A minimal ET_CORE file with one PT_NOTE segment holding `notes` (no memory segments). */
export function writeNotesCore(notes: readonly { name: string; type: number; desc: Uint8Array }[]): Uint8Array {
  const body: number[] = [];
  const push32 = (n: number): void => { body.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff); };
  const pad = (): void => { while (body.length % NOTE_ALIGN) body.push(0); };
  for (const n of notes) {
    const name = new TextEncoder().encode(n.name + '\0');
    push32(name.length); push32(n.desc.length); push32(n.type);
    body.push(...name); pad();
    for (const x of n.desc) body.push(x);
    pad();
  }
  const out = new Uint8Array(EHDR_SIZE + PHDR_SIZE + body.length);
  const v = new DataView(out.buffer);
  out.set(ELF_MAGIC, 0);
  out[4] = ELFCLASS64; out[5] = ELFDATA2LSB; out[6] = 1; // EV_CURRENT
  v.setUint16(16, ET_CORE, true); v.setUint16(18, EM_X86_64, true); v.setUint32(20, 1, true);
  v.setBigUint64(32, BigInt(EHDR_SIZE), true);
  v.setUint16(52, EHDR_SIZE, true); v.setUint16(54, PHDR_SIZE, true); v.setUint16(56, 1, true);
  const ph = EHDR_SIZE;
  v.setUint32(ph, PT_NOTE, true);
  v.setBigUint64(ph + 8, BigInt(EHDR_SIZE + PHDR_SIZE), true);
  v.setBigUint64(ph + 32, BigInt(body.length), true);
  v.setBigUint64(ph + 40, BigInt(body.length), true);
  v.setBigUint64(ph + 48, BigInt(NOTE_ALIGN), true);
  out.set(body, EHDR_SIZE + PHDR_SIZE);
  return out;
}
