;; proc_exit(200): a code outside the 0-123 that passes through a worker's exit status.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "_start") (call $proc_exit (i32.const 200))))
