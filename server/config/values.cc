#include "server/config/values.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::config {
namespace {

// Longest digit run accepted in one duration component; keeps the arithmetic far from
// overflow (10^9 hours is still a finite absl::Duration).
constexpr size_t kMaxDurationDigits = 9;

struct DurationUnit {
  absl::string_view name;
  absl::Duration size;
};

struct ByteUnit {
  absl::string_view name;
  int64_t size;
};

constexpr int64_t kKiB = int64_t{1} << 10;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kTiB = int64_t{1} << 40;

constexpr std::array<ByteUnit, 9> kByteUnits = {{
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", int64_t{1000} * 1000 * 1000},
    {"TB", int64_t{1000} * 1000 * 1000 * 1000},
    {"KiB", kKiB},
    {"MiB", kMiB},
    {"GiB", kGiB},
    {"TiB", kTiB},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits the leading digits off `text`.
absl::string_view TakeDigits(absl::string_view& text) {
  size_t n = 0;
  while (n < text.size() && IsDigit(text[n])) ++n;
  absl::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

absl::string_view TakeLetters(absl::string_view& text) {
  size_t n = 0;
  while (n < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[n]))) ++n;
  absl::string_view letters = text.substr(0, n);
  text.remove_prefix(n);
  return letters;
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool IsIpv6Char(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

bool IsHostName(absl::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (!IsHostNameChar(c)) return false;
  }
  return true;
}

bool IsIpv6(absl::string_view host) {
  if (host.find(':') == absl::string_view::npos) return false;
  for (char c : host) {
    if (!IsIpv6Char(c)) return false;
  }
  return true;
}

bool IsPort(absl::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (!IsDigit(c)) return false;
  }
  int port = 0;
  return absl::SimpleAtoi(text, &port) && port >= 1 && port <= 65535;
}

}  // namespace

std::optional<int64_t> ParseInteger(absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(absl::string_view text) {
  const std::string word = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (word == "true" || word == "yes" || word == "on" || word == "1") return true;
  if (word == "false" || word == "no" || word == "off" || word == "0") return false;
  return std::nullopt;
}

std::optional<absl::Duration> ParseDuration(absl::string_view text) {
  static constexpr std::array<DurationUnit, 4> kUnits = {{
      {"h", absl::Hours(1)},
      {"m", absl::Minutes(1)},
      {"s", absl::Seconds(1)},
      {"ms", absl::Milliseconds(1)},
  }};
  text = absl::StripAsciiWhitespace(text);
  if (text == "0") return absl::ZeroDuration();
  if (text.empty()) return std::nullopt;
  absl::Duration total = absl::ZeroDuration();
  size_t next_unit = 0;  // Units must come from largest to smallest, each once.
  while (!text.empty()) {
    const absl::string_view digits = TakeDigits(text);
    if (digits.empty() || digits.size() > kMaxDurationDigits) return std::nullopt;
    const absl::string_view unit = TakeLetters(text);
    int64_t count = 0;
    if (!absl::SimpleAtoi(digits, &count)) return std::nullopt;
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) return std::nullopt;
    total += count * kUnits[u].size;
    next_unit = u + 1;
  }
  return total;
}

std::optional<int64_t> ParseByteSize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  const absl::string_view digits = TakeDigits(text);
  if (digits.empty()) return std::nullopt;
  int64_t count = 0;
  if (!absl::SimpleAtoi(digits, &count)) return std::nullopt;
  text = absl::StripLeadingAsciiWhitespace(text);
  if (text.empty()) return count;
  for (const ByteUnit& unit : kByteUnits) {
    if (unit.name != text) continue;
    if (count > std::numeric_limits<int64_t>::max() / unit.size) return std::nullopt;
    return count * unit.size;
  }
  return std::nullopt;
}

bool IsHostPort(absl::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return false;
    const absl::string_view host = text.substr(1, close - 1);
    const absl::string_view rest = text.substr(close + 1);
    return IsIpv6(host) && !rest.empty() && rest.front() == ':' && IsPort(rest.substr(1));
  }
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return false;
  return IsHostName(text.substr(0, colon)) && IsPort(text.substr(colon + 1));
}

bool IsHost(absl::string_view text) { return IsHostName(text) || IsIpv6(text); }

std::string FormatByteSize(int64_t bytes) {
  static constexpr std::array<ByteUnit, 4> kExact = {{
      {"TiB", kTiB},
      {"GiB", kGiB},
      {"MiB", kMiB},
      {"KiB", kKiB},
  }};
  for (const ByteUnit& unit : kExact) {
    if (bytes != 0 && bytes % unit.size == 0) return absl::StrCat(bytes / unit.size, unit.name);
  }
  return absl::StrCat(bytes, bytes == 1 ? " byte" : " bytes");
}

}  // namespace mailroom::config
