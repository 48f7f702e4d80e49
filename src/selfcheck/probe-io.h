/* Record I/O shared by the xstate-lab host probes: whole reads and writes on stdin/stdout. */
#ifndef XSTATE_LAB_PROBE_IO_H
#define XSTATE_LAB_PROBE_IO_H
#include <stdlib.h>
#include <unistd.h>

/* Read exactly n bytes; 0 at end of input. */
static int read_full(void *p, size_t n) {
  size_t got = 0;
  while (got < n) { ssize_t r = read(0, (char *)p + got, n - got); if (r <= 0) return 0; got += (size_t)r; }
  return 1;
}

/* Write exactly n bytes or exit(3). */
static void write_full(const void *p, size_t n) {
  size_t put = 0;
  while (put < n) { ssize_t r = write(1, (const char *)p + put, n - put); if (r <= 0) exit(3); put += (size_t)r; }
}
#endif
