#include "server/declared_objects.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/mailbox_rules_json.h"
#include "server/password_hash.h"
#include "server/routing/rule_check.h"
#include "server/user_service.h"
#include "storage/mailbox_store.h"
#include "storage/user_store.h"

namespace mailroom::server {
namespace {

// The names of the alternatives given, for the error message.
class Alternatives {
 public:
  void Note(bool given, absl::string_view name) {
    if (given) names_.emplace_back(name);
  }
  size_t count() const { return names_.size(); }

  // OK when exactly one alternative was given, else InvalidArgument at `field`.
  absl::Status ExactlyOne(absl::string_view field, absl::string_view what,
                          absl::string_view choices) const {
    if (names_.size() == 1) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": give exactly one ", what, " (", choices, "); ",
        names_.empty() ? "found none" : absl::StrCat("found ", absl::StrJoin(names_, " and "))));
  }

 private:
  std::vector<std::string> names_;
};

absl::StatusOr<mailroom::v1::AddressCondition> DeclaredAddress(
    const config::AddressMatchConfig& declared, absl::string_view field) {
  Alternatives given;
  given.Note(!declared.exact.empty(), "exact");
  given.Note(!declared.domain.empty(), "domain");
  given.Note(!declared.glob.empty(), "glob");
  given.Note(!declared.regex.empty(), "regex");
  if (absl::Status status =
          given.ExactlyOne(field, "way of matching", "exact, domain, glob or regex");
      !status.ok()) {
    return status;
  }
  mailroom::v1::AddressCondition condition;
  if (!declared.exact.empty()) condition.set_exact(declared.exact);
  if (!declared.domain.empty()) condition.set_domain(declared.domain);
  if (!declared.glob.empty()) condition.set_glob(declared.glob);
  if (!declared.regex.empty()) condition.set_regex(declared.regex);
  return condition;
}

absl::StatusOr<mailroom::v1::HeaderCondition> DeclaredHeader(
    const config::HeaderMatchConfig& declared, absl::string_view field) {
  Alternatives given;
  given.Note(declared.exists != config::HeaderPresence::kUnset, "exists");
  given.Note(!declared.glob.empty(), "glob");
  given.Note(!declared.regex.empty(), "regex");
  if (absl::Status status = given.ExactlyOne(field, "way of matching", "exists, glob or regex");
      !status.ok()) {
    return status;
  }
  mailroom::v1::HeaderCondition condition;
  condition.set_name(declared.name);
  if (declared.exists != config::HeaderPresence::kUnset) {
    condition.set_exists(declared.exists == config::HeaderPresence::kPresent);
  }
  if (!declared.glob.empty()) condition.set_glob(declared.glob);
  if (!declared.regex.empty()) condition.set_regex(declared.regex);
  return condition;
}

absl::StatusOr<mailroom::v1::SourceCondition> DeclaredSource(
    const config::SourceMatchConfig& declared, absl::string_view field) {
  Alternatives given;
  given.Note(!declared.client_network.empty(), "client_network");
  given.Note(!declared.ehlo_name.empty(), "ehlo_name");
  if (absl::Status status =
          given.ExactlyOne(field, "way of matching", "client_network or ehlo_name");
      !status.ok()) {
    return status;
  }
  mailroom::v1::SourceCondition condition;
  if (!declared.client_network.empty()) condition.set_client_network(declared.client_network);
  if (!declared.ehlo_name.empty()) condition.set_ehlo_name(declared.ehlo_name);
  return condition;
}

// The store's errors name API fields ("mailbox.name: ..."); in the file the same field is
// "mailboxes[2].name".
absl::Status AtKey(const absl::Status& status, absl::string_view api_prefix,
                   absl::string_view key) {
  if (status.ok() || absl::IsUnavailable(status)) return status;
  absl::string_view message = status.message();
  if (absl::ConsumePrefix(&message, api_prefix)) {
    return absl::Status(status.code(), absl::StrCat(key, message));
  }
  return absl::Status(status.code(), absl::StrCat(key, ": ", message));
}

void Count(storage::UpsertOutcome outcome, DeclaredOutcome& total) {
  switch (outcome) {
    case storage::UpsertOutcome::kCreated:
      ++total.created;
      break;
    case storage::UpsertOutcome::kUpdated:
      ++total.updated;
      break;
    case storage::UpsertOutcome::kUnchanged:
      ++total.unchanged;
      break;
  }
}

absl::Status ApplyMailbox(storage::ConnectionPool& pool, const config::MailboxConfig& declared,
                          const std::string& key, DeclaredOutcome& total) {
  absl::StatusOr<mailroom::v1::Mailbox> mailbox = DeclaredMailbox(declared, key);
  if (!mailbox.ok()) return mailbox.status();
  for (int i = 0; i < mailbox->rules_size(); ++i) {
    if (absl::Status status =
            routing::CheckRoutingRule(mailbox->rules(i), absl::StrCat(key, ".rules[", i, "]"));
        !status.ok()) {
      return status;
    }
  }
  absl::StatusOr<std::string> rules = RoutingRulesToJson(mailbox->rules());
  if (!rules.ok()) return AtKey(rules.status(), "", absl::StrCat(key, ".rules"));
  const storage::MailboxValues values{.name = declared.name,
                                      .description = declared.description,
                                      .position = declared.position,
                                      .max_messages = declared.max_messages,
                                      .rules_json = *std::move(rules)};
  if (absl::Status status = storage::ValidateMailboxValues(values); !status.ok()) {
    return AtKey(status, "mailbox.", absl::StrCat(key, "."));
  }
  absl::StatusOr<storage::UpsertedMailbox> upserted = storage::UpsertMailbox(pool, values);
  if (!upserted.ok()) return AtKey(upserted.status(), "mailbox.", absl::StrCat(key, "."));
  Count(upserted->outcome, total);
  return absl::OkStatus();
}

// The password material to store for `declared`, or nullopt when the stored hash already
// verifies the declared password (hashing again would only change the salt).
absl::StatusOr<std::optional<storage::PasswordMaterial>> NewPasswordMaterial(
    storage::ConnectionPool& pool, const config::UserConfig& declared) {
  absl::StatusOr<storage::UserCredentials> stored =
      storage::GetUserCredentials(pool, declared.username);
  if (stored.ok() && stored->password_hash.has_value() && stored->cram_md5_verifier.has_value()) {
    absl::StatusOr<bool> same = VerifyPassword(declared.password, *stored->password_hash);
    if (same.ok() && *same) return std::nullopt;
  } else if (!stored.ok() && !absl::IsNotFound(stored.status())) {
    return stored.status();
  }
  absl::StatusOr<storage::PasswordMaterial> material = MakePasswordMaterial(declared.password);
  if (!material.ok()) return material.status();
  return std::optional<storage::PasswordMaterial>(*std::move(material));
}

absl::Status ApplyUser(storage::ConnectionPool& pool, const config::UserConfig& declared,
                       const std::string& key, DeclaredOutcome& total) {
  if (absl::Status status = ValidateUsername(declared.username, absl::StrCat(key, ".username"));
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidatePassword(declared.password, absl::StrCat(key, ".password"));
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::optional<storage::PasswordMaterial>> password =
      NewPasswordMaterial(pool, declared);
  if (!password.ok()) return AtKey(password.status(), "", absl::StrCat(key, ".password"));
  absl::StatusOr<storage::UpsertResult> upserted =
      storage::UpsertUser(pool, storage::DeclaredUser{.username = declared.username,
                                                      .password = *std::move(password),
                                                      .default_mailbox = declared.default_mailbox,
                                                      .enabled = declared.enabled});
  if (!upserted.ok()) return AtKey(upserted.status(), "user.", absl::StrCat(key, "."));
  Count(upserted->outcome, total);
  return absl::OkStatus();
}

bool Given(const config::AddressMatchConfig& address) {
  return address != config::AddressMatchConfig{};
}
bool Given(const config::HeaderMatchConfig& header) {
  return header != config::HeaderMatchConfig{};
}
bool Given(const config::SourceMatchConfig& source) {
  return source != config::SourceMatchConfig{};
}

}  // namespace

absl::StatusOr<mailroom::v1::RoutingRule> DeclaredRule(const config::RoutingRuleConfig& declared,
                                                       absl::string_view field) {
  Alternatives given;
  given.Note(Given(declared.recipient), "recipient");
  given.Note(!declared.auth_user.empty(), "auth_user");
  given.Note(Given(declared.header), "header");
  given.Note(Given(declared.source), "source");
  if (absl::Status status =
          given.ExactlyOne(field, "condition", "recipient, auth_user, header or source");
      !status.ok()) {
    return status;
  }
  mailroom::v1::RoutingRule rule;
  rule.set_description(declared.description);
  if (Given(declared.recipient)) {
    absl::StatusOr<mailroom::v1::AddressCondition> recipient =
        DeclaredAddress(declared.recipient, absl::StrCat(field, ".recipient"));
    if (!recipient.ok()) return recipient.status();
    *rule.mutable_recipient() = *std::move(recipient);
  } else if (!declared.auth_user.empty()) {
    rule.set_auth_user(declared.auth_user);
  } else if (Given(declared.header)) {
    absl::StatusOr<mailroom::v1::HeaderCondition> header =
        DeclaredHeader(declared.header, absl::StrCat(field, ".header"));
    if (!header.ok()) return header.status();
    *rule.mutable_header() = *std::move(header);
  } else {
    absl::StatusOr<mailroom::v1::SourceCondition> source =
        DeclaredSource(declared.source, absl::StrCat(field, ".source"));
    if (!source.ok()) return source.status();
    *rule.mutable_source() = *std::move(source);
  }
  return rule;
}

absl::StatusOr<mailroom::v1::Mailbox> DeclaredMailbox(const config::MailboxConfig& declared,
                                                      absl::string_view field) {
  mailroom::v1::Mailbox mailbox;
  mailbox.set_name(declared.name);
  mailbox.set_description(declared.description);
  mailbox.set_position(declared.position);
  mailbox.set_max_messages(declared.max_messages);
  for (size_t i = 0; i < declared.rules.size(); ++i) {
    absl::StatusOr<mailroom::v1::RoutingRule> rule =
        DeclaredRule(declared.rules[i], absl::StrCat(field, ".rules[", i, "]"));
    if (!rule.ok()) return rule.status();
    *mailbox.add_rules() = *std::move(rule);
  }
  return mailbox;
}

absl::StatusOr<DeclaredOutcome> ApplyDeclaredObjects(storage::ConnectionPool& pool,
                                                     const config::Config& config) {
  DeclaredOutcome total;
  for (size_t i = 0; i < config.mailboxes.size(); ++i) {
    if (absl::Status status =
            ApplyMailbox(pool, config.mailboxes[i], absl::StrCat("mailboxes[", i, "]"), total);
        !status.ok()) {
      return status;
    }
  }
  for (size_t i = 0; i < config.users.size(); ++i) {
    if (absl::Status status =
            ApplyUser(pool, config.users[i], absl::StrCat("users[", i, "]"), total);
        !status.ok()) {
      return status;
    }
  }
  return total;
}

}  // namespace mailroom::server
