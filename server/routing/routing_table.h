// RoutingTable: files a captured message into mailboxes, per recipient, as
// proto/mailroom/v1/mailbox_service.proto says. Built from a snapshot of the mailboxes
// (id, name, position, rules) and the users (name, enabled, default mailbox).
//
// For each envelope recipient, in RCPT order:
//   1. When the policy's deliver_to_user_mailbox is on and the client authenticated as a
//      configured, enabled user whose default mailbox exists, that mailbox
//      (REASON_USER_DEFAULT_MAILBOX). Any other authenticated name (a name accepted only
//      because allow_any_credentials is on, a disabled user, a user without a default
//      mailbox or whose mailbox is gone) falls through to the rules: it never breaks delivery.
//   2. Else the first mailbox, in (position, name) order with `default` last, that has a
//      matching rule; the first matching rule of that mailbox is the one recorded
//      (REASON_RULE, 1-based number in the mailbox's rules, counting rules that were skipped).
//   3. Else the `default` mailbox (REASON_FALLBACK).
// The message goes to each chosen mailbox once, in the order first chosen.
//
// A rule that does not compile is skipped (reported by Build), never fatal: a broken rule
// must not stop mail. Immutable after Build(); thread-safe. Shared between threads through
// std::shared_ptr<const RoutingTable> (server/routing/routing_cache.h).
#ifndef MAILROOM_SERVER_ROUTING_ROUTING_TABLE_H_
#define MAILROOM_SERVER_ROUTING_ROUTING_TABLE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "mailroom/v1/mailbox_service.pb.h"
#include "mailroom/v1/message_service.pb.h"
#include "server/routing/compiled_rule.h"

namespace mailroom::server::routing {

// Settings that shape routing (smtp.auth.deliver_to_user_mailbox).
struct RoutingPolicy {
  bool deliver_to_user_mailbox = true;
};

// One mailbox as routing sees it.
struct MailboxRoute {
  std::string id{};
  std::string name{};
  int position = 0;
  // nullopt: a rule that could not even be read (it is skipped, and keeps its number).
  std::vector<std::optional<mailroom::v1::RoutingRule>> rules{};
};

// One configured user as routing sees it.
struct UserRoute {
  std::string username{};
  bool enabled = true;
  std::optional<std::string> default_mailbox_id{};
};

// Where a message goes.
struct RouteResult {
  std::vector<std::string> mailbox_ids;                  // each once, in routing order; never empty
  std::vector<mailroom::v1::RoutingDecision> decisions;  // one per recipient, in RCPT order
};

class RoutingTable {
 public:
  // Builds the table. Rules that fail to compile are left out; each is described in
  // `skipped` ("mailbox `qa` rule 2: recipient.regex: missing ): (abc") when it is not null.
  // A snapshot without the `default` mailbox still routes to it, by its well-known id.
  static std::shared_ptr<const RoutingTable> Build(const std::vector<MailboxRoute>& mailboxes,
                                                   const std::vector<UserRoute>& users,
                                                   RoutingPolicy policy,
                                                   std::vector<std::string>* skipped = nullptr);

  // The table used before any snapshot was loaded: everything goes to `default`.
  static std::shared_ptr<const RoutingTable> DefaultOnly(RoutingPolicy policy);

  // Routes a message with these envelope recipients. With no recipients (not possible
  // after SMTP, but harmless) the message goes to `default` with no decision.
  RouteResult Route(const MessageFacts& facts, const std::vector<std::string>& recipients) const;

  // The header fields (lower case) some rule looks at; MessageFacts::headers needs only
  // these. Empty when no rule looks at headers: the capture path then parses no headers.
  const std::vector<std::string>& header_names() const { return header_names_; }

  // For tests and logs: the number of mailboxes and of compiled rules.
  size_t mailbox_count() const { return mailboxes_.size(); }
  size_t rule_count() const;

 private:
  struct Rule {
    int number;  // 1-based in the mailbox's rules
    CompiledRule compiled;
  };
  struct Mailbox {
    std::string id;
    std::string name;
    int position;
    std::vector<Rule> rules;
  };

  RoutingTable() = default;

  RoutingPolicy policy_;
  std::vector<Mailbox> mailboxes_;  // routing order, without `default`
  std::string default_id_;
  std::string default_name_;
  // Username → the default mailbox's (id, name), for enabled users whose mailbox exists.
  absl::flat_hash_map<std::string, std::pair<std::string, std::string>> user_mailboxes_;
  std::vector<std::string> header_names_;
};

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_ROUTING_TABLE_H_
