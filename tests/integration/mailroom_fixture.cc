#include "tests/integration/mailroom_fixture.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/files.h"

namespace mailroom::testing {

void MailroomTestBase::SetUp() {
  ASSERT_FALSE(TestEnvironment("MAILROOM_BINARY").empty())
      << "MAILROOM_BINARY is not set; run the tests through scripts/test";
  grpc_port_ = FreePort();
  metrics_port_ = FreePort();
  smtp_port_ = FreePort();
  smtps_port_ = FreePort();
  plain_auth_port_ = FreePort();
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
         << "  health_check_interval: 200ms\n"
         << "smtp:\n"
         << "  hostname: " << kSmtpHostname << "\n"
         << "  listeners:\n"
         << "    - name: smtp\n"
         << "      port: " << smtp_port_ << "\n"
         << "      tls: starttls\n"
         << "    - name: smtps\n"
         << "      port: " << smtps_port_ << "\n"
         << "      tls: implicit\n"
         << "    - name: plainauth\n"
         << "      port: " << plain_auth_port_ << "\n"
         << "      tls: starttls\n"
         << "      allow_plaintext_auth: true\n";
}

void MailroomTestBase::TearDown() {
  mailroom_.reset();
  if (!config_path_.empty()) std::remove(config_path_.c_str());
}

void MailroomTestBase::AddConfigLines(const std::string& section, const std::string& lines) {
  const std::string header = absl::StrCat(section, ":\n");
  std::string config = ReadFile(config_path_);
  const size_t at = config.find(header);
  ASSERT_TRUE(at == 0 || (at != std::string::npos && config[at - 1] == '\n'))
      << "no top-level `" << section << ":` in\n"
      << config;
  config.insert(at + header.size(), lines);
  std::ofstream(config_path_, std::ios::trunc) << config;
}

void MailroomTestBase::StartMailroom(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {TestEnvironment("MAILROOM_BINARY"), "--config", config_path_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(argv, {{"MAILROOM_DATABASE_URL", database_url()}});
  ASSERT_TRUE(child.ok()) << child.status();
  mailroom_ = std::move(*child);
}

void MailroomTestBase::StartMailroomAndWaitUntilReady(const std::vector<std::string>& extra_args) {
  // A port found free can be taken before the binary binds it (another test's outgoing
  // connection may get it as its local port). The binary then exits at once saying it
  // cannot listen, and it is started again on fresh ports.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    ASSERT_NO_FATAL_FAILURE(StartMailroom(extra_args));
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && !mailroom_->Wait(absl::ZeroDuration()).has_value() &&
           mailroom_->Output().find("mailroom ready") == std::string::npos) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    const std::string output = mailroom_->Output();
    if (output.find("mailroom ready") != std::string::npos) return;
    if (attempt == kAttempts || output.find("cannot listen") == std::string::npos) {
      FAIL() << "mailroom did not become ready:\n" << output;
    }
    ASSERT_NO_FATAL_FAILURE(ChooseNewPorts());
  }
}

void MailroomTestBase::ChooseNewPorts() {
  std::string config = ReadFile(config_path_);
  for (int* port : {&grpc_port_, &metrics_port_, &smtp_port_, &smtps_port_, &plain_auth_port_}) {
    const int fresh = FreePort();
    config = absl::StrReplaceAll(
        config, {{absl::StrCat("127.0.0.1:", *port, "\n"), absl::StrCat("127.0.0.1:", fresh, "\n")},
                 {absl::StrCat("port: ", *port, "\n"), absl::StrCat("port: ", fresh, "\n")}});
    *port = fresh;
  }
  std::ofstream(config_path_, std::ios::trunc) << config;
}

std::string MailroomTestBase::grpc_address() const {
  return absl::StrCat("127.0.0.1:", grpc_port_);
}

Health MailroomTestBase::CheckHealth() {
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

bool MailroomTestBase::WaitForHealth(Health expected, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (CheckHealth() != expected) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return true;
}

std::string MailroomTestBase::ScrapeMetrics() {
  absl::StatusOr<std::pair<int, std::string>> metrics = RunToCompletion(
      {"/usr/bin/curl", "-sS", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  if (!metrics.ok() || metrics->first != 0) return "";
  return metrics->second;
}

bool MailroomTestBase::WaitForMetrics(const std::vector<std::string>& lines) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    const std::string metrics = ScrapeMetrics();
    bool all = true;
    for (const std::string& line : lines) all = all && metrics.find(line) != std::string::npos;
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

std::pair<int, std::string> MailroomTestBase::BufCurl(const std::vector<std::string>& args) {
  const std::string buf = TestEnvironment("MAILROOM_BUF");
  EXPECT_FALSE(buf.empty()) << "MAILROOM_BUF is not set; run the tests through scripts/test";
  std::vector<std::string> argv = {buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::pair<int, std::string>> result = RunToCompletion(argv);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : std::make_pair(-1, std::string());
}

StoredMessage MailroomTestBase::OnlyMessage() const {
  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  if (!messages.ok()) {
    ADD_FAILURE() << messages.status();
    return {};
  }
  if (messages->size() != 1) {
    ADD_FAILURE() << messages->size() << " messages stored, expected 1";
    return {};
  }
  return std::move(messages->front());
}

StoredSession MailroomTestBase::OnlySession() const {
  absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(1);
  if (!sessions.ok()) {
    ADD_FAILURE() << sessions.status();
    return {};
  }
  if (sessions->size() != 1) {
    ADD_FAILURE() << sessions->size() << " session rows, expected 1";
    return {};
  }
  return std::move(sessions->front());
}

void MailroomFixture::SetUp() {
  ASSERT_NO_FATAL_FAILURE(MailroomTestBase::SetUp());
  absl::StatusOr<std::unique_ptr<PrivateCluster>> cluster = PrivateCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  cluster_ = std::move(*cluster);
}

std::string MailroomFixture::database_url() const { return cluster_->url(); }

void ScratchMailroomFixture::SetUp() {
  ASSERT_NO_FATAL_FAILURE(MailroomTestBase::SetUp());
  absl::StatusOr<ScratchDatabase> database = ScratchDatabase::Create();
  ASSERT_TRUE(database.ok()) << database.status();
  database_.emplace(std::move(*database));
}

std::string ScratchMailroomFixture::database_url() const { return database_->url(); }

}  // namespace mailroom::testing
