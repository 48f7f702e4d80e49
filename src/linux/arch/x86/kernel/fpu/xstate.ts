/**
 * /proc/<pid>/arch_status (arch/x86/kernel/fpu/xstate.c proc_pid_arch_status, Linux 6.18,
 * CONFIG_PROC_PID_ARCH_STATUS): the AVX-512 usage line, printed only when the kernel has
 * X86_FEATURE_AVX512F enabled.
 *
 * Linux prints the milliseconds since the last context switch that saved the task's state with
 * AVX-512 components in use (fpu->avx512_timestamp, update_avx_timestamp), or -1 when that never
 * happened. Named assumption `avx512-elapsed`: the model keeps no save timestamps; a task whose
 * AVX-512 state (opmask, ZMM_Hi256, Hi16_ZMM) is in use reads 0 ms, any other -1.
 *
 * x86_Thread_features and x86_Thread_features_locked (arch_proc_pid_thread_features,
 * CONFIG_X86_USER_SHADOW_STACK) are not in the modelled status: named assumption
 * `proc-no-user-shstk`, the build of the reference host, whose 6.18 status has no such lines
 * (measured); the model has no shadow stacks to report.
 */
import { X86Feature, bootCpuCaps } from '../../../../../../kernel-model/cpufeature.js';
import { XFeature } from '../../../../../../emulator/xfeatures.js';
import type { Kernel } from '../../../../kernel.js';
import type { Task } from '../../../../sched.js';

/** AVX512_TRACKING_MASK (arch/x86/kernel/fpu/xstate.h): the components whose use the timestamp records. */
const AVX512_TRACKING_MASK = (1 << XFeature.OPMASK) | (1 << XFeature.ZMM_HI256) | (1 << XFeature.HI16_ZMM);

/** proc_pid_arch_status: the text of /proc/<pid>/arch_status. */
export function proc_pid_arch_status(k: Kernel, t: Task): string {
  // cpu_feature_enabled(X86_FEATURE_AVX512F): the boot capabilities, and the xstate the kernel enabled for it.
  const avx512 = bootCpuCaps(k.o.cpu, k.o.kernel).has(X86Feature.AVX512F) && (k.fpuCfg.xcr0 & AVX512_TRACKING_MASK) === AVX512_TRACKING_MASK;
  if (!avx512) return '';
  const inUse = (t.fpu.regs.xinuseForSave() & k.fpuCfg.xcr0 & AVX512_TRACKING_MASK) !== 0;
  return `AVX512_elapsed_ms:\t${inUse ? 0 : -1}\n`;
}
