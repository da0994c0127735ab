// Fixtures that run the real mailroom binary on free ports with a generated config: the gRPC
// API, metrics and three SMTP listeners (STARTTLS, implicit TLS, and STARTTLS that allows
// AUTH before TLS), with clients for what the binary serves (health over gRPC, reflection
// through buf curl, metrics over HTTP with curl) and a reader of what it stored.
//
// Two fixtures share MailroomTestBase and differ only in where the database lives:
//  - MailroomFixture: a PrivateCluster of its own, which the test may stop and restart;
//  - ScratchMailroomFixture: a ScratchDatabase on the shared cluster (much faster to set up),
//    for every test that does not need to take PostgreSQL away.
// Either way each test has its own database and ports, so tests may run in parallel.
//
// Thread-safety: a fixture is used by its test's thread only.
#ifndef MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_
#define MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/child_process.h"
#include "tests/integration/stored_mail.h"
#include "tests/support/private_cluster.h"
#include "tests/support/scratch_database.h"

namespace mailroom::testing {

// What the gRPC health service answered, or why it could not be asked.
enum class Health { kServing, kNotServing, kUnreachable, kOther };

// The name the binary announces in its greeting and EHLO reply (smtp.hostname).
inline constexpr char kSmtpHostname[] = "mailroom.test";

class MailroomTestBase : public ::testing::Test {
 protected:
  // Chooses the ports and writes the config file. Subclasses create the database first.
  void SetUp() override;
  // Stops the binary before the subclass's database goes away; removes the config file.
  void TearDown() override;

  // The superuser URL of the test's database, given to the binary and to store().
  virtual std::string database_url() const = 0;

  // Adds `lines` (indented for it) at the start of the generated config's top-level
  // `section` ("api", "smtp").
  void AddConfigLines(const std::string& section, const std::string& lines);

  // Starts the binary with `extra_args` after `--config <generated file>`.
  void StartMailroom(const std::vector<std::string>& extra_args = {});
  // Starts the binary and waits until it logs "mailroom ready" (migrated, SMTP listening);
  // when it exits because a port was taken meanwhile, starts it again on fresh ports (a
  // few times). Fails the test (fatally) when it is not ready within a generous deadline.
  void StartMailroomAndWaitUntilReady(const std::vector<std::string>& extra_args = {});

  Health CheckHealth();
  // Polls the health service until it answers `expected`; false after `timeout`.
  bool WaitForHealth(Health expected, absl::Duration timeout = absl::Seconds(30));

  // Runs `buf curl` (the grpcurl of the buf CLI) against the gRPC port with `args`.
  std::pair<int, std::string> BufCurl(const std::vector<std::string>& args);

  std::string grpc_address() const;

  // The text of /metrics (curl); empty when it cannot be fetched.
  std::string ScrapeMetrics();
  // Polls /metrics until it contains every one of `lines`; false after a minute.
  bool WaitForMetrics(const std::vector<std::string>& lines);

  // What the binary stored, read straight from PostgreSQL.
  StoredMail store() const { return StoredMail(database_url()); }
  // The one message stored; records a failure (and returns an empty one) otherwise.
  StoredMessage OnlyMessage() const;
  // The one session row, polled for (it is written after the session ends); records a
  // failure (and returns an empty one) when there is not exactly one.
  StoredSession OnlySession() const;

  std::unique_ptr<ChildProcess> mailroom_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int smtp_port_ = 0;        // listener "smtp": STARTTLS, AUTH only after TLS
  int smtps_port_ = 0;       // listener "smtps": implicit TLS
  int plain_auth_port_ = 0;  // listener "plainauth": STARTTLS offered, AUTH allowed before TLS
  std::string config_path_;

 private:
  // Replaces the five ports with fresh ones, in the members and in the config file.
  void ChooseNewPorts();
};

class MailroomFixture : public MailroomTestBase {
 protected:
  void SetUp() override;
  std::string database_url() const override;

  std::unique_ptr<PrivateCluster> cluster_;
};

class ScratchMailroomFixture : public MailroomTestBase {
 protected:
  void SetUp() override;
  std::string database_url() const override;

  std::optional<ScratchDatabase> database_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_
