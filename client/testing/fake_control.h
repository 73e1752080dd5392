// A fake sandbox control API for CLI tests: a real httplib::Server on
// 127.0.0.1 and a free port that records every GET and POST under
// /_sandbox/ (method, path, raw target, query parameters, Authorization,
// body) and answers what the test set for "METHOD /path", or 404 with a
// control error. Thread-safe (the server thread and the test share state
// under mu_).
#ifndef VKSPAY_CLIENT_TESTING_FAKE_CONTROL_H_
#define VKSPAY_CLIENT_TESTING_FAKE_CONTROL_H_

#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vkspay::client::testing {

struct ControlCall {
  std::string method;
  std::string path;
  std::string target;  // path and query as sent
  std::map<std::string, std::string> query;
  std::string authorization;
  std::string content_type;
  std::string body;
};

class FakeControl {
 public:
  FakeControl() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      ControlCall call;
      call.method = req.method;
      call.path = req.path;
      call.target = req.target;
      for (const auto& [k, v] : req.params) call.query[k] = v;
      call.authorization = req.get_header_value("Authorization");
      call.content_type = req.get_header_value("Content-Type");
      call.body = req.body;
      std::lock_guard<std::mutex> lock(mu_);
      auto it = routes_.find(req.method + " " + req.path);
      if (it == routes_.end()) {
        res.status = 404;
        res.set_content(R"({"ok":false,"err_code":"NOT_FOUND","message":"fake: no route"})",
                        "application/json");
      } else {
        res.status = it->second.first;
        res.set_content(it->second.second, "application/json");
      }
      calls_.push_back(std::move(call));
    };
    server_.Get("/_sandbox/.*", handler);
    server_.Post("/_sandbox/.*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeControl() {
    server_.stop();
    thread_.join();
  }
  FakeControl(const FakeControl&) = delete;
  FakeControl& operator=(const FakeControl&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Answers "GET /_sandbox/notifications" (method, space, path) with this.
  void Route(const std::string& method_and_path, std::string body, int status = 200) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[method_and_path] = {status, std::move(body)};
  }

  std::vector<ControlCall> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // The last call, or an empty ControlCall if there was none.
  ControlCall last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.empty() ? ControlCall{} : calls_.back();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;  // guarded by mu_
  std::vector<ControlCall> calls_;                             // guarded by mu_
};

}  // namespace vkspay::client::testing

#endif  // VKSPAY_CLIENT_TESTING_FAKE_CONTROL_H_
