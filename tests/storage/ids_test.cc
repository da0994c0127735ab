#include "storage/ids.h"

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace mailroom::storage {
namespace {

TEST(NewIdTest, IsCanonicalVersion7WithRfcVariant) {
  const std::string id = NewId();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_TRUE(IsValidId(id)) << id;
  EXPECT_EQ(id[14], '7') << id;                                          // version nibble
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant 10xx
  EXPECT_EQ(id, absl::AsciiStrToLower(id));
}

TEST(NewIdTest, StrictlyIncreasingAndUnique) {
  std::vector<std::string> ids;
  for (int i = 0; i < 100000; ++i) ids.push_back(NewId());
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
}

TEST(NewIdTest, UniqueAcrossThreads) {
  absl::Mutex mu;
  std::set<std::string> all;
  std::vector<std::thread> threads;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < kPerThread; ++i) mine.push_back(NewId());
      EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
      absl::MutexLock lock(&mu);
      all.insert(mine.begin(), mine.end());
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(NewIdTest, CarriesTheCurrentTime) {
  const absl::Time before = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  const std::string id = NewId();
  const absl::Time after = absl::Now();
  absl::StatusOr<absl::Time> time = IdTime(id);
  ASSERT_TRUE(time.ok()) << time.status();
  // Monotonic ids may run ahead of the clock only by carrying, which takes 2^73 ids.
  EXPECT_GE(*time, before);
  EXPECT_LE(*time, after);
}

TEST(IdTimeTest, SortsByTime) {
  // Ids made from later timestamps sort later as strings, whatever their random bits.
  EXPECT_EQ(*IdTime("00000000-0000-7000-8000-000000000001"), absl::UnixEpoch());
  EXPECT_EQ(*IdTime("0190a5c4-1f00-7fff-bfff-ffffffffffff"), absl::FromUnixMillis(0x0190a5c41f00));
  EXPECT_LT(std::string("0190a5c4-1f00-7fff-bfff-ffffffffffff"),
            std::string("0190a5c4-1f01-7000-8000-000000000000"));
}

TEST(IdTimeTest, RejectsOtherVersionsAndGarbage) {
  EXPECT_FALSE(IdTime("0190a5c4-1f00-4fff-bfff-ffffffffffff").ok());
  EXPECT_FALSE(IdTime("not-an-id").ok());
  EXPECT_FALSE(IsValidId("0190a5c41f007fffbfffffffffffffff"));
  EXPECT_FALSE(IsValidId("0190a5c4-1f00-7fff-bfff-fffffffffffg"));
  EXPECT_TRUE(IsValidId("0190A5C4-1F00-7FFF-BFFF-FFFFFFFFFFFF"));
}

}  // namespace
}  // namespace mailroom::storage
