// Retention end to end: the real binary with retention limits on the command line, mail sent
// by Python's smtplib; the oldest messages and sessions go, the newest stay, and the
// pruning is logged and counted in the metrics.

#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/smtp_clients.h"

namespace mailroom::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RetentionE2eTest : public ScratchMailroomFixture {
 protected:
  // Sends one message with `subject` through smtplib and returns once it was accepted (250).
  // Its envelope sender, <subject>@example.com, is its own address dictionary entry.
  void Send(const std::string& subject) {
    const std::string path =
        WriteTestFile(absl::StrCat("retention-", subject, ".eml"),
                      absl::StrCat("From: a@example.com\r\nTo: b@example.com\r\nSubject: ", subject,
                                   "\r\n\r\nbody\r\n"));
    absl::StatusOr<ClientResult> result =
        RunPythonClient("smtplib_client.py", {"--port", absl::StrCat(smtp_port_), "--sender",
                                              absl::StrCat(subject, "@example.com"), "--rcpt",
                                              "b@example.com", "--message", path});
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->first, 0) << result->second;
  }
};

TEST_F(RetentionE2eTest, TheOldestMessagesAndSessionsGo) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady(
      {"--set", "retention.max_messages=3", "--set", "retention.max_sessions=2", "--set",
       "retention.interval=100ms", "--set", "retention.batch_size=2"}));
  for (int i = 1; i <= 6; ++i) ASSERT_NO_FATAL_FAILURE(Send(absl::StrCat("message-", i)));

  // Six messages in six sessions: three messages and four sessions must go, and with the
  // messages the dictionary entries of their senders.
  ASSERT_TRUE(WaitForMetrics({"mailroom_retention_pruned_total{kind=\"message\"} 3\n",
                              "mailroom_retention_pruned_total{kind=\"session\"} 4\n",
                              "mailroom_retention_pruned_total{kind=\"address\"} 3\n"}))
      << ScrapeMetrics() << mailroom_->Output();

  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  std::vector<std::string> subjects;
  for (const StoredMessage& m : *messages) subjects.push_back(m.subject.value_or(""));
  EXPECT_THAT(subjects, ElementsAre("message-4", "message-5", "message-6"));

  absl::StatusOr<std::vector<StoredSession>> sessions = store().Sessions();
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  ASSERT_EQ(sessions->size(), 2u);
  // The newest two sessions are those that delivered the newest two messages.
  EXPECT_EQ((*sessions)[0].id, (*messages)[1].session_id);
  EXPECT_EQ((*sessions)[1].id, (*messages)[2].session_id);

  EXPECT_THAT(mailroom_->Output(), HasSubstr("retention pruned"));
}

TEST_F(RetentionE2eTest, ALongIntervalDoesNotHoldUpShutdown) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady({"--set", "retention.interval=1h"}));
  ASSERT_NO_FATAL_FAILURE(Send("one"));
  mailroom_->Signal(SIGTERM);
  // Far less than the interval: the job wakes at once when told to stop.
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(30)), 0) << mailroom_->Output();
  EXPECT_THAT(mailroom_->Output(), HasSubstr("mailroom stopped"));
}

}  // namespace
}  // namespace mailroom::testing
