// EXPECT_OK / ASSERT_OK for absl::Status and absl::StatusOr in GoogleTest, which (1.12) has
// none: on failure they print the status, code and message included.
//
// Thread-safety: as GoogleTest assertions.

#ifndef MAILROOM_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define MAILROOM_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace mailroom::testing {

inline ::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

template <typename T>
::testing::AssertionResult IsOk(const absl::StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}

}  // namespace mailroom::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::mailroom::testing::IsOk(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::mailroom::testing::IsOk(expr))

#endif  // MAILROOM_TESTS_SUPPORT_STATUS_MATCHERS_H_
