/*
 * xstate-lab floating-point kernel: computes the elements of one guest SSE/AVX/AVX-512 floating-point
 * instruction with the host's scalar SSE/FMA/F16C instructions under the guest's MXCSR.
 *
 * Why this is exact on any x86-64 host: the scalar instructions used here (ADDSS/SD, SUBSS/SD,
 * MULSS/SD, DIVSS/SD, MINSS/SD, MAXSS/SD, SQRTSS/SD, VFMADD/VFMSUB/VFNMADD/VFNMSUB ss/sd in the
 * 132/213/231 forms, CVT*, ROUNDSS/SD, COMISS/UCOMISS, VCVTPS2PH/VCVTPH2PS) are defined bit for bit
 * by the SDM (Vol. 1 4.8 and 11.5, Vol. 2 for each instruction) and the AMD APM (Vol. 4), identically:
 * IEEE 754 results under MXCSR.RC, DAZ and FTZ, the same NaN rules (SDM Vol. 1 4.8.3.5, Table 4-7) and
 * the same flags. Each element runs with the guest's RC, DAZ and FTZ and every exception masked; the
 * flags it raised are read back with STMXCSR. The host's own MXCSR is restored afterwards.
 *
 * Unmasked exceptions: the caller decides #XM from the flags (SDM Vol. 1 11.5.2.1). The one flag
 * that depends on the mask is underflow: masked, UE means tiny and inexact; unmasked, UE means tiny
 * (SDM Vol. 1 4.9.1.5), and FTZ applies only while UE is masked (Vol. 1 10.2.3.3). With MXCSR.UM
 * clear the element therefore runs without FTZ and a denormal (tiny) result adds UE.
 *
 * One call computes every element of an instruction: op, element count, three source arrays (a is
 * the first source, or the destination of an FMA), the output array, the compute MXCSR, imm8 and the
 * write mask (masked-off elements are neither computed nor flagged: SDM Vol. 1 15.6.1).
 */
#include <stdint.h>
#include <string.h>

/* MXCSR fields (SDM Vol. 1 10.2.3). */
#define MX_IE 0x0001u
#define MX_DE 0x0002u
#define MX_ZE 0x0004u
#define MX_OE 0x0008u
#define MX_UE 0x0010u
#define MX_PE 0x0020u
#define MX_FLAGS 0x003fu
#define MX_DAZ 0x0040u
#define MX_MASKS 0x1f80u
#define MX_OM 0x0400u
#define MX_UM 0x0800u
#define MX_RC 0x6000u
#define MX_FTZ 0x8000u

/* Operation kinds: bits 7:0 of op; bits 11:8 the source type, bits 15:12 the destination type. */
enum kind {
  K_ADD = 1, K_SUB, K_MUL, K_DIV, K_MIN, K_MAX, K_SQRT,
  /* FMA: the form in imm8 bits 1:0 (0: 132, 1: 213, 2: 231); a = operand 1 (dest), b = 2, c = 3. */
  K_FMADD, K_FMSUB, K_FNMADD, K_FNMSUB, K_FMADDSUB, K_FMSUBADD,
  /* Compares: the predicate in imm8 bits 4:0; output all ones or zero. */
  K_CMP,
  /* COMISS/UCOMISS: output one u32, the EFLAGS bits ZF|PF|CF. */
  K_COMI, K_UCOMI,
  /* Conversions between the source and destination types (cvt rounds by MXCSR.RC, cvtt truncates). */
  K_CVT, K_CVTT,
  /* ROUNDSS/SD with imm8 bits 3:0; RNDSCALE with imm8 bits 7:4 the scale M. */
  K_ROUND, K_RNDSCALE,
  K_ADDSUB,
  /* VCVTPS2PH with imm8 (source F32, destination F16); VCVTPH2PS is K_CVT from F16. */
  K_PS2PH,
  /* RCPSS/RSQRTSS: the host's approximation tables (the caller checks that the vendors agree). */
  K_RCP, K_RSQRT,
  /* AVX-512F/DQ (float-avx512.ts): from the SDM's operation on the bits (getexp ... fpclass below);
     VSCALEF's one rounding by a host multiply; VRCP14/VRSQRT14 by the host's own instruction (a vendor
     approximation: the caller checks the vendor and that the host has AVX-512F). VFIXUPIMM: a = dest,
     b = src1, c = the table. VFPCLASS: output 0 or 1 per element. */
  K_GETEXP, K_GETMANT, K_SCALEF, K_RANGE, K_REDUCE, K_FIXUPIMM, K_FPCLASS, K_RCP14, K_RSQRT14,
  /* AVX512-FP16 conversions (f16_cvt, f16_int_cvt); the arithmetic kinds with source type T_F16 go to f16_arith. */
  K_CVT16, K_CVTT16,
  /* AVX512-FP16 complex multiplies (f16_complex): elements are pairs (real, imaginary) of binary16;
     a = src1, b = src2, c = the destination (accumulated when imm8 bit 1 is set); imm8 bit 0: the
     conjugate of src2. */
  K_CMUL,
};
enum type { T_F32 = 0, T_F64, T_I32, T_I64, T_U32, T_U64, T_F16, T_I16, T_U16 };

static inline void ldmxcsr(uint32_t v) { __asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory"); }
static inline uint32_t stmxcsr(void) { uint32_t v; __asm__ volatile("stmxcsr %0" : "=m"(v) : : "memory"); return v; }

static int type_size(int t) { return t == T_F32 || t == T_I32 || t == T_U32 ? 4 : t == T_F16 || t == T_I16 || t == T_U16 ? 2 : 8; }

static uint64_t get(const uint8_t *p, int i, int sz) {
  uint64_t v = 0;
  memcpy(&v, p + (size_t)i * sz, sz);
  return v;
}
static void put(uint8_t *p, int i, int sz, uint64_t v) { memcpy(p + (size_t)i * sz, &v, sz); }

/* Scalar binary operations on the bits of one element. */
#define BIN(name, insn, T, X)                                                                  \
  static uint64_t name(uint64_t a, uint64_t b) {                                               \
    T x, y; memcpy(&x, &a, sizeof x); memcpy(&y, &b, sizeof y);                               \
    __asm__ volatile(insn " %1, %0" : "+x"(x) : "x"(y));                                      \
    uint64_t r = 0; memcpy(&r, &x, sizeof x); return r;                                        \
  }
BIN(add_s, "addss", float, 0) BIN(add_d, "addsd", double, 0)
BIN(sub_s, "subss", float, 0) BIN(sub_d, "subsd", double, 0)
BIN(mul_s, "mulss", float, 0) BIN(mul_d, "mulsd", double, 0)
BIN(div_s, "divss", float, 0) BIN(div_d, "divsd", double, 0)
BIN(min_s, "minss", float, 0) BIN(min_d, "minsd", double, 0)
BIN(max_s, "maxss", float, 0) BIN(max_d, "maxsd", double, 0)
BIN(sqrt_s, "sqrtss", float, 0) BIN(sqrt_d, "sqrtsd", double, 0)

/* FMA in the instruction's own form, so that NaN selection follows the operand order (SDM Vol. 2A
   VFMADD132PS "Operation"); the suffix goes after the form: vfmadd132ss. */
#define FMAS(name, base, suf, T)                                                               \
  static uint64_t name(int form, uint64_t a, uint64_t b, uint64_t c) {                        \
    T x, y, z; memcpy(&x, &a, sizeof x); memcpy(&y, &b, sizeof y); memcpy(&z, &c, sizeof z);   \
    if (form == 0) __asm__ volatile(base "132" suf " %2, %1, %0" : "+x"(x) : "x"(y), "x"(z));  \
    else if (form == 1) __asm__ volatile(base "213" suf " %2, %1, %0" : "+x"(x) : "x"(y), "x"(z)); \
    else __asm__ volatile(base "231" suf " %2, %1, %0" : "+x"(x) : "x"(y), "x"(z));           \
    uint64_t r = 0; memcpy(&r, &x, sizeof x); return r;                                        \
  }
FMAS(fmadd_s, "vfmadd", "ss", float) FMAS(fmadd_d, "vfmadd", "sd", double)
FMAS(fmsub_s, "vfmsub", "ss", float) FMAS(fmsub_d, "vfmsub", "sd", double)
FMAS(fnmadd_s, "vfnmadd", "ss", float) FMAS(fnmadd_d, "vfnmadd", "sd", double)
FMAS(fnmsub_s, "vfnmsub", "ss", float) FMAS(fnmsub_d, "vfnmsub", "sd", double)

/* COMISS/UCOMISS: EFLAGS after the compare as ZF (bit 6) | PF (bit 2) | CF (bit 0), read with SETcc. */
#define COMI_ASM(insn, X, Y) __asm__ volatile(insn " %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=r"(zf), "=r"(pf), "=r"(cf) : "x"(Y), "x"(X) : "cc")
static uint32_t comi(int dbl, int ordered, uint64_t a, uint64_t b) {
  uint8_t zf, pf, cf;
  if (dbl) {
    double x, y; memcpy(&x, &a, 8); memcpy(&y, &b, 8);
    if (ordered) COMI_ASM("comisd", x, y); else COMI_ASM("ucomisd", x, y);
  } else {
    float x, y; memcpy(&x, &a, 4); memcpy(&y, &b, 4);
    if (ordered) COMI_ASM("comiss", x, y); else COMI_ASM("ucomiss", x, y);
  }
  return ((uint32_t)zf << 6) | ((uint32_t)pf << 2) | cf;
}

/*
 * CMPPS/CMPSS predicates 0-31 (SDM Vol. 2A CMPPS, Table 3-1) with the host's VCMPSS/VCMPSD: the
 * predicate is an immediate, so one form per value. Output all ones or zero.
 */
#define CMP_CASE(n) case n: if (dbl) __asm__ volatile("vcmpsd $" #n ", %2, %1, %0" : "=x"(rd) : "x"(xd), "x"(yd)); else __asm__ volatile("vcmpss $" #n ", %2, %1, %0" : "=x"(rf) : "x"(xf), "x"(yf)); break;
static uint64_t cmp_imm(int dbl, int p, uint64_t a, uint64_t b) {
  float xf = 0, yf = 0, rf = 0; double xd = 0, yd = 0, rd = 0;
  if (dbl) { memcpy(&xd, &a, 8); memcpy(&yd, &b, 8); } else { memcpy(&xf, &a, 4); memcpy(&yf, &b, 4); }
  switch (p & 31) {
    CMP_CASE(0) CMP_CASE(1) CMP_CASE(2) CMP_CASE(3) CMP_CASE(4) CMP_CASE(5) CMP_CASE(6) CMP_CASE(7)
    CMP_CASE(8) CMP_CASE(9) CMP_CASE(10) CMP_CASE(11) CMP_CASE(12) CMP_CASE(13) CMP_CASE(14) CMP_CASE(15)
    CMP_CASE(16) CMP_CASE(17) CMP_CASE(18) CMP_CASE(19) CMP_CASE(20) CMP_CASE(21) CMP_CASE(22) CMP_CASE(23)
    CMP_CASE(24) CMP_CASE(25) CMP_CASE(26) CMP_CASE(27) CMP_CASE(28) CMP_CASE(29) CMP_CASE(30) CMP_CASE(31)
  }
  uint64_t r = 0;
  if (dbl) memcpy(&r, &rd, 8); else memcpy(&r, &rf, 4);
  return r;
}

/* Float <-> integer conversions with the host's CVT instructions; the unsigned forms (AVX-512F
   VCVTUSI2SS, VCVTSS2USI, ...) are built from the signed 64-bit ones, exactly (see each). */
static uint64_t cvt_to_f(int st, int dt, uint64_t v) {
  float f; double d;
  int64_t s;
  switch (st) {
    case T_I32: s = (int32_t)(uint32_t)v; break;
    case T_U32: s = (int64_t)(uint32_t)v; break; /* exact in int64: one rounding */
    case T_I64: s = (int64_t)v; break;
    default: {
      /* U64: values below 2^63 convert as signed; above, halve keeping a sticky bit (the dropped
         bit ORed into bit 0: at least 10 bits below the rounding point, so every rounding mode
         and PE see the same value), convert, and double exactly. */
      if (!(v >> 63)) { s = (int64_t)v; break; }
      int64_t h = (int64_t)((v >> 1) | (v & 1));
      if (dt == T_F32) { __asm__ volatile("cvtsi2ssq %1, %0" : "=x"(f) : "r"(h)); __asm__ volatile("addss %0, %0" : "+x"(f)); uint32_t r; memcpy(&r, &f, 4); return r; }
      __asm__ volatile("cvtsi2sdq %1, %0" : "=x"(d) : "r"(h)); __asm__ volatile("addsd %0, %0" : "+x"(d)); uint64_t r; memcpy(&r, &d, 8); return r;
    }
  }
  if (dt == T_F32) {
    if (st == T_I32) { int32_t s32 = (int32_t)s; __asm__ volatile("cvtsi2ssl %1, %0" : "=x"(f) : "r"(s32)); }
    else __asm__ volatile("cvtsi2ssq %1, %0" : "=x"(f) : "r"(s));
    uint32_t r; memcpy(&r, &f, 4); return r;
  }
  if (st == T_I32) { int32_t s32 = (int32_t)s; __asm__ volatile("cvtsi2sdl %1, %0" : "=x"(d) : "r"(s32)); }
  else __asm__ volatile("cvtsi2sdq %1, %0" : "=x"(d) : "r"(s));
  uint64_t r; memcpy(&r, &d, 8); return r;
}

static int64_t f_to_i64(int dbl, int trunc, uint64_t v) {
  int64_t r;
  if (dbl) {
    double d; memcpy(&d, &v, 8);
    if (trunc) __asm__ volatile("cvttsd2siq %1, %0" : "=r"(r) : "x"(d)); else __asm__ volatile("cvtsd2siq %1, %0" : "=r"(r) : "x"(d));
  } else {
    float f; memcpy(&f, &v, 4);
    if (trunc) __asm__ volatile("cvttss2siq %1, %0" : "=r"(r) : "x"(f)); else __asm__ volatile("cvtss2siq %1, %0" : "=r"(r) : "x"(f));
  }
  return r;
}
static int32_t f_to_i32(int dbl, int trunc, uint64_t v) {
  int32_t r;
  if (dbl) {
    double d; memcpy(&d, &v, 8);
    if (trunc) __asm__ volatile("cvttsd2sil %1, %0" : "=r"(r) : "x"(d)); else __asm__ volatile("cvtsd2sil %1, %0" : "=r"(r) : "x"(d));
  } else {
    float f; memcpy(&f, &v, 4);
    if (trunc) __asm__ volatile("cvttss2sil %1, %0" : "=r"(r) : "x"(f)); else __asm__ volatile("cvtss2sil %1, %0" : "=r"(r) : "x"(f));
  }
  return r;
}

/* Is v (of an FP type) a NaN? */
static int is_nan(int dbl, uint64_t v) {
  return dbl ? ((v >> 52) & 0x7ff) == 0x7ff && (v & 0xfffffffffffffull) : ((v >> 23) & 0xff) == 0xff && (v & 0x7fffff);
}

/*
 * Unsigned results (SDM Vol. 2C VCVTSS2USI, VCVTTPD2UQQ, ...): out of range or NaN is invalid and
 * gives 2^w - 1. The value is converted as signed 64-bit (rounded by RC or truncated, PE from that
 * conversion); a negative result or one above 2^w - 1 is invalid, and then only IE is raised.
 * Sources of 2^63 and above (only for w = 64) are integers: x - 2^63 is exact, and converts exactly.
 */
static uint64_t f_to_u(int dbl, int trunc, int bits, uint64_t v, uint32_t cmx, uint32_t *fl) {
  uint64_t umax = bits == 32 ? 0xffffffffull : ~0ull;
  if (is_nan(dbl, v)) { *fl |= MX_IE; return umax; }
  /* 2^63 as the source's type. */
  uint64_t two63 = dbl ? 0x43e0000000000000ull : 0x5f000000ull;
  int neg = (int)(dbl ? v >> 63 : (v >> 31) & 1);
  uint64_t mag = dbl ? v & 0x7fffffffffffffffull : v & 0x7fffffffull;
  if (!neg && mag >= two63) {
    if (bits == 32) { *fl |= MX_IE; return umax; }
    uint64_t two64 = dbl ? 0x43f0000000000000ull : 0x5f800000ull;
    if (mag >= two64) { *fl |= MX_IE; return umax; }
    uint64_t diff = dbl ? sub_d(v, two63) : sub_s(v, two63);
    return (uint64_t)f_to_i64(dbl, 1, diff) + (1ull << 63);
  }
  int64_t s = f_to_i64(dbl, trunc, v);
  if (s < 0 || (bits == 32 && s > (int64_t)0xffffffffll)) {
    ldmxcsr(cmx); /* only IE for an invalid conversion */
    *fl |= MX_IE; return umax;
  }
  return (uint64_t)s;
}

/* ROUNDSS/SD with an immediate: the instruction takes it as a constant, so one form per value. */
#define ROUND_CASE(n) case n: if (dbl) __asm__ volatile("roundsd $" #n ", %0, %0" : "+x"(d)); else __asm__ volatile("roundss $" #n ", %0, %0" : "+x"(f)); break;
static uint64_t round_imm(int dbl, int imm, uint64_t v) {
  float f; double d;
  if (dbl) memcpy(&d, &v, 8); else memcpy(&f, &v, 4);
  switch (imm & 15) {
    ROUND_CASE(0) ROUND_CASE(1) ROUND_CASE(2) ROUND_CASE(3) ROUND_CASE(4) ROUND_CASE(5) ROUND_CASE(6) ROUND_CASE(7)
    ROUND_CASE(8) ROUND_CASE(9) ROUND_CASE(10) ROUND_CASE(11) ROUND_CASE(12) ROUND_CASE(13) ROUND_CASE(14) ROUND_CASE(15)
  }
  uint64_t r = 0;
  if (dbl) memcpy(&r, &d, 8); else memcpy(&r, &f, 4);
  return r;
}

/* VCVTPS2PH with an immediate (bits 2:0 matter; SDM Vol. 2C VCVTPS2PH Table 5-3). */
#define PH_CASE(n) case n: __asm__ volatile("vcvtps2ph $" #n ", %1, %0" : "=x"(o) : "x"(x)); break;
static uint64_t ps2ph(int imm, uint64_t v) {
  float x; memcpy(&x, &v, 4);
  __attribute__((vector_size(16))) short o;
  switch (imm & 7) { PH_CASE(0) PH_CASE(1) PH_CASE(2) PH_CASE(3) PH_CASE(4) PH_CASE(5) PH_CASE(6) PH_CASE(7) }
  return (uint16_t)o[0];
}
static uint64_t ph2ps(uint64_t v) {
  __attribute__((vector_size(16))) short h = { (short)v };
  float x;
  __asm__ volatile("vcvtph2ps %1, %0" : "=x"(x) : "x"(h));
  uint32_t r; memcpy(&r, &x, 4); return r;
}

/* A denormal (nonzero, exponent field 0) value of an FP type: a tiny result. */
static int is_denormal(int t, uint64_t v) {
  if (t == T_F32) return ((v >> 23) & 0xff) == 0 && (v & 0x7fffff);
  if (t == T_F64) return ((v >> 52) & 0x7ff) == 0 && (v & 0xfffffffffffffull);
  if (t == T_F16) return ((v >> 10) & 0x1f) == 0 && (v & 0x3ff);
  return 0;
}

/*
 * VRNDSCALESS/SD/PS/PD (SDM Vol. 2C VRNDSCALEPD): round to a multiple of 2^-M, M = imm8[7:4],
 * rounding by imm8[1:0] or MXCSR.RC (imm8[2]), PE suppressed by imm8[3]. |x| * 2^M is exact (a
 * power-of-two scaling of a value below 2^(p-1) stays far below the overflow threshold, and larger
 * values are integers already); only the ROUND step's flags are kept (the scalings raise DE on a
 * denormal, which ROUNDSS itself does not).
 */
static uint64_t rndscale(int dbl, int imm, uint64_t v, uint32_t cmx, uint32_t *fl) {
  int m = (imm >> 4) & 15;
  int rimm = imm & 15;
  if (m == 0) { uint64_t r = round_imm(dbl, rimm, v); *fl |= stmxcsr() & MX_FLAGS; return r; }
  uint64_t exp = dbl ? (v >> 52) & 0x7ff : (v >> 23) & 0xff;
  uint64_t big = dbl ? 1023 + 52 : 127 + 23;
  if (exp == (dbl ? 0x7ffu : 0xffu) || exp >= big) {
    /* NaN, infinity or already a multiple of 2^-M: ROUND gives the value (and IE for an SNaN). */
    uint64_t r = round_imm(dbl, rimm, v); *fl |= stmxcsr() & MX_FLAGS; return r;
  }
  /* With DAZ a denormal source is zero (ROUNDSS does the same). */
  uint64_t up = dbl ? ((uint64_t)(1023 + m) << 52) : ((uint64_t)(127 + m) << 23);
  uint64_t down = dbl ? ((uint64_t)(1023 - m) << 52) : ((uint64_t)(127 - m) << 23);
  /* Scale up without FTZ (a tiny product must reach ROUND as it is); DAZ still zeroes a denormal source. */
  ldmxcsr(cmx & ~MX_FTZ);
  uint64_t s = dbl ? mul_d(v, up) : mul_s(v, up);
  ldmxcsr(cmx);
  uint64_t r = round_imm(dbl, rimm, s);
  *fl |= stmxcsr() & MX_FLAGS;
  r = dbl ? mul_d(r, down) : mul_s(r, down);
  ldmxcsr(cmx);
  return r;
}


/*
 * Precision under an unmasked underflow or overflow. With UM = 0 (OM = 0) no result is delivered, and PE reports whether
 * the result rounded to the destination's precision with an unbounded exponent is inexact (measured,
 * AMD Zen 5: a tiny FMA or VCVTPD2PS result that is exact to 53 / 24 bits but not as a denormal gives
 * UE without PE; 1e-300 * 3e-10 gives UE and PE; DBL_MAX * 2 with OM = 0 gives OE without PE,
 * 1e300 * 1e300 OE and PE). The operation is re-run on operands scaled by
 * powers of two (exact) so that its result is normal: MUL and DIV on both operands normalized to
 * [1, 2); FMA with the addend scaled by the product's factor; a narrowing conversion on the source
 * normalized; ADD and SUB on both operands scaled by the larger one's exponent (a tiny sum or
 * difference is exact anyway, Hauser 1996). Where a scaled operand would leave the normal range the
 * masked PE stands (assumed).
 */
struct norm { uint64_t bits; int shift; int ok; };
static struct norm normalize(int dbl, uint64_t v) {
  int mbits = dbl ? 52 : 23, bias = dbl ? 1023 : 127, emax = dbl ? 0x7ff : 0xff;
  uint64_t sign = v & (1ull << (dbl ? 63 : 31)), mmask = (1ull << mbits) - 1;
  int e = (int)((v >> mbits) & (uint64_t)emax);
  uint64_t m = v & mmask;
  struct norm r = { v, 0, 0 };
  if (e == emax || (e == 0 && m == 0)) return r;
  if (e == 0) { int sh = 0; while (!(m & (1ull << mbits))) { m <<= 1; sh++; } m &= mmask; e = 1 - sh; }
  r.bits = sign | ((uint64_t)bias << mbits) | m;
  r.shift = e - bias;
  r.ok = 1;
  return r;
}
static int pe_unbounded(int kind, int dbl, int st, int dt, int form, uint64_t x, uint64_t y, uint64_t z, uint32_t cmx, int odd) {
  /* A power-of-two scaling is exact with an unbounded exponent. */
  if (kind == K_SCALEF) return 0;
  ldmxcsr(cmx & ~MX_FTZ);
  int isfma = kind >= K_FMADD && kind <= K_FMSUBADD;
  if (kind == K_ADD || kind == K_SUB || kind == K_ADDSUB) {
    /* Both operands scaled by the larger one's exponent (exact unless the smaller would become denormal: then the masked PE stands). */
    struct norm a = normalize(dbl, x), b = normalize(dbl, y);
    if (!a.ok || !b.ok) return -1;
    int k = a.shift > b.shift ? a.shift : b.shift, mbits = dbl ? 52 : 23, bias = dbl ? 1023 : 127;
    int ea = a.shift - k + bias, eb = b.shift - k + bias;
    if (ea < 1 || eb < 1) return -1;
    uint64_t emask = ((1ull << (dbl ? 11 : 8)) - 1) << mbits;
    uint64_t xs = (a.bits & ~emask) | ((uint64_t)ea << mbits), ys = (b.bits & ~emask) | ((uint64_t)eb << mbits);
    int sub = kind == K_SUB || (kind == K_ADDSUB && !odd);
    if (sub) (void)(dbl ? sub_d(xs, ys) : sub_s(xs, ys)); else (void)(dbl ? add_d(xs, ys) : add_s(xs, ys));
    return (stmxcsr() & MX_PE) != 0;
  }
  if (kind == K_MUL || kind == K_DIV) {
    struct norm a = normalize(dbl, x), b = normalize(dbl, y);
    if (!a.ok || !b.ok) return -1;
    if (kind == K_MUL) (void)(dbl ? mul_d(a.bits, b.bits) : mul_s(a.bits, b.bits)); else (void)(dbl ? div_d(a.bits, b.bits) : div_s(a.bits, b.bits));
    return (stmxcsr() & MX_PE) != 0;
  }
  if (isfma) {
    /* The multiplicands by form: 132: x*z + y; 213: y*x + z; 231: y*z + x (SDM Vol. 2A VFMADD132SS). */
    uint64_t *m1, *m2, *ad;
    if (form == 0) { m1 = &x; m2 = &z; ad = &y; } else if (form == 1) { m1 = &y; m2 = &x; ad = &z; } else { m1 = &y; m2 = &z; ad = &x; }
    struct norm a = normalize(dbl, *m1), b = normalize(dbl, *m2), c = normalize(dbl, *ad);
    if (!a.ok || !b.ok) return -1;
    int mbits = dbl ? 52 : 23, bias = dbl ? 1023 : 127;
    *m1 = a.bits; *m2 = b.bits;
    if (c.ok) {
      int e = c.shift - a.shift - b.shift + bias;
      if (e < 1 || e > (dbl ? 0x7fe : 0xfe)) return -1;
      *ad = (c.bits & ~(((1ull << (dbl ? 11 : 8)) - 1) << mbits)) | ((uint64_t)e << mbits);
    }
    int k = kind;
    if (k == K_FMADDSUB) k = odd ? K_FMADD : K_FMSUB;
    if (k == K_FMSUBADD) k = odd ? K_FMSUB : K_FMADD;
    switch (k) {
      case K_FMADD: (void)(dbl ? fmadd_d(form, x, y, z) : fmadd_s(form, x, y, z)); break;
      case K_FMSUB: (void)(dbl ? fmsub_d(form, x, y, z) : fmsub_s(form, x, y, z)); break;
      case K_FNMADD: (void)(dbl ? fnmadd_d(form, x, y, z) : fnmadd_s(form, x, y, z)); break;
      default: (void)(dbl ? fnmsub_d(form, x, y, z) : fnmsub_s(form, x, y, z)); break;
    }
    return (stmxcsr() & MX_PE) != 0;
  }
  if ((kind == K_CVT) && st == T_F64 && dt == T_F32) {
    struct norm a = normalize(1, x);
    if (!a.ok) return -1;
    double d; memcpy(&d, &a.bits, 8); float f;
    __asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(d));
    return (stmxcsr() & MX_PE) != 0;
  }
  return -1;
}

/*
 * AVX-512F/DQ operations on the bits of one element, each from its SDM Vol. 2C page ("Operation" and
 * the special-case tables): VGETEXPPD, VGETMANTPD, VSCALEFPD, VRANGEPD, VREDUCEPD, VFIXUPIMMPD,
 * VFPCLASSPD (and their PS/SS/SD forms). Flags are set explicitly into *fl; the host MXCSR is reset
 * to cmx before returning, except where a host operation's flags are the instruction's (VSCALEF's
 * rounding multiply, VREDUCE's rounding step).
 */
static uint64_t f64_to_f16(uint64_t d, int rc, int inexact, int ue_unmasked, int oe_unmasked, uint32_t *fl);
struct fmt { int mbits, bias; uint64_t emax, sign, mmask, qbit, indef; };
/* dbl: 0 binary32, 1 binary64, FMT_F16 binary16 (the AVX512-FP16 forms). */
#define FMT_F16 2
static struct fmt fmt_of(int dbl) {
  struct fmt f;
  if (dbl == FMT_F16) { f.mbits = 10; f.bias = 15; f.emax = 0x1f; f.sign = 0x8000; }
  else { f.mbits = dbl ? 52 : 23; f.bias = dbl ? 1023 : 127; f.emax = dbl ? 0x7ff : 0xff; f.sign = 1ull << (dbl ? 63 : 31); }
  f.mmask = (1ull << f.mbits) - 1; f.qbit = 1ull << (f.mbits - 1);
  /* QNaN floating-point indefinite (SDM Vol. 1 Table 4-3). */
  f.indef = f.sign | (f.emax << f.mbits) | f.qbit;
  return f;
}
static uint64_t expf_(struct fmt f, uint64_t v) { return (v >> f.mbits) & f.emax; }
static int isnan_(struct fmt f, uint64_t v) { return expf_(f, v) == f.emax && (v & f.mmask); }
static int issnan_(struct fmt f, uint64_t v) { return isnan_(f, v) && !(v & f.qbit); }
static int isinf_(struct fmt f, uint64_t v) { return expf_(f, v) == f.emax && !(v & f.mmask); }
static int iszero_(struct fmt f, uint64_t v) { return (v & ~f.sign) == 0; }
static int isden_(struct fmt f, uint64_t v) { return expf_(f, v) == 0 && (v & f.mmask); }
static uint64_t quiet_(struct fmt f, uint64_t v) { return v | f.qbit; }
/* Index of the highest set bit. */
static int msb(uint64_t m) { return 63 - __builtin_clzll(m); }
/* An integer as the format's value (|n| < 2^20: exact). */
static uint64_t from_int(int dbl, int64_t n) {
  uint64_t r = 0;
  if (dbl == FMT_F16) {
    /* |n| <= 40 here (binary16 exponents): exact. */
    if (!n) return 0;
    uint64_t s = n < 0 ? 0x8000 : 0, a = (uint64_t)(n < 0 ? -n : n);
    int e = msb(a);
    return s | ((uint64_t)(e + 15) << 10) | ((a << (10 - e)) & 0x3ff);
  }
  if (dbl) { double d = (double)n; memcpy(&r, &d, 8); } else { float x = (float)n; memcpy(&r, &x, 4); }
  return r;
}

/* VGETEXPPD (Table 5-15): floor(log2(|x|)); +-0 (or a denormal under DAZ) -> -INF; +-INF -> +INF; NaN -> QNaN, IE for an SNaN; DE for a denormal. */
static uint64_t getexp(int dbl, uint64_t x, uint32_t mx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  if (isnan_(f, x)) { if (issnan_(f, x)) *fl |= MX_IE; return quiet_(f, x); }
  if (isinf_(f, x)) return f.emax << f.mbits;
  if (iszero_(f, x) || (isden_(f, x) && (mx & MX_DAZ))) return f.sign | (f.emax << f.mbits);
  if (isden_(f, x)) { *fl |= MX_DE; return from_int(dbl, msb(x & f.mmask) - f.mbits + 1 - f.bias); }
  return from_int(dbl, (int64_t)expf_(f, x) - f.bias);
}

/* VGETMANTPD "GetNormalizedMantissa": imm8[1:0] the interval, imm8[3:2] the sign control. */
static uint64_t getmant(int dbl, int imm, uint64_t x, uint32_t mx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  int interv = imm & 3, signctl = (imm >> 2) & 3;
  uint64_t sign = (signctl & 1) ? 0 : x & f.sign;
  int64_t e = (int64_t)expf_(f, x);
  uint64_t frac = x & f.mmask;
  if (isnan_(f, x)) { if (issnan_(f, x)) *fl |= MX_IE; return quiet_(f, x); }
  /* Zeros (a denormal under DAZ too) give 1.0 whatever the interval, then a negative source with
     sign control 1x is invalid, -INF included, then infinities give 1.0 (measured, AMD Zen 5: the
     SDM's pseudo-code tests zeros and infinities together before the sign). */
  if (isden_(f, x) && (mx & MX_DAZ)) frac = 0;
  if (e == 0 && frac == 0) return sign | ((uint64_t)f.bias << f.mbits);
  if ((x & f.sign) && (signctl & 2)) { *fl |= MX_IE; return f.indef; }
  if (isinf_(f, x)) return sign | ((uint64_t)f.bias << f.mbits);
  if (e == 0) {
    /* Normalize: shift until the integer bit leaves the fraction, one exponent step per shift. */
    e = f.bias;
    int j = 0;
    while (!j) { j = (int)((frac >> (f.mbits - 1)) & 1); frac = (frac << 1) & f.mmask; e--; }
    *fl |= MX_DE;
  }
  int odd = (int)((e - f.bias) & 1);
  int sig = (int)((frac >> (f.mbits - 1)) & 1);
  int64_t de;
  switch (interv) {
    case 0: de = f.bias; break;
    case 1: de = odd ? f.bias - 1 : f.bias; break;
    case 2: de = f.bias - 1; break;
    default: de = sig ? f.bias - 1 : f.bias; break;
  }
  return sign | ((uint64_t)de << f.mbits) | frac;
}

/* floor of a finite value as an integer, clamped to +-limit (beyond which every scaling over- or underflows). */
static int64_t floor_clamped(struct fmt f, uint64_t y, int64_t limit) {
  int neg = (y & f.sign) != 0;
  if (iszero_(f, y)) return 0;
  int64_t e = (int64_t)expf_(f, y) - f.bias;
  if (e < 0) return neg ? -1 : 0;
  if (e >= 20) return neg ? -limit : limit;
  uint64_t m = (y & f.mmask) | (1ull << f.mbits);
  int64_t ip;
  int frac_nz;
  if (e >= f.mbits) { ip = (int64_t)(m << (e - f.mbits)); frac_nz = 0; }
  else { ip = (int64_t)(m >> (f.mbits - e)); frac_nz = (m & ((1ull << (f.mbits - e)) - 1)) != 0; }
  int64_t r = neg ? -(ip + frac_nz) : ip;
  return r > limit ? limit : r < -limit ? -limit : r;
}

/*
 * VSCALEFPD "SCALE": src1 * 2^floor(src2), one rounding (Table 5-39 for the special cases; DAZ zeroes
 * a denormal src1 or src2). A finite nonzero src1 is split as m * 2^E with m in [1, 2): a normal result
 * is built exactly; an overflowing or tiny one comes from one host multiply of m * 2^(E clamped to the
 * normal range) by a power of two, which rounds once under RC and FTZ and raises OE/UE/PE as the
 * hardware does for that value (factors beyond the clamp change no rounding: the value is already
 * beyond the largest finite or below a quarter of the smallest denormal).
 */
static uint64_t scalef(int dbl, uint64_t x, uint64_t y, uint32_t mx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  int daz = (mx & MX_DAZ) != 0;
  /* A QNaN src1 scaled by +INF is +INF, by -INF +0 (Table 5-39). */
  if (isnan_(f, x) && !issnan_(f, x) && isinf_(f, y)) return (y & f.sign) ? 0 : f.emax << f.mbits;
  if (isnan_(f, x)) { if (issnan_(f, x) || issnan_(f, y)) *fl |= MX_IE; return quiet_(f, x); }
  if (isnan_(f, y)) { if (issnan_(f, y)) *fl |= MX_IE; return quiet_(f, y); }
  /* DE for a denormal src1 only (measured, AMD Zen 5: a denormal src2 raises none; neither beside a NaN). */
  if (!daz && isden_(f, x)) *fl |= MX_DE;
  if (daz && isden_(f, x)) x &= f.sign;
  if (daz && isden_(f, y)) y &= f.sign;
  uint64_t sx = x & f.sign, inf = f.emax << f.mbits;
  if (isinf_(f, y)) {
    int pos = !(y & f.sign);
    if (pos && iszero_(f, x)) { *fl |= MX_IE; return f.indef; }
    if (!pos && isinf_(f, x)) { *fl |= MX_IE; return f.indef; }
    return pos ? sx | inf : sx;
  }
  if (iszero_(f, x) || isinf_(f, x)) return x;
  int64_t limit = 2 * (f.bias + f.mbits + 4);
  int64_t n = floor_clamped(f, y, limit);
  /* x = m * 2^E, m's integer bit at mbits. */
  uint64_t m = x & f.mmask;
  int64_t E;
  if (expf_(f, x) == 0) { int sh = f.mbits - msb(m); m = (m << sh) & f.mmask; E = 1 - f.bias - sh; }
  else E = (int64_t)expf_(f, x) - f.bias;
  int64_t T = E + n, emin = 1 - f.bias, emaxu = f.bias;
  if (T >= emin && T <= emaxu) return sx | ((uint64_t)(T + f.bias) << f.mbits) | m;
  /* binary16 (VSCALEFPH): m * 2^T is exact in binary64 (|T| < 100), rounded once to binary16 with
     the flags of that rounding; with UE/OE unmasked the unbounded result is exact (no PE). */
  if (dbl == FMT_F16)
    return f64_to_f16(((uint64_t)sx << 48) | ((uint64_t)(T + 1023) << 52) | ((m & f.mmask) << 42), (int)((mx & MX_RC) >> 13), 0, !(mx & MX_UM), !(mx & MX_OM), fl);
  uint64_t base, factor;
  if (T > emaxu) {
    int64_t k = T - emaxu; if (k > emaxu) k = emaxu;
    base = sx | ((uint64_t)(emaxu + f.bias) << f.mbits) | m;
    factor = (uint64_t)(k + f.bias) << f.mbits;
  } else {
    int64_t k = T - emin; if (k < -(f.mbits + 3)) k = -(f.mbits + 3);
    base = sx | ((uint64_t)(emin + f.bias) << f.mbits) | m;
    factor = (uint64_t)(k + f.bias) << f.mbits;
  }
  uint32_t before = stmxcsr();
  uint64_t r = dbl ? mul_d(base, factor) : mul_s(base, factor);
  *fl |= (stmxcsr() & ~before) & MX_FLAGS;
  return r;
}

/*
 * VRANGEPD "RangeDP": imm8[1:0] min, max, min-magnitude, max-magnitude; imm8[3:2] the sign (of
 * src1, of the selected value, 0, 1). An SNaN gives its QNaN and IE; a QNaN gives the other operand; a
 * denormal under DAZ has its fraction zeroed, else raises DE unless the other operand is a QNaN.
 * Opposite-signed zeros, and for the magnitude forms equal magnitudes of opposite signs
 * (Tables 5-19 and 5-20): min forms give the negative, max forms the positive.
 */
static uint64_t range(int dbl, int imm, uint64_t x, uint64_t y, uint32_t mx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  if (issnan_(f, x)) { *fl |= MX_IE; return quiet_(f, x); }
  if (issnan_(f, y)) { *fl |= MX_IE; return quiet_(f, y); }
  int daz = (mx & MX_DAZ) != 0;
  uint64_t x0 = x;
  if (isden_(f, x)) { if (daz) x &= ~f.mmask; else if (!isnan_(f, y)) *fl |= MX_DE; }
  if (isden_(f, y)) { if (daz) y &= ~f.mmask; else if (!isnan_(f, x0)) *fl |= MX_DE; }
  int op = imm & 3;
  uint64_t t;
  uint64_t ax = x & ~f.sign, ay = y & ~f.sign;
  int sxn = (x & f.sign) != 0, syn = (y & f.sign) != 0;
  if (isnan_(f, y)) t = x;
  else if (isnan_(f, x)) t = y;
  else if (sxn != syn && ax == ay && (ax == 0 || (op & 2))) t = (op & 1) ? (sxn ? y : x) : (sxn ? x : y);
  else {
    /* x <= y as signed magnitudes (both zeros equal). */
    int64_t kx = sxn ? -(int64_t)ax : (int64_t)ax, ky = syn ? -(int64_t)ay : (int64_t)ay;
    int le = (op & 2) ? ax <= ay : kx <= ky;
    t = (op & 1) ? (le ? y : x) : (le ? x : y);
  }
  switch ((imm >> 2) & 3) {
    case 0: return (t & ~f.sign) | (x0 & f.sign);
    case 1: return t;
    case 2: return t & ~f.sign;
    default: return t | f.sign;
  }
}

/*
 * VREDUCEPD "ReduceArgumentDP": x - 2^-M * round(2^M * x), M = imm8[7:4], rounding by imm8[1:0] or
 * MXCSR.RC (imm8[2]); the rounding step is VRNDSCALE's (rndscale above), the subtraction rounds
 * under the same RC (it is inexact when |x| is far below 2^-M and the rounding went away from it).
 * NaN -> QNaN (IE for an SNaN); +-INF -> +0 without a flag; no DE for a denormal; under FTZ a
 * denormal result is flushed to a zero of its sign, inexact, without UE (all measured, AMD Zen 5).
 * PE: imm8[3] (SPE) suppresses it; the SDM reports it for an inexact rounding step; with quirk
 * vreduce-no-precision (bit 8 of imm here) only an inexact result reports it (measured, AMD Zen 5).
 */
#define REDUCE_NO_PE 0x100u
static uint64_t reduce(int dbl, int imm, uint64_t x, uint32_t cmx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  if (isnan_(f, x)) { if (issnan_(f, x)) *fl |= MX_IE; return quiet_(f, x); }
  if (isinf_(f, x)) return 0;
  if (isden_(f, x) && (cmx & MX_DAZ)) x &= f.sign;
  uint32_t rfl = 0;
  uint64_t r = rndscale(dbl, imm & 0xff, x, cmx, &rfl);
  int rc = (imm & 4) ? (int)((cmx & MX_RC) >> 13) : imm & 3;
  ldmxcsr((cmx & ~(MX_RC | MX_FTZ | MX_DAZ)) | ((uint32_t)rc << 13));
  uint64_t d = dbl ? sub_d(x, r) : sub_s(x, r);
  int inexact = (stmxcsr() & MX_PE) != 0;
  ldmxcsr(cmx);
  if ((cmx & MX_FTZ) && isden_(f, d)) { d &= f.sign; inexact = 1; }
  if (!(imm & 8)) {
    if (inexact) *fl |= MX_PE;
    if (!(imm & REDUCE_NO_PE)) *fl |= rfl & MX_PE;
  }
  return d;
}

/* VFIXUPIMMPD: the token of tsrc (SDM "enum TOKEN_TYPE"). */
static int fixup_token(struct fmt f, uint64_t v, int dbl) {
  if (isnan_(f, v)) return issnan_(f, v) ? 1 : 0;
  if (iszero_(f, v)) return 2;
  if (v == (dbl ? 0x3ff0000000000000ull : 0x3f800000ull)) return 3;
  if (isinf_(f, v)) return (v & f.sign) ? 4 : 5;
  return (v & f.sign) ? 6 : 7;
}
/* VFIXUPIMMPD "FIXUPIMM_DP": dest, src1 (classified), src2 (the table, 4 bits per token), imm8 (fault reporting). */
static uint64_t fixupimm(int dbl, int imm, uint64_t dest, uint64_t x, uint64_t tbl, uint32_t mx, uint32_t *fl) {
  struct fmt f = fmt_of(dbl);
  /* Under DAZ a denormal is a zero of its sign (measured, AMD Zen 5: -denormal passes through as -0). */
  uint64_t t = (isden_(f, x) && (mx & MX_DAZ)) ? x & f.sign : x;
  int j = fixup_token(f, t, dbl);
  int resp = (int)((tbl >> (4 * j)) & 15);
  /* The response constants (SDM VFIXUPIMMPD "token_response"), as binary64 and binary32 bits. */
  static const uint64_t K64[16] = { 0, 0, 0, 0, 0xfff0000000000000ull, 0x7ff0000000000000ull, 0, 0x8000000000000000ull, 0,
    0xbff0000000000000ull, 0x3ff0000000000000ull, 0x3fe0000000000000ull, 0x4056800000000000ull, 0x3ff921fb54442d18ull, 0x7fefffffffffffffull, 0xffefffffffffffffull };
  static const uint64_t K32[16] = { 0, 0, 0, 0, 0xff800000u, 0x7f800000u, 0, 0x80000000u, 0,
    0xbf800000u, 0x3f800000u, 0x3f000000u, 0x42b40000u, 0x3fc90fdbu, 0x7f7fffffu, 0xff7fffffu };
  uint64_t r;
  switch (resp) {
    case 0: r = dest; break;
    case 1: r = t; break;
    /* QNaN(tsrc): the exponent and the quiet bit set, sign and other fraction bits kept (measured, AMD Zen 5: +1.0 -> 0x7fc00000, a denormal 1 -> 0x7fc00001). */
    case 2: r = t | (f.emax << f.mbits) | f.qbit; break;
    case 3: r = f.indef; break;
    case 6: r = (t & f.sign) | (f.emax << f.mbits); break;
    default: r = dbl ? K64[resp] : K32[resp]; break;
  }
  if (j == 2 && (imm & 1)) *fl |= MX_ZE;
  if (j == 2 && (imm & 2)) *fl |= MX_IE;
  if (j == 3 && (imm & 4)) *fl |= MX_ZE;
  if (j == 3 && (imm & 8)) *fl |= MX_IE;
  if (j == 1 && (imm & 16)) *fl |= MX_IE;
  if (j == 4 && (imm & 32)) *fl |= MX_IE;
  if (j == 6 && (imm & 64)) *fl |= MX_IE;
  if (j == 5 && (imm & 128)) *fl |= MX_IE;
  return r;
}

/* VFPCLASSPD: MXCSR.DAZ applies; imm8 bits 0 QNaN, 1 +0, 2 -0, 3 +INF, 4 -INF, 5 denormal, 6 negative finite, 7 SNaN; 1 when any selected class holds. */
static uint64_t fpclass(int dbl, int imm, uint64_t x, uint32_t mx) {
  struct fmt f = fmt_of(dbl);
  /* Under DAZ a denormal is classified as a zero of its sign (measured, AMD Zen 5). */
  if (isden_(f, x) && (mx & MX_DAZ)) x &= f.sign;
  int neg = (x & f.sign) != 0;
  int c = 0;
  if (isnan_(f, x)) c = issnan_(f, x) ? 0x80 : 0x01;
  else if (iszero_(f, x)) c = neg ? 0x04 : 0x02;
  else if (isinf_(f, x)) c = neg ? 0x10 : 0x08;
  else c = (isden_(f, x) ? 0x20 : 0) | (neg ? 0x40 : 0);
  return (c & imm) ? 1 : 0;
}

/* VRCP14SS/SD, VRSQRT14SS/SD: the host's own instruction (EVEX-encoded; GNU as needs no -mavx512f). */
static uint64_t approx14(int dbl, int rsqrt, uint64_t v) {
  if (dbl) {
    double d, o; memcpy(&d, &v, 8);
    if (rsqrt) __asm__ volatile("vrsqrt14sd %1, %1, %0" : "=x"(o) : "x"(d)); else __asm__ volatile("vrcp14sd %1, %1, %0" : "=x"(o) : "x"(d));
    uint64_t r; memcpy(&r, &o, 8); return r;
  }
  float s, o; memcpy(&s, &v, 4);
  if (rsqrt) __asm__ volatile("vrsqrt14ss %1, %1, %0" : "=x"(o) : "x"(s)); else __asm__ volatile("vrcp14ss %1, %1, %0" : "=x"(o) : "x"(s));
  uint32_t r; memcpy(&r, &o, 4); return r;
}

/*
 * AVX512-FP16 (float-fp16.ts) on binary16 elements (SDM Vol. 1 4.2.2 "half precision", Vol. 2 VADDPH
 * ...): no host here has AVX512-FP16, so the element is computed in binary64 by the host's own
 * scalar instruction under the guest's RC (exact for ADD, SUB, MUL of binary16 values; for DIV and
 * SQRT binary64's 53 bits are more than 2p + 2 = 24, so rounding to binary64 and then to binary16 in
 * the same mode is the one correct rounding, for round-to-nearest and the directed modes alike), then
 * rounded to binary16 here with the flags: OE, UE (tininess after rounding, as this host's binary32
 * measures: CVTSD2SS of 2^-126 (1 - 2^-53) gives 2^-126 with PE alone), PE. Binary16 values are
 * exact in binary64 and NaN payloads map by a shift, so NaN selection (SDM Vol. 1 Table 4-7) and IE,
 * ZE come from the host's instruction. Named assumptions (AVX512-FP16 instructions, no CPU to
 * measure): MXCSR.DAZ and FTZ do not apply to binary16 operands and results; a denormal binary16
 * operand raises DE unless an operand is a NaN.
 */
#define F16_BIAS 15
#define F16_MBITS 10
static int f16_isnan(uint64_t h) { return ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff); }
static int f16_isden(uint64_t h) { return ((h >> 10) & 0x1f) == 0 && (h & 0x3ff); }
/* Exact binary16 -> binary64 bits (an SNaN stays signalling). */
static uint64_t f16_to_f64(uint64_t h) {
  uint64_t s = (h & 0x8000) << 48;
  int e = (int)((h >> 10) & 0x1f);
  uint64_t m = h & 0x3ff;
  if (e == 0x1f) return s | (0x7ffull << 52) | (m << 42);
  if (e == 0) {
    if (!m) return s;
    int sh = 0; while (!(m & 0x400)) { m <<= 1; sh++; }
    return s | ((uint64_t)(1 - F16_BIAS - sh + 1023) << 52) | ((m & 0x3ff) << 42);
  }
  return s | ((uint64_t)(e - F16_BIAS + 1023) << 52) | (m << 42);
}
/*
 * binary64 bits -> binary16 by rc (0 RNE, 1 down, 2 up, 3 toward zero), flags into *fl; `inexact`:
 * the binary64 value was already rounded. ue_unmasked / oe_unmasked: no result is delivered, UE is
 * tininess alone and PE the inexactness with an unbounded exponent (SDM Vol. 1 4.9.1.4-5).
 */
static uint64_t f64_to_f16(uint64_t d, int rc, int inexact, int ue_unmasked, int oe_unmasked, uint32_t *fl) {
  uint64_t s = (d >> 48) & 0x8000;
  int e = (int)((d >> 52) & 0x7ff);
  uint64_t m = d & 0xfffffffffffffull;
  if (e == 0x7ff) return s | 0x7c00 | (m ? ((m >> 42) ? (m >> 42) : 0x200) : 0);
  if (e == 0 && m == 0) { if (inexact) *fl |= MX_PE; return s; }
  int E = e == 0 ? -1022 : e - 1023;
  if (e != 0) m |= 1ull << 52; else { while (!(m & (1ull << 52))) { m <<= 1; E--; } }
  int neg = s != 0;
  /* Round the 53-bit significand m * 2^(E-52) at bit `sh` (keeping 53 - sh bits). */
  #define ROUND_AT(sh, q, rem, up) do { \
      if ((sh) >= 64) { q = 0; rem = m; } else { q = m >> (sh); rem = m & ((1ull << (sh)) - 1); } \
      uint64_t half = (sh) >= 64 ? 0 : 1ull << ((sh) - 1); \
      int st = rem != 0 || inexact; \
      up = 0; \
      if (rc == 0) up = (sh) >= 64 ? 0 : (rem > half || (rem == half && (inexact || (q & 1)))); \
      else if (rc == 1) up = neg && st; else if (rc == 2) up = !neg && st; \
    } while (0)
  /* With an unbounded exponent: 11 bits. */
  uint64_t qu, remu; int upu;
  ROUND_AT(42, qu, remu, upu);
  int Eu = E; qu += upu; if (qu >> 11) { qu >>= 1; Eu++; }
  int inexact_u = remu != 0 || inexact;
  int tiny = Eu < 1 - F16_BIAS; /* after rounding */
  if (Eu > F16_BIAS) {
    *fl |= MX_OE;
    if (oe_unmasked) { if (inexact_u) *fl |= MX_PE; return 0; }
    *fl |= MX_PE;
    int to_inf = rc == 0 || (rc == 1 && neg) || (rc == 2 && !neg);
    return s | (to_inf ? 0x7c00 : 0x7bff);
  }
  if (!tiny) {
    if (inexact_u) *fl |= MX_PE;
    return s | ((uint64_t)(Eu + F16_BIAS) << 10) | (qu & 0x3ff);
  }
  if (ue_unmasked) { *fl |= MX_UE; if (inexact_u) *fl |= MX_PE; return 0; }
  /* Denormal: the value's bits below 2^-24 are dropped: sh = 42 + (1 - 15 - E). */
  int sh = 42 + (1 - F16_BIAS - E);
  uint64_t q, rem; int up;
  ROUND_AT(sh, q, rem, up);
  q += up;
  int inx = rem != 0 || inexact;
  if (inx) *fl |= MX_UE | MX_PE;
  return s | q; /* q = 0x400 is the smallest normal */
  #undef ROUND_AT
}

/*
 * One binary16 operation through binary64: K_ADD ... K_SQRT as above; the FMA kinds in round-to-odd
 * (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
 * rounding to odd", IEEE TC 2008): the host's VFMADD..SD in round-toward-zero, with the lowest bit
 * set when it was inexact, then one rounding to binary16; binary64 has more than p + 2 = 13 bits, so
 * that is the correctly rounded result in every mode. An exact zero takes its sign from the guest's
 * RC (IEEE 754-2008 6.3), so it is recomputed in that mode. The compares (K_CMP, K_COMI, K_UCOMI):
 * binary16 values compare as their exact binary64 values, with the same NaN flags.
 */
static uint64_t fma16(int kind, int form, int odd, uint64_t a, uint64_t b, uint64_t c) {
  int k = kind;
  if (k == K_FMADDSUB) k = odd ? K_FMADD : K_FMSUB;
  if (k == K_FMSUBADD) k = odd ? K_FMSUB : K_FMADD;
  switch (k) {
    case K_FMADD: return fmadd_d(form, a, b, c);
    case K_FMSUB: return fmsub_d(form, a, b, c);
    case K_FNMADD: return fnmadd_d(form, a, b, c);
    default: return fnmsub_d(form, a, b, c);
  }
}
static uint64_t f16_fma(int kind, int form, int odd, uint64_t x, uint64_t y, uint64_t z, uint32_t mxcsr, uint32_t *fl) {
  int rc = (int)((mxcsr & MX_RC) >> 13);
  if ((f16_isden(x) || f16_isden(y) || f16_isden(z)) && !f16_isnan(x) && !f16_isnan(y) && !f16_isnan(z)) *fl |= MX_DE;
  uint64_t a = f16_to_f64(x), b = f16_to_f64(y), c = f16_to_f64(z);
  ldmxcsr((3u << 13) | MX_MASKS);
  uint64_t r = fma16(kind, form, odd, a, b, c);
  uint32_t hf = stmxcsr() & MX_FLAGS;
  *fl |= hf & MX_IE;
  int inexact = (hf & MX_PE) != 0;
  int isnan = ((r >> 52) & 0x7ff) == 0x7ff;
  if (inexact && !isnan) r |= 1;
  else if (!isnan && (r << 1) == 0) { ldmxcsr((mxcsr & MX_RC) | MX_MASKS); r = fma16(kind, form, odd, a, b, c); }
  return f64_to_f16(r, rc, 0, !(mxcsr & MX_UM), !(mxcsr & MX_OM), fl);
}

/* One binary16 operation (K_ADD ... K_SQRT) through binary64. */
static uint64_t f16_arith(int kind, uint64_t x, uint64_t y, uint32_t mxcsr, uint32_t *fl) {
  int rc = (int)((mxcsr & MX_RC) >> 13);
  int unary = kind == K_SQRT;
  if ((f16_isden(x) || (!unary && f16_isden(y))) && !f16_isnan(x) && (unary || !f16_isnan(y))) *fl |= MX_DE;
  uint64_t a = f16_to_f64(x), b = unary ? 0 : f16_to_f64(y), r = 0;
  ldmxcsr((mxcsr & MX_RC) | MX_MASKS);
  switch (kind) {
    case K_ADD: r = add_d(a, b); break;
    case K_SUB: r = sub_d(a, b); break;
    case K_MUL: r = mul_d(a, b); break;
    case K_DIV: r = div_d(a, b); break;
    case K_MIN: r = min_d(a, b); break;
    case K_MAX: r = max_d(a, b); break;
    default: r = sqrt_d(0, a); break;
  }
  uint32_t hf = stmxcsr() & MX_FLAGS;
  *fl |= hf & (MX_IE | MX_ZE);
  if (kind == K_MIN || kind == K_MAX) return f64_to_f16(r, rc, 0, 0, 0, fl);
  return f64_to_f16(r, rc, (hf & MX_PE) != 0, !(mxcsr & MX_UM), !(mxcsr & MX_OM), fl);
}

/*
 * AVX512-FP16 conversions between binary16 and binary32/64 (VCVTSS2SH, VCVTSH2SS, VCVTSD2SH,
 * VCVTSH2SD, VCVTPS2PHX, VCVTPH2PSX, VCVTPD2PH, VCVTPH2PD): narrowing rounds once by MXCSR.RC;
 * widening is exact. An SNaN raises IE and is quieted; a NaN keeps the payload's top bits. Assumed as
 * above for binary16; a binary32/64 source follows DAZ (and raises DE when denormal without it).
 */
static uint64_t f16_cvt(int st, int dt, uint64_t v, uint32_t mxcsr, uint32_t *fl) {
  int rc = (int)((mxcsr & MX_RC) >> 13);
  if (st == T_F16) {
    if (f16_isnan(v) && !(v & 0x200)) { *fl |= MX_IE; v |= 0x200; }
    if (f16_isden(v)) *fl |= MX_DE;
    uint64_t d = f16_to_f64(v);
    if (dt == T_F64) return d;
    double x; memcpy(&x, &d, 8); float f;
    ldmxcsr(MX_MASKS);
    __asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(x)); /* exact: binary16 values are binary32 values */
    uint32_t r; memcpy(&r, &f, 4); return r;
  }
  /* binary32/64 -> binary64 bits exactly, keeping an SNaN signalling. */
  uint64_t d;
  if (st == T_F32) {
    uint64_t s = (v & 0x80000000u) << 32; int e = (int)((v >> 23) & 0xff); uint64_t m = v & 0x7fffff;
    if (e == 0xff) d = s | (0x7ffull << 52) | (m << 29);
    else if (e == 0) {
      if (!m || (mxcsr & MX_DAZ)) d = s;
      else { *fl |= MX_DE; int sh = 0; while (!(m & 0x800000)) { m <<= 1; sh++; } d = s | ((uint64_t)(-126 - sh + 1023) << 52) | ((m & 0x7fffff) << 29); }
    } else d = s | ((uint64_t)(e - 127 + 1023) << 52) | (m << 29);
  } else {
    d = v;
    if (((d >> 52) & 0x7ff) == 0 && (d & 0xfffffffffffffull)) { if (mxcsr & MX_DAZ) d &= 1ull << 63; else *fl |= MX_DE; }
  }
  if (((d >> 52) & 0x7ff) == 0x7ff && (d & 0xfffffffffffffull)) {
    if (!(d & (1ull << 51))) *fl |= MX_IE;
    d |= 1ull << 51;
    *fl &= ~MX_DE;
  }
  return f64_to_f16(d, rc, 0, !(mxcsr & MX_UM), !(mxcsr & MX_OM), fl);
}


/*
 * AVX512-FP16 conversions between binary16 and integers (VCVTW2PH ... VCVTTSH2USI). Integer to
 * binary16: the integer's value is made a binary64 in round-to-odd (exact below 2^53; above, the
 * dropped bits ORed into the lowest kept one), then rounded once by RC. Binary16 to integer: exact
 * in binary64, then the host's CVTSD2SI (RC) or CVTTSD2SI for 32- and 64-bit results (f_to_u for
 * the unsigned ones); a 16-bit result out of range or a NaN is invalid and gives the integer
 * indefinite (8000H signed, FFFFH unsigned, as the wider forms' SDM pages define for their widths)
 * with IE alone. A denormal binary16 source raises DE (assumed, as for the arithmetic).
 */
static uint64_t int_to_f16(int st, uint64_t v, uint32_t mxcsr, uint32_t *fl) {
  int neg = 0;
  uint64_t mag;
  switch (st) {
    case T_I16: { int16_t x = (int16_t)v; neg = x < 0; mag = neg ? (uint64_t)(-(int64_t)x) : (uint64_t)x; break; }
    case T_U16: mag = v & 0xffff; break;
    case T_I32: { int32_t x = (int32_t)v; neg = x < 0; mag = neg ? (uint64_t)(-(int64_t)x) : (uint64_t)x; break; }
    case T_U32: mag = v & 0xffffffffu; break;
    case T_I64: { int64_t x = (int64_t)v; neg = x < 0; mag = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x; break; }
    default: mag = v; break;
  }
  if (!mag) return 0;
  int top = msb(mag);
  uint64_t m = mag;
  if (top > 52) { int sh = top - 52; uint64_t lost = m & ((1ull << sh) - 1); m >>= sh; if (lost) m |= 1; }
  else m <<= 52 - top;
  uint64_t d = ((uint64_t)neg << 63) | ((uint64_t)(top + 1023) << 52) | (m & 0xfffffffffffffull);
  return f64_to_f16(d, (int)((mxcsr & MX_RC) >> 13), 0, !(mxcsr & MX_UM), !(mxcsr & MX_OM), fl);
}
static uint64_t f16_to_int(int dt, int trunc, uint64_t h, uint32_t mxcsr, uint32_t *fl) {
  if (f16_isden(h)) *fl |= MX_DE;
  uint64_t d = f16_to_f64(h);
  uint32_t cm = (mxcsr & MX_RC) | MX_MASKS;
  ldmxcsr(cm);
  uint64_t r;
  if (dt == T_I16 || dt == T_U16) {
    if (f16_isnan(h)) { *fl |= MX_IE; return dt == T_I16 ? 0x8000 : 0xffff; }
    int64_t x = f_to_i64(1, trunc, d);
    uint32_t pe = stmxcsr() & MX_PE;
    int bad = dt == T_I16 ? (x < -32768 || x > 32767) : (x < 0 || x > 0xffff);
    if (bad) { *fl |= MX_IE; return dt == T_I16 ? 0x8000 : 0xffff; }
    *fl |= pe;
    return (uint64_t)x & 0xffff;
  }
  if (dt == T_I32) r = (uint32_t)f_to_i32(1, trunc, d);
  else if (dt == T_I64) r = (uint64_t)f_to_i64(1, trunc, d);
  else r = f_to_u(1, trunc, dt == T_U32 ? 32 : 64, d, cm, fl);
  *fl |= stmxcsr() & (MX_IE | MX_PE);
  return r;
}

/*
 * The AVX512-FP16 forms of VRNDSCALE, VREDUCE (SDM Vol. 2C VRNDSCALEPH, VREDUCEPH): the binary32
 * operations above (rndscale, reduce) on the binary16 value widened exactly, then narrowed back.
 * Exact: a binary16 value times 2^M (M <= 15) is far inside binary32's range and precision, the
 * rounded multiple of 2^-M has no more significant bits than the source (or is a power of two), and
 * VREDUCE's difference is a multiple of 2^-24 below 2^-M + 2^-24, which binary32 holds exactly; only
 * the narrowing of that difference can round (under the same RC, PE unless SPE). MXCSR.DAZ and FTZ
 * not applied (the AVX512-FP16 assumption above).
 */
static uint32_t f16_to_f32(uint64_t h) {
  uint32_t s = (uint32_t)(h & 0x8000) << 16, m = (uint32_t)(h & 0x3ff);
  int e = (int)((h >> 10) & 0x1f);
  if (e == 0x1f) return s | 0x7f800000u | (m << 13);
  if (e == 0) {
    if (!m) return s;
    int sh = 0; while (!(m & 0x400)) { m <<= 1; sh++; }
    return s | ((uint32_t)(1 - F16_BIAS - sh + 127) << 23) | ((m & 0x3ff) << 13);
  }
  return s | ((uint32_t)(e - F16_BIAS + 127) << 23) | (m << 13);
}
/* Exact binary32 -> binary64 bits (binary32 normals, zeros, infinities and NaNs only: no binary32 denormal arises here). */
static uint64_t f32_to_f64(uint32_t v) {
  uint64_t s = (uint64_t)(v & 0x80000000u) << 32, m = v & 0x7fffff;
  int e = (int)((v >> 23) & 0xff);
  if (e == 0xff) return s | (0x7ffull << 52) | (m << 29);
  if (e == 0) return s;
  return s | ((uint64_t)(e - 127 + 1023) << 52) | (m << 29);
}
/*
 * VRNDSCALEPH: the page lists underflow among the exceptions ("can set MXCSR.UE without MXCSR.PE"
 * with SPE): a result that is a binary16 denormal (M = 15 gives multiples of 2^-15) raises UE when
 * inexact, or always with UE unmasked (the general rule, SDM Vol. 1 4.9.1.5, applied to the
 * instruction's result; assumed: no CPU here has AVX512-FP16). No DE (not among its exceptions).
 */
static uint64_t f16_rndscale(int imm, uint64_t x, uint32_t mxcsr, uint32_t *fl) {
  uint32_t cmx = (mxcsr & MX_RC) | MX_MASKS, rfl = 0, nfl = 0;
  ldmxcsr(cmx);
  uint64_t r32 = rndscale(0, imm & 0xff, f16_to_f32(x), cmx, &rfl);
  ldmxcsr(cmx);
  uint64_t r = f64_to_f16(f32_to_f64((uint32_t)r32), 0, 0, 0, 0, &nfl); /* exact */
  *fl |= rfl & (MX_IE | MX_PE);
  if (!f16_isnan(x) && f16_isden(r) && (r != x || !(mxcsr & MX_UM))) *fl |= MX_UE;
  return r;
}
static uint64_t f16_reduce(int imm, uint64_t x, uint32_t mxcsr, uint32_t *fl) {
  uint32_t cmx = (mxcsr & MX_RC) | MX_MASKS, rfl = 0, nfl = 0;
  ldmxcsr(cmx);
  uint64_t d32 = reduce(0, imm, f16_to_f32(x), cmx, &rfl);
  ldmxcsr(cmx);
  int rc = (imm & 4) ? (int)((mxcsr & MX_RC) >> 13) : imm & 3;
  uint64_t r = f64_to_f16(f32_to_f64((uint32_t)d32), rc, 0, 0, 0, &nfl);
  /* VREDUCE reports no underflow (SDM Vol. 2C VREDUCEPH); SPE (imm8[3]) suppresses PE. */
  *fl |= rfl | (imm & 8 ? 0 : nfl & MX_PE);
  return r;
}

/*
 * VRCPPH/VRCPSH, VRSQRTPH/VRSQRTSH (SDM Vol. 2C): "APPROXIMATE(1.0 / tsrc)", relative error below
 * 2^-11 + 2^-14, the special cases of Tables 5-26 / 5-38, no exceptions (so no flags, NaNs quieted
 * without IE). The SDM does not define the bits, and no CPU here has AVX512-FP16 to measure them.
 * Named assumption: the result is the exact value rounded to nearest-even binary16 (within the bound;
 * a CPU that rounds a 2^-14 approximation instead, as the bound's shape suggests, differs by one ulp
 * only where the exact value lies within 2^-14 relative of a midpoint between binary16 values).
 * Computed in binary64: 1/x is one correctly rounded division (53 >= 2p + 2, so rounding again to
 * binary16 is the single rounding); 1/sqrt(x) takes two binary64 roundings (relative error < 2^-52),
 * while for binary16 x it lies at least 2^-36 relative from any binary16 midpoint (x * mid^2 is a
 * dyadic rational of at most 35 significant bits, never 1), so the nearest binary16 is the same.
 */
/* imm bit 8 of K_RCP/K_RSQRT on binary16: the host's own VRCPSH/VRSQRTSH computes them (float-fp16.ts
   sets it only when the host has AVX512-FP16 and is the profile's vendor: the vendor's bits, as for VRCP14). */
#define F16_APPROX_HOST 0x100u
static uint64_t f16_approx_host(int rsqrt, uint64_t x) {
  __attribute__((vector_size(16))) short h = { (short)x }, o;
  if (rsqrt) __asm__ volatile("vrsqrtsh %1, %1, %0" : "=v"(o) : "v"(h)); else __asm__ volatile("vrcpsh %1, %1, %0" : "=v"(o) : "v"(h));
  return (uint16_t)o[0];
}
static uint64_t f16_approx(int rsqrt, uint64_t x) {
  uint64_t s = x & 0x8000;
  uint32_t nfl = 0;
  if (f16_isnan(x)) return x | 0x200;
  if ((x & 0x7fff) == 0) return s | 0x7c00;
  if (rsqrt && s) return 0xfe00; /* negative, -INF included: the QNaN indefinite */
  if ((x & 0x7fff) == 0x7c00) return s;
  ldmxcsr(MX_MASKS);
  uint64_t one = 0x3ff0000000000000ull, d = f16_to_f64(x);
  uint64_t r = rsqrt ? div_d(one, sqrt_d(0, d)) : div_d(one, d);
  return f64_to_f16(r, 0, 0, 0, 0, &nfl);
}

/*
 * VFMULCPH, VFCMULCPH, VFMADDCPH, VFCMADDCPH and their SH forms (SDM Vol. 2C): per pair, the
 * pseudo-code's two steps, "rounding is performed at every FMA (fused multiply and add) boundary":
 *   tmp.re := src1.re * src2.re (+ dest.re),  tmp.im := src1.im * src2.re (+ dest.im)
 *   dest.re := tmp.re -/+ src1.im * src2.im,  dest.im := tmp.im +/- src1.re * src2.im   (conjugate: +/-)
 * each a binary16 multiply or fused multiply-add rounded once by RC (f16_arith, f16_fma). "Execution
 * occurs as if all MXCSR exceptions are masked": the masked responses, flags ORed (the caller
 * raises no #XM). Assumed (no CPU to measure): the rounded intermediate is an operand of the second
 * step like any other (a denormal one raises DE, a NaN one propagates), and NaN selection follows
 * each step's operand order addend, multiplier, multiplicand (the 231 form: tmp, src1, src2).
 */
#define FMA231 2
static uint32_t f16_complex(uint32_t n, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out, uint32_t mxcsr, uint32_t imm,
                            uint32_t mask_lo, uint32_t mask_hi) {
  int conj = imm & 1, acc = (imm & 2) != 0;
  uint32_t mx = (mxcsr & MX_RC) | MX_MASKS, flags = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t bit = i < 32 ? (mask_lo >> i) & 1 : (mask_hi >> (i - 32)) & 1;
    if (!bit) continue;
    uint64_t a0 = get(a, 2 * i, 2), a1 = get(a, 2 * i + 1, 2), b0 = get(b, 2 * i, 2), b1 = get(b, 2 * i + 1, 2);
    uint64_t t0, t1;
    if (acc) {
      t0 = f16_fma(K_FMADD, FMA231, 0, get(c, 2 * i, 2), a0, b0, mx, &flags);
      t1 = f16_fma(K_FMADD, FMA231, 0, get(c, 2 * i + 1, 2), a1, b0, mx, &flags);
    } else {
      t0 = f16_arith(K_MUL, a0, b0, mx, &flags);
      t1 = f16_arith(K_MUL, a1, b0, mx, &flags);
    }
    put(out, 2 * i, 2, f16_fma(conj ? K_FMADD : K_FNMADD, FMA231, 0, t0, a1, b1, mx, &flags));
    put(out, 2 * i + 1, 2, f16_fma(conj ? K_FNMADD : K_FMADD, FMA231, 0, t1, a0, b1, mx, &flags));
  }
  return flags;
}

/*
 * Run `n` elements. Returns the OR of the flags of the computed elements (MXCSR bits 5:0).
 * mxcsr: RC, DAZ, FTZ and the masks the guest computes with (the caller has applied embedded
 * rounding); flags in it are ignored.
 */
uint32_t xl_fp_run(uint32_t op, uint32_t n, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out,
                   uint32_t mxcsr, uint32_t imm, uint32_t mask_lo, uint32_t mask_hi) {
  int kind = op & 0xff, st = (op >> 8) & 15, dt = (op >> 12) & 15;
  int ss = type_size(st), ds = type_size(dt);
  int dbl = st == T_F64;
  int ue_unmasked = !(mxcsr & MX_UM);
  uint32_t cmx = (mxcsr & (MX_RC | MX_DAZ | (ue_unmasked ? 0 : MX_FTZ))) | MX_MASKS;
  uint32_t host = stmxcsr();
  uint32_t flags = 0;
  if (kind == K_CMUL) { flags = f16_complex(n, a, b, c, out, mxcsr, imm, mask_lo, mask_hi); ldmxcsr(host); return flags; }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t bit = i < 32 ? (mask_lo >> i) & 1 : (mask_hi >> (i - 32)) & 1;
    if (!bit) continue;
    uint64_t x = get(a, i, ss), y = b ? get(b, i, ss) : 0, z = c ? get(c, i, ss) : 0;
    uint64_t r = 0;
    uint32_t fl = 0;
    /* AVX512-FP16 VGETEXPPH, VGETMANTPH, VFPCLASSPH: the binary32/64 operations on the binary16 format, without DAZ (assumed, as for the arithmetic). */
    if (st == T_F16 && (kind == K_GETEXP || kind == K_GETMANT || kind == K_FPCLASS)) {
      uint32_t mx16 = mxcsr & ~MX_DAZ;
      r = kind == K_GETEXP ? getexp(FMT_F16, x, mx16, &fl) : kind == K_GETMANT ? getmant(FMT_F16, imm, x, mx16, &fl) : fpclass(FMT_F16, imm, x, mx16);
      flags |= fl;
      put(out, i, ds, r);
      continue;
    }
    /* AVX512-FP16 VRNDSCALEPH, VREDUCEPH, VSCALEFPH (without DAZ, as above), VRCPPH, VRSQRTPH. */
    if (st == T_F16 && (kind == K_RNDSCALE || kind == K_REDUCE || kind == K_SCALEF || kind == K_RCP || kind == K_RSQRT)) {
      if (kind == K_RNDSCALE) r = f16_rndscale((int)imm, x, mxcsr, &fl);
      else if (kind == K_REDUCE) r = f16_reduce((int)imm, x, mxcsr, &fl);
      else if (kind == K_SCALEF) r = scalef(FMT_F16, x, y, mxcsr & ~MX_DAZ, &fl);
      else r = (imm & F16_APPROX_HOST) ? f16_approx_host(kind == K_RSQRT, x) : f16_approx(kind == K_RSQRT, x);
      flags |= fl;
      put(out, i, ds, r);
      continue;
    }
    /* AVX512-FP16: computed and flagged entirely here (no FTZ/DAZ post-processing below). */
    if ((st == T_F16 && ((kind >= K_ADD && kind <= K_UCOMI) || kind == K_ADDSUB)) || kind == K_CVT16 || kind == K_CVTT16) {
      if ((kind == K_CVT16 || kind == K_CVTT16) && st == T_F16 && dt != T_F32 && dt != T_F64) r = f16_to_int(dt, kind == K_CVTT16, x, mxcsr, &fl);
      else if (kind == K_CVT16 && dt == T_F16 && st != T_F32 && st != T_F64) r = int_to_f16(st, x, mxcsr, &fl);
      else if (kind == K_CVT16) r = f16_cvt(st, dt, x, mxcsr, &fl);
      else if (kind >= K_FMADD && kind <= K_FMSUBADD) r = f16_fma(kind, imm & 3, i & 1, x, y, z, mxcsr, &fl);
      else if (kind == K_CMP || kind == K_COMI || kind == K_UCOMI) {
        if ((f16_isden(x) || f16_isden(y)) && !f16_isnan(x) && !f16_isnan(y)) fl |= MX_DE;
        ldmxcsr(MX_MASKS);
        r = kind == K_CMP ? cmp_imm(1, imm, f16_to_f64(x), f16_to_f64(y)) : comi(1, kind == K_COMI, f16_to_f64(x), f16_to_f64(y));
        fl |= stmxcsr() & MX_IE;
      } else r = f16_arith(kind == K_ADDSUB ? ((i & 1) ? K_ADD : K_SUB) : kind, x, y, mxcsr, &fl);
      flags |= fl;
      if (kind == K_COMI || kind == K_UCOMI) { put(out, 0, 4, r); continue; }
      put(out, i, ds, r);
      continue;
    }
    ldmxcsr(cmx);
    int form = imm & 3;
    switch (kind) {
      case K_ADD: r = dbl ? add_d(x, y) : add_s(x, y); break;
      case K_SUB: r = dbl ? sub_d(x, y) : sub_s(x, y); break;
      case K_MUL: r = dbl ? mul_d(x, y) : mul_s(x, y); break;
      case K_DIV: r = dbl ? div_d(x, y) : div_s(x, y); break;
      case K_MIN: r = dbl ? min_d(x, y) : min_s(x, y); break;
      case K_MAX: r = dbl ? max_d(x, y) : max_s(x, y); break;
      case K_SQRT: r = dbl ? sqrt_d(0, x) : sqrt_s(0, x); break;
      case K_ADDSUB: r = (i & 1) ? (dbl ? add_d(x, y) : add_s(x, y)) : (dbl ? sub_d(x, y) : sub_s(x, y)); break;
      case K_FMADD: r = dbl ? fmadd_d(form, x, y, z) : fmadd_s(form, x, y, z); break;
      case K_FMSUB: r = dbl ? fmsub_d(form, x, y, z) : fmsub_s(form, x, y, z); break;
      case K_FNMADD: r = dbl ? fnmadd_d(form, x, y, z) : fnmadd_s(form, x, y, z); break;
      case K_FNMSUB: r = dbl ? fnmsub_d(form, x, y, z) : fnmsub_s(form, x, y, z); break;
      /* FMADDSUB: odd elements add, even subtract; FMSUBADD the reverse (SDM Vol. 2A VFMADDSUB132PS). */
      case K_FMADDSUB: r = (i & 1) ? (dbl ? fmadd_d(form, x, y, z) : fmadd_s(form, x, y, z)) : (dbl ? fmsub_d(form, x, y, z) : fmsub_s(form, x, y, z)); break;
      case K_FMSUBADD: r = (i & 1) ? (dbl ? fmsub_d(form, x, y, z) : fmsub_s(form, x, y, z)) : (dbl ? fmadd_d(form, x, y, z) : fmadd_s(form, x, y, z)); break;
      case K_CMP: r = cmp_imm(dbl, imm, x, y); break;
      case K_COMI: case K_UCOMI: r = comi(dbl, kind == K_COMI, x, y); break;
      case K_ROUND: r = round_imm(dbl, imm, x); break;
      case K_RNDSCALE: r = rndscale(dbl, imm, x, cmx, &fl); break;
      case K_PS2PH: r = ps2ph(imm, x); break;
      case K_RCP: { float f, o; memcpy(&f, &x, 4); __asm__ volatile("rcpss %1, %0" : "=x"(o) : "x"(f)); uint32_t u; memcpy(&u, &o, 4); r = u; break; }
      case K_RSQRT: { float f, o; memcpy(&f, &x, 4); __asm__ volatile("rsqrtss %1, %0" : "=x"(o) : "x"(f)); uint32_t u; memcpy(&u, &o, 4); r = u; break; }
      case K_CVT: case K_CVTT: {
        int trunc = kind == K_CVTT;
        if (st == T_F16) { r = ph2ps(x); break; }
        if ((st == T_F32 || st == T_F64) && (dt == T_F32 || dt == T_F64)) {
          if (st == T_F32) { float f; memcpy(&f, &x, 4); double d; __asm__ volatile("cvtss2sd %1, %0" : "=x"(d) : "x"(f)); memcpy(&r, &d, 8); }
          else { double d; memcpy(&d, &x, 8); float f; __asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(d)); uint32_t u; memcpy(&u, &f, 4); r = u; }
        } else if (st == T_F32 || st == T_F64) {
          if (dt == T_I32) r = (uint32_t)f_to_i32(dbl, trunc, x);
          else if (dt == T_I64) r = (uint64_t)f_to_i64(dbl, trunc, x);
          else r = f_to_u(dbl, trunc, dt == T_U32 ? 32 : 64, x, cmx, &fl);
        } else r = cvt_to_f(st, dt, x);
        break;
      }
      case K_GETEXP: r = getexp(dbl, x, cmx, &fl); break;
      case K_GETMANT: r = getmant(dbl, imm, x, cmx, &fl); break;
      case K_SCALEF: r = scalef(dbl, x, y, cmx, &fl); break;
      case K_RANGE: r = range(dbl, imm, x, y, cmx, &fl); break;
      case K_REDUCE: r = reduce(dbl, imm, x, cmx, &fl); break;
      case K_FIXUPIMM: r = fixupimm(dbl, imm, x, y, z, cmx, &fl); break;
      case K_FPCLASS: r = fpclass(dbl, imm, x, mxcsr); break;
      /* FTZ applies whatever UM (they raise no exception; measured, AMD Zen 5). */
      case K_RCP14: case K_RSQRT14: ldmxcsr(cmx | (mxcsr & MX_FTZ)); r = approx14(dbl, kind == K_RSQRT14, x); ldmxcsr(cmx); break;
      default: r = 0; break;
    }
    fl |= stmxcsr() & MX_FLAGS;
    /* Kinds that return a source's value or a constant, or raise no exception, have no underflow. */
    int selects = kind == K_MIN || kind == K_MAX || kind == K_CMP || kind == K_COMI || kind == K_UCOMI || kind == K_RANGE || kind == K_FIXUPIMM ||
                  kind == K_FPCLASS || kind == K_GETEXP || kind == K_GETMANT || kind == K_RCP14 || kind == K_RSQRT14 ||
                  kind == K_REDUCE; /* VREDUCE: a denormal result raises no UE, even with UM clear (measured, AMD Zen 5) */
    if (ue_unmasked && is_denormal(dt, r) && !selects) fl |= MX_UE;
    if ((ue_unmasked && (fl & MX_UE)) || (!(mxcsr & MX_OM) && (fl & MX_OE))) {
      int pe = pe_unbounded(kind, dbl, st, dt, form, x, y, z, cmx, i & 1);
      if (pe >= 0) fl = (fl & ~MX_PE) | (pe ? MX_PE : 0);
    }
    flags |= fl;
    if (kind == K_COMI || kind == K_UCOMI) { put(out, 0, 4, r); continue; }
    put(out, i, ds, r);
  }
  ldmxcsr(host);
  return flags;
}

/* The host's CPUID vendor string (leaf 0: EBX, EDX, ECX), 12 bytes into out. */
#include <cpuid.h>
void xl_fp_host_vendor(char *out) {
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  memcpy(out, &b, 4); memcpy(out + 4, &d, 4); memcpy(out + 8, &c, 4);
}

/* Host capabilities this kernel's instructions need: bit 0 SSE4.1 (ROUNDSS), 1 FMA, 2 F16C, 3 AVX, 4 AVX-512F (VRCP14SS, VRSQRT14SS), 5 AVX512-FP16 (VRCPSH, VRSQRTSH). */
uint32_t xl_fp_host_caps(void) {
  __builtin_cpu_init();
  return (__builtin_cpu_supports("sse4.1") ? 1u : 0u) | (__builtin_cpu_supports("fma") ? 2u : 0u) |
         (__builtin_cpu_supports("f16c") ? 4u : 0u) | (__builtin_cpu_supports("avx") ? 8u : 0u) | (__builtin_cpu_supports("avx512f") ? 16u : 0u) |
         (__builtin_cpu_supports("avx512fp16") ? 32u : 0u);
}
