#include "server/routing/ip_network.h"

#include "gtest/gtest.h"

namespace mailroom::server::routing {
namespace {

bool Contains(const char* network, const char* address) {
  absl::StatusOr<IpNetwork> parsed = ParseIpNetwork(network);
  EXPECT_TRUE(parsed.ok()) << network << ": " << parsed.status();
  std::optional<IpAddress> ip = ParseIpAddress(address);
  EXPECT_TRUE(ip.has_value()) << address;
  return parsed.ok() && ip.has_value() && NetworkContains(*parsed, *ip);
}

TEST(IpNetworkTest, Ipv4AddressesAndBlocks) {
  EXPECT_TRUE(Contains("192.0.2.10", "192.0.2.10"));
  EXPECT_FALSE(Contains("192.0.2.10", "192.0.2.11"));
  EXPECT_TRUE(Contains("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(Contains("192.0.2.128/25", "192.0.2.200"));
  EXPECT_FALSE(Contains("192.0.2.128/25", "192.0.2.127"));
  EXPECT_TRUE(Contains("0.0.0.0/0", "203.0.113.9"));
  EXPECT_FALSE(Contains("0.0.0.0/0", "2001:db8::1"));
}

TEST(IpNetworkTest, Ipv6AddressesAndBlocks) {
  EXPECT_TRUE(Contains("2001:db8::/32", "2001:db8:1::5"));
  EXPECT_FALSE(Contains("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(Contains("::1", "::1"));
  EXPECT_TRUE(Contains("2001:db8::/33", "2001:db8:7fff::1"));
  EXPECT_FALSE(Contains("2001:db8::/33", "2001:db8:8000::1"));
  EXPECT_FALSE(Contains("::/0", "127.0.0.1"));
}

TEST(IpNetworkTest, Ipv4MappedAddressesCompareAsIpv4) {
  EXPECT_TRUE(Contains("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_TRUE(Contains("127.0.0.1", "::ffff:127.0.0.1"));
  EXPECT_TRUE(Contains("::ffff:10.0.0.0/104", "10.9.9.9"));
  EXPECT_TRUE(Contains("::ffff:192.0.2.1", "192.0.2.1"));
}

TEST(IpNetworkTest, RejectsWhatIsNoAddressOrBlock) {
  for (const char* bad :
       {"", "abc", "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0/8", "10.0.0.0/-1", "10.0.0.0/8/8",
        "2001:db8::/129", "10.0.0.0/ 8", "10.0.0.0/0x8", " 10.0.0.1"}) {
    EXPECT_FALSE(ParseIpNetwork(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseIpAddress("10.0.0.0/8").has_value());
  EXPECT_FALSE(ParseIpAddress("localhost").has_value());
}

}  // namespace
}  // namespace mailroom::server::routing
