// Users and mailboxes declared in the configuration file ("configuration as code", the way
// the Helm chart sets them up), turned into the API's own messages so that they are
// validated and stored exactly like those created through MailboxService and UserService.
//
// Declared objects are applied at start-up by name: created when missing, updated when
// present, never duplicated; several replicas may apply the same declarations at once.
//
// Thread-safety: pure functions.
#ifndef MAILROOM_SERVER_DECLARED_OBJECTS_H_
#define MAILROOM_SERVER_DECLARED_OBJECTS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/mailbox_service.pb.h"
#include "server/config/settings.h"
#include "storage/pool.h"

namespace mailroom::server {

// The mailbox `declared` describes, rules in order. `field` is its configuration key
// ("mailboxes[2]"), which errors start with.
// Returns InvalidArgument for a rule whose conditions the proto could not express: none or
// several conditions, or several ways of matching in one (see DeclaredRule). The values
// themselves (patterns, names) are checked where API input is: by the service code.
absl::StatusOr<mailroom::v1::Mailbox> DeclaredMailbox(const config::MailboxConfig& declared,
                                                      absl::string_view field);

// The routing rule `declared` describes. The file spells a rule as sections that may each
// be filled in, where the proto has a oneof: exactly one condition must be given, and in it
// exactly one way of matching, else InvalidArgument such as
//   "mailboxes[0].rules[1]: give exactly one condition (recipient, auth_user, header or
//    source); found recipient and header".
absl::StatusOr<mailroom::v1::RoutingRule> DeclaredRule(const config::RoutingRuleConfig& declared,
                                                       absl::string_view field);

// What applying the declarations did, for the start-up log.
struct DeclaredOutcome {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
};

// Creates or updates every mailbox, then every user, of `config` (users name mailboxes),
// validated exactly as the API validates them. Idempotent, and safe when several replicas
// apply the same declarations at once. A declared password that the stored hash already
// verifies is not hashed again, so restarts do not rewrite users.
// Errors name the configuration key: "mailboxes[1].rules[0].recipient.regex: missing )",
// "users[0].default_mailbox: no mailbox named `qa`". Unavailable when the database is.
absl::StatusOr<DeclaredOutcome> ApplyDeclaredObjects(storage::ConnectionPool& pool,
                                                     const config::Config& config);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_DECLARED_OBJECTS_H_
