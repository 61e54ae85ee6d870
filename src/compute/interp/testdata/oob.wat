;; Stores far past the end of a one-page memory.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0x7ffffff0) (i32.const 1))))
