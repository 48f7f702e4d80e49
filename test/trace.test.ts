/**
 * `exec --trace` in strace's notation (src/linux/strace.ts) and `diff`'s progress (issue 14: "exec
 * --trace decoding syscalls as strace does (today ioctl(0x1, 0x5413, ...))", "progress for diff").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sys } from '../src/linux/abi.js';
import { straceExit, straceSignal, straceSyscall, type TraceMemory } from '../src/linux/strace.js';
import { diffCommand, type DiffProgress } from '../src/commands/diff.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
/** Guest memory: strings at 0x1000 and 0x2000, nothing elsewhere. */
const text: Record<string, Uint8Array> = { '4096': new TextEncoder().encode('hello\n'), '8192': new TextEncoder().encode('/etc/some/really/long/path/name/beyond/32') };
const mem: TraceMemory = {
  cString: (a, max) => (text[String(a)] ? new TextDecoder().decode(text[String(a)]!.subarray(0, max)) : undefined),
  bytes: (a, n) => text[String(a)]?.subarray(0, n),
};
const A = (...v: number[]): bigint[] => [...v.map(BigInt), 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6);

describe('strace notation', () => {
  it('decodes arguments and results as strace does', () => {
    expect(straceSyscall(Sys.write, A(1, 0x1000, 6), 6n, mem)).toBe('write(1, "hello\\n", 6) = 6');
    expect(straceSyscall(Sys.ioctl, A(1, 0x5413, 0x7ffc), -25n, mem)).toBe('ioctl(1, TIOCGWINSZ, 0x7ffc) = -1 ENOTTY');
    expect(straceSyscall(Sys.openat, A(-100, 0x2000, 0o2000000), -2n, mem)).toBe('openat(AT_FDCWD, "/etc/some/really/long/path/name/"..., O_RDONLY|O_CLOEXEC) = -1 ENOENT');
    expect(straceSyscall(Sys.mmap, A(0, 8192, 3, 0x22, -1, 0), 0x7f0000000000n, mem)).toBe('mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, NULL) = 0x7f0000000000');
    expect(straceSyscall(Sys.ptrace, A(0x4204, 42, 0x202, 0x3000), 0n, mem)).toBe('ptrace(PTRACE_GETREGSET, 42, NT_X86_XSTATE, 0x3000) = 0');
    expect(straceSyscall(Sys.arch_prctl, A(0x1023, 18), -22n, mem)).toBe('arch_prctl(ARCH_REQ_XCOMP_PERM, 0x12) = -1 EINVAL');
    expect(straceSyscall(Sys.exit_group, A(3), 'stop', mem)).toBe('exit_group(3) = ?');
    expect(straceSyscall(Sys.write, A(1, 0x9999, 6), -14n, mem)).toBe('write(1, 0x9999, 6) = -1 EFAULT');
  });
  it('signals and exits', () => {
    expect(straceSignal({ signo: 11, code: 1, addr: 0x10n })).toBe('--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x10} ---');
    expect(straceSignal({ signo: 10, code: 0, pid: 7, uid: 0 })).toBe('--- SIGUSR1 {si_signo=SIGUSR1, si_code=0, si_pid=7, si_uid=0} ---');
    expect(straceExit({ code: 0 })).toBe('+++ exited with 0 +++');
    expect(straceExit({ signal: 4 })).toBe('+++ killed by SIGILL +++');
  });
});

describe('exec --trace', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xstate-trace-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const prog = join(tmp, 'p.S');
  writeFileSync(prog, `.globl _start\n_start:\n mov $1, %edi\n lea msg(%rip), %rsi\n mov $3, %edx\n mov $1, %eax\n syscall\n mov $16, %eax\n mov $1, %edi\n mov $0x5413, %esi\n xor %edx, %edx\n syscall\n xor %ecx, %ecx\n xgetbv\n mov $231, %eax\n mov $7, %edi\n syscall\nmsg: .ascii "hi\\n"\n`);
  const run = (...extra: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CLI, 'exec', '--cpu', 'intel-skylake-sp', '--trace', ...extra, prog], { encoding: 'utf8', cwd: tmp, timeout: 120_000 });
  it('prints each call, signal and the exit as strace -f would, the same bytes every run', () => {
    const r = run();
    const lines = String(r.stderr).split('\n').filter((l) => /^\[trace\] (write|ioctl|exit|\+\+\+|---)/.test(l));
    expect(lines).toEqual(['[trace] write(1, "hi\\n", 3) = 3', '[trace] ioctl(1, TIOCGWINSZ, NULL) = -1 ENOTTY', '[trace] exit_group(7) = ?', '[trace] +++ exited with 7 +++']);
    expect(r.status).toBe(7);
    expect(run().stderr).toBe(r.stderr);
  }, 240_000);
  it('under --boot noxsave, XGETBV is SIGILL, shown as the signal and the death', () => {
    const r = run('--boot', 'noxsave');
    const lines = String(r.stderr).split('\n').filter((l) => /^\[trace\] (\+\+\+|---)/.test(l));
    expect(lines[0]).toMatch(/^\[trace\] --- SIGILL \{si_signo=SIGILL, si_code=2, si_addr=0x[0-9a-f]+\} ---$/);
    expect(lines[1]).toBe('[trace] +++ killed by SIGILL +++');
    expect(r.status).toBe(128 + 4);
  }, 240_000);
});

describe('diff progress', () => {
  it('reports each scenario x CPU before running it, with the total', async () => {
    const calls: [number, number, string][] = [];
    let cleared = 0;
    const p = ((d: number, t: number, w: string) => { calls.push([d, t, w]); }) as DiffProgress;
    p.clear = () => { cleared++; };
    const files = ['mxcsr-reserved-bits.yaml', 'xcomp-bv-rejected.yaml'].map((f) => join(ROOT, 'scenarios', f));
    const log = console.log;
    const out: string[] = [];
    console.log = (s: string) => { out.push(s); };
    try { await diffCommand(files, { base: 'linux-5.13', with: 'linux-5.14' }, p); } finally { console.log = log; }
    const total = calls[0]![1];
    expect(calls.map((c) => c[0])).toEqual([...Array(total).keys()]);
    expect(calls.every((c) => c[1] === total)).toBe(true);
    expect(out.at(-1)).toMatch(new RegExp(`^diff: ${total} scenario runs`));
    expect(cleared).toBeGreaterThan(0);
  });
});
