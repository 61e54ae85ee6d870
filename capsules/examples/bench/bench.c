/* bench: three CPU workloads for comparing WASM engines with native code.
 *
 *   bench fib N        naive recursive Fibonacci (calls and branches)
 *   bench sha256 MIB   SHA-256 over MIB MiB of generated data (32-bit integer arithmetic)
 *   bench sort N       quicksort of N pseudo-random 32-bit integers (memory and compares)
 *   bench selftest     SHA-256 known answers and a small sort; exit 0 when all agree
 *
 * The same file builds for wasm32-wasi (elastos capsule build, or the test suite) and natively
 * (gcc -O2 -o bench bench.c), so the benchmark compares identical code. Stdout carries only the
 * deterministic result line, identical on every engine and natively; the in-guest elapsed time
 * (CLOCK_MONOTONIC around the workload only) goes to stderr as "elapsed_ms: <ms>".
 *
 * The SHA-256 and the PRNG here are workloads, not cryptography or randomness anyone relies on:
 * capsules that need real crypto ask the runtime (DESIGN.md §7).
 *
 * Exit codes: 0 ok; 1 selftest mismatch or out of memory; 2 usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- fib ---------------------------------------------------------------------------------- */

static uint64_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------------ */

typedef struct {
  uint32_t h[8];
  uint8_t block[64];
  size_t used;
  uint64_t bytes;
} sha256_ctx;

static const uint32_t K[64] = {
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
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  }
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t t1 =
        hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256_init(sha256_ctx* c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, iv, sizeof iv);
  c->used = 0;
  c->bytes = 0;
}

static void sha256_update(sha256_ctx* c, const uint8_t* p, size_t n) {
  c->bytes += n;
  if (c->used > 0) {
    const size_t take = n < 64 - c->used ? n : 64 - c->used;
    memcpy(c->block + c->used, p, take);
    c->used += take, p += take, n -= take;
    if (c->used < 64) return;
    sha256_block(c->h, c->block);
    c->used = 0;
  }
  for (; n >= 64; p += 64, n -= 64) sha256_block(c->h, p);
  memcpy(c->block, p, n);
  c->used = n;
}

static void sha256_final(sha256_ctx* c, uint8_t out[32]) {
  const uint64_t bits = c->bytes * 8;
  uint8_t pad[72] = {0x80};
  const size_t pad_len = (c->used < 56 ? 56 : 120) - c->used;
  for (int i = 0; i < 8; ++i) pad[pad_len + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(c, pad, pad_len + 8);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24), out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8), out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

static void hex(const uint8_t* p, size_t n, char* out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) out[2 * i] = digits[p[i] >> 4], out[2 * i + 1] = digits[p[i] & 15];
  out[2 * n] = '\0';
}

/* ---- PRNG and quicksort --------------------------------------------------------------------- */

/* xorshift64*, fixed seed: the same sequence on every engine and natively. */
static uint64_t prng_state = 0x9E3779B97F4A7C15ull;
static uint32_t prng_next(void) {
  prng_state ^= prng_state >> 12;
  prng_state ^= prng_state << 25;
  prng_state ^= prng_state >> 27;
  return (uint32_t)((prng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void insertion_sort(uint32_t* a, long lo, long hi) {
  for (long i = lo + 1; i <= hi; ++i) {
    const uint32_t v = a[i];
    long j = i - 1;
    while (j >= lo && a[j] > v) a[j + 1] = a[j], --j;
    a[j + 1] = v;
  }
}

/* Median-of-three Hoare quicksort; recursing into the smaller side keeps the stack O(log n). */
static void quicksort(uint32_t* a, long lo, long hi) {
  while (hi - lo > 16) {
    const long mid = lo + (hi - lo) / 2;
    uint32_t x = a[lo], y = a[mid], z = a[hi];
    const uint32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    long i = lo - 1, j = hi + 1;
    for (;;) {
      do ++i;
      while (a[i] < pivot);
      do --j;
      while (a[j] > pivot);
      if (i >= j) break;
      const uint32_t t = a[i];
      a[i] = a[j], a[j] = t;
    }
    if (j - lo < hi - j) {
      quicksort(a, lo, j);
      lo = j + 1;
    } else {
      quicksort(a, j + 1, hi);
      hi = j;
    }
  }
  insertion_sort(a, lo, hi);
}

/* Sorts n generated values; returns 0 and a position-weighted checksum, or 1 on failure. */
static int run_sort(long n, uint64_t* checksum) {
  uint32_t* a = malloc((size_t)n * sizeof *a);
  if (a == NULL && n > 0) return 1;
  prng_state = 0x9E3779B97F4A7C15ull;
  for (long i = 0; i < n; ++i) a[i] = prng_next();
  quicksort(a, 0, n - 1);
  uint64_t sum = 0;
  int sorted = 1;
  for (long i = 0; i < n; ++i) {
    if (i > 0 && a[i - 1] > a[i]) sorted = 0;
    sum = sum * 1099511628211ull + a[i];
  }
  free(a);
  *checksum = sum;
  return sorted ? 0 : 1;
}

/* SHA-256 of `mib` MiB: a 64 KiB generated buffer hashed repeatedly, perturbed each round. */
static void run_sha256(long mib, char out_hex[65]) {
  enum { kBuf = 65536 };
  static uint8_t buf[kBuf];
  prng_state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < kBuf; ++i) buf[i] = (uint8_t)prng_next();
  sha256_ctx c;
  sha256_init(&c);
  for (long round = 0; round < mib * 16; ++round) {
    buf[round % kBuf] ^= (uint8_t)round;
    sha256_update(&c, buf, kBuf);
  }
  uint8_t digest[32];
  sha256_final(&c, digest);
  hex(digest, 32, out_hex);
}

static int selftest(void) {
  static const struct {
    const char* input;
    const char* digest;
  } cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    sha256_ctx c;
    uint8_t d[32];
    char h[65];
    sha256_init(&c);
    sha256_update(&c, (const uint8_t*)cases[i].input, strlen(cases[i].input));
    sha256_final(&c, d);
    hex(d, 32, h);
    const int ok = strcmp(h, cases[i].digest) == 0;
    failures += !ok;
    printf("sha256 \"%s\": %s\n", cases[i].input, ok ? "ok" : h);
  }
  /* 1,000,000 x 'a' exercises the multi-block path with partial updates. */
  sha256_ctx c;
  uint8_t d[32];
  char h[65];
  sha256_init(&c);
  uint8_t a1000[1000];
  memset(a1000, 'a', sizeof a1000);
  for (int i = 0; i < 1000; ++i)
    sha256_update(&c, a1000, i % 2 ? 999 : 1000), sha256_update(&c, a1000, i % 2);
  sha256_final(&c, d);
  hex(d, 32, h);
  const int million_ok =
      strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0;
  failures += !million_ok;
  printf("sha256 1M x 'a': %s\n", million_ok ? "ok" : h);
  uint64_t checksum = 0;
  const int sort_ok = run_sort(10000, &checksum) == 0;
  failures += !sort_ok;
  printf("sort 10000: %s\n", sort_ok ? "ok" : "NOT SORTED");
  return failures == 0 ? 0 : 1;
}

static int usage(void) {
  fprintf(stderr, "usage: bench fib N | bench sha256 MIB | bench sort N | bench selftest\n");
  return 2;
}

/* A positive decimal argument within [0, max], or -1. */
static long parse_arg(const char* s, long max) {
  char* end = NULL;
  const long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > max) return -1;
  return v;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "selftest") == 0) return selftest();
  if (argc != 3) return usage();
  const char* what = argv[1];
  double start, elapsed;
  if (strcmp(what, "fib") == 0) {
    const long n = parse_arg(argv[2], 90);
    if (n < 0) return usage();
    start = now_ms();
    const uint64_t r = fib((uint32_t)n);
    elapsed = now_ms() - start;
    printf("fib(%ld) = %llu\n", n, (unsigned long long)r);
  } else if (strcmp(what, "sha256") == 0) {
    const long mib = parse_arg(argv[2], 1L << 20);
    if (mib < 0) return usage();
    char digest[65];
    start = now_ms();
    run_sha256(mib, digest);
    elapsed = now_ms() - start;
    printf("sha256(%ld MiB) = %s\n", mib, digest);
  } else if (strcmp(what, "sort") == 0) {
    const long n = parse_arg(argv[2], 1L << 28);
    if (n < 0) return usage();
    uint64_t checksum = 0;
    start = now_ms();
    const int failed = run_sort(n, &checksum);
    elapsed = now_ms() - start;
    if (failed) {
      fprintf(stderr, "bench: sort of %ld failed (out of memory or not sorted)\n", n);
      return 1;
    }
    printf("sort(%ld) checksum = %016llx\n", n, (unsigned long long)checksum);
  } else {
    return usage();
  }
  fflush(stdout);
  fprintf(stderr, "elapsed_ms: %.3f\n", elapsed);
  return 0;
}
