#include "sandbox/dashboard/dashboard_routes.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "sandbox/core/payments.h"
#include "sandbox/dashboard/dashboard_pages.h"
#include "sandbox/dashboard/dashboard_params.h"
#include "vkspay/protocol/errors.h"

namespace vkspay::sandbox {
namespace {

using dashboard::Frame;
using dashboard::kBasePath;

constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kTokenCookie[] = "vkspay_ui";
constexpr char kFlashCookie[] = "vkspay_ui_flash";
// The longest flash message kept in the cookie (bytes before encoding).
constexpr size_t kMaxFlash = 600;

std::string Hex(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// Hex back to bytes; "" for anything that is not an even run of hex digits.
std::string Unhex(std::string_view hex) {
  auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return "";
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Without randomness no form could be trusted: refuse to run.
    std::fputs("vkspay-sandbox: RAND_bytes failed: cannot make the dashboard's CSRF token\n",
               stderr);
    std::abort();
  }
  return Hex(raw);
}

bool SameSecret(const std::string& given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// Cookie values are hex: cpp-httplib percent-decodes header values as it
// parses them, so a percent-encoded value would arrive decoded (and a ';'
// in it would split the header); hex passes through unchanged.

// The value of cookie `name` ("" if absent or not hex), decoded.
std::string Cookie(const httplib::Request& req, std::string_view name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + pos, end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return Unhex(pair.substr(eq + 1));
    }
    pos = end + 1;
  }
  return "";
}

std::string SetCookie(std::string_view name, std::string_view value, int max_age_s) {
  std::string out(name);
  out += "=" + Hex(value) + "; Path=" + std::string(kBasePath) + "; HttpOnly; SameSite=Strict";
  if (max_age_s >= 0) out += "; Max-Age=" + std::to_string(max_age_s);
  return out;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kNotFound:
    case ErrorCode::kOrderNotExist:
    case ErrorCode::kRefundNotExist:
      return 404;
    case ErrorCode::kOrderPaid:
    case ErrorCode::kOrderClosed:
    case ErrorCode::kOrderPayError:
    case ErrorCode::kRefundNotAllowed:
    case ErrorCode::kRefundExceedsPaid:
    case ErrorCode::kOutRefundNoUsed:
    case ErrorCode::kRefundFailed:
      return 409;
    case ErrorCode::kInternal:
      return 500;
    default:
      return 400;
  }
}

// "REFUND_EXCEEDS_PAID 退款金额超过可退金额: <message>"; internals hidden.
std::string Describe(const Status& st) {
  if (st.code() == ErrorCode::kInternal) {
    return "INTERNAL 沙箱内部错误 / internal error (see the sandbox's log)";
  }
  const ErrorInfo& info = InfoFor(st.code());
  std::string out(info.err_code);
  out += " ";
  out += info.title;
  if (!st.message().empty()) out += ": " + st.message();
  return out;
}

// Cut to at most kMaxFlash bytes on a UTF-8 boundary.
std::string CutFlash(std::string text) {
  if (text.size() <= kMaxFlash) return text;
  size_t n = kMaxFlash;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  text.resize(n);
  return text + "…";
}

class Dashboard {
 public:
  Dashboard(const SandboxContext& ctx, const DashboardOptions& options)
      : ctx_(ctx), token_(options.token), csrf_(RandomHex(16)) {
    if (ctx_.rng != nullptr) {
      const int64_t salt = ctx_.store != nullptr ? ctx_.store->StartupSalt() : 0;
      ids_ = std::make_unique<SaltedRandom>(*ctx_.rng, static_cast<uint64_t>(salt));
    }
  }

  // Registers the routes; each handler holds `self`, so the dashboard
  // lives as long as the server's handlers.
  static void Register(httplib::Server& server, const std::shared_ptr<Dashboard>& self) {
    using Page = void (Dashboard::*)(const httplib::Request&, httplib::Response&, Frame, int);
    using Action = void (Dashboard::*)(const httplib::Request&, httplib::Response&, Frame);
    const std::string base = kBasePath;
    auto get = [&](const std::string& path, Page page) {
      server.Get(base + path, [self, page](const httplib::Request& req, httplib::Response& res) {
        if (!self->Authorized(req)) return self->LoginPage(req, res, 401, "");
        Frame frame = self->MakeFrame(req, res);
        ((*self).*page)(req, res, std::move(frame), 200);
      });
    };
    server.Get(base, [](const httplib::Request&, httplib::Response& res) {
      const std::string to = std::string(kBasePath) + "/";
      res.set_redirect(to, 303);
      Send(res, 303, dashboard::RenderRedirectBody(to));
    });
    get("/", &Dashboard::OrdersPage);
    get("/orders", &Dashboard::OrdersPage);
    get("/order", &Dashboard::OrderPage);
    get("/notifications", &Dashboard::NotificationsPage);
    get("/clock", &Dashboard::ClockPage);
    get("/faults", &Dashboard::FaultsPage);
    get("/merchants", &Dashboard::MerchantsPage);
    server.Get(base + "/login", [self](const httplib::Request& req, httplib::Response& res) {
      self->LoginPage(req, res, 200, "");
    });
    server.Post(base + "/login", [self](const httplib::Request& req, httplib::Response& res) {
      self->Login(req, res);
    });

    auto post = [&](const std::string& path, Action action) {
      server.Post(base + path, [self, action](const httplib::Request& req, httplib::Response& res) {
        if (!self->Authorized(req)) {
          return self->LoginPage(req, res, 401, "请先输入控制令牌 / log in first");
        }
        if (!self->CheckForgery(req, res)) return;
        Frame frame = self->MakeFrame(req, res);
        ((*self).*action)(req, res, std::move(frame));
      });
    };
    post("/logout", &Dashboard::Logout);
    post("/pay", &Dashboard::Pay);
    post("/refund", &Dashboard::RefundAction);
    post("/resend", &Dashboard::Resend);
    post("/resend-all", &Dashboard::ResendAll);
    post("/clock/advance", &Dashboard::AdvanceClock);
    post("/clock/reset", &Dashboard::ResetClock);

    // Anything else under the dashboard: our 404 page, not an empty answer.
    server.Get(base + "/(.*)", [self](const httplib::Request& req, httplib::Response& res) {
      if (!self->Authorized(req)) return self->LoginPage(req, res, 401, "");
      Frame frame = self->MakeFrame(req, res);
      Send(res, 404,
           dashboard::RenderErrorPage(frame, "没有这个页面 / not found",
                                      "no dashboard page at " + req.path));
    });
  }

 private:
  static void Send(httplib::Response& res, int status, const std::string& html) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.set_content(html, kHtml);
  }

  bool Authorized(const httplib::Request& req) const {
    if (token_.empty()) return true;
    std::string given = req.get_header_value("X-Sandbox-Token");
    const std::string auth = req.get_header_value("Authorization");
    if (given.empty() && auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
    if (given.empty()) given = Cookie(req, kTokenCookie);
    return SameSecret(given, token_);
  }

  // The CSRF field and, when sent, the Origin. False: answered 403.
  bool CheckForgery(const httplib::Request& req, httplib::Response& res) {
    std::string why;
    if (!SameSecret(req.get_param_value("csrf"), csrf_)) {
      why =
          "the form's csrf field is missing or wrong (a form from an earlier run of the "
          "sandbox?): reload the page and try again";
    } else if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      const std::string host = req.get_header_value("Host");
      if (host.empty() || (origin != "http://" + host && origin != "https://" + host)) {
        why = "the form was posted from another origin (" + origin + ")";
      }
    }
    if (why.empty()) return true;
    Frame frame = MakeFrame(req, res);
    Send(res, 403, dashboard::RenderErrorPage(frame, "请求被拒绝 / forbidden", why));
    return false;
  }

  Frame MakeFrame(const httplib::Request& req, httplib::Response& res) const {
    Frame frame;
    frame.csrf = csrf_;
    frame.logout = !token_.empty();
    frame.now = ctx_.clock->NowSeconds();
    frame.offset_us = ctx_.sandbox_clock != nullptr ? ctx_.sandbox_clock->offset_us() : 0;
    const std::string flash = Cookie(req, kFlashCookie);
    if (flash.size() >= 2 && (flash[0] == 'o' || flash[0] == 'e') && flash[1] == ':') {
      frame.flash = CutFlash(flash.substr(2));
      frame.flash_error = flash[0] == 'e';
      // Shown once.
      res.set_header("Set-Cookie", SetCookie(kFlashCookie, "", 0));
    }
    return frame;
  }

  // The same page with live flipped.
  static std::string LiveToggle(const httplib::Request& req, bool live) {
    std::string out = req.path + "?";
    for (const auto& [name, value] : req.params) {
      if (name == "live" || name == "csrf") continue;
      out += dashboard::UrlEncode(name) + "=" + dashboard::UrlEncode(value) + "&";
    }
    out += live ? "live=0" : "live=1";
    return out;
  }

  void Redirect(httplib::Response& res, const std::string& location, const std::string& flash,
                bool error = false) {
    res.set_header("Set-Cookie",
                   SetCookie(kFlashCookie, std::string(error ? "e:" : "o:") + CutFlash(flash), 60));
    res.set_redirect(location, 303);
    Send(res, 303, dashboard::RenderRedirectBody(location));
  }

  std::vector<Merchant> Merchants() const {
    std::vector<Merchant> out = ctx_.config->merchants;
    for (Merchant& m : out) m.key.clear();  // never leaves this process
    return out;
  }

  // --- pages ---

  void OrdersPage(const httplib::Request& req, httplib::Response& res, Frame frame, int status) {
    frame.active = "orders";
    dashboard::OrdersPageView view;
    view.merchants = Merchants();
    StatusOr<dashboard::OrdersQuery> q = dashboard::ParseOrdersQuery(req.params, *ctx_.config);
    if (!q.ok()) {
      view.error = Describe(q.status());
      return Send(res, 400, dashboard::RenderOrdersPage(frame, view));
    }
    view.query = *q;
    frame.live = q->live;
    frame.live_toggle_href = LiveToggle(req, q->live);
    OrderFilter filter;
    filter.merchantno = q->merchantno;
    filter.status = q->status;
    filter.out_trade_no = q->out_trade_no;
    filter.limit = q->size + 1;  // one more tells whether a next page exists
    filter.offset = (q->page - 1) * q->size;
    StatusOr<std::vector<Order>> orders = ctx_.store->ListOrders(filter);
    if (!orders.ok()) return Internal(res, frame);
    view.orders = std::move(orders).value();
    if (static_cast<int64_t>(view.orders.size()) > q->size) {
      view.has_next = true;
      view.orders.resize(static_cast<size_t>(q->size));
    }
    Send(res, status, dashboard::RenderOrdersPage(frame, view));
  }

  void OrderPage(const httplib::Request& req, httplib::Response& res, Frame frame, int status) {
    StatusOr<dashboard::OrderKey> key = dashboard::ParseOrderKey(req.params, *ctx_.config);
    if (!key.ok()) {
      return Send(
          res, 400,
          dashboard::RenderErrorPage(frame, "参数错误 / bad request", Describe(key.status())));
    }
    StatusOr<bool> live = dashboard::ParseLive(req.params);
    if (!live.ok()) {
      return Send(
          res, 400,
          dashboard::RenderErrorPage(frame, "参数错误 / bad request", Describe(live.status())));
    }
    frame.live = *live;
    frame.live_toggle_href = LiveToggle(req, *live);
    ShowOrder(res, std::move(frame), status, *key);
  }

  void ShowOrder(httplib::Response& res, Frame frame, int status, const dashboard::OrderKey& key) {
    frame.active = "orders";
    StatusOr<Order> order =
        ctx_.store->GetOrder(key.merchantno, key.out_trade_no, ctx_.clock->NowSeconds());
    if (!order.ok()) {
      if (order.status().code() == ErrorCode::kOrderNotExist) {
        return Send(res, 404,
                    dashboard::RenderErrorPage(frame, "订单不存在 / no such order",
                                               "merchant " + key.merchantno + " has no order \"" +
                                                   key.out_trade_no + "\""));
      }
      return Internal(res, frame);
    }
    dashboard::OrderPageView view;
    view.order = std::move(order).value();
    const Merchant* m = ctx_.config->FindMerchant(view.order.merchantno);
    view.merchant_name = m != nullptr ? m->name : "";
    StatusOr<std::vector<Refund>> refunds =
        ctx_.store->ListRefunds(key.merchantno, key.out_trade_no);
    if (!refunds.ok()) return Internal(res, frame);
    view.refunds = std::move(refunds).value();
    // Stores without scheduled actions answer an error: show none.
    if (auto actions = ctx_.store->ListActions(key.merchantno, key.out_trade_no); actions.ok()) {
      view.scheduled = std::move(actions).value();
    }
    NotificationFilter filter;
    filter.merchantno = key.merchantno;
    filter.out_trade_no = key.out_trade_no;
    filter.limit = -1;
    StatusOr<std::vector<Notification>> list = ctx_.store->ListNotifications(filter);
    if (!list.ok()) return Internal(res, frame);
    for (Notification& n : *list) {
      StatusOr<std::vector<NotifyAttempt>> attempts = ctx_.store->ListNotifyAttempts(n.id);
      if (!attempts.ok()) return Internal(res, frame);
      view.notifications.push_back({std::move(n), std::move(attempts).value()});
    }
    Send(res, status, dashboard::RenderOrderPage(frame, view));
  }

  void NotificationsPage(const httplib::Request& req, httplib::Response& res, Frame frame,
                         int status) {
    frame.active = "notifications";
    dashboard::NotificationsPageView view;
    view.merchants = Merchants();
    StatusOr<dashboard::NotificationsQuery> q =
        dashboard::ParseNotificationsQuery(req.params, *ctx_.config);
    if (!q.ok()) {
      view.error = Describe(q.status());
      status = 400;
    } else {
      view.query = *q;
      frame.live = q->live;
      frame.live_toggle_href = LiveToggle(req, q->live);
      NotificationFilter filter;
      filter.merchantno = q->merchantno;
      filter.state = q->state;
      filter.limit = q->limit;
      StatusOr<std::vector<Notification>> list = ctx_.store->ListNotifications(filter);
      if (!list.ok()) return Internal(res, frame);
      view.notifications = std::move(list).value();
    }
    StatusOr<std::map<NotifyState, int64_t>> counts = ctx_.store->CountNotifications();
    if (!counts.ok()) return Internal(res, frame);
    view.counts = std::move(counts).value();
    Send(res, status, dashboard::RenderNotificationsPage(frame, view));
  }

  void ClockPage(const httplib::Request&, httplib::Response& res, Frame frame, int status) {
    frame.active = "clock";
    dashboard::ClockPageView view;
    view.now_us = ctx_.clock->NowMicros();
    view.offset_us = frame.offset_us;
    view.time_scale = ctx_.config->settings.time_scale;
    view.notify_profile = ctx_.config->settings.notify_profile;
    view.movable = ctx_.sandbox_clock != nullptr;
    Send(res, status, dashboard::RenderClockPage(frame, view));
  }

  void FaultsPage(const httplib::Request&, httplib::Response& res, Frame frame, int status) {
    frame.active = "faults";
    dashboard::FaultsPageView view;
    if (ctx_.faults != nullptr) {
      FaultEngine& e = *ctx_.faults;
      view.enabled = true;
      view.profile = e.profile();
      view.magic_amounts = e.magic_amounts_enabled();
      view.rules = e.ListRules();
      const uint64_t last = e.last_seq();
      constexpr uint64_t kShown = 50;
      view.log = e.Log(last > kShown ? last - kShown : 0, kShown);
      std::reverse(view.log.begin(), view.log.end());
      view.suspended = e.SuspendedMerchants();
    }
    Send(res, status, dashboard::RenderFaultsPage(frame, view));
  }

  void MerchantsPage(const httplib::Request&, httplib::Response& res, Frame frame, int status) {
    frame.active = "merchants";
    dashboard::MerchantsPageView view;
    view.merchants = Merchants();
    view.settings = ctx_.config->settings;
    view.settings.control_token.clear();  // never shown
    Send(res, status, dashboard::RenderMerchantsPage(frame, view));
  }

  void LoginPage(const httplib::Request& req, httplib::Response& res, int status,
                 const std::string& error) {
    Frame frame = MakeFrame(req, res);
    Send(res, status, dashboard::RenderLoginPage(frame, error));
  }

  void Internal(httplib::Response& res, const Frame& frame) {
    Send(res, 500,
         dashboard::RenderErrorPage(frame, "系统错误 / internal error",
                                    "沙箱内部出错，详情见沙箱日志 / see the sandbox's log"));
  }

  // --- actions ---

  void Login(const httplib::Request& req, httplib::Response& res) {
    if (!CheckForgery(req, res)) return;
    if (token_.empty()) {
      return Redirect(res, std::string(kBasePath) + "/", "这个沙箱不需要令牌 / no token needed");
    }
    const std::string given = req.get_param_value("token");
    if (!SameSecret(given, token_)) {
      return LoginPage(req, res, 401,
                       given.empty() ? "没有输入令牌 / no token given"
                                     : "令牌不对 / wrong token (the sandbox's --control-token)");
    }
    res.set_header("Set-Cookie", SetCookie(kTokenCookie, token_, -1));
    Redirect(res, std::string(kBasePath) + "/", "已登录 / logged in");
  }

  void Logout(const httplib::Request&, httplib::Response& res, Frame) {
    res.set_header("Set-Cookie", SetCookie(kTokenCookie, "", 0));
    Redirect(res, std::string(kBasePath) + "/login", "已退出 / logged out");
  }

  // A refused action: the order page again with the error.
  void OrderFailed(httplib::Response& res, Frame frame, const dashboard::OrderKey& key,
                   const Status& st) {
    if (st.code() == ErrorCode::kInternal) return Internal(res, frame);
    frame.flash = Describe(st);
    frame.flash_error = true;
    ShowOrder(res, std::move(frame), HttpStatusFor(st.code()), key);
  }

  void Pay(const httplib::Request& req, httplib::Response& res, Frame frame) {
    StatusOr<dashboard::OrderKey> key = dashboard::ParseOrderKey(req.params, *ctx_.config);
    if (!key.ok()) {
      return Send(
          res, 400,
          dashboard::RenderErrorPage(frame, "参数错误 / bad request", Describe(key.status())));
    }
    if (!req.has_param("outcome")) {
      return OrderFailed(
          res, std::move(frame), *key,
          Status(ErrorCode::kMissingField, "outcome is required (success, fail or cancel)"));
    }
    StatusOr<PayOutcome> outcome = ParsePayOutcome(req.get_param_value("outcome"));
    if (!outcome.ok()) return OrderFailed(res, std::move(frame), *key, outcome.status());
    StatusOr<Order> order = ActAsBuyer(ctx_, key->merchantno, key->out_trade_no,
                                       req.get_param_value("channel"), *outcome);
    if (!order.ok()) return OrderFailed(res, std::move(frame), *key, order.status());
    Redirect(
        res, dashboard::OrderHref(key->merchantno, key->out_trade_no),
        "订单 " + key->out_trade_no + " 现在是 / is now " + std::string(ToString(order->status)));
  }

  void RefundAction(const httplib::Request& req, httplib::Response& res, Frame frame) {
    StatusOr<dashboard::OrderKey> key = dashboard::ParseOrderKey(req.params, *ctx_.config);
    if (!key.ok()) {
      return Send(
          res, 400,
          dashboard::RenderErrorPage(frame, "参数错误 / bad request", Describe(key.status())));
    }
    StatusOr<dashboard::RefundForm> form =
        dashboard::ParseRefundForm(req.params, ctx_.config->settings.max_total_fee_fen);
    if (!form.ok()) return OrderFailed(res, std::move(frame), *key, form.status());
    if (ids_ == nullptr && !form->out_refund_no) {
      return OrderFailed(res, std::move(frame), *key,
                         Status(ErrorCode::kMissingField,
                                "out_refund_no is required: this sandbox cannot generate one"));
    }
    RefundAsk ask;
    ask.merchantno = key->merchantno;
    ask.out_trade_no = key->out_trade_no;
    ask.out_refund_no = form->out_refund_no;
    ask.fee_fen = form->fee_fen;
    StatusOr<RefundResult> result = RefundOrder(ctx_, *ids_, ask);
    if (!result.ok()) return OrderFailed(res, std::move(frame), *key, result.status());
    Redirect(res, dashboard::OrderHref(key->merchantno, key->out_trade_no),
             "退款 " + result->refund.out_refund_no + " ¥" +
                 dashboard::Yuan2(result->refund.refund_fee) + " " +
                 std::string(ToString(result->refund.status)));
  }

  void Resend(const httplib::Request& req, httplib::Response& res, Frame frame) {
    const std::string key = req.get_param_value("key");
    const std::string from = req.get_param_value("from");
    if (key.empty()) {
      return Send(res, 400,
                  dashboard::RenderErrorPage(frame, "参数错误 / bad request",
                                             "key is required (a notify_id or id)"));
    }
    if (from != "order" && from != "notifications") {
      return Send(res, 400,
                  dashboard::RenderErrorPage(
                      frame, "参数错误 / bad request",
                      "from must be order or notifications, got \"" + from.substr(0, 32) + "\""));
    }
    StatusOr<Notification> n = ctx_.store->ResendNotification(key, ctx_.clock->NowMicros());
    if (!n.ok()) {
      if (n.status().code() == ErrorCode::kInternal) return Internal(res, frame);
      return Send(
          res, HttpStatusFor(n.status().code()),
          dashboard::RenderErrorPage(frame, "不能重发 / cannot resend", Describe(n.status())));
    }
    const std::string flash = "通知 #" + std::to_string(n->id) + " 已重新排队 / queued again";
    if (from == "order")
      return Redirect(res, dashboard::OrderHref(n->merchantno, n->out_trade_no), flash);
    Redirect(res, std::string(kBasePath) + "/notifications", flash);
  }

  void ResendAll(const httplib::Request& req, httplib::Response& res, Frame frame) {
    const std::string name = req.get_param_value("state");
    std::optional<NotifyState> state = ParseNotifyState(name);
    if (state != NotifyState::kFailed && state != NotifyState::kBlocked) {
      frame.flash =
          Describe(Status(ErrorCode::kInvalidField,
                          "state must be failed or blocked, got \"" + name.substr(0, 32) + "\""));
      frame.flash_error = true;
      return NotificationsPage(req, res, std::move(frame), 400);
    }
    StatusOr<int64_t> resent = ctx_.store->ResendNotifications(*state, 0, ctx_.clock->NowMicros());
    if (!resent.ok()) return Internal(res, frame);
    Redirect(res, std::string(kBasePath) + "/notifications",
             std::to_string(*resent) + " 条 " + name + " 通知已重新排队 / queued again");
  }

  void AdvanceClock(const httplib::Request& req, httplib::Response& res, Frame frame) {
    if (ctx_.sandbox_clock == nullptr) {
      return Send(res, 409,
                  dashboard::RenderErrorPage(frame, "时钟不能调整 / fixed clock",
                                             "this sandbox's clock cannot be advanced"));
    }
    StatusOr<int64_t> us = dashboard::ParseAdvanceSeconds(req.params);
    if (!us.ok()) {
      frame.flash = Describe(us.status());
      frame.flash_error = true;
      return ClockPage(req, res, std::move(frame), 400);
    }
    Status st = ctx_.sandbox_clock->AdvanceMicros(*us);
    if (!st.ok()) {
      frame.flash = Describe(st);
      frame.flash_error = true;
      return ClockPage(req, res, std::move(frame), HttpStatusFor(st.code()));
    }
    Redirect(res, std::string(kBasePath) + "/clock",
             "时钟已快进 / advanced by " + req.get_param_value("seconds") + " s");
  }

  void ResetClock(const httplib::Request&, httplib::Response& res, Frame frame) {
    if (ctx_.sandbox_clock == nullptr) {
      return Send(res, 409,
                  dashboard::RenderErrorPage(frame, "时钟不能调整 / fixed clock",
                                             "this sandbox's clock cannot be reset"));
    }
    const int64_t removed_us = ctx_.sandbox_clock->ResetOffset();
    Redirect(res, std::string(kBasePath) + "/clock",
             "时钟已复位 / reset (removed " + std::to_string(removed_us / 1'000'000) + " s)");
  }

  const SandboxContext ctx_;
  const std::string token_;
  const std::string csrf_;
  std::unique_ptr<Random> ids_;  // null when the context has no Random
};

}  // namespace

void RegisterDashboardRoutes(httplib::Server& server, const SandboxContext& ctx,
                             const DashboardOptions& options) {
  Dashboard::Register(server, std::make_shared<Dashboard>(ctx, options));
}

}  // namespace vkspay::sandbox
