;; Like membomb, but the module's own maximum (32 pages) is what refuses the grow.
(module
  (memory (export "memory") 1 32)
  (func (export "_start")
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
