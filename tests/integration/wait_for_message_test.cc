// WaitForMessage end to end: the real binary, mail sent by Python's smtplib, the call made
// through the C++ gRPC stub. Covers a match that exists already, one captured while the
// call waits, `since`, the deadline and request errors.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

class WaitForMessageTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    StartMailroomAndWaitUntilReady();
    if (HasFatalFailure()) return;
    stub_ = v1::MessageService::NewStub(
        grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials()));
  }

  // Sends a message with `subject` through smtplib; returns when the server took it (250).
  void Send(const std::string& subject) {
    const std::string path =
        absl::StrCat(::testing::TempDir(), "wait-", smtp_port_, "-", sent_++, ".eml");
    std::ofstream(path, std::ios::binary)
        << "From: a@example.com\r\nTo: b@example.com\r\nSubject: " << subject << "\r\n\r\nbody\r\n";
    const std::string command = absl::StrCat(
        "/usr/bin/python3 -c 'import smtplib,sys; s=smtplib.SMTP(\"127.0.0.1\",int(sys.argv[1]),"
        " timeout=120); s.sendmail(\"sender@example.com\",[\"rcpt@example.com\"],"
        "open(sys.argv[2],\"rb\").read()); s.quit()' ",
        smtp_port_, " ", path);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  grpc::Status Wait(const v1::WaitForMessageRequest& request, absl::Duration deadline,
                    v1::WaitForMessageResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
    return stub_->WaitForMessage(&context, request, response);
  }

  static void SetSince(absl::Time since, v1::WaitForMessageRequest& request) {
    const int64_t micros = absl::ToUnixMicros(since);
    request.mutable_since()->set_seconds(micros / 1000000);
    request.mutable_since()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  }

  std::unique_ptr<v1::MessageService::Stub> stub_;
  int sent_ = 0;
};

TEST_F(WaitForMessageTest, ReturnsAStoredMatchAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Send("already here"));
  ASSERT_NO_FATAL_FAILURE(Send("something else"));
  v1::WaitForMessageRequest request;
  request.set_query("subject:already");
  SetSince(absl::UnixEpoch(), request);
  v1::WaitForMessageResponse response;
  grpc::Status status = Wait(request, absl::Seconds(30), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message().subject(), "already here");
  // Fully parsed, as GetMessage answers.
  EXPECT_GT(response.message().size_bytes(), 0);
  EXPECT_FALSE(response.message().id().empty());
}

TEST_F(WaitForMessageTest, ReturnsAMessageCapturedWhileWaiting) {
  // `since` is noted before the call, as the API suggests, so the test holds however late
  // the call starts; the pause makes it usual that the message arrives during the wait.
  const absl::Time start = absl::Now();
  v1::WaitForMessageResponse response;
  grpc::Status status;
  std::thread waiter([&] {
    v1::WaitForMessageRequest request;
    request.set_query("subject:\"arrives later\"");
    SetSince(start, request);
    status = Wait(request, absl::Seconds(60), &response);
  });
  absl::SleepFor(absl::Milliseconds(500));
  // EXPECT, not ASSERT: the thread must be joined whatever happens.
  EXPECT_NO_FATAL_FAILURE(Send("unrelated"));
  EXPECT_NO_FATAL_FAILURE(Send("arrives later"));
  waiter.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message().subject(), "arrives later");
}

TEST_F(WaitForMessageTest, SinceExcludesOlderMessages) {
  ASSERT_NO_FATAL_FAILURE(Send("tagged first"));
  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time between = absl::Now();
  absl::SleepFor(absl::Milliseconds(20));
  ASSERT_NO_FATAL_FAILURE(Send("tagged second"));
  ASSERT_NO_FATAL_FAILURE(Send("tagged third"));
  v1::WaitForMessageRequest request;
  request.set_query("subject:tagged");
  SetSince(between, request);
  v1::WaitForMessageResponse response;
  grpc::Status status = Wait(request, absl::Seconds(30), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // The earliest at or after `since`.
  EXPECT_EQ(response.message().subject(), "tagged second");
}

TEST_F(WaitForMessageTest, NoMatchEndsWithDeadlineExceeded) {
  ASSERT_NO_FATAL_FAILURE(Send("not this one"));
  v1::WaitForMessageRequest request;
  request.set_query("subject:never");
  SetSince(absl::UnixEpoch(), request);
  v1::WaitForMessageResponse response;
  EXPECT_EQ(Wait(request, absl::Seconds(2), &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server is still fine afterwards.
  request.set_query("subject:\"not this\"");
  grpc::Status status = Wait(request, absl::Seconds(30), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message().subject(), "not this one");
}

TEST_F(WaitForMessageTest, DefaultSinceIgnoresEarlierMessages) {
  ASSERT_NO_FATAL_FAILURE(Send("stored before the call"));
  v1::WaitForMessageRequest request;  // no since: only messages from the call's start
  request.set_query("subject:\"before the call\"");
  v1::WaitForMessageResponse response;
  EXPECT_EQ(Wait(request, absl::Seconds(2), &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(WaitForMessageTest, RequestErrors) {
  v1::WaitForMessageResponse response;
  v1::WaitForMessageRequest bad_query;
  bad_query.set_query("form:x");
  grpc::Status status = Wait(bad_query, absl::Seconds(30), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("query"), std::string::npos) << status.error_message();

  v1::WaitForMessageRequest no_mailbox;
  no_mailbox.set_mailbox("no-such-mailbox");
  EXPECT_EQ(Wait(no_mailbox, absl::Seconds(30), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(WaitForMessageTest, WaitingCallEndsAtShutdown) {
  grpc::Status status;
  std::thread waiter([&] {
    v1::WaitForMessageRequest request;
    request.set_query("subject:never");
    v1::WaitForMessageResponse response;
    status = Wait(request, absl::Seconds(60), &response);
  });
  absl::SleepFor(absl::Milliseconds(500));
  mailroom_->Signal(SIGTERM);
  waiter.join();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  // Clean exit: no leaked subscription, thread or sanitizer report.
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(20)), 0) << mailroom_->Output();
}

// Replicas share the database, not memory: a wait on one replica must see a capture taken
// by another, which is what LISTEN/NOTIFY is for.
TEST_F(WaitForMessageTest, SeesMessagesCapturedByAnotherReplica) {
  // Keep the first process; the base SetUp gives the second fresh ports and a config.
  std::unique_ptr<ChildProcess> first = std::move(mailroom_);
  const std::string first_config = config_path_;
  std::unique_ptr<v1::MessageService::Stub> first_stub = std::move(stub_);
  MailroomTestBase::SetUp();
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());

  const absl::Time start = absl::Now();
  v1::WaitForMessageResponse response;
  grpc::Status status;
  std::thread waiter([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WaitForMessageRequest request;
    request.set_query("subject:replica");
    SetSince(start, request);
    status = first_stub->WaitForMessage(&context, request, &response);
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_NO_FATAL_FAILURE(Send("from the other replica"));  // smtp_port_ is the second's
  waiter.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message().subject(), "from the other replica");
  first.reset();
  std::remove(first_config.c_str());
}

// With a cluster of its own, which the test restarts while a call waits: the listening
// connection breaks, reconnects, and the waiter looks again, so nothing is missed.
class WaitAcrossRestartTest : public MailroomFixture {};

TEST_F(WaitAcrossRestartTest, WaitOutlivesADatabaseRestart) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  auto stub = v1::MessageService::NewStub(
      grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials()));
  const absl::Time start = absl::Now();
  v1::WaitForMessageResponse response;
  grpc::Status status;
  std::thread waiter([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(90));
    v1::WaitForMessageRequest request;
    request.set_query("subject:restart");
    const int64_t micros = absl::ToUnixMicros(start);
    request.mutable_since()->set_seconds(micros / 1000000);
    request.mutable_since()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
    status = stub->WaitForMessage(&context, request, &response);
  });
  absl::SleepFor(absl::Milliseconds(500));
  // EXPECT, not ASSERT: the thread must be joined whatever happens.
  EXPECT_TRUE(cluster_->Stop().ok());
  EXPECT_TRUE(cluster_->Restart().ok());
  const std::string command = absl::StrCat(
      "/usr/bin/python3 -c 'import smtplib,sys; s=smtplib.SMTP(\"127.0.0.1\",int(sys.argv[1]),"
      " timeout=120); s.sendmail(\"a@example.com\",[\"b@example.com\"],"
      "b\"Subject: after the restart\\r\\n\\r\\nbody\\r\\n\"); s.quit()' ",
      smtp_port_);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  waiter.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message().subject(), "after the restart");
}

}  // namespace
}  // namespace mailroom::testing
