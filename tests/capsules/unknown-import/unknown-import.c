/* unknown-import: imports a function the runtime does not provide, `env.elastos_secret`.
 *
 * A capsule's imports are its whole interface to the host, so a module asking for anything outside
 * wasi_snapshot_preview1 must be refused before any of its code runs — never linked to a stub that
 * traps later, and never resolved against something the host happens to export.
 *
 * Expected under the runtime: refused at load, exit 125, reason unknown_import, message naming
 * env.elastos_secret; nothing on stdout. */
#include <stdio.h>

__attribute__((import_module("env"), import_name("elastos_secret"))) int elastos_secret(int);

int main(void) {
  printf("started (must not happen): secret %d\n", elastos_secret(7));
  return 0;
}
