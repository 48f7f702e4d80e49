/**
 * /proc/cpuinfo (arch/x86/kernel/cpu/proc.c show_cpuinfo, Linux 6.18) of the modelled CPUs: one
 * block per CPU of the modelled topology (src/linux/kernel/sched/affinity.ts), every field from
 * the profile's CPUID and the kernel model, nothing from the host.
 *
 * - vendor_id, cpu family / model / stepping (x86_family, x86_model: the extended fields from
 *   family 0FH resp. 6), model name (the brand string, CPUID 80000002H-80000004H, with leading
 *   blanks dropped, get_model_name), cpuid level (CPUID.0:EAX), clflush size and
 *   cache_alignment (CPUID.01H:EBX[15:8] * 8), address sizes (CPUID.80000008H:EAX),
 *   cache size (AMD: CPUID.80000006H:ECX[31:16] KB, the L2, cpu_detect_cache_sizes; Intel: the
 *   largest cache of CPUID leaf 4, init_intel_cacheinfo), fpu / fpu_exception (X86_FEATURE_FPU).
 * - flags: the capture's /proc/cpuinfo flags when the profile was captured under this kernel
 *   variant and it is not booted with options (then what the kernel showed is what it shows);
 *   else the names of the features the model tracks (kernel-model/cpufeature.ts) that the
 *   kernel keeps after boot: a partial list, named assumption `cpuinfo-flags-partial`.
 * - Named assumptions: `cpuinfo-mhz` (cpu MHz 1000.000 and bogomips 2000.00, the 1 GHz TSC of
 *   assumption `modelled-tsc`); `cpuinfo-topology` (one package, one thread per core: physical id
 *   0, core id = apicid = the CPU number); `cpuinfo-no-bugs` (an empty bugs line: the model has no
 *   speculation); no microcode and TLB size lines (the model has no microcode revision or TLB).
 */
import { X86Feature, FEATURES, bootCpuCaps } from '../../../../kernel-model/cpufeature.js';
import { captureIsOfVariant } from '../../../../kernel-model/kernel-view.js';
import type { Kernel } from '../../kernel.js';

const BRAND_LEAVES = [0x80000002, 0x80000003, 0x80000004];
/** CPUID.80000007H:EDX bits and their names (arch/x86/kernel/cpu/proc.c x86_power_flags). */
const POWER_FLAGS = ['ts', 'fid', 'vid', 'ttp', 'tm', 'stc', '100mhzsteps', 'hwpstate', '', 'cpb', 'eff_freq_ro', 'proc_feedback', 'acc_power'];
/** Modelled clock (assumption `cpuinfo-mhz`): the 1 GHz TSC. */
const MODELLED_MHZ = '1000.000';
const MODELLED_BOGOMIPS = '2000.00';
/** CPUID leaf 4's cache type field: 0 ends the list. */
const CACHE_TYPE_NULL = 0;

/** The text of /proc/cpuinfo. */
export function show_cpuinfo(k: Kernel): string {
  const cpu = k.o.cpu;
  const has = (leaf: number, sub = 0): boolean => cpu.cpuid.has(leaf, sub);
  const q = (leaf: number, sub = 0): readonly number[] => (has(leaf, sub) ? cpu.cpuid.get(leaf, sub) : [0, 0, 0, 0]);
  const [maxLeaf, vb, vc, vd] = q(0) as [number, number, number, number];
  const vendor = Buffer.alloc(12);
  vendor.writeUInt32LE(vb >>> 0, 0); vendor.writeUInt32LE(vd >>> 0, 4); vendor.writeUInt32LE(vc >>> 0, 8);
  const sig = q(1)[0]! >>> 0;
  let family = (sig >> 8) & 0xf;
  if (family === 0xf) family += (sig >> 20) & 0xff;
  let model = (sig >> 4) & 0xf;
  if (family >= 0x6) model += ((sig >> 16) & 0xf) << 4;
  const stepping = sig & 0xf;
  const brandBytes = Buffer.alloc(48);
  if (has(0x80000004)) BRAND_LEAVES.forEach((l, i) => q(l).forEach((r, j) => brandBytes.writeUInt32LE(r >>> 0, 16 * i + 4 * j)));
  const nul = brandBytes.indexOf(0);
  const brand = brandBytes.subarray(0, nul < 0 ? 48 : nul).toString('latin1').replace(/^ +/, '').replace(/ +$/, '');
  const clflush = ((q(1)[1]! >>> 8) & 0xff) * 8;
  const addr = q(0x80000008)[0]! >>> 0;
  const vendorId = vendor.toString('latin1');
  let cacheKb = 0;
  if (vendorId === 'AuthenticAMD' || vendorId === 'HygonGenuine') cacheKb = q(0x80000006)[2]! >>> 16;
  else if (maxLeaf >= 4) {
    for (let sub = 0; has(4, sub); sub++) {
      // Ways, partitions, line size and sets, each field plus one (SDM Vol. 2A CPUID leaf 04H).
      const [a, b, c] = q(4, sub) as [number, number, number, number];
      if ((a & 0x1f) === CACHE_TYPE_NULL) break;
      const bytes = (((b >>> 22) & 0x3ff) + 1) * (((b >>> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) * ((c >>> 0) + 1);
      cacheKb = Math.max(cacheKb, bytes / 1024);
    }
  }
  const caps = bootCpuCaps(cpu, k.o.kernel);
  const fpu = caps.has(X86Feature.FPU) ? 'yes' : 'no';
  const captured = cpu.profile.kernel?.cpuinfo_flags;
  const flags = captured && captureIsOfVariant(cpu, k.o.kernel) && !k.o.kernel.booted
    ? captured
    : Object.values(X86Feature).filter((f) => caps.has(f) && !FEATURES[f].synthetic).map(String);
  const pm = POWER_FLAGS.filter((n, b) => n && ((q(0x80000007)[3]! >>> b) & 1));
  const n = k.topo.nrCpuIds;
  let s = '';
  for (let c = 0; c < n; c++) {
    s += [
      `processor\t: ${c}`, `vendor_id\t: ${vendorId}`, `cpu family\t: ${family}`, `model\t\t: ${model}`, `model name\t: ${brand || 'unknown'}`,
      `stepping\t: ${stepping}`, `cpu MHz\t\t: ${MODELLED_MHZ}`, ...(cacheKb ? [`cache size\t: ${cacheKb} KB`] : []),
      'physical id\t: 0', `siblings\t: ${n}`, `core id\t\t: ${c}`, `cpu cores\t: ${n}`, `apicid\t\t: ${c}`, `initial apicid\t: ${c}`,
      `fpu\t\t: ${fpu}`, `fpu_exception\t: ${fpu}`, `cpuid level\t: ${maxLeaf}`, 'wp\t\t: yes',
      `flags\t\t: ${flags.join(' ')}`, 'bugs\t\t:', `bogomips\t: ${MODELLED_BOGOMIPS}`,
      `clflush size\t: ${clflush}`, `cache_alignment\t: ${clflush}`, `address sizes\t: ${addr & 0xff} bits physical, ${(addr >> 8) & 0xff} bits virtual`,
      `power management:${pm.map((x) => ` ${x}`).join('')}`, '', '',
    ].join('\n');
  }
  return s;
}
