/*
 * xstate-lab native probe for the core-dump writer: restores the XSAVE image in the file named by
 * argv[1] (standard format, RFBM all ones) and, in the same asm block, kills itself with SIGABRT,
 * so that the kernel dumps a core with exactly that extended state (run it with a core size limit
 * and a plain core_pattern; the caller checks both).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "probe-io.h"

static uint8_t image[16384] __attribute__((aligned(64)));

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: core-probe IMAGE\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  size_t n = fread(image, 1, sizeof image, f);
  fclose(f);
  if (n < 576) { fprintf(stderr, "image too short\n"); return 2; }
  request_amx_permission();
  __asm__ volatile(
      "mov $-1, %%eax\n\tmov $-1, %%edx\n\txrstor64 (%0)\n\t"
      "mov $39, %%eax\n\tsyscall\n\t"            /* getpid */
      "mov %%rax, %%rdi\n\tmov $6, %%esi\n\t"    /* SIGABRT */
      "mov $62, %%eax\n\tsyscall\n\t"            /* kill */
      : : "r"(image) : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "memory");
  return 3; /* not reached */
}
