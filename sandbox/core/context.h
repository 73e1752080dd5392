// What every sandbox component is given: configuration, the store and the
// injected clock and randomness. Not owned; main (or a test) owns them and
// keeps them alive longer than every component.
#ifndef VKSPAY_SANDBOX_CORE_CONTEXT_H_
#define VKSPAY_SANDBOX_CORE_CONTEXT_H_

#include "sandbox/config/config.h"
#include "sandbox/store/store.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {

struct SandboxContext {
  const SandboxConfig* config = nullptr;
  Store* store = nullptr;
  const Clock* clock = nullptr;
  Random* rng = nullptr;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_CONTEXT_H_
