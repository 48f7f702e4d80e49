/* The x87 last-instruction pointers (FOP, FIP, FDP, FCS, FDS) as each save stores them: FXSAVE64,
 * FXSAVE (32-bit form), XSAVE64, XSAVEOPT64, XSAVEC64, FNSTENV and FNSAVE, after x87 code that
 * leaves a masked exception flag (FSW.ES = 0) and after FLDCW unmasks it (ES = 1). FIP and FDP are
 * printed relative to labels and data, so the output does not depend on where the program sits. */
#include "guest.h"
#include <string.h>

double x87_data[2] = {2.5, 4.0};
unsigned short x87_cw_default = 0x037f, x87_cw_unmask_ze = 0x037b; /* ZM (bit 2) clear: ZE unmasked */
unsigned long x87_stack_at;
static unsigned char area[4096] __attribute__((aligned(64)));

/* The x87 code of each case; `SAVE` stores into [rdi] (EDX:EAX = 3: x87 | SSE for the XSAVE family). */
#define MASKED(SAVE) \
  "fninit\n\t" \
  "fld qword ptr [rip + x87_data]\n\t" \
  "fldz\n\t" \
  "masked_div%=:\n\t" \
  "fdivp st(1), st\n\t"          /* 2.5 / 0, ZE masked: FSW 3804H */ \
  SAVE "\n\t"
#define UNMASKED(SAVE) \
  "fninit\n\t" \
  "fld qword ptr [rip + x87_data]\n\t" \
  "fldz\n\t" \
  "fdivp st(1), st\n\t" \
  "unmasked_load%=:\n\t" \
  "fld qword ptr [rip + x87_data + 8]\n\t" \
  "fldcw [rip + x87_cw_unmask_ze]\n\t" /* ZE pending and now unmasked: ES = 1 */ \
  SAVE "\n\t"
#define STACK(SAVE) \
  "fninit\n\t" \
  "fld qword ptr [rip + x87_data]\n\t" \
  "fldz\n\t" \
  "fdivp st(1), st\n\t" \
  "mov rax, 0x4004000000000000\n\t" \
  "mov [rsp - 8], rax\n\t" \
  "lea rax, [rsp - 8]\n\t" \
  "mov [rip + x87_stack_at], rax\n\t" \
  "mov eax, 3\n\t" \
  "stack_load%=:\n\t" \
  "fld qword ptr [rsp - 8]\n\t"     /* an SS operand */ \
  "fldcw [rip + x87_cw_unmask_ze]\n\t" \
  SAVE "\n\t"
/* Leave the x87 unit clean for the C code that follows. */
#define CLEAN "fnclex\n\tfldcw [rip + x87_cw_default]\n\tfninit\n\t"

unsigned long label_at;
/* Runs one case: `body` with label `lbl%=` whose address lands in label_at. */
#define RUN(body, lbl) \
  do { \
    unsigned long rfbm = 3; \
    memset(area, 0, sizeof area); \
    __asm__ volatile(".intel_syntax noprefix\n\t" \
                     "lea rcx, [rip + " lbl "%=]\n\t" \
                     "mov [rip + label_at], rcx\n\t" \
                     body CLEAN ".att_syntax prefix" \
                     : "+a"(rfbm) : "D"(area), "d"(0) : "rcx", "memory", "cc"); \
  } while (0)

static const char *rel(unsigned long v, unsigned long label, unsigned bits) {
  static char s[4][64];
  static int k;
  char *o = s[k++ & 3];
  unsigned long mask = bits == 64 ? ~0ul : (1ul << bits) - 1;
  unsigned long data = (unsigned long)x87_data;
  if (v == 0) return "0";
  if (v == (label & mask)) return "label";
  if (v >= (data & mask) && v < ((data + sizeof x87_data) & mask)) { sprintf(o, "data+%lu", v - (data & mask)); return o; }
  if (v == (x87_stack_at & mask)) return "stack operand";
  sprintf(o, "unknown (%s label)", v > (label & mask) ? "after" : "before");
  return o;
}

static unsigned u16(const unsigned char *p) { return p[0] | p[1] << 8; }
static unsigned u32(const unsigned char *p) { return u16(p) | (unsigned)u16(p + 2) << 16; }
static unsigned long u64(const unsigned char *p) { return u32(p) | (unsigned long)u32(p + 4) << 32; }

/* The legacy region of FXSAVE/XSAVE* (SDM Vol. 1 Table 10-2). */
static void show_fx(const char *what, int rexw) {
  const unsigned char *a = area;
  printf("  %-11s FCW %04x FSW %04x FTW %02x FOP %03x", what, u16(a), u16(a + 2), a[4], u16(a + 6));
  if (rexw) printf(" FIP %s FDP %s\n", rel(u64(a + 8), label_at, 64), rel(u64(a + 16), label_at, 64));
  else printf(" FIP %s FCS %04x FDP %s FDS %04x\n", rel(u32(a + 8), label_at, 32), u16(a + 12), rel(u32(a + 16), label_at, 32), u16(a + 20));
}

/* The 28-byte environment of FNSTENV/FNSAVE (SDM Vol. 1 Figure 8-9), reserved words included. */
static void show_env_at(const char *what, const unsigned char *a) {
  printf("  %-11s FCW %08x FSW %08x FTW %08x FOP %03x FCS %04x FIP %s FDP %s FDS %08x", what, u32(a), u32(a + 4), u32(a + 8),
         (u32(a + 16) >> 16) & 0x7ff, u16(a + 16), rel(u32(a + 12), label_at, 32), rel(u32(a + 20), label_at, 32), u32(a + 24));
  printf(" bits31:27 %x\n", u32(a + 16) >> 27);
}
static void show_env(const char *what) { show_env_at(what, area); }

/* Restore the image in `area` (its FCW set to mask everything, so FSW.ES = 0), then FNSTENV to area + 1024. */
static void restore_then_fnstenv(int xrstor) {
  area[0] = 0x7f; area[1] = 0x03;
  unsigned long rfbm = 3;
  if (xrstor) __asm__ volatile(".intel_syntax noprefix\n\txrstor64 [rdi]\n\tfnstenv [rdi + 1024]\n\t" CLEAN ".att_syntax prefix" : "+a"(rfbm) : "D"(area), "d"(0) : "memory");
  else __asm__ volatile(".intel_syntax noprefix\n\tfxrstor64 [rdi]\n\tfnstenv [rdi + 1024]\n\t" CLEAN ".att_syntax prefix" : "+a"(rfbm) : "D"(area), "d"(0) : "memory");
}

int main(void) {
  unsigned r1[4];
  cpuid2(0xd, 1, r1);
  int xsave = has_bit(1, 0, 2, 27), xsaveopt = xsave && (r1[0] & 1), xsavec = xsave && (r1[0] & 2);

  printf("masked ZE (FSW.ES = 0), pointers of FDIVP; FDP from the FLD before it:\n");
  RUN(MASKED("fxsave64 [rdi]"), "masked_div"); show_fx("FXSAVE64", 1);
  RUN(MASKED("fxsave [rdi]"), "masked_div"); show_fx("FXSAVE", 0);
  if (xsave) { RUN(MASKED("xsave64 [rdi]"), "masked_div"); show_fx("XSAVE64", 1); } else printf("  XSAVE not available: skipped\n");
  if (xsave) { RUN(MASKED("xsave [rdi]"), "masked_div"); show_fx("XSAVE", 0); }
  if (xsaveopt) { RUN(MASKED("xsaveopt64 [rdi]"), "masked_div"); show_fx("XSAVEOPT64", 1); } else printf("  XSAVEOPT not available: skipped\n");
  if (xsavec) { RUN(MASKED("xsavec64 [rdi]"), "masked_div"); show_fx("XSAVEC64", 1); } else printf("  XSAVEC not available: skipped\n");
  RUN(MASKED("fnstenv [rdi]"), "masked_div"); show_env("FNSTENV");
  RUN(MASKED("fnsave [rdi]"), "masked_div"); show_env("FNSAVE");

  printf("unmasked ZE after FLDCW (FSW.ES = 1), pointers of the FLD after FDIVP:\n");
  RUN(UNMASKED("fxsave64 [rdi]"), "unmasked_load"); show_fx("FXSAVE64", 1);
  RUN(UNMASKED("fxsave [rdi]"), "unmasked_load"); show_fx("FXSAVE", 0);
  if (xsave) { RUN(UNMASKED("xsave64 [rdi]"), "unmasked_load"); show_fx("XSAVE64", 1); }
  if (xsave) { RUN(UNMASKED("xsave [rdi]"), "unmasked_load"); show_fx("XSAVE", 0); }
  if (xsaveopt) { RUN(UNMASKED("xsaveopt64 [rdi]"), "unmasked_load"); show_fx("XSAVEOPT64", 1); }
  if (xsavec) { RUN(UNMASKED("xsavec64 [rdi]"), "unmasked_load"); show_fx("XSAVEC64", 1); }
  RUN(UNMASKED("fnstenv [rdi]"), "unmasked_load"); show_env("FNSTENV");
  RUN(UNMASKED("fnsave [rdi]"), "unmasked_load"); show_env("FNSAVE");

  printf("unmasked, the FLD reads a stack (SS) operand:\n");
  RUN(STACK("fxsave [rdi]"), "stack_load"); show_fx("FXSAVE", 0);
  RUN(STACK("fxsave64 [rdi]"), "stack_load"); show_fx("FXSAVE64", 1);
  RUN(STACK("fnstenv [rdi]"), "stack_load"); show_env("FNSTENV");

  printf("FXRSTOR64 / XRSTOR64 of an image with pointers and FSW.ES = 0, then FNSTENV:\n");
  RUN(UNMASKED("fxsave64 [rdi]"), "unmasked_load");
  restore_then_fnstenv(0); show_env_at("FXRSTOR64", area + 1024);
  if (xsave) { RUN(UNMASKED("xsave64 [rdi]"), "unmasked_load"); restore_then_fnstenv(1); show_env_at("XRSTOR64", area + 1024); }

  printf("FNOP sets the pointers (FDP stays the FLD's); control instructions after it leave them; FNINIT clears them:\n");
  RUN("fninit\n\tfld qword ptr [rip + x87_data + 8]\n\tfld1\n\tcontrol%=:\n\tfnop\n\t"
      "fnstsw ax\n\tfnstcw [rdi + 512]\n\tfldcw [rdi + 512]\n\tfnclex\n\tfwait\n\tfnstenv [rdi]\n\t", "control");
  show_env("FNOP, ...");
  RUN("fninit\n\tfld qword ptr [rip + x87_data + 8]\n\tcontrol%=:\n\tfld1\n\tfninit\n\tfnstenv [rdi]\n\t", "control");
  show_env("FNINIT");
  return 0;
}
