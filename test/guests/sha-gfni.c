/* SHA extensions, GFNI and PCLMULQDQ in the legacy SSE encoding (the model emulates them:
 * emulator/vector/crypto-legacy.ts): SHA-1 and SHA-256 of buffers computed with SHA1RNDS4/NEXTE/MSG1/MSG2
 * and SHA256RNDS2/MSG1/MSG2 (register and memory forms) against a plain C reference; GF2P8MULB,
 * GF2P8AFFINEQB, GF2P8AFFINEINVQB and PCLMULQDQ on varied inputs against C references; a misaligned
 * m128 operand (SDM: #GP, SIGSEGV; the SHA forms run on CPUs with quirk sha-unaligned-m128); and bits 255:128 of a YMM register kept by each legacy write. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>

typedef unsigned int u4 __attribute__((vector_size(16)));
typedef unsigned char u16b __attribute__((vector_size(16)));

/* One instruction, register or memory (16-byte aligned: a u4 local) second operand. */
#define OP2(name, insn) \
  static u4 name##_r(u4 a, u4 b) { __asm__(insn " %1, %0" : "+x"(a) : "x"(b)); return a; } \
  static u4 name##_m(u4 a, u4 b) { __asm__(insn " %1, %0" : "+x"(a) : "m"(b)); return a; } \
  static u4 name(int mem, u4 a, u4 b) { return mem ? name##_m(a, b) : name##_r(a, b); }
OP2(sha1nexte, "sha1nexte")
OP2(sha1msg1, "sha1msg1")
OP2(sha1msg2, "sha1msg2")
OP2(sha256msg1, "sha256msg1")
OP2(sha256msg2, "sha256msg2")
OP2(gfmulb, "gf2p8mulb")
static u4 sha1rnds4(int mem, u4 a, u4 b, int f) {
#define R4(i) do { if (mem) __asm__("sha1rnds4 $" #i ", %1, %0" : "+x"(a) : "m"(b)); else __asm__("sha1rnds4 $" #i ", %1, %0" : "+x"(a) : "x"(b)); } while (0)
  switch (f) { case 0: R4(0); break; case 1: R4(1); break; case 2: R4(2); break; default: R4(3); break; }
  return a;
}
static u4 sha256rnds2(int mem, u4 cdgh, u4 abef, u4 wk) {
  if (mem) __asm__("sha256rnds2 %1, %0" : "+x"(cdgh) : "m"(abef), "Yz"(wk));
  else __asm__("sha256rnds2 %1, %0" : "+x"(cdgh) : "x"(abef), "Yz"(wk));
  return cdgh;
}

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* FIPS 180-4 padding into at most 64 blocks. */
static unsigned pad(const unsigned char *m, unsigned len, unsigned char *out) {
  unsigned n = (len + 9 + 63) / 64 * 64;
  memset(out, 0, n);
  memcpy(out, m, len);
  out[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) out[n - 1 - i] = (unsigned char)(bits >> (8 * i));
  return n / 64;
}

static const uint32_t K256[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
static const uint32_t H256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
static const uint32_t H1[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};

static void sha256_ref(const unsigned char *blocks, unsigned nb, uint32_t h[8]) {
  memcpy(h, H256, sizeof H256);
  for (unsigned b = 0; b < nb; b++) {
    uint32_t w[64], v[8];
    for (int t = 0; t < 16; t++) w[t] = be32(blocks + 64 * b + 4 * t);
    for (int t = 16; t < 64; t++) {
      uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3), s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    memcpy(v, h, sizeof v);
    for (int t = 0; t < 64; t++) {
      uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K256[t] + w[t];
      uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
      memmove(v + 1, v, 7 * sizeof v[0]);
      v[4] += t1; v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) h[i] += v[i];
  }
}
static void sha256_insn(const unsigned char *blocks, unsigned nb, uint32_t h[8], int mem) {
  u4 abef = {H256[5], H256[4], H256[1], H256[0]}, cdgh = {H256[7], H256[6], H256[3], H256[2]};
  for (unsigned b = 0; b < nb; b++) {
    u4 msg[16];
    for (int g = 0; g < 4; g++) for (int i = 0; i < 4; i++) msg[g][i] = be32(blocks + 64 * b + 16 * g + 4 * i);
    for (int g = 4; g < 16; g++) {
      u4 w7 = {msg[g - 2][1], msg[g - 2][2], msg[g - 2][3], msg[g - 1][0]};
      msg[g] = sha256msg2(mem, sha256msg1(mem, msg[g - 4], msg[g - 3]) + w7, msg[g - 1]);
    }
    u4 abef0 = abef, cdgh0 = cdgh;
    for (int g = 0; g < 16; g++) {
      u4 k = {K256[4 * g], K256[4 * g + 1], K256[4 * g + 2], K256[4 * g + 3]};
      u4 wk = msg[g] + k, hi = {wk[2], wk[3], 0, 0};
      u4 n = sha256rnds2(mem, cdgh, abef, wk);
      cdgh = abef; abef = n;
      n = sha256rnds2(mem, cdgh, abef, hi);
      cdgh = abef; abef = n;
    }
    abef += abef0; cdgh += cdgh0;
  }
  uint32_t o[8] = {abef[3], abef[2], cdgh[3], cdgh[2], abef[1], abef[0], cdgh[1], cdgh[0]};
  memcpy(h, o, sizeof o);
}
static void sha1_ref(const unsigned char *blocks, unsigned nb, uint32_t h[5]) {
  memcpy(h, H1, sizeof H1);
  for (unsigned b = 0; b < nb; b++) {
    uint32_t w[80], v[5];
    for (int t = 0; t < 16; t++) w[t] = be32(blocks + 64 * b + 4 * t);
    for (int t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    memcpy(v, h, sizeof v);
    for (int t = 0; t < 80; t++) {
      uint32_t f, k;
      if (t < 20) f = (v[1] & v[2]) ^ (~v[1] & v[3]), k = 0x5a827999;
      else if (t < 40) f = v[1] ^ v[2] ^ v[3], k = 0x6ed9eba1;
      else if (t < 60) f = (v[1] & v[2]) ^ (v[1] & v[3]) ^ (v[2] & v[3]), k = 0x8f1bbcdc;
      else f = v[1] ^ v[2] ^ v[3], k = 0xca62c1d6;
      uint32_t t1 = rol(v[0], 5) + f + v[4] + k + w[t];
      v[4] = v[3]; v[3] = v[2]; v[2] = rol(v[1], 30); v[1] = v[0]; v[0] = t1;
    }
    for (int i = 0; i < 5; i++) h[i] += v[i];
  }
}
static void sha1_insn(const unsigned char *blocks, unsigned nb, uint32_t h[5], int mem) {
  u4 abcd = {H1[3], H1[2], H1[1], H1[0]};
  uint32_t e = H1[4];
  for (unsigned b = 0; b < nb; b++) {
    u4 msg[20];
    for (int g = 0; g < 4; g++) for (int i = 0; i < 4; i++) msg[g][3 - i] = be32(blocks + 64 * b + 16 * g + 4 * i);
    for (int g = 4; g < 20; g++) msg[g] = sha1msg2(mem, sha1msg1(mem, msg[g - 4], msg[g - 3]) ^ msg[g - 2], msg[g - 1]);
    u4 abcd0 = abcd, e0 = {0, 0, 0, e};
    u4 prev = abcd;
    abcd = sha1rnds4(mem, abcd, msg[0] + e0, 0);
    for (int g = 1; g < 20; g++) {
      u4 we = sha1nexte(mem, prev, msg[g]);
      prev = abcd;
      abcd = sha1rnds4(mem, abcd, we, g / 5);
    }
    e = sha1nexte(mem, prev, e0)[3];
    abcd += abcd0;
  }
  uint32_t o[5] = {abcd[3], abcd[2], abcd[1], abcd[0], e};
  memcpy(h, o, sizeof o);
}

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

static void hashes(void) {
  static unsigned char msg[300], blocks[64 * 8];
  for (unsigned i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)rnd();
  const char *abc = "abc";
  unsigned lens[] = {0, 3, 55, 56, 64, 119, 300};
  for (unsigned k = 0; k < sizeof lens / sizeof lens[0]; k++) {
    unsigned nb = pad(lens[k] == 3 ? (const unsigned char *)abc : msg, lens[k], blocks);
    uint32_t r1[5], a1[5], b1[5], r2[8], a2[8], b2[8];
    sha1_ref(blocks, nb, r1); sha1_insn(blocks, nb, a1, 0); sha1_insn(blocks, nb, b1, 1);
    sha256_ref(blocks, nb, r2); sha256_insn(blocks, nb, a2, 0); sha256_insn(blocks, nb, b2, 1);
    printf("len %3u%s sha1 ", lens[k], lens[k] == 3 ? " (abc)" : "");
    for (int i = 0; i < 5; i++) printf("%08x", a1[i]);
    printf(" ref %s mem %s; sha256 ", memcmp(a1, r1, sizeof r1) ? "DIFFERS" : "equal", memcmp(b1, r1, sizeof r1) ? "DIFFERS" : "equal");
    for (int i = 0; i < 8; i++) printf("%08x", a2[i]);
    printf(" ref %s mem %s\n", memcmp(a2, r2, sizeof r2) ? "DIFFERS" : "equal", memcmp(b2, r2, sizeof r2) ? "DIFFERS" : "equal");
  }
  /* Single instructions on random operands (imm8 selects f and K; out-of-range dwords). */
  uint32_t sum = 0;
  for (int i = 0; i < 64; i++) {
    u4 a = {rnd() * 7919u, rnd(), rnd() ^ 0x80000000u, rnd()}, b = {rnd(), rnd() * 31u, rnd(), rnd() | 0xf0000000u}, w = {rnd(), rnd(), rnd(), rnd()};
    u4 r[] = {sha1rnds4(i & 1, a, b, i & 3), sha1nexte(i & 1, a, b), sha1msg1(i & 1, a, b), sha1msg2(i & 1, a, b),
              sha256rnds2(i & 1, a, b, w), sha256msg1(i & 1, a, b), sha256msg2(i & 1, a, b)};
    for (unsigned j = 0; j < sizeof r / sizeof r[0]; j++) for (int k = 0; k < 4; k++) sum = rol(sum, 5) ^ r[j][k];
  }
  printf("sha single-instruction checksum %08x\n", sum);
}

static unsigned gfmul_ref(unsigned a, unsigned b) {
  unsigned r = 0;
  for (int i = 0; i < 8; i++) { if (b & 1) r ^= a; b >>= 1; a = a & 0x80 ? ((a << 1) ^ 0x11b) & 0xff : a << 1; }
  return r;
}
#define AFFINE(insn, imm, mem, x, m) ({ u4 _x = (x); if (mem) __asm__(insn " $" #imm ", %1, %0" : "+x"(_x) : "m"(m)); else __asm__(insn " $" #imm ", %1, %0" : "+x"(_x) : "x"(m)); _x; })
static unsigned affine_ref(unsigned x, uint64_t m, unsigned imm) {
  unsigned r = 0;
  for (int bit = 0; bit < 8; bit++) r |= (__builtin_parity((unsigned)((m >> (8 * (7 - bit))) & 0xff) & x) ^ ((imm >> bit) & 1)) << bit;
  return r;
}
static void gfni(void) {
  unsigned bad = 0, n = 0;
  for (unsigned a = 0; a < 256; a += 16) for (unsigned b = 0; b < 256; b++) {
    union { u4 v; unsigned char c[16]; } x, y, r;
    for (int i = 0; i < 16; i++) { x.c[i] = (unsigned char)(a + i); y.c[i] = (unsigned char)(b ^ (i * 37)); }
    r.v = gfmulb((a >> 4) & 1, x.v, y.v);
    for (int i = 0; i < 16; i++, n++) bad += r.c[i] != gfmul_ref(x.c[i], y.c[i]);
  }
  printf("gf2p8mulb: %u products, %u differ from the reference\n", n, bad);
  /* The AES S-box: the inverse, then the affine map (matrix 0xf1e3c78f1f3e7cf8, constant 0x63). */
  union { u4 v; uint64_t q[2]; unsigned char c[16]; } m, x, r;
  m.q[0] = m.q[1] = 0xf1e3c78f1f3e7cf8ull;
  printf("aes sbox[0..31]:");
  for (int blk = 0; blk < 2; blk++) {
    for (int i = 0; i < 16; i++) x.c[i] = (unsigned char)(16 * blk + i);
    r.v = AFFINE("gf2p8affineinvqb", 0x63, blk, x.v, m.v);
    for (int i = 0; i < 16; i++) printf(" %02x", r.c[i]);
  }
  printf("\n");
  bad = 0; n = 0;
  uint32_t sum = 0;
  for (int t = 0; t < 200; t++) {
    for (int i = 0; i < 4; i++) ((uint32_t *)&m)[i] = rnd() ^ (rnd() << 16);
    for (int i = 0; i < 16; i++) x.c[i] = (unsigned char)rnd();
    r.v = t & 1 ? AFFINE("gf2p8affineqb", 0xa5, t & 2, x.v, m.v) : AFFINE("gf2p8affineqb", 0, t & 2, x.v, m.v);
    for (int i = 0; i < 16; i++, n++) bad += r.c[i] != affine_ref(x.c[i], m.q[i / 8], t & 1 ? 0xa5 : 0);
    r.v = AFFINE("gf2p8affineinvqb", 0x1c, t & 2, x.v, m.v);
    for (int i = 0; i < 16; i++) sum = rol(sum, 3) ^ r.c[i];
  }
  printf("gf2p8affineqb: %u bytes, %u differ from the reference; gf2p8affineinvqb checksum %08x\n", n, bad, sum);
}

static void clmul_ref(uint64_t a, uint64_t b, uint64_t r[2]) {
  r[0] = r[1] = 0;
  for (int i = 0; i < 64; i++) if ((b >> i) & 1) { r[0] ^= a << i; if (i) r[1] ^= a >> (64 - i); }
}
#define CLMUL(imm, mem, x, y) ({ u4 _x = (x); if (mem) __asm__("pclmulqdq $" #imm ", %1, %0" : "+x"(_x) : "m"(y)); else __asm__("pclmulqdq $" #imm ", %1, %0" : "+x"(_x) : "x"(y)); _x; })
static void pclmul(void) {
  unsigned bad = 0, n = 0;
  for (int t = 0; t < 100; t++) {
    union { u4 v; uint64_t q[2]; } x, y, r[4];
    for (int i = 0; i < 2; i++) { x.q[i] = (uint64_t)rnd() << 40 ^ (uint64_t)rnd() << 20 ^ rnd(); y.q[i] = (uint64_t)rnd() << 41 ^ (uint64_t)rnd() << 17 ^ rnd(); }
    if (t == 0) x.q[0] = y.q[1] = ~0ull;
    r[0].v = CLMUL(0x00, t & 1, x.v, y.v); r[1].v = CLMUL(0x01, t & 1, x.v, y.v); r[2].v = CLMUL(0x10, t & 1, x.v, y.v); r[3].v = CLMUL(0x11, t & 1, x.v, y.v);
    for (int s = 0; s < 4; s++, n++) {
      uint64_t e[2];
      clmul_ref(x.q[s & 1], y.q[s >> 1], e);
      bad += r[s].q[0] != e[0] || r[s].q[1] != e[1];
    }
    if (t < 2) printf("pclmulqdq $0x11 %016llx x %016llx = %016llx%016llx\n", (unsigned long long)x.q[1], (unsigned long long)y.q[1], (unsigned long long)r[3].q[1], (unsigned long long)r[3].q[0]);
  }
  printf("pclmulqdq: %u products, %u differ from the reference\n", n, bad);
}

static sigjmp_buf jb;
static void on_segv(int sig) { (void)sig; siglongjmp(jb, 1); }
/* A misaligned m128 operand: the SDM's Exceptions Type 4 (#GP for legacy SSE). */
static void misaligned(int sha, int gfni_ok, int clmul) {
  static unsigned char buf[64] __attribute__((aligned(16)));
  struct sigaction sa = {0};
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, 0);
  const unsigned char *p = buf + 4;
#define TRY(ok, name, asm_text) do { if (ok) { if (sigsetjmp(jb, 1)) printf("%s m128 at +4: SIGSEGV\n", name); else { __asm__ volatile(asm_text :: "r"(p) : "xmm1"); printf("%s m128 at +4: ran\n", name); } } } while (0)
  TRY(sha, "sha1rnds4", "sha1rnds4 $1, (%0), %%xmm1");
  TRY(sha, "sha1nexte", "sha1nexte (%0), %%xmm1");
  TRY(sha, "sha1msg1", "sha1msg1 (%0), %%xmm1");
  TRY(sha, "sha1msg2", "sha1msg2 (%0), %%xmm1");
  TRY(sha, "sha256rnds2", "sha256rnds2 (%0), %%xmm1");
  TRY(sha, "sha256msg1", "sha256msg1 (%0), %%xmm1");
  TRY(sha, "sha256msg2", "sha256msg2 (%0), %%xmm1");
  TRY(gfni_ok, "gf2p8mulb", "gf2p8mulb (%0), %%xmm1");
  TRY(gfni_ok, "gf2p8affineqb", "gf2p8affineqb $0, (%0), %%xmm1");
  TRY(gfni_ok, "gf2p8affineinvqb", "gf2p8affineinvqb $0, (%0), %%xmm1");
  TRY(clmul, "pclmulqdq", "pclmulqdq $0, (%0), %%xmm1");
  /* AMD's misaligned SSE mode (MXCSR.MM, bit 17; CPUID 0x80000001 ECX[7] MisAlignSse): no #GP. */
  if (has_bit(0x80000001, 0, 2, 7)) {
    unsigned mm = 0x1f80 | 1u << 17, dflt = 0x1f80;
    __asm__ volatile("ldmxcsr %0" :: "m"(mm));
    TRY(gfni_ok, "MXCSR.MM gf2p8mulb", "gf2p8mulb (%0), %%xmm1");
    TRY(gfni_ok, "MXCSR.MM gf2p8affineinvqb", "gf2p8affineinvqb $0, (%0), %%xmm1");
    TRY(clmul, "MXCSR.MM pclmulqdq", "pclmulqdq $0, (%0), %%xmm1");
    TRY(sha, "MXCSR.MM sha256msg2", "sha256msg2 (%0), %%xmm1");
    __asm__ volatile("ldmxcsr %0" :: "m"(dflt));
  } else printf("MisAlignSse: not available, MXCSR.MM not tried\n");
  signal(SIGSEGV, SIG_DFL);
}

/* Bits 255:128 of ymm1 after each legacy write of xmm1 (SDM Vol. 1 14.1.3: unchanged). */
static void upper(int sha, int gfni_ok, int clmul) {
  static const unsigned char ones[32] __attribute__((aligned(32))) = {
    0xa5, 0xa5, 0xa5, 0xa5, 0x5a, 0x5a, 0x5a, 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 0xde, 0xad, 0xbe, 0xef, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  unsigned char hi[16], lo[16];
#define UP(ok, name, insn) do { if (ok) { \
    __asm__ volatile("vmovdqu %2, %%ymm1\n\tvmovdqu %2, %%ymm2\n\tvpxor %%xmm0, %%xmm0, %%xmm0\n\t" insn "\n\tvextracti128 $1, %%ymm1, %0\n\tvmovdqu %%xmm1, %1\n\tvzeroupper" \
                     : "=m"(hi), "=m"(lo) : "m"(ones) : "xmm0", "xmm1", "xmm2"); \
    printf("%-16s ymm1[255:128] %s, xmm1 ", name, memcmp(hi, ones + 16, 16) ? "CHANGED" : "kept"); \
    for (int i = 0; i < 16; i++) printf("%02x", lo[i]); \
    printf("\n"); } } while (0)
  UP(sha, "sha1rnds4", "sha1rnds4 $2, %%xmm2, %%xmm1");
  UP(sha, "sha1nexte", "sha1nexte %%xmm2, %%xmm1");
  UP(sha, "sha1msg1", "sha1msg1 %%xmm2, %%xmm1");
  UP(sha, "sha1msg2", "sha1msg2 %%xmm2, %%xmm1");
  UP(sha, "sha256rnds2", "sha256rnds2 %%xmm2, %%xmm1");
  UP(sha, "sha256msg1", "sha256msg1 %%xmm2, %%xmm1");
  UP(sha, "sha256msg2", "sha256msg2 %%xmm2, %%xmm1");
  UP(gfni_ok, "gf2p8mulb", "gf2p8mulb %%xmm2, %%xmm1");
  UP(gfni_ok, "gf2p8affineqb", "gf2p8affineqb $0x63, %%xmm2, %%xmm1");
  UP(gfni_ok, "gf2p8affineinvqb", "gf2p8affineinvqb $0x63, %%xmm2, %%xmm1");
  UP(clmul, "pclmulqdq", "pclmulqdq $0x10, %%xmm2, %%xmm1");
}

int main(void) {
  int sha = has_bit(7, 0, 1, 29), gfni_ok = has_bit(7, 0, 2, 8), clmul = has_bit(1, 0, 2, 1);
  printf("CPUID: SHA %d GFNI %d PCLMULQDQ %d\n", sha, gfni_ok, clmul);
  if (sha) hashes(); else printf("SHA: not available on this CPU, not run\n");
  if (gfni_ok) gfni(); else printf("GFNI: not available on this CPU, not run\n");
  if (clmul) pclmul(); else printf("PCLMULQDQ: not available on this CPU, not run\n");
  misaligned(sha, gfni_ok, clmul);
  if (os_avx2()) upper(sha, gfni_ok, clmul); else printf("AVX2: not available, upper bits not checked\n");
  return 0;
}
