/* printf, argv, malloc, qsort, snprintf and the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv) {
  printf("hello, world: argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  int n = 1000, *v = malloc(n * sizeof *v);
  for (int i = 0; i < n; i++) v[i] = (i * 7919) % 1009;
  qsort(v, n, sizeof *v, cmp);
  long sum = 0;
  for (int i = 0; i < n; i++) sum += (long)v[i] * i;
  char buf[128];
  snprintf(buf, sizeof buf, "%s|%5d|%-5x|%08.3f|%e", "fmt", 42, 255, 3.14159, 6.02e23);
  printf("sorted first %d last %d weighted %ld\n%s (len %zu)\n", v[0], v[n - 1], sum, buf, strlen(buf));
  char *big = malloc(1 << 20);
  memset(big, 'x', 1 << 20);
  big = realloc(big, 3 << 20);
  printf("big %c %c\n", big[0], big[(1 << 20) - 1]);
  free(big);
  free(v);
  return 3;
}
