// The notify receiver the server-mode notify cases run: an httplib server on
// a loopback (or given) address, port 0, that records every POST and answers
// each one as a policy says. Thread-safe: the server thread records, the case
// thread waits and reads.
#ifndef VKSPAY_CONFORMANCE_RECEIVER_H_
#define VKSPAY_CONFORMANCE_RECEIVER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace vkspay::conformance {

class Receiver {
 public:
  struct Hit {
    std::string body;
    std::string content_type;
    std::string method;
    std::chrono::steady_clock::time_point at;
  };
  // How to answer the n-th POST (0-based): HTTP status and body.
  struct Reply {
    int status = 200;
    std::string body = "{\"code\":\"SUCCESS\",\"msg\":\"SUCCESS\"}";
  };
  using Policy = std::function<Reply(size_t n)>;

  // Starts listening on `host` port 0 (any free port). `policy` defaults to
  // always acking. started() is false (and error() says why) if it could not bind.
  explicit Receiver(std::string host = "127.0.0.1", Policy policy = {});
  ~Receiver();  // stops and joins

  bool started() const { return port_ > 0; }
  // "http://<advertised host>:<port>/notify".
  std::string Url(const std::string& advertised_host = "") const;
  // Waits until at least `count` POSTs arrived or `limit` passed; returns
  // whether they did.
  bool WaitFor(size_t count, std::chrono::milliseconds limit);
  std::vector<Hit> hits() const;

 private:
  std::string host_;
  Policy policy_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Hit> hits_;  // guarded by mu_
};

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_RECEIVER_H_
