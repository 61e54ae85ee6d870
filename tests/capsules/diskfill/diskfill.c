/* diskfill: writes /data/fill.bin in 1 MiB chunks until a write fails.
 *
 *   diskfill [MAX_MIB]   stop after MAX_MIB MiB (default 1024) so a runtime without a storage
 *                        limit cannot fill the host's disk through this test
 *
 * Expected under the runtime (storage_mb 8): a write fails with ENOSPC around 8 MiB and the run
 * ends with exit 124, reason storage_limit. If the capsule gets control back it prints
 * "write failed at N MiB (errno E)" and exits 1; reaching MAX_MIB prints "wrote N MiB without
 * hitting a limit" and exits 2. The file is removed first, so reruns start from an empty /data. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  enum { kChunk = 1 << 20 };
  const unsigned long max_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  static char chunk[kChunk];
  memset(chunk, 'F', sizeof chunk);
  unlink("/data/fill.bin");
  const int fd = open("/data/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    printf("cannot create /data/fill.bin (errno %d)\n", errno);
    return 1;
  }
  for (unsigned long mib = 0; mib < max_mib; ++mib) {
    size_t done = 0;
    while (done < kChunk) {
      const ssize_t n = write(fd, chunk + done, kChunk - done);
      if (n < 0) {
        printf("write failed at %lu MiB (errno %d)\n", mib, errno);
        close(fd);
        return 1;
      }
      done += (size_t)n;
    }
  }
  close(fd);
  printf("wrote %lu MiB without hitting a limit\n", max_mib);
  return 2;
}
