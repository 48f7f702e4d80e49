/**
 * NT_X86_XSAVE_LAYOUT (0x205), the core-file note Linux 6.12+ writes beside NT_X86_XSTATE:
 * one packed `struct x86_xfeat_component { u32 type, size, offset, flags; }` per extended user
 * feature of fpu_user_cfg.max_features, in bit order (include/uapi/asm/elf.h; behaviour as
 * summarized in ../shared/reference/linux-fpu-uabi.md §7.2).
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { maskBits } from '../../emulator/xfeatures.js';
import { InputError } from '../errors.js';

/** Note type (include/uapi/linux/elf.h). */
export const NT_X86_XSAVE_LAYOUT = 0x205;
/** sizeof(struct x86_xfeat_component). */
export const XFEAT_COMPONENT_BYTES = 16;
/** FP and SSE live in the legacy region and are not listed (xstate.c walks extended features only). */
const FIRST_EXTENDED = 2;

export interface LayoutRecord {
  type: number;
  size: number;
  offset: number;
  flags: number;
}

export function parseLayoutNote(desc: Uint8Array, file = '<note>'): LayoutRecord[] {
  if (desc.length % XFEAT_COMPONENT_BYTES !== 0) throw new InputError(file, 'NT_X86_XSAVE_LAYOUT', `descriptor of ${desc.length} bytes is not a multiple of ${XFEAT_COMPONENT_BYTES}`);
  const v = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const out: LayoutRecord[] = [];
  for (let o = 0; o < desc.length; o += XFEAT_COMPONENT_BYTES) {
    out.push({ type: v.getUint32(o, true), size: v.getUint32(o + 4, true), offset: v.getUint32(o + 8, true), flags: v.getUint32(o + 12, true) });
  }
  return out;
}

export function encodeLayoutNote(recs: readonly LayoutRecord[]): Uint8Array {
  const b = new Uint8Array(recs.length * XFEAT_COMPONENT_BYTES);
  const v = new DataView(b.buffer);
  recs.forEach((r, i) => {
    const o = i * XFEAT_COMPONENT_BYTES;
    v.setUint32(o, r.type, true); v.setUint32(o + 4, r.size, true); v.setUint32(o + 8, r.offset, true); v.setUint32(o + 12, r.flags, true);
  });
  return b;
}

/** The records a 6.12+ kernel writes on `cpu` for the user mask `xcr0` (standard offsets, flags 0). */
export function layoutNoteFor(cpu: CpuModel, xcr0: number): LayoutRecord[] {
  return maskBits(xcr0).filter((i) => i >= FIRST_EXTENDED && cpu.components[i] && !cpu.components[i]!.supervisor)
    .map((i) => ({ type: i, size: cpu.components[i]!.size, offset: cpu.components[i]!.standardOffset, flags: 0 }));
}
