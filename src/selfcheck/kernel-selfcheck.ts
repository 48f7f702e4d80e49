/**
 * `selfcheck kernel`: the real kernel as referee for PTRACE_SETREGSET (NT_X86_XSTATE and
 * NT_PRFPREG). A tracee restores a random image and stops; the tracer applies a random mutation
 * of the image PTRACE_GETREGSET gives (header bits, XCOMP_BV, reserved bytes, MXCSR, component
 * data, PKRU, lengths) with SETREGSET; the tracee resumes, reads XGETBV(1), XSAVE64s everything
 * and stops again. The errno, what the tracee sees and the second GETREGSET are compared with the
 * kernel model (kernel-model/regset.ts) running the same steps on the CPU model.
 */
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { AreaMap } from '../../emulator/area-map.js';
import { CpuModel, XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XsaveContext, xgetbv, xsave } from '../../emulator/xsave.js';
import { XFeature, bit, maskBits } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate, type FpuConfig } from '../../kernel-model/fpu-config.js';
import { TaskFpu, grantPermission, restore_fpregs_from_fpstate, switch_fpu_prepare, userXrstor } from '../../kernel-model/fpstate.js';
import { NoteType, USER_I387_STRUCT_SIZE, ptrace_getregset, ptrace_setregset } from '../../kernel-model/regset.js';
import { closestVariantTo, type KernelVariant } from '../../kernel-model/variants.js';
import { HostProbeError, buildNative } from '../native.js';
import { Prng, standardImage } from './cases.js';
import { diffFields, type SelfcheckOptions } from './cpu-selfcheck.js';
import { tallyMismatches } from './tally.js';
import { describeKernelSave } from './host-match.js';

const MAGIC = 0x53524552;
const GREETING = 12;
/** struct result in the probe: errno, two stop signals, pad, XINUSE. */
const RESULT_HEAD = 24;
const SIGSTOP = 19;
/** Where the tracee's image and after-buffer live, for the CPU model (only distinctness matters). */
const TRACEE_IMAGE_ADDR = 0x10000;
const TRACEE_AFTER_ADDR = 0x20000;

export interface KernelCase {
  note: NoteType;
  iovLen: number;
  image: Uint8Array;
  buf: Uint8Array;
  what: string;
}

interface Outcome {
  errno: number;
  sig1: number;
  sig2: number;
  xinuse: number;
  after: Uint8Array;
  regset: Uint8Array;
}

/** The options of every kernel referee: the CPU referee's and the kernel variant to model. */
export interface KernelSelfcheckOptions extends SelfcheckOptions {
  /** Default: the variant closest to this host's `uname -r`. */
  variant?: KernelVariant;
}

/**
 * The tracee as the model sees it: restored the image and stopped. Its fpstate is the one
 * fpstate_init_user() gives (fork copies the parent's, whose legacy area holds MXCSR 1F80H and
 * MXCSR_MASK too); the save at the stop is the kernel's own (FpuConfig.saveInsn at CPL 0), so
 * whatever that instruction leaves unwritten keeps the buffer's older bytes.
 */
export function stoppedTracee(cpu: CpuModel, cfg: FpuConfig, v: KernelVariant, image: Uint8Array): { ctx: XsaveContext; fpu: TaskFpu } {
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = cfg.xcr0;
  ctx.xss = cfg.xss;
  const fpu = new TaskFpu(cfg, v);
  grantPermission(fpu, cfg.user.maxFeatures); // the probe asked for AMX before forking
  userXrstor(ctx, fpu, image, TRACEE_IMAGE_ADDR, 0xffffffff, 0xffffffff);
  switch_fpu_prepare(ctx, fpu);
  return { ctx, fpu };
}

function runModel(cpu: CpuModel, cfg: FpuConfig, v: KernelVariant, c: KernelCase, area: number): Outcome {
  const { ctx, fpu } = stoppedTracee(cpu, cfg, v, c.image);
  const r = ptrace_setregset(cpu, fpu, c.note, c.buf, c.iovLen);
  restore_fpregs_from_fpstate(ctx, fpu);
  ctx.cpl = 3;
  const [lo] = xgetbv(ctx, 1);
  const after = new Uint8Array(area);
  xsave(ctx, after, TRACEE_AFTER_ADDR, 0xffffffff, 0xffffffff);
  switch_fpu_prepare(ctx, fpu);
  const g = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, cfg.user.maxSize);
  return { errno: r.errno, sig1: SIGSTOP, sig2: SIGSTOP, xinuse: lo, after, regset: g.data ?? new Uint8Array(0) };
}

const put32 = (a: Uint8Array, o: number, v: number): void => new DataView(a.buffer, a.byteOffset).setUint32(o, v >>> 0, true);

/** A random mutation of the tracee's own GETREGSET image, and the length to pass. */
export function randomKernelCase(r: Prng, cpu: CpuModel, cfg: FpuConfig, v: KernelVariant, area: number): KernelCase {
  const image = standardImage(r, { cpu, xcr0: cfg.xcr0, area, xgetbv1: false });
  const { fpu } = stoppedTracee(cpu, cfg, v, image);
  const size = cfg.user.maxSize;
  const notes: string[] = [];
  if (r.chance(0.2)) {
    const buf = ptrace_getregset(cpu, fpu, NoteType.NT_PRFPREG, USER_I387_STRUCT_SIZE).data!.slice();
    if (r.chance(0.5)) { r.fill(buf, 0, LEGACY.MXCSR); r.fill(buf, LEGACY.ST0, LEGACY.END_OF_SAVED); notes.push('random x87/SSE'); }
    if (r.chance(0.3)) { put32(buf, LEGACY.MXCSR, r.chance(0.5) ? r.next() : r.next() & cfg.mxcsrFeatureMask); notes.push('MXCSR'); }
    if (r.chance(0.3)) { r.fill(buf, LEGACY.END_OF_SAVED, USER_I387_STRUCT_SIZE); notes.push('bytes 416..511'); }
    const iovLen = r.chance(0.8) ? USER_I387_STRUCT_SIZE : r.pick([504, 520, 0, 13, 256]);
    const full = new Uint8Array(size);
    full.set(buf);
    return { note: NoteType.NT_PRFPREG, iovLen, image, buf: full, what: `NT_PRFPREG len ${iovLen}: ${notes.join(', ') || 'unchanged'}` };
  }
  const buf = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, size).data!.slice();
  const user = fpu.fpstate.userXfeatures;
  const pkru = cpu.components[XFeature.PKRU];
  for (let n = 1 + r.below(3); n > 0; n--) {
    switch (r.below(9)) {
      case 0: { const m = r.subset(user); put32(buf, XSAVE_HEADER_OFFSET, m); notes.push(`XSTATE_BV 0x${m.toString(16)}`); break; }
      case 1: {
        const extra = r.pick([bit(XFeature.TILEDATA), bit(XFeature.CET_U), bit(XFeature.CET_S), bit(XFeature.PT), bit(XFeature.BNDREGS), 1 << 30]);
        put32(buf, XSAVE_HEADER_OFFSET, (new DataView(buf.buffer).getUint32(XSAVE_HEADER_OFFSET, true) | extra) >>> 0);
        if (r.chance(0.2)) buf[XSAVE_HEADER_OFFSET + 7] |= 0x80;
        notes.push(`XSTATE_BV |= 0x${extra.toString(16)}`);
        break;
      }
      case 2: { buf[XSAVE_HEADER_OFFSET + 8 + r.below(8)] = 1 << r.below(8); notes.push('XCOMP_BV'); break; }
      case 3: { const o = XSAVE_HEADER_OFFSET + 16 + r.below(48); buf[o] = 1 + r.below(255); notes.push(`header byte ${o}`); break; }
      case 4: { put32(buf, LEGACY.MXCSR, r.chance(0.5) ? r.next() : r.next() & cfg.mxcsrFeatureMask); notes.push('MXCSR'); break; }
      case 5: {
        const c = r.pick(maskBits(user));
        const info = c >= 2 ? cpu.components[c] : undefined;
        if (c === XFeature.X87) r.fill(buf, 0, LEGACY.MXCSR);
        else if (c === XFeature.SSE) r.fill(buf, LEGACY.XMM0, LEGACY.END_OF_SAVED);
        else if (info) r.fill(buf, info.standardOffset, info.standardOffset + info.size);
        if (c === XFeature.PKRU && info) buf[info.standardOffset] &= ~0x3; // key 0 stays accessible (see cases.ts)
        notes.push(`data of component ${c}`);
        break;
      }
      case 6: { r.fill(buf, LEGACY.END_OF_SAVED, XSAVE_HEADER_OFFSET); notes.push('bytes 416..511'); break; }
      case 7: {
        if (!pkru) break;
        put32(buf, pkru.standardOffset, r.next() & ~0x3); // key 0 stays accessible (see cases.ts)
        const bv = new DataView(buf.buffer).getUint32(XSAVE_HEADER_OFFSET, true);
        put32(buf, XSAVE_HEADER_OFFSET, r.chance(0.7) ? bv | bit(XFeature.PKRU) : bv & ~bit(XFeature.PKRU));
        notes.push('PKRU');
        break;
      }
      default: { const m = r.subset(user) & ~bit(XFeature.PKRU); put32(buf, XSAVE_HEADER_OFFSET, m); notes.push(`XSTATE_BV 0x${m.toString(16)} (PKRU clear)`); break; }
    }
  }
  const iovLen = r.chance(0.8) ? size : r.pick([size + 8, size - 8, 512, 0, 13, 4096, size + 64]);
  return { note: NoteType.NT_X86_XSTATE, iovLen, image, buf, what: `NT_X86_XSTATE len ${iovLen}: ${notes.join(', ')}` };
}

export function runKernelSelfcheck(o: KernelSelfcheckOptions): { cases: number; mismatches: number; variant: string } {
  const { cpu, log } = o;
  const v = o.variant ?? closestVariantTo(release());
  const cfg = fpu__init_system_xstate(cpu, v);
  const exe = buildNative('selfcheck/setregset-probe.c');
  const runNative = (cs: KernelCase[]): Buffer => {
    const input = Buffer.concat(cs.flatMap((c) => { const h = Buffer.alloc(8); h.writeUInt32LE(c.note, 0); h.writeUInt32LE(c.iovLen, 4); return [h, Buffer.from(c.image), Buffer.from(c.buf)]; }));
    const res = spawnSync(exe, [], { input, maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new HostProbeError(`the SETREGSET probe stopped (${res.status ?? res.signal}): ${res.stderr.toString().trim()}`);
    return res.stdout;
  };
  const hello = runNative([]);
  if (hello.length < GREETING || hello.readUInt32LE(0) !== MAGIC) throw new HostProbeError('the SETREGSET probe answered nothing usable');
  const area = hello.readUInt32LE(4), size = hello.readUInt32LE(8);
  log(`xstate-lab selfcheck kernel --cases ${o.cases} --seed ${o.seed}`);
  log(`host kernel ${release()}, model variant ${v.id}; the model's kernel saves with ${describeKernelSave(cfg)}; regset size host ${size}, model ${cfg.user.maxSize}`);
  if (size !== cfg.user.maxSize) throw new HostProbeError(`the host's NT_X86_XSTATE size ${size} is not the model's ${cfg.user.maxSize} for ${v.id}: the profile or the variant does not fit this host`);
  const r = new Prng(o.seed);
  const cases = Array.from({ length: o.cases }, () => randomKernelCase(r, cpu, cfg, v, area));
  const rec = GREETING * 0 + RESULT_HEAD + area + size;
  const parse = (b: Buffer, k: number): Outcome => {
    const at = k * rec;
    return {
      errno: b.readInt32LE(at), sig1: b.readUInt32LE(at + 4), sig2: b.readUInt32LE(at + 8), xinuse: Number(b.readBigUInt64LE(at + 16) & 0xffffffffn),
      after: new Uint8Array(b.subarray(at + RESULT_HEAD, at + RESULT_HEAD + area)), regset: new Uint8Array(b.subarray(at + RESULT_HEAD + area, at + rec)),
    };
  };
  const native = runNative(cases).subarray(GREETING);
  const map = new AreaMap(cpu, { compacted: false, rexW: true });
  const compare = (h: Outcome, m: Outcome): string[] => {
    const d: string[] = [];
    if (h.errno !== m.errno) d.push(`errno: kernel ${h.errno}, model ${m.errno}`);
    if (h.sig1 !== SIGSTOP || h.sig2 !== SIGSTOP) d.push(`tracee stops: ${h.sig1}, ${h.sig2} (expected SIGSTOP twice)`);
    if (d.length) return d;
    if (h.xinuse !== m.xinuse) d.push(`tracee XGETBV(1): kernel 0x${h.xinuse.toString(16)}, model 0x${m.xinuse.toString(16)}`);
    for (const f of diffFields(cpu, map, 'after', h.after, m.after)) d.push(`tracee XSAVE ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
    for (const f of diffFields(cpu, map, 'regset', h.regset, m.regset)) d.push(`GETREGSET ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
    return d;
  };
  const models = cases.map((c) => runModel(cpu, cfg, v, c, area));
  const mismatches = tallyMismatches({
    cases, log, detail: o.detail, describe: (c) => c.what,
    compare: (k) => compare(parse(native, k), models[k]),
    rerun: (k) => compare(parse(runNative([cases[k]]).subarray(GREETING), 0), models[k]),
  });
  const errs = new Map<number, number>();
  for (let k = 0; k < cases.length; k++) { const e = parse(native, k).errno; errs.set(e, (errs.get(e) ?? 0) + 1); }
  log(`host SETREGSET results: ${[...errs].sort((a, b) => a[0] - b[0]).map(([e, n]) => `${e === 0 ? 'ok' : `errno ${e}`} x${n}`).join(', ')}`);
  log(`kernel selfcheck: ${o.cases} cases, ${mismatches} mismatches, host kernel ${release()}, variant ${v.id}`);
  return { cases: o.cases, mismatches, variant: v.id };
}
