/*
 * The common cases of the XSAVE family in native code: XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR and
 * XRSTORS over the register file's own store (emulator/register-file.ts RegisterFile.store: the
 * legacy region, the StateWord words, the components), with every layout fact taken from a table
 * the TypeScript model derives from the CPU model (emulator/xsave-native.ts xsaveTable). This file
 * holds no offsets, sizes, alignments, bits or quirk rules of its own: only the table's word names,
 * which xsave-native.ts checks against its own enums when the library loads (xl_xs_binding).
 *
 * The TypeScript model (emulator/xsave.ts) is the reference; each function here mirrors one of it
 * (named in the comments) and test/xsave-native.test.ts compares them on random states and images.
 * Whatever is not the common case (any fault condition, a component with a rare rule, XFD armed,
 * outside 64-bit mode, the hidden-CPUID paths) returns XS_FALLBACK before changing anything, and the
 * caller runs the TypeScript model, which raises the fault or applies the rule.
 *
 * Included by trap-gate.c (one shared object); usable alone (no unicorn calls here).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Table words (emulator/xsave-native.ts XsTable). The arrays have 32 entries, one per component. */
enum xs_table {
  XT_LEGACY_FCW, XT_LEGACY_FSW, XT_LEGACY_FTW, XT_LEGACY_FOP, XT_LEGACY_FIP, XT_LEGACY_FCS, XT_LEGACY_FDP, XT_LEGACY_FDS,
  XT_LEGACY_MXCSR, XT_LEGACY_MXCSR_MASK, XT_LEGACY_ST0, XT_LEGACY_ST_STRIDE, XT_LEGACY_ST_BYTES, XT_LEGACY_XMM0,
  XT_LEGACY_END_OF_SAVED, XT_XMM_BYTES_64BIT,
  XT_HEADER, XT_EXTENDED, XT_AREA_ALIGN, XT_COMPACT_ALIGN, XT_COMPACTED_HI, XT_MXCSR_INIT, XT_FCW_INIT,
  XT_FSW_ES, XT_FSW_B, XT_FSW_EXCEPTIONS, XT_FOP_MASK, XT_FCW_DEFINED, XT_FCW_BIT6,
  XT_X87, XT_SSE, XT_AVX, XT_STATE_WORDS,
  XT_MXCSR_MASK, XT_HAS_XSAVE, XT_HAS_XSAVEOPT, XT_HAS_XSAVEC, XT_HAS_XSAVES, XT_COMPACTED_FORM, XT_FCS_FDS_DEPRECATED,
  XT_Q_RECOMPUTES_ES, XT_Q_POINTERS_ONLY_WITH_ES, XT_Q_POINTERS_SAVED_ONLY_WITH_ES, XT_Q_POINTERS_CANONICAL57,
  XT_Q_FIP_CANONICAL57, XT_Q_KEEPS_INIT, XT_Q_MODIFIED_OPTIMIZATION, XT_Q_XSAVES_MODIFIED_OPTIMIZATION, XT_Q_TRACKS_ZERO_REGISTERS,
  XT_FAST_MASK, XT_RESTORE_UNCHANGED_ONLY, XT_N_EXT,
  XT_EXT_ORDER, XT_COMP_SIZE = XT_EXT_ORDER + 32, XT_COMP_STANDARD_OFFSET = XT_COMP_SIZE + 32,
  XT_COMP_ALIGN64 = XT_COMP_STANDARD_OFFSET + 32, XT_COMP_SUPERVISOR = XT_COMP_ALIGN64 + 32,
  XT_COMP_STORE_OFFSET = XT_COMP_SUPERVISOR + 32, XT_COMP_OPERATED = XT_COMP_STORE_OFFSET + 32,
  XT_TRACK_PART = XT_COMP_OPERATED + 32, XT_WORDS = XT_TRACK_PART + 32
};

/* The store's 32-bit words (emulator/register-file.ts StateWord). */
enum xs_word {
  SW_XINUSE, SW_XMODIFIED, SW_KNOWN_ZERO, SW_FCS, SW_FDS,
  SW_XRI_VALID, SW_XRI_CPL, SW_XRI_VMX, SW_XRI_ADDR_LO, SW_XRI_ADDR_HI, SW_XRI_XCOMP, SW_XRI_COMPACTED,
  SW_XCR0, SW_XSS, SW_CR4_OSXSAVE, SW_CR4_OSFXSR, SW_CR0_TS, SW_CPL, SW_MODE64, SW_VMX, SW_XFD, SW_XFD_ERR,
  SW_REGS_IN_USE, SW_WORDS = SW_REGS_IN_USE + 8
};

/* The instructions (emulator/xsave-native.ts XsOp). */
enum xs_op { XS_OP_XSAVE = 1, XS_OP_XSAVEOPT, XS_OP_XSAVEC, XS_OP_XSAVES, XS_OP_XRSTOR, XS_OP_XRSTORS };

enum { XS_DONE = 0, XS_FALLBACK = 1 };

/* What xsave-native.ts compares with its enums: "kind:name=value" lines for every table word, state word and op. */
const char *xl_xs_binding(void) {
  static char out[4096];
  if (out[0]) return out;
  static const struct { const char *kind, *name; int value; } names[] = {
#define T_(x) { "table", #x, XT_##x },
    T_(LEGACY_FCW) T_(LEGACY_FSW) T_(LEGACY_FTW) T_(LEGACY_FOP) T_(LEGACY_FIP) T_(LEGACY_FCS) T_(LEGACY_FDP) T_(LEGACY_FDS)
    T_(LEGACY_MXCSR) T_(LEGACY_MXCSR_MASK) T_(LEGACY_ST0) T_(LEGACY_ST_STRIDE) T_(LEGACY_ST_BYTES) T_(LEGACY_XMM0)
    T_(LEGACY_END_OF_SAVED) T_(XMM_BYTES_64BIT)
    T_(HEADER) T_(EXTENDED) T_(AREA_ALIGN) T_(COMPACT_ALIGN) T_(COMPACTED_HI) T_(MXCSR_INIT) T_(FCW_INIT)
    T_(FSW_ES) T_(FSW_B) T_(FSW_EXCEPTIONS) T_(FOP_MASK) T_(FCW_DEFINED) T_(FCW_BIT6)
    T_(X87) T_(SSE) T_(AVX) T_(STATE_WORDS)
    T_(MXCSR_MASK) T_(HAS_XSAVE) T_(HAS_XSAVEOPT) T_(HAS_XSAVEC) T_(HAS_XSAVES) T_(COMPACTED_FORM) T_(FCS_FDS_DEPRECATED)
    T_(Q_RECOMPUTES_ES) T_(Q_POINTERS_ONLY_WITH_ES) T_(Q_POINTERS_SAVED_ONLY_WITH_ES) T_(Q_POINTERS_CANONICAL57)
    T_(Q_FIP_CANONICAL57) T_(Q_KEEPS_INIT) T_(Q_MODIFIED_OPTIMIZATION) T_(Q_XSAVES_MODIFIED_OPTIMIZATION) T_(Q_TRACKS_ZERO_REGISTERS)
    T_(FAST_MASK) T_(RESTORE_UNCHANGED_ONLY) T_(N_EXT) T_(EXT_ORDER) T_(COMP_SIZE) T_(COMP_STANDARD_OFFSET) T_(COMP_ALIGN64) T_(COMP_SUPERVISOR)
    T_(COMP_STORE_OFFSET) T_(COMP_OPERATED) T_(TRACK_PART) T_(WORDS)
#define W_(x) { "word", #x, SW_##x },
    W_(XINUSE) W_(XMODIFIED) W_(KNOWN_ZERO) W_(FCS) W_(FDS) W_(XRI_VALID) W_(XRI_CPL) W_(XRI_VMX) W_(XRI_ADDR_LO)
    W_(XRI_ADDR_HI) W_(XRI_XCOMP) W_(XRI_COMPACTED) W_(XCR0) W_(XSS) W_(CR4_OSXSAVE) W_(CR4_OSFXSR) W_(CR0_TS) W_(CPL)
    W_(MODE64) W_(VMX) W_(XFD) W_(XFD_ERR) W_(REGS_IN_USE) W_(WORDS)
#define O_(x) { "op", #x, XS_OP_##x },
    O_(XSAVE) O_(XSAVEOPT) O_(XSAVEC) O_(XSAVES) O_(XRSTOR) O_(XRSTORS)
  };
  size_t at = 0;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    int n = snprintf(out + at, sizeof out - at, "%s:%s=%d\n", names[k].kind, names[k].name, names[k].value);
    if (n < 0 || (size_t)n >= sizeof out - at) { out[0] = 0; return "overflow"; }
    at += (size_t)n;
  }
  return out;
}

/* Byte ranges of the area an instruction wrote, merged when adjacent (the caller copies them out). */
#define XS_MAX_RANGES 48
struct xs_ranges { uint32_t n, overflow; uint32_t r[2 * XS_MAX_RANGES]; };

static void wrote(struct xs_ranges *w, uint32_t from, uint32_t to) {
  if (!w || from >= to) return;
  if (w->n && w->r[2 * w->n - 1] == from) { w->r[2 * w->n - 1] = to; return; }
  if (w->n == XS_MAX_RANGES) { w->overflow = 1; return; }
  w->r[2 * w->n] = from;
  w->r[2 * w->n + 1] = to;
  w->n++;
}

static inline uint32_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wr16(uint8_t *p, uint32_t v) { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* One instruction's view: the table, the legacy region, the words, the store. */
struct xs {
  const uint32_t *t;
  uint8_t *store;
  uint32_t *w;
};
#define T(x) (s->t[XT_##x])
#define W(x) (s->w[SW_##x])
#define L (s->store)

static inline struct xs xs_of(const uint32_t *table, uint8_t *store) {
  struct xs s = { table, store, (uint32_t *)(void *)(store + table[XT_STATE_WORDS]) };
  return s;
}

/* xsave.ts storeX87. */
static void store_x87(const struct xs *s, uint8_t *a, int rexw, struct xs_ranges *wr) {
  memcpy(a, L, T(LEGACY_MXCSR));
  a[T(LEGACY_FTW) + 1] = 0;
  int hide = T(Q_POINTERS_SAVED_ONLY_WITH_ES) && !(rd16(L + T(LEGACY_FSW)) & T(FSW_ES));
  if (hide) memset(a + T(LEGACY_FOP), 0, T(LEGACY_MXCSR) - T(LEGACY_FOP));
  if (!rexw) {
    int deprecated = T(FCS_FDS_DEPRECATED) || hide;
    wr16(a + T(LEGACY_FCS), deprecated ? 0 : W(FCS));
    wr16(a + T(LEGACY_FCS) + 2, 0);
    wr16(a + T(LEGACY_FDS), deprecated ? 0 : W(FDS));
    wr16(a + T(LEGACY_FDS) + 2, 0);
  }
  memcpy(a + T(LEGACY_ST0), L + T(LEGACY_ST0), T(LEGACY_XMM0) - T(LEGACY_ST0));
  wrote(wr, 0, T(LEGACY_MXCSR));
  wrote(wr, T(LEGACY_ST0), T(LEGACY_XMM0));
}

/* xsave.ts storeMxcsr. */
static void store_mxcsr(const struct xs *s, uint8_t *a, struct xs_ranges *wr) {
  wr32(a + T(LEGACY_MXCSR), rd32(L + T(LEGACY_MXCSR)));
  wr32(a + T(LEGACY_MXCSR_MASK), T(MXCSR_MASK));
  wrote(wr, T(LEGACY_MXCSR), T(LEGACY_ST0));
}

/* xsave.ts storeXmm (64-bit mode). */
static void store_xmm(const struct xs *s, uint8_t *a, struct xs_ranges *wr) {
  memcpy(a + T(LEGACY_XMM0), L + T(LEGACY_XMM0), T(XMM_BYTES_64BIT));
  wrote(wr, T(LEGACY_XMM0), T(LEGACY_XMM0) + T(XMM_BYTES_64BIT));
}

/* xsave.ts storeComponent (no XFD armed: the fast path's precondition). */
static void store_component(const struct xs *s, uint8_t *a, uint32_t i, uint32_t off, struct xs_ranges *wr) {
  uint32_t n = s->t[XT_COMP_OPERATED + i];
  memcpy(a + off, L + s->t[XT_COMP_STORE_OFFSET + i], n);
  if (n) wrote(wr, off, off + n);
}

/* The address as the model keeps it (a JS number): exact below 2^53, which user addresses are. */
#define XS_EXACT_LIMIT (1ull << 53)

static int xrstor_info_matches(const struct xs *s, uint64_t address) {
  return W(XRI_VALID) && ((uint64_t)W(XRI_ADDR_HI) << 32 | W(XRI_ADDR_LO)) == address && W(XRI_CPL) == W(CPL) && W(XRI_VMX) == W(VMX);
}

/* The checks every instruction here shares; a failing one is a fault or a rare path: the model's. */
static int common_ok(const struct xs *s, uint64_t address) {
  return T(HAS_XSAVE) && W(CR4_OSXSAVE) && !W(CR0_TS) && W(MODE64) && (address & (T(AREA_ALIGN) - 1)) == 0 &&
         address < XS_EXACT_LIMIT && (W(XCR0) & W(XFD)) == 0;
}

/* xsave.ts saveStandard (XSAVE, XSAVEOPT) and saveCompacted (XSAVEC, XSAVES). `a` holds the area's bytes (at least XSTATE_BV). */
int xl_xs_save(const uint32_t *table, uint8_t *store, int op, uint8_t *a, uint64_t address, uint32_t eax, uint32_t edx, int rexw, struct xs_ranges *wr) {
  (void)edx; /* components above 31 are not modelled (xsave.ts rfbmOf) */
  struct xs sv = xs_of(table, store), *s = &sv;
  if (!common_ok(s, address)) return XS_FALLBACK;
  int supervisor = op == XS_OP_XSAVES;
  switch (op) {
    case XS_OP_XSAVE: break;
    case XS_OP_XSAVEOPT: if (!T(HAS_XSAVEOPT)) return XS_FALLBACK; break;
    case XS_OP_XSAVEC: if (!T(HAS_XSAVEC)) return XS_FALLBACK; break;
    case XS_OP_XSAVES: if (!T(HAS_XSAVES) || W(CPL) != 0) return XS_FALLBACK; break;
    default: return XS_FALLBACK;
  }
  uint32_t rfbm = eax & (supervisor ? W(XCR0) | W(XSS) : W(XCR0));
  if (rfbm & ~T(FAST_MASK)) return XS_FALLBACK;
  if (wr) { wr->n = 0; wr->overflow = 0; }
  uint32_t x87 = T(X87), sse = T(SSE), avx = T(AVX), hdr = T(HEADER);
  if (op == XS_OP_XSAVE || op == XS_OP_XSAVEOPT) {
    uint32_t inuse = W(XINUSE);
    uint32_t write = rfbm;
    if (op == XS_OP_XSAVEOPT) {
      write &= inuse;
      if (T(Q_MODIFIED_OPTIMIZATION) && xrstor_info_matches(s, address) && !W(XRI_COMPACTED) && W(XRI_XCOMP) == 0) write &= W(XMODIFIED);
    }
    uint32_t old = rd32(a + hdr);
    if (write & x87) store_x87(s, a, rexw, wr);
    if (rfbm & (sse | avx)) store_mxcsr(s, a, wr);
    if (write & sse) store_xmm(s, a, wr);
    for (uint32_t k = 0; k < T(N_EXT); k++) {
      uint32_t c = s->t[XT_EXT_ORDER + k];
      if (write >> c & 1) store_component(s, a, c, s->t[XT_COMP_STANDARD_OFFSET + c], wr);
    }
    wr32(a + hdr, (old & ~rfbm) | (inuse & rfbm));
    wrote(wr, hdr, hdr + 4);
  } else {
    uint32_t inuse = rd32(L + T(LEGACY_MXCSR)) != T(MXCSR_INIT) ? W(XINUSE) | sse : W(XINUSE);
    uint32_t write = rfbm & inuse;
    if (supervisor && T(Q_XSAVES_MODIFIED_OPTIMIZATION) && xrstor_info_matches(s, address) && W(XRI_COMPACTED) && W(XRI_XCOMP) == rfbm) write &= W(XMODIFIED);
    if (write & x87) store_x87(s, a, rexw, wr);
    if (write & sse) { store_mxcsr(s, a, wr); store_xmm(s, a, wr); }
    wr32(a + hdr, inuse & rfbm);
    wr32(a + hdr + 4, 0);
    wr32(a + hdr + 8, rfbm);
    wr32(a + hdr + 12, T(COMPACTED_HI));
    wrote(wr, hdr, hdr + 16);
    uint32_t loc = T(EXTENDED), align = T(COMPACT_ALIGN);
    for (uint32_t k = 0; k < T(N_EXT); k++) {
      uint32_t c = s->t[XT_EXT_ORDER + k];
      if (!(rfbm >> c & 1)) continue;
      if (s->t[XT_COMP_ALIGN64 + c]) loc = (loc + align - 1) & ~(align - 1);
      if (write >> c & 1) store_component(s, a, c, loc, wr);
      loc += s->t[XT_COMP_SIZE + c];
    }
  }
  return XS_DONE;
}

/* cpu-model.ts standardSize / compactedLayout: the bytes the machine checks for an area (machine.ts areaSize). */
static uint32_t standard_size(const struct xs *s, uint32_t mask) {
  uint32_t end = T(EXTENDED);
  for (uint32_t k = 0; k < T(N_EXT); k++) {
    uint32_t c = s->t[XT_EXT_ORDER + k];
    if (!s->t[XT_COMP_SUPERVISOR + c] && (mask >> c & 1)) {
      uint32_t e = s->t[XT_COMP_STANDARD_OFFSET + c] + s->t[XT_COMP_SIZE + c];
      if (e > end) end = e;
    }
  }
  return end;
}

/* Compacted offsets for `mask` into off[32]; returns the size. */
static uint32_t compacted_layout(const struct xs *s, uint32_t mask, uint32_t *off) {
  uint32_t loc = T(EXTENDED), align = T(COMPACT_ALIGN);
  for (uint32_t k = 0; k < T(N_EXT); k++) {
    uint32_t c = s->t[XT_EXT_ORDER + k];
    if (!(mask >> c & 1)) continue;
    if (s->t[XT_COMP_ALIGN64 + c]) loc = (loc + align - 1) & ~(align - 1);
    if (off) off[c] = loc;
    loc += s->t[XT_COMP_SIZE + c];
  }
  return loc;
}

/* The area size the machine gives a save of `op` (machine.ts areaSize with requiredAreaSize). */
uint32_t xl_xs_save_size(const uint32_t *table, uint8_t *store, int op, uint32_t eax) {
  struct xs sv = xs_of(table, store), *s = &sv;
  uint32_t rfbm = eax & (W(XCR0) | W(XSS));
  return op == XS_OP_XSAVE || op == XS_OP_XSAVEOPT ? standard_size(s, rfbm) : compacted_layout(s, rfbm, NULL);
}

static int all_zero(const uint8_t *p, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) if (p[k]) return 0;
  return 1;
}

/* register-file.ts isInitConfig. */
static int is_init(const struct xs *s, uint32_t i) {
  if ((1u << i) == T(X87)) {
    if (rd16(L + T(LEGACY_FCW)) != T(FCW_INIT)) return 0;
    if (!all_zero(L + T(LEGACY_FSW), T(LEGACY_FOP) - T(LEGACY_FSW))) return 0;
    return all_zero(L + T(LEGACY_ST0), T(LEGACY_XMM0) - T(LEGACY_ST0));
  }
  if ((1u << i) == T(SSE)) return all_zero(L + T(LEGACY_XMM0), T(LEGACY_END_OF_SAVED) - T(LEGACY_XMM0));
  if (W(KNOWN_ZERO) >> i & 1) return 1;
  return all_zero(L + s->t[XT_COMP_STORE_OFFSET + i], s->t[XT_COMP_SIZE + i]);
}

/* register-file.ts trackLoaded: per register, in use unless zero; returns whether any is. */
static int track_loaded(const struct xs *s, uint32_t c) {
  uint32_t part = s->t[XT_TRACK_PART + c];
  const uint8_t *bytes;
  uint32_t len;
  if ((1u << c) == T(SSE)) { bytes = L + T(LEGACY_XMM0); len = T(LEGACY_END_OF_SAVED) - T(LEGACY_XMM0); }
  else { bytes = L + s->t[XT_COMP_STORE_OFFSET + c]; len = s->t[XT_COMP_SIZE + c]; }
  uint32_t m = 0;
  for (uint32_t reg = 0; reg * part < len; reg++) {
    uint32_t end = (reg + 1) * part < len ? (reg + 1) * part : len;
    if (!all_zero(bytes + reg * part, end - reg * part)) m |= 1u << reg;
  }
  s->w[SW_REGS_IN_USE + c] = m;
  return m != 0;
}

/* xsave.ts loadX87. */
static void load_x87(const struct xs *s, const uint8_t *a, int rexw) {
  uint32_t fcw = (rd16(a + T(LEGACY_FCW)) & T(FCW_DEFINED)) | T(FCW_BIT6);
  uint32_t fsw = rd16(a + T(LEGACY_FSW));
  uint32_t es = T(FSW_ES), b = T(FSW_B);
  if (T(Q_RECOMPUTES_ES)) fsw = (fsw & T(FSW_EXCEPTIONS) & ~fcw) ? fsw | es | b : fsw & ~(es | b);
  wr16(L + T(LEGACY_FCW), fcw);
  wr16(L + T(LEGACY_FSW), fsw);
  L[T(LEGACY_FTW)] = a[T(LEGACY_FTW)];
  L[T(LEGACY_FTW) + 1] = 0;
  uint32_t fop = T(LEGACY_FOP), fip = T(LEGACY_FIP), fdp = T(LEGACY_FDP), mx = T(LEGACY_MXCSR);
  if (T(Q_POINTERS_ONLY_WITH_ES) && !(fsw & es)) {
    memset(L + fop, 0, mx - fop);
    W(FCS) = 0;
    W(FDS) = 0;
  } else {
    wr16(L + fop, rd16(a + fop) & T(FOP_MASK));
    if (rexw) {
      memcpy(L + fip, a + fip, mx - fip);
      int both = T(Q_POINTERS_CANONICAL57) != 0;
      if (both || T(Q_FIP_CANONICAL57)) L[fip + 7] = L[fip + 7] & 1 ? 0xff : 0;
      if (both) L[fdp + 7] = L[fdp + 7] & 1 ? 0xff : 0;
      W(FCS) = 0;
      W(FDS) = 0;
    } else {
      memcpy(L + fip, a + fip, 4);
      memset(L + fip + 4, 0, 4);
      memcpy(L + fdp, a + fdp, 4);
      memset(L + fdp + 4, 0, 4);
      W(FCS) = rd16(a + T(LEGACY_FCS));
      W(FDS) = rd16(a + T(LEGACY_FDS));
    }
  }
  uint32_t st0 = T(LEGACY_ST0), stride = T(LEGACY_ST_STRIDE), bytes = T(LEGACY_ST_BYTES);
  memcpy(L + st0, a + st0, T(LEGACY_XMM0) - st0);
  for (uint32_t o = st0; o < T(LEGACY_XMM0); o += stride) memset(L + o + bytes, 0, stride - bytes);
}

/* register-file.ts initComponent (64-bit mode). */
static void init_component(const struct xs *s, uint32_t i) {
  uint32_t bit = 1u << i;
  if (bit == T(X87)) {
    memset(L, 0, T(LEGACY_MXCSR));
    memset(L + T(LEGACY_ST0), 0, T(LEGACY_XMM0) - T(LEGACY_ST0));
    wr16(L + T(LEGACY_FCW), T(FCW_INIT));
    W(FCS) = 0;
    W(FDS) = 0;
  } else if (bit == T(SSE)) {
    memset(L + T(LEGACY_XMM0), 0, T(LEGACY_END_OF_SAVED) - T(LEGACY_XMM0));
  } else {
    if (W(KNOWN_ZERO) & bit) return;
    memset(L + s->t[XT_COMP_STORE_OFFSET + i], 0, s->t[XT_COMP_SIZE + i]);
    W(KNOWN_ZERO) |= bit;
  }
}

/*
 * The bytes an XRSTOR(S) from this area reads, from its header (a[HEADER .. HEADER + 16)): the
 * machine's size (machine.ts restoreSize), also in *need.
 */
uint32_t xl_xs_restore_size(const uint32_t *table, uint8_t *store, int op, const uint8_t *a, uint32_t eax, uint32_t *need) {
  struct xs sv = xs_of(table, store), *s = &sv;
  uint32_t hdr = T(HEADER);
  uint32_t rfbm = eax & (op == XS_OP_XRSTORS ? W(XCR0) | W(XSS) : W(XCR0));
  int compacted = (rd32(a + hdr + 12) & T(COMPACTED_HI)) != 0;
  uint32_t size = standard_size(s, rfbm);
  if (compacted) {
    /* Offsets follow all of XCOMP_BV: up to the end of the last RFBM component in that layout (machine.ts restoreSize). */
    uint32_t comp = rd32(a + hdr + 8), off[32];
    compacted_layout(s, comp, off);
    size = T(EXTENDED);
    for (uint32_t k = 0; k < T(N_EXT); k++) {
      uint32_t c = s->t[XT_EXT_ORDER + k];
      if ((comp & rfbm) >> c & 1 && off[c] + s->t[XT_COMP_SIZE + c] > size) size = off[c] + s->t[XT_COMP_SIZE + c];
    }
  }
  if (need) *need = size;
  return size;
}

/* xsave.ts restore (XRSTOR, XRSTORS). `a` holds the area's bytes (xl_xs_restore_size's *need of them). */
int xl_xs_restore(const uint32_t *table, uint8_t *store, int op, const uint8_t *a, uint64_t address, uint32_t eax, uint32_t edx, int rexw) {
  (void)edx;
  struct xs sv = xs_of(table, store), *s = &sv;
  if (!common_ok(s, address)) return XS_FALLBACK;
  int supervisor = op == XS_OP_XRSTORS;
  if (op != XS_OP_XRSTOR && !(supervisor && T(HAS_XSAVES) && W(CPL) == 0)) return XS_FALLBACK;
  uint32_t allowed = supervisor ? W(XCR0) | W(XSS) : W(XCR0);
  uint32_t rfbm = eax & allowed;
  if (rfbm & ~T(FAST_MASK)) return XS_FALLBACK;
  uint32_t hdr = T(HEADER), hi = T(COMPACTED_HI);
  uint32_t bv_lo = rd32(a + hdr), bv_hi = rd32(a + hdr + 4), comp_lo = rd32(a + hdr + 8), comp_hi = rd32(a + hdr + 12);
  int compacted = (comp_hi & hi) != 0;
  uint32_t off[32];
  if (!compacted) {
    if (supervisor || bv_hi || (bv_lo & ~W(XCR0)) || !all_zero(a + hdr + 8, 16)) return XS_FALLBACK;
  } else {
    if (!T(COMPACTED_FORM) || (comp_hi & ~hi) || (comp_lo & ~allowed)) return XS_FALLBACK;
    if ((bv_lo & ~comp_lo) || (bv_hi & ~(comp_hi & ~hi)) || !all_zero(a + hdr + 16, 48)) return XS_FALLBACK;
    compacted_layout(s, comp_lo, off);
  }
  uint32_t present = compacted ? comp_lo & rfbm : rfbm;
  uint32_t load = bv_lo & present;
  uint32_t sse = T(SSE), mx = T(LEGACY_MXCSR);
  int set_mxcsr = 0;
  uint32_t mxcsr = 0;
  if (!compacted) { if (rfbm & (sse | T(AVX))) { set_mxcsr = 1; mxcsr = rd32(a + mx); } }
  else if (rfbm & sse) { set_mxcsr = 1; mxcsr = load & sse ? rd32(a + mx) : T(MXCSR_INIT); }
  if (set_mxcsr && (mxcsr & ~T(MXCSR_MASK))) return XS_FALLBACK;
  /* Components restored here only when their value stays (PKRU: its page protections are the model's); init is all zero. */
  for (uint32_t g = rfbm & T(RESTORE_UNCHANGED_ONLY), i = 0; g; i++) {
    if (!(g >> i & 1)) continue;
    g &= ~(1u << i);
    const uint8_t *cur = L + s->t[XT_COMP_STORE_OFFSET + i];
    uint32_t n = s->t[XT_COMP_OPERATED + i];
    if (load >> i & 1) { if (memcmp(cur, a + (compacted ? off[i] : s->t[XT_COMP_STANDARD_OFFSET + i]), n) != 0) return XS_FALLBACK; }
    else if (!all_zero(cur, n)) return XS_FALLBACK;
  }
  /* --- no fallback below this line */
  int keeps_init = T(Q_KEEPS_INIT) != 0, tracks = T(Q_TRACKS_ZERO_REGISTERS) != 0;
  uint32_t inuse = W(XINUSE);
  for (uint32_t k = 0; k < 2 + T(N_EXT); k++) {
    uint32_t i = k == 0 ? 0 : k == 1 ? 1 : s->t[XT_EXT_ORDER + k - 2];
    uint32_t b = 1u << i;
    if (!(rfbm & b)) continue;
    uint32_t part = s->t[XT_TRACK_PART + i];
    if (load & b) {
      if (b == T(X87)) load_x87(s, a, rexw);
      else if (b == sse) memcpy(L + T(LEGACY_XMM0), a + T(LEGACY_XMM0), T(XMM_BYTES_64BIT));
      else {
        uint32_t at = compacted ? off[i] : s->t[XT_COMP_STANDARD_OFFSET + i];
        W(KNOWN_ZERO) &= ~b;
        memcpy(L + s->t[XT_COMP_STORE_OFFSET + i], a + at, s->t[XT_COMP_OPERATED + i]);
      }
      if (tracks && part) inuse = track_loaded(s, i) ? inuse | b : inuse & ~b;
      else inuse = keeps_init && is_init(s, i) ? inuse & ~b : inuse | b;
    } else {
      init_component(s, i);
      if (tracks && part) s->w[SW_REGS_IN_USE + i] = 0;
      inuse &= ~b;
    }
  }
  if (set_mxcsr) wr32(L + mx, mxcsr);
  W(XINUSE) = inuse;
  W(XMODIFIED) = ~rfbm;
  W(XRI_VALID) = 1;
  W(XRI_CPL) = W(CPL);
  W(XRI_VMX) = W(VMX);
  W(XRI_ADDR_LO) = (uint32_t)address;
  W(XRI_ADDR_HI) = (uint32_t)(address >> 32);
  W(XRI_XCOMP) = compacted ? comp_lo : 0;
  W(XRI_COMPACTED) = compacted ? 1 : 0;
  return XS_DONE;
}

/* For the differential test: save with the written ranges into `ranges` (pairs), returning their count, or -1 on fallback. */
int xl_xs_save_ranges(const uint32_t *table, uint8_t *store, int op, uint8_t *a, uint64_t address, uint32_t eax, uint32_t edx, int rexw, uint32_t *ranges) {
  struct xs_ranges wr;
  if (xl_xs_save(table, store, op, a, address, eax, edx, rexw, &wr) != XS_DONE) return -1;
  memcpy(ranges, wr.r, sizeof wr.r[0] * 2 * wr.n);
  return wr.overflow ? -2 : (int)wr.n;
}
#undef T
#undef W
#undef L
