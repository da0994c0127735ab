// End-to-end tests of the real mailroom binary: health follows PostgreSQL, start-up waits
// for the database, reflection shows the API, metrics are served, SIGTERM stops cleanly;
// and the fixture starts it again on fresh ports when one was taken.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

using ::testing::HasSubstr;

// A port of the generated config taken before the binary binds it (as another test's
// outgoing connection can take it): the binary refuses to start, and the fixture starts it
// again on fresh ports.
TEST_F(MailroomFixture, StartsAgainOnFreshPortsWhenAPortWasTaken) {
  const int taken = metrics_port_;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(taken));
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);

  StartMailroomAndWaitUntilReady();
  close(fd);
  EXPECT_NE(metrics_port_, taken);
  EXPECT_EQ(CheckHealth(), Health::kServing);
}

TEST_F(MailroomFixture, HealthFollowsTheDatabase) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();

  ASSERT_TRUE(cluster_->Stop().ok());
  EXPECT_TRUE(WaitForHealth(Health::kNotServing)) << mailroom_->Output();
  EXPECT_TRUE(mailroom_->WaitForOutput("database is not answering", absl::Seconds(5)));

  ASSERT_TRUE(cluster_->Restart().ok());
  EXPECT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
}

TEST_F(MailroomFixture, WaitsForAnUnreachableDatabaseWithBackoff) {
  ASSERT_TRUE(cluster_->Stop().ok());
  StartMailroom();
  // The API is up at once so that probes can tell "not ready" from "dead".
  ASSERT_TRUE(WaitForHealth(Health::kNotServing)) << mailroom_->Output();
  ASSERT_TRUE(mailroom_->WaitForOutput("attempt=3", absl::Seconds(30))) << mailroom_->Output();
  EXPECT_THAT(mailroom_->Output(), HasSubstr("database not ready, retrying"));

  ASSERT_TRUE(cluster_->Restart().ok());
  EXPECT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  // "mailroom ready" follows SERVING (the SMTP listeners open after the database is up).
  EXPECT_TRUE(mailroom_->WaitForOutput("mailroom ready", absl::Seconds(30))) << mailroom_->Output();
}

TEST_F(MailroomFixture, ReflectionListsTheApiWithoutProtoFiles) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();

  auto [code, services] = BufCurl({"--list-services", absl::StrCat("http://", grpc_address())});
  ASSERT_EQ(code, 0) << services;
  for (const char* service :
       {"mailroom.v1.MessageService", "mailroom.v1.SessionService", "mailroom.v1.MailboxService",
        "mailroom.v1.UserService", "mailroom.v1.OutboundService", "grpc.health.v1.Health"}) {
    EXPECT_THAT(services, HasSubstr(service));
  }

  auto [methods_code, methods] =
      BufCurl({"--list-methods", absl::StrCat("http://", grpc_address())});
  ASSERT_EQ(methods_code, 0) << methods;
  EXPECT_THAT(methods, HasSubstr("mailroom.v1.MessageService/ListMessages"));
}

TEST_F(MailroomFixture, ApiNotYetBuiltSaysSo) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  auto [code, output] = BufCurl(
      {"--data", "{}",
       absl::StrCat("http://", grpc_address(), "/mailroom.v1.OutboundService/ListDeliveries")});
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, HasSubstr("unimplemented"));
  EXPECT_THAT(output, HasSubstr("not implemented yet"));
}

TEST_F(MailroomFixture, HealthCanBeCalledThroughReflection) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  auto [code, output] = BufCurl(
      {"--data", "{}", absl::StrCat("http://", grpc_address(), "/grpc.health.v1.Health/Check")});
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("SERVING"));
}

TEST_F(MailroomFixture, ServesPrometheusMetrics) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  auto metrics = RunToCompletion(
      {"/usr/bin/curl", "-sS", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->first, 0) << metrics->second;
  EXPECT_THAT(metrics->second, HasSubstr("mailroom_build_info{"));
  EXPECT_THAT(metrics->second, HasSubstr("mailroom_database_up 1"));
  EXPECT_THAT(
      metrics->second,
      HasSubstr(
          "mailroom_grpc_requests_total{code=\"OK\",method=\"/grpc.health.v1.Health/Check\"}"));
}

TEST_F(MailroomFixture, SigtermStopsGracefully) {
  StartMailroom();
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  mailroom_->Signal(SIGTERM);
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(20)), 0) << mailroom_->Output();
  EXPECT_THAT(mailroom_->Output(), HasSubstr("mailroom stopped"));
}

TEST_F(MailroomFixture, JsonLogsOnRequest) {
  StartMailroom({"--set", "log.format=json"});
  // "mailroom ready" follows the health check's SERVING (SMTP starts after migrations and
  // the declared users and mailboxes), so the line is waited for, not expected at once.
  EXPECT_TRUE(
      mailroom_->WaitForOutput(R"("level":"info","msg":"mailroom ready")", absl::Seconds(60)))
      << mailroom_->Output();
}

}  // namespace
}  // namespace mailroom::testing
