/* sleep: sleeps N times for MS milliseconds with nanosleep, which wasi-libc implements with
 * poll_oneoff and a relative clock subscription.
 *
 *   sleep [N [MS]]   defaults: 5 x 100 ms
 *
 * Stdout (deterministic): "slept N x MS ms". Stderr: "elapsed_ms: <measured>".
 * Exit codes: 0 the sleeps took at least 90% of N x MS by CLOCK_MONOTONIC; 1 a nanosleep failed
 * or returned early (poll_oneoff not waiting). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
  const long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
  const double start = now_ms();
  for (long i = 0; i < n; ++i) {
    struct timespec req = {ms / 1000, (ms % 1000) * 1000000L};
    if (nanosleep(&req, NULL) != 0) {
      printf("nanosleep failed (errno %d)\n", errno);
      return 1;
    }
  }
  const double elapsed = now_ms() - start;
  printf("slept %ld x %ld ms\n", n, ms);
  fflush(stdout);
  fprintf(stderr, "elapsed_ms: %.3f\n", elapsed);
  if (elapsed < 0.9 * (double)(n * ms)) {
    printf("returned early: %.3f ms\n", elapsed);
    return 1;
  }
  return 0;
}
