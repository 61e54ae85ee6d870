;; Grows memory 16 pages at a time until refused, then aborts like a Rust guest on OOM.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
