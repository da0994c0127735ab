#include "server/routing/compiled_rule.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "server/routing/rule_check.h"

namespace mailroom::server::routing {
namespace {

using ::mailroom::v1::AddressCondition;
using ::mailroom::v1::HeaderCondition;
using ::mailroom::v1::RoutingRule;
using ::mailroom::v1::SourceCondition;

re2::StringPiece Piece(absl::string_view text) { return {text.data(), text.size()}; }

std::shared_ptr<const re2::RE2> CompileRegex(absl::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  return std::make_shared<const re2::RE2>(Piece(pattern), options);
}

std::string Quoted(absl::string_view text) { return absl::StrCat("`", text, "`"); }

}  // namespace

PreparedFacts::PreparedFacts(const MessageFacts& facts)
    : facts(facts), client_ip(ParseIpAddress(facts.client_address)) {}

absl::StatusOr<CompiledRule> CompiledRule::Compile(const RoutingRule& rule,
                                                   absl::string_view field) {
  if (absl::Status status = CheckRoutingRule(rule, field); !status.ok()) return status;
  CompiledRule compiled;
  switch (rule.condition_case()) {
    case RoutingRule::kRecipient: {
      const AddressCondition& address = rule.recipient();
      switch (address.match_case()) {
        case AddressCondition::kExact:
          compiled.kind_ = Kind::kRecipientExact;
          compiled.text_ = absl::AsciiStrToLower(address.exact());
          compiled.description_ = absl::StrCat("recipient exact ", Quoted(address.exact()));
          break;
        case AddressCondition::kDomain:
          compiled.kind_ = Kind::kRecipientDomain;
          compiled.text_ = absl::AsciiStrToLower(address.domain());
          compiled.description_ = absl::StrCat("recipient domain ", Quoted(address.domain()));
          break;
        case AddressCondition::kGlob:
          compiled.kind_ = Kind::kRecipientGlob;
          compiled.glob_ = Glob::Compile(address.glob(), Glob::Case::kInsensitive);
          compiled.description_ = absl::StrCat("recipient glob ", Quoted(address.glob()));
          break;
        case AddressCondition::kRegex:
          compiled.kind_ = Kind::kRecipientRegex;
          compiled.regex_ = CompileRegex(address.regex());
          compiled.description_ = absl::StrCat("recipient regex ", Quoted(address.regex()));
          break;
        case AddressCondition::MATCH_NOT_SET:
          break;  // rejected by CheckRoutingRule
      }
      break;
    }
    case RoutingRule::kAuthUser:
      compiled.kind_ = Kind::kAuthUser;
      compiled.glob_ = Glob::Compile(rule.auth_user(), Glob::Case::kSensitive);
      compiled.description_ = absl::StrCat("auth_user ", Quoted(rule.auth_user()));
      break;
    case RoutingRule::kHeader: {
      const HeaderCondition& header = rule.header();
      compiled.header_name_ = absl::AsciiStrToLower(header.name());
      const std::string prefix = absl::StrCat("header ", Quoted(header.name()));
      switch (header.match_case()) {
        case HeaderCondition::kExists:
          compiled.kind_ = header.exists() ? Kind::kHeaderExists : Kind::kHeaderAbsent;
          compiled.description_ = absl::StrCat(prefix, header.exists() ? " exists" : " absent");
          break;
        case HeaderCondition::kGlob:
          compiled.kind_ = Kind::kHeaderGlob;
          compiled.glob_ = Glob::Compile(header.glob(), Glob::Case::kInsensitive);
          compiled.description_ = absl::StrCat(prefix, " glob ", Quoted(header.glob()));
          break;
        case HeaderCondition::kRegex:
          compiled.kind_ = Kind::kHeaderRegex;
          compiled.regex_ = CompileRegex(header.regex());
          compiled.description_ = absl::StrCat(prefix, " regex ", Quoted(header.regex()));
          break;
        case HeaderCondition::MATCH_NOT_SET:
          break;
      }
      break;
    }
    case RoutingRule::kSource: {
      const SourceCondition& source = rule.source();
      if (source.match_case() == SourceCondition::kClientNetwork) {
        compiled.kind_ = Kind::kClientNetwork;
        // Parsed by CheckRoutingRule already; cannot fail here.
        compiled.network_ = ParseIpNetwork(source.client_network()).value_or(IpNetwork{});
        compiled.description_ =
            absl::StrCat("source client_network ", Quoted(source.client_network()));
      } else {
        compiled.kind_ = Kind::kEhloName;
        compiled.glob_ = Glob::Compile(source.ehlo_name(), Glob::Case::kInsensitive);
        compiled.description_ = absl::StrCat("source ehlo_name ", Quoted(source.ehlo_name()));
      }
      break;
    }
    case RoutingRule::CONDITION_NOT_SET:
      break;
  }
  return compiled;
}

bool CompiledRule::MatchesText(absl::string_view text) const {
  if (regex_ != nullptr) return re2::RE2::FullMatch(Piece(text), *regex_);
  return glob_.Matches(text);
}

bool CompiledRule::MatchesHeader(const MessageFacts& facts) const {
  bool present = false;
  for (const auto& [name, value] : facts.headers) {
    if (!absl::EqualsIgnoreCase(name, header_name_)) continue;
    present = true;
    if (kind_ == Kind::kHeaderExists) return true;
    if (kind_ == Kind::kHeaderAbsent) return false;
    if (MatchesText(value)) return true;
  }
  return kind_ == Kind::kHeaderAbsent && !present;
}

bool CompiledRule::Matches(const PreparedFacts& prepared, absl::string_view recipient) const {
  const MessageFacts& facts = prepared.facts;
  switch (kind_) {
    case Kind::kRecipientExact:
      return absl::EqualsIgnoreCase(recipient, text_);
    case Kind::kRecipientDomain: {
      const size_t at = recipient.rfind('@');
      return at != absl::string_view::npos &&
             absl::EqualsIgnoreCase(recipient.substr(at + 1), text_);
    }
    case Kind::kRecipientGlob:
    case Kind::kRecipientRegex:
      return MatchesText(recipient);
    case Kind::kAuthUser:
      return facts.auth_user.has_value() && glob_.Matches(*facts.auth_user);
    case Kind::kHeaderExists:
    case Kind::kHeaderAbsent:
    case Kind::kHeaderGlob:
    case Kind::kHeaderRegex:
      return MatchesHeader(facts);
    case Kind::kClientNetwork:
      return prepared.client_ip.has_value() && NetworkContains(network_, *prepared.client_ip);
    case Kind::kEhloName:
      return !facts.ehlo_name.empty() && glob_.Matches(facts.ehlo_name);
  }
  return false;
}

}  // namespace mailroom::server::routing
