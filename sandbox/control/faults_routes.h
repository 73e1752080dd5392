// The control API of fault injection, under /_sandbox/faults/ (not part of
// VksPay). JSON in and out, with the answers and errors of every /_sandbox/
// route (control_http.h):
//
//   GET    /_sandbox/faults/rules {"ok":true,"profile":..,"rules":[{..rule..,"source","fired"}]}
//   POST   /_sandbox/faults/rules              body: one rule (rule.h)  → {"ok":true,"id":"rule-1"}
//   DELETE /_sandbox/faults/rules/<id>         {"ok":true}; 404 NOT_FOUND
//   POST   /_sandbox/faults/clear              removes runtime rules, profile → strict
//   GET    /_sandbox/faults/log?since_seq=&limit=
//                                              {"ok":true,"last_seq":N,"faults":[InjectedFault...]}
//   GET    /_sandbox/faults/profile            {"ok":true,"profile":..,"profiles":[names]}
//   POST   /_sandbox/faults/profile            body {"name":"realistic"} → {"ok":true,"profile":..}
//   GET    /_sandbox/faults/merchants          {"ok":true,"suspended":[{"merchantno",
//                                                "consecutive_failures"}]}
//   POST   /_sandbox/faults/merchants/<no>/reset  {"ok":true,"was_suspended":bool}
//   GET    /_sandbox/faults/magic_amounts      {"ok":true,"enabled":..,"amounts":[...]}
//
// Errors: {"ok":false,"err_code":"INVALID_FIELD","message":"rule.action.kind: expected ..."}
// with 400 (bad input), 401 (guard refused), 404 (no such rule or profile).
#ifndef VKSPAY_SANDBOX_CONTROL_FAULTS_ROUTES_H_
#define VKSPAY_SANDBOX_CONTROL_FAULTS_ROUTES_H_

#include <functional>

#include "sandbox/faults/fault_engine.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace vkspay::sandbox {

// Returns true when the request may use the control API (control::Authorized
// with the control token); false answers 401 UNAUTHORIZED.
using RequestGuard = std::function<bool(const httplib::Request&)>;

// Registers the routes. `engine` must outlive the server; a null guard lets
// every request through.
void RegisterFaultRoutes(httplib::Server& server, FaultEngine& engine, RequestGuard guard);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONTROL_FAULTS_ROUTES_H_
