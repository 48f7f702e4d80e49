/**
 * A GDB remote stub for `exec -g PORT` (as qemu-user's -g): the guest stops before its first
 * instruction and waits for one GDB connection on 127.0.0.1:PORT; GDB then reads and writes the
 * modelled registers (target description from the kernel's XCR0, src/gdb/target-description.ts)
 * and memory, sets breakpoints (engine hooks, invisible to the guest), steps, continues, sees the
 * guest's signals and its exit.
 *
 * Protocol: the GDB manual's "GDB Remote Serial Protocol" appendix (packets, "Stop Reply Packets",
 * "General Query Packets", "Target Description Format"). Packets handled: ? g G p P m M X c C s S
 * vCont vCont? Z0/z0 Z1/z1 Z2/z2 k vKill D H T qSupported qAttached qC qfThreadInfo qsThreadInfo
 * qThreadExtraInfo qXfer:features:read qXfer:auxv:read QStartNoAckMode qSymbol; anything else gets
 * the empty reply ("not supported"), a malformed packet E01, a bad checksum '-'.
 *
 * Write watchpoints (Z2) compare the watched bytes after each instruction and system call
 * (src/linux/debug.ts). Not done: Z3/Z4 read and access watchpoints (answered as unsupported), non-stop mode, multiprocess (fork children run undebugged, as under
 * qemu-user), the vFile/exec-file packets (give GDB the program file).
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { X86Reg } from '../../emulator/unicorn.js';
import { GDB_STUB_HOST } from '../commands/exec-command.js';
import { InputError } from '../errors.js';
import { Sig } from '../linux/abi.js';
import { DebugControl, DebugStopReason, type DebugStop } from '../linux/debug.js';
import type { Kernel, RunResult } from '../linux/kernel.js';
import { TaskState, type Task, type Process } from '../linux/sched.js';
import { RspDecoder, framePacket, fromHex, parseHexNumber, textToHex, toHex } from './rsp.js';
import { gdbSignalFromLinux, linuxSignalFromGdb } from './signals.js';
import { type GdbRegister, type RegisterAccess, gdbRegisters, readRegister, targetXml, writeRegister } from './target-description.js';

/** Error replies (`Exx`, the manual leaves the numbers to the stub): errno values, as gdbserver uses. */
const E_INVAL = 'E16';
const E_FAULT = 'E0e';
const E_SRCH = 'E03';
/** The longest packet accepted from GDB: room for a G packet of every register, and then some. */
const PACKET_SLACK = 1024;
/** The longest write watchpoint: 8 bytes, as an x86 debug register covers (SDM Vol. 3B 18.2.5). */
const MAX_WATCH_BYTES = 8;
/** AT_NULL ends the auxiliary vector (include/uapi/linux/auxvec.h). */
const AT_NULL = 0n;

export interface GdbStubOptions {
  /** TCP port; 0 picks a free one (printed). */
  port: number;
  /** Where the stub's one-line notes go (the port it listens on, a disconnect). */
  log: (line: string) => void;
}

/** Serve one GDB connection for `kernel` (loaded, not yet run); resolves with the guest's result. */
export async function runUnderGdb(kernel: Kernel, o: GdbStubOptions): Promise<RunResult> {
  const init = kernel.init;
  if (!init || !init.threads[0]) throw new Error('runUnderGdb before load');
  const dbg = new DebugControl(init.pid);
  kernel.debug = dbg;
  dbg.stop = { reason: DebugStopReason.Start, task: init.threads[0], signo: Sig.SIGTRAP };
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new InputError('<command line>', '-g/--gdb', `cannot listen on ${GDB_STUB_HOST}:${o.port}: ${e.code ?? e.message}`)));
    server.listen({ port: o.port, host: GDB_STUB_HOST, exclusive: true }, () => resolve());
  });
  o.log(`waiting for GDB on ${GDB_STUB_HOST}:${(server.address() as AddressInfo).port}`);
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  // One debugger per run, as qemu-user: no further connections (close() lets this one go on).
  server.close();
  return new GdbSession(kernel, dbg, socket, o).done;
}

class GdbSession {
  readonly done: Promise<RunResult>;
  private resolveDone!: (r: RunResult) => void;
  private readonly regs: GdbRegister[];
  private readonly xml: string;
  private readonly decoder: RspDecoder;
  private readonly packetSize: number;
  private noAck = false;
  private running = false;
  private finished = false;
  /** Hg and Hc: the thread for register access and for c/s (0: any, the stopped one). */
  private gThread = 0;
  private cThread = 0;
  /** Addresses inserted with Z0 and with Z1 (both are DebugControl.breakpoints). */
  private readonly swBreakpoints = new Set<bigint>();
  private readonly hwBreakpoints = new Set<bigint>();

  constructor(private readonly kernel: Kernel, private readonly dbg: DebugControl, private readonly socket: Socket, private readonly o: GdbStubOptions) {
    this.done = new Promise((r) => { this.resolveDone = r; });
    this.regs = gdbRegisters(kernel.fpuCfg.xcr0);
    this.xml = targetXml(this.regs);
    const gBytes = this.regs.reduce((s, r) => s + r.bitsize / 8, 0);
    this.packetSize = 2 * gBytes + PACKET_SLACK;
    this.decoder = new RspDecoder(this.packetSize);
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', () => { /* a reset connection is handled as a close */ });
    socket.on('close', () => { if (!this.finished) this.detach('GDB disconnected; the guest runs on'); });
  }

  private send(data: string): void {
    if (!this.socket.destroyed) this.socket.write(framePacket(data));
  }

  private onData(b: Buffer): void {
    for (const ev of this.decoder.feed(new Uint8Array(b))) {
      if (this.finished) return;
      switch (ev.kind) {
        case 'bad-checksum': this.socket.write('-'); break;
        case 'too-long': if (!this.noAck) this.socket.write('+'); this.send(E_INVAL); break;
        case 'interrupt':
          if (this.running && !this.dbg.stop) {
            const t = this.kernel.current && this.dbg.debugs(this.kernel.current) && this.kernel.current.state !== TaskState.Dead ? this.kernel.current : this.liveThreads()[0];
            if (t) this.dbg.stop = { reason: DebugStopReason.Interrupt, task: t, signo: Sig.SIGINT };
          }
          break;
        case 'ack': case 'nak': break; // replies are not re-sent: TCP does not lose them
        case 'packet': {
          if (!this.noAck) this.socket.write('+');
          let reply: string | undefined;
          try {
            reply = this.handle(ev.data);
          } catch (e) {
            // Never a crash: a packet the handlers could not take is an error reply.
            reply = E_INVAL;
            this.o.log(`packet '${ev.data.slice(0, 40)}' failed: ${(e as Error).message}`);
          }
          if (reply !== undefined) this.send(reply);
          if (ev.data === 'QStartNoAckMode') this.noAck = true;
        }
      }
    }
  }

  // ---------------------------------------------------------------- threads and stops

  private process(): Process | undefined {
    return this.kernel.tasks.find((t) => t.proc.pid === this.dbg.pid && t.proc.alive)?.proc;
  }

  private liveThreads(): Task[] {
    return this.kernel.tasks.filter((t) => this.dbg.debugs(t) && t.state !== TaskState.Dead && t.proc.alive).sort((a, b) => a.tid - b.tid);
  }

  private thread(id: number): Task | undefined {
    const live = this.liveThreads();
    if (id <= 0) {
      const s = this.dbg.stop?.task;
      return s && live.includes(s) ? s : live[0];
    }
    return live.find((t) => t.tid === id);
  }

  private stopReply(s: DebugStop): string {
    const sig = gdbSignalFromLinux(s.signo).toString(16).padStart(2, '0');
    // swbreak: the PC is at the breakpoint already (GDB does not back it up, "Stop Reply Packets").
    let why = s.reason === DebugStopReason.Watch ? `watch:${s.watch!.toString(16)};` : '';
    if (s.reason === DebugStopReason.Breakpoint) {
      const pc = this.kernel.loadTask(s.task).uc.regRead(X86Reg.RIP);
      why = this.hwBreakpoints.has(pc) && !this.swBreakpoints.has(pc) ? 'hwbreak:;' : 'swbreak:;';
    }
    return `T${sig}thread:${s.task.tid.toString(16)};${why}`;
  }

  private access(t: Task): RegisterAccess {
    const m = this.kernel.loadTask(t);
    m.syncIn(true);
    return { uc: m.uc, regs: t.fpu.regs, origRax: t.origRax, setOrigRax: (v) => { t.origRax = v; } };
  }

  // ---------------------------------------------------------------- packets

  private handle(p: string): string | undefined {
    if (this.running) return undefined; // GDB sends nothing but 0x03 while the target runs (all-stop)
    const c = p[0];
    switch (c) {
      case '?': return this.dbg.stop ? this.stopReply(this.dbg.stop) : 'W00';
      case 'g': return this.readAll();
      case 'G': return this.writeAll(p.slice(1));
      case 'p': return this.readOne(p.slice(1));
      case 'P': return this.writeOne(p.slice(1));
      case 'm': return this.readMemory(p.slice(1));
      case 'M': return this.writeMemory(p.slice(1), false);
      case 'X': return this.writeMemory(p.slice(1), true);
      case 'c': case 's': return this.resumeLegacy(c === 's', undefined, p.slice(1));
      case 'C': case 'S': {
        const [sig, addr] = p.slice(1).split(';');
        return this.resumeLegacy(c === 'S', sig, addr ?? '');
      }
      case 'H': return this.setThread(p.slice(1));
      case 'T': {
        const id = parseHexNumber(p.slice(1), 8);
        return id !== undefined && this.thread(Number(id)) && Number(id) > 0 ? 'OK' : E_SRCH;
      }
      case 'Z': case 'z': return this.breakpoint(c === 'Z', p.slice(1));
      case 'k': this.kill(); return undefined;
      case 'D': this.send('OK'); this.detach(); return undefined;
      case 'v': return this.vPacket(p);
      case 'q': case 'Q': return this.query(p);
      default: return '';
    }
  }

  private query(p: string): string {
    if (p.startsWith('qSupported')) {
      return `PacketSize=${this.packetSize.toString(16)};qXfer:features:read+;qXfer:auxv:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+`;
    }
    if (p === 'QStartNoAckMode') return 'OK';
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '0'; // the stub created the process: GDB kills it on quit
    if (p === 'qC') { const t = this.thread(0); return t ? `QC${t.tid.toString(16)}` : E_SRCH; }
    if (p === 'qfThreadInfo') return `m${this.liveThreads().map((t) => t.tid.toString(16)).join(',')}`;
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo,')) {
      const id = parseHexNumber(p.slice('qThreadExtraInfo,'.length), 8);
      const t = id === undefined ? undefined : this.thread(Number(id));
      if (!t || Number(id) <= 0) return E_SRCH;
      return textToHex(`${TaskState[t.state]}${t.wait ? ` in ${t.wait.what}` : ''}`);
    }
    if (p.startsWith('qXfer:features:read:')) return this.xfer(p.slice('qXfer:features:read:'.length), (annex) => (annex === 'target.xml' ? Buffer.from(this.xml, 'utf8') : undefined));
    if (p.startsWith('qXfer:auxv:read:')) return this.xfer(p.slice('qXfer:auxv:read:'.length), (annex) => (annex === '' ? this.auxv() : undefined));
    if (p === 'qSymbol::') return 'OK';
    return '';
  }

  /** qXfer reads: `annex:offset,length` -> `m` (more follows) or `l` (last) and the bytes. */
  private xfer(rest: string, object: (annex: string) => Buffer | undefined): string {
    const m = /^([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(rest);
    if (!m) return E_INVAL;
    const data = object(m[1]!);
    if (!data) return 'E00';
    const off = Number(parseHexNumber(m[2]!, 8) ?? -1n), len = Number(parseHexNumber(m[3]!, 8) ?? -1n);
    if (off < 0 || len < 0) return E_INVAL;
    if (off >= data.length) return 'l';
    const chunk = data.subarray(off, off + len);
    return `${off + chunk.length < data.length ? 'm' : 'l'}${chunk.toString('latin1')}`;
  }

  private auxv(): Buffer {
    const words = [...(this.process()?.auxv ?? [])];
    if (words.length < 2 || words[words.length - 2] !== AT_NULL) words.push(AT_NULL, 0n);
    const b = Buffer.alloc(8 * words.length);
    words.forEach((w, i) => b.writeBigUInt64LE(BigInt.asUintN(64, w), 8 * i));
    return b;
  }

  private setThread(rest: string): string {
    const op = rest[0];
    const idText = rest.slice(1);
    const id = idText === '-1' ? -1 : Number(parseHexNumber(idText, 8) ?? NaN);
    if ((op !== 'g' && op !== 'c') || Number.isNaN(id)) return E_INVAL;
    if (id > 0 && !this.thread(id)) return E_SRCH;
    if (op === 'g') this.gThread = id; else this.cThread = id;
    return 'OK';
  }

  private readAll(): string {
    const t = this.thread(this.gThread);
    if (!t) return E_SRCH;
    const a = this.access(t);
    return this.regs.map((r) => toHex(readRegister(r, a))).join('');
  }

  private writeAll(hex: string): string {
    const t = this.thread(this.gThread);
    if (!t) return E_SRCH;
    const bytes = fromHex(hex);
    const total = this.regs.reduce((s, r) => s + r.bitsize / 8, 0);
    if (!bytes || bytes.length !== total) return E_INVAL;
    const a = this.access(t);
    let off = 0;
    for (const r of this.regs) {
      const n = r.bitsize / 8;
      const slice = bytes.subarray(off, off + n);
      off += n;
      // A G packet carries every register; the fixed selectors come back as they were read.
      if (r.loc.kind === 'selector') continue;
      const why = writeRegister(r, a, slice);
      if (why) return E_INVAL;
    }
    this.kernel.loadTask(t).syncOut(true);
    return 'OK';
  }

  private readOne(rest: string): string {
    const n = parseHexNumber(rest, 4);
    const r = n === undefined ? undefined : this.regs[Number(n)];
    if (!r) return E_INVAL;
    const t = this.thread(this.gThread);
    if (!t) return E_SRCH;
    return toHex(readRegister(r, this.access(t)));
  }

  private writeOne(rest: string): string {
    const m = /^([0-9a-fA-F]{1,4})=([0-9a-fA-F]*)$/.exec(rest);
    const r = m ? this.regs[Number(parseHexNumber(m[1]!, 4))] : undefined;
    const bytes = m ? fromHex(m[2]!) : undefined;
    if (!r || !bytes || bytes.length !== r.bitsize / 8) return E_INVAL;
    const t = this.thread(this.gThread);
    if (!t) return E_SRCH;
    const a = this.access(t);
    if (writeRegister(r, a, bytes)) return E_INVAL;
    this.kernel.loadTask(t).syncOut(true);
    return 'OK';
  }

  /** `addr,length`: the bytes there, as far as they are mapped (the guest's protections do not apply: ptrace's FOLL_FORCE). */
  private readMemory(rest: string): string {
    const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(rest);
    const proc = this.process();
    if (!m || !proc) return E_INVAL;
    const addr = parseHexNumber(m[1]!)!, len = Number(parseHexNumber(m[2]!)!);
    if (len === 0) return '';
    if (len > this.packetSize / 2) return E_INVAL;
    const n = mappedPrefix(proc, addr, len);
    if (n === 0) return E_FAULT;
    return toHex(proc.machine.peek(addr, n));
  }

  /** M `addr,length:hex` or X `addr,length:binary`. Code written is retranslated (writeCode); the owned-instruction sweep does not see it (README, not done). */
  private writeMemory(rest: string, binary: boolean): string {
    const colon = rest.indexOf(':');
    const head = colon < 0 ? '' : rest.slice(0, colon);
    const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(head);
    const proc = this.process();
    if (!m || !proc) return E_INVAL;
    const addr = parseHexNumber(m[1]!)!, len = Number(parseHexNumber(m[2]!)!);
    const body = rest.slice(colon + 1);
    const bytes = binary ? new Uint8Array(Buffer.from(body, 'latin1')) : fromHex(body);
    if (!bytes || bytes.length !== len) return E_INVAL;
    if (len === 0) return 'OK';
    if (mappedPrefix(proc, addr, len) !== len) return E_FAULT;
    proc.machine.pokeCode(addr, bytes);
    return 'OK';
  }

  private breakpoint(insert: boolean, rest: string): string {
    const m = /^([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,2})(;.*)?$/.exec(rest);
    if (!m) return E_INVAL;
    // Z3/Z4 (read and access watchpoints): not supported (GDB says so; it has no software fallback for them).
    if (m[1] === '3' || m[1] === '4') return '';
    if (m[4]) return ''; // conditions and commands evaluated by the target: not supported
    const addr = parseHexNumber(m[2]!)!;
    if (m[1] === '2') {
      // A write watchpoint of `kind` bytes (1, 2, 4, 8 as x86 debug registers take; GDB splits longer ones).
      const len = parseInt(m[3]!, 16);
      if (len < 1 || len > MAX_WATCH_BYTES) return E_INVAL;
      const proc = this.process();
      if (insert) this.dbg.watchpoints.set(addr, { len, last: proc && mappedPrefix(proc, addr, len) === len ? proc.machine.peek(addr, len) : undefined });
      else this.dbg.watchpoints.delete(addr);
      return 'OK';
    }
    // Z0 and Z1 are the same engine hook; the kind is kept to say which one stopped (swbreak/hwbreak).
    const kind = m[1] === '0' ? this.swBreakpoints : this.hwBreakpoints;
    if (insert) kind.add(addr); else kind.delete(addr);
    if (this.swBreakpoints.has(addr) || this.hwBreakpoints.has(addr)) this.dbg.breakpoints.add(addr); else this.dbg.breakpoints.delete(addr);
    return 'OK';
  }

  private vPacket(p: string): string | undefined {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) return this.vCont(p.slice('vCont;'.length));
    if (p.startsWith('vKill')) { this.send('OK'); this.kill(); return undefined; }
    if (p === 'vMustReplyEmpty') return '';
    return '';
  }

  /** `vCont;action[:thread];...`: the first action naming a thread (or none) applies to it. */
  private vCont(list: string): string | undefined {
    let step: Task | undefined;
    let signal = 0;
    const stopped = this.dbg.stop?.task;
    const parsed: { op: string; sig: number; tid: number | undefined }[] = [];
    for (const a of list.split(';')) {
      const m = /^([cCsS])([0-9a-fA-F]{2})?(?::(-1|[0-9a-fA-F]{1,8}))?$/.exec(a);
      if (!m) return E_INVAL;
      const hasSig = m[1] === 'C' || m[1] === 'S';
      if (hasSig !== (m[2] !== undefined)) return E_INVAL;
      const sig = hasSig ? linuxSignalFromGdb(parseInt(m[2]!, 16)) : 0;
      if (sig === undefined) return E_INVAL;
      parsed.push({ op: m[1]!.toLowerCase(), sig, tid: m[3] === undefined || m[3] === '-1' ? undefined : parseInt(m[3], 16) });
    }
    const forThread = (t: Task | undefined): { op: string; sig: number } | undefined => parsed.find((a) => a.tid === undefined || a.tid === t?.tid);
    for (const a of parsed) {
      if (a.op === 's' && !step) {
        step = a.tid === undefined ? this.thread(this.cThread) : this.thread(a.tid);
        if (!step) return E_SRCH;
      }
    }
    signal = forThread(stopped)?.sig ?? 0;
    this.resume(signal, step);
    return undefined;
  }

  /** c/s/C/S: optional `addr` to resume at, `sig` in GDB's numbering. */
  private resumeLegacy(step: boolean, sigHex: string | undefined, addrHex: string): string | undefined {
    const sig = sigHex === undefined ? 0 : linuxSignalFromGdb(Number(parseHexNumber(sigHex, 2) ?? -1n));
    if (sig === undefined) return E_INVAL;
    const t = this.thread(this.cThread);
    if (!t) return E_SRCH;
    if (addrHex !== '') {
      const addr = parseHexNumber(addrHex);
      if (addr === undefined) return E_INVAL;
      this.kernel.loadTask(t).uc.regWrite(X86Reg.RIP, addr);
    }
    this.resume(sig, step ? t : undefined);
    return undefined;
  }

  private resume(signal: number, step: Task | undefined): void {
    this.dbg.resume(signal, step);
    this.running = true;
    setImmediate(() => this.runSlice());
  }

  /** Run the guest a slice at a time (DEBUG_SLICE_ITERATIONS) so that an interrupt is seen. */
  private runSlice(): void {
    if (this.finished) return;
    let r: RunResult;
    try {
      r = this.kernel.run();
    } catch (e) {
      r = { kind: 'error', message: `the model failed: ${(e as Error).message}` };
    }
    if (r.kind !== 'debug-stop') { this.finish(r); return; }
    if (this.dbg.stop) {
      this.running = false;
      this.send(this.stopReply(this.dbg.stop));
      return;
    }
    setImmediate(() => this.runSlice());
  }

  /** The guest is gone: W (exit status) or X (signal), then the connection closes. */
  private finish(r: RunResult): void {
    this.finished = true;
    this.running = false;
    if (r.kind === 'exit') this.send(`W${(r.code & 0xff).toString(16).padStart(2, '0')}`);
    else if (r.kind === 'signal') this.send(`X${gdbSignalFromLinux(r.signal).toString(16).padStart(2, '0')}`);
    else this.send(`O${textToHex(`xstate-lab: ${r.kind === 'error' ? r.message : 'stopped'}\n`)}`);
    this.socket.end();
    this.resolveDone(r);
  }

  /** k / vKill: SIGKILL for the debugged process, then the run ends without GDB. */
  private kill(): void {
    const p = this.process();
    this.release();
    if (p) this.kernel.killProcess(p, Sig.SIGKILL, 'killed by GDB');
    this.socket.end();
    setImmediate(() => this.runFree());
  }

  /** D, or GDB gone: breakpoints removed, a held signal delivered, the guest runs to its end without the stub. */
  private detach(note?: string): void {
    if (this.finished) return;
    if (note) this.o.log(note);
    const held = this.dbg.stop?.held;
    this.release();
    if (held) this.dbg.stop!.task.pending.unshift({ ...held, debugSeen: true });
    this.socket.end();
    setImmediate(() => this.runFree());
  }

  private release(): void {
    this.finished = true;
    this.running = false;
    this.kernel.debug = undefined;
    this.dbg.watchpoints.clear();
    for (const t of this.kernel.tasks) if (this.dbg.debugs(t) && !t.proc.machine.uc.closed) t.proc.machine.setBreakpoints(new Set());
  }

  private runFree(): void {
    let r: RunResult;
    try {
      r = this.kernel.run();
    } catch (e) {
      r = { kind: 'error', message: `the model failed: ${(e as Error).message}` };
    }
    this.resolveDone(r);
  }
}

/** How many bytes from `addr` are mapped (at most `len`). */
function mappedPrefix(p: Process, addr: bigint, len: number): number {
  let at = addr;
  const end = addr + BigInt(len);
  for (const r of p.machine.mappings()) {
    if (r.end <= at) continue;
    if (r.start > at) break;
    at = r.end;
    if (at >= end) return len;
  }
  return Number(at - addr);
}
