// Validation of one routing rule (mailroom.v1.RoutingRule) against the contract written in
// proto/mailroom/v1/mailbox_service.proto: exactly one condition, non-empty patterns, valid
// globs, RE2 expressions that compile (at most 1024 characters), parseable IP addresses and
// CIDR blocks, valid header field names and a description of at most 256 characters.
//
// Used by MailboxService to reject bad input with INVALID_ARGUMENT naming the field, and by
// the routing table (server/routing/compiled_rule.h) which skips rules that fail it.
// Stateless and thread-safe.
#ifndef MAILROOM_SERVER_ROUTING_RULE_CHECK_H_
#define MAILROOM_SERVER_ROUTING_RULE_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/mailbox_service.pb.h"

namespace mailroom::server::routing {

// The longest RE2 pattern a rule may hold.
inline constexpr size_t kMaxRegexLength = 1024;
// The longest rule description.
inline constexpr size_t kMaxRuleDescriptionLength = 256;

// Returns OK when `rule` is valid, else InvalidArgument whose message starts with the path of
// the offending field under `field`, e.g. with field = "mailbox.rules[2]":
//   "mailbox.rules[2].recipient.regex: missing ): (abc"
absl::Status CheckRoutingRule(const mailroom::v1::RoutingRule& rule, absl::string_view field);

// Returns OK when `glob` is a valid glob (see AddressCondition.glob): everything is, except a
// pattern ending in an unpaired `\`. The message of the error says what is wrong, without
// the field name.
absl::Status CheckGlob(absl::string_view glob);

// Returns OK when `name` is a valid header field name (RFC 5322 §3.6.8: one or more printable
// US-ASCII characters other than `:`).
absl::Status CheckHeaderName(absl::string_view name);

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_RULE_CHECK_H_
