/* Guest for aot_bench: the same C runs natively (gcc -O2) and as wasm32-wasi through the AOT tier.
 *   bench_guest fib N      recursive Fibonacci: call-heavy, no loops
 *   bench_guest sha256 MB  SHA-256 over MB MiB of generated data: loop- and arithmetic-heavy
 *   bench_guest sort N     quicksort of N pseudo-random int32: loops, branches, memory traffic
 * Prints "<name> <n> result=<checksum> ms=<work time>"; the time covers the work only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double g_work_ms;  /* the timed part only: setup (data generation) is left out */

static double now_ms(void) {
  struct timespec ts;
  /* CPU time, not wall time: the benchmark machines are shared, and contention inflates wall
   * time far more than the CPU time the work itself takes. */
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((noinline)) static uint32_t fib(uint32_t n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static const uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  }
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static uint32_t sha256_mb(int mb) {
  const size_t n = (size_t)mb << 20;
  uint8_t* data = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) data[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const double t0 = now_ms();
  for (size_t off = 0; off < n; off += 64) sha256_block(h, data + off);
  const double t1 = now_ms();
  free(data);
  g_work_ms = t1 - t0;
  return h[0] ^ h[7];
}

static void quicksort(int32_t* a, long lo, long hi) {
  while (lo < hi) {
    const int32_t pivot = a[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) ++i;
      while (a[j] > pivot) --j;
      if (i <= j) {
        const int32_t t = a[i]; a[i] = a[j]; a[j] = t;
        ++i; --j;
      }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}

static uint32_t sort_n(long n) {
  int32_t* a = malloc((size_t)n * sizeof *a);
  uint32_t x = 777;
  for (long i = 0; i < n; ++i) a[i] = (int32_t)(x = x * 1664525u + 1013904223u);
  const double t0 = now_ms();
  quicksort(a, 0, n - 1);
  const double t1 = now_ms();
  uint32_t sum = 0;
  for (long i = 0; i < n; i += 1 + n / 1000) sum = sum * 31 + (uint32_t)a[i];
  free(a);
  g_work_ms = t1 - t0;
  return sum;
}

int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "fib";
  const long n = argc > 2 ? atol(argv[2]) : 30;
  uint32_t result = 0;
  if (strcmp(which, "fib") == 0) {
    const double t0 = now_ms();
    result = fib((uint32_t)n);
    g_work_ms = now_ms() - t0;
  } else if (strcmp(which, "sha256") == 0) {
    result = sha256_mb((int)n);
  } else if (strcmp(which, "sort") == 0) {
    result = sort_n(n);
  } else {
    fprintf(stderr, "unknown benchmark %s\n", which);
    return 2;
  }
  printf("%s %ld result=%u ms=%.3f\n", which, n, result, g_work_ms);
  return 0;
}
