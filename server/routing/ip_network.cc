#include "server/routing/ip_network.h"

#include <arpa/inet.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mailroom::server::routing {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const IpAddress& address) {
  if (!address.v6) return false;
  for (size_t i = 0; i < kV4MappedPrefix.size(); ++i) {
    if (address.bytes[i] != kV4MappedPrefix[i]) return false;
  }
  return true;
}

IpAddress ToV4(const IpAddress& mapped) {
  IpAddress v4;
  for (int i = 0; i < 4; ++i) v4.bytes[i] = mapped.bytes[12 + i];
  return v4;
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(absl::string_view text) {
  // inet_pton needs a NUL-terminated string and rejects anything but a bare literal.
  const std::string literal(text);
  IpAddress address;
  if (inet_pton(AF_INET, literal.c_str(), address.bytes.data()) == 1) {
    return address;
  }
  address.v6 = true;
  if (inet_pton(AF_INET6, literal.c_str(), address.bytes.data()) == 1) {
    return IsV4Mapped(address) ? ToV4(address) : address;
  }
  return std::nullopt;
}

absl::StatusOr<IpNetwork> ParseIpNetwork(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  const size_t slash = text.find('/');
  const absl::string_view address_text = text.substr(0, slash);
  const std::string literal(address_text);
  IpNetwork network;
  IpAddress& base = network.base;
  if (inet_pton(AF_INET, literal.c_str(), base.bytes.data()) != 1) {
    base.v6 = true;
    if (inet_pton(AF_INET6, literal.c_str(), base.bytes.data()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("not an IP address or CIDR block: ", text));
    }
  }
  const int max_length = base.v6 ? 128 : 32;
  network.prefix_length = max_length;
  if (slash != absl::string_view::npos) {
    const absl::string_view length_text = text.substr(slash + 1);
    int length = -1;
    if (length_text.empty() || length_text.size() > 3 ||
        length_text.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(length_text, &length) || length > max_length) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid prefix length (0 to ", max_length, "): ", text));
    }
    network.prefix_length = length;
  }
  // A mapped block that covers only mapped addresses is an IPv4 block.
  if (IsV4Mapped(base) && network.prefix_length >= 96) {
    network.base = ToV4(base);
    network.prefix_length -= 96;
  }
  return network;
}

bool NetworkContains(const IpNetwork& network, const IpAddress& address) {
  if (network.base.v6 != address.v6) return false;
  int remaining = network.prefix_length;
  for (size_t i = 0; i < network.base.bytes.size() && remaining > 0; ++i) {
    const int bits = remaining >= 8 ? 8 : remaining;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
    if ((network.base.bytes[i] & mask) != (address.bytes[i] & mask)) return false;
    remaining -= bits;
  }
  return true;
}

}  // namespace mailroom::server::routing
