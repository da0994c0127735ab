#include "server/routing/routing_table.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "storage/schema.h"

namespace mailroom::server::routing {
namespace {

using ::mailroom::v1::RoutingDecision;

RoutingDecision Decision(absl::string_view recipient, absl::string_view mailbox,
                         RoutingDecision::Reason reason, int rule_number, std::string explanation) {
  RoutingDecision decision;
  decision.set_recipient(std::string(recipient));
  decision.set_mailbox(std::string(mailbox));
  decision.set_reason(reason);
  decision.set_rule_number(rule_number);
  decision.set_explanation(std::move(explanation));
  return decision;
}

}  // namespace

std::shared_ptr<const RoutingTable> RoutingTable::Build(const std::vector<MailboxRoute>& mailboxes,
                                                        const std::vector<UserRoute>& users,
                                                        RoutingPolicy policy,
                                                        std::vector<std::string>* skipped) {
  std::shared_ptr<RoutingTable> table(new RoutingTable());
  table->policy_ = policy;
  table->default_id_ = std::string(storage::kDefaultMailboxId);
  table->default_name_ = std::string(storage::kDefaultMailboxName);
  absl::flat_hash_map<std::string, std::string> names_by_id;
  absl::flat_hash_set<std::string> header_names;
  for (const MailboxRoute& mailbox : mailboxes) {
    names_by_id[mailbox.id] = mailbox.name;
    // The default mailbox is recognised by id (its name is fixed too) and has no rules.
    if (mailbox.id == storage::kDefaultMailboxId) {
      table->default_name_ = mailbox.name;
      continue;
    }
    Mailbox compiled{
        .id = mailbox.id, .name = mailbox.name, .position = mailbox.position, .rules = {}};
    for (size_t i = 0; i < mailbox.rules.size(); ++i) {
      const int number = static_cast<int>(i) + 1;
      if (!mailbox.rules[i].has_value()) continue;
      absl::StatusOr<CompiledRule> rule =
          CompiledRule::Compile(*mailbox.rules[i], absl::StrCat("rules[", i, "]"));
      if (!rule.ok()) {
        if (skipped != nullptr) {
          skipped->push_back(absl::StrCat("mailbox `", mailbox.name, "` rule ", number, ": ",
                                          rule.status().message()));
        }
        continue;
      }
      if (!rule->header_name().empty()) header_names.insert(rule->header_name());
      compiled.rules.push_back({number, *std::move(rule)});
    }
    table->mailboxes_.push_back(std::move(compiled));
  }
  std::sort(table->mailboxes_.begin(), table->mailboxes_.end(),
            [](const Mailbox& a, const Mailbox& b) {
              return std::tie(a.position, a.name) < std::tie(b.position, b.name);
            });
  for (const UserRoute& user : users) {
    if (!user.enabled || !user.default_mailbox_id.has_value()) continue;
    const auto mailbox = names_by_id.find(*user.default_mailbox_id);
    if (mailbox == names_by_id.end()) continue;  // deleted since: route by the rules
    table->user_mailboxes_[user.username] = {mailbox->first, mailbox->second};
  }
  table->header_names_.assign(header_names.begin(), header_names.end());
  std::sort(table->header_names_.begin(), table->header_names_.end());
  return table;
}

std::shared_ptr<const RoutingTable> RoutingTable::DefaultOnly(RoutingPolicy policy) {
  return Build({}, {}, policy);
}

size_t RoutingTable::rule_count() const {
  size_t count = 0;
  for (const Mailbox& mailbox : mailboxes_) count += mailbox.rules.size();
  return count;
}

RouteResult RoutingTable::Route(const MessageFacts& facts,
                                const std::vector<std::string>& recipients) const {
  RouteResult result;
  auto file_into = [&result](const std::string& id) {
    if (std::find(result.mailbox_ids.begin(), result.mailbox_ids.end(), id) ==
        result.mailbox_ids.end()) {
      result.mailbox_ids.push_back(id);
    }
  };

  const std::pair<std::string, std::string>* user_mailbox = nullptr;
  if (policy_.deliver_to_user_mailbox && facts.auth_user.has_value()) {
    if (const auto found = user_mailboxes_.find(*facts.auth_user); found != user_mailboxes_.end()) {
      user_mailbox = &found->second;
    }
  }

  const PreparedFacts prepared(facts);
  for (const std::string& recipient : recipients) {
    if (user_mailbox != nullptr) {
      file_into(user_mailbox->first);
      result.decisions.push_back(
          Decision(recipient, user_mailbox->second, RoutingDecision::REASON_USER_DEFAULT_MAILBOX, 0,
                   absl::StrCat("routed to `", user_mailbox->second,
                                "`: the default mailbox of user `", *facts.auth_user, "`")));
      continue;
    }
    const Mailbox* chosen = nullptr;
    const Rule* matched = nullptr;
    for (const Mailbox& mailbox : mailboxes_) {
      for (const Rule& rule : mailbox.rules) {
        if (rule.compiled.Matches(prepared, recipient)) {
          matched = &rule;
          break;
        }
      }
      if (matched != nullptr) {
        chosen = &mailbox;
        break;
      }
    }
    if (chosen == nullptr) {
      file_into(default_id_);
      result.decisions.push_back(
          Decision(recipient, default_name_, RoutingDecision::REASON_FALLBACK, 0,
                   absl::StrCat("routed to `", default_name_, "`: no rule matched")));
      continue;
    }
    file_into(chosen->id);
    result.decisions.push_back(
        Decision(recipient, chosen->name, RoutingDecision::REASON_RULE, matched->number,
                 absl::StrCat("routed to `", chosen->name, "` by rule ", matched->number, ": ",
                              matched->compiled.description())));
  }
  if (result.mailbox_ids.empty()) result.mailbox_ids.push_back(default_id_);
  return result;
}

}  // namespace mailroom::server::routing
