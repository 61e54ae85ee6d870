;; The start section writes "start\n" before _start writes "main\n".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "start\n")
  (data (i32.const 48) "main\n")
  (func $say (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $init (call $say (i32.const 32) (i32.const 6)))
  (start $init)
  (func (export "_start") (call $say (i32.const 48) (i32.const 5))))
