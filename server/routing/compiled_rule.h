// CompiledRule: one mailroom.v1.RoutingRule ready to match (globs compiled, RE2 programs
// built, networks parsed), with the words that explain it in routing decisions
// ("recipient glob `*@qa.example.com`").
//
// Matching follows proto/mailroom/v1/mailbox_service.proto: recipient exact/domain compared
// case-insensitively, globs case-insensitive except auth_user, RE2 anchored at both ends,
// header conditions on decoded values (any occurrence), client networks with IPv4-mapped
// addresses compared as IPv4. Conditions on the message (auth user, header, source) apply
// to every recipient.
//
// Immutable after Compile(); thread-safe (RE2 matching is).
#ifndef MAILROOM_SERVER_ROUTING_COMPILED_RULE_H_
#define MAILROOM_SERVER_ROUTING_COMPILED_RULE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/mailbox_service.pb.h"
#include "server/routing/glob.h"
#include "server/routing/ip_network.h"

namespace re2 {
class RE2;
}

namespace mailroom::server::routing {

// What rules look at, for one message.
struct MessageFacts {
  std::optional<std::string> auth_user;  // nullopt: the client did not authenticate
  std::string client_address;            // as the listener saw it ("::ffff:192.0.2.1")
  std::string ehlo_name;                 // empty when the client sent none
  // The decoded values of the header fields the rules need (see RoutingTable::header_names),
  // name as written, in message order. Unused when no rule looks at headers.
  std::vector<std::pair<std::string, std::string>> headers;
};

// MessageFacts with what is derived once per message instead of once per rule.
struct PreparedFacts {
  explicit PreparedFacts(const MessageFacts& facts);

  const MessageFacts& facts;
  std::optional<IpAddress> client_ip;  // nullopt when client_address is not an IP literal
};

class CompiledRule {
 public:
  // Returns InvalidArgument (as CheckRoutingRule, under `field`) for an invalid rule.
  static absl::StatusOr<CompiledRule> Compile(const mailroom::v1::RoutingRule& rule,
                                              absl::string_view field = "rule");

  // True when the rule matches `recipient` of the message described by `facts`.
  bool Matches(const PreparedFacts& facts, absl::string_view recipient) const;

  // The condition in words, such as "recipient glob `*@qa.example.com`".
  const std::string& description() const { return description_; }

  // The header field this rule looks at (lower case), or empty.
  const std::string& header_name() const { return header_name_; }

 private:
  enum class Kind {
    kRecipientExact,
    kRecipientDomain,
    kRecipientGlob,
    kRecipientRegex,
    kAuthUser,
    kHeaderExists,
    kHeaderAbsent,
    kHeaderGlob,
    kHeaderRegex,
    kClientNetwork,
    kEhloName,
  };

  CompiledRule() = default;

  bool MatchesText(absl::string_view text) const;
  bool MatchesHeader(const MessageFacts& facts) const;

  Kind kind_ = Kind::kRecipientExact;
  std::string text_;         // exact address or domain, lower case
  std::string header_name_;  // header rules: the field name, lower case
  Glob glob_;
  std::shared_ptr<const re2::RE2> regex_;  // shared: RE2 is not copyable
  IpNetwork network_;
  std::string description_;
};

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_COMPILED_RULE_H_
