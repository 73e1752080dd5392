// Status and StatusOr: how every fallible call in vkspay reports failure.
//
// A Status is either OK or carries an ErrorCode from the catalogue
// (errors.h) and a message that says which field, what was expected and what
// arrived. Our own functions never throw across a boundary; they return one of
// these. Both types are values: cheap to move, safe to copy, not thread-safe
// to mutate concurrently (like any value).
#ifndef VKSPAY_PROTOCOL_STATUS_H_
#define VKSPAY_PROTOCOL_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

#include "vkspay/protocol/errors.h"

namespace vkspay {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ERR_CODE: message", for logs and test failure output.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "StatusOr needs a value or a non-OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vkspay

#define VKSPAY_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::vkspay::Status vkspay_status_ = (expr); \
    if (!vkspay_status_.ok()) return vkspay_status_; \
  } while (0)

#endif  // VKSPAY_PROTOCOL_STATUS_H_
