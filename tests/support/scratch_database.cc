#include "tests/support/scratch_database.h"

#include <cstdio>
#include <cstdlib>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "storage/errors.h"

namespace mailroom::testing {
namespace {

constexpr char kUrlVariable[] = "MAILROOM_TEST_DATABASE_URL";

// Runs one statement outside a transaction (CREATE/DROP DATABASE cannot run inside one).
absl::Status Execute(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction txn(conn);
    txn.exec(sql);
    return absl::OkStatus();
  } catch (...) {
    return storage::CurrentExceptionToStatus(storage::ConnectionSecrets(url));
  }
}

std::string RandomName() {
  std::random_device random;
  return absl::StrFormat("mailroom_test_%08x%08x", random(), random());
}

}  // namespace

std::string AdminDatabaseUrl() {
  const char* url = std::getenv(kUrlVariable);
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << kUrlVariable
                  << " is not set. Run the tests through scripts/test, or start a cluster:\n"
                     "  d=$(mktemp -d /tmp/pgX.XXXX); chmod 755 $d; "
                     "p=$(scripts/pg-cluster free-port)\n"
                     "  scripts/pg-cluster init $d/pg $p && scripts/pg-cluster start $d/pg\n"
                     "  export MAILROOM_TEST_DATABASE_URL=$(scripts/pg-cluster url $d/pg)\n"
                     "  export MAILROOM_TEST_PG_CLUSTER=$PWD/scripts/pg-cluster";
    return "";
  }
  return url;
}

std::string UrlWithDatabase(absl::string_view url, absl::string_view database) {
  const bool is_url =
      absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
  if (!is_url) return absl::StrCat(url, " dbname=", database);  // the last setting wins
  const size_t authority = url.find("://") + 3;
  const size_t path = std::min(url.find_first_of("/?", authority), url.size());
  const size_t query = std::min(url.find('?', authority), url.size());
  return absl::StrCat(url.substr(0, path), "/", database, url.substr(query));
}

absl::StatusOr<ScratchDatabase> ScratchDatabase::Create() {
  std::string admin_url = AdminDatabaseUrl();
  if (admin_url.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kUrlVariable, " is not set"));
  }
  std::string name = RandomName();
  absl::Status status = Execute(admin_url, absl::StrCat("CREATE DATABASE ", name));
  if (!status.ok()) return status;
  return ScratchDatabase(std::move(admin_url), std::move(name));
}

ScratchDatabase::ScratchDatabase(std::string admin_url, std::string name)
    : admin_url_(std::move(admin_url)),
      name_(std::move(name)),
      url_(UrlWithDatabase(admin_url_, name_)) {}

ScratchDatabase::ScratchDatabase(ScratchDatabase&& other) noexcept
    : admin_url_(std::move(other.admin_url_)),
      name_(std::exchange(other.name_, "")),
      url_(std::move(other.url_)) {}

ScratchDatabase& ScratchDatabase::operator=(ScratchDatabase&& other) noexcept {
  if (this != &other) {
    Drop();
    admin_url_ = std::move(other.admin_url_);
    name_ = std::exchange(other.name_, "");
    url_ = std::move(other.url_);
  }
  return *this;
}

ScratchDatabase::~ScratchDatabase() { Drop(); }

void ScratchDatabase::Drop() {
  if (name_.empty()) return;
  absl::Status status =
      Execute(admin_url_, absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  // Not a test failure: the test is over and the cluster is thrown away anyway.
  if (!status.ok()) {
    std::fprintf(stderr, "warning: could not drop scratch database %s: %s\n", name_.c_str(),
                 status.ToString().c_str());
  }
  name_.clear();
}

}  // namespace mailroom::testing
