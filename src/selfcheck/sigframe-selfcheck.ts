/**
 * `selfcheck sigframe`: the real kernel as referee for signal frames. The probe's interrupted
 * code restores a random state and sends itself SIGUSR1 on a private stack; the handler records
 * the state it starts with and the frame's extended-state area, applies byte patches to the frame
 * (sw bytes, magic2, header, MXCSR, component data) and returns. The kernel model writes the frame
 * (copy_fpstate_to_sigframe), resets the handler's state (fpu__clear_user_states) and restores
 * the patched frame (fpu__restore_sig); every byte and the outcome are compared.
 */
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { AreaMap } from '../../emulator/area-map.js';
import { CpuModel, XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XsaveContext, xgetbv, xsave } from '../../emulator/xsave.js';
import { XFeature, bit, maskBits } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate, type FpuConfig } from '../../kernel-model/fpu-config.js';
import { TaskFpu, grantPermission, restore_fpregs_from_fpstate, userXrstor } from '../../kernel-model/fpstate.js';
import {
  FPX_SW_BYTES_OFFSET, SIGFRAME_RED_ZONE, copy_fpstate_to_sigframe, fpu__clear_user_states, fpu__restore_sig, sigframeFpstateAddress, StackMemory,
} from '../../kernel-model/sigframe.js';
import { closestVariantTo, type KernelVariant } from '../../kernel-model/variants.js';
import type { KernelSelfcheckOptions } from './kernel-selfcheck.js';
import { HostProbeError, buildNative } from '../native.js';
import { Prng, standardImage } from './cases.js';
import { diffFields } from './cpu-selfcheck.js';
import { tallyMismatches } from './tally.js';
import { describeKernelSave } from './host-match.js';

const MAGIC = 0x46475253;
const GREETING = 12;
const RESULT_HEAD = 32;
/** The probe's private stack: its size, fill byte and alignment (sigframe-probe.c). */
const STACK_BYTES = 64 * 1024;
const STACK_FILL = 0xa5;
const STACK_TOP = 0x7ffe00000000n;
const SIGSEGV = 11;
const TRACEE_IMAGE_ADDR = 0x10000;
const AFTER_ADDR = 0x20000;

export interface FramePatch { off: number; val: number }
export interface SigframeCase { image: Uint8Array; patches: FramePatch[]; what: string }

interface Outcome {
  outcome: number;
  misalign: number;
  distance: bigint;
  entryXinuse: number;
  afterXinuse: number;
  frame: Uint8Array;
  entry: Uint8Array;
  after: Uint8Array;
}

/** The probe process's task: AMX permitted and used once at start, so frames carry tile data. */
function probeTask(cpu: CpuModel, cfg: FpuConfig, v: KernelVariant): { ctx: XsaveContext; fpu: TaskFpu } {
  const ctx = new XsaveContext(cpu);
  const fpu = new TaskFpu(cfg, v);
  restore_fpregs_from_fpstate(ctx, fpu);
  if (cfg.user.maxFeatures & bit(XFeature.TILEDATA)) {
    grantPermission(fpu, cfg.user.maxFeatures);
    const img = new Uint8Array(cpu.standardSize(cfg.xcr0));
    new DataView(img.buffer).setUint32(LEGACY.MXCSR, 0x1f80, true);
    new DataView(img.buffer).setUint32(XSAVE_HEADER_OFFSET, bit(XFeature.TILEDATA), true);
    userXrstor(ctx, fpu, img, TRACEE_IMAGE_ADDR, bit(XFeature.TILEDATA), 0);
  }
  return { ctx, fpu };
}

function runModel(cpu: CpuModel, cfg: FpuConfig, v: KernelVariant, c: SigframeCase, area: number, frameBytes: number): Outcome {
  const { ctx, fpu } = probeTask(cpu, cfg, v);
  userXrstor(ctx, fpu, c.image, TRACEE_IMAGE_ADDR, 0xffffffff, 0xffffffff);
  const mem = new StackMemory(STACK_TOP, STACK_BYTES, STACK_FILL);
  const bufFx = sigframeFpstateAddress(STACK_TOP, fpu);
  if (!copy_fpstate_to_sigframe(ctx, fpu, mem, bufFx)) throw new Error('the model could not write the frame');
  fpu__clear_user_states(ctx, fpu);
  const [entryXinuse] = xgetbv(ctx, 1);
  const entry = new Uint8Array(area);
  xsave(ctx, entry, AFTER_ADDR, 0xffffffff, 0xffffffff);
  const frame = new Uint8Array(frameBytes);
  const visible = Math.min(frameBytes, Number(STACK_TOP - bufFx));
  frame.set(mem.read(bufFx, visible)!);
  for (const p of c.patches) mem.write(bufFx + BigInt(p.off), Uint8Array.of(p.val));
  const r = fpu__restore_sig(ctx, fpu, mem, bufFx);
  const after = new Uint8Array(area);
  let afterXinuse = 0;
  if (r.ok) {
    [afterXinuse] = xgetbv(ctx, 1);
    xsave(ctx, after, AFTER_ADDR, 0xffffffff, 0xffffffff);
  }
  return { outcome: r.ok ? 0 : SIGSEGV, misalign: Number(bufFx % 64n), distance: STACK_TOP - bufFx, entryXinuse, afterXinuse, frame, entry, after };
}

/** Random byte patches of the frame a handler might make (or a debugger, or a checkpointer). */
export function randomSigframeCase(r: Prng, cpu: CpuModel, cfg: FpuConfig, userSize: number, userXfeatures: number): SigframeCase {
  const image = standardImage(r, { cpu, xcr0: cfg.xcr0, area: cpu.standardSize(cfg.xcr0), xgetbv1: false });
  const patches: FramePatch[] = [];
  const notes: string[] = [];
  const put32 = (off: number, v: number): void => { for (let k = 0; k < 4; k++) patches.push({ off: off + k, val: (v >>> (8 * k)) & 0xff }); };
  const n = r.chance(0.25) ? 0 : 1 + r.below(2);
  for (let k = 0; k < n; k++) {
    switch (r.below(11)) {
      case 0: patches.push({ off: FPX_SW_BYTES_OFFSET + r.below(4), val: r.below(256) }); notes.push('magic1'); break;
      case 1: patches.push({ off: userSize + r.below(4), val: r.below(256) }); notes.push('magic2'); break;
      case 2: { const v = r.pick([512, 575, 576, 1024, userSize - 64, userSize + 64, 0]); put32(FPX_SW_BYTES_OFFSET + 16, v); notes.push(`xstate_size ${v}`); break; }
      case 3: { const v = r.pick([userSize, userSize - 8, 512, 0]); put32(FPX_SW_BYTES_OFFSET + 4, v); notes.push(`extended_size ${v}`); break; }
      case 4: { const v = r.chance(0.5) ? r.subset(userXfeatures) | 3 : (userXfeatures | bit(r.pick([3, 8, 10, 11, 19, 30]))) >>> 0; put32(FPX_SW_BYTES_OFFSET + 8, v); notes.push(`sw xfeatures 0x${v.toString(16)}`); break; }
      case 5: { const v = r.chance(0.6) ? r.subset(userXfeatures) : (r.subset(userXfeatures) | bit(r.pick([3, 8, 11, 19, 29]))) >>> 0; put32(XSAVE_HEADER_OFFSET, v); notes.push(`XSTATE_BV 0x${v.toString(16)}`); break; }
      case 6: { const o = XSAVE_HEADER_OFFSET + 8 + r.below(56); patches.push({ off: o, val: 1 << r.below(8) }); notes.push(`header byte ${o}`); break; }
      case 7: { const v = r.chance(0.5) ? (r.next() & cfg.mxcsrFeatureMask) : r.next(); put32(LEGACY.MXCSR, v); notes.push(`MXCSR 0x${(v >>> 0).toString(16)}`); break; }
      case 8: {
        const c = r.pick(maskBits(userXfeatures));
        const info = c >= 2 ? cpu.components[c] : undefined;
        const from = c === 0 ? 32 : c === 1 ? LEGACY.XMM0 : info!.standardOffset, len = c === 0 ? 128 : c === 1 ? 256 : info!.size;
        for (let j = 0; j < 6; j++) { const o = from + r.below(len); patches.push({ off: o, val: c === XFeature.PKRU && o === from ? r.below(256) & ~3 : r.below(256) }); }
        notes.push(`data of component ${c}`);
        break;
      }
      case 9: { patches.push({ off: 416 + r.below(48), val: r.below(256) }); notes.push('bytes 416..463'); break; }
      default: { const o = XSAVE_HEADER_OFFSET + r.below(8); patches.push({ off: o, val: r.below(256) }); notes.push(`XSTATE_BV byte ${o - XSAVE_HEADER_OFFSET}`); break; }
    }
  }
  // PKRU must keep key 0 accessible whatever the patches did, or the probe dies on its next store.
  const pk = cpu.components[XFeature.PKRU];
  if (pk) for (const p of patches) if (p.off === pk.standardOffset) p.val &= ~3;
  return { image, patches, what: notes.join(', ') || 'unchanged' };
}

export function runSigframeSelfcheck(o: KernelSelfcheckOptions): { cases: number; mismatches: number; variant: string } {
  const { cpu, log } = o;
  const v = o.variant ?? closestVariantTo(release());
  const cfg = fpu__init_system_xstate(cpu, v);
  const exe = buildNative('selfcheck/sigframe-probe.c');
  const runNative = (cs: SigframeCase[]): Buffer => {
    const input = Buffer.concat(cs.flatMap((c) => {
      const p = Buffer.alloc(4 + 8 * c.patches.length);
      p.writeUInt32LE(c.patches.length, 0);
      c.patches.forEach((x, i) => { p.writeUInt32LE(x.off, 4 + 8 * i); p[8 + 8 * i] = x.val; });
      return [Buffer.from(c.image), p];
    }));
    const res = spawnSync(exe, [], { input, maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new HostProbeError(`the signal-frame probe stopped (${res.status ?? res.signal}): ${res.stderr.toString().trim()}`);
    return res.stdout;
  };
  const hello = runNative([]);
  if (hello.length < GREETING || hello.readUInt32LE(0) !== MAGIC) throw new HostProbeError('the signal-frame probe answered nothing usable');
  const area = hello.readUInt32LE(4), frameBytes = hello.readUInt32LE(8);
  const { fpu } = probeTask(cpu, cfg, v);
  log(`xstate-lab selfcheck sigframe --cases ${o.cases} --seed ${o.seed}`);
  log(`host kernel ${release()}, model variant ${v.id}; the model's kernel saves with ${describeKernelSave(cfg)}; frame: user_size ${fpu.fpstate.userSize} + magic2, xfeatures 0x${fpu.fpstate.userXfeatures.toString(16)}, red zone ${SIGFRAME_RED_ZONE}`);
  const r = new Prng(o.seed);
  const cases = Array.from({ length: o.cases }, () => randomSigframeCase(r, cpu, cfg, fpu.fpstate.userSize, fpu.fpstate.userXfeatures));
  const rec = RESULT_HEAD + frameBytes + 2 * area;
  const parse = (b: Buffer, k: number): Outcome => {
    const at = k * rec;
    return {
      outcome: b.readUInt32LE(at), misalign: b.readUInt32LE(at + 4), distance: b.readBigUInt64LE(at + 8), entryXinuse: Number(b.readBigUInt64LE(at + 16) & 0xffffffffn), afterXinuse: Number(b.readBigUInt64LE(at + 24) & 0xffffffffn),
      frame: new Uint8Array(b.subarray(at + RESULT_HEAD, at + RESULT_HEAD + frameBytes)),
      entry: new Uint8Array(b.subarray(at + RESULT_HEAD + frameBytes, at + RESULT_HEAD + frameBytes + area)),
      after: new Uint8Array(b.subarray(at + RESULT_HEAD + frameBytes + area, at + rec)),
    };
  };
  const map = new AreaMap(cpu, { compacted: false, rexW: true });
  const hex = (a: Uint8Array, from: number, to: number): string => Buffer.from(a.subarray(from, to)).toString('hex');
  const compare = (h: Outcome, m: Outcome): string[] => {
    const d: string[] = [];
    if (h.outcome !== m.outcome) d.push(`outcome: kernel ${h.outcome ? `signal ${h.outcome}` : 'sigreturn ok'}, model ${m.outcome ? `signal ${m.outcome}` : 'sigreturn ok'}`);
    if (h.misalign !== 0) d.push(`kernel frame fpstate not 64-byte aligned (${h.misalign})`);
    if (h.distance !== m.distance) d.push(`frame position: kernel RSP-${h.distance}, model RSP-${m.distance}`);
    if (h.entryXinuse !== m.entryXinuse) d.push(`handler XGETBV(1): kernel 0x${h.entryXinuse.toString(16)}, model 0x${m.entryXinuse.toString(16)}`);
    for (const f of diffFields(cpu, map, 'frame', h.frame.subarray(0, area), m.frame.subarray(0, area))) d.push(`frame ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
    for (let k = area; k < h.frame.length; k += 16) if (hex(h.frame, k, k + 16) !== hex(m.frame, k, k + 16)) { d.push(`frame bytes ${k}..${k + 15}: kernel ${hex(h.frame, k, k + 16)}, model ${hex(m.frame, k, k + 16)}`); break; }
    for (const f of diffFields(cpu, map, 'entry', h.entry, m.entry)) d.push(`handler entry ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
    if (h.outcome === 0 && m.outcome === 0) {
      if (h.afterXinuse !== m.afterXinuse) d.push(`after sigreturn XGETBV(1): kernel 0x${h.afterXinuse.toString(16)}, model 0x${m.afterXinuse.toString(16)}`);
      for (const f of diffFields(cpu, map, 'after', h.after, m.after)) d.push(`after sigreturn ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
    }
    return d;
  };
  const native = runNative(cases).subarray(GREETING);
  const outcomes = new Map<number, number>();
  for (let k = 0; k < cases.length; k++) { const h = parse(native, k).outcome; outcomes.set(h, (outcomes.get(h) ?? 0) + 1); }
  const models = cases.map((c) => runModel(cpu, cfg, v, c, area, frameBytes));
  const mismatches = tallyMismatches({
    cases, log, detail: o.detail, describe: (c) => c.what,
    compare: (k) => compare(parse(native, k), models[k]),
    rerun: (k) => compare(parse(runNative([cases[k]]).subarray(GREETING), 0), models[k]),
  });
  log(`host outcomes: ${[...outcomes].map(([s, n]) => `${s ? `signal ${s}` : 'sigreturn ok'} x${n}`).join(', ')}`);
  log(`sigframe selfcheck: ${o.cases} cases, ${mismatches} mismatches, host kernel ${release()}, variant ${v.id}`);
  return { cases: o.cases, mismatches, variant: v.id };
}
