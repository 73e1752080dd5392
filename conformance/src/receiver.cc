#include "vkspay/conformance/receiver.h"

#include <httplib.h>

namespace vkspay::conformance {

Receiver::Receiver(std::string host, Policy policy)
    : host_(std::move(host)),
      policy_(std::move(policy)),
      server_(std::make_unique<httplib::Server>()) {
  server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = hits_.size();
      hits_.push_back({req.body, req.get_header_value("Content-Type"), req.method,
                       std::chrono::steady_clock::now()});
    }
    cv_.notify_all();
    Reply r = policy_ ? policy_(n) : Reply();
    res.status = r.status;
    res.set_content(r.body, "application/json");
  });
  server_->set_tcp_nodelay(true);
  // One request per connection: the sender's pooled keep-alive connection
  // would otherwise hold stop() for the whole keep-alive timeout (5 s).
  server_->set_keep_alive_max_count(1);
  port_ = server_->bind_to_any_port(host_);
  if (port_ <= 0) {
    port_ = 0;
    return;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Receiver::~Receiver() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Receiver::Url(const std::string& advertised_host) const {
  const std::string& host = advertised_host.empty() ? host_ : advertised_host;
  return "http://" + host + ":" + std::to_string(port_) + "/notify";
}

bool Receiver::WaitFor(size_t count, std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, limit, [&] { return hits_.size() >= count; });
}

std::vector<Receiver::Hit> Receiver::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

}  // namespace vkspay::conformance
