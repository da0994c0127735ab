// IP addresses and CIDR blocks for SourceCondition.client_network: parsing of "192.0.2.10",
// "10.0.0.0/8", "2001:db8::/32" and containment of a client address. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d), as a dual-stack listener reports IPv4 clients, are compared as
// IPv4, on both sides.
//
// Value types; thread-safe.
#ifndef MAILROOM_SERVER_ROUTING_IP_NETWORK_H_
#define MAILROOM_SERVER_ROUTING_IP_NETWORK_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mailroom::server::routing {

// An IPv4 (first 4 bytes used) or IPv6 address.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

// An address block: the addresses whose first `prefix_length` bits equal `base`'s.
struct IpNetwork {
  IpAddress base;
  int prefix_length = 0;
};

// Parses a literal address ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" → IPv4).
// Returns nullopt when `text` is not one.
std::optional<IpAddress> ParseIpAddress(absl::string_view text);

// Parses an address ("192.0.2.10", a block of one) or a CIDR block ("10.0.0.0/8"). Host bits
// below the prefix are ignored. Returns InvalidArgument saying what is wrong.
absl::StatusOr<IpNetwork> ParseIpNetwork(absl::string_view text);

// True when `address` is in `network` (never across families).
bool NetworkContains(const IpNetwork& network, const IpAddress& address);

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_IP_NETWORK_H_
