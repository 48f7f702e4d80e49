/**
 * A small binding over libunicorn2's AArch64 mode (UC_ARCH_ARM64), sibling of the x86 binding in
 * unicorn.ts: it reuses that file's library loader (loadLibUnicorn: the same koffi functions and
 * callback prototypes) and adds only what the arm64 process model needs: memory, the general
 * registers, one interrupt hook (SVC) and emu start/stop.
 *
 * Constants were checked against unicorn 2.0.1's installed headers (Debian libunicorn-dev
 * 2.0.1.post1: unicorn.h, arm64.h) with a C program printing each one.
 *
 * Facts about unicorn 2.0.1's AArch64 mode this binding relies on (measured, see test/arm64-unicorn.test.ts):
 * - `svc #0` raises UC_HOOK_INTR with intno EXCP_SWI (2); in the hook PC already points after the
 *   SVC (the preferred return address of an SVC exception is the next instruction).
 * - TPIDR_EL0 is read and written by user code (msr/mrs) and through UC_ARM64_REG_TPIDR_EL0.
 */
import koffi from 'koffi';
import { loadLibUnicorn, Prot, readMemRegions, UcErr, UnicornError, type MemRegion, type UnicornApi } from './unicorn.js';

export { Prot };

/** unicorn.h UC_ARCH_ARM64. */
const UC_ARCH_ARM64 = 2;
/** unicorn.h UC_MODE_ARM (0, little-endian): the mode value for AArch64. */
const UC_MODE_ARM = 0;
/** unicorn.h UC_CTL_CPU_MODEL = 7, written with UC_CTL_IO_WRITE (1 << 30) and one argument (1 << 26). */
const CTL_SET_CPU_MODEL = (1 << 30) | (1 << 26) | 7;

/** uc_cpu_arm64 (arm64.h). */
export enum Arm64CpuModel {
  A57 = 0, /* arm64.h UC_CPU_ARM64_A57 */
  A53 = 1, /* arm64.h UC_CPU_ARM64_A53 */
  A72 = 2, /* arm64.h UC_CPU_ARM64_A72 (unicorn's default) */
  MAX = 3, /* arm64.h UC_CPU_ARM64_MAX */
}

/** uc_arm64_reg (arm64.h, unicorn 2.0.1), the registers the arm64 model uses. */
export enum Arm64Reg {
  X29 = 1, /* arm64.h UC_ARM64_REG_X29 (FP) */
  X30 = 2, /* arm64.h UC_ARM64_REG_X30 (LR) */
  NZCV = 3, /* arm64.h UC_ARM64_REG_NZCV */
  SP = 4, /* arm64.h UC_ARM64_REG_SP */
  X0 = 199, /* arm64.h UC_ARM64_REG_X0; X1..X28 follow contiguously (X28 = 227) */
  PC = 260, /* arm64.h UC_ARM64_REG_PC */
  TPIDR_EL0 = 262, /* arm64.h UC_ARM64_REG_TPIDR_EL0 */
  PSTATE = 265, /* arm64.h UC_ARM64_REG_PSTATE */
}

/** The unicorn id of general register xN (0..30). */
export function xReg(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new Error(`x${n}: AArch64 has x0..x30`);
  if (n === 29) return Arm64Reg.X29;
  if (n === 30) return Arm64Reg.X30;
  return Arm64Reg.X0 + n;
}

/** The exception number unicorn passes to UC_HOOK_INTR for SVC (QEMU target/arm/cpu.h EXCP_SWI). */
export const EXCP_SWI = 2;

type Ptr = bigint;

/** One AArch64 engine: one address space and one CPU (the arm64 model gives each process its own). */
export class UnicornArm64 {
  private handle: Ptr;
  private readonly api: UnicornApi;
  private readonly scratch: Ptr;
  private readonly view: DataView;
  private readonly registered: unknown[] = [];
  private pending: unknown;

  private constructor(api: UnicornApi, handle: Ptr) {
    this.api = api;
    this.handle = handle;
    this.scratch = koffi.alloc('uint8_t', 16) as Ptr;
    this.view = new DataView(koffi.view(this.scratch, 16));
  }

  static open(model: Arm64CpuModel = Arm64CpuModel.A72): UnicornArm64 {
    const api = loadLibUnicorn();
    const out: (Ptr | null)[] = [null];
    const err = api.uc_open(UC_ARCH_ARM64, UC_MODE_ARM, out);
    if (err !== UcErr.OK) throw new UnicornError(err, 'uc_open(UC_ARCH_ARM64)');
    const uc = new UnicornArm64(api, out[0] as Ptr);
    uc.check(api.uc_ctl(uc.h(), CTL_SET_CPU_MODEL, 'int', model), 'uc_ctl(UC_CTL_CPU_MODEL)');
    return uc;
  }

  private h(): Ptr {
    if (this.handle === 0n) throw new Error('unicorn arm64 engine is closed');
    return this.handle;
  }

  private check(err: number, func: string, detail?: string): void {
    if (err !== UcErr.OK) throw new UnicornError(err, func, detail);
  }

  close(): void {
    if (this.handle === 0n) return;
    this.api.uc_close(this.handle);
    this.handle = 0n;
    for (const p of this.registered) koffi.unregister(p as never);
    this.registered.length = 0;
    koffi.free(this.scratch);
  }

  memMap(addr: bigint, size: number, perms: number = Prot.ALL): void {
    this.check(this.api.uc_mem_map(this.h(), addr, size, perms), 'uc_mem_map', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memUnmap(addr: bigint, size: number): void {
    this.check(this.api.uc_mem_unmap(this.h(), addr, size), 'uc_mem_unmap', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memProtect(addr: bigint, size: number, perms: number): void {
    this.check(this.api.uc_mem_protect(this.h(), addr, size, perms), 'uc_mem_protect', `(0x${addr.toString(16)}, 0x${size.toString(16)})`);
  }

  memRead(addr: bigint, len: number): Uint8Array {
    const buf = new Uint8Array(len);
    if (len) this.check(this.api.uc_mem_read(this.h(), addr, buf, len), 'uc_mem_read', `(0x${addr.toString(16)}, ${len})`);
    return buf;
  }

  /** memRead that answers undefined for an unmapped range (the kernel's EFAULT). */
  tryMemRead(addr: bigint, len: number): Uint8Array | undefined {
    const buf = new Uint8Array(len);
    if (len && this.api.uc_mem_read(this.h(), addr, buf, len) !== UcErr.OK) return undefined;
    return buf;
  }

  memWrite(addr: bigint, bytes: Uint8Array): void {
    if (bytes.length) this.check(this.api.uc_mem_write(this.h(), addr, bytes, bytes.length), 'uc_mem_write', `(0x${addr.toString(16)}, ${bytes.length})`);
  }

  /** memWrite that answers false for an unmapped range (the kernel's EFAULT). */
  tryMemWrite(addr: bigint, bytes: Uint8Array): boolean {
    return bytes.length === 0 || this.api.uc_mem_write(this.h(), addr, bytes, bytes.length) === UcErr.OK;
  }

  memRegions(): MemRegion[] {
    return readMemRegions(this.api, this.h(), (err) => this.check(err, 'uc_mem_regions'));
  }

  regRead(reg: number): bigint {
    this.view.setBigUint64(0, 0n, true);
    this.check(this.api.uc_reg_read(this.h(), reg, this.scratch), 'uc_reg_read', `(${reg})`);
    return this.view.getBigUint64(0, true);
  }

  regWrite(reg: number, value: bigint): void {
    this.view.setBigUint64(0, BigInt.asUintN(64, value), true);
    this.check(this.api.uc_reg_write(this.h(), reg, this.scratch), 'uc_reg_write', `(${reg})`);
  }

  /** UC_HOOK_INTR over all addresses; `fn(intno)`. An exception thrown by fn stops the run and is rethrown by emuStart. */
  hookIntr(fn: (intno: number) => void): void {
    const js = koffi.register((_uc: unknown, intno: number) => {
      try { fn(intno); } catch (e) { this.pending ??= e; this.api.uc_emu_stop(this.handle); }
    }, koffi.pointer(this.api.protos.intr));
    this.registered.push(js);
    const out: (number | bigint | null)[] = [null];
    this.check(this.api.uc_hook_add(this.h(), out, 1 /* unicorn.h UC_HOOK_INTR */, js as unknown as Ptr, 0, 1, 0), 'uc_hook_add(UC_HOOK_INTR)');
  }

  /** UC_HOOK_MEM_INVALID (unmapped or protection faults); fn returns false to let the fault stop the run. */
  hookMemInvalid(fn: (type: number, address: bigint) => boolean): void {
    const js = koffi.register((_uc: unknown, type: number, address: number | bigint) => {
      try { return fn(type, BigInt(address)); } catch (e) { this.pending ??= e; return false; }
    }, koffi.pointer(this.api.protos.memInvalid));
    this.registered.push(js);
    const out: (number | bigint | null)[] = [null];
    this.check(this.api.uc_hook_add(this.h(), out, 1008 /* unicorn.h UC_HOOK_MEM_INVALID */, js as unknown as Ptr, 0, 1, 0), 'uc_hook_add(UC_HOOK_MEM_INVALID)');
  }

  /** Runs from `begin` for at most `count` instructions (0: no limit). Returns the uc_err code. */
  emuStart(begin: bigint, count = 0): number {
    this.pending = undefined;
    const err = this.api.uc_emu_start(this.h(), begin, 0, 0, count);
    if (this.pending !== undefined) { const e = this.pending; this.pending = undefined; throw e; }
    return err;
  }

  emuStop(): void {
    this.api.uc_emu_stop(this.h());
  }
}
