// PostgreSQL fixtures on the shared throwaway cluster that scripts/test starts.
//
// scripts/test exports MAILROOM_TEST_DATABASE_URL (a superuser URL). Tests never share a
// database: each creates a ScratchDatabase, which is dropped when the object goes away, so
// tests can run in parallel and leave nothing behind. A missing variable is a test failure,
// never a skip.
//
// Thread-safety: AdminDatabaseUrl() and ScratchDatabase::Create() are thread-safe; a
// ScratchDatabase object is not shared between threads.

#ifndef MAILROOM_TESTS_SUPPORT_SCRATCH_DATABASE_H_
#define MAILROOM_TESTS_SUPPORT_SCRATCH_DATABASE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mailroom::testing {

// Returns MAILROOM_TEST_DATABASE_URL. When it is not set, records a gtest failure that says
// how to provide it, and returns "".
std::string AdminDatabaseUrl();

// Returns `url` (URL or keyword form) pointing at database `database` instead.
std::string UrlWithDatabase(absl::string_view url, absl::string_view database);

// A fresh, empty database on the shared cluster, dropped (WITH (FORCE), which ends
// connections still open to it) on destruction. Movable; a moved-from object drops nothing.
class ScratchDatabase {
 public:
  // Creates a database with a random name. Returns FailedPrecondition when
  // MAILROOM_TEST_DATABASE_URL is not set (and records a gtest failure), or the database
  // error when the cluster refuses.
  static absl::StatusOr<ScratchDatabase> Create();

  ScratchDatabase(ScratchDatabase&& other) noexcept;
  ScratchDatabase& operator=(ScratchDatabase&& other) noexcept;
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  ~ScratchDatabase();

  // A superuser URL of this database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  ScratchDatabase(std::string admin_url, std::string name);
  void Drop();

  std::string admin_url_;
  std::string name_;  // empty once moved from
  std::string url_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_SUPPORT_SCRATCH_DATABASE_H_
