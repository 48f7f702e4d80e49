/* A PT_TLS segment of 2^40 bytes (never accessed: a local-exec offset cannot reach it): musl's
 * static start (__init_tls) maps the TLS with mmap, which Linux refuses with ENOMEM (a private
 * writable mapping larger than RAM + swap, mm/util.c __vm_enough_memory), and musl then crashes
 * (a_crash). What the exec test compares: the guest's end, never an engine error. */
#include <stdio.h>
__attribute__((used)) static __thread char huge[1UL << 40];
int main(void) {
  printf("TLS mapped\n");
  return 0;
}
