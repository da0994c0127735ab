// MailroomFixture: the real mailroom binary on free ports, with its own PostgreSQL cluster
// that the test may stop and start, and clients for what the binary serves (health over
// gRPC, reflection through buf curl, metrics over HTTP with curl).
#ifndef MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_
#define MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/child_process.h"
#include "tests/support/private_cluster.h"

namespace mailroom::testing {

// What the gRPC health service answered, or why it could not be asked.
enum class Health { kServing, kNotServing, kUnreachable, kOther };

class MailroomFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // Starts the binary with `extra_args` after `--config <generated file>`.
  void StartMailroom(const std::vector<std::string>& extra_args = {});

  Health CheckHealth();
  // Polls the health service until it answers `expected`; false after `timeout`.
  bool WaitForHealth(Health expected, absl::Duration timeout = absl::Seconds(30));

  // Runs `buf curl` (the grpcurl of the buf CLI) against the gRPC port with `args`.
  std::pair<int, std::string> BufCurl(const std::vector<std::string>& args);

  std::string grpc_address() const;

  std::unique_ptr<PrivateCluster> cluster_;
  std::unique_ptr<ChildProcess> mailroom_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::string config_path_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_MAILROOM_FIXTURE_H_
