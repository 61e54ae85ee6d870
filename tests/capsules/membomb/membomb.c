/* membomb: allocates 1 MiB at a time, touching every page, until malloc returns NULL; then
 * reports how far it got and calls abort().
 *
 * Why abort and not `return 1`: a clean exit would be indistinguishable from the capsule's own
 * decision, and its code would pass through. Aborting (a trap) right after memory.grow was refused
 * at the manifest's memory_mb lets the runtime attribute the end to the limit.
 *
 * Expected under the runtime (memory_mb 32): stdout "malloc failed at N MiB" with N a little
 * under 32, then exit 124 with reason memory_limit (a runtime that does not attribute the trap
 * reports 126 / trap_unreachable). Without a limit it would grow to wasm32's 4 GiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The newest chunk; each chunk's first word links to the one before. Publishing the chunks through
 * a volatile pointer makes every allocation observable, so the compiler can neither drop the
 * malloc/memset pair nor assume malloc never fails (it did both before this was here). */
static char* volatile newest;

int main(void) {
  enum { kChunk = 1 << 20 };
  unsigned long mib = 0;
  for (;;) {
    char* p = malloc(kChunk);
    if (p == NULL) {
      printf("malloc failed at %lu MiB\n", mib);
      fflush(stdout);
      abort();
    }
    memset(p, 0xA5, kChunk); /* touch: the memory is really used, not just reserved */
    *(char**)p = newest;
    newest = p;
    ++mib;
  }
}
