/* exit42: ends through exit(42), i.e. WASI proc_exit(42), after flushing a line.
 * Expected under the runtime: stdout "exiting with 42", exit code 42 passed through. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("exiting with 42\n");
  exit(42);
}
