#include "server/routing/snapshot_table.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace mailroom::server::routing {

std::shared_ptr<const RoutingTable> BuildRoutingTable(const storage::RoutingSnapshot& snapshot,
                                                      RoutingPolicy policy,
                                                      std::vector<std::string>* skipped) {
  std::vector<MailboxRoute> mailboxes;
  mailboxes.reserve(snapshot.mailboxes.size());
  for (const storage::MailboxRoutingRow& row : snapshot.mailboxes) {
    MailboxRoute mailbox{.id = row.id, .name = row.name, .position = row.position, .rules = {}};
    for (size_t i = 0; i < row.rules_json.size(); ++i) {
      mailroom::v1::RoutingRule rule;
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = false;
      const auto parsed =
          google::protobuf::util::JsonStringToMessage(row.rules_json[i], &rule, options);
      if (!parsed.ok()) {
        if (skipped != nullptr) {
          skipped->push_back(absl::StrCat("mailbox `", row.name, "` rule ", i + 1,
                                          ": not a RoutingRule: ", parsed.message().as_string()));
        }
        mailbox.rules.push_back(std::nullopt);  // keeps the numbering of the others
        continue;
      }
      mailbox.rules.push_back(std::move(rule));
    }
    mailboxes.push_back(std::move(mailbox));
  }
  std::vector<UserRoute> users;
  users.reserve(snapshot.users.size());
  for (const storage::UserRoutingRow& row : snapshot.users) {
    users.push_back(UserRoute{.username = row.username,
                              .enabled = row.enabled,
                              .default_mailbox_id = row.default_mailbox_id});
  }
  return RoutingTable::Build(mailboxes, users, policy, skipped);
}

}  // namespace mailroom::server::routing
