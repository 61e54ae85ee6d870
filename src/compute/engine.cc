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

std::optional<Outcome> InterruptOutcome() {
  switch (PendingInterrupt()) {
    case InterruptReason::kWall:
      return MakeOutcome(OutcomeKind::kLimit, "wall_limit",
                         "the guest ran past its wall-clock limit; raise resource_limits.wall_ms");
    case InterruptReason::kCpu:
      return MakeOutcome(OutcomeKind::kLimit, "cpu_limit",
                         "the guest used up its CPU time; raise resource_limits.cpu_ms");
    case InterruptReason::kNone:
      break;
  }
  return std::nullopt;
}

}  // namespace elastos::compute
