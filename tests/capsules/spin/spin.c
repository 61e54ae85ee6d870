/* spin: never returns and never calls anything — not even the host — so only the runtime's
 * interrupt (wall_ms / cpu_ms) or fuel can stop it. The volatile counter keeps the loop from
 * being optimised into nothing or into a trap.
 *
 * Expected under the runtime: killed by a limit, exit 124 (reason cpu_limit, wall_limit or
 * fuel_exhausted, whichever the manifest or launch sets first). It prints nothing. */
int main(void) {
  volatile unsigned long long counter = 0;
  for (;;) counter = counter + 1;
}
