;; A loop of exactly 1000 iterations, then return: a fixed instruction count for fuel tests.
(module
  (func (export "_start")
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1000))))))
