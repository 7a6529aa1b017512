// Expected-style results: fallible functions return Result<T>; exceptions are kept for
// programming errors and the few cases mapped to exit codes at the top (see cli/).
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace rollback {

struct Error {
  std::string message;
  // True when trying again may help (a timeout, a 429, a connection refused); adapters set
  // it so the executor's retry policy and `check` know whether a failure is transient.
  bool transient = false;
};

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(std::string message, bool transient = false) {
  return std::unexpected<Error>(Error{std::move(message), transient});
}

inline Status ok() { return {}; }

}  // namespace rollback

// Propagates the error of an expression yielding Result<T>/Status; evaluates to nothing.
#define RB_TRY(expr)                                                      \
  do {                                                                    \
    auto&& rb_try_result_ = (expr);                                       \
    if (!rb_try_result_) return std::unexpected(rb_try_result_.error()); \
  } while (0)
