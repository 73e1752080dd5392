// A fake VksPay for client tests: a real httplib::Server on 127.0.0.1 and a
// free port, that parses each /api body with ParseFlatJson, checks its
// signature with VerifySign, records it, and answers whatever the test queued.
// Thread-safe (the server thread and the test share state under mu_).
#ifndef VKSPAY_CLIENT_TESTING_FAKE_VKSPAY_H_
#define VKSPAY_CLIENT_TESTING_FAKE_VKSPAY_H_

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vkspay/protocol/fields.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::client::testing {

struct Recorded {
  std::string path;
  std::string content_type;
  std::string authorization;  // empty if absent
  std::string body;
  std::optional<Fields> fields;  // set when the body parsed as flat JSON
  Status parse_status;
  Status sign_status;  // VerifySign with the fake's key (only for /api)
};

class FakeVksPay {
 public:
  explicit FakeVksPay(std::string key) : key_(std::move(key)) {
    server_.set_tcp_nodelay(true);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      Recorded r;
      r.path = req.path;
      r.content_type = req.get_header_value("Content-Type");
      r.authorization = req.get_header_value("Authorization");
      r.body = req.body;
      StatusOr<Fields> f = ParseFlatJson(req.body);
      r.parse_status = f.status();
      if (f.ok()) {
        if (req.path.ends_with("/api")) r.sign_status = VerifySign(*f, key_);
        r.fields = std::move(f).value();
      }
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(std::move(r));
      res.status = status_;
      res.set_content(answer_, "application/json; charset=utf-8");
    };
    server_.Post("/api", handler);
    server_.Post("/_sandbox/pay", handler);
    server_.Post("/prefix/api", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeVksPay() {
    server_.stop();
    thread_.join();
  }
  FakeVksPay(const FakeVksPay&) = delete;
  FakeVksPay& operator=(const FakeVksPay&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next answers' HTTP status and body.
  void Answer(std::string body, int status = 200) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(body);
    status_ = status;
  }

  std::vector<Recorded> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // The last request, or an empty Recorded if there was none.
  Recorded last() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (requests_.empty()) return Recorded{};
    return requests_.back();
  }

 private:
  const std::string key_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mu_;
  std::vector<Recorded> requests_;  // guarded by mu_
  std::string answer_ =
      R"({"return_code":"SUCCESS","return_msg":"OK","data":{}})";  // guarded by mu_
  int status_ = 200;                                               // guarded by mu_
};

}  // namespace vkspay::client::testing

#endif  // VKSPAY_CLIENT_TESTING_FAKE_VKSPAY_H_
