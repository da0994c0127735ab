// Unit tests of the exception → status mapping with exceptions built by hand, for the cases
// a live server cannot be made to produce on demand (in-doubt commits, disk full, ...).
// pool_test.cc checks the same mapping against a real PostgreSQL.

#include "storage/errors.h"

#include <pqxx/except>
#include <stdexcept>
#include <string>

#include "gtest/gtest.h"

namespace mailroom::storage {
namespace {

using absl::StatusCode;

TEST(ExceptionToStatusTest, MapsLibpqxxClasses) {
  struct Case {
    const char* name;
    StatusCode code;
    absl::Status status;
  };
  const Case cases[] = {
      {"broken", StatusCode::kUnavailable, ExceptionToStatus(pqxx::broken_connection("gone"))},
      {"too_many", StatusCode::kUnavailable,
       ExceptionToStatus(pqxx::too_many_connections("sorry, too many clients already"))},
      {"in_doubt", StatusCode::kUnknown, ExceptionToStatus(pqxx::in_doubt_error("lost"))},
      {"serialization", StatusCode::kAborted,
       ExceptionToStatus(pqxx::serialization_failure("could not serialize"))},
      {"deadlock", StatusCode::kAborted,
       ExceptionToStatus(pqxx::deadlock_detected("deadlock detected"))},
      {"unique", StatusCode::kAlreadyExists, ExceptionToStatus(pqxx::unique_violation("dup"))},
      {"fk", StatusCode::kFailedPrecondition, ExceptionToStatus(pqxx::foreign_key_violation("fk"))},
      {"check", StatusCode::kInvalidArgument, ExceptionToStatus(pqxx::check_violation("c"))},
      {"not_null", StatusCode::kInvalidArgument, ExceptionToStatus(pqxx::not_null_violation("n"))},
      {"data", StatusCode::kInvalidArgument, ExceptionToStatus(pqxx::data_exception("d"))},
      {"disk_full", StatusCode::kResourceExhausted, ExceptionToStatus(pqxx::disk_full("full"))},
      {"oom", StatusCode::kResourceExhausted, ExceptionToStatus(pqxx::out_of_memory("oom"))},
      {"usage", StatusCode::kInternal, ExceptionToStatus(pqxx::usage_error("misuse"))},
      {"std", StatusCode::kInternal, ExceptionToStatus(std::runtime_error("boom"))},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.name << ": " << c.status;
  }
}

TEST(ExceptionToStatusTest, SqlStateDecidesOverClass) {
  // libpqxx only has classes for some states; the SQLSTATE is authoritative.
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "40001")).code(), StatusCode::kAborted);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "40P01")).code(), StatusCode::kAborted);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "57P01")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "08006")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "53300")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "53100")).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(ExceptionToStatus(pqxx::sql_error("x", "", "22P02")).code(),
            StatusCode::kInvalidArgument);
}

TEST(ExceptionToStatusTest, OtherSqlErrorIsInternalWithSqlState) {
  const absl::Status status = ExceptionToStatus(
      pqxx::syntax_error("ERROR:  syntax error at or near \"SELEC\"\nLINE 1: SELEC 1\n        ^\n",
                         "SELEC 1", "42601"));
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("SQLSTATE 42601"), std::string::npos) << status;
  EXPECT_NE(status.message().find("syntax error at or near"), std::string::npos) << status;
  EXPECT_EQ(status.message().find('\n'), std::string::npos) << "one line: " << status;
  EXPECT_EQ(status.message().find("LINE 1"), std::string::npos) << status;
}

TEST(ExceptionToStatusTest, KeepsDetailButNotEchoedSql) {
  const absl::Status status = ExceptionToStatus(
      pqxx::unique_violation("ERROR:  duplicate key value violates unique constraint \"u_pkey\"\n"
                             "DETAIL:  Key (id)=(1) already exists.\n"
                             "CONTEXT:  SQL statement \"INSERT INTO u VALUES (1),(1)\"\n"
                             "PL/pgSQL function inline_code_block line 1 at SQL statement\n",
                             "DO $$ ... $$", "23505"));
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "duplicate key value violates unique constraint \"u_pkey\"; DETAIL: Key (id)=(1) "
            "already exists. (SQLSTATE 23505)");
}

TEST(ExceptionToStatusTest, ScrubsSecrets) {
  const std::string url = "postgresql://mailroom:s3cr%40t@db.example.com:5432/mailroom";
  const absl::Status status = ExceptionToStatus(
      pqxx::broken_connection("could not connect with s3cr@t or s3cr%40t"), ConnectionSecrets(url));
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message().find("s3cr"), std::string::npos) << status;
}

TEST(ExceptionToStatusTest, CurrentExceptionHandlesNonStandardExceptions) {
  absl::Status status;
  try {
    throw 42;
  } catch (...) {
    status = CurrentExceptionToStatus();
  }
  EXPECT_EQ(status.code(), StatusCode::kInternal);
}

TEST(IsConnectionLostTest, OnlyUnavailableAndUnknown) {
  EXPECT_TRUE(IsConnectionLost(absl::UnavailableError("")));
  EXPECT_TRUE(IsConnectionLost(absl::UnknownError("")));
  EXPECT_FALSE(IsConnectionLost(absl::AlreadyExistsError("")));
  EXPECT_FALSE(IsConnectionLost(absl::OkStatus()));
}

TEST(ConnectionSecretsTest, FindsPasswordsInAllForms) {
  EXPECT_TRUE(ConnectionSecrets("postgresql://postgres@127.0.0.1:5432/postgres").empty());
  EXPECT_EQ(ConnectionSecrets("postgresql://u:pw@h/db"), std::vector<std::string>{"pw"});
  EXPECT_EQ(ConnectionSecrets("postgres://h/db?sslmode=require&password=pw2"),
            std::vector<std::string>{"pw2"});
  EXPECT_EQ(ConnectionSecrets("host=h password='a b' dbname=d"), std::vector<std::string>{"a b"});
  EXPECT_EQ(ConnectionSecrets("host=h password = xyz"), std::vector<std::string>{"xyz"});
}

TEST(RedactConnectionStringTest, HidesPasswords) {
  EXPECT_EQ(RedactConnectionString("postgresql://u:pw@h:5432/db?password=x&sslmode=disable"),
            "postgresql://u:***@h:5432/db?password=***&sslmode=disable");
  EXPECT_EQ(RedactConnectionString("host=h password=secret dbname=d"),
            "host=h password=*** dbname=d");
  EXPECT_EQ(RedactConnectionString("postgresql://u@h/db"), "postgresql://u@h/db");
}

}  // namespace
}  // namespace mailroom::storage
