#include "server/config/values.h"

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mailroom::config {
namespace {

TEST(ParseIntegerTest, AcceptsDecimalIntegers) {
  EXPECT_EQ(ParseInteger("42"), 42);
  EXPECT_EQ(ParseInteger("-3"), -3);
  EXPECT_EQ(ParseInteger(" 7 "), 7);
}

TEST(ParseIntegerTest, RejectsEverythingElse) {
  EXPECT_EQ(ParseInteger("lots"), std::nullopt);
  EXPECT_EQ(ParseInteger("4.5"), std::nullopt);
  EXPECT_EQ(ParseInteger("0x10"), std::nullopt);
  EXPECT_EQ(ParseInteger(""), std::nullopt);
  EXPECT_EQ(ParseInteger("99999999999999999999"), std::nullopt);
}

TEST(ParseBoolTest, AcceptsYamlAndShellSpellings) {
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("True"), true);
  EXPECT_EQ(ParseBool("yes"), true);
  EXPECT_EQ(ParseBool("1"), true);
  EXPECT_EQ(ParseBool("false"), false);
  EXPECT_EQ(ParseBool("OFF"), false);
  EXPECT_EQ(ParseBool("0"), false);
  EXPECT_EQ(ParseBool("maybe"), std::nullopt);
  EXPECT_EQ(ParseBool(""), std::nullopt);
}

TEST(ParseDurationTest, AcceptsUnitsFromLargestToSmallest) {
  EXPECT_EQ(ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(ParseDuration("10s"), absl::Seconds(10));
  EXPECT_EQ(ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(ParseDuration("1h"), absl::Hours(1));
  EXPECT_EQ(ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(ParseDuration("2m30s500ms"), absl::Milliseconds(150500));
  EXPECT_EQ(ParseDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("0s"), absl::ZeroDuration());
}

TEST(ParseDurationTest, RejectsMalformedDurations) {
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("10"), std::nullopt);    // No unit.
  EXPECT_EQ(ParseDuration("1.5s"), std::nullopt);  // Whole numbers only.
  EXPECT_EQ(ParseDuration("-5s"), std::nullopt);   // Never negative.
  EXPECT_EQ(ParseDuration("10 parsecs"), std::nullopt);
  EXPECT_EQ(ParseDuration("5d"), std::nullopt);     // No day unit.
  EXPECT_EQ(ParseDuration("30m1h"), std::nullopt);  // Out of order.
  EXPECT_EQ(ParseDuration("1m1m"), std::nullopt);   // Unit twice.
  EXPECT_EQ(ParseDuration("s"), std::nullopt);
  EXPECT_EQ(ParseDuration("9999999999h"), std::nullopt);  // Too many digits.
}

TEST(ParseByteSizeTest, AcceptsNumbersAndUnits) {
  EXPECT_EQ(ParseByteSize("1048576"), 1048576);
  EXPECT_EQ(ParseByteSize("0"), 0);
  EXPECT_EQ(ParseByteSize("512KiB"), 512 * 1024);
  EXPECT_EQ(ParseByteSize("4MiB"), 4 * 1024 * 1024);
  EXPECT_EQ(ParseByteSize("32MB"), 32 * 1000 * 1000);
  EXPECT_EQ(ParseByteSize("1GiB"), int64_t{1} << 30);
  EXPECT_EQ(ParseByteSize("2TB"), int64_t{2000} * 1000 * 1000 * 1000);
  EXPECT_EQ(ParseByteSize("100B"), 100);
  EXPECT_EQ(ParseByteSize("8 KiB"), 8 * 1024);
}

TEST(ParseByteSizeTest, RejectsMalformedSizes) {
  EXPECT_EQ(ParseByteSize(""), std::nullopt);
  EXPECT_EQ(ParseByteSize("MiB"), std::nullopt);
  EXPECT_EQ(ParseByteSize("12XB"), std::nullopt);
  EXPECT_EQ(ParseByteSize("1.5MiB"), std::nullopt);
  EXPECT_EQ(ParseByteSize("-1"), std::nullopt);
  EXPECT_EQ(ParseByteSize("4mib"), std::nullopt);  // Units are case-sensitive: mb is millibits.
  EXPECT_EQ(ParseByteSize("9000000TiB"), std::nullopt);  // Overflows int64.
}

TEST(IsHostPortTest, AcceptsHostsAndBracketedIpv6) {
  EXPECT_TRUE(IsHostPort("127.0.0.1:50051"));
  EXPECT_TRUE(IsHostPort("localhost:1"));
  EXPECT_TRUE(IsHostPort("0.0.0.0:65535"));
  EXPECT_TRUE(IsHostPort("[::1]:50051"));
  EXPECT_TRUE(IsHostPort("[::]:9090"));
}

TEST(IsHostPortTest, RejectsMissingOrInvalidParts) {
  EXPECT_FALSE(IsHostPort("localhost"));
  EXPECT_FALSE(IsHostPort(":50051"));
  EXPECT_FALSE(IsHostPort("localhost:"));
  EXPECT_FALSE(IsHostPort("localhost:0"));
  EXPECT_FALSE(IsHostPort("localhost:65536"));
  EXPECT_FALSE(IsHostPort("localhost:http"));
  EXPECT_FALSE(IsHostPort("::1:50051"));  // IPv6 needs brackets.
  EXPECT_FALSE(IsHostPort("[::1]50051"));
  EXPECT_FALSE(IsHostPort("my host:25"));
  EXPECT_FALSE(IsHostPort(""));
}

TEST(IsHostTest, AcceptsNamesAndAddressesWithoutPort) {
  EXPECT_TRUE(IsHost("127.0.0.1"));
  EXPECT_TRUE(IsHost("::"));
  EXPECT_TRUE(IsHost("mail.example.com"));
  EXPECT_FALSE(IsHost(""));
  EXPECT_FALSE(IsHost("bad host"));
  EXPECT_FALSE(IsHost("host:25x"));
}

TEST(FormatByteSizeTest, UsesTheLargestExactBinaryUnit) {
  EXPECT_EQ(FormatByteSize(32 * 1024 * 1024), "32MiB");
  EXPECT_EQ(FormatByteSize(1536), "1536 bytes");
  EXPECT_EQ(FormatByteSize(2048), "2KiB");
  EXPECT_EQ(FormatByteSize(1), "1 byte");
}

}  // namespace
}  // namespace mailroom::config
