// End-to-end tests of the real mailroom binary: health follows PostgreSQL, start-up waits
// for the database, reflection shows the API, metrics are served, SIGTERM stops cleanly.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

using ::testing::HasSubstr;

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
