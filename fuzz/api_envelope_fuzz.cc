// POST /api through ApiService's public interface, with the demo merchant, an
// in-memory SQLite store and a fake clock. Input forms:
//   "CT:<content type>\n<body>"  the body with that Content-Type
//   "SIGN\n<flat JSON>"          the fields, completed with a valid envelope
//                                (merchantno, timestamp, fresh nonce, version)
//                                unless given, then signed with the demo key:
//                                reaches the five methods
//   anything else                the body as application/json
// Properties: every answer is a JSON VksPay answer (return_code SUCCESS or
// FAIL; FAIL has an err_code and a message), never SYSTEM_ERROR (a throw is a
// bug), and never contains the merchant key (unless the request did).
#include <memory>

#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"
#include "sandbox/api/api_service.h"
#include "vkspay/protocol/signature.h"

using namespace vkspay;
using namespace vkspay::sandbox;

namespace {

constexpr int64_t kNow = 1'764'300'000;

struct World {
  SandboxConfig config = SandboxConfig::Demo();
  FakeClock clock{kNow * 1'000'000};
  SeededRandom rng{42};
  SeededRandom nonces{7};
  std::unique_ptr<Store> store;
  std::unique_ptr<ApiService> api;
  World() {
    store = OpenSqliteStore(SqliteStoreOptions()).value();
    api = std::make_unique<ApiService>(SandboxContext{&config, store.get(), &clock, &rng});
  }
};

World& TheWorld() {
  static World* w = new World();  // leaked on purpose: outlives every input
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  std::string_view text = fuzz::AsText(data, size);
  ApiRequest req;
  req.content_type = "application/json; charset=utf-8";
  req.base_url = "http://sandbox.test";
  if (text.substr(0, 3) == "CT:") {
    std::string_view rest = text.substr(3);
    req.content_type = std::string(fuzz::TakeLine(&rest));
    req.body = std::string(rest);
  } else if (text.substr(0, 5) == "SIGN\n") {
    StatusOr<Fields> f = ParseFlatJson(text.substr(5));
    if (!f.ok()) return 0;
    Fields fields = *f;
    if (fields.Find("merchantno") == nullptr)
      fields.Set("merchantno", std::string(kDemoMerchantNo));
    if (fields.Find("timestamp") == nullptr) fields.Set("timestamp", static_cast<double>(kNow));
    if (fields.Find("version") == nullptr) fields.Set("version", std::string("2.0"));
    fields.Set("signaturenonce", w.nonces.Digits(8, '1'));
    req.body = WithSign(fields, kDemoKey).ToJson();
  } else {
    req.body = std::string(text);
  }
  // Timestamps outside int64 (1e300) are range-checked before the cast
  // (found here: the cast was undefined behaviour). Corpus:
  // sign_timestamp_1e300.json, raw_timestamp_1e300.json.
  ApiResponse resp = w.api->Handle(req);
  FUZZ_CHECK(resp.http_status == 200, std::to_string(resp.http_status));
  // (Unless the request carried that text itself: answers quote what arrived.)
  if (req.body.find(kDemoKey) == std::string::npos &&
      req.content_type.find(kDemoKey) == std::string::npos) {
    FUZZ_CHECK(resp.body.find(kDemoKey) == std::string::npos,
               "the key is in the answer: " + resp.body);
  }
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(j.is_object(), "not a JSON object: " + resp.body);
  FUZZ_CHECK(j.contains("return_code") && j["return_code"].is_string(), resp.body);
  const std::string code = j["return_code"];
  FUZZ_CHECK(code == "SUCCESS" || code == "FAIL", resp.body);
  FUZZ_CHECK(j.contains("return_msg") && j["return_msg"].is_string(), resp.body);
  if (code == "FAIL") {
    FUZZ_CHECK(j.contains("err_code") && j["err_code"].is_string(), resp.body);
    FUZZ_CHECK(j["err_code"] != "SYSTEM_ERROR",
               "a handler threw: " + resp.body + "\nrequest: " + req.body);
    FUZZ_CHECK(!j["return_msg"].get<std::string>().empty(), resp.body);
  }
  return 0;
}
