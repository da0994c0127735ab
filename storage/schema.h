// Names and fixed values the schema (storage/migrations/*.sql) defines and code relies on.
// Keep in step with the migrations: tests check that these rows exist after Migrate().
//
// Thread-safety: constants only.

#ifndef MAILROOM_STORAGE_SCHEMA_H_
#define MAILROOM_STORAGE_SCHEMA_H_

#include "absl/strings/string_view.h"

namespace mailroom::storage {

// The mailbox that always exists and receives what no routing rule claims. Its id is fixed
// (a UUIDv7 with timestamp 0) so that every replica and every test can name it without a
// lookup; migration 0001 inserts it.
inline constexpr absl::string_view kDefaultMailboxId = "00000000-0000-7000-8000-000000000001";
inline constexpr absl::string_view kDefaultMailboxName = "default";

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_SCHEMA_H_
