// What every sandbox component is given: configuration, the store and the
// injected clock and randomness. Not owned; main (or a test) owns them and
// keeps them alive longer than every component.
#ifndef VKSPAY_SANDBOX_CORE_CONTEXT_H_
#define VKSPAY_SANDBOX_CORE_CONTEXT_H_

#include "sandbox/config/config.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/store/store.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {

class UrlGuard;     // sandbox/notify/url_guard.h
class FaultEngine;  // sandbox/faults/fault_engine.h
class Telemetry;    // sandbox/telemetry/telemetry.h
class Logger;       // sandbox/telemetry/log.h

struct SandboxContext {
  const SandboxConfig* config = nullptr;
  Store* store = nullptr;
  const Clock* clock = nullptr;
  Random* rng = nullptr;
  // The same object as `clock` when the clock can be advanced (main); null
  // otherwise (the clock control endpoints then answer 409).
  SandboxClock* sandbox_clock = nullptr;
  // Checks notify URLs up front when settings.strict_notify_url is set; null:
  // no up-front check.
  const UrlGuard* url_guard = nullptr;
  // Fault injection (docs/faults.md): asked by the API handler, the buyer
  // paths, refunds and the dispatcher; null: no faults are ever injected.
  FaultEngine* faults = nullptr;
  // The delivery feed, API stats and gauges (GET /_sandbox/stats and
  // /_sandbox/deliveries); null: nothing is collected.
  Telemetry* telemetry = nullptr;
  // The request log: buyer actions on the cashier page log here (the server
  // logs API requests and control calls); null: not logged.
  const Logger* logger = nullptr;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_CONTEXT_H_
