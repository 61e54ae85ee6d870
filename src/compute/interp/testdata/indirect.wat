;; call_indirect through a table slot whose function has another type.
(module
  (type $void (func))
  (type $int (func (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $other)
  (func $other (param i32))
  (func (export "_start")
    (call_indirect (type $void) (i32.const 0))))
