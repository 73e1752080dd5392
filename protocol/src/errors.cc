#include "vkspay/protocol/errors.h"

#include <array>

#include "vkspay/protocol/status.h"

namespace vkspay {
namespace {

constexpr std::array kErrors = {
    ErrorInfo{ErrorCode::kInvalidContentType, "INVALID_CONTENT_TYPE", "请求格式错误",
              "Content-Type is not application/json"},
    ErrorInfo{ErrorCode::kInvalidJson, "INVALID_JSON", "请求格式错误",
              "the body is not a valid JSON object (or not valid UTF-8)"},
    ErrorInfo{ErrorCode::kNotFlat, "NOT_FLAT", "请求格式错误",
              "a field's value is an object or an array; the body must be flat"},
    ErrorInfo{ErrorCode::kDuplicateField, "DUPLICATE_FIELD", "请求格式错误",
              "the same field name appears twice in the body"},
    ErrorInfo{ErrorCode::kMissingField, "MISSING_FIELD", "缺少参数",
              "a required field is absent or empty"},
    ErrorInfo{ErrorCode::kInvalidField, "INVALID_FIELD", "参数错误",
              "a field has the wrong type or format"},
    ErrorInfo{ErrorCode::kUnsupportedVersion, "UNSUPPORTED_VERSION", "版本号错误",
              "version is not \"2.0\""},
    ErrorInfo{ErrorCode::kUnknownMethod, "UNKNOWN_METHOD", "接口方法不存在",
              "method is not one of the five VksPay methods"},
    ErrorInfo{ErrorCode::kUnknownMerchant, "UNKNOWN_MERCHANT", "商户号不存在",
              "merchantno is not configured"},
    ErrorInfo{ErrorCode::kSignError, "SIGN_ERROR", "签名错误",
              "sign does not match the canonical string signed with the merchant key"},
    ErrorInfo{ErrorCode::kTimestampExpired, "TIMESTAMP_EXPIRED", "请求已过期",
              "timestamp is outside the allowed window around the server clock"},
    ErrorInfo{ErrorCode::kNonceReplayed, "NONCE_REPLAYED", "重复请求",
              "the exact same signed request was already received in the window"},
    ErrorInfo{ErrorCode::kBodyTooLarge, "BODY_TOO_LARGE", "请求过大",
              "the body or one of its fields exceeds a configured limit"},
    ErrorInfo{ErrorCode::kInvalidAmount, "INVALID_AMOUNT", "金额错误",
              "an amount is not yuan with at most two decimals within the limits"},
    ErrorInfo{ErrorCode::kOutTradeNoUsed, "OUT_TRADE_NO_USED", "商户订单号重复",
              "out_trade_no already names an order with another amount"},
    ErrorInfo{ErrorCode::kOrderNotExist, "ORDER_NOT_EXIST", "订单不存在",
              "no order with this out_trade_no for this merchant"},
    ErrorInfo{ErrorCode::kOrderPaid, "ORDER_PAID", "订单已支付",
              "the order is already paid, so it cannot be created or paid again"},
    ErrorInfo{ErrorCode::kOrderClosed, "ORDER_CLOSED", "订单已关闭",
              "the order is closed (expired or cancelled)"},
    ErrorInfo{ErrorCode::kOrderNotPaid, "ORDER_NOT_PAID", "订单未支付",
              "the order exists but is not paid (orderquery answers FAIL)"},
    ErrorInfo{ErrorCode::kOrderPayError, "ORDER_PAY_ERROR", "支付失败",
              "the buyer's payment failed; the order cannot be paid any more"},
    ErrorInfo{ErrorCode::kUserPaying, "USERPAYING", "用户支付中",
              "micropay: the buyer has not confirmed on the phone yet; poll orderquery"},
    ErrorInfo{ErrorCode::kAuthCodeInvalid, "AUTH_CODE_INVALID", "付款码无效",
              "auth_code is not an 18-digit WeChat (10-15) or Alipay (25-30) pay code"},
    ErrorInfo{ErrorCode::kNotifyUrlRefused, "NOTIFY_URL_REFUSED", "通知地址不允许",
              "notify_url is not an http(s) URL the sandbox may call"},
    ErrorInfo{ErrorCode::kRefundNotAllowed, "REFUND_NOT_ALLOWED", "订单不可退款",
              "only paid orders can be refunded"},
    ErrorInfo{ErrorCode::kRefundExceedsPaid, "REFUND_EXCEEDS_PAID", "退款金额超出",
              "refunds would add up to more than the paid amount"},
    ErrorInfo{ErrorCode::kOutRefundNoUsed, "OUT_REFUND_NO_USED", "退款单号重复",
              "out_refund_no already names a refund with another amount or order"},
    ErrorInfo{ErrorCode::kRefundNotExist, "REFUND_NOT_EXIST", "退款单不存在",
              "no refund with this out_refund_no for this order"},
    ErrorInfo{ErrorCode::kRefundFailed, "REFUND_FAILED", "退款失败",
              "the refund failed at the wallet (the sandbox injected refund.fail); retry later"},
    ErrorInfo{ErrorCode::kMerchantSuspended, "MERCHANT_SUSPENDED", "商户已暂停",
              "the merchant is suspended after too many failed notification deliveries"},
    ErrorInfo{ErrorCode::kUnauthorized, "UNAUTHORIZED", "未授权",
              "the control API needs its token (Authorization: Bearer ...)"},
    ErrorInfo{ErrorCode::kNotFound, "NOT_FOUND", "不存在",
              "no such control API resource"},
    ErrorInfo{ErrorCode::kInternal, "SYSTEM_ERROR", "系统错误",
              "the sandbox failed internally (database error, bug); retry later"},
    ErrorInfo{ErrorCode::kConnectError, "CONNECT_ERROR", "无法连接",
              "client side: the server could not be reached (refused, unreachable, TLS) or "
              "dropped the connection before answering"},
    ErrorInfo{ErrorCode::kTimeout, "TIMEOUT", "超时",
              "client side: no answer within the client's timeout"},
};

constexpr ErrorInfo kOkInfo{ErrorCode::kOk, "OK", "成功", "no error"};

}  // namespace

std::span<const ErrorInfo> AllErrors() { return kErrors; }

const ErrorInfo& InfoFor(ErrorCode code) {
  for (const ErrorInfo& info : kErrors) {
    if (info.code == code) return info;
  }
  return kOkInfo;
}

std::string_view ErrCodeName(ErrorCode code) { return InfoFor(code).err_code; }

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(ErrCodeName(code_)) + ": " + message_;
}

}  // namespace vkspay
