/**
 * `selfcheck kvm`: this host's /dev/kvm as referee for KVM's XSAVE ioctls (kernel-model/kvm.ts).
 * The probe (kvm-probe.c) creates a VM and a vCPU, once without and once with guest AMX
 * permission (ARCH_REQ_XCOMP_GUEST_PERM; one process each, since the first vCPU locks it). Each
 * case: KVM_SET_CPUID2 with a chosen CPUID.(0DH,0) XCR0, KVM_SET_XSAVE of a valid base image,
 * KVM_SET_XSAVE of a random mutation of the image KVM_GET_XSAVE2 then gives (header bits,
 * XCOMP_BV, reserved bytes, MXCSR, component data, PKRU with bit 9 set or clear, bits outside
 * supported_xcr0), KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_SET_XCRS of a random struct, KVM_GET_XCRS.
 * Every errno and byte is compared with the model running the same steps.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { AreaMap } from '../../emulator/area-map.js';
import { CpuModel, XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XFeature, bit, maskBits } from '../../emulator/xfeatures.js';
import { KVM_MAX_XCRS, KVM_XCRS_SIZE, KVM_XSAVE_REGION_SIZE, KvmCap, KvmHost, KvmVendorModule, type KvmVcpu } from '../../kernel-model/kvm.js';
import { closestVariantTo, type KernelVariant } from '../../kernel-model/variants.js';
import type { KernelSelfcheckOptions } from './kernel-selfcheck.js';
import { HostProbeError, buildNative } from '../native.js';
import { Prng } from './cases.js';
import { diffFields } from './cpu-selfcheck.js';

const MAGIC = 0x4b564d58;
/** struct hello in kvm-probe.c. */
const HELLO = 4 * 3 + 4 * 5 + 8 * 3 + 4 * 4 + 20 * 16;
const ERRNOS = 8;
/** Probe exit codes for a host without usable KVM. */
const NO_DEV_KVM = 5, NO_VM = 6, NO_VCPU = 7;
const FILL = 0xcc;

export interface KvmCase {
  cpuidXcr0: number;
  base: Uint8Array;
  buf: Uint8Array;
  xcrs: Uint8Array;
  what: string;
}

interface Outcome {
  errnos: number[];
  getXsave: Uint8Array;
  getXsave2: Uint8Array;
  xcrs: Uint8Array;
}

interface Hello {
  reqPermErr: number;
  reqPermAfterErr: number;
  capXsave: number;
  capXcrs: number;
  capXsave2: number;
  uabi: number;
  guestPermBefore: number;
  guestPermAfter: number;
  hostXcr0: number;
  cpuidD: ([number, number, number, number] | undefined)[];
  freshGet: Uint8Array;
  freshXcrs: Uint8Array;
}

export interface KvmSelfcheckOptions extends KernelSelfcheckOptions {
  /** Default: both settings; cases are split between them. */
  amx?: boolean[];
}

/** Which vendor module serves /dev/kvm here (/sys/module/<name>). */
export function hostKvmVendor(): KvmVendorModule {
  for (const v of [KvmVendorModule.KvmPvm, KvmVendorModule.KvmIntel, KvmVendorModule.KvmAmd]) if (existsSync(`/sys/module/${v}`)) return v;
  return KvmVendorModule.KvmIntel;
}

function runProbe(amx: boolean, input: Buffer): Buffer {
  const exe = buildNative('selfcheck/kvm-probe.c');
  const res = spawnSync(exe, [amx ? '1' : '0'], { input, maxBuffer: 1 << 30 });
  const why = res.stderr?.toString().trim();
  if (res.status === NO_DEV_KVM) throw new HostProbeError(`this host has no usable /dev/kvm (${why}): KVM's XSAVE ioctls cannot be refereed here`);
  if (res.status === NO_VM || res.status === NO_VCPU) throw new HostProbeError(`/dev/kvm is there but ${why}: KVM's XSAVE ioctls cannot be refereed here`);
  if (res.status !== 0) throw new HostProbeError(`the KVM probe stopped (${res.status ?? res.signal}): ${why}`);
  return res.stdout;
}

function parseHello(b: Buffer): Hello {
  if (b.length < HELLO || b.readUInt32LE(0) !== MAGIC) throw new HostProbeError('the KVM probe answered nothing usable');
  const present = b.readUInt32LE(56);
  const cpuidD = Array.from({ length: 20 }, (_, i) => ((present >>> i) & 1 ? ([0, 1, 2, 3].map((k) => b.readUInt32LE(72 + 16 * i + 4 * k)) as [number, number, number, number]) : undefined));
  return {
    reqPermErr: b.readInt32LE(4), reqPermAfterErr: b.readInt32LE(8), capXsave: b.readUInt32LE(12), capXcrs: b.readUInt32LE(16),
    capXsave2: b.readUInt32LE(20), uabi: b.readUInt32LE(28),
    guestPermBefore: Number(b.readBigUInt64LE(32) & 0xffffffffn), guestPermAfter: Number(b.readBigUInt64LE(40) & 0xffffffffn), hostXcr0: Number(b.readBigUInt64LE(48) & 0xffffffffn),
    cpuidD, freshGet: new Uint8Array(b.subarray(HELLO, HELLO + KVM_XSAVE_REGION_SIZE)), freshXcrs: new Uint8Array(b.subarray(HELLO + KVM_XSAVE_REGION_SIZE, HELLO + KVM_XSAVE_REGION_SIZE + KVM_XCRS_SIZE)),
  };
}

/** The model's side of the probe's set-up: permission request, VM, vCPU, the same questions. */
function modelSetup(cpu: CpuModel, v: KernelVariant, vendor: KvmVendorModule, amx: boolean): { host: KvmHost; vcpu: KvmVcpu; hello: Hello } {
  const host = new KvmHost(cpu, v, vendor);
  const reqPermErr = amx ? host.arch_req_xcomp_guest_perm(XFeature.TILEDATA) : -1;
  const guestPermBefore = host.arch_get_xcomp_guest_perm();
  const vm = host.createVm();
  const capXsave2 = vm.kvm_check_extension(KvmCap.KVM_CAP_XSAVE2);
  const vcpu = vm.createVcpu();
  const reqPermAfterErr = host.arch_req_xcomp_guest_perm(XFeature.TILEDATA);
  const fresh = vcpu.kvm_vcpu_ioctl_x86_get_xsave();
  return {
    host, vcpu,
    hello: {
      reqPermErr, reqPermAfterErr, capXsave: vm.kvm_check_extension(KvmCap.KVM_CAP_XSAVE), capXcrs: vm.kvm_check_extension(KvmCap.KVM_CAP_XCRS), capXsave2,
      uabi: Math.max(capXsave2, KVM_XSAVE_REGION_SIZE, host.cfg.user.maxSize), guestPermBefore, guestPermAfter: host.arch_get_xcomp_guest_perm(), hostXcr0: host.cfg.xcr0,
      cpuidD: Array.from({ length: 20 }, (_, i) => host.supportedCpuidLeafD(i)),
      freshGet: fresh.data ?? new Uint8Array(KVM_XSAVE_REGION_SIZE), freshXcrs: vcpu.kvm_vcpu_ioctl_x86_get_xcrs(),
    },
  };
}

const put32 = (a: Uint8Array, o: number, v: number): void => new DataView(a.buffer, a.byteOffset).setUint32(o, v >>> 0, true);
const get32 = (a: Uint8Array, o: number): number => new DataView(a.buffer, a.byteOffset).getUint32(o, true);
const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** A valid image for the guest: random legacy and component bytes, MXCSR within the mask, XSTATE_BV within what the guest fpstate takes. */
function baseImage(r: Prng, cpu: CpuModel, vcpu: KvmVcpu, uabi: number): Uint8Array {
  const a = new Uint8Array(uabi);
  const user = (vcpu.guestFpu.fpstate.userXfeatures & vcpu.host.supportedXcr0) >>> 0;
  r.fill(a, 0, LEGACY.END_OF_SAVED);
  put32(a, LEGACY.MXCSR, r.next() & vcpu.host.cfg.mxcsrFeatureMask);
  for (const c of cpu.extendedComponents) if (!c.supervisor && (user >>> c.number) & 1) r.fill(a, c.standardOffset, c.standardOffset + c.size);
  put32(a, XSAVE_HEADER_OFFSET, r.chance(0.2) ? user : r.subset(user));
  return a;
}

/** A random struct kvm_xcrs: mostly one XCR0 entry, valid or breaking one of __kvm_set_xcr's rules. */
function randomXcrs(r: Prng, host: KvmHost): { xcrs: Uint8Array; what: string } {
  const b = new Uint8Array(KVM_XCRS_SIZE);
  const dv = new DataView(b.buffer);
  const sup = host.supportedXcr0;
  const value = (): bigint => {
    switch (r.below(6)) {
      case 0: return BigInt(sup);
      case 1: return BigInt(r.subset(sup) | 1);
      case 2: return BigInt(r.subset(sup));
      case 3: return BigInt((r.subset(sup) | bit(r.below(32))) >>> 0);
      case 4: return (BigInt(r.next()) << 32n) | BigInt(r.subset(sup) | 1);
      default: return BigInt(r.pick([1, 3, 5, 7, 0x27, 0x67, 0xe7, 0x207, 0x2e7, 0x20003, 0x60003, 0x18, 0x1b]));
    }
  };
  const nr = r.chance(0.85) ? 1 : r.pick([0, 2, 3, KVM_MAX_XCRS, KVM_MAX_XCRS + 1]);
  dv.setUint32(0, nr, true);
  if (r.chance(0.05)) dv.setUint32(4, 1 << r.below(32), true);
  const parts: string[] = [];
  for (let i = 0; i < Math.min(nr, KVM_MAX_XCRS); i++) {
    const xcr = r.chance(0.8) ? 0 : r.pick([1, 2, 0x80000000, r.next()]);
    const val = value();
    dv.setUint32(8 + 16 * i, xcr, true);
    if (r.chance(0.1)) dv.setUint32(8 + 16 * i + 4, r.next(), true); // reserved: not checked
    dv.setBigUint64(8 + 16 * i + 8, val, true);
    parts.push(`XCR${xcr}=${hex(val)}`);
  }
  return { xcrs: b, what: `SET_XCRS nr ${nr}${dv.getUint32(4, true) ? ` flags ${hex(dv.getUint32(4, true))}` : ''} ${parts.join(' ')}` };
}

/** The next case, generated against the model's vCPU as it stands (the host's follows the same steps). */
function nextCase(r: Prng, cpu: CpuModel, host: KvmHost, vcpu: KvmVcpu, uabi: number): KvmCase {
  const notes: string[] = [];
  const filtered = host.kvm_get_filtered_xcr0();
  // The guest CPUID's XCR0: a subset of what KVM_GET_SUPPORTED_CPUID offers, sometimes with bits KVM masks off.
  let cpuidXcr0 = r.chance(0.3) ? filtered : (r.subset(filtered) | 3) >>> 0;
  if (r.chance(0.1)) cpuidXcr0 = (cpuidXcr0 | r.pick([bit(XFeature.PT), bit(XFeature.CET_U), bit(13), 1 << 30])) >>> 0;
  // Rarely ask for AMX tile data the process may not have: -EPERM from KVM_SET_CPUID2 then.
  if (r.chance(0.03) && cpu.components[XFeature.TILEDATA]) cpuidXcr0 = (cpuidXcr0 | bit(XFeature.TILECFG) | bit(XFeature.TILEDATA)) >>> 0;
  notes.push(`CPUID XCR0 ${hex(cpuidXcr0)}`);
  // Run the model's first steps to learn the image the host's GET_XSAVE2 gives after the base.
  const probe = structuredCloneVcpu(vcpu);
  probe.kvm_vcpu_ioctl_set_cpuid2_leaf_d(cpuidXcr0);
  const base = baseImage(r, cpu, probe, uabi);
  probe.kvm_vcpu_ioctl_x86_set_xsave(base);
  const img = new Uint8Array(uabi);
  img.set(probe.kvm_vcpu_ioctl_x86_get_xsave2());
  const buf = img;
  const sup = host.supportedXcr0;
  const pk = cpu.components[XFeature.PKRU];
  const bvOf = (): number => get32(buf, XSAVE_HEADER_OFFSET);
  for (let n = 1 + r.below(3); n > 0; n--) {
    switch (r.below(10)) {
      case 0: { const x = r.subset(sup); put32(buf, XSAVE_HEADER_OFFSET, x); notes.push(`XSTATE_BV ${hex(x)}`); break; }
      case 1: {
        const extra = r.pick([bit(XFeature.TILEDATA), bit(XFeature.TILECFG), bit(XFeature.CET_U), bit(XFeature.CET_S), bit(XFeature.PT), bit(XFeature.BNDREGS), bit(XFeature.PASID), 1 << 30]);
        put32(buf, XSAVE_HEADER_OFFSET, bvOf() | extra);
        if (r.chance(0.2)) buf[XSAVE_HEADER_OFFSET + 4 + r.below(4)] |= 1 << r.below(8);
        notes.push(`XSTATE_BV |= ${hex(extra)}`);
        break;
      }
      case 2: { buf[XSAVE_HEADER_OFFSET + 8 + r.below(8)] = 1 << r.below(8); notes.push('XCOMP_BV'); break; }
      case 3: { const o = XSAVE_HEADER_OFFSET + 16 + r.below(48); buf[o] = 1 + r.below(255); notes.push(`header byte ${o}`); break; }
      case 4: { put32(buf, LEGACY.MXCSR, r.chance(0.5) ? r.next() : r.next() & host.cfg.mxcsrFeatureMask); notes.push('MXCSR'); break; }
      case 5: {
        const c = r.pick(maskBits(sup));
        const info = c >= 2 ? cpu.components[c] : undefined;
        if (c === XFeature.X87) r.fill(buf, 0, LEGACY.XMM0);
        else if (c === XFeature.SSE) r.fill(buf, LEGACY.XMM0, LEGACY.END_OF_SAVED);
        else if (info) r.fill(buf, info.standardOffset, info.standardOffset + info.size);
        notes.push(`data of component ${c}`);
        break;
      }
      case 6: { r.fill(buf, LEGACY.END_OF_SAVED, XSAVE_HEADER_OFFSET); notes.push('bytes 416..511'); break; }
      case 7: { r.fill(buf, cpu.standardSize(sup), uabi); notes.push('bytes after the standard area'); break; }
      default: {
        if (!pk) break;
        // The vCPU never runs: any PKRU can be loaded, key 0 included.
        put32(buf, pk.standardOffset, r.next());
        const set = r.chance(0.5);
        put32(buf, XSAVE_HEADER_OFFSET, set ? bvOf() | bit(XFeature.PKRU) : bvOf() & ~bit(XFeature.PKRU));
        notes.push(`PKRU, bit 9 ${set ? 'set' : 'clear'}`);
        break;
      }
    }
  }
  const x = randomXcrs(r, host);
  return { cpuidXcr0, base, buf, xcrs: x.xcrs, what: `${notes.join(', ')}; ${x.what}` };
}

/** A copy of a model vCPU (same host object) to look ahead without changing it. */
function structuredCloneVcpu(v: KvmVcpu): KvmVcpu {
  const c = Object.create(Object.getPrototypeOf(v)) as KvmVcpu;
  Object.assign(c, v);
  (c as { guestFpu: KvmVcpu['guestFpu'] }).guestFpu = { ...v.guestFpu, fpstate: { ...v.guestFpu.fpstate, regs: v.guestFpu.fpstate.regs.slice() } };
  return c;
}

/** The model's answer to one case, advancing its vCPU. */
function runModelCase(vcpu: KvmVcpu, c: KvmCase, uabi: number): Outcome {
  const errnos = [vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(c.cpuidXcr0), vcpu.kvm_vcpu_ioctl_x86_set_xsave(c.base).errno, vcpu.kvm_vcpu_ioctl_x86_set_xsave(c.buf).errno];
  const g1 = vcpu.kvm_vcpu_ioctl_x86_get_xsave();
  const getXsave = new Uint8Array(KVM_XSAVE_REGION_SIZE).fill(FILL);
  if (g1.data) getXsave.set(g1.data);
  const getXsave2 = new Uint8Array(uabi).fill(FILL);
  getXsave2.set(vcpu.kvm_vcpu_ioctl_x86_get_xsave2());
  errnos.push(g1.errno, 0, vcpu.kvm_vcpu_ioctl_x86_set_xcrs(c.xcrs).errno, 0, 0);
  return { errnos, getXsave, getXsave2, xcrs: vcpu.kvm_vcpu_ioctl_x86_get_xcrs() };
}

const ERRNO_NAMES = ['SET_CPUID2', 'SET_XSAVE(base)', 'SET_XSAVE', 'GET_XSAVE', 'GET_XSAVE2', 'SET_XCRS', 'GET_XCRS'];

function compareHello(cpu: CpuModel, h: Hello, m: Hello, map: AreaMap): string[] {
  const d: string[] = [];
  for (const k of ['reqPermErr', 'reqPermAfterErr', 'capXsave', 'capXcrs', 'capXsave2', 'guestPermBefore', 'guestPermAfter', 'hostXcr0'] as const) {
    if (h[k] !== m[k]) d.push(`${k}: kernel ${hex(h[k])}, model ${hex(m[k])}`);
  }
  for (let i = 0; i < 20; i++) {
    const a = h.cpuidD[i]?.map(hex).join(' ') ?? 'absent', b = m.cpuidD[i]?.map(hex).join(' ') ?? 'absent';
    if (a !== b) d.push(`KVM_GET_SUPPORTED_CPUID 0xd.${i}: kernel ${a}, model ${b}`);
  }
  for (const f of diffFields(cpu, map, 'fresh', h.freshGet, m.freshGet)) d.push(`fresh vCPU KVM_GET_XSAVE ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
  if (Buffer.compare(Buffer.from(h.freshXcrs), Buffer.from(m.freshXcrs))) d.push('fresh vCPU KVM_GET_XCRS differs');
  return d;
}

export function runKvmSelfcheck(o: KvmSelfcheckOptions): { cases: number; mismatches: number; variant: string } {
  const { cpu, log } = o;
  const v = o.variant ?? closestVariantTo(release());
  const vendor = hostKvmVendor();
  const settings = o.amx ?? [false, true];
  log(`xstate-lab selfcheck kvm --cases ${o.cases} --seed ${o.seed}`);
  const map = new AreaMap(cpu, { compacted: false, rexW: true });
  const r = new Prng(o.seed);
  let mismatches = 0, shown = 0, total = 0;
  const byKind = new Map<string, number>();
  const errs = new Map<string, number>();
  const report = (what: string, d: string[]): void => {
    mismatches++;
    for (const x of d) { const key = x.replace(/0x[0-9a-f]+|\d+/g, 'N').replace(/: kernel.*/, ''); byKind.set(key, (byKind.get(key) ?? 0) + 1); }
    if (shown++ < (o.detail ?? 5)) { log(`MISMATCH ${what}`); for (const x of d.slice(0, 10)) log(`  ${x}`); }
  };
  settings.forEach((amx, si) => {
    const n = Math.floor(o.cases / settings.length) + (si < o.cases % settings.length ? 1 : 0);
    const hostHello = parseHello(runProbe(amx, Buffer.alloc(0)));
    const { host, vcpu, hello } = modelSetup(cpu, v, vendor, amx);
    const uabi = hostHello.uabi;
    log(`${amx ? 'with' : 'without'} guest AMX permission (ARCH_REQ_XCOMP_GUEST_PERM: ${amx ? (hostHello.reqPermErr ? `errno ${hostHello.reqPermErr}` : 'ok') : 'not asked'}): `
      + `vendor module ${vendor}, kvm_caps.supported_xcr0 ${hex(host.supportedXcr0)} (model), KVM_CAP_XSAVE2 host ${hostHello.capXsave2} model ${hello.capXsave2}, guest permission ${hex(hostHello.guestPermAfter)}`);
    const hd = compareHello(cpu, hostHello, hello, map);
    if (hd.length) report(`set-up (${amx ? 'with' : 'without'} AMX permission)`, hd);
    if (hello.uabi !== uabi) { log(`cannot continue: the host's KVM_XSAVE2 size ${uabi} is not the model's ${hello.uabi}`); return; }
    const cases: KvmCase[] = [];
    const outcomes: Outcome[] = [];
    for (let k = 0; k < n; k++) {
      const c = nextCase(r, cpu, host, vcpu, uabi);
      cases.push(c);
      outcomes.push(runModelCase(vcpu, c, uabi));
    }
    const input = Buffer.concat(cases.flatMap((c) => { const h = Buffer.alloc(8); h.writeUInt32LE(c.cpuidXcr0, 0); return [h, Buffer.from(c.base), Buffer.from(c.buf), Buffer.from(c.xcrs)]; }));
    const out = runProbe(amx, input).subarray(HELLO + KVM_XSAVE_REGION_SIZE + KVM_XCRS_SIZE);
    const rec = 4 * ERRNOS + KVM_XSAVE_REGION_SIZE + uabi + KVM_XCRS_SIZE;
    if (out.length !== rec * n) throw new HostProbeError(`the KVM probe answered ${out.length} bytes for ${n} cases, expected ${rec * n}`);
    cases.forEach((c, k) => {
      const at = k * rec;
      const h: Outcome = {
        errnos: Array.from({ length: ERRNOS }, (_, i) => out.readInt32LE(at + 4 * i)),
        getXsave: new Uint8Array(out.subarray(at + 32, at + 32 + KVM_XSAVE_REGION_SIZE)),
        getXsave2: new Uint8Array(out.subarray(at + 32 + KVM_XSAVE_REGION_SIZE, at + 32 + KVM_XSAVE_REGION_SIZE + uabi)),
        xcrs: new Uint8Array(out.subarray(at + rec - KVM_XCRS_SIZE, at + rec)),
      };
      const m = outcomes[k];
      const d: string[] = [];
      h.errnos.slice(0, 7).forEach((e, i) => {
        const key = `${ERRNO_NAMES[i]} ${e === 0 ? 'ok' : `errno ${e}`}`;
        errs.set(key, (errs.get(key) ?? 0) + 1);
        if (e !== m.errnos[i]) d.push(`${ERRNO_NAMES[i]} errno: kernel ${e}, model ${m.errnos[i]}`);
      });
      for (const f of diffFields(cpu, map, 'get', h.getXsave, m.getXsave)) d.push(`KVM_GET_XSAVE ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
      for (const f of diffFields(cpu, map, 'get2', h.getXsave2, m.getXsave2)) d.push(`KVM_GET_XSAVE2 ${f.component}.${f.field}: kernel ${f.expected}, model ${f.got}`);
      for (let b = 0; b < KVM_XCRS_SIZE; b += 8) {
        const hv = Buffer.from(h.xcrs).readBigUInt64LE(b), mv = Buffer.from(m.xcrs).readBigUInt64LE(b);
        if (hv !== mv) d.push(`KVM_GET_XCRS bytes ${b}..${b + 7}: kernel ${hex(hv)}, model ${hex(mv)}`);
      }
      if (d.length) report(`case ${total + k} (${amx ? 'with' : 'without'} AMX permission): ${c.what}`, d);
    });
    total += n;
  });
  if (byKind.size) { log('mismatches by field:'); for (const [k, c] of [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 20)) log(`  ${String(c).padStart(6)}  ${k}`); }
  log(`host results: ${[...errs].sort().map(([k, c]) => `${k} x${c}`).join(', ')}`);
  log(`kvm selfcheck: ${total} cases, ${mismatches} mismatches, host kernel ${release()}, variant ${v.id}`);
  return { cases: total, mismatches, variant: v.id };
}
