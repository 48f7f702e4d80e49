/**
 * iced-x86, loaded when a command first decodes, encodes or formats an instruction. Modules import
 * the decoder from here, never from 'iced-x86' directly.
 *
 * Start-up (README "Speed"): loading iced-x86 (its 924 KB script parsed, its 784 KB WebAssembly
 * module compiled) and building its first decoder took about 170 ms of CPU, a third of a trivial
 * `exec`, whose sweep result usually comes from the cache (sweep-cache.ts) and which may trap no
 * instruction at all. So:
 * - the enums (Mnemonic, Register, ...: plain frozen objects in iced-x86's script) come from
 *   dist/emulator/generated/iced-enums.json, written by the build from iced-x86 itself and used
 *   only when it names the installed iced-x86 (version and file sizes); otherwise iced-x86 is loaded
 *   at once and its own enums are used (slower, never different; test/iced-lazy.test.ts); Code,
 *   the largest, is read only of decoded instructions and comes from iced-x86 on first read;
 * - the classes (Decoder, Instruction, RegisterExt, ...) are stand-ins that load iced-x86 on first
 *   use and are then replaced by the real classes (ES module bindings are live: importers see the
 *   real class from then on);
 * - iced-x86 is loaded with require(): imported as an ES module, Node 20 first scans its CommonJS
 *   for export names (cjs-module-lexer) and parses it once more to detect its format (about 100 ms);
 * - its WebAssembly is compiled by Liftoff only (V8's baseline compiler, `--liftoff-only`): with
 *   tier-up, the first decoder's table building sent its largest functions to TurboFan, about 50 ms
 *   of CPU on a background thread in every run, while the decoder's calls are short and gain
 *   nothing from it (measured: a sweep of 8 MiB of code took 1.27 s Liftoff-only, 1.49 s with
 *   tier-up).
 */
import { readFileSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { threadId } from 'node:worker_threads';
import type * as Iced from 'iced-x86';
import { ICED_V8_FLAGS } from './iced-flags.js';

type IcedModule = typeof Iced;
const require = createRequire(import.meta.url);

/** The classes this module passes on. */
type ClassName = 'CodeExt' | 'Decoder' | 'Encoder' | 'Formatter' | 'Instruction' | 'InstructionInfoFactory' | 'MemorySizeExt' | 'RegisterExt';
/** The enums this module passes on. */
export const ICED_ENUM_NAMES = ['CpuidFeature', 'DecoderOptions', 'EncodingKind', 'FormatterSyntax', 'MemorySize', 'Mnemonic', 'OpAccess', 'OpCodeOperandKind', 'OpKind', 'Register', 'RoundingControl'] as const;
type EnumName = typeof ICED_ENUM_NAMES[number];
type IcedEnums = Pick<IcedModule, EnumName>;

let loaded: IcedModule | undefined;
/** iced-x86 itself, loaded on first call. */
export function icedModule(): IcedModule {
  if (loaded === undefined) {
    setFlagsFromString(ICED_V8_FLAGS);
    loaded = require('iced-x86') as IcedModule;
    const m = loaded;
    CodeExt = m.CodeExt; Decoder = m.Decoder; Encoder = m.Encoder; Formatter = m.Formatter;
    Instruction = m.Instruction; InstructionInfoFactory = m.InstructionInfoFactory; MemorySizeExt = m.MemorySizeExt; RegisterExt = m.RegisterExt;
    Code = m.Code;
  }
  return loaded;
}

/** Whether iced-x86 has been loaded in this process (tests). */
export const icedLoaded = (): boolean => loaded !== undefined;

/**
 * A stand-in for iced-x86's class `name`: construction, static members and `instanceof` load
 * iced-x86 and go to the real class (which replaces the stand-in in this module's exports).
 */
function standIn<K extends ClassName>(name: K): IcedModule[K] {
  const real = (): IcedModule[K] => icedModule()[name];
  const proxy: IcedModule[K] = new Proxy(function icedStandIn() { /* never called */ } as unknown as IcedModule[K], {
    get: (_t, p) => Reflect.get(real(), p),
    has: (_t, p) => Reflect.has(real(), p),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    construct: (_t, args, newTarget) => Reflect.construct(real() as unknown as new (...a: unknown[]) => object, args, newTarget === proxy ? real() as unknown as new (...a: unknown[]) => object : newTarget) as object,
    apply: (_t, self, args) => Reflect.apply(real() as unknown as (...a: unknown[]) => unknown, self, args),
  });
  return proxy;
}

/**
 * A stand-in for iced-x86's enum Code (4,936 members, two thirds of all the enums' size): read only
 * of decoded instructions, when iced-x86 is loaded anyway, so it is not in the generated file; its
 * first read loads iced-x86, whose Code then replaces it. Reported properties are configurable
 * (iced-x86's are frozen): a proxy may not report a non-configurable property its target lacks.
 */
function codeStandIn(): IcedModule['Code'] {
  const real = (): Record<PropertyKey, unknown> => icedModule().Code as unknown as Record<PropertyKey, unknown>;
  return new Proxy({}, {
    get: (_t, p) => real()[p],
    has: (_t, p) => p in real(),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), p);
      return d && { ...d, configurable: true };
    },
  }) as IcedModule['Code'];
}

// Declared before the enums are read: reading them may load iced-x86, which sets these.
export let CodeExt: IcedModule['CodeExt'] = standIn('CodeExt');
export type CodeExt = Iced.CodeExt;
export let Decoder: IcedModule['Decoder'] = standIn('Decoder');
export type Decoder = Iced.Decoder;
export let Encoder: IcedModule['Encoder'] = standIn('Encoder');
export type Encoder = Iced.Encoder;
export let Formatter: IcedModule['Formatter'] = standIn('Formatter');
export type Formatter = Iced.Formatter;
export let Instruction: IcedModule['Instruction'] = standIn('Instruction');
export type Instruction = Iced.Instruction;
export let InstructionInfoFactory: IcedModule['InstructionInfoFactory'] = standIn('InstructionInfoFactory');
export type InstructionInfoFactory = Iced.InstructionInfoFactory;
export let MemorySizeExt: IcedModule['MemorySizeExt'] = standIn('MemorySizeExt');
export type MemorySizeExt = Iced.MemorySizeExt;
export let RegisterExt: IcedModule['RegisterExt'] = standIn('RegisterExt');
export type RegisterExt = Iced.RegisterExt;

// ------------------------------------------------------------------ the enums

/** Where the build writes the enums: dist/emulator/generated/iced-enums.json, next to this module's built form. */
export const GENERATED_ICED_ENUMS = join(dirname(fileURLToPath(import.meta.url)), 'generated', 'iced-enums.json');

/** What generated enums must name to stand for the installed iced-x86: its version and its files' sizes. */
export function icedIdentity(): string {
  const script = require.resolve('iced-x86');
  const dir = dirname(script);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return `${version} ${statSync(script).size} ${statSync(join(dir, 'iced_x86_bg.wasm')).size}`;
}

/** The generated file's content. */
interface GeneratedEnums { iced: string; enums: Record<EnumName, Record<string, string | number>> }

/**
 * The enums from `file` when it names the installed iced-x86 and holds every enum, each frozen as
 * iced-x86's own are; else iced-x86's own (loading it).
 */
export function loadIcedEnums(file = GENERATED_ICED_ENUMS): IcedEnums {
  try {
    const g = JSON.parse(readFileSync(file, 'utf8')) as GeneratedEnums;
    if (g.iced === icedIdentity() && ICED_ENUM_NAMES.every((n) => typeof g.enums[n] === 'object' && g.enums[n] !== null)) {
      for (const n of ICED_ENUM_NAMES) Object.freeze(g.enums[n]);
      return g.enums as unknown as IcedEnums;
    }
  } catch {
    // Missing (a build with tsc alone), unreadable or corrupt: iced-x86's own enums.
  }
  return icedModule();
}

/** Build step: write iced-x86's enums into `file` (a temporary file renamed into place). */
export function writeIcedEnums(file = GENERATED_ICED_ENUMS): void {
  const m = icedModule();
  const g: GeneratedEnums = { iced: icedIdentity(), enums: Object.fromEntries(ICED_ENUM_NAMES.map((n) => [n, m[n]])) as unknown as GeneratedEnums['enums'] };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  writeFileSync(tmp, JSON.stringify(g));
  renameSync(tmp, file);
}

export let Code: IcedModule['Code'] = codeStandIn();
export type Code = Iced.Code;
const enums = loadIcedEnums();
export const CpuidFeature = enums.CpuidFeature;
export type CpuidFeature = Iced.CpuidFeature;
export const DecoderOptions = enums.DecoderOptions;
export type DecoderOptions = Iced.DecoderOptions;
export const EncodingKind = enums.EncodingKind;
export type EncodingKind = Iced.EncodingKind;
export const FormatterSyntax = enums.FormatterSyntax;
export type FormatterSyntax = Iced.FormatterSyntax;
export const MemorySize = enums.MemorySize;
export type MemorySize = Iced.MemorySize;
export const Mnemonic = enums.Mnemonic;
export type Mnemonic = Iced.Mnemonic;
export const OpCodeOperandKind = enums.OpCodeOperandKind;
export type OpCodeOperandKind = Iced.OpCodeOperandKind;
export const OpKind = enums.OpKind;
export type OpKind = Iced.OpKind;
export const Register = enums.Register;
export type Register = Iced.Register;
export const RoundingControl = enums.RoundingControl;
export type RoundingControl = Iced.RoundingControl;
export const OpAccess = enums.OpAccess;
export type OpAccess = Iced.OpAccess;
