/* oob: stores to an address beyond the end of linear memory.
 *
 *   oob [ADDRESS]   default: 16 bytes past the current memory size, computed at run time so the
 *                   compiler cannot see (and drop or fold) the store; ADDRESS (decimal or 0x…)
 *                   picks another one, e.g. 0xfffffff0.
 *
 * Expected under the runtime: prints "storing to 0x…", then traps: exit 126, reason
 * trap_out_of_bounds. If the store does not trap it prints "store did not trap" and exits 3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const uintptr_t memory_bytes = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  const uintptr_t address = argc > 1 ? (uintptr_t)strtoul(argv[1], NULL, 0) : memory_bytes + 16;
  printf("storing to 0x%lx (memory is %lu bytes)\n", (unsigned long)address,
         (unsigned long)memory_bytes);
  fflush(stdout);
  volatile uint32_t* p = (volatile uint32_t*)address;
  *p = 0xdeadbeef;
  printf("store did not trap\n");
  return 3;
}
