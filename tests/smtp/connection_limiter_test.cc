#include "smtp/connection_limiter.h"

#include <utility>

#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

using Verdict = ConnectionLimiter::Verdict;

TEST(ConnectionLimiterTest, RefusesOverTheTotalLimit) {
  ConnectionLimiter limiter(/*max_total=*/2, /*max_per_address=*/0);
  auto a = limiter.TryAdmit("192.0.2.1");
  auto b = limiter.TryAdmit("192.0.2.2");
  auto c = limiter.TryAdmit("192.0.2.3");
  EXPECT_EQ(a.verdict, Verdict::kAdmitted);
  EXPECT_EQ(b.verdict, Verdict::kAdmitted);
  EXPECT_EQ(c.verdict, Verdict::kTooManyTotal);
  EXPECT_FALSE(c.slot.held());
  EXPECT_EQ(limiter.open(), 2);
}

TEST(ConnectionLimiterTest, RefusesOverThePerAddressLimitOnlyForThatAddress) {
  ConnectionLimiter limiter(/*max_total=*/10, /*max_per_address=*/1);
  auto first = limiter.TryAdmit("192.0.2.1");
  EXPECT_EQ(limiter.TryAdmit("192.0.2.1").verdict, Verdict::kTooManyFromAddress);
  auto other = limiter.TryAdmit("2001:db8::1");
  EXPECT_EQ(other.verdict, Verdict::kAdmitted);
  EXPECT_EQ(limiter.open(), 2);
}

TEST(ConnectionLimiterTest, ReleasingASlotGivesThePlaceBack) {
  ConnectionLimiter limiter(/*max_total=*/1, /*max_per_address=*/1);
  {
    auto held = limiter.TryAdmit("192.0.2.1");
    ASSERT_EQ(held.verdict, Verdict::kAdmitted);
    EXPECT_EQ(limiter.TryAdmit("192.0.2.1").verdict, Verdict::kTooManyTotal);
  }
  EXPECT_EQ(limiter.open(), 0);
  EXPECT_EQ(limiter.TryAdmit("192.0.2.1").verdict, Verdict::kAdmitted);
}

TEST(ConnectionLimiterTest, MovedSlotReleasesOnce) {
  ConnectionLimiter limiter(/*max_total=*/0, /*max_per_address=*/0);
  ConnectionLimiter::Slot outer;
  {
    auto admission = limiter.TryAdmit("192.0.2.1");
    outer = std::move(admission.slot);
    EXPECT_EQ(limiter.open(), 1);
  }
  EXPECT_EQ(limiter.open(), 1);  // the moved-from slot released nothing
  outer = ConnectionLimiter::Slot();
  EXPECT_EQ(limiter.open(), 0);
}

}  // namespace
}  // namespace mailroom::smtp
