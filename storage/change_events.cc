#include "storage/change_events.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/ids.h"

namespace mailroom::storage {
namespace {

absl::Status Malformed(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("change notification: ", problem));
}

// Splits "a,b,c" into ids; every element must be a message id.
absl::StatusOr<std::vector<std::string>> ParseIds(absl::string_view list) {
  std::vector<std::string> ids;
  for (absl::string_view id : absl::StrSplit(list, ',')) {
    if (!IsValidId(id)) return Malformed(absl::StrCat("`", id, "` is not a message id"));
    ids.emplace_back(id);
  }
  return ids;
}

// Cuts the next space-terminated field off `rest`; nullopt when there is no space.
std::optional<absl::string_view> NextField(absl::string_view& rest) {
  const size_t space = rest.find(' ');
  if (space == absl::string_view::npos) return std::nullopt;
  absl::string_view field = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return field;
}

}  // namespace

absl::StatusOr<MessageChange> ParseCreatedPayload(absl::string_view payload) {
  absl::StatusOr<std::vector<std::string>> ids = ParseIds(payload);
  if (!ids.ok()) return ids.status();
  return MessageChange{.kind = ChangeKind::kCreated, .ids = *std::move(ids)};
}

absl::StatusOr<MessageChange> ParseChangePayload(absl::string_view payload) {
  absl::string_view rest = payload;
  const std::optional<absl::string_view> kind = NextField(rest);
  const std::optional<absl::string_view> time_field = NextField(rest);
  if (!kind.has_value() || !time_field.has_value()) return Malformed("too few fields");
  int64_t micros = 0;
  if (!absl::SimpleAtoi(*time_field, &micros)) {
    return Malformed(absl::StrCat("`", *time_field, "` is not a time in microseconds"));
  }
  MessageChange change{.time = absl::FromUnixMicros(micros)};
  absl::string_view id_list;
  if (*kind == "u") {
    change.kind = ChangeKind::kUpdated;
    id_list = rest;
  } else if (*kind == "d") {
    change.kind = ChangeKind::kDeleted;
    const std::optional<absl::string_view> mailbox_id = NextField(rest);
    const std::optional<absl::string_view> ids = NextField(rest);
    if (!mailbox_id.has_value() || !ids.has_value()) return Malformed("too few fields");
    if (!IsValidId(*mailbox_id)) {
      return Malformed(absl::StrCat("`", *mailbox_id, "` is not a mailbox id"));
    }
    // The name is the rest, whatever it holds.
    if (rest.empty()) return Malformed("no mailbox name");
    change.mailbox_id = std::string(*mailbox_id);
    change.mailbox_name = std::string(rest);
    id_list = *ids;
  } else {
    return Malformed(absl::StrCat("unknown kind `", *kind, "`"));
  }
  absl::StatusOr<std::vector<std::string>> ids = ParseIds(id_list);
  if (!ids.ok()) return ids.status();
  change.ids = *std::move(ids);
  return change;
}

}  // namespace mailroom::storage
