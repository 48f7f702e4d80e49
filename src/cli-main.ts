/**
 * The xstate-lab command line (src/cli.ts starts it: from the exec bundle for `exec`, from these
 * modules otherwise; README "Speed").
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuModel } from '../emulator/cpu-model.js';
import { InputError } from './errors.js';
import type { RefereeScope } from './selfcheck/host-match.js';
import type { RunOptions } from './commands/run.js';
import { registerExec } from './commands/exec-command.js';
import { PACKAGE_ROOT } from './paths.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_STATUS_HELP } from './exit-codes.js';

// Each command loads what it needs when it runs (dynamic import()), so that `--help` or `exec`
// does not load every command's modules: loading modules was most of the start-up (README "Speed").

/** `selfcheck insn --cases N` runs N vector instructions and N / 5 general-instruction cases. */
const GENERAL_CASES_DIVISOR = 5;

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got '${v}'`);
  return n;
}

/**
 * `--cpu host` captures this machine; anything else is an id, a profile file or a dump. `place`
 * is the option or argument the value came from, named in errors (resolveCpu says `--cpu`).
 */
async function cpuArg(arg: string, place = '--cpu'): Promise<CpuModel> {
  try {
    return arg === 'host' ? (await import('./host/capture.js')).hostCpuModel() : (await import('../emulator/profile.js')).resolveCpu(arg);
  } catch (e) {
    if (e instanceof InputError && e.file === '<command line>' && e.place === '--cpu' && place !== '--cpu') throw new InputError(e.file, place, e.detail);
    throw e;
  }
}

/** An optional mask option: absent gives undefined; given, even empty, it must parse. */
const maskOpt = async (v: string | undefined, what: string): Promise<number | undefined> => (v === undefined ? undefined : (await import('./commands/layout.js')).parseMask(v, what));
/** The `cpu` command group's module. */
const cpuCommands = (): Promise<typeof import('./commands/cpu.js')> => import('./commands/cpu.js');

/** Whatever commander would print on stderr (usage errors, help after an error): we print one line instead. */
let commanderStderr = '';
const program = new Command();
program.name('xstate-lab').description('A laboratory for the x86 extended-state (XSAVE) ABI')
  .version((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version, '-V, --version', 'print the version and exit')
  .addHelpText('afterAll', `\n${EXIT_STATUS_HELP}`)
  // Set before any subcommand is made: subcommands inherit both.
  .exitOverride()
  .configureOutput({ writeErr: (s) => { commanderStderr += s; }, outputError: () => undefined });

const cpu = program.command('cpu').description('CPU profiles');
cpu.command('list').description('list the built-in CPU profiles').option('--json', 'JSON (format xstate-lab.cpu-list/1)')
  .action(async (o: { json?: boolean }) => { const m = await cpuCommands(); console.log(o.json ? JSON.stringify(m.cpuListJson(), null, 2) : m.cpuList()); });
cpu.command('show').argument('<cpu>', 'profile id, profile file, CPUID dump, or "host"').description('show a profile and what is derived from it').action(async (id: string) => console.log((await cpuCommands()).cpuShow(await cpuArg(id, 'CPU'))));
cpu.command('quirks').description('list the named CPU quirks').action(async () => console.log((await cpuCommands()).cpuQuirks()));
cpu.command('capture').description("capture this host's profile: CPUID leaves, CPL-3 faults and quirks measured by probes, the kernel's view")
  .option('-o, --output <file>', 'write to a new file').option('--id <id>', 'profile id (default host-<vendor>-f<family>-m<model>-s<stepping>)')
  .action(async (o: { output?: string; id?: string }) => console.log((await cpuCommands()).cpuCapture(o.output, o.id)));
cpu.command('import').argument('<dump>', '`cpuid -r` output or an InstLatx64 CPUID dump').description('turn a CPUID dump into a profile')
  .option('-o, --output <file>', 'write to a new file').option('--id <id>', 'profile id').option('--logical-cpu <n>', 'which logical CPU of the dump', int)
  .action(async (file: string, o: { output?: string; id?: string; logicalCpu?: number }) => console.log((await cpuCommands()).cpuImport(file, o.output, o.id, o.logicalCpu)));

program.command('layout').description('the XSAVE area of a CPU: offsets, sizes, holes, padding')
  .requiredOption('--cpu <cpu>', 'profile id, profile file, CPUID dump, or "host"')
  .option('--xcr0 <mask>', 'XCR0 (default: every user component the CPU supports)')
  .option('--xss <mask>', 'IA32_XSS (compacted only; default 0)')
  .option('--compacted', 'the compacted format (XSAVEC/XSAVES)')
  .option('--json', 'stable JSON (format xstate-lab.layout/1)')
  .action(async (o: { cpu: string; xcr0?: string; xss?: string; compacted?: boolean; json?: boolean }) => {
    const { computeLayout, formatLayout } = await import('./commands/layout.js');
    const c = await cpuArg(o.cpu);
    const l = computeLayout(c, (await maskOpt(o.xcr0, '--xcr0')) ?? c.xcr0Supported, (await maskOpt(o.xss, '--xss')) ?? 0, !!o.compacted);
    console.log(o.json ? JSON.stringify(l, null, 2) : formatLayout(l));
  });

program.command('explain').argument('[file]', 'a buffer to decode: ptrace dump, signal-frame fpstate, ELF core, XSAVE/XSAVEC image')
  .description('the XSAVE area of a CPU described and drawn, or a real buffer decoded field by field')
  .option('--cpu <cpu>', 'profile id, profile file, CPUID dump, or "host" (required unless FILE is an ELF core with NT_X86_XSAVE_LAYOUT)')
  .option('--xcr0 <mask>', 'XCR0 (default: what Linux enables on the CPU)').option('--xss <mask>', 'IA32_XSS for the compacted column (default 0)')
  .option('--html <file>', 'write one self-contained HTML page with inline SVG to a new file')
  .option('--format <f>', 'auto|ptrace|sigframe|core-note|xsave|compacted|netbsd-xstate (FILE only; a NetBSD core is found by its notes)').option('--kernel <variant>', 'kernel variant whose XCR0 choice applies').option('--json', 'JSON instead of text')
  .option('--scenario <file>', "decode a buffer a scenario's step made (with --buffer): the scenario runs on its first CPU and kernel, or the ones --cpu and --kernel name among its own")
  .option('--buffer <name>', 'the buffer of --scenario to decode (a getregset, signal, core, xsave, kvm-get-xsave or buffer step names it)')
  .action(async (file: string | undefined, o: { cpu?: string; xcr0?: string; xss?: string; html?: string; format?: string; kernel?: string; json?: boolean; scenario?: string; buffer?: string }) => {
    const { explain, explainScenarioBuffer } = await import('./commands/explain.js');
    if (o.scenario !== undefined || o.buffer !== undefined) {
      if (o.scenario === undefined || o.buffer === undefined) throw new InputError('<command line>', o.scenario === undefined ? '--scenario' : '--buffer', '--scenario and --buffer go together');
      if (file !== undefined || o.html !== undefined || o.xcr0 !== undefined || o.xss !== undefined) throw new InputError('<command line>', file !== undefined ? 'FILE' : o.html !== undefined ? '--html' : '--xcr0/--xss', 'not with --scenario: the scenario makes the buffer');
      console.log(explainScenarioBuffer(o.scenario, o.buffer, o));
      return;
    }
    console.log(explain(o.cpu === undefined ? undefined : await cpuArg(o.cpu), file, { ...o, xcr0: await maskOpt(o.xcr0, '--xcr0'), xss: await maskOpt(o.xss, '--xss') }));
  });
program.command('readers').description('per ptracer reader model (GDB <14, GDB 14+, the 2020 man-page algorithm, CPUID-driven): which registers it misreads on a CPU')
  .requiredOption('--cpu <cpu>', 'profile id, profile file, CPUID dump, or "host"')
  .option('--xcr0 <mask>', 'the XCR0 word at byte 464 (default: what Linux enables)').option('--kernel <variant>', 'kernel variant whose XCR0 choice applies')
  .option('--layout-note', 'give the readers the NT_X86_XSAVE_LAYOUT note of a 6.12+ core').option('--runs-on <cpu>', 'the machine CPUID-driven readers run on (default: the same CPU)')
  .option('--json', 'JSON (format xstate-lab.readers/1)')
  .action(async (o: { cpu: string; xcr0?: string; kernel?: string; layoutNote?: boolean; runsOn?: string; json?: boolean }) => {
    const { formatReaders, runReaders } = await import('./commands/readers.js');
    const ro = { xcr0: await maskOpt(o.xcr0, '--xcr0'), kernel: o.kernel, layoutNote: o.layoutNote, runsOn: o.runsOn === undefined ? undefined : await cpuArg(o.runsOn, '--runs-on') };
    const c = await cpuArg(o.cpu);
    console.log(o.json ? JSON.stringify(runReaders(c, ro), null, 2) : formatReaders(c, ro));
  });

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',')];
program.command('run').description('run scenarios (default: the corpus in scenarios/) and report observed against expected, per CPU and kernel variant')
  .argument('[paths...]', 'scenario files or directories')
  .option('--cpu <cpus>', "only these of each scenario's CPUs; with --matrix, these CPUs (ids or profile/dump files; repeat or comma-separate)", collect)
  .option('--kernel <ids>', "only these of each scenario's kernel variants; with --matrix, these variants", collect)
  .option('--matrix', 'every scenario on every CPU and kernel variant named (default: all); judged on its own CPUs and kernels, observed elsewhere')
  .option('--jobs <n>', 'worker threads', int).option('--json', 'JSON report (xstate-lab.run/1; with --matrix xstate-lab.matrix/1)').option('--tap', 'TAP report').option('--verbose', 'every check and observation')
  .action(async (paths: string[], o: RunOptions) => { process.exitCode = await (await import('./commands/run.js')).runCommand(paths, o); });

program.command('diff').description('the user-visible difference between two kernel variants (or a variant and a patch module) over the scenario corpus')
  .argument('[paths...]', 'scenario files or directories (default: the corpus)')
  .requiredOption('--base <variant>', 'the variant to compare against').requiredOption('--with <variant|patch.ts>', 'a variant id or a KernelPatch module (see src/commands/diff.ts)')
  .option('--cpu <ids>', 'only these CPUs', collect)
  .action(async (paths: string[], o: { base: string; with: string; cpu?: string[] }) => { process.exitCode = await (await import('./commands/diff.js')).diffCommand(paths, o); });

program.command('scenario-reference').description('print the scenario language reference (Markdown), generated from the scenario schema')
  .action(async () => { process.stdout.write((await import('./scenario/reference.js')).scenarioReference()); });

const kernel = program.command('kernel').description('kernel variants and their named behaviours');
kernel.command('list').description('list the kernel variants and proposals').option('--json', 'JSON (format xstate-lab.kernel-list/1)')
  .action(async (o: { json?: boolean }) => { const m = await import('./commands/kernel.js'); console.log(o.json ? JSON.stringify(m.kernelListJson(), null, 2) : m.kernelList()); });
kernel.command('show').argument('<variant>', 'variant id (see kernel list)').option('--cpu <cpu>', 'also show what the variant enables on this CPU')
  .option('--boot <options>', 'booted with these kernel command-line options (kernel list shows them)')
  .option('--kconfig <CONFIG_X=n>', 'a kernel configuration setting other than the assumed one; repeatable', collect, [])
  .description('explain a variant: its behaviours with their sources').action(async (id: string, o: { cpu?: string; boot?: string; kconfig: string[] }) => {
    const { resolveKernelVariant } = await import('../kernel-model/variants.js');
    const { bootedKernel } = await import('./commands/exec.js');
    const v = bootedKernel(resolveKernelVariant(id, '<command line>', 'kernel show'), o.boot, o.kconfig);
    console.log((await import('./commands/kernel.js')).kernelShow(v, o.cpu === undefined ? undefined : await cpuArg(o.cpu)));
  });

const selfcheck = program.command('selfcheck').description('compare the model with this machine');
/**
 * The referees share their options and their exit status (0 only without mismatches). A --cpu
 * whose view differs from this host's capture in what the referee depends on is refused with
 * one line and exit 2 (src/selfcheck/host-match.ts).
 */
/** What a referee runs: its options in, its count of mismatches out. */
type Referee = (o: { cases: number; seed: number; cpu: CpuModel; log: (l: string) => void; detail: number }) => { mismatches: number };

function addSelfcheck(name: string, description: string, unit: string, defaultCases: number, scope: keyof typeof RefereeScope, load: () => Promise<Referee>): void {
  selfcheck.command(name).description(description)
    .option('--cases <n>', `number of ${unit}`, int, defaultCases).option('--seed <s>', 'PRNG seed', int, 1)
    .option('--cpu <cpu>', 'profile to model the host with (default: capture this host)')
    .option('--detail <n>', 'mismatching cases printed in full', int, 10)
    .action(async (o: { cases: number; seed: number; cpu?: string; detail: number }) => {
      const { hostCpuModel } = await import('./host/capture.js');
      const cpu = o.cpu === undefined ? hostCpuModel() : await cpuArg(o.cpu);
      if (o.cpu !== undefined) {
        const { RefereeScope, UnlikeHostError, unlikeHostLine } = await import('./selfcheck/host-match.js');
        const { closestVariantTo } = await import('../kernel-model/variants.js');
        const { release } = await import('node:os');
        const unlike = unlikeHostLine(name, o.cpu, cpu, hostCpuModel(), closestVariantTo(release()), RefereeScope[scope]);
        if (unlike) throw new UnlikeHostError(unlike);
      }
      const s = (await load())({ cases: o.cases, seed: o.seed, cpu, log: (l) => console.log(l), detail: o.detail });
      process.exitCode = s.mismatches === 0 ? EXIT_OK : EXIT_FAILED;
    });
}
addSelfcheck('cpu', 'run XSAVE-family cases on the real CPU and on the model; compare every byte', 'cases', 10000, 'Cpu', async () => (await import('./selfcheck/cpu-selfcheck.js')).runCpuSelfcheck);
addSelfcheck('insn', 'run emulated AVX/AVX-512/opmask instructions on the real CPU and on the model, then general instructions (a fifth as many cases) natively and under exec; compare state, GPRs, flags, memory, faults', 'instructions', 5000, 'Cpu',
  async () => {
    const { runInsnSelfcheck } = await import('./selfcheck/insn-selfcheck.js');
    const { runGeneralSelfcheck } = await import('./selfcheck/general-selfcheck.js');
    return (o) => {
      const vector = runInsnSelfcheck(o);
      const general = runGeneralSelfcheck({ ...o, cases: Math.max(1, Math.ceil(o.cases / GENERAL_CASES_DIVISOR)) });
      return { mismatches: vector.mismatches + general.mismatches };
    };
  });
addSelfcheck('x87', 'run random x87 instruction sequences on the real CPU and on the model; compare the FXSAVE image, AX, flags, memory, signals and si_code', 'sequences', 2000, 'Cpu', async () => (await import('./selfcheck/x87-selfcheck.js')).runX87Selfcheck);
addSelfcheck('x87-functions', 'as x87, with the transcendental, FSCALE, FXTRACT, FPREM/FPREM1 and FBLD/FBSTP instructions among the templates; the correctly rounded (rule) path with its 1-ulp residuals counted apart, and the host path (the transcendental results of this CPU) bit for bit', 'sequences', 2000, 'Cpu', async () => { const { runX87Selfcheck } = await import('./selfcheck/x87-selfcheck.js'); return (o) => runX87Selfcheck({ ...o, functions: true }); });
addSelfcheck('kernel', "apply random PTRACE_SETREGSET (NT_X86_XSTATE, NT_PRFPREG) mutations on this host's kernel and on the kernel model; compare errno and what the tracee sees", 'mutations', 2000, 'Kernel', async () => (await import('./selfcheck/kernel-selfcheck.js')).runKernelSelfcheck);
addSelfcheck('kvm', "apply random KVM_SET_XSAVE / KVM_SET_XCRS mutations on this host's /dev/kvm and on the kernel model; compare errnos and KVM_GET_XSAVE{,2} / KVM_GET_XCRS bytes", 'cases', 1000, 'Kernel', async () => (await import('./selfcheck/kvm-selfcheck.js')).runKvmSelfcheck);
addSelfcheck('sigframe', "deliver signals on this host and on the kernel model: compare the frame's extended state, the handler's starting state and rt_sigreturn of randomly patched frames", 'signals', 1000, 'Kernel', async () => (await import('./selfcheck/sigframe-selfcheck.js')).runSigframeSelfcheck);
addSelfcheck('getregset', "compare PTRACE_GETREGSET(NT_X86_XSTATE) of this host's kernel with the kernel model on random tracee states", 'tracee states', 1000, 'Kernel', async () => (await import('./selfcheck/getregset-selfcheck.js')).runGetregsetSelfcheck);

registerExec(program, cpuArg);

/**
 * A usage error as one line, `xstate-lab: <command line>: message`, like an InputError. Commander
 * puts a suggestion on a second line ("(Did you mean --cpu?)"); a missing subcommand shows the
 * group's help, of which the usage line names the group.
 */
function usageLine(e: CommanderError): string {
  if (e.code === 'commander.help') {
    // `help NAME` with a NAME that is no command shows the top help as an error.
    const argv = process.argv.slice(2);
    if (argv[0] === 'help' && argv.length > 1) return `unknown command '${argv.slice(1).join(' ')}' (see ${program.name()} --help)`;
    const group = /^Usage: (.*?) \[options\]/m.exec(commanderStderr)?.[1] ?? program.name();
    return `missing command (see ${group} --help)`;
  }
  return e.message.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

/** The command being parsed ("cpu show"), for usage errors, which commander words without it. */
let parsing = '';
(function trackSubcommands(c: Command): void {
  if (!c.commands.length) return;
  c.hook('preSubcommand', (_parent, sub) => { parsing = parsing ? `${parsing} ${sub.name()}` : sub.name(); });
  c.commands.forEach(trackSubcommands);
})(program);

/**
 * The errors that end a command with one line and exit 2 besides InputError; their modules are
 * loaded already whenever one was thrown (import() returns the loaded module).
 */
async function isToolError(e: unknown): Promise<boolean> {
  const { HostProbeError, NativeBuildError } = await import('./native.js');
  const { UnlikeHostError } = await import('./selfcheck/host-match.js');
  return e instanceof NativeBuildError || e instanceof HostProbeError || e instanceof UnlikeHostError;
}

/** Parse the command line and run the command; the exit status goes to process.exitCode. */
export async function main(): Promise<void> {
  try {
    await program.parseAsync();
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, `help CMD` and --version end here too, with status 0.
      if (e.exitCode === 0) process.exitCode = EXIT_OK;
      else {
        console.error(`xstate-lab: <command line>: ${parsing ? `${parsing}: ` : ''}${usageLine(e)}`);
        process.exitCode = EXIT_USAGE;
      }
    } else if (e instanceof InputError || await isToolError(e)) {
      console.error(`xstate-lab: ${(e as Error).message}`);
      process.exitCode = EXIT_USAGE;
    } else throw e;
  }
}
