/**
 * GDB Remote Serial Protocol framing (GDB manual, appendix "GDB Remote Serial Protocol",
 * "Overview" and "Binary Data"): `$data#cs` with cs the modulo-256 sum of the data bytes as two
 * lower-case hex digits, `+`/`-` acknowledgements, 0x03 as an out-of-band interrupt, and `}`
 * escaping (the byte XOR 0x20) of `$`, `#`, `}` and `*` inside binary data. Packets are strings
 * of bytes (latin1), so binary payloads survive unchanged.
 */

/** A byte GDB sends outside a packet to interrupt the running target (Ctrl-C). */
export const INTERRUPT_BYTE = 0x03;
const START = 0x24; // '$'
const END = 0x23; // '#'
const ESCAPE = 0x7d; // '}'
const ESCAPE_XOR = 0x20;

export type RspEvent =
  | { kind: 'packet'; data: string }
  /** A packet whose checksum did not match (the stub answers '-', GDB sends it again). */
  | { kind: 'bad-checksum' }
  /** A packet longer than the decoder accepts: dropped whole (answered '-'). */
  | { kind: 'too-long' }
  | { kind: 'interrupt' }
  | { kind: 'ack' }
  | { kind: 'nak' };

enum State { Idle, Data, Check1, Check2 }

/** Incremental decoder of the byte stream GDB sends. */
export class RspDecoder {
  private state = State.Idle;
  private data: number[] = [];
  private sum = 0;
  private check = '';
  private overflow = false;

  /** @param maxData the longest packet accepted (bytes between '$' and '#'); longer ones are dropped. */
  constructor(private readonly maxData: number) {}

  feed(bytes: Uint8Array): RspEvent[] {
    const out: RspEvent[] = [];
    for (const b of bytes) {
      switch (this.state) {
        case State.Idle:
          if (b === START) { this.state = State.Data; this.data = []; this.sum = 0; this.overflow = false; }
          else if (b === INTERRUPT_BYTE) out.push({ kind: 'interrupt' });
          else if (b === 0x2b) out.push({ kind: 'ack' });
          else if (b === 0x2d) out.push({ kind: 'nak' });
          // Anything else between packets is noise and ignored (the manual: the stub looks for '$').
          break;
        case State.Data:
          if (b === END) { this.state = State.Check1; this.check = ''; break; }
          if (b === START) { this.data = []; this.sum = 0; this.overflow = false; break; } // a new start abandons the partial packet
          this.sum = (this.sum + b) & 0xff;
          if (this.data.length >= this.maxData) this.overflow = true;
          else this.data.push(b);
          break;
        case State.Check1:
          this.check = String.fromCharCode(b);
          this.state = State.Check2;
          break;
        case State.Check2: {
          this.check += String.fromCharCode(b);
          this.state = State.Idle;
          if (this.overflow) { out.push({ kind: 'too-long' }); break; }
          const want = /^[0-9a-fA-F]{2}$/.test(this.check) ? parseInt(this.check, 16) : -1;
          if (want !== this.sum) { out.push({ kind: 'bad-checksum' }); break; }
          out.push({ kind: 'packet', data: unescapeBinary(this.data) });
          break;
        }
      }
    }
    return out;
  }
}

/** Undo `}` escaping (the manual: "the byte following is XORed with 0x20"); a trailing lone `}` is kept. */
function unescapeBinary(raw: number[]): string {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === ESCAPE && i + 1 < raw.length) out.push(raw[++i]! ^ ESCAPE_XOR);
    else out.push(b);
  }
  return Buffer.from(out).toString('latin1');
}

/** `$data#cs` with the bytes that would end or confuse a packet escaped. */
export function framePacket(data: string): Buffer {
  const body: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data.charCodeAt(i) & 0xff;
    if (b === START || b === END || b === ESCAPE || b === 0x2a) body.push(ESCAPE, b ^ ESCAPE_XOR);
    else body.push(b);
  }
  let sum = 0;
  for (const b of body) sum = (sum + b) & 0xff;
  return Buffer.concat([Buffer.from([START]), Buffer.from(body), Buffer.from(`#${sum.toString(16).padStart(2, '0')}`, 'latin1')]);
}

/** Little-endian bytes as hex, two digits a byte (register and memory contents). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Hex digits to bytes; undefined when the text is not an even number of hex digits. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** A hex number of the protocol (addresses, lengths, register numbers); undefined unless it is one. */
export function parseHexNumber(s: string | undefined, maxDigits = 16): bigint | undefined {
  if (s === undefined || s.length === 0 || s.length > maxDigits || !/^[0-9a-fA-F]+$/.test(s)) return undefined;
  return BigInt(`0x${s}`);
}

/** Text as hex (qRcmd output, O packets, qThreadExtraInfo). */
export function textToHex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}
