#include "sandbox/control/faults_routes.h"

#include <httplib.h>

#include <cstdint>
#include <limits>

#include "nlohmann/json.hpp"
#include "sandbox/control/control_http.h"

namespace vkspay::sandbox {
namespace {

using control::IntParam;
using control::Json;
using control::Reply;
using control::ReplyError;

StatusOr<nlohmann::json> JsonBody(const httplib::Request& req) {
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Status(ErrorCode::kInvalidJson, "body must be a JSON object");
  }
  return body;
}

}  // namespace

void RegisterFaultRoutes(httplib::Server& server, FaultEngine& engine, RequestGuard guard) {
  FaultEngine* e = &engine;
  auto guarded = [guard](auto handler) {
    return [guard, handler](const httplib::Request& req, httplib::Response& res) {
      if (guard && !guard(req)) {
        ReplyError(res, Status(ErrorCode::kUnauthorized, control::UnauthorizedMessage(req)));
        return;
      }
      handler(req, res);
    };
  };

  server.Get("/_sandbox/faults/rules",
             guarded([e](const httplib::Request&, httplib::Response& res) {
               Json j;
               j["ok"] = true;
               j["profile"] = e->profile();
               j["rules"] = Json::array();
               for (const RuleState& r : e->ListRules()) {
                 Json rule = RuleJson(r.rule);
                 rule["source"] = r.source;
                 rule["fired"] = r.fired;
                 j["rules"].push_back(rule);
               }
               Reply(res, 200, j);
             }));

  server.Post(
      "/_sandbox/faults/rules", guarded([e](const httplib::Request& req, httplib::Response& res) {
        StatusOr<nlohmann::json> body = JsonBody(req);
        if (!body.ok()) return ReplyError(res, body.status());
        StatusOr<FaultRule> rule = ParseRuleJson("rule", *body);
        if (!rule.ok()) return ReplyError(res, rule.status());
        StatusOr<std::string> id = e->AddRule(*rule);
        if (!id.ok()) {
          return ReplyError(res, Status(id.status().code(), "rule." + id.status().message()));
        }
        Json j;
        j["ok"] = true;
        j["id"] = *id;
        Reply(res, 200, j);
      }));

  server.Delete(R"(/_sandbox/faults/rules/([^/]+))",
                guarded([e](const httplib::Request& req, httplib::Response& res) {
                  Status st = e->RemoveRule(req.matches[1].str());
                  if (!st.ok()) return ReplyError(res, st);
                  Json j;
                  j["ok"] = true;
                  Reply(res, 200, j);
                }));

  server.Post("/_sandbox/faults/clear",
              guarded([e](const httplib::Request&, httplib::Response& res) {
                e->Clear();
                Json j;
                j["ok"] = true;
                j["profile"] = e->profile();
                Reply(res, 200, j);
              }));

  server.Get("/_sandbox/faults/log",
             guarded([e](const httplib::Request& req, httplib::Response& res) {
               StatusOr<int64_t> since =
                   IntParam(req, "since_seq", 0, 0, std::numeric_limits<int64_t>::max());
               if (!since.ok()) return ReplyError(res, since.status());
               StatusOr<int64_t> limit = IntParam(req, "limit", 1000, 0, 10000);
               if (!limit.ok()) return ReplyError(res, limit.status());
               Json j;
               j["ok"] = true;
               j["last_seq"] = e->last_seq();
               j["faults"] = Json::array();
               for (const InjectedFault& f :
                    e->Log(static_cast<uint64_t>(*since), static_cast<size_t>(*limit))) {
                 j["faults"].push_back(InjectedFaultJson(f));
               }
               Reply(res, 200, j);
             }));

  server.Get("/_sandbox/faults/profile",
             guarded([e](const httplib::Request&, httplib::Response& res) {
               Json j;
               j["ok"] = true;
               j["profile"] = e->profile();
               j["profiles"] = e->profile_names();
               Reply(res, 200, j);
             }));

  server.Post("/_sandbox/faults/profile",
              guarded([e](const httplib::Request& req, httplib::Response& res) {
                StatusOr<nlohmann::json> body = JsonBody(req);
                if (!body.ok()) return ReplyError(res, body.status());
                auto name = body->find("name");
                if (name == body->end() || !name->is_string()) {
                  return ReplyError(res, Status(ErrorCode::kMissingField,
                                                "name is required: a profile name such as "
                                                "\"strict\" or \"realistic\""));
                }
                Status st = e->SetProfile(name->get<std::string>());
                if (!st.ok()) return ReplyError(res, st);
                Json j;
                j["ok"] = true;
                j["profile"] = e->profile();
                Reply(res, 200, j);
              }));

  server.Get("/_sandbox/faults/merchants",
             guarded([e](const httplib::Request&, httplib::Response& res) {
               Json j;
               j["ok"] = true;
               j["suspended"] = Json::array();
               for (const auto& [no, failures] : e->SuspendedMerchants()) {
                 j["suspended"].push_back({{"merchantno", no}, {"consecutive_failures", failures}});
               }
               Reply(res, 200, j);
             }));

  server.Post(R"(/_sandbox/faults/merchants/([^/]+)/reset)",
              guarded([e](const httplib::Request& req, httplib::Response& res) {
                Json j;
                j["ok"] = true;
                j["was_suspended"] = e->ResetMerchant(req.matches[1].str());
                Reply(res, 200, j);
              }));

  server.Get("/_sandbox/faults/magic_amounts",
             guarded([e](const httplib::Request&, httplib::Response& res) {
               Json j;
               j["ok"] = true;
               j["enabled"] = e->magic_amounts_enabled();
               j["amounts"] = e->magic_amounts().ToJson()["amounts"];
               Reply(res, 200, j);
             }));
}

}  // namespace vkspay::sandbox
