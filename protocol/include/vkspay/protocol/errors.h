// The error catalogue: every failure the sandbox (and the client) can report.
//
// Each entry has a stable English `err_code` that is never renamed (scripts and
// the conformance suite match on it) and a short Chinese title used at the
// start of `return_msg`, as VksPay's own messages are Chinese. docs/errors.md
// lists every entry with an example; a test keeps the two in step.
#ifndef VKSPAY_PROTOCOL_ERRORS_H_
#define VKSPAY_PROTOCOL_ERRORS_H_

#include <span>
#include <string_view>

namespace vkspay {

enum class ErrorCode {
  kOk = 0,
  // Envelope: the request as a whole.
  kInvalidContentType,
  kInvalidJson,
  kNotFlat,
  kDuplicateField,
  kMissingField,
  kInvalidField,
  kUnsupportedVersion,
  kUnknownMethod,
  kUnknownMerchant,
  kSignError,
  kTimestampExpired,
  kNonceReplayed,
  kBodyTooLarge,
  // Orders.
  kInvalidAmount,
  kOutTradeNoUsed,
  kOrderNotExist,
  kOrderPaid,
  kOrderClosed,
  kOrderNotPaid,
  kOrderPayError,
  kUserPaying,
  kAuthCodeInvalid,
  kNotifyUrlRefused,
  // Refunds.
  kRefundNotAllowed,
  kRefundExceedsPaid,
  kOutRefundNoUsed,
  kRefundNotExist,
  kRefundFailed,
  // Merchant standing.
  kMerchantSuspended,
  // Sandbox control API and internals.
  kUnauthorized,
  kNotFound,
  kInternal,
  // Client side only: a transport failure the client library reports; no
  // server sends these.
  kConnectError,
  kTimeout,
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view err_code;  // stable machine id, e.g. "SIGN_ERROR"
  std::string_view title;     // Chinese, e.g. "签名错误"
  std::string_view meaning;   // English one-liner for docs and CLI output
};

// The whole catalogue in declaration order (kOk excluded).
std::span<const ErrorInfo> AllErrors();
const ErrorInfo& InfoFor(ErrorCode code);
std::string_view ErrCodeName(ErrorCode code);

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_ERRORS_H_
