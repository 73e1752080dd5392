#include "vkspay/conformance/target.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>

namespace vkspay::conformance {

std::string ApiReply::Describe() const {
  if (!http.transport_ok) return "no answer: " + http.error;
  if (http.json.is_discarded()) {
    std::string head = http.body.substr(0, 80);
    for (char& c : head) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return "HTTP " + std::to_string(http.status) + ", not JSON: " + head;
  }
  std::string out = return_code.empty() ? "(no return_code)" : return_code;
  if (!err_code.empty()) out += " " + err_code;
  if (!return_msg.empty()) out += " " + return_msg.substr(0, 160);
  return out;
}

Status SplitUrl(std::string_view what, const std::string& url, std::string* origin,
                std::string* path) {
  const auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kInvalidField, std::string(what) +
                                                " must be an http:// or https:// URL with a host "
                                                "(e.g. http://127.0.0.1:8080), got \"" +
                                                url + "\": " + why);
  };
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return bad("no scheme");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return bad("scheme is not http or https");
  const size_t host_start = scheme_end + 3;
  size_t slash = url.find('/', host_start);
  if (slash == std::string::npos) slash = url.size();
  if (slash == host_start) return bad("no host");
  *origin = url.substr(0, slash);
  *path = url.substr(slash);
  while (!path->empty() && path->back() == '/') path->pop_back();
  return Status::Ok();
}

namespace {

std::unique_ptr<httplib::Client> MakeClient(const std::string& origin, int timeout_s) {
  auto c = std::make_unique<httplib::Client>(origin);
  c->set_connection_timeout(timeout_s, 0);
  c->set_read_timeout(timeout_s, 0);
  c->set_write_timeout(timeout_s, 0);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  return c;
}

// A transport error in words a user acts on.
std::string DescribeTransportError(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused";
    case httplib::Error::ConnectionTimeout:
      return "the connection timed out";
    case httplib::Error::Read:
      return "the connection was closed without an answer";
    case httplib::Error::Write:
      return "the request could not be sent";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

Status WaitForAnswer(std::string_view flag, const std::string& url, std::string_view probe_path,
                     double wait_s, int timeout_s) {
  std::string origin, path;
  VKSPAY_RETURN_IF_ERROR(SplitUrl(flag, url, &origin, &path));
  std::string probe = path + std::string(probe_path);
  if (probe.empty()) probe = "/";
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(wait_s);
  std::string last_error;
  for (;;) {
    httplib::Client client(origin);
    // One try never outlasts the wait by more than its own timeout, and a
    // wait's last try gets what is left of it (at least 1 s).
    const double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    const int try_s =
        wait_s > 0 ? std::max(1, std::min(timeout_s, static_cast<int>(left) + 1)) : timeout_s;
    client.set_connection_timeout(try_s, 0);
    client.set_read_timeout(try_s, 0);
    httplib::Result res = client.Get(probe);
    if (res) return Status::Ok();
    last_error = DescribeTransportError(res.error());
    const auto now = std::chrono::steady_clock::now();
    if (now + std::chrono::milliseconds(200) > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string msg = "nothing answers at " + url + " (GET " + probe + "): " + last_error;
  if (wait_s > 0) {
    char waited[32];
    std::snprintf(waited, sizeof waited, "%.1f",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    msg += " after waiting " + std::string(waited) + " s (--wait)";
  }
  return Status(ErrorCode::kInternal, msg + "; is the server running?");
}

Target::Target(TargetOptions options) : options_(std::move(options)) {}
Target::~Target() = default;

StatusOr<std::unique_ptr<Target>> Target::Create(const TargetOptions& options) {
  std::unique_ptr<Target> t(new Target(options));
  std::string origin, path;
  VKSPAY_RETURN_IF_ERROR(SplitUrl("--base-url", options.base_url, &origin, &path));
  t->api_ = MakeClient(origin, options.timeout_s);
  t->api_path_ = path + "/api";
  if (!options.control_url.empty()) {
    std::string corigin, cpath;
    VKSPAY_RETURN_IF_ERROR(SplitUrl("--control-url", options.control_url, &corigin, &cpath));
    t->control_ = MakeClient(corigin, options.timeout_s);
    t->control_prefix_ = cpath;
    t->keeper_ = std::make_shared<ClockKeeper>(options);
  }
  uint64_t seed = options.seed;
  if (seed == 0)
    seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  t->random_ = std::make_unique<SeededRandom>(seed);
  static constexpr char kAlnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  for (int i = 0; i < 6; ++i) t->run_id_ += kAlnum[t->random_->Uniform(sizeof kAlnum - 1)];
  return t;
}

HttpAnswer Target::Exchange(httplib::Client& client, const std::string& method,
                            const std::string& path, const std::string& body,
                            const std::string& content_type, bool control) {
  httplib::Headers headers;
  if (control && !options_.control_token.empty()) {
    headers.emplace("Authorization", "Bearer " + options_.control_token);
  }
  httplib::Result res =
      method == "GET" ? client.Get(path, headers) : client.Post(path, headers, body, content_type);
  HttpAnswer a;
  if (!res) {
    a.error = httplib::to_string(res.error());
    a.json = nlohmann::json::value_t::discarded;
    return a;
  }
  a.transport_ok = true;
  a.status = res->status;
  a.body = res->body;
  a.content_type = res->get_header_value("Content-Type");
  a.json = nlohmann::json::parse(a.body, nullptr, /*allow_exceptions=*/false);
  return a;
}

ApiReply Target::PostRaw(const std::string& body, const std::string& content_type) {
  ApiReply r;
  r.http = Exchange(*api_, "POST", api_path_, body, content_type, false);
  const nlohmann::json& j = r.http.json;
  if (j.is_object()) {
    auto str = [&](const char* name) {
      auto it = j.find(name);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    r.return_code = str("return_code");
    r.err_code = str("err_code");
    r.return_msg = str("return_msg");
    auto d = j.find("data");
    if (d != j.end() && d->is_object()) r.data = *d;
  }
  return r;
}

ApiReply Target::Call(const RawBody& body) {
  return PostRaw(body.JsonWithSign(body.Sign(options_.key)));
}

std::string Target::NewNonce() { return random_->Digits(8, '1'); }

int64_t Target::Now() const { return clock_.NowSeconds() + offset_s_; }

RawBody Target::Envelope(std::string_view method) {
  RawBody b;
  b.Str("method", std::string(method))
      .Str("merchantno", options_.merchantno)
      .Num("timestamp", std::to_string(Now()))
      .Str("signaturenonce", NewNonce())
      .Str("version", "2.0");
  return b;
}

std::string Target::NewOrderNo(std::string_view tag) {
  std::string clean;
  for (char c : tag) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') clean += c;
    if (clean.size() == 40) break;
  }
  return "CF" + run_id_ + "-" + clean + "-" + std::to_string(++order_seq_);
}

HttpAnswer Target::ControlGet(const std::string& path_and_query) {
  if (!control_) return HttpAnswer{false, "no control API", 0, "", "", nlohmann::json()};
  return Exchange(*control_, "GET", control_prefix_ + path_and_query, "", "", true);
}

HttpAnswer Target::ControlPost(const std::string& path, const nlohmann::json& body) {
  if (!control_) return HttpAnswer{false, "no control API", 0, "", "", nlohmann::json()};
  return Exchange(*control_, "POST", control_prefix_ + path, body.dump(), "application/json", true);
}

Status Target::SyncClock() {
  HttpAnswer a = ControlGet("/_sandbox/clock");
  if (!a.transport_ok) {
    return Status(ErrorCode::kInvalidField, "GET /_sandbox/clock: no answer: " + a.error);
  }
  if (a.status != 200 || !a.json.is_object() || !a.json.contains("now") ||
      !a.json["now"].is_number_integer()) {
    return Status(ErrorCode::kInvalidField, "GET /_sandbox/clock answered HTTP " +
                                                std::to_string(a.status) + ": " +
                                                a.body.substr(0, 200));
  }
  offset_s_ = a.json["now"].get<int64_t>() - clock_.NowSeconds();
  if (!synced_ && keeper_ != nullptr) {
    auto off = a.json.find("offset_s");
    keeper_->set_initial_offset_s(off != a.json.end() && off->is_number() ? off->get<double>() : 0);
  }
  synced_ = true;
  return Status::Ok();
}

Status Target::AdvanceClock(double seconds) {
  if (keeper_ == nullptr) return Status(ErrorCode::kInvalidField, "no control API");
  VKSPAY_RETURN_IF_ERROR(keeper_->Advance(seconds));
  return SyncClock();
}

ClockKeeper::ClockKeeper(const TargetOptions& options) : options_(options) {
  std::string origin;
  Status st = SplitUrl("--control-url", options.control_url, &origin, &prefix_);
  client_ = MakeClient(st.ok() ? origin : "http://127.0.0.1:9", options.timeout_s);
}

ClockKeeper::~ClockKeeper() = default;

void ClockKeeper::set_initial_offset_s(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  initial_offset_s_ = seconds;
}

bool ClockKeeper::moved() const {
  std::lock_guard<std::mutex> lock(mu_);
  return moved_;
}

Status ClockKeeper::PostChecked(const std::string& path, const nlohmann::json& body) {
  httplib::Headers headers;
  if (!options_.control_token.empty()) {
    headers.emplace("Authorization", "Bearer " + options_.control_token);
  }
  httplib::Result res = client_->Post(prefix_ + path, headers, body.dump(), "application/json");
  if (!res) {
    return Status(ErrorCode::kInvalidField,
                  "POST " + path + ": no answer: " + DescribeTransportError(res.error()));
  }
  if (res->status != 200) {
    return Status(ErrorCode::kInvalidField, "POST " + path + " answered HTTP " +
                                                std::to_string(res->status) + ": " +
                                                res->body.substr(0, 200));
  }
  return Status::Ok();
}

Status ClockKeeper::Advance(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (restoring_) {
    return Status(ErrorCode::kInternal,
                  "the run is ending: the sandbox clock is being put back, not advanced");
  }
  // Counted as moved before the answer: a timed-out advance may still land.
  moved_ = true;
  return PostChecked("/_sandbox/clock/advance", {{"seconds", seconds}});
}

Status ClockKeeper::Restore() {
  std::lock_guard<std::mutex> lock(mu_);
  restoring_ = true;
  if (!moved_) return Status::Ok();
  VKSPAY_RETURN_IF_ERROR(PostChecked("/_sandbox/clock/reset", nlohmann::json::object()));
  if (initial_offset_s_ > 0) {
    VKSPAY_RETURN_IF_ERROR(
        PostChecked("/_sandbox/clock/advance", {{"seconds", initial_offset_s_}}));
  }
  moved_ = false;
  return Status::Ok();
}

HttpAnswer Target::GetUrl(const std::string& url) {
  std::string origin, path;
  Status st = SplitUrl("the URL", url, &origin, &path);
  if (!st.ok()) return HttpAnswer{false, st.message(), 0, "", "", nlohmann::json()};
  if (path.empty()) path = "/";
  auto client = MakeClient(origin, options_.timeout_s);
  return Exchange(*client, "GET", path, "", "", false);
}

}  // namespace vkspay::conformance
