#include "server/mailbox_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/mailbox_rules_json.h"
#include "server/proto_time.h"
#include "server/routing/rule_check.h"
#include "server/unary_call.h"
#include "storage/ids.h"
#include "storage/mailbox_store.h"
#include "storage/schema.h"

namespace mailroom::server {
namespace {

constexpr absl::string_view kUpdatableFields =
    "the fields that can be updated are name, description, position, max_messages and rules "
    "(or * for all)";

absl::Status ToMailboxProto(const storage::MailboxRow& row, v1::Mailbox* out) {
  out->set_id(row.id);
  out->set_name(row.name);
  out->set_description(row.description);
  out->set_position(row.position);
  out->set_max_messages(row.max_messages);
  if (absl::Status rules = RoutingRulesFromJson(row.rules_json, out->mutable_rules());
      !rules.ok()) {
    return absl::InternalError(absl::StrCat("mailbox `", row.name, "`: ", rules.message()));
  }
  out->set_message_count(row.message_count);
  out->set_unread_count(row.unread_count);
  SetTimestamp(row.created_at, out->mutable_create_time());
  SetTimestamp(row.updated_at, out->mutable_update_time());
  return absl::OkStatus();
}

// Checks the rules of a request's mailbox and returns them as stored.
absl::StatusOr<std::string> RulesJson(const RoutingRules& rules) {
  if (rules.size() > kMaxRoutingRules) {
    return absl::InvalidArgumentError(
        absl::StrCat("mailbox.rules: at most ", kMaxRoutingRules, " rules, got ", rules.size()));
  }
  for (int i = 0; i < rules.size(); ++i) {
    absl::Status valid =
        routing::CheckRoutingRule(rules[i], absl::StrCat("mailbox.rules[", i, "]"));
    if (!valid.ok()) return valid;
  }
  return RoutingRulesToJson(rules);
}

// The mailbox a Get or Delete request names (its oneof `identifier`).
template <typename Request>
absl::StatusOr<storage::MailboxKey> KeyOf(const Request& request) {
  switch (request.identifier_case()) {
    case Request::kId:
      if (request.id().empty()) return absl::InvalidArgumentError("id: required");
      if (!storage::IsValidId(request.id())) {
        return absl::InvalidArgumentError(
            absl::StrCat("id: `", request.id(), "` is not a mailbox id (UUID)"));
      }
      return storage::MailboxKey::ById(request.id());
    case Request::kName:
      if (request.name().empty()) return absl::InvalidArgumentError("name: required");
      return storage::MailboxKey::ByName(request.name());
    case Request::IDENTIFIER_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("id: required (or name)");
}

bool IsDefault(const storage::MailboxKey& key) {
  return key.id.empty() ? key.name == storage::kDefaultMailboxName
                        : key.id == storage::kDefaultMailboxId;
}

// The fields named by an update mask.
struct MaskFields {
  bool name = false;
  bool description = false;
  bool position = false;
  bool max_messages = false;
  bool rules = false;
};

absl::StatusOr<MaskFields> ParseMask(const google::protobuf::FieldMask& mask, bool by_name) {
  if (mask.paths_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("update_mask: required; ", kUpdatableFields));
  }
  MaskFields fields;
  for (const std::string& path : mask.paths()) {
    if (path == "*") {
      // Chosen by name, the name stays what it is: it is the key, not a new value.
      fields = {.name = !by_name,
                .description = true,
                .position = true,
                .max_messages = true,
                .rules = true};
    } else if (path == "name") {
      if (by_name) {
        return absl::InvalidArgumentError(
            "update_mask: `name` cannot be updated on a mailbox chosen by name; set mailbox.id "
            "to rename it");
      }
      fields.name = true;
    } else if (path == "description") {
      fields.description = true;
    } else if (path == "position") {
      fields.position = true;
    } else if (path == "max_messages") {
      fields.max_messages = true;
    } else if (path == "rules") {
      fields.rules = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: `", path, "` cannot be updated; ", kUpdatableFields));
    }
  }
  return fields;
}

// The storage update for an UpdateMailbox request, validated.
struct UpdatePlan {
  storage::MailboxKey key{};
  storage::MailboxUpdate update{};
};

absl::StatusOr<UpdatePlan> PlanUpdate(const v1::UpdateMailboxRequest& request) {
  if (!request.has_mailbox()) return absl::InvalidArgumentError("mailbox: required");
  const v1::Mailbox& mailbox = request.mailbox();
  UpdatePlan plan;
  if (!mailbox.id().empty()) {
    if (!storage::IsValidId(mailbox.id())) {
      return absl::InvalidArgumentError(
          absl::StrCat("mailbox.id: `", mailbox.id(), "` is not a mailbox id (UUID)"));
    }
    plan.key = storage::MailboxKey::ById(mailbox.id());
  } else if (!mailbox.name().empty()) {
    plan.key = storage::MailboxKey::ByName(mailbox.name());
  } else {
    return absl::InvalidArgumentError("mailbox.id: required (or mailbox.name)");
  }
  absl::StatusOr<MaskFields> fields = ParseMask(request.update_mask(), mailbox.id().empty());
  if (!fields.ok()) return fields.status();
  const bool is_default = IsDefault(plan.key);
  storage::MailboxUpdate& update = plan.update;
  if (fields->name) {
    if (is_default && mailbox.name() != storage::kDefaultMailboxName) {
      return absl::InvalidArgumentError("mailbox.name: the `default` mailbox cannot be renamed");
    }
    if (absl::Status s = storage::ValidateMailboxName(mailbox.name()); !s.ok()) return s;
    update.name = mailbox.name();
  }
  if (fields->description) {
    if (absl::Status s = storage::ValidateMailboxDescription(mailbox.description()); !s.ok()) {
      return s;
    }
    update.description = mailbox.description();
  }
  if (fields->position) update.position = mailbox.position();
  if (fields->max_messages) {
    if (absl::Status s = storage::ValidateMailboxMaxMessages(mailbox.max_messages()); !s.ok()) {
      return s;
    }
    update.max_messages = mailbox.max_messages();
  }
  if (fields->rules) {
    if (is_default && mailbox.rules_size() > 0) {
      return absl::InvalidArgumentError(
          "mailbox.rules: the `default` mailbox has no rules; it receives what no other "
          "mailbox matched");
    }
    absl::StatusOr<std::string> rules = RulesJson(mailbox.rules());
    if (!rules.ok()) return rules.status();
    update.rules_json = *std::move(rules);
  }
  return plan;
}

}  // namespace

MailboxService::MailboxService(storage::ConnectionPool* pool, StorageExecutor* executor,
                               std::function<void()> on_change)
    : pool_(*pool), executor_(*executor), on_change_(std::move(on_change)) {}

void MailboxService::Changed() const {
  if (on_change_) on_change_();
}

grpc::ServerUnaryReactor* MailboxService::CreateMailbox(grpc::CallbackServerContext* context,
                                                        const v1::CreateMailboxRequest* request,
                                                        v1::CreateMailboxResponse* response) {
  if (!request->has_mailbox()) {
    return FinishNow(context, absl::InvalidArgumentError("mailbox: required"));
  }
  const v1::Mailbox& mailbox = request->mailbox();
  storage::MailboxValues values{.name = mailbox.name(),
                                .description = mailbox.description(),
                                .position = mailbox.position(),
                                .max_messages = mailbox.max_messages()};
  if (absl::Status valid = storage::ValidateMailboxValues(values); !valid.ok()) {
    return FinishNow(context, valid);
  }
  absl::StatusOr<std::string> rules = RulesJson(mailbox.rules());
  if (!rules.ok()) return FinishNow(context, rules.status());
  values.rules_json = *std::move(rules);
  return FinishOnExecutor(
      context, executor_, [this, values = std::move(values), response]() -> absl::Status {
        absl::StatusOr<storage::MailboxRow> row = storage::CreateMailbox(pool_, values);
        if (!row.ok()) return row.status();
        Changed();
        return ToMailboxProto(*row, response->mutable_mailbox());
      });
}

grpc::ServerUnaryReactor* MailboxService::GetMailbox(grpc::CallbackServerContext* context,
                                                     const v1::GetMailboxRequest* request,
                                                     v1::GetMailboxResponse* response) {
  absl::StatusOr<storage::MailboxKey> key = KeyOf(*request);
  if (!key.ok()) return FinishNow(context, key.status());
  return FinishOnExecutor(
      context, executor_, [this, key = *std::move(key), response]() -> absl::Status {
        absl::StatusOr<storage::MailboxRow> row = storage::GetMailbox(pool_, key);
        if (!row.ok()) return row.status();
        return ToMailboxProto(*row, response->mutable_mailbox());
      });
}

grpc::ServerUnaryReactor* MailboxService::ListMailboxes(grpc::CallbackServerContext* context,
                                                        const v1::ListMailboxesRequest* request,
                                                        v1::ListMailboxesResponse* response) {
  if (request->page_size() < 0) {
    return FinishNow(context, absl::InvalidArgumentError("page_size: must not be negative"));
  }
  const int page_size = std::min<int>(request->page_size(), storage::kMaxMailboxPageSize);
  return FinishOnExecutor(
      context, executor_,
      [this, page_size, token = request->page_token(), response]() -> absl::Status {
        absl::StatusOr<storage::MailboxPage> page = storage::ListMailboxes(pool_, page_size, token);
        if (!page.ok()) return page.status();
        for (const storage::MailboxRow& row : page->mailboxes) {
          if (absl::Status s = ToMailboxProto(row, response->add_mailboxes()); !s.ok()) return s;
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* MailboxService::UpdateMailbox(grpc::CallbackServerContext* context,
                                                        const v1::UpdateMailboxRequest* request,
                                                        v1::UpdateMailboxResponse* response) {
  absl::StatusOr<UpdatePlan> plan = PlanUpdate(*request);
  if (!plan.ok()) return FinishNow(context, plan.status());
  return FinishOnExecutor(context, executor_,
                          [this, plan = *std::move(plan), response]() -> absl::Status {
                            absl::StatusOr<storage::MailboxRow> row =
                                storage::UpdateMailbox(pool_, plan.key, plan.update);
                            if (!row.ok()) return row.status();
                            Changed();
                            return ToMailboxProto(*row, response->mutable_mailbox());
                          });
}

grpc::ServerUnaryReactor* MailboxService::DeleteMailbox(grpc::CallbackServerContext* context,
                                                        const v1::DeleteMailboxRequest* request,
                                                        v1::DeleteMailboxResponse* /*response*/) {
  absl::StatusOr<storage::MailboxKey> key = KeyOf(*request);
  if (!key.ok()) return FinishNow(context, key.status());
  if (IsDefault(*key)) {
    return FinishNow(context, absl::FailedPreconditionError(
                                  "the `default` mailbox cannot be deleted: it receives what no "
                                  "other mailbox matched"));
  }
  return FinishOnExecutor(
      context, executor_,
      [this, key = *std::move(key), force = request->force()]() -> absl::Status {
        absl::StatusOr<storage::MailboxDeletion> deleted =
            storage::DeleteMailbox(pool_, key, force);
        if (!deleted.ok()) return deleted.status();
        Changed();
        return absl::OkStatus();
      });
}

}  // namespace mailroom::server
