;; _start returns at once: exit code 0, no imports, no memory.
(module (func (export "_start")))
