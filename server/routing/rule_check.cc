#include "server/routing/rule_check.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "server/routing/ip_network.h"

namespace mailroom::server::routing {
namespace {

using ::mailroom::v1::AddressCondition;
using ::mailroom::v1::HeaderCondition;
using ::mailroom::v1::RoutingRule;
using ::mailroom::v1::SourceCondition;

// Characters, not bytes: the limits in the API are stated in characters.
size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++count;
  }
  return count;
}

absl::Status FieldError(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

absl::Status CheckGlobField(absl::string_view glob, absl::string_view path) {
  if (glob.empty()) return FieldError(path, "must not be empty");
  if (absl::Status status = CheckGlob(glob); !status.ok()) {
    return FieldError(path, status.message());
  }
  return absl::OkStatus();
}

absl::Status CheckRegexField(absl::string_view pattern, absl::string_view path) {
  if (pattern.empty()) return FieldError(path, "must not be empty");
  if (CountCodePoints(pattern) > kMaxRegexLength) {
    return FieldError(path, absl::StrCat("longer than ", kMaxRegexLength, " characters"));
  }
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 re(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re.ok()) return FieldError(path, re.error());
  return absl::OkStatus();
}

absl::Status CheckAddress(const AddressCondition& condition, absl::string_view path) {
  switch (condition.match_case()) {
    case AddressCondition::kExact:
      if (condition.exact().empty()) {
        return FieldError(absl::StrCat(path, ".exact"), "must not be empty");
      }
      return absl::OkStatus();
    case AddressCondition::kDomain:
      if (condition.domain().empty()) {
        return FieldError(absl::StrCat(path, ".domain"), "must not be empty");
      }
      if (condition.domain().find('@') != std::string::npos) {
        return FieldError(absl::StrCat(path, ".domain"),
                          "must be a domain without `@` (use exact or glob for addresses)");
      }
      return absl::OkStatus();
    case AddressCondition::kGlob:
      return CheckGlobField(condition.glob(), absl::StrCat(path, ".glob"));
    case AddressCondition::kRegex:
      return CheckRegexField(condition.regex(), absl::StrCat(path, ".regex"));
    case AddressCondition::MATCH_NOT_SET:
      break;
  }
  return FieldError(path, "one of exact, domain, glob or regex must be set");
}

absl::Status CheckHeader(const HeaderCondition& condition, absl::string_view path) {
  if (condition.name().empty()) {
    return FieldError(absl::StrCat(path, ".name"), "must not be empty");
  }
  if (absl::Status status = CheckHeaderName(condition.name()); !status.ok()) {
    return FieldError(absl::StrCat(path, ".name"), status.message());
  }
  switch (condition.match_case()) {
    case HeaderCondition::kExists:
      return absl::OkStatus();
    case HeaderCondition::kGlob:
      return CheckGlobField(condition.glob(), absl::StrCat(path, ".glob"));
    case HeaderCondition::kRegex:
      return CheckRegexField(condition.regex(), absl::StrCat(path, ".regex"));
    case HeaderCondition::MATCH_NOT_SET:
      break;
  }
  return FieldError(path, "one of exists, glob or regex must be set");
}

absl::Status CheckSource(const SourceCondition& condition, absl::string_view path) {
  switch (condition.match_case()) {
    case SourceCondition::kClientNetwork: {
      const absl::StatusOr<IpNetwork> network = ParseIpNetwork(condition.client_network());
      if (!network.ok()) {
        return FieldError(absl::StrCat(path, ".client_network"), network.status().message());
      }
      return absl::OkStatus();
    }
    case SourceCondition::kEhloName:
      return CheckGlobField(condition.ehlo_name(), absl::StrCat(path, ".ehlo_name"));
    case SourceCondition::MATCH_NOT_SET:
      break;
  }
  return FieldError(path, "one of client_network or ehlo_name must be set");
}

absl::Status CheckCondition(const RoutingRule& rule, absl::string_view field) {
  switch (rule.condition_case()) {
    case RoutingRule::kRecipient:
      return CheckAddress(rule.recipient(), absl::StrCat(field, ".recipient"));
    case RoutingRule::kAuthUser:
      return CheckGlobField(rule.auth_user(), absl::StrCat(field, ".auth_user"));
    case RoutingRule::kHeader:
      return CheckHeader(rule.header(), absl::StrCat(field, ".header"));
    case RoutingRule::kSource:
      return CheckSource(rule.source(), absl::StrCat(field, ".source"));
    case RoutingRule::CONDITION_NOT_SET:
      break;
  }
  return FieldError(field,
                    "exactly one condition must be set: recipient, auth_user, header or source");
}

}  // namespace

absl::Status CheckGlob(absl::string_view glob) {
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] != '\\') continue;
    if (i + 1 == glob.size()) {
      return absl::InvalidArgumentError("ends with an unpaired `\\` (write `\\\\` for one)");
    }
    ++i;  // The escaped character, whatever it is.
  }
  return absl::OkStatus();
}

absl::Status CheckHeaderName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("must not be empty");
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 33 || byte > 126 || c == ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a valid header field name (printable ASCII without `:` or spaces): ", name));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRoutingRule(const mailroom::v1::RoutingRule& rule, absl::string_view field) {
  if (absl::Status status = CheckCondition(rule, field); !status.ok()) return status;
  if (CountCodePoints(rule.description()) > kMaxRuleDescriptionLength) {
    return FieldError(absl::StrCat(field, ".description"),
                      absl::StrCat("longer than ", kMaxRuleDescriptionLength, " characters"));
  }
  return absl::OkStatus();
}

}  // namespace mailroom::server::routing
