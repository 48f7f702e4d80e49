/**
 * The `exec` command's definition (options and help), apart from src/commands/exec.ts, which runs
 * it: the command line loads the machine, the kernel model and their hundred modules only when
 * `exec` runs (start-up, README "Speed").
 */
import { Option, type Command } from 'commander';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { KvmVendorModule } from '../../kernel-model/kvm-vendor.js';
import { DEFAULT_KERNEL_VARIANT, KERNEL_VARIANTS, KernelPersonality } from '../../kernel-model/variants.js';

export { KvmVendorModule };
/** --kvm-vendor none: the guest finds no /dev/kvm. */
export const KVM_VENDOR_NONE = 'none';
/** Default instruction budget: a runaway guest stops after about this many instructions. */
export const DEFAULT_MAX_INSNS = 1_000_000_000n;
/** The highest TCP port number. */
export const MAX_TCP_PORT = 65535;
/** `exec -g`: loopback only; the guest is untrusted and the stub gives full control of it (never another address). */
export const GDB_STUB_HOST = '127.0.0.1';

/** The options `exec` takes. */
export interface ExecCommandOptions { cpu: string; kernel: string; boot?: string; kconfig: string[]; kernelBehaviours?: string; maxInsns?: string; trace?: boolean; core?: string; file: string[]; env: string[]; kvmVendor?: string; gdb?: string }

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds `exec` to the command line; `cpuArg` resolves `--cpu` as every other command does. */
export function registerExec(program: Command, cpuArg: (arg: string) => Promise<CpuModel>): void {
  program.enablePositionalOptions();
  program.command('exec').description('run a static x86-64 program (or a .S/.s file) on the modelled CPU, like qemu-x86_64')
    .argument('<program>', 'static x86-64 ELF, or assembly (.S through the C preprocessor, .s plain)')
    .argument('[args...]', 'arguments for the guest')
    .option('--cpu <cpu>', 'profile id, profile file, CPUID dump, or "host"', 'host')
    .option('--kernel <variant>', `kernel variant (${KERNEL_VARIANTS.filter((k) => k.personality === KernelPersonality.Linux).map((k) => k.id).join(', ')})`, DEFAULT_KERNEL_VARIANT)
    .option('--max-insns <n>', `instruction budget; the guest gets SIGXCPU when it runs out (default ${DEFAULT_MAX_INSNS})`)
    .option('--trace', 'print every trapped instruction and system call on stderr')
    .option('--core <file>', 'write an ELF core there if the guest dies of a core-dumping signal (never overwrites a file)')
    .option('--file <path>', 'a host file the guest may open (read-only); repeatable', collect, [])
    .option('-E, --env <var=value>', 'an environment variable for the guest (the guest gets no other); repeatable', collect, [])
    .option('--kvm-vendor <module>', `the KVM vendor module behind the guest's /dev/kvm (${Object.values(KvmVendorModule).join(', ')}), or ${KVM_VENDOR_NONE} for no /dev/kvm; default: the profile's vendor (kvm_intel, kvm_amd); with --cpu host the module /sys/module shows loaded, and if none is, the guest finds no /dev/kvm unless this option names one (kvm_pvm: the PVM module)`)
    .option('--boot <options>', 'kernel command-line options the kernel is booted with (space-separated: noxsave, noxsaveopt, noxsaves, nopku, nousershstk, nofsgsbase, clearcpuid=X[,X...], setcpuid=X[,X...]; kernel list shows them)')
    .option('-g, --gdb <port>', `stop before the first instruction and wait for GDB's remote protocol on ${GDB_STUB_HOST}:PORT (as qemu-user -g; loopback only; 0 picks a free port, printed on stderr)`)
    .option('--kconfig <CONFIG_X=n>', 'a kernel configuration setting other than the model\'s assumed one (kernel list shows them); repeatable', collect, [])
    .addOption(new Option('--kernel-behaviours <ids>', 'run with exactly these named behaviours on the --kernel release (how scenarios run patched variants)').hideHelp())
    .passThroughOptions()
    .action(async (prog: string, args: string[], o: ExecCommandOptions) => (await import('./exec.js')).execCommand(prog, args, o, cpuArg));
}
