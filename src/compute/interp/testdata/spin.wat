;; Loops forever; only an interrupt or fuel stops it.
(module
  (func (export "_start")
    (loop $forever (br $forever))))
