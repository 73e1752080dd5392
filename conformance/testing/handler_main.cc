// vkspay-reference-handler: runs one of the reference notify handlers, to try
// merchant mode by hand (docs/conformance.md):
//   vkspay-reference-handler --kind correct --port 9100 --order CONF-1=0.01 ...
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <thread>

#include "reference_handlers.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  using vkspay::conformance::testing::HandlerKind;
  using vkspay::conformance::testing::HandlerOptions;
  using vkspay::conformance::testing::ReferenceHandler;
  CLI::App app{"vkspay-reference-handler: a correct or a naive merchant notify handler"};
  HandlerOptions options;
  std::string kind = "correct", host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> orders;
  app.add_option("--kind", kind, "correct or naive")->check(CLI::IsMember({"correct", "naive"}));
  app.add_option("--host", host, "listen address")->default_val("127.0.0.1");
  app.add_option("--port", port, "listen port (0: any free port)")->default_val(0);
  app.add_option("--merchantno", options.merchantno)->default_val("10001");
  app.add_option("--key", options.key)->default_val("sandbox-demo-key-0123456789abcdef");
  app.add_option("--order", orders, "the merchant's unpaid orders, NO=YUAN");
  CLI11_PARSE(app, argc, argv);
  options.kind = kind == "naive" ? HandlerKind::kNaive : HandlerKind::kCorrect;
  for (const std::string& spec : orders) {
    auto o = vkspay::conformance::ParseMerchantOrder(spec);
    if (!o.ok()) {
      std::cerr << "vkspay-reference-handler: " << o.status().message() << "\n";
      return 2;
    }
    options.orders.push_back(*o);
  }
  auto handler = ReferenceHandler::Start(options, host, port);
  if (!handler.ok()) {
    std::cerr << "vkspay-reference-handler: " << handler.status().message() << "\n";
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cout << "reference handler (" << kind << ") ready: notify " << (*handler)->notify_url()
            << " state " << (*handler)->state_url() << std::endl;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
