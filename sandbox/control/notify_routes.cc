#include "sandbox/control/notify_routes.h"

#include <httplib.h>

#include <cmath>

#include "sandbox/control/control_http.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {
namespace {

using control::Guarded;
using control::IntParam;
using control::Json;
using control::Reply;
using control::ReplyError;

std::string TimeOrEmpty(int64_t unix_seconds) {
  return unix_seconds > 0 ? FormatDisplayTime(unix_seconds) : "";
}

// Floor division, so times before a whole second still format right.
int64_t SecondsOf(int64_t us) { return us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000); }

Json NotificationJson(const Notification& n) {
  Json j;
  j["id"] = n.id;
  j["notify_id"] = n.notify_id;
  j["type"] = n.type;
  j["merchantno"] = n.merchantno;
  j["out_trade_no"] = n.out_trade_no;
  j["out_refund_no"] = n.out_refund_no;
  j["notify_url"] = n.notify_url;
  j["delivered_to"] = n.delivered_to;
  j["state"] = std::string(ToString(n.state));
  j["attempts"] = n.attempts;
  j["total_attempts"] = n.total_attempts;
  j["next_attempt_at"] =
      n.state == NotifyState::kPending ? FormatDisplayTime(SecondsOf(n.next_attempt_us)) : "";
  j["next_attempt_us"] = n.next_attempt_us;
  j["created_at"] = TimeOrEmpty(n.created_at);
  j["updated_at"] = TimeOrEmpty(n.updated_at);
  j["acked_at"] = TimeOrEmpty(n.acked_at);
  j["last_error"] = n.last_error;
  Json payload = Json::parse(n.payload, nullptr, /*allow_exceptions=*/false);
  j["payload"] = payload.is_discarded() ? Json::object() : std::move(payload);
  // The fault injection plan (docs/faults.md), null when none.
  Json plan = Json::parse(n.fault_plan, nullptr, /*allow_exceptions=*/false);
  j["fault_plan"] = plan.is_object() ? std::move(plan) : Json();
  return j;
}

Json AttemptJson(const NotifyAttempt& a) {
  Json j;
  j["n"] = a.n;
  j["at"] = FormatDisplayTime(SecondsOf(a.at_us));
  j["at_us"] = a.at_us;
  j["url"] = a.url;
  j["http_status"] = a.http_status;
  j["latency_ms"] = static_cast<double>(a.latency_us) / 1000.0;
  j["response_head"] = a.response_head;
  j["error"] = a.error;
  j["acked"] = a.acked;
  return j;
}

Json ClockJson(const SandboxContext& ctx) {
  const int64_t now_us = ctx.clock->NowMicros();
  const int64_t offset_us = ctx.sandbox_clock != nullptr ? ctx.sandbox_clock->offset_us() : 0;
  Json j;
  j["ok"] = true;
  j["now"] = SecondsOf(now_us);
  j["now_us"] = now_us;
  j["time"] = FormatDisplayTime(SecondsOf(now_us));
  j["offset_s"] = static_cast<double>(offset_us) / 1e6;
  j["time_scale"] = ctx.config->settings.time_scale;
  j["notify_profile"] = ctx.config->settings.notify_profile;
  return j;
}

// The JSON object body of a POST ("" counts as {}). Errors: kInvalidJson.
StatusOr<Json> ObjectBody(const httplib::Request& req) {
  if (req.body.empty()) return Json::object();
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Status(ErrorCode::kInvalidJson, "body must be a JSON object");
  }
  return body;
}

}  // namespace

void RegisterNotifyRoutes(httplib::Server& server, const SandboxContext& ctx,
                          const ControlOptions& options) {
  const std::string token = options.token;

  server.Get("/_sandbox/notifications",
             Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
               NotificationFilter filter;
               filter.merchantno = req.get_param_value("merchantno");
               filter.out_trade_no = req.get_param_value("out_trade_no");
               if (req.has_param("state")) {
                 filter.state = ParseNotifyState(req.get_param_value("state"));
                 if (!filter.state) {
                   return ReplyError(res, Status(ErrorCode::kInvalidField,
                                                 "state must be pending, acked, failed or "
                                                 "blocked, got \"" +
                                                     req.get_param_value("state") + "\""));
                 }
               }
               StatusOr<int64_t> limit = IntParam(req, "limit", 100, 1, 10000);
               if (!limit.ok()) return ReplyError(res, limit.status());
               filter.limit = *limit;
               StatusOr<std::vector<Notification>> list = ctx.store->ListNotifications(filter);
               if (!list.ok()) return ReplyError(res, list.status());
               StatusOr<std::map<NotifyState, int64_t>> counts = ctx.store->CountNotifications();
               if (!counts.ok()) return ReplyError(res, counts.status());
               Json j;
               j["ok"] = true;
               j["notifications"] = Json::array();
               for (const Notification& n : *list)
                 j["notifications"].push_back(NotificationJson(n));
               j["counts"] = Json::object();
               for (const auto& [state, count] : *counts) {
                 j["counts"][std::string(ToString(state))] = count;
               }
               Reply(res, 200, j);
             }));

  server.Post("/_sandbox/notifications/resend",
              Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
                StatusOr<Json> body = ObjectBody(req);
                if (!body.ok()) return ReplyError(res, body.status());
                std::string state_name = "failed";
                if (auto it = body->find("state"); it != body->end()) {
                  if (!it->is_string()) {
                    return ReplyError(res, Status(ErrorCode::kInvalidField,
                                                  "state must be \"failed\" or \"blocked\""));
                  }
                  state_name = it->get<std::string>();
                }
                std::optional<NotifyState> state = ParseNotifyState(state_name);
                if (state != NotifyState::kFailed && state != NotifyState::kBlocked) {
                  return ReplyError(res, Status(ErrorCode::kInvalidField,
                                                "state must be \"failed\" or \"blocked\", got \"" +
                                                    state_name + "\""));
                }
                int64_t since = 0;
                if (auto it = body->find("since"); it != body->end() && !it->is_null()) {
                  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
                    return ReplyError(res, Status(ErrorCode::kInvalidField,
                                                  "since must be unix seconds (an integer >= 0)"));
                  }
                  since = it->get<int64_t>();
                }
                StatusOr<int64_t> resent =
                    ctx.store->ResendNotifications(*state, since, ctx.clock->NowMicros());
                if (!resent.ok()) return ReplyError(res, resent.status());
                Json j;
                j["ok"] = true;
                j["resent"] = *resent;
                Reply(res, 200, j);
              }));

  server.Post(R"(/_sandbox/notifications/([A-Za-z0-9]+)/resend)",
              Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
                StatusOr<Notification> n =
                    ctx.store->ResendNotification(req.matches[1].str(), ctx.clock->NowMicros());
                if (!n.ok()) return ReplyError(res, n.status());
                Json j;
                j["ok"] = true;
                j["notification"] = NotificationJson(*n);
                Reply(res, 200, j);
              }));

  server.Get(R"(/_sandbox/notifications/([A-Za-z0-9]+))",
             Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
               StatusOr<Notification> n = ctx.store->GetNotification(req.matches[1].str());
               if (!n.ok()) return ReplyError(res, n.status());
               StatusOr<std::vector<NotifyAttempt>> log = ctx.store->ListNotifyAttempts(n->id);
               if (!log.ok()) return ReplyError(res, log.status());
               Json notification = NotificationJson(*n);
               notification["attempt_log"] = Json::array();
               for (const NotifyAttempt& a : *log) {
                 notification["attempt_log"].push_back(AttemptJson(a));
               }
               Json j;
               j["ok"] = true;
               j["notification"] = std::move(notification);
               Reply(res, 200, j);
             }));

  server.Get("/_sandbox/clock",
             Guarded(token, [ctx](const httplib::Request&, httplib::Response& res) {
               Reply(res, 200, ClockJson(ctx));
             }));

  server.Post("/_sandbox/clock/advance",
              Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
                if (ctx.sandbox_clock == nullptr) {
                  return ReplyError(
                      res,
                      Status(ErrorCode::kInvalidField, "this sandbox's clock cannot be advanced"),
                      409);
                }
                StatusOr<Json> body = ObjectBody(req);
                if (!body.ok()) return ReplyError(res, body.status());
                auto it = body->find("seconds");
                if (it == body->end()) {
                  return ReplyError(
                      res, Status(ErrorCode::kMissingField, "seconds is required (a number >= 0)"));
                }
                const double seconds = it->is_number() ? it->get<double>() : -1;
                // At most ten years at a time, so the microseconds cannot overflow.
                if (!std::isfinite(seconds) || seconds < 0 || seconds > 10 * 366 * 86400.0) {
                  return ReplyError(res, Status(ErrorCode::kInvalidField,
                                                "seconds must be a number >= 0 (fractions "
                                                "allowed, at most ten years), got " +
                                                    ShowJson(*it) +
                                                    "; POST /_sandbox/clock/reset puts the clock "
                                                    "back to the system time"));
                }
                Status st = ctx.sandbox_clock->AdvanceMicros(std::llround(seconds * 1e6));
                if (!st.ok()) return ReplyError(res, st);
                Reply(res, 200, ClockJson(ctx));
              }));

  // The way back after advances (the clock never moves back otherwise):
  // vkspay-conformance calls it when it ends, so a sandbox it graded accepts
  // real timestamps again.
  server.Post("/_sandbox/clock/reset",
              Guarded(token, [ctx](const httplib::Request&, httplib::Response& res) {
                if (ctx.sandbox_clock == nullptr) {
                  return ReplyError(
                      res, Status(ErrorCode::kInvalidField, "this sandbox's clock cannot be reset"),
                      409);
                }
                const int64_t removed_us = ctx.sandbox_clock->ResetOffset();
                Json j = ClockJson(ctx);
                j["removed_s"] = static_cast<double>(removed_us) / 1e6;
                Reply(res, 200, j);
              }));
}

}  // namespace vkspay::sandbox
