/* The binary contract between a compiled AOT object (`<key>.so`, built by AotCache) and LoadAot.
 *
 * This header is C, and it is the single source of truth for both sides: the runtime embeds its
 * text into the shim it compiles into every object (aot_embedded.cc.in), and the worker includes it
 * to dlsym the same names. Any change here must bump ELASTOS_AOT_ABI_VERSION: the version is part
 * of every cache key and LoadAot refuses an object that reports another one, so native code built
 * for an older contract is never called through a newer one.
 *
 * One object holds one module instance at a time: wasm2c's runtime (trap jmp_buf, signal handler,
 * function-type registry) is process-global anyway, and a worker runs one guest per process.
 */
#ifndef ELASTOS_COMPUTE_AOT_AOT_ABI_H_
#define ELASTOS_COMPUTE_AOT_AOT_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ELASTOS_AOT_ABI_VERSION 1u

/* How the object's WASI import thunks reach the host. `call` runs wasi::Function `fn` with the
 * `nargs` raw arguments (i32 zero-extended) and returns the WASI errno. It sets *stop to non-zero
 * when the guest must not continue (proc_exit, a fatal host limit, a pending interrupt); the thunk
 * then unwinds the guest with a trap instead of returning into it. Must not unwind itself. */
typedef struct elastos_aot_host {
  uint32_t (*call)(void* ctx, uint32_t fn, const uint64_t* args, uint32_t nargs, int* stop);
  void* ctx;
} elastos_aot_host_t;

/* What the module declares, recorded at compile time so LoadAot can refuse a module whose initial
 * memory exceeds the cap before any guest code (including a wasm start function) runs. */
typedef struct elastos_aot_module_info {
  uint32_t has_memory;
  uint32_t initial_pages;
  uint32_t max_pages; /* UINT32_MAX when the module declares no maximum */
} elastos_aot_module_info_t;

/* elastos_aot_instantiate results: OK; an instance is already live in this object; the memory
 * was not allocated through our capping hook (so the cap would not hold). */
#define ELASTOS_AOT_OK 0
#define ELASTOS_AOT_ERR_BUSY 1
#define ELASTOS_AOT_ERR_NO_MEMORY_HOOK 2

/* Symbols every object exports (everything else in it is hidden). */
#define ELASTOS_AOT_SYM_ABI_VERSION "elastos_aot_abi_version"
#define ELASTOS_AOT_SYM_MODULE_INFO "elastos_aot_module_info"
#define ELASTOS_AOT_SYM_INSTANTIATE "elastos_aot_instantiate"
#define ELASTOS_AOT_SYM_START "elastos_aot_start"
#define ELASTOS_AOT_SYM_MEMORY "elastos_aot_memory"
#define ELASTOS_AOT_SYM_GROW_REFUSED "elastos_aot_grow_refused_by_cap"
#define ELASTOS_AOT_SYM_FREE "elastos_aot_free"

/* The memory view handed to the host on each call, and the page count for the report. */
typedef struct elastos_aot_memory_view {
  uint8_t* data;
  uint64_t size;
  uint32_t pages;
} elastos_aot_memory_view_t;

/* Instantiates the module (wasm start function included) with its WASI imports bound to `host`
 * and its memory maximum clamped to `cap_pages`. May run guest code, so the caller must have
 * armed wasm_rt_impl_try(). `host` must stay live until elastos_aot_free. */
typedef int (*elastos_aot_instantiate_fn)(const elastos_aot_host_t* host, uint32_t cap_pages);
/* Runs the `_start` export. Traps unwind to the caller's wasm_rt_impl_try(). */
typedef void (*elastos_aot_start_fn)(void);
/* The instance's memory as it is now ({NULL, 0, 0} when the module has none). */
typedef elastos_aot_memory_view_t (*elastos_aot_memory_fn)(void);
/* Non-zero once a memory.grow was refused only because of the cap (the module's own maximum
 * would have allowed it): the signal for reporting memory_limit rather than the guest's reaction
 * to the failed grow. */
typedef int (*elastos_aot_grow_refused_fn)(void);
/* Frees the instance (safe after a trap, also mid-instantiation). */
typedef void (*elastos_aot_free_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* ELASTOS_COMPUTE_AOT_AOT_ABI_H_ */
