/**
 * iced-x86, loaded with require(). Imported from an ES module, Node 20 first scans the package's
 * 924 KB of CommonJS for its export names (cjs-module-lexer) and parses it once more to detect its
 * module format; require() skips both, about 100 ms of every command's start-up (README "Speed").
 * Modules import the decoder from here, never from 'iced-x86' directly.
 */
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';

const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;

export const Code = iced.Code;
export type Code = Iced.Code;
export const CodeExt = iced.CodeExt;
export type CodeExt = Iced.CodeExt;
export const CpuidFeature = iced.CpuidFeature;
export type CpuidFeature = Iced.CpuidFeature;
export const Decoder = iced.Decoder;
export type Decoder = Iced.Decoder;
export const DecoderOptions = iced.DecoderOptions;
export type DecoderOptions = Iced.DecoderOptions;
export const Encoder = iced.Encoder;
export type Encoder = Iced.Encoder;
export const EncodingKind = iced.EncodingKind;
export type EncodingKind = Iced.EncodingKind;
export const Formatter = iced.Formatter;
export type Formatter = Iced.Formatter;
export const FormatterSyntax = iced.FormatterSyntax;
export type FormatterSyntax = Iced.FormatterSyntax;
export const Instruction = iced.Instruction;
export type Instruction = Iced.Instruction;
export const MemorySize = iced.MemorySize;
export type MemorySize = Iced.MemorySize;
export const MemorySizeExt = iced.MemorySizeExt;
export type MemorySizeExt = Iced.MemorySizeExt;
export const Mnemonic = iced.Mnemonic;
export type Mnemonic = Iced.Mnemonic;
export const OpCodeOperandKind = iced.OpCodeOperandKind;
export type OpCodeOperandKind = Iced.OpCodeOperandKind;
export const OpKind = iced.OpKind;
export type OpKind = Iced.OpKind;
export const Register = iced.Register;
export type Register = Iced.Register;
export const RegisterExt = iced.RegisterExt;
export type RegisterExt = Iced.RegisterExt;
export const RoundingControl = iced.RoundingControl;
export type RoundingControl = Iced.RoundingControl;
export const InstructionInfoFactory = iced.InstructionInfoFactory;
export type InstructionInfoFactory = Iced.InstructionInfoFactory;
export const OpAccess = iced.OpAccess;
export type OpAccess = Iced.OpAccess;
