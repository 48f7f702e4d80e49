/**
 * The NetBSD personality (kernel-model/netbsd/): struct xstate's layout, what cpu_probe_fpu
 * enables, the rules of process_read/verify/write_xstate and the fpregs paths, the ptrace glue
 * (iovec clamp, prefix GET, merged SET, errnos), the core notes, and the scenario/diff plumbing.
 * Every expected value is derived from the rule under test (and the CPU's CPUID), not pasted.
 */
import { describe, expect, it } from 'vitest';
import { CpuModel, XSAVE_HEADER_OFFSET, type Profile } from '../emulator/cpu-model.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { LEGACY } from '../emulator/register-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import {
  SIZEOF_XSTATE, XCR0_FPU, XSTATE_MEMBERS, XS_FXSAVE, XS_RFBM, XS_XSTATE_BV, INITIAL_MXCSR_MASK,
} from '../kernel-model/netbsd/cpu_extended_state.js';
import {
  FpuSave, NetbsdErrno, NetbsdLwpFpu, cpu_probe_fpu, fpu_clear, fpuinit_mxcsr_mask, process_read_xstate, process_verify_xstate, process_write_fpregs_xmm, process_write_xstate,
} from '../kernel-model/netbsd/fpu.js';
import { PtRequest, ptrace_fpregs, ptrace_xstate } from '../kernel-model/netbsd/process_machdep.js';
import { netbsd_coredump_notes } from '../kernel-model/netbsd/core_elf32.js';
import { KernelPersonality, resolveKernelVariant } from '../kernel-model/variants.js';
import { kernelList, kernelListJson } from '../src/commands/kernel.js';
import { loadScenario } from '../src/scenario/load.js';
import { runAll, runScenario } from '../src/scenario/run.js';
import { diffOutcomes } from '../src/commands/diff.js';
import { resolveXstateField } from '../src/scenario/buffer-format.js';
import { explain } from '../src/commands/explain.js';
import { writeNotesCore } from '../src/explain/elf-notes.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const skx = loadBuiltinQuietly('intel-skylake-sp');
const zen4 = loadBuiltinQuietly('amd-zen4');

/** A copy of a built-in profile with its CPUID (or MXCSR_MASK) edited: CPUs the corpus does not have. */
function edited(id: string, edit: (p: Profile) => void): CpuModel {
  const p = structuredClone(loadBuiltinQuietly(id).profile);
  edit(p);
  return new CpuModel(p);
}
const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
/** The CPU without XSAVE (CPUID.01H:ECX[26] cleared): NetBSD's FXSAVE-only path. */
const fxsrOnly = edited('intel-skylake-sp', (p) => { const l1 = p.cpuid['00000001']; l1[2] = hex8(parseInt(l1[2], 16) & ~(1 << 26)); });

const u64 = (a: Uint8Array, o: number): bigint => new DataView(a.buffer, a.byteOffset).getBigUint64(o, true);
const put64 = (a: Uint8Array, o: number, v: bigint): void => new DataView(a.buffer, a.byteOffset).setBigUint64(o, v, true);
const u32 = (a: Uint8Array, o: number): number => new DataView(a.buffer, a.byteOffset).getUint32(o, true);

function lwpOn(cpu: CpuModel): NetbsdLwpFpu {
  const l = new NetbsdLwpFpu(cpu_probe_fpu(cpu), 1);
  fpu_clear(l);
  return l;
}
function readXs(l: NetbsdLwpFpu): Uint8Array {
  const xs = new Uint8Array(SIZEOF_XSTATE);
  process_read_xstate(l, xs);
  return xs;
}

describe('struct xstate (cpu_extended_state.h)', () => {
  it('lays out its members as the compiler does: the offsets and size the header implies', () => {
    const at = Object.fromEntries(XSTATE_MEMBERS.map((m) => [m.name, [m.offset, m.size]]));
    expect(at).toEqual({
      xs_rfbm: [0, 8], xs_xstate_bv: [8, 8], xs_fxsave: [16, 512], xs_ymm_hi128: [528, 256],
      xs_opmask: [784, 64], xs_zmm_hi256: [848, 512], xs_hi16_zmm: [1360, 1024],
    });
    expect(SIZEOF_XSTATE).toBe(2384);
  });

  it('names registers at the fixed members on every CPU; components outside XCR0_FPU have no field', () => {
    expect(resolveXstateField('k1')).toEqual([{ offset: 784 + 8, size: 8, component: XFeature.OPMASK }]);
    expect(resolveXstateField('zmm20')).toEqual([{ offset: 1360 + 64 * 4, size: 64, component: XFeature.HI16_ZMM }]);
    expect((resolveXstateField('ymm3') as { offset: number }[]).map((r) => r.offset)).toEqual([16 + 160 + 48, 528 + 48]);
    expect(resolveXstateField('xs_fxsave.fx_mxcsr')).toEqual([{ offset: 16 + 24, size: 4, component: XFeature.SSE }]);
    for (const f of ['pkru', 'bnd0', 'tmm0', 'xstate_bv']) expect(typeof resolveXstateField(f)).toBe('string');
  });
});

describe('cpu_probe_fpu: what NetBSD enables', () => {
  it('XCR0 is CPUID.(0DH,0) & XCR0_FPU on every built-in CPU: never MPX, PKRU, CET, AMX or APX', () => {
    for (const id of builtinProfileIds()) {
      const cpu = loadBuiltinQuietly(id);
      if (!cpu.features.xsave) continue;
      const c = cpu_probe_fpu(cpu);
      expect(c.xcr0, id).toBe((cpu.xcr0Supported & XCR0_FPU) >>> 0);
      for (const f of [XFeature.BNDREGS, XFeature.BNDCSR, XFeature.PKRU, XFeature.TILECFG, XFeature.TILEDATA, XFeature.APX, XFeature.CET_U]) expect(c.xcr0 & bit(f), `${id} ${XFeature[f]}`).toBe(0);
      expect(c.fpuSave, id).toBe(cpu.features.xsaveopt ? FpuSave.XSAVEOPT : FpuSave.XSAVE);
      expect(c.saveSize, id).toBe(Math.max(512, cpu.standardSize(c.xcr0)));
      expect(u64(readXs(lwpOn(cpu)), XS_RFBM), id).toBe(BigInt(c.xcr0));
    }
  });

  it('MXCSR_MASK: what FXSAVE stores, 0xffbf when it stores 0', () => {
    expect(fpuinit_mxcsr_mask(zen4)).toBe(zen4.mxcsrMask);
    const old = edited('intel-skylake-sp', (p) => { p.fxsave.mxcsr_mask = '0x00000000'; });
    expect(fpuinit_mxcsr_mask(old)).toBe(INITIAL_MXCSR_MASK);
  });

  it('without XSAVE: FXSAVE mode, PT_GETXSTATE reports rfbm = bv = x87|SSE and refuses AVX in rfbm', () => {
    const l = lwpOn(fxsrOnly);
    expect(l.cfg.fpuSave).toBe(FpuSave.FXSAVE);
    const xs = readXs(l);
    expect([u64(xs, XS_RFBM), u64(xs, XS_XSTATE_BV)]).toEqual([3n, 3n]);
    put64(xs, XS_RFBM, 7n);
    expect(process_verify_xstate(l.cfg, xs).errno).toBe(NetbsdErrno.EINVAL);
    // No header in FXSAVE mode: rfbm x87 with bv 0 leaves the x87 state alone.
    const a = l.area;
    a[LEGACY.ST0] = 0x42;
    put64(xs, XS_RFBM, 1n); put64(xs, XS_XSTATE_BV, 0n);
    xs[XS_FXSAVE + LEGACY.ST0] = 0;
    process_write_xstate(l, xs);
    expect(a[LEGACY.ST0]).toBe(0x42);
  });
});

describe('process_read_xstate / process_verify_xstate / process_write_xstate', () => {
  const avxOff = skx.components[XFeature.AVX]!.standardOffset;

  it('copies a component from its standard offset only when its XSTATE_BV bit is set', () => {
    const l = lwpOn(skx);
    l.area.fill(0xab, avxOff, avxOff + 256);
    expect(readXs(l)[528]).toBe(0);
    put64(l.area, XSAVE_HEADER_OFFSET, BigInt(bit(XFeature.AVX)));
    expect(readXs(l)[528]).toBe(0xab);
  });

  it('refuses bv outside rfbm and rfbm outside the supported set, the high half included', () => {
    const c = cpu_probe_fpu(skx);
    const xs = new Uint8Array(SIZEOF_XSTATE);
    put64(xs, XS_RFBM, 4n); put64(xs, XS_XSTATE_BV, 6n);
    expect(process_verify_xstate(c, xs).errno).toBe(NetbsdErrno.EINVAL);
    for (const rfbm of [BigInt(bit(XFeature.PKRU)), BigInt(bit(XFeature.BNDREGS)), 1n << 40n]) {
      put64(xs, XS_RFBM, rfbm); put64(xs, XS_XSTATE_BV, 0n);
      expect(process_verify_xstate(c, xs).errno, rfbm.toString(16)).toBe(NetbsdErrno.EINVAL);
    }
    put64(xs, XS_RFBM, BigInt(c.xcr0)); put64(xs, XS_XSTATE_BV, BigInt(c.xcr0));
    expect(process_verify_xstate(c, xs).errno).toBe(0);
  });

  it('new XSTATE_BV = (old & ~rfbm) | bv; data only where bv is set', () => {
    const l = lwpOn(skx);
    const old = BigInt(bit(XFeature.SSE) | bit(XFeature.OPMASK));
    const rfbm = BigInt(bit(XFeature.AVX) | bit(XFeature.SSE)), bv = BigInt(bit(XFeature.AVX));
    put64(l.area, XSAVE_HEADER_OFFSET, old);
    const kOff = skx.components[XFeature.OPMASK]!.standardOffset;
    l.area[kOff] = 0x11;
    const xs = readXs(l);
    xs[528] = 0x77; // ymm0_h
    xs[784] = 0x99; // k0, but opmask is not in rfbm
    put64(xs, XS_RFBM, rfbm);
    put64(xs, XS_XSTATE_BV, bv);
    process_write_xstate(l, xs);
    // SSE: in rfbm, not in bv -> cleared (reset on the next XRSTOR); opmask: not in rfbm -> kept.
    expect(u64(l.area, XSAVE_HEADER_OFFSET)).toBe((old & ~rfbm) | bv);
    expect(u64(l.area, XSAVE_HEADER_OFFSET)).toBe(BigInt(bit(XFeature.AVX) | bit(XFeature.OPMASK)));
    expect(l.area[avxOff]).toBe(0x77);
    expect(l.area[kOff]).toBe(0x11);
  });

  it('MXCSR: written with SSE or AVX in bv, masked by the given MXCSR_MASK & x86_fpu_mxcsr_mask; untouched otherwise', () => {
    const l = lwpOn(zen4);
    const detected = l.cfg.mxcsrMask;
    const mx = (bv: number, mxcsr: number, mask: number): number => {
      fpu_clear(l);
      const xs = readXs(l);
      new DataView(xs.buffer).setUint32(XS_FXSAVE + LEGACY.MXCSR, mxcsr, true);
      new DataView(xs.buffer).setUint32(XS_FXSAVE + LEGACY.MXCSR_MASK, mask, true);
      put64(xs, XS_RFBM, BigInt(bv)); put64(xs, XS_XSTATE_BV, BigInt(bv));
      process_write_xstate(l, xs);
      return u32(l.area, LEGACY.MXCSR);
    };
    const want = 0xfffe1fa0;
    expect(mx(bit(XFeature.SSE), want, 0xffffffff)).toBe((want & detected) >>> 0);
    expect(mx(bit(XFeature.AVX), want, 0xffffffff)).toBe((want & detected) >>> 0);
    expect(mx(bit(XFeature.SSE), want, 0)).toBe(0);
    expect(mx(bit(XFeature.OPMASK), want, 0xffffffff)).toBe(0x1f80);
  });

  it('PT_SETFPREGS masks the same way and forces x87|SSE into XSTATE_BV', () => {
    const l = lwpOn(skx);
    const fp = l.area.slice(0, 512);
    new DataView(fp.buffer).setUint32(LEGACY.MXCSR, 0x80001f80, true);
    process_write_fpregs_xmm(l, fp);
    expect(u32(l.area, LEGACY.MXCSR)).toBe((0x80001f80 & l.cfg.mxcsrMask) >>> 0);
    expect(Number(u64(l.area, XSAVE_HEADER_OFFSET) & 3n)).toBe(3);
  });
});

describe('the ptrace glue (process_machdep.c, sys_process_lwpstatus.c)', () => {
  const io = (len: number, data?: Uint8Array) => ({ addrMapped: true, baseMapped: true, len, data });

  it('request numbers: PT_FIRSTMACH (32) + 3, 4, 9, 10', () => {
    expect([PtRequest.PT_GETFPREGS, PtRequest.PT_SETFPREGS, PtRequest.PT_GETXSTATE, PtRequest.PT_SETXSTATE]).toEqual([35, 36, 41, 42]);
  });

  it('GET: iov_len clamped to sizeof(struct xstate), a short one a prefix', () => {
    const p = { system: false, lwps: [lwpOn(skx)] };
    const full = ptrace_xstate(p, PtRequest.PT_GETXSTATE, io(1 << 20), 0);
    expect(full.len).toBe(SIZEOF_XSTATE);
    const short = ptrace_xstate(p, PtRequest.PT_GETXSTATE, io(20), 0);
    expect(short.data).toEqual(full.data!.subarray(0, 20));
  });

  it('SET: a short buffer is merged over the current state; faults and system processes change nothing', () => {
    const l = lwpOn(skx);
    const p = { system: false, lwps: [l] };
    const before = l.area.slice();
    // 16 bytes: rfbm = bv = SSE; the XMM data comes from the current state.
    const hdr = new Uint8Array(16);
    put64(hdr, 0, 2n); put64(hdr, 8, 2n);
    expect(ptrace_xstate(p, PtRequest.PT_SETXSTATE, io(16, hdr), 0).errno).toBe(0);
    expect(l.area.subarray(LEGACY.XMM0, LEGACY.XMM0 + 256)).toEqual(before.subarray(LEGACY.XMM0, LEGACY.XMM0 + 256));
    expect(Number(u64(l.area, XSAVE_HEADER_OFFSET) & 2n)).toBe(2);
    const bad = new Uint8Array(16);
    put64(bad, 0, 4n); put64(bad, 8, 0n);
    const after = l.area.slice();
    expect(ptrace_xstate(p, PtRequest.PT_SETXSTATE, { ...io(16, bad), baseMapped: false }, 0).errno).toBe(NetbsdErrno.EFAULT);
    expect(ptrace_xstate(p, PtRequest.PT_SETXSTATE, { ...io(16, bad), addrMapped: false }, 0).errno).toBe(NetbsdErrno.EFAULT);
    expect(ptrace_xstate({ ...p, system: true }, PtRequest.PT_SETXSTATE, io(16, bad), 0).errno).toBe(NetbsdErrno.EINVAL);
    expect(l.area).toEqual(after);
  });

  it('the LWP id: any with one LWP, ESRCH for an unknown one among several', () => {
    const a = lwpOn(skx), b = new NetbsdLwpFpu(a.cfg, 2, 1);
    expect(ptrace_xstate({ system: false, lwps: [a] }, PtRequest.PT_GETXSTATE, io(16), 9).errno).toBe(0);
    expect(ptrace_xstate({ system: false, lwps: [a, b] }, PtRequest.PT_GETXSTATE, io(16), 9).errno).toBe(NetbsdErrno.ESRCH);
    expect(ptrace_fpregs({ system: false, lwps: [a, b] }, PtRequest.PT_GETFPREGS, io(512), 2).errno).toBe(0);
  });

  it('core: NetBSD-CORE procinfo, then NetBSD-CORE@<lwpid> PT_GETREGS, PT_GETFPREGS, PT_GETXSTATE (the whole struct)', () => {
    const l = lwpOn(zen4);
    const notes = netbsd_coredump_notes([l]);
    expect(notes.map((n) => `${n.name}/${n.type}`)).toEqual(['NetBSD-CORE/1', 'NetBSD-CORE@1/33', 'NetBSD-CORE@1/35', 'NetBSD-CORE@1/41']);
    expect(notes[3].desc).toEqual(readXs(l));
  });
});

describe('the netbsd-10 variant in kernel list, scenarios and diff', () => {
  it('kernel list shows it as NetBSD with its sources', () => {
    const v = resolveKernelVariant('netbsd-10');
    expect(v.personality).toBe(KernelPersonality.NetBSD);
    expect(kernelList()).toMatch(/netbsd-10 +NetBSD .*\n.*source: sys\/arch\/x86\/include\/cpu_extended_state\.h/);
    const j = kernelListJson().kernels.find((k) => k.id === 'netbsd-10')!;
    expect(j.personality).toBe('netbsd');
    expect(j.sources.some((s) => s.includes('fpu.c'))).toBe(true);
  });

  it('the NetBSD scenarios pass', () => {
    for (const f of ['netbsd-xstate-rfbm', 'netbsd-mxcsr-masked', 'netbsd-short-iovec', 'netbsd-core-note', 'netbsd-fxsave-only', 'tracer-intent-linux-netbsd']) {
      for (const o of runAll(loadScenario(`scenarios/${f}.yaml`))) {
        expect(o.error, `${f} ${o.cpu} ${o.variant}`).toBeUndefined();
        for (const c of o.checks) expect(c.pass, `${f} ${o.cpu} ${o.variant} ${c.name}: ${String(c.observed)}`).toBe(true);
      }
    }
  });

  it('a Linux request under NetBSD, or a NetBSD request under Linux, is not carried out (a step error, n/a in a matrix)', () => {
    const linux = runScenario(loadScenario('scenarios/mxcsr-reserved-bits.yaml'), 'intel-skylake-sp', resolveKernelVariant('netbsd-10'));
    expect(linux.error).toMatch(/PTRACE_GETREGSET is a Linux interface/);
    // A core is portable, but under Linux its note is an XSAVE image: struct xstate's names are not there.
    const nb = runScenario(loadScenario('scenarios/netbsd-core-note.yaml'), 'amd-zen4', resolveKernelVariant('linux-6.18'));
    expect(nb.error).toMatch(/buffer 'note' \(xsave\): unknown field 'xs_rfbm'/);
    const rfbm = runScenario(loadScenario('scenarios/netbsd-xstate-rfbm.yaml'), 'intel-skylake-sp', resolveKernelVariant('linux-6.18'));
    expect(rfbm.error).toMatch(/PT_GETXSTATE is a NetBSD request/);
  });

  it('on a CPU without XSAVE the portable read works on NetBSD (FXSAVE path) and is ENODEV on Linux', () => {
    const s = loadScenario('scenarios/netbsd-fxsave-only.yaml');
    const linux = runScenario(s, s.cpus[0], resolveKernelVariant('linux-6.18'));
    expect(linux.observations['x0.errno']).toBe('ENODEV');
    expect(runScenario(s, s.cpus[0], resolveKernelVariant('netbsd-10')).observations['x0.value']).toBe('0x1234');
  });

  it('diff: the same tracer intent under Linux and NetBSD differs where the ABIs do', () => {
    const s = loadScenario('scenarios/tracer-intent-linux-netbsd.yaml');
    const d = diffOutcomes(runScenario(s, 'amd-zen4', resolveKernelVariant('linux-6.18')), runScenario(s, 'amd-zen4', resolveKernelVariant('netbsd-10'))).join('\n');
    expect(d).toMatch(/mxcsr\.errno: base EINVAL, with ok/);
    expect(d).toMatch(/k1-short\.errno: base EFAULT, with ok/);
    expect(d).toContain(`buffer ymm3 opmask: base at ${zen4.components[XFeature.OPMASK]!.standardOffset}, with at 784`);
    expect(d).not.toMatch(/buffer ymm3 x87\.FCW/); // not compared byte by byte across formats
  });
});

describe('explain: struct xstate and the NetBSD core note', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xstate-netbsd-'));
  it('a NetBSD core is decoded from its PT_GETXSTATE note without --cpu; wrong-looking structs are flagged', () => {
    const l = lwpOn(zen4);
    const notes = netbsd_coredump_notes([l]).map((n) => ({ ...n, desc: n.desc ?? new Uint8Array(8) }));
    const core = join(dir, 'nb.core');
    writeFileSync(core, writeNotesCore(notes));
    const text = explain(undefined, core, {});
    expect(text).toContain('NetBSD-CORE@1 PT_GETXSTATE note: NetBSD struct xstate, 2384 bytes');
    expect(text).toMatch(/xs_rfbm +@0 +0x00000000000000e7/);
    expect(text).toContain('nothing looks wrong');
    const xs = readXs(l);
    put64(xs, XS_RFBM, BigInt(bit(XFeature.SSE) | bit(XFeature.PKRU)));
    put64(xs, XS_XSTATE_BV, BigInt(bit(XFeature.AVX)));
    xs[784] = 1;
    const raw = join(dir, 'xs.bin');
    writeFileSync(raw, xs.subarray(0, 1000));
    const bad = explain(undefined, raw, { format: 'netbsd-xstate' });
    expect(bad).toContain('outside xs_rfbm');
    expect(bad).toContain('outside XCR0_FPU');
    expect(bad).toContain('xs_opmask holds data although its xs_xstate_bv bit is clear');
    expect(bad).toContain('a prefix');
  });
});
