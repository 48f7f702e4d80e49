/* Record I/O shared by the xstate-lab host probes: whole reads and writes on stdin/stdout. */
#ifndef XSTATE_LAB_PROBE_IO_H
#define XSTATE_LAB_PROBE_IO_H
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read exactly n bytes; 0 at end of input. */
static inline int read_full(void *p, size_t n) {
  size_t got = 0;
  while (got < n) { ssize_t r = read(0, (char *)p + got, n - got); if (r <= 0) return 0; got += (size_t)r; }
  return 1;
}

/* Write exactly n bytes or exit(3). */
static inline void write_full(const void *p, size_t n) {
  size_t put = 0;
  while (put < n) { ssize_t r = write(1, (const char *)p + put, n - put); if (r <= 0) exit(3); put += (size_t)r; }
}

/* Send the faults an instruction under test can raise (#GP, #UD, #AC, #MF/#XM) to `handler`,
   which siglongjmps back; SA_NODEFER so the next case can fault again. */
static inline void catch_faults(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
}
#endif
