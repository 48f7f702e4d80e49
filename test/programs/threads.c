/* pthreads: workers with a mutex, a condition variable, a barrier, pthread_once, thread-local
 * storage and return values; the output is printed after the joins, so it does not depend on
 * the schedule. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define NT 4
#define ITER 2000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static long counter, ready, once_runs;
static __thread long tls_value = 7;
static double partial[NT];

static void init_once(void) { once_runs++; }

static void *worker(void *arg) {
  long id = (long)arg;
  pthread_once(&once, init_once);
  tls_value += id * 100;
  for (int i = 0; i < ITER; i++) { pthread_mutex_lock(&mu); counter++; pthread_mutex_unlock(&mu); }
  /* Floating point per thread: each thread's x87/SSE state is its own. */
  double s = 0;
  for (int i = 1; i <= 5000; i++) s += 1.0 / ((double)i * (double)(i + id));
  partial[id] = s;
  pthread_barrier_wait(&bar);
  pthread_mutex_lock(&mu);
  ready++;
  pthread_cond_broadcast(&cv);
  while (ready < NT) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return (void *)(intptr_t)(tls_value * 2);
}

int main(void) {
  pthread_t t[NT];
  pthread_barrier_init(&bar, 0, NT);
  for (long i = 0; i < NT; i++) if (pthread_create(&t[i], 0, worker, (void *)i)) { puts("pthread_create failed"); return 1; }
  long rets = 0;
  for (int i = 0; i < NT; i++) { void *r; pthread_join(t[i], &r); rets += (long)(intptr_t)r; }
  printf("counter %ld (expected %d), once ran %ld time(s), returned sum %ld, main's tls %ld\n", counter, NT * ITER, once_runs, rets, tls_value);
  for (int i = 0; i < NT; i++) printf("thread %d: partial %.17g\n", i, partial[i]);
  return counter == NT * ITER ? 0 : 1;
}
