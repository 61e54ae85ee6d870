/* recurse: deep, non-tail recursion.
 *
 *   recurse [LEVELS]         each level keeps a 256-byte volatile array on the shadow stack in
 *                            linear memory; with the toolchain's --stack-first layout, running
 *                            off the 1 MiB stack wraps below address 0 and traps
 *                            (trap_out_of_bounds) instead of overwriting data
 *   recurse calls [LEVELS]   no locals in memory: only the engine's own call stack grows, until
 *                            its depth limit traps (trap_stack_exhausted)
 *
 * LEVELS (default: unbounded) stops the recursion early; then it prints "returned after N levels"
 * and exits 0 — a control showing moderate recursion works.
 *
 * Expected under the runtime without LEVELS: prints "recursing (frames|calls)", then a trap,
 * exit 126. The work after each call (a volatile store of its result) is what stops the compiler
 * from turning the recursion into a loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long sink;
static unsigned long limit = (unsigned long)-1;

__attribute__((noinline)) static unsigned long frames(unsigned long depth) {
  volatile unsigned char frame[256];
  frame[depth & 255] = (unsigned char)depth;
  if (depth >= limit) return depth;
  const unsigned long r = frames(depth + 1) + frame[(depth * 7) & 255];
  sink = r;
  return r;
}

__attribute__((noinline)) static unsigned long calls(unsigned long depth) {
  if (depth >= limit) return depth;
  const unsigned long r = calls(depth + 1);
  sink = r ^ depth;
  return r + (depth & 1);
}

int main(int argc, char** argv) {
  int arg = 1;
  const int use_calls = argc > arg && strcmp(argv[arg], "calls") == 0;
  if (use_calls) ++arg;
  if (argc > arg) limit = strtoul(argv[arg], NULL, 10);
  printf("recursing (%s)\n", use_calls ? "calls" : "frames");
  fflush(stdout);
  sink = use_calls ? calls(0) : frames(0);
  printf("returned after %lu levels\n", limit);
  return 0;
}
