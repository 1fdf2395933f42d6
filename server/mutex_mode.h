// How absl::Mutex behaves in Vigil's programs.

#ifndef VIGIL_SERVER_MUTEX_MODE_H_
#define VIGIL_SERVER_MUTEX_MODE_H_

#include "absl/synchronization/mutex.h"

namespace vigil {

// Debian builds Abseil without NDEBUG, so by default every absl::Mutex
// acquisition (gRPC's own locks included) is checked against a global
// lock-order graph: a debugging aid that costs about a tenth of the server's
// CPU time on a proof request. Release builds of Vigil's programs turn it
// off when they start; the sanitizer build's programs, and tests that run
// the code in process, keep it and abort on a lock-order cycle.
inline void SetMutexModeForBuild() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace vigil

#endif  // VIGIL_SERVER_MUTEX_MODE_H_
