// The opaque page tokens of ListMessages: where the next page starts (the keyset cursor:
// receive time and id of the last message listed) and which listing the token belongs to.
//
// Layout before encoding (URL-safe base64 without padding), 41 bytes:
//   version (1) | scope (8) | received_at, microseconds since the epoch (8, big-endian) |
//   id (16) | check (8)
// `scope` is a hash of the mailbox and the query text, so a token used with another mailbox
// or query is refused rather than silently paging through a different list; `check` is a
// hash of the bytes before it, so an edited or truncated token is refused too. Neither is a
// secret: a token is a convenience, not an access grant (it only names a position).
//
// Thread-safety: pure functions.

#ifndef MAILROOM_STORAGE_PAGE_TOKEN_H_
#define MAILROOM_STORAGE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mailroom::storage {

// The keyset position: the last message of the previous page.
struct PageCursor {
  int64_t received_us = 0;  // received_at in microseconds since the Unix epoch
  std::string id{};         // canonical UUID

  friend bool operator==(const PageCursor&, const PageCursor&) = default;
};

// Returns the scope hash for a listing of `mailbox` with the query text `query`.
uint64_t PageScope(absl::string_view mailbox, absl::string_view query);

// Returns the token for `cursor` in `scope`. REQUIRES: cursor.id is a canonical UUID.
std::string EncodePageToken(const PageCursor& cursor, uint64_t scope);

// Returns the cursor of `token`. Returns InvalidArgument "page_token: ..." when it is not a
// token this code made, or was made for another scope.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, uint64_t scope);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_PAGE_TOKEN_H_
