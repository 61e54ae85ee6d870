;; memory.grow by 10 pages: exit 0 if it was refused (-1), exit 3 if it succeeded.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 10)) (i32.const -1))
      (then (call $proc_exit (i32.const 0)))
      (else (call $proc_exit (i32.const 3))))))
