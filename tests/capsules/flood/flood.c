/* flood: writes 1 GiB to stdout in 64 KiB write() calls (16384 of them), bypassing stdio.
 *
 * Expected under the runtime (output_mb 1): stopped once stdout+stderr pass 1 MiB, exit 124,
 * reason output_limit; the runtime's output up to the limit is the capsule's. If a write fails
 * and the capsule gets control back it reports on stderr and exits 1; if all 1 GiB got through,
 * it exits 0 (the limit did not work). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  enum { kChunk = 64 * 1024, kChunks = 16384 };
  static char chunk[kChunk];
  for (int i = 0; i < kChunk; ++i) chunk[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
  unsigned long long written = 0;
  for (int i = 0; i < kChunks; ++i) {
    size_t done = 0;
    while (done < kChunk) {
      const ssize_t n = write(1, chunk + done, kChunk - done);
      if (n < 0) {
        fprintf(stderr, "flood: write failed after %llu bytes (errno %d)\n", written, errno);
        return 1;
      }
      done += (size_t)n;
      written += (unsigned long long)n;
    }
  }
  return 0;
}
