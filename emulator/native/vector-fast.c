/*
 * The commonest AVX, AVX2 and AVX-512 instructions in native code, for the trap gate: register-to-
 * register integer add/sub, logic, ternary logic and moves (VEX and EVEX, 128/256/512 bits, EVEX
 * merge and zero masking) and the opmask instructions KMOV k,k, KADD, KAND, KANDN, KOR, KXOR,
 * KXNOR, KNOT and KSHIFT, over the register file's own store (emulator/register-file.ts
 * RegisterFile.store).
 *
 * This file has no layout constant, opcode, mnemonic, element size or quirk of its own: a decoded
 * instruction is accepted only when the CPU's acceptance table (emulator/vector-native.ts
 * vectorAcceptTable, generated from iced-x86's opcode metadata, the model's element sizes and its
 * own CPUID and XCR0 checks) has an entry for its (encoding, map, opcode, pp, W, L), and every store
 * offset, component number and tracking quirk comes from the layout table (vectorTable). The names
 * of both tables' words, the operation kinds and the state words are compared with vector-native.ts
 * when the library loads (xl_vf_binding). What each operation does mirrors the model, function by
 * function (emulator/vector/integer.ts, moves.ts, opmask.ts, core.ts writeDest, vector-file.ts
 * VectorFile.write/writeK); test/vector-native.test.ts compares them on random states and encodings.
 *
 * Whatever is not the common case returns VF_DECLINE before changing anything: a memory operand, a
 * prefix before VEX/EVEX, EVEX.b, a reserved bit, an opcode the table lacks (or the CPU's CPUID
 * lacks: the model's #UD), XCR0 without the components the encoding needs (the model's #UD), CR0.TS
 * or XFD armed, outside 64-bit mode. The model then runs the instruction and raises the fault.
 *
 * Needs xsave-fast.c's enum xs_word (the StateWord names, bound there); trap-gate.c includes both.
 */

/* Layout table words (emulator/vector-native.ts VfTable). */
enum vf_table {
  VT_LEGACY_XMM0, VT_LEGACY_MXCSR, VT_XMM_BYTES, VT_STATE_WORDS,
  VT_SSE, VT_AVX, VT_OPMASK, VT_ZMM_HI256, VT_HI16_ZMM,
  VT_STORE_AVX, VT_STORE_OPMASK, VT_STORE_ZMM_HI256, VT_STORE_HI16_ZMM,
  VT_AVX_PART, VT_ZMM_HI256_PART, VT_HI16_ZMM_PART, VT_OPMASK_PART,
  VT_Q_TRACKS_ZERO_REGISTERS, VT_Q_IDIOM_KEEPS_INIT, VT_Q_FOLLOWS_VECTOR_LENGTH,
  VT_WORDS
};

/* Fields of an acceptance word (emulator/vector-native.ts VfAccept); 0 means not accepted. */
enum vf_accept {
  VA_KIND_MASK = 0x3f,
  VA_ES_SHIFT = 6,       /* 2 bits: log2 of the element size in bytes (masking, add/sub, k-register width) */
  VA_DST_SHIFT = 8,      /* 2 bits each: where an operand is (enum vf_at) */
  VA_SRC1_SHIFT = 10,
  VA_SRC2_SHIFT = 12,
  VA_KREGS = 1 << 14,    /* the operands are opmask registers */
  VA_MASKABLE = 1 << 15, /* EVEX.aaa may be nonzero */
  VA_ZEROABLE = 1 << 16, /* EVEX.z may be set */
  VA_IMM8 = 1 << 17,
  VA_IDIOM_SAME = 1 << 18, /* a zeroing idiom when both sources are one register (the model's WriteKind.Idiom) */
  VA_NEED_SHIFT = 24     /* 8 bits: XCR0 bits the encoding needs (machine-features.ts xcr0Needed) */
};
enum vf_at { VA_AT_NONE, VA_AT_REG, VA_AT_RM, VA_AT_VVVV };

/* The operation kinds (emulator/vector-native.ts VfKind). */
enum vf_kind {
  VK_MOVE = 1, VK_ADD, VK_SUB, VK_AND, VK_ANDN, VK_OR, VK_XOR, VK_TERNLOG,
  VK_KMOV, VK_KADD, VK_KAND, VK_KANDN, VK_KOR, VK_KXOR, VK_KXNOR, VK_KNOT, VK_KSHIFTL, VK_KSHIFTR
};

/* Index of an acceptance word: ((((evex * 4 + map) * 256 + opcode) * 4 + pp) * 2 + W) * 4 + L. */
#define VF_ACCEPT_WORDS (2 * 4 * 256 * 4 * 2 * 4)

/* What xl_vf_exec returns: declined (nothing changed), or the register written. */
#define VF_DECLINE (-1)
#define VF_WROTE_K 0x100

/* What vector-native.ts compares with its enums: "kind:name=value" lines. */
const char *xl_vf_binding(void) {
  static char out[4096];
  if (out[0]) return out;
  static const struct { const char *kind, *name; long value; } names[] = {
#define VT_(x) { "table", #x, VT_##x },
    VT_(LEGACY_XMM0) VT_(LEGACY_MXCSR) VT_(XMM_BYTES) VT_(STATE_WORDS) VT_(SSE) VT_(AVX) VT_(OPMASK) VT_(ZMM_HI256) VT_(HI16_ZMM)
    VT_(STORE_AVX) VT_(STORE_OPMASK) VT_(STORE_ZMM_HI256) VT_(STORE_HI16_ZMM) VT_(AVX_PART) VT_(ZMM_HI256_PART) VT_(HI16_ZMM_PART)
    VT_(OPMASK_PART) VT_(Q_TRACKS_ZERO_REGISTERS) VT_(Q_IDIOM_KEEPS_INIT) VT_(Q_FOLLOWS_VECTOR_LENGTH) VT_(WORDS)
#define VA_(x) { "accept", #x, VA_##x },
    VA_(KIND_MASK) VA_(ES_SHIFT) VA_(DST_SHIFT) VA_(SRC1_SHIFT) VA_(SRC2_SHIFT) VA_(KREGS) VA_(MASKABLE) VA_(ZEROABLE) VA_(IMM8)
    VA_(IDIOM_SAME) VA_(NEED_SHIFT)
#define AT_(x) { "at", #x, VA_AT_##x },
    AT_(NONE) AT_(REG) AT_(RM) AT_(VVVV)
#define VK_(x) { "kind", #x, VK_##x },
    VK_(MOVE) VK_(ADD) VK_(SUB) VK_(AND) VK_(ANDN) VK_(OR) VK_(XOR) VK_(TERNLOG) VK_(KMOV) VK_(KADD) VK_(KAND) VK_(KANDN)
    VK_(KOR) VK_(KXOR) VK_(KXNOR) VK_(KNOT) VK_(KSHIFTL) VK_(KSHIFTR)
#define VW_(x) { "word", #x, SW_##x },
    VW_(XINUSE) VW_(XMODIFIED) VW_(KNOWN_ZERO) VW_(XCR0) VW_(CR0_TS) VW_(MODE64) VW_(XFD) VW_(REGS_IN_USE)
    { "size", "ACCEPT_WORDS", VF_ACCEPT_WORDS },
  };
  size_t at = 0;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    int n = snprintf(out + at, sizeof out - at, "%s:%s=%ld\n", names[k].kind, names[k].name, names[k].value);
    if (n < 0 || (size_t)n >= sizeof out - at) { out[0] = 0; return "overflow"; }
    at += (size_t)n;
  }
  return out;
}

/* One decoded instruction (packed into the gate's descriptor: vf_pack). */
struct vf_insn {
  uint32_t word;     /* its acceptance word */
  uint8_t dst, src1, src2; /* register numbers (0-31 vector, 0-7 opmask); src2 unused by two-operand forms */
  uint8_t aaa, z, L, evex, imm, len;
};

/* The register number an operand's location gives. */
static uint32_t vf_operand(uint32_t at, uint32_t reg, uint32_t rm, uint32_t vvvv) {
  return at == VA_AT_REG ? reg : at == VA_AT_RM ? rm : at == VA_AT_VVVV ? vvvv : 0;
}

/*
 * Decodes the instruction at b[0..n) (64-bit mode) when it is a register form the table accepts.
 * VEX (SDM Vol. 2A 2.3.5): C5 R vvvv L pp | C4 R X B mmmmm, W vvvv L pp. EVEX (2.7.1): 62 R X B R' 0 mmm,
 * W vvvv 1 pp, z L'L b V' aaa. The inverted fields are inverted here.
 */
int xl_vf_decode(const uint32_t *accept, const uint8_t *b, uint32_t n, struct vf_insn *o) {
  uint32_t R = 0, X = 0, B = 0, R2 = 0, V2 = 0, map, W, L, pp, vvvv, aaa = 0, z = 0, at;
  int evex = 0;
  if (n >= 2 && b[0] == 0xc5) {
    R = !(b[1] >> 7); vvvv = (~b[1] >> 3) & 15; L = b[1] >> 2 & 1; pp = b[1] & 3; map = 1; W = 0; at = 2;
  } else if (n >= 3 && b[0] == 0xc4) {
    R = !(b[1] >> 7); X = !(b[1] >> 6 & 1); B = !(b[1] >> 5 & 1); map = b[1] & 31;
    W = b[2] >> 7; vvvv = (~b[2] >> 3) & 15; L = b[2] >> 2 & 1; pp = b[2] & 3; at = 3;
    (void)X; /* ignored by register forms */
  } else if (n >= 4 && b[0] == 0x62) {
    evex = 1;
    if (b[1] & 0x0c) return 0;        /* reserved (and APX/AVX10 extensions): the model's */
    if (!(b[2] & 0x04)) return 0;     /* P1 bit 2 must be 1 */
    R = !(b[1] >> 7); X = !(b[1] >> 6 & 1); B = !(b[1] >> 5 & 1); R2 = !(b[1] >> 4 & 1); map = b[1] & 3;
    W = b[2] >> 7; vvvv = (~b[2] >> 3) & 15; pp = b[2] & 3;
    z = b[3] >> 7; L = b[3] >> 5 & 3; V2 = !(b[3] >> 3 & 1); aaa = b[3] & 7;
    if (b[3] & 0x10) return 0;        /* EVEX.b: broadcast, rounding or SAE */
    if (L == 3) return 0;
    at = 4;
  } else return 0;
  if (map < 1 || map > 3 || at + 2 > n) return 0;
  uint32_t opcode = b[at], modrm = b[at + 1];
  if ((modrm >> 6) != 3) return 0;    /* a memory operand: the model's */
  uint32_t word = accept[((((evex * 4u + map) * 256u + opcode) * 4u + pp) * 2u + W) * 4u + L];
  if (!word) return 0;
  uint32_t len = at + 2 + ((word & VA_IMM8) ? 1 : 0);
  if (len > n || len > 15) return 0;
  /* EVEX.X extends a register r/m to 32 registers (SDM Vol. 2A 2.7.2); VEX.X is ignored for it. */
  uint32_t reg = (modrm >> 3 & 7) | R << 3 | R2 << 4, rm = (modrm & 7) | B << 3 | (evex ? X << 4 : 0), vv = vvvv | V2 << 4;
  uint32_t dat = word >> VA_DST_SHIFT & 3, s1 = word >> VA_SRC1_SHIFT & 3, s2 = word >> VA_SRC2_SHIFT & 3;
  int uses_vvvv = dat == VA_AT_VVVV || s1 == VA_AT_VVVV || s2 == VA_AT_VVVV;
  if (!uses_vvvv && vv != 0) return 0; /* VEX.vvvv / EVEX.V'vvvv must be 1111b (inverted) */
  if (word & VA_KREGS) {
    /* Opmask operands: only the 3-bit fields; any extension bit is left to the model. */
    if (reg > 7 || rm > 7 || (uses_vvvv && vv > 7)) return 0;
  }
  if (aaa && !(word & VA_MASKABLE)) return 0;
  if (z && (!(word & VA_ZEROABLE) || !aaa)) return 0;
  o->word = word;
  o->dst = (uint8_t)vf_operand(dat, reg, rm, vv);
  o->src1 = (uint8_t)vf_operand(s1, reg, rm, vv);
  o->src2 = (uint8_t)vf_operand(s2, reg, rm, vv);
  o->aaa = (uint8_t)aaa; o->z = (uint8_t)z; o->L = (uint8_t)L; o->evex = (uint8_t)evex;
  o->imm = (word & VA_IMM8) ? b[at + 2] : 0;
  o->len = (uint8_t)len;
  return 1;
}

/* The store's views for one instruction. */
struct vf {
  const uint32_t *t;
  uint8_t *store;
  uint32_t *w;
};
#define VT(x) (s->t[VT_##x])
#define VW(x) (s->w[SW_##x])

/* register-file.ts touched(c, inUse). */
static void vf_touched(const struct vf *s, uint32_t c, int in_use) {
  uint32_t b = 1u << c;
  VW(KNOWN_ZERO) &= ~b;
  if (in_use) VW(XINUSE) |= b;
  VW(XMODIFIED) |= b;
}

/* register-file.ts setRegInUse. */
static void vf_set_reg_in_use(const struct vf *s, uint32_t c, uint32_t reg, int in_use) {
  VW(KNOWN_ZERO) &= ~(1u << c);
  uint32_t m = in_use ? s->w[SW_REGS_IN_USE + c] | 1u << reg : s->w[SW_REGS_IN_USE + c] & ~(1u << reg);
  s->w[SW_REGS_IN_USE + c] = m;
  if (m) VW(XINUSE) |= 1u << c; else VW(XINUSE) &= ~(1u << c);
}

static int vf_reg_in_use(const struct vf *s, uint32_t c, uint32_t reg) { return s->w[SW_REGS_IN_USE + c] >> reg & 1; }

/* vector-file.ts VectorFile.read. */
static void vf_read(const struct vf *s, uint32_t n, uint32_t width, uint8_t *out) {
  if (n >= 16) { memcpy(out, s->store + VT(STORE_HI16_ZMM) + (n - 16) * VT(HI16_ZMM_PART), width); return; }
  memcpy(out, s->store + VT(LEGACY_XMM0) + n * VT(XMM_BYTES), VT(XMM_BYTES));
  if (width > VT(XMM_BYTES)) memcpy(out + VT(XMM_BYTES), s->store + VT(STORE_AVX) + n * VT(AVX_PART), VT(AVX_PART));
  if (width > VT(XMM_BYTES) + VT(AVX_PART)) memcpy(out + VT(XMM_BYTES) + VT(AVX_PART), s->store + VT(STORE_ZMM_HI256) + n * VT(ZMM_HI256_PART), VT(ZMM_HI256_PART));
}

/* How a written value came to be (vector-file.ts WriteKind). */
enum vf_how { VF_LOAD, VF_COMPUTE, VF_IDIOM, VF_MOVE };

static void vf_mark(const struct vf *s, uint32_t c, uint32_t reg, int in_use) {
  if (VT(Q_TRACKS_ZERO_REGISTERS)) { vf_set_reg_in_use(s, c, reg, in_use); vf_touched(s, c, 0); }
  else vf_touched(s, c, in_use);
}

/* vector-file.ts write's upperInUse: a move copies the source's state, other writes are in use. */
static int vf_upper_in_use(const struct vf *s, uint32_t c, int idiom_init, enum vf_how how, int src) {
  if (idiom_init) return 0;
  if (how != VF_MOVE || src < 0) return 1;
  if (src >= 16) return vf_reg_in_use(s, VT(HI16_ZMM), (uint32_t)src - 16);
  if (c == VT(AVX)) return vf_reg_in_use(s, VT(AVX), (uint32_t)src) || vf_reg_in_use(s, VT(ZMM_HI256), (uint32_t)src);
  return vf_reg_in_use(s, c, (uint32_t)src);
}

/* vector-file.ts VectorFile.write with UpperBits.Zero (every VEX/EVEX write), avxPartInUse false. */
static void vf_write(const struct vf *s, uint32_t n, const uint8_t *data, uint32_t width, enum vf_how how, int src) {
  int idiom_init = how == VF_IDIOM && VT(Q_IDIOM_KEEPS_INIT);
  int track = VT(Q_TRACKS_ZERO_REGISTERS) != 0;
  uint8_t *L = s->store;
  uint32_t xb = VT(XMM_BYTES), ab = VT(AVX_PART), hb = VT(ZMM_HI256_PART);
  if (n >= 16) {
    uint8_t *z = L + VT(STORE_HI16_ZMM) + (n - 16) * VT(HI16_ZMM_PART);
    memcpy(z, data, width);
    memset(z + width, 0, VT(HI16_ZMM_PART) - width);
    vf_mark(s, VT(HI16_ZMM), n - 16, !idiom_init);
    return;
  }
  memcpy(L + VT(LEGACY_XMM0) + n * xb, data, xb);
  vf_mark(s, VT(SSE), n, !idiom_init);
  if (VT(STORE_AVX)) {
    uint8_t *a = L + VT(STORE_AVX) + n * ab;
    if (width > xb) { memcpy(a, data + xb, ab); vf_mark(s, VT(AVX), n, track ? vf_upper_in_use(s, VT(AVX), idiom_init, how, src) : !idiom_init); }
    else { memset(a, 0, ab); if (track) vf_mark(s, VT(AVX), n, 0); else vf_touched(s, VT(AVX), 0); }
  }
  if (VT(STORE_ZMM_HI256)) {
    uint8_t *h = L + VT(STORE_ZMM_HI256) + n * hb;
    if (width > xb + ab) { memcpy(h, data + xb + ab, hb); vf_mark(s, VT(ZMM_HI256), n, track ? vf_upper_in_use(s, VT(ZMM_HI256), idiom_init, how, src) : !idiom_init); }
    else { memset(h, 0, hb); if (track) vf_mark(s, VT(ZMM_HI256), n, 0); else vf_touched(s, VT(ZMM_HI256), 0); }
  }
}

static uint64_t vf_read_k(const struct vf *s, uint32_t k) {
  uint64_t v;
  memcpy(&v, s->store + VT(STORE_OPMASK) + k * VT(OPMASK_PART), 8);
  return v;
}

/* vector-file.ts VectorFile.writeK. */
static void vf_write_k(const struct vf *s, uint32_t k, uint64_t v, enum vf_how how) {
  memcpy(s->store + VT(STORE_OPMASK) + k * VT(OPMASK_PART), &v, 8);
  int idiom_init = how == VF_IDIOM && VT(Q_IDIOM_KEEPS_INIT);
  if (VT(Q_TRACKS_ZERO_REGISTERS)) { vf_set_reg_in_use(s, VT(OPMASK), k, !idiom_init); vf_touched(s, VT(OPMASK), 0); }
  else vf_touched(s, VT(OPMASK), !idiom_init);
}

static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/*
 * Runs a decoded instruction over the store. Returns VF_DECLINE (nothing changed), or the register
 * written: a vector register number, or VF_WROTE_K | k.
 */
int xl_vf_exec(const uint32_t *t, uint8_t *store, const struct vf_insn *in) {
  struct vf sv = { t, store, (uint32_t *)(void *)(store + t[VT_STATE_WORDS]) }, *s = &sv;
  uint32_t word = in->word, kind = word & VA_KIND_MASK, need = word >> VA_NEED_SHIFT & 0xff;
  /* The model's #UD (XCR0) and anything unusual (CR0.TS, XFD, legacy modes): the model decides. */
  if ((VW(XCR0) & need) != need || VW(CR0_TS) || (VW(XFD) & VW(XCR0)) || !VW(MODE64)) return VF_DECLINE;
  uint32_t es_log = word >> VA_ES_SHIFT & 3, es = 1u << es_log;
  int idiom_same = (word & VA_IDIOM_SAME) && in->src1 == in->src2;
  if (word & VA_KREGS) {
    if (!VT(STORE_OPMASK)) return VF_DECLINE;
    uint32_t bits = 8u << es_log;
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t a = vf_read_k(s, in->src1), b = vf_read_k(s, in->src2), v;
    enum vf_how how = VF_COMPUTE;
    switch (kind) {
      case VK_KMOV: v = a & m; how = VF_MOVE; break;                       /* opmask.ts kmov */
      case VK_KADD: v = (a + b) & m; break;                                 /* opmask.ts kbinary */
      case VK_KAND: v = a & b & m; break;
      case VK_KANDN: v = ~a & b & m; break;
      case VK_KOR: v = (a | b) & m; break;
      case VK_KXOR: v = (a ^ b) & m; break;
      case VK_KXNOR: v = ~(a ^ b) & m; break;
      case VK_KNOT: v = ~a & m; break;                                      /* opmask.ts knot */
      case VK_KSHIFTL: v = in->imm >= bits ? 0 : (a & m) << in->imm & m; break; /* opmask.ts kshift */
      case VK_KSHIFTR: v = in->imm >= bits ? 0 : (a & m) >> in->imm; break;
      default: return VF_DECLINE;
    }
    if (idiom_same) how = VF_IDIOM;
    vf_write_k(s, in->dst, v, how);
    return VF_WROTE_K | in->dst;
  }
  uint32_t width = VT(XMM_BYTES) << in->L, elems = width / es;
  /* The parts the registers need (a profile without them would not accept the code; checked anyway). */
  if (width > VT(XMM_BYTES) && !VT(STORE_AVX)) return VF_DECLINE;
  if (width > VT(XMM_BYTES) + VT(AVX_PART) && !VT(STORE_ZMM_HI256)) return VF_DECLINE;
  if ((in->dst >= 16 || in->src1 >= 16 || in->src2 >= 16) && !VT(STORE_HI16_ZMM)) return VF_DECLINE;
  uint8_t a[64], b[64], out[64];
  enum vf_how how = VF_COMPUTE;
  int src = -1;
  switch (kind) {
    case VK_MOVE: /* moves.ts move: a register source is a move */
      vf_read(s, in->src1, width, out);
      how = VF_MOVE;
      src = in->src1;
      break;
    case VK_ADD: case VK_SUB: { /* integer.ts arith: wrap-around per element */
      vf_read(s, in->src1, width, a);
      vf_read(s, in->src2, width, b);
      for (uint32_t o = 0; o < width; o += es) {
        uint64_t x = 0, y = 0;
        memcpy(&x, a + o, es); memcpy(&y, b + o, es);
        uint64_t r = kind == VK_ADD ? x + y : x - y;
        memcpy(out + o, &r, es);
      }
      break;
    }
    case VK_AND: case VK_ANDN: case VK_OR: case VK_XOR: /* integer.ts logic */
      vf_read(s, in->src1, width, a);
      vf_read(s, in->src2, width, b);
      for (uint32_t o = 0; o < width; o += 8) {
        uint64_t x = ld64(a + o), y = ld64(b + o);
        st64(out + o, kind == VK_AND ? x & y : kind == VK_ANDN ? ~x & y : kind == VK_OR ? x | y : x ^ y);
      }
      break;
    case VK_TERNLOG: { /* integer.ts vpternlog: bit = imm8[(dst << 2) | (src1 << 1) | src2] */
      uint8_t d[64];
      vf_read(s, in->dst, width, d);
      vf_read(s, in->src1, width, a);
      vf_read(s, in->src2, width, b);
      for (uint32_t o = 0; o < width; o += 8) {
        uint64_t x = ld64(d + o), y = ld64(a + o), w = ld64(b + o), r = 0;
        for (uint32_t idx = 0; idx < 8; idx++)
          if (in->imm >> idx & 1) r |= (idx & 4 ? x : ~x) & (idx & 2 ? y : ~y) & (idx & 1 ? w : ~w);
        st64(out + o, r);
      }
      break;
    }
    default: return VF_DECLINE;
  }
  if (idiom_same && (!in->aaa || in->z)) how = VF_IDIOM;
  /* core.ts writeDest: EVEX write masking per element, merging or zeroing. */
  int masked = in->evex && in->aaa;
  if (masked) {
    uint64_t m = vf_read_k(s, in->aaa);
    if (elems < 64) m &= (1ull << elems) - 1;
    uint8_t old[64];
    vf_read(s, in->dst, width, old);
    for (uint32_t i = 0; i < elems; i++) {
      if (m >> i & 1) continue;
      if (in->z) memset(out + i * es, 0, es); else memcpy(out + i * es, old + i * es, es);
    }
    if (!(how == VF_IDIOM && in->z)) how = VF_COMPUTE;
  }
  vf_write(s, in->dst, out, width, how, how == VF_MOVE ? src : -1);
  /* core.ts markByVectorLength (quirk xinuse-follows-vector-length): the vector length is the width here. */
  if (in->dst < 16 && width < VT(XMM_BYTES) + VT(AVX_PART) + VT(ZMM_HI256_PART) && VT(Q_FOLLOWS_VECTOR_LENGTH)) {
    if (width >= VT(XMM_BYTES) + VT(AVX_PART) && VT(STORE_AVX)) vf_touched(s, VT(AVX), 1);
  }
  return in->dst;
}

/* For the differential test: decode and run; VF_DECLINE when either declines. `len` out: the instruction's length. */
int xl_vf_run(const uint32_t *t, const uint32_t *accept, uint8_t *store, const uint8_t *bytes, uint32_t n, uint32_t *len) {
  struct vf_insn in;
  if (!xl_vf_decode(accept, bytes, n, &in)) return VF_DECLINE;
  *len = in.len;
  return xl_vf_exec(t, store, &in);
}

/*
 * machine.ts absorb(false) and applySseEvents for the registers in `regs`: the block holds unicorn's
 * XMMn for each (the gate just read them); one that differs from the store was written by code
 * unicorn ran, and is copied with its tracking. The other registers are left for the next full
 * synchronisation: what absorb does to them (setting in-use bits) commutes with what this
 * instruction does to its own registers. Observed SSE writes (events) are applied whole.
 */
static void vf_absorb_sse(const struct vf *s, const uint8_t *block, uint32_t img_xmm0, uint32_t regs, uint32_t *events, uint32_t event_shift) {
  uint32_t xb = VT(XMM_BYTES), sse = VT(SSE);
  int track = VT(Q_TRACKS_ZERO_REGISTERS) != 0;
  for (uint32_t m = regs; m; m &= m - 1) {
    uint32_t n = (uint32_t)__builtin_ctz(m);
    uint8_t *st = s->store + VT(LEGACY_XMM0) + n * xb;
    const uint8_t *u = block + img_xmm0 + n * xb;
    if (!memcmp(st, u, xb)) continue;
    memcpy(st, u, xb);
    if (track) vf_set_reg_in_use(s, sse, n, 1);
    vf_touched(s, sse, 1);
  }
  uint32_t written = *events >> event_shift;
  if (written) {
    *events &= (1u << event_shift) - 1;
    if (track) for (uint32_t n = 0; n < 16; n++) if (written >> n & 1) vf_set_reg_in_use(s, sse, n, 1);
    vf_touched(s, sse, 1);
  }
}

/* What the gate binds (xl_gate_vf_bind): the CPU's tables, the running thread's store, where the register block keeps XMM0. */
struct vf_binding {
  const uint32_t *table, *accept;
  uint8_t *store;          /* NULL: off */
  uint32_t img_xmm0;
  uint64_t done;           /* instructions done here */
};

/* The checks xl_vf_exec makes before it changes anything (the gate checks first, then reads registers). */
static int vf_ready(const struct vf_binding *vb, const struct vf_insn *in) {
  if (!vb->store) return 0;
  const uint32_t *t = vb->table, *w = (const uint32_t *)(const void *)(vb->store + t[VT_STATE_WORDS]);
  uint32_t need = in->word >> VA_NEED_SHIFT & 0xff;
  return (w[SW_XCR0] & need) == need && !w[SW_CR0_TS] && !(w[SW_XFD] & w[SW_XCR0]) && w[SW_MODE64];
}

/* XMM0-15 (bit n) a vector instruction reads or writes: what the gate reads from unicorn first; 0 for an opmask instruction. */
static uint32_t vf_sse_operands(const struct vf_insn *in) {
  if (in->word & VA_KREGS) return 0;
  uint32_t m = in->dst < 16 ? 1u << in->dst : 0;
  if ((in->word >> VA_SRC1_SHIFT & 3) != VA_AT_NONE && in->src1 < 16) m |= 1u << in->src1;
  if ((in->word >> VA_SRC2_SHIFT & 3) != VA_AT_NONE && in->src2 < 16) m |= 1u << in->src2;
  return m;
}

/* vf_gate_run's result bit: the destination's XMM bits changed (the gate writes it to unicorn). */
#define VF_XMM_CHANGED 0x200

/*
 * The gate's part (trap-gate.c vf_fast), after vf_ready and with the block holding unicorn's XMMn
 * for every register of vf_sse_operands: absorbs them, runs the instruction, and puts the
 * destination's XMM bits back in the block. Returns -1 when declined (the JS path then runs it and
 * synchronises everything; an absorb done here it finds done), else xl_vf_exec's result, with
 * VF_XMM_CHANGED when the destination is XMM0-15 and its bits 127:0 changed.
 */
static int vf_gate_run(struct vf_binding *vb, const struct vf_insn *in, uint8_t *block, uint32_t regs, uint32_t *events, uint32_t event_shift) {
  struct vf sv = { vb->table, vb->store, (uint32_t *)(void *)(vb->store + vb->table[VT_STATE_WORDS]) }, *s = &sv;
  if (regs) vf_absorb_sse(s, block, vb->img_xmm0, regs, events, event_shift);
  int r = xl_vf_exec(vb->table, vb->store, in);
  if (r == VF_DECLINE) return -1;
  vb->done++;
  if (r & VF_WROTE_K || r >= 16) return r;
  uint32_t xb = VT(XMM_BYTES);
  uint8_t *u = block + vb->img_xmm0 + (uint32_t)r * xb;
  const uint8_t *st = s->store + VT(LEGACY_XMM0) + (uint32_t)r * xb;
  if (!memcmp(u, st, xb)) return r;
  memcpy(u, st, xb);
  return r | VF_XMM_CHANGED;
}
#undef VT
#undef VW
