/* The extended-state part of a signal frame (Linux arch/x86/kernel/fpu/signal.c): set vector,
 * opmask and PKRU state in one asm block, raise SIGUSR1 with tgkill from inside it, and print
 * what the handler finds: uc_flags, the fpstate's alignment, the sw bytes at 464, XSTATE_BV and
 * XCOMP_BV, magic2 after xstate_size, and the register values at their standard offsets (CPUID
 * leaf 0xD); then the state the handler starts with and what sigreturn gives back. */
#include "guest.h"
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

static unsigned char frame[16384];
static unsigned long uc_flags, fp_align, frame_bytes;
static uint64_t entry_xinuse;
static uint32_t entry_pkru, entry_mxcsr;
static int pku;

static uint32_t rdpkru(void) { uint32_t a, d; __asm__ volatile("xor %%ecx,%%ecx; rdpkru" : "=a"(a), "=d"(d) : : "rcx"); return a; }

static void on_usr1(int s, siginfo_t *si, void *ctx) {
  (void)s; (void)si;
  entry_xinuse = xgetbv(1);
  __asm__ volatile("stmxcsr %0" : "=m"(entry_mxcsr));
  if (pku) entry_pkru = rdpkru();
  ucontext_t *uc = ctx;
  const unsigned char *fp = (const unsigned char *)uc->uc_mcontext.fpregs;
  uc_flags = uc->uc_flags;
  fp_align = (unsigned long)fp % 64;
  uint32_t xsize; memcpy(&xsize, fp + 464 + 16, 4);
  uint32_t magic1; memcpy(&magic1, fp + 464, 4);
  frame_bytes = magic1 == 0x46505853 && xsize + 4 <= sizeof frame ? xsize + 4 : 512;
  memcpy(frame, fp, frame_bytes);
}

static uint32_t u32(unsigned o) { uint32_t v; memcpy(&v, frame + o, 4); return v; }
static uint64_t u64(unsigned o) { uint64_t v; memcpy(&v, frame + o, 8); return v; }
static unsigned off(unsigned c) { unsigned r[4]; cpuid2(0xd, c, r); return r[1]; }

int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  int tid = (int)syscall(SYS_gettid);
  int avx2 = os_avx2(), avx512 = os_avx512();
  pku = has_bit(7, 0, 2, 4);
  static uint8_t ymm_in[32], zmm_in[64], z17_in[64], ymm_out[32], zmm_out[64], z17_out[64];
  for (int i = 0; i < 64; i++) { zmm_in[i] = 0x40 + i; z17_in[i] = 0x90 + i; if (i < 32) ymm_in[i] = 0x10 + i; }
  uint64_t k3_in = 0x1122334455667788ull, k3_out = 0;
  uint32_t pkru_in = 0x0c, pkru_out = 0, mx_in = 0x3f80, mx_out = 0, def = 0x1f80;
  if (avx512) {
    __asm__ volatile("ldmxcsr %[mx]\n\t"
                     "vmovdqu64 %[z], %%zmm3\n\tvmovdqu64 %[z17], %%zmm17\n\tkmovq %[k], %%k3\n\t"
                     "test %[pku], %[pku]\n\tjz 1f\n\tmov %[pk], %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru\n1:\n\t"
                     "mov $200, %%eax\n\tmov %[tid], %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
                     "vmovdqu64 %%zmm3, %[zo]\n\tvmovdqu64 %%zmm17, %[z17o]\n\tkmovq %%k3, %[ko]\n\tstmxcsr %[mxo]\n\t"
                     "test %[pku], %[pku]\n\tjz 2f\n\txor %%ecx, %%ecx\n\trdpkru\n\tmov %%eax, %[pko]\n\t"
                     "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $0x55555554, %%eax\n\twrpkru\n2:\n\t"
                     "ldmxcsr %[def]\n\tvzeroupper"
                     : [zo] "=m"(zmm_out), [z17o] "=m"(z17_out), [ko] "=m"(k3_out), [mxo] "=m"(mx_out), [pko] "=m"(pkru_out)
                     : [z] "m"(zmm_in), [z17] "m"(z17_in), [k] "m"(k3_in), [pk] "r"(pkru_in), [pku] "r"(pku), [tid] "r"(tid), [mx] "m"(mx_in), [def] "m"(def)
                     : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "xmm3", "memory");
  } else if (avx2) {
    __asm__ volatile("ldmxcsr %[mx]\n\tvmovdqu %[y], %%ymm3\n\t"
                     "mov $200, %%eax\n\tmov %[tid], %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
                     "vmovdqu %%ymm3, %[yo]\n\tstmxcsr %[mxo]\n\tldmxcsr %[def]\n\tvzeroupper"
                     : [yo] "=m"(ymm_out), [mxo] "=m"(mx_out) : [y] "m"(ymm_in), [tid] "r"(tid), [mx] "m"(mx_in), [def] "m"(def)
                     : "rax", "rcx", "rdi", "rsi", "r11", "xmm3", "memory");
  } else {
    printf("AVX2: not available, nothing run\n");
    return 0;
  }
  printf("uc_flags 0x%lx, fpstate %% 64 = %lu, bytes copied %lu\n", uc_flags, fp_align, frame_bytes);
  printf("sw bytes: magic1 %08x extended_size %u xfeatures 0x%llx xstate_size %u\n", u32(464), u32(468), (unsigned long long)u64(472), u32(480));
  printf("header: XSTATE_BV 0x%llx XCOMP_BV 0x%llx\n", (unsigned long long)u64(512), (unsigned long long)u64(520));
  unsigned xs = u32(480);
  if (xs + 4 <= frame_bytes) printf("magic2 at %u: %08x\n", xs, u32(xs));
  printf("FCW %04x MXCSR %08x\n", frame[0] | frame[1] << 8, u32(24));
  hexdump("xmm3 (legacy area 208)", frame + 160 + 3 * 16, 16);
  if (u64(512) & 4) hexdump("ymm3 upper (AVX)", frame + off(2) + 3 * 16, 16);
  if (avx512) {
    if (u64(512) & 0x20) printf("k3 %016llx\n", (unsigned long long)u64(off(5) + 3 * 8));
    if (u64(512) & 0x40) hexdump("zmm3 bits 511:256 (ZMM_Hi256)", frame + off(6) + 3 * 32, 32);
    if (u64(512) & 0x80) hexdump("zmm17 (Hi16_ZMM)", frame + off(7) + 1 * 64, 64);
  }
  if (pku && (u64(512) & 0x200)) printf("PKRU in frame %08x\n", u32(off(9)));
  printf("handler entry: XINUSE & 0x2e7 = 0x%llx, MXCSR %08x", (unsigned long long)(entry_xinuse & 0x2e7), entry_mxcsr);
  if (pku) printf(", PKRU %08x", entry_pkru);
  printf("\nafter sigreturn: MXCSR %08x", mx_out);
  if (pku && avx512) printf(", PKRU %08x", pkru_out);
  printf("\n");
  if (avx512) {
    printf("zmm3 %s, zmm17 %s, k3 %016llx\n", memcmp(zmm_in, zmm_out, 64) ? "changed" : "as set", memcmp(z17_in, z17_out, 64) ? "changed" : "as set", (unsigned long long)k3_out);
  } else {
    printf("ymm3 %s\n", memcmp(ymm_in, ymm_out, 32) ? "changed" : "as set");
  }
  return 0;
}
