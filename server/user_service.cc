#include "server/user_service.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/password_hash.h"
#include "server/proto_time.h"
#include "server/unary_call.h"
#include "storage/ids.h"
#include "storage/user_store.h"

namespace mailroom::server {
namespace {

constexpr size_t kMaxUsernameChars = 255;
constexpr size_t kMaxPasswordBytes = 1024;

// Decodes one UTF-8 sequence at `text[i]` (RFC 3629: no overlong forms, no surrogates, at
// most U+10FFFF). Returns the code point and advances `i`, or nullopt.
std::optional<uint32_t> NextCodePoint(absl::string_view text, size_t& i) {
  const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(i);
  size_t length;
  uint32_t value;
  uint32_t minimum;
  if (lead < 0x80) {
    ++i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + length > text.size()) return std::nullopt;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return std::nullopt;
  }
  i += length;
  return value;
}

// C0 controls, DEL and C1 controls (Unicode general category Cc).
bool IsControl(uint32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

void ToUserProto(const storage::UserRow& row, v1::User* out) {
  out->set_id(row.id);
  out->set_username(row.username);
  out->set_default_mailbox(row.default_mailbox);
  out->set_enabled(row.enabled);
  SetTimestamp(row.created_at, out->mutable_create_time());
  SetTimestamp(row.updated_at, out->mutable_update_time());
}

// The identifier oneof of GetUserRequest and DeleteUserRequest.
template <typename Request>
absl::StatusOr<storage::UserRef> RefOf(const Request& request) {
  switch (request.identifier_case()) {
    case Request::kId:
      if (!storage::IsValidId(request.id())) return Invalid("id", "not a UUID");
      return storage::UserRef{.id = request.id()};
    case Request::kUsername:
      if (request.username().empty()) return Invalid("username", "must not be empty");
      return storage::UserRef{.username = request.username()};
    default:
      return Invalid("id", "required (or username)");
  }
}

// What UpdateUser changes, from the mask; the password still in clear text (hashed later,
// on the storage thread).
struct UpdatePlan {
  storage::UserRef which;
  storage::UserUpdate update;
  std::optional<std::string> password;
};

absl::StatusOr<UpdatePlan> PlanUpdate(const v1::UpdateUserRequest& request) {
  const v1::User& user = request.user();
  UpdatePlan plan;
  if (!user.id().empty()) {
    if (!storage::IsValidId(user.id())) return Invalid("user.id", "not a UUID");
    plan.which.id = user.id();
  } else if (!user.username().empty()) {
    plan.which.username = user.username();
  } else {
    return Invalid("user.id", "required (or user.username) to name the user to update");
  }
  if (request.update_mask().paths().empty()) {
    return Invalid("update_mask", "required: name the fields to change");
  }
  bool username = false, password = false, default_mailbox = false, enabled = false;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "*") {
      if (request.update_mask().paths_size() != 1) {
        return Invalid("update_mask", "`*` cannot be combined with other paths");
      }
      username = password = default_mailbox = enabled = true;
    } else if (path == "username") {
      username = true;
    } else if (path == "password") {
      password = true;
    } else if (path == "default_mailbox") {
      default_mailbox = true;
    } else if (path == "enabled") {
      enabled = true;
    } else if (path == "id" || path == "create_time" || path == "update_time") {
      return Invalid("update_mask", absl::StrCat("`", path, "` cannot be updated"));
    } else {
      return Invalid("update_mask",
                     absl::StrCat("unknown field `", path,
                                  "` (updatable: username, password, default_mailbox, enabled)"));
    }
  }
  if (username) {
    if (plan.which.id.empty()) {
      return Invalid("update_mask",
                     "`username` cannot be changed when the user is named by username; set "
                     "user.id");
    }
    if (absl::Status valid = ValidateUsername(user.username(), "user.username"); !valid.ok()) {
      return valid;
    }
    plan.update.username = user.username();
  }
  if (password) {
    if (absl::Status valid = ValidatePassword(user.password(), "user.password"); !valid.ok()) {
      return valid;
    }
    plan.password = user.password();
  }
  if (default_mailbox) plan.update.default_mailbox = user.default_mailbox();
  if (enabled) {
    if (!user.has_enabled()) {
      return Invalid("user.enabled", "required when `enabled` is in update_mask");
    }
    plan.update.enabled = user.enabled();
  }
  return plan;
}

}  // namespace

absl::StatusOr<storage::PasswordMaterial> MakePasswordMaterial(absl::string_view password) {
  absl::StatusOr<std::string> hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  return storage::PasswordMaterial{.hash = *std::move(hash),
                                   .cram_md5_verifier = CramMd5Verifier(password)};
}

absl::Status ValidateUsername(absl::string_view username, absl::string_view field) {
  if (username.empty()) return Invalid(field, "required");
  size_t chars = 0;
  for (size_t i = 0; i < username.size();) {
    std::optional<uint32_t> c = NextCodePoint(username, i);
    if (!c.has_value()) return Invalid(field, "not valid UTF-8");
    if (IsControl(*c)) return Invalid(field, "must not contain control characters");
    ++chars;
  }
  if (chars > kMaxUsernameChars) {
    return Invalid(field, absl::StrCat("longer than ", kMaxUsernameChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePassword(absl::string_view password, absl::string_view field) {
  if (password.empty()) return Invalid(field, "required");
  if (password.size() > kMaxPasswordBytes) {
    return Invalid(field, absl::StrCat("longer than ", kMaxPasswordBytes, " bytes"));
  }
  for (size_t i = 0; i < password.size();) {
    if (!NextCodePoint(password, i).has_value()) return Invalid(field, "not valid UTF-8");
  }
  return absl::OkStatus();
}

UserService::UserService(storage::ConnectionPool* pool, StorageExecutor* executor,
                         std::function<void()> on_change)
    : pool_(*pool), executor_(*executor), on_change_(std::move(on_change)) {}

grpc::ServerUnaryReactor* UserService::CreateUser(grpc::CallbackServerContext* context,
                                                  const v1::CreateUserRequest* request,
                                                  v1::CreateUserResponse* response) {
  const v1::User& user = request->user();
  if (absl::Status valid = ValidateUsername(user.username(), "user.username"); !valid.ok()) {
    return FinishNow(context, valid);
  }
  if (absl::Status valid = ValidatePassword(user.password(), "user.password"); !valid.ok()) {
    return FinishNow(context, valid);
  }
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    const v1::User& user = request->user();
    absl::StatusOr<storage::PasswordMaterial> password = MakePasswordMaterial(user.password());
    if (!password.ok()) return password.status();
    absl::StatusOr<storage::UserRow> row = storage::CreateUser(
        pool_, storage::NewUser{.username = user.username(),
                                .password = *std::move(password),
                                .default_mailbox = user.default_mailbox(),
                                .enabled = user.has_enabled() ? user.enabled() : true});
    if (!row.ok()) return row.status();
    ToUserProto(*row, response->mutable_user());
    if (on_change_) on_change_();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* UserService::GetUser(grpc::CallbackServerContext* context,
                                               const v1::GetUserRequest* request,
                                               v1::GetUserResponse* response) {
  absl::StatusOr<storage::UserRef> which = RefOf(*request);
  if (!which.ok()) return FinishNow(context, which.status());
  return FinishOnExecutor(context, executor_,
                          [this, which = *std::move(which), response]() -> absl::Status {
                            absl::StatusOr<storage::UserRow> row = storage::GetUser(pool_, which);
                            if (!row.ok()) return row.status();
                            ToUserProto(*row, response->mutable_user());
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* UserService::ListUsers(grpc::CallbackServerContext* context,
                                                 const v1::ListUsersRequest* request,
                                                 v1::ListUsersResponse* response) {
  if (request->page_size() < 0) {
    return FinishNow(context, Invalid("page_size", "must not be negative"));
  }
  storage::UserListQuery query{
      .page_size = std::min<int>(request->page_size(), storage::kMaxUserPageSize),
      .page_token = request->page_token()};
  return FinishOnExecutor(
      context, executor_, [this, query = std::move(query), response]() -> absl::Status {
        absl::StatusOr<storage::UserPage> page = storage::ListUsers(pool_, query);
        if (!page.ok()) return page.status();
        for (const storage::UserRow& row : page->users) ToUserProto(row, response->add_users());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserService::UpdateUser(grpc::CallbackServerContext* context,
                                                  const v1::UpdateUserRequest* request,
                                                  v1::UpdateUserResponse* response) {
  absl::StatusOr<UpdatePlan> plan = PlanUpdate(*request);
  if (!plan.ok()) return FinishNow(context, plan.status());
  return FinishOnExecutor(
      context, executor_, [this, plan = *std::move(plan), response]() mutable -> absl::Status {
        if (plan.password.has_value()) {
          absl::StatusOr<storage::PasswordMaterial> password = MakePasswordMaterial(*plan.password);
          if (!password.ok()) return password.status();
          plan.update.password = *std::move(password);
        }
        absl::StatusOr<storage::UserRow> row = storage::UpdateUser(pool_, plan.which, plan.update);
        if (!row.ok()) return row.status();
        ToUserProto(*row, response->mutable_user());
        if (on_change_) on_change_();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserService::DeleteUser(grpc::CallbackServerContext* context,
                                                  const v1::DeleteUserRequest* request,
                                                  v1::DeleteUserResponse* /*response*/) {
  absl::StatusOr<storage::UserRef> which = RefOf(*request);
  if (!which.ok()) return FinishNow(context, which.status());
  return FinishOnExecutor(context, executor_, [this, which = *std::move(which)]() -> absl::Status {
    absl::Status deleted = storage::DeleteUser(pool_, which);
    if (!deleted.ok()) return deleted;
    if (on_change_) on_change_();
    return absl::OkStatus();
  });
}

}  // namespace mailroom::server
