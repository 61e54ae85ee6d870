;; hello: the smallest useful WASI capsule. It writes one line to stdout and exits 0.
;; Built to hello.wasm with wabt's wat2wasm (scripts/demo.sh does this).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: {buf = 16, len = 24}
  (data (i32.const 0) "\10\00\00\00\18\00\00\00")
  (data (i32.const 16) "hello from a capsule :)\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
