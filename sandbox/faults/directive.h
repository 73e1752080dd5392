// Per-request fault directives: the X-Sandbox-Fault header and the `attach`
// field, so that any client (even one that can only set body fields, like the
// official sample) can ask for a failure.
//
// Grammar (whitespace around separators is ignored; names are lowercase):
//
//   directive := "sandbox:" item (";" item)* [";"]
//   item      := key "=" value ("," value)*
//   key       := "api" | "pay" | "notify" | "refund"
//   value     := name (":" arg)* ["@" ("before" | "after")]   ("@" only for api)
//   duration  := digits ("ms" | "s" | "m")                    e.g. 500ms, 5s, 2m
//
//   pay=fail                         pay.fail
//   pay=cancel                       pay.cancel
//   pay=userpaying[:<dur>[:success|fail|cancel]]   pay.userpaying (5s, success)
//   pay=expire:<dur>                 pay.expire_early
//   pay=late[:<dur>]                 pay.late_success (10s after the close)
//   notify=dup | dup<N>              notify.duplicate: delivered 2 (or N, 2-10)
//                                    times within one second
//   notify=times:<N>[:<dur>]         notify.times (interval 15s)
//   notify=drop:<N>                  notify.drop_first
//   notify=delay:<dur>               notify.delay
//   notify=badsign                   notify.bad_sign
//   notify=tamper[:<fen>]            notify.tamper_amount (+100 fen)
//   notify=refundfirst[:<dur>]       notify.refund_first (held up to 60s)
//   notify=replay:<dur>              notify.replay
//   api=fail[:<ERR_CODE>]            api.fail (SYSTEM_ERROR)
//   api=http:<429|500|502|503>[:html|empty]   api.http_status
//   api=delay:<dur>                  api.delay
//   api=close                        api.close (after the method ran)
//   api=truncate[:<bytes>]           api.truncate (half the answer)
//   api=notjson[:html|text]          api.not_json
//   api=wrongamount[:<fen>]          api.wrong_amount (+1 fen)
//   refund=processing[:<dur>[:success|fail]]  refund.processing (10s, success)
//   refund=fail                      refund.fail
//
// Example: attach = "sandbox:notify=dup2,drop:2;pay=fail", or the header
// "X-Sandbox-Fault: api=close@before". Seconds-valued arguments need whole
// seconds ("1500ms" is refused there). The attach is covered by the request
// signature, so the API handler must read directives from the verified attach
// only (after VerifySign); the header is not signed and is meant for test code.
#ifndef VKSPAY_SANDBOX_FAULTS_DIRECTIVE_H_
#define VKSPAY_SANDBOX_FAULTS_DIRECTIVE_H_

#include <string_view>
#include <vector>

#include "sandbox/faults/fault.h"

namespace vkspay::sandbox {

inline constexpr char kFaultHeader[] = "X-Sandbox-Fault";
inline constexpr char kDirectivePrefix[] = "sandbox:";

// Parses an attach value. An attach that does not start with "sandbox:" is
// ordinary merchant data: the answer is an empty list, never an error.
// Errors: kInvalidField "attach: sandbox directive at column N: expected ...,
// got ..." (columns count bytes from 1 over the whole attach).
StatusOr<std::vector<Fault>> ParseAttachDirective(std::string_view attach);

// Parses an X-Sandbox-Fault header value; the "sandbox:" prefix is optional
// and an empty value means no directive. Errors: kInvalidField
// "X-Sandbox-Fault: sandbox directive at column N: ...".
StatusOr<std::vector<Fault>> ParseHeaderDirective(std::string_view header);

// The directive form of a fault ("notify=dup3", "api=close@after"), for logs
// and docs; ParseHeaderDirective of it gives the fault back.
std::string DirectiveText(const Fault& fault);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_DIRECTIVE_H_
