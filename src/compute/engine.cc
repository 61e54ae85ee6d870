#include "compute/engine.h"

extern "C" {
int elastos_guest_interrupt = 0;
}

namespace elastos::compute {

void RequestInterrupt(InterruptReason reason) {
  int expected = 0;
  __atomic_compare_exchange_n(&elastos_guest_interrupt, &expected, static_cast<int>(reason),
                              false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

InterruptReason PendingInterrupt() {
  return static_cast<InterruptReason>(__atomic_load_n(&elastos_guest_interrupt, __ATOMIC_RELAXED));
}

}  // namespace elastos::compute
