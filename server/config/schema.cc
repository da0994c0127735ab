#include "server/config/schema.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/config/values.h"

namespace mailroom::config {
namespace {

constexpr absl::string_view kEnvironmentPrefix = "MAILROOM_";
constexpr absl::string_view kFileSuffix = "_file";

void CollectKeys(const std::vector<Field>& fields, const std::string& prefix,
                 std::vector<std::string>& keys) {
  for (const Field& field : fields) {
    const std::string key = absl::StrCat(prefix, field.name);
    keys.push_back(key);
    switch (field.kind) {
      case FieldKind::kScalar:
        if (field.scalar.secret) keys.push_back(absl::StrCat(key, kFileSuffix));
        break;
      case FieldKind::kSection:
        CollectKeys(field.fields, absl::StrCat(key, "."), keys);
        break;
      case FieldKind::kList:
        CollectKeys(field.fields, absl::StrCat(key, "[]."), keys);
        break;
    }
  }
}

// Matches the rest of an environment name (upper case, after "MAILROOM_" and the names of
// the enclosing sections) against `fields`, appending the dotted key to `key`. Names may
// contain underscores ("max_connection_age" and "max_connection_age_grace"), so every field
// whose name is a prefix is tried.
bool MatchEnvironment(const std::vector<Field>& fields, absl::string_view rest, std::string& key) {
  for (const Field& field : fields) {
    const std::string upper = absl::AsciiStrToUpper(field.name);
    if (!absl::StartsWith(rest, upper)) continue;
    absl::string_view after = rest.substr(upper.size());
    const size_t key_size = key.size();
    absl::StrAppend(&key, field.name);
    switch (field.kind) {
      case FieldKind::kScalar:
        if (after.empty()) return true;
        if (field.scalar.secret && after == absl::AsciiStrToUpper(kFileSuffix)) {
          absl::StrAppend(&key, kFileSuffix);
          return true;
        }
        break;
      case FieldKind::kSection:
        if (absl::ConsumePrefix(&after, "_")) {
          absl::StrAppend(&key, ".");
          if (MatchEnvironment(field.fields, after, key)) return true;
        }
        break;
      case FieldKind::kList: {
        if (after.empty()) return true;  // The whole list, as YAML.
        if (!absl::ConsumePrefix(&after, "_")) break;
        const size_t digits = after.find('_');
        size_t index = 0;
        if (digits == absl::string_view::npos ||
            !absl::SimpleAtoi(after.substr(0, digits), &index)) {
          break;
        }
        absl::StrAppend(&key, "[", index, "].");
        if (MatchEnvironment(field.fields, after.substr(digits + 1), key)) return true;
        break;
      }
    }
    key.resize(key_size);
  }
  return false;
}

}  // namespace

TextRule AnyText() { return TextRule{"a string", nullptr}; }

TextRule NonEmptyText() {
  return TextRule{"a non-empty string", [](absl::string_view text) { return !text.empty(); }};
}

TextRule HostPortText(bool allow_empty) {
  return TextRule{
      absl::StrCat("an address host:port with a port from 1 to 65535 (IPv6 as `[::1]:50051`)",
                   allow_empty ? ", or empty to turn it off" : ""),
      [allow_empty](absl::string_view text) {
        return (allow_empty && text.empty()) || IsHostPort(text);
      }};
}

TextRule HostText() { return TextRule{"a host name or IP address without a port", IsHost}; }

const Field* FindField(const std::vector<Field>& fields, absl::string_view name) {
  for (const Field& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

std::vector<std::string> AllKeys(const Schema& schema) {
  std::vector<std::string> keys;
  CollectKeys(schema.fields(), "", keys);
  return keys;
}

std::string EnvironmentName(absl::string_view key) {
  std::string name(kEnvironmentPrefix);
  for (char c : key) {
    if (c == '.' || c == '[') {
      name.push_back('_');
    } else if (c != ']') {
      name.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

std::optional<std::string> KeyForEnvironment(const Schema& schema, absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kEnvironmentPrefix)) return std::nullopt;
  std::string key;
  if (!MatchEnvironment(schema.fields(), name, key)) return std::nullopt;
  return key;
}

}  // namespace mailroom::config
