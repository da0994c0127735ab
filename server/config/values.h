// Parsers for the text forms of setting values: integers, booleans, durations, byte sizes
// and host:port addresses.
//
// Used by the schema (schema.h) for YAML scalars, environment variables and --set flags
// alike, so every source accepts exactly the same spellings. A parser returns nullopt (or
// false) for text it does not accept; the caller owns the error message, which states what
// was expected. Pure functions: thread-safe.

#ifndef MAILROOM_SERVER_CONFIG_VALUES_H_
#define MAILROOM_SERVER_CONFIG_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::config {

// A decimal integer with an optional sign ("42", "-3"). Surrounding spaces are ignored.
std::optional<int64_t> ParseInteger(absl::string_view text);

// `true`/`false`, also `yes`/`no`, `on`/`off` and `1`/`0` (YAML 1.1 and shell habits);
// case-insensitive.
std::optional<bool> ParseBool(absl::string_view text);

// "0", or whole numbers with units h, m, s, ms, each unit at most once and from the largest
// to the smallest: "250ms", "10s", "5m", "1h", "1h30m".
std::optional<absl::Duration> ParseDuration(absl::string_view text);

// A number of bytes ("1048576"), or a whole number with a decimal (KB, MB, GB, TB) or binary
// (KiB, MiB, GiB, TiB) unit, or B: "512KiB", "32MB", "1GiB". Fails on overflow of int64.
std::optional<int64_t> ParseByteSize(absl::string_view text);

// "host:port" with a port from 1 to 65535; an IPv6 host goes in brackets ("[::1]:50051").
bool IsHostPort(absl::string_view text);

// A host name or IP address without a port ("127.0.0.1", "::", "mail.example.com").
bool IsHost(absl::string_view text);

// Byte counts as the parser spells them: "32MiB" when exact, else "1000 bytes".
std::string FormatByteSize(int64_t bytes);

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_VALUES_H_
