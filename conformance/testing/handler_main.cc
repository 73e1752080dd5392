// vkspay-reference-handler: runs one of the reference notify handlers, to try
// merchant mode by hand (docs/conformance.md):
//   vkspay-reference-handler --kind correct --port 9100 --order CONF-1=0.01 ...
// and as the reference merchant of `vkspay-bench merchant`:
//   vkspay-reference-handler --preset slow --port 0
// What each option does is documented on HandlerOptions (reference_handlers.h).
// Bad input exits 2 with a message naming the flag.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "reference_handlers.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

using vkspay::conformance::testing::HandlerOptions;

// The bench's reference merchants. Every one learns orders, since the bench
// creates them on the merchant's behalf.
const std::map<std::string, std::function<void(HandlerOptions&)>>& Presets() {
  static const auto* presets = new std::map<std::string, std::function<void(HandlerOptions&)>>{
      {"fast", [](HandlerOptions& o) { o.learn_orders = true; }},
      {"slow",
       [](HandlerOptions& o) {
         o.learn_orders = true;
         o.delay_ms = 20;
       }},
      {"orderquery", [](HandlerOptions& o) { o.learn_orders = true; }},
      {"failing",
       [](HandlerOptions& o) {
         o.learn_orders = true;
         o.fail_rate = 0.10;
       }},
      {"stall",
       [](HandlerOptions& o) {
         o.learn_orders = true;
         o.serial = true;
         o.stall_every = 1000;
         o.stall_ms = 1000;
       }},
  };
  return *presets;
}

// "" if url looks like http://HOST[:PORT]/PATH, else what is wrong with it.
std::string CheckOrderQueryUrl(const std::string& url) {
  const std::string prefix = "http://";
  const size_t slash = url.find('/', prefix.size());
  if (url.rfind(prefix, 0) != 0 || slash == std::string::npos || slash == prefix.size()) {
    return "expected the sandbox's API endpoint http://HOST:PORT/PATH such as "
           "http://127.0.0.1:8080/api, got \"" +
           url + "\"";
  }
  return "";
}
}  // namespace

int main(int argc, char** argv) {
  using vkspay::conformance::testing::HandlerKind;
  using vkspay::conformance::testing::ReferenceHandler;
  CLI::App app{
      "vkspay-reference-handler: a correct or a naive merchant notify handler, also the "
      "reference merchant of `vkspay-bench merchant` (--preset). Serves POST /notify, "
      "GET /state?out_trade_no=NO and GET /stats (paths: --notify-path, --state-path)."};
  HandlerOptions options;
  std::string kind = "correct", host = "127.0.0.1", preset;
  int port = 0;
  std::vector<std::string> orders;
  // Bench options are parsed apart and applied over the preset only when
  // given, so an explicit flag overrides the preset's value.
  HandlerOptions flags;
  app.add_option("--kind", kind, "correct or naive")->check(CLI::IsMember({"correct", "naive"}));
  app.add_option("--host", host, "listen address")->default_val("127.0.0.1");
  app.add_option("--port", port, "listen port (0: any free port)")->default_val(0);
  app.add_option("--merchantno", options.merchantno)->default_val("10001");
  app.add_option("--key", options.key)->default_val("sandbox-demo-key-0123456789abcdef");
  app.add_option("--order", orders, "the merchant's unpaid orders, NO=YUAN");
  auto* notify_path = app.add_option("--notify-path", flags.notify_path,
                                     "serve notifications here, e.g. /pay/notify (default /notify)");
  auto* state_path = app.add_option("--state-path", flags.state_path,
                                    "serve the state here, e.g. /test/order-state (default /state)");
  app.add_option("--preset", preset,
                 "a bench merchant: fast (learns orders), slow (+ 20 ms per notification), "
                 "orderquery (+ the orderquery call-back; needs --orderquery-url), failing "
                 "(+ 10% answered HTTP 500), stall (+ one at a time, every 1000th waits 1 s). "
                 "Flags given with it override its values")
      ->check(CLI::IsMember({"fast", "slow", "orderquery", "failing", "stall"}));
  auto* learn = app.add_flag("--learn-orders", flags.learn_orders,
                             "accept notifications for orders it has never heard of (the bench "
                             "created them): learn them from the notification");
  auto* orderquery =
      app.add_option("--orderquery-url", flags.orderquery_url,
                     "the sandbox's API endpoint, e.g. http://127.0.0.1:8080/api: ask orderquery "
                     "before acking a payment, ack only if it says paid with the same total_fee")
          ->check(CheckOrderQueryUrl, "URL");
  auto* delay = app.add_option("--delay-ms", flags.delay_ms, "answer every notification this late")
                    ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  auto* fail_rate = app.add_option("--fail-rate", flags.fail_rate,
                                   "answer this fraction (0..1) of notifications HTTP 500, "
                                   "unprocessed, so that VksPay retries")
                        ->check(
                            [](const std::string& text) -> std::string {
                              const double v = std::strtod(text.c_str(), nullptr);
                              if (v >= 0 && v <= 1) return "";
                              return "expected a fraction from 0 to 1 (0.1: 10%), got " + text;
                            },
                            "0..1");
  auto* seed =
      app.add_option("--seed", flags.seed, "seed of the --fail-rate draws")->default_val(1);
  auto* stall_every = app.add_option("--stall-every", flags.stall_every,
                                     "every Nth notification received waits --stall-ms more "
                                     "(0: never)")
                          ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}));
  auto* stall_ms = app.add_option("--stall-ms", flags.stall_ms, "the wait of --stall-every")
                       ->default_val(1000)
                       ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  auto* serial = app.add_flag("--serial", flags.serial,
                              "handle one notification at a time, like a single-threaded server");
  auto* threads = app.add_option("--threads", flags.threads, "HTTP worker threads, 1..1024")
                      ->default_val(8)
                      ->check(CLI::Range(1, 1024));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the error naming the flag
    return code == 0 ? 0 : 2;
  }
  options.kind = kind == "naive" ? HandlerKind::kNaive : HandlerKind::kCorrect;
  for (const std::string& spec : orders) {
    auto o = vkspay::conformance::ParseMerchantOrder(spec);
    if (!o.ok()) {
      std::cerr << "vkspay-reference-handler: " << o.status().message() << "\n";
      return 2;
    }
    options.orders.push_back(*o);
  }
  if (!preset.empty()) Presets().at(preset)(options);
  if (learn->count()) options.learn_orders = flags.learn_orders;
  if (orderquery->count()) options.orderquery_url = flags.orderquery_url;
  if (delay->count()) options.delay_ms = flags.delay_ms;
  if (fail_rate->count()) options.fail_rate = flags.fail_rate;
  if (seed->count()) options.seed = flags.seed;
  if (stall_every->count()) options.stall_every = flags.stall_every;
  if (stall_ms->count()) options.stall_ms = flags.stall_ms;
  if (serial->count()) options.serial = flags.serial;
  if (threads->count()) options.threads = flags.threads;
  if (notify_path->count()) options.notify_path = flags.notify_path;
  if (state_path->count()) options.state_path = flags.state_path;
  if (preset == "orderquery" && options.orderquery_url.empty()) {
    std::cerr << "vkspay-reference-handler: --preset orderquery needs --orderquery-url URL, the "
                 "sandbox's API endpoint (e.g. http://127.0.0.1:8080/api); none was given\n";
    return 2;
  }
  auto handler = ReferenceHandler::Start(options, host, port);
  if (!handler.ok()) {
    std::cerr << "vkspay-reference-handler: " << handler.status().message() << "\n";
    return handler.status().code() == vkspay::ErrorCode::kInvalidField ? 2 : 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cout << "reference handler (" << kind << ") ready: notify " << (*handler)->notify_url()
            << " state " << (*handler)->state_url() << std::endl;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
