/**
 * `exec -g PORT` against the real GDB of this machine (gdb in batch mode, `target remote`): the
 * guest test/gdb-guests/gdb-target.c puts values made by a rule into ZMM5, K3, PKRU, ST0/ST1, R12
 * and MXCSR and calls f(); GDB breaks in f and must read exactly those values, on `--cpu host` and
 * on a built-in AVX-512 + PKU profile. Also: a single step, a guest signal reported, the exit
 * status, kill and detach, and malformed packets on a raw connection (error replies, no crash).
 * Which registers exist comes from the model (the kernel's XCR0 on that profile), never from a
 * host's name. Every process has a timeout; ports are chosen by the stub (`-g 0`) and read from
 * its stderr.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCpu } from '../emulator/profile.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import type { CpuModel } from '../emulator/cpu-model.js';
import { fpu__init_system_xstate } from '../kernel-model/fpu-config.js';
import { DEFAULT_KERNEL_VARIANT, resolveLinuxVariant } from '../kernel-model/variants.js';
import { hostCpuModel } from '../src/host/capture.js';
import { framePacket } from '../src/gdb/rsp.js';
import { GdbFeature, gdbFeatures, gdbRegisters, targetXml } from '../src/gdb/target-description.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/src/cli.js');
const GUEST_SRC = join(ROOT, 'test/gdb-guests/gdb-target.c');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-gdb-'));
const GUEST = join(tmp, 'gdb-target');

/** The guest's rules (test/gdb-guests/gdb-target.c). */
const ZMM5_BASE = 0x1000;
const K3_VALUE = 0x5a5a;
const PKRU_VALUE = 0x55555550;
const R12_VALUE = 0x123456789abcdefn;
const MXCSR_VALUE = 0x1f80 | 0x6000;
const EXIT_HANDLED = 7;
/** Shells' 128 + N for death by signal N; SIGKILL is 9. */
const KILLED_STATUS = 128 + 9;
const TIMEOUT_MS = 60_000;

const hasGdb = spawnSync('gdb', ['--version']).status === 0;
if (!hasGdb) console.log('SKIPPED: no gdb on this machine; scripts/setup.sh installs Debian\'s gdb (the GDB tests need the real one)');

interface Stub { child: ChildProcess; port: number; stderr: () => string; status: Promise<number | null> }

/** `exec --cpu CPU -g 0 GUEST`: resolves once the stub says which port it listens on. */
function startStub(cpu: string, guest = GUEST): Promise<Stub> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'exec', '--cpu', cpu, '-g', '0', guest], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no port from the stub: ${err}`)); }, TIMEOUT_MS);
    const status = new Promise<number | null>((r) => child.on('exit', (code) => { clearTimeout(timer); r(code); }));
    child.stdout!.resume();
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /waiting for GDB on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]), stderr: () => err, status }); }
    });
    child.on('exit', () => reject(new Error(`stub exited before listening: ${err}`)));
  });
}

/** GDB in batch mode on the stub, with `commands` after `target remote`. */
function gdb(port: number, commands: string[], guest = GUEST): Promise<string> {
  return new Promise((resolve) => {
    const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', `file ${guest}`, '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c])];
    const child = spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('exit', () => { clearTimeout(timer); resolve(out); });
  });
}

/** `$N = value` of the print numbered N in GDB's output. */
function printed(out: string, n: number): string | undefined {
  return new RegExp(`^\\$${n} = (.*)$`, 'm').exec(out)?.[1];
}

/** What the guest sees and GDB must show on a profile, from the model (kernel 6.18 default variant). */
function expectations(cpu: CpuModel): { avx512: boolean; avx: boolean; pkru: boolean; xcr0: number } {
  const xcr0 = fpu__init_system_xstate(cpu, resolveLinuxVariant(DEFAULT_KERNEL_VARIANT)).xcr0;
  const leaf7 = cpu.cpuid.get(7, 0);
  const leaf1 = cpu.cpuid.get(1, 0);
  // CPUID.01H:ECX[28] AVX, CPUID.(07H,0):EBX[16] AVX512F; the guest tests XCR0 as the kernel set it.
  const avx = ((leaf1[2] >>> 28) & 1) === 1 && (xcr0 & 6) === 6;
  const avx512 = avx && ((leaf7[1] >>> 16) & 1) === 1 && (xcr0 & 0xe0) === 0xe0;
  return { avx, avx512, pkru: (xcr0 & bit(XFeature.PKRU)) !== 0, xcr0 };
}

beforeAll(() => {
  const r = spawnSync('musl-gcc', ['-static', '-O1', '-g', '-o', GUEST, GUEST_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`musl-gcc gdb-target.c failed:\n${r.stderr}${(r.error as Error | undefined)?.message ?? ''}`);
}, 60_000);

describe('target description', () => {
  it('has the features the kernel enabled, numbered in order, AVX-512 only with AVX', () => {
    for (const id of ['intel-sandy-bridge', 'amd-zen3', 'intel-sapphire-rapids']) {
      const { xcr0 } = expectations(resolveCpu(id));
      const regs = gdbRegisters(xcr0);
      regs.forEach((r, i) => expect(r.regnum).toBe(i));
      const f = gdbFeatures(regs);
      expect(f.slice(0, 4)).toEqual([GdbFeature.Core, GdbFeature.Sse, GdbFeature.Linux, GdbFeature.Segments]);
      expect(f.includes(GdbFeature.Avx)).toBe((xcr0 & bit(XFeature.AVX)) !== 0);
      expect(f.includes(GdbFeature.Avx512)).toBe((xcr0 & 0xe0) === 0xe0);
      expect(f.includes(GdbFeature.Pkeys)).toBe((xcr0 & bit(XFeature.PKRU)) !== 0);
      // GDB's own numbering of the amd64 Linux registers: orig_rax follows mxcsr (57).
      expect(regs.find((r) => r.name === 'orig_rax')!.regnum).toBe(57);
      const xml = targetXml(regs);
      expect(xml.match(/<reg /g)!.length).toBe(regs.length);
    }
  });
});

describe.skipIf(!hasGdb)('exec -g with the real GDB', () => {
  for (const cpuArg of ['host', 'intel-sapphire-rapids']) {
    it(`--cpu ${cpuArg}: GDB reads what the guest put in the registers, steps, sees SIGUSR1 and the exit`, async () => {
      const cpu = cpuArg === 'host' ? hostCpuModel() : resolveCpu(cpuArg);
      const e = expectations(cpu);
      const stub = await startStub(cpuArg);
      const out = await gdb(stub.port, [
        'break f', 'continue',
        'p $zmm5.v16_int32', 'p $ymm5.v8_int32', 'p/x $k3', 'p/x $pkru', 'p $st0', 'p $st1', 'p/x $r12', 'p/x $mxcsr',
        'p/x $pc', 'x/2i $pc', 'stepi', 'p/x $pc',
        'continue', 'continue',
      ]);
      const status = await stub.status;
      expect(out).toMatch(/Breakpoint 1, f \(\)/);
      const zmm = Array.from({ length: 16 }, (_, i) => ZMM5_BASE + i);
      if (e.avx512) expect(printed(out, 1)).toBe(`{${zmm.join(', ')}}`);
      else expect(printed(out, 1)).toBe('void'); // no zmm registers in the description
      if (e.avx) expect(printed(out, 2)).toBe(`{${zmm.slice(0, 8).join(', ')}}`);
      if (e.avx512) expect(printed(out, 3)).toBe(`0x${K3_VALUE.toString(16)}`);
      expect(printed(out, 4)).toBe(e.pkru ? `0x${PKRU_VALUE.toString(16)}` : 'void');
      expect(printed(out, 5)).toMatch(/^3\.14159265358979323/);
      expect(printed(out, 6)).toBe('1');
      expect(printed(out, 7)).toBe(`0x${R12_VALUE.toString(16)}`);
      expect(printed(out, 8)).toBe(`0x${MXCSR_VALUE.toString(16)}`);
      // The step: from f's first instruction to the second one as GDB disassembles them.
      const insns = [...out.matchAll(/^(?:=> )?\s*(0x[0-9a-f]+) <f(?:\+\d+)?>:/gm)].map((m) => m[1]);
      expect(insns.length).toBe(2);
      expect(printed(out, 9)).toBe(insns[0]);
      expect(printed(out, 10)).toBe(insns[1]);
      expect(out).toMatch(/Program received signal SIGUSR1/);
      expect(out).toMatch(new RegExp(`exited with code 0?${EXIT_HANDLED}\\]`));
      expect(status).toBe(EXIT_HANDLED);
      console.log(`exec -g --cpu ${cpuArg}: avx512 ${e.avx512}, pkru ${e.pkru}; GDB read zmm5/k3/pkru/st0/st1/r12/mxcsr as the guest set them`);
    }, 120_000);
  }

  it('register writes reach the model and survive a step (xmm part in the engine, the rest in the register file)', async () => {
    const cpu = 'intel-sapphire-rapids';
    expect(expectations(resolveCpu(cpu)).avx512).toBe(true);
    const stub = await startStub(cpu);
    const out = await gdb(stub.port, ['break f', 'continue',
      'set var $zmm5.v16_int32[3] = 77', 'set var $zmm5.v16_int32[12] = 88', 'set var $k3 = 0x77', 'set var $pkru = 0x55555554', 'set var $st1 = 2.5',
      'stepi', 'p $xmm5.v4_int32[3]', 'p $zmm5.v16_int32[12]', 'p/x $k3', 'p/x $pkru', 'p $st1', 'p $zmm5.v16_int32[2]', 'kill']);
    expect([1, 2, 3, 4, 5, 6].map((n) => printed(out, n))).toEqual(['77', '88', '0x77', '0x55555554', '2.5', String(ZMM5_BASE + 2)]);
    expect(await stub.status).toBe(KILLED_STATUS);
  }, 120_000);

  it('a breakpoint on an instruction the model emulates (EVEX VMOVDQU32) stops before it; a step runs it', async () => {
    const cpu = 'intel-sapphire-rapids';
    const dis = spawnSync('objdump', ['-d', '--no-show-raw-insn', GUEST], { encoding: 'utf8' });
    const addr = /^\s*([0-9a-f]+):\s+vmovdqu32 .*%zmm5/m.exec(dis.stdout)?.[1];
    expect(addr, 'vmovdqu32 into zmm5 in the guest').toBeDefined();
    const stub = await startStub(cpu);
    const out = await gdb(stub.port, [`break *0x${addr}`, 'continue', 'p/x $pc', 'p $zmm5.v16_int32[1]', 'stepi', 'p $zmm5.v16_int32[1]', 'kill']);
    expect(printed(out, 1)).toBe(`0x${addr}`);
    expect(printed(out, 2)).toBe('0');
    expect(printed(out, 3)).toBe(String(ZMM5_BASE + 1));
    expect(await stub.status).toBe(KILLED_STATUS);
  }, 120_000);

  it('a write watchpoint (Z2) stops after the instruction that changed the value, in the signal handler', async () => {
    const stub = await startStub('host');
    const out = await gdb(stub.port, ['break f', 'continue', 'watch handled', 'continue', 'continue', 'p $pc', 'continue']);
    expect(out).toMatch(/Hardware watchpoint 2: handled/);
    expect(out).toMatch(/Old value = 0\s+New value = 1/);
    expect(out).toMatch(/in on_usr1 /);
    expect(out).toMatch(new RegExp(`exited with code 0?${EXIT_HANDLED}\\]`));
    expect(await stub.status).toBe(EXIT_HANDLED);
  }, 120_000);

  it('threads: every thread of the guest is listed, the breakpoint names the one that hit it', async () => {
    const src = join(ROOT, 'test/guests/threads.c');
    const exe = join(tmp, 'threads');
    const r = spawnSync('musl-gcc', ['-static', '-O1', '-g', '-o', exe, src, '-lpthread'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const stub = await startStub('host', exe);
    const out = await gdb(stub.port, ['break worker', 'continue', 'info threads', 'delete', 'continue'], exe);
    // threads.c: THREADS workers and the main thread; the first worker (tid 1001) hits the breakpoint first.
    expect(out).toMatch(/Thread \d+ hit Breakpoint 1, worker/);
    const listed = [...out.matchAll(/^[* ] +\d+ +Thread (\d+)/gm)].map((m) => Number(m[1]));
    expect(listed.length).toBeGreaterThanOrEqual(2);
    expect(new Set(listed).size).toBe(listed.length);
    expect(out).toMatch(/exited normally/);
    expect(await stub.status).toBe(0);
  }, 120_000);

  it('hbreak (Z1) stops at f; kill ends the guest with SIGKILL; detach lets it run to its end', async () => {
    const k = await startStub('host');
    // hbreak: Z1, the same engine hook, reported as hwbreak.
    const kout = await gdb(k.port, ['hbreak f', 'continue', 'kill']);
    expect(kout).toMatch(/Hardware assisted breakpoint 1 at/);
    expect(kout).toMatch(/Breakpoint 1, f \(\)/);
    expect(kout).toMatch(/killed/);
    expect(await k.status).toBe(KILLED_STATUS);
    const d = await startStub('host');
    const dout = await gdb(d.port, ['break f', 'continue', 'delete', 'detach']);
    expect(dout).toMatch(/detached\]/);
    // Without the debugger the guest's own handler takes SIGUSR1.
    expect(await d.status).toBe(EXIT_HANDLED);
  }, 120_000);
});

describe('the raw protocol: interrupt and malformed packets', () => {
  /** Sends raw bytes, collects what the stub answers until `until` matches. */
  function exchange(port: number, steps: { send: Buffer | string; until: RegExp }[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      const got: string[] = [];
      let buf = '';
      let i = 0;
      const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer to step ${i}: ${buf}`)); }, TIMEOUT_MS);
      const next = (): void => {
        if (i >= steps.length) { clearTimeout(timer); s.end(); resolve(got); return; }
        s.write(steps[i]!.send);
      };
      s.on('data', (b: Buffer) => {
        buf += b.toString('latin1');
        const step = steps[i];
        if (step && step.until.test(buf)) { got.push(buf); buf = ''; i++; next(); }
      });
      s.on('connect', next);
      s.on('error', reject);
    });
  }

  it('a port in use or out of range is a usage error (exit 2, one line)', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as AddressInfo).port;
    for (const [arg, want] of [[String(port), /-g\/--gdb: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/], ['99999', /-g\/--gdb: expected a TCP port/]] as const) {
      const r = spawnSync(process.execPath, [CLI, 'exec', '-g', arg, GUEST], { encoding: 'utf8', timeout: TIMEOUT_MS });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
    busy.close();
  }, 120_000);

  it('Ctrl-C (0x03) stops a guest that never stops by itself: T02 (SIGINT), registers readable', async () => {
    const spin = join(tmp, 'spin.s');
    writeFileSync(spin, '\t.globl _start\n_start:\n\tinc %rax\n\tjmp _start\n');
    const stub = await startStub('host', spin);
    const pkt = (d: string): Buffer => framePacket(d);
    const s = connect(stub.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let buf = '';
    s.on('data', (b: Buffer) => { buf += b.toString('latin1'); });
    const until = async (re: RegExp): Promise<string> => {
      for (let i = 0; i < TIMEOUT_MS / 50 && !re.test(buf); i++) await new Promise((r) => setTimeout(r, 50));
      const m = re.exec(buf);
      if (!m) throw new Error(`no ${re} in ${buf}`);
      buf = '';
      return m[0];
    };
    s.write(pkt('c'));
    await new Promise((r) => setTimeout(r, 500));
    s.write(Buffer.from([0x03]));
    expect(await until(/\$T02thread:[0-9a-f]+;#[0-9a-f]{2}/)).toBeTruthy();
    s.write(pkt('p0')); // rax counts the loop's turns: it ran
    const rax = await until(/\$([0-9a-f]{16})#/);
    expect(BigInt(`0x${Buffer.from(rax.slice(1, 17), 'hex').reverse().toString('hex')}`)).toBeGreaterThan(0n);
    s.write(pkt('k'));
    expect(await stub.status).toBe(KILLED_STATUS);
    s.destroy();
  }, 120_000);

  it('answers each with an error or "not supported", then still works, and never crashes', async () => {
    const stub = await startStub('host');
    const pkt = (d: string): Buffer => framePacket(d);
    const replies = await exchange(stub.port, [
      { send: '$?#00', until: /^-$/ }, // bad checksum: NAK
      { send: pkt('mzz,10'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('m0,10'), until: /\$E[0-9a-f]{2}#/ }, // unmapped address
      { send: pkt('pffff'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('P0=12'), until: /\$E[0-9a-f]{2}#/ }, // wrong size for rax
      { send: pkt('Z0,nothex,1'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('vCont;q'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('Hgzz'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('qXfer:features:read:other.xml:0,100'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('G00'), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt(`M0,1:${'x'.repeat(3)}`), until: /\$E[0-9a-f]{2}#/ },
      { send: pkt('qNoSuchQuery'), until: /\$#00/ },
      { send: Buffer.concat([Buffer.from('$'), Buffer.alloc(1 << 20, 0x61), Buffer.from('#00')]), until: /[-$]/ },
      { send: pkt('?'), until: /\$T05thread:[0-9a-f]+;#/ },
      { send: pkt('vKill;1'), until: /\$OK#/ },
    ]);
    expect(replies.length).toBe(15);
    expect(await stub.status).toBe(KILLED_STATUS);
    expect(stub.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  }, 120_000);
});
