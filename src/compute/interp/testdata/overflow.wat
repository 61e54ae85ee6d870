;; INT32_MIN / -1 does not fit in an i32.
(module
  (func (export "_start")
    (local $minus_one i32)
    (local.set $minus_one (i32.const -1))
    (drop (i32.div_s (i32.const 0x80000000) (local.get $minus_one)))))
