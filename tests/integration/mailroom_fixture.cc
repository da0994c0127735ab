#include "tests/integration/mailroom_fixture.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace mailroom::testing {

void MailroomFixture::SetUp() {
  ASSERT_FALSE(TestEnvironment("MAILROOM_BINARY").empty())
      << "MAILROOM_BINARY is not set; run the tests through scripts/test";
  absl::StatusOr<std::unique_ptr<PrivateCluster>> cluster = PrivateCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  cluster_ = std::move(*cluster);

  grpc_port_ = FreePort();
  metrics_port_ = FreePort();
  config_path_ = absl::StrCat(::testing::TempDir(), "mailroom-", grpc_port_, ".yaml");
  std::ofstream config(config_path_);
  config << "api:\n"
         << "  address: 127.0.0.1:" << grpc_port_ << "\n"
         << "  shutdown_grace_period: 3s\n"
         << "metrics:\n"
         << "  address: 127.0.0.1:" << metrics_port_ << "\n"
         << "database:\n"
         << "  connect_timeout: 2s\n"
         << "  retry_initial_backoff: 100ms\n"
         << "  retry_max_backoff: 1s\n"
         << "  health_check_interval: 200ms\n";
}

void MailroomFixture::StartMailroom(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {TestEnvironment("MAILROOM_BINARY"), "--config", config_path_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(argv, {{"MAILROOM_DATABASE_URL", cluster_->url()}});
  ASSERT_TRUE(child.ok()) << child.status();
  mailroom_ = std::move(*child);
}

std::string MailroomFixture::grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

Health MailroomFixture::CheckHealth() {
  auto channel = grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return Health::kUnreachable;
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return Health::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return Health::kNotServing;
    default:
      return Health::kOther;
  }
}

bool MailroomFixture::WaitForHealth(Health expected, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (CheckHealth() != expected) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return true;
}

std::pair<int, std::string> MailroomFixture::BufCurl(const std::vector<std::string>& args) {
  const std::string buf = TestEnvironment("MAILROOM_BUF");
  EXPECT_FALSE(buf.empty()) << "MAILROOM_BUF is not set; run the tests through scripts/test";
  std::vector<std::string> argv = {buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::pair<int, std::string>> result = RunToCompletion(argv);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : std::make_pair(-1, std::string());
}

}  // namespace mailroom::testing
