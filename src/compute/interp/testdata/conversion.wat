;; Truncating NaN to an integer.
(module
  (func (export "_start")
    (drop (i32.trunc_f32_s (f32.div (f32.const 0) (f32.const 0))))))
