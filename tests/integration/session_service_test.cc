// SessionService end to end: Python's smtplib talks to the real binary, then the C++ gRPC
// stub lists sessions (filters, pages), reads one with its transcript (AUTH redacted,
// transcript pages) and the ids of its messages, and deletes sessions.

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "mailroom/v1/session_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "s3cret-pw";

class SessionServiceTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    StartMailroomAndWaitUntilReady();
    if (HasFatalFailure()) return;
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::SessionService::NewStub(channel);
    messages_ = v1::MessageService::NewStub(channel);
  }

  // Sends one message with smtplib on the listener that allows AUTH before TLS; with a
  // user, authenticates first with AUTH PLAIN (the secret travels on the AUTH line).
  void Send(const std::string& user = "") {
    const std::string auth = user.empty()
                                 ? ""
                                 : absl::StrCat("s.ehlo(); s.user, s.password = \"", user, "\", \"",
                                                kPassword, "\"; s.auth(\"PLAIN\", s.auth_plain); ");
    const std::string command =
        absl::StrCat("/usr/bin/python3 -c 'import smtplib; s=smtplib.SMTP(\"127.0.0.1\", ",
                     plain_auth_port_, ", timeout=120); ", auth,
                     "s.sendmail(\"sender@example.com\", [\"rcpt@example.com\"], "
                     "b\"Subject: hi\\r\\n\\r\\nbody\\r\\n\"); s.quit()'");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // Lists with `request` until the last page; polls until `expected` sessions are there
  // (a session row is written after the connection ends).
  std::vector<v1::Session> ListAll(v1::ListSessionsRequest request, size_t expected) {
    std::vector<v1::Session> all;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      all.clear();
      std::string token;
      do {
        grpc::ClientContext context;
        request.set_page_token(token);
        v1::ListSessionsResponse response;
        const grpc::Status status = stub_->ListSessions(&context, request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (!status.ok()) return all;
        for (const v1::Session& s : response.sessions()) all.push_back(s);
        token = response.next_page_token();
      } while (!token.empty());
      if (all.size() >= expected) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    return all;
  }

  grpc::Status Get(const std::string& id, int page_size, const std::string& token,
                   v1::GetSessionResponse* response) {
    grpc::ClientContext context;
    v1::GetSessionRequest request;
    request.set_id(id);
    request.set_transcript_page_size(page_size);
    request.set_transcript_page_token(token);
    return stub_->GetSession(&context, request, response);
  }

  std::unique_ptr<v1::SessionService::Stub> stub_;
  std::unique_ptr<v1::MessageService::Stub> messages_;
};

TEST_F(SessionServiceTest, ListsAndGetsSessionsWithRedactedTranscripts) {
  Send("ann");
  Send();
  Send();
  std::vector<v1::Session> all = ListAll({}, 3);
  ASSERT_EQ(all.size(), 3u);
  // Newest first.
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].start_time().seconds(), all[i].start_time().seconds());
  }

  v1::ListSessionsRequest by_user;
  by_user.set_auth_user("ann");
  std::vector<v1::Session> ann = ListAll(by_user, 1);
  ASSERT_EQ(ann.size(), 1u);
  const v1::Session& session = ann[0];
  EXPECT_EQ(session.auth_mechanism(), "PLAIN");
  EXPECT_EQ(session.client_address(), "127.0.0.1");
  EXPECT_EQ(session.outcome(), v1::SESSION_OUTCOME_QUIT);
  EXPECT_EQ(session.message_count(), 1);
  EXPECT_GT(session.transcript_line_count(), 5);
  ASSERT_EQ(session.message_ids_size(), 1);

  // The message id links back to a stored message of this session.
  {
    grpc::ClientContext context;
    v1::GetMessageRequest request;
    request.set_id(session.message_ids(0));
    v1::GetMessageResponse response;
    const grpc::Status status = messages_->GetMessage(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::GetSessionResponse whole;
  ASSERT_TRUE(Get(session.id(), 0, "", &whole).ok());
  EXPECT_EQ(whole.session().id(), session.id());
  ASSERT_EQ(whole.transcript_size(), session.transcript_line_count());
  EXPECT_TRUE(whole.next_transcript_page_token().empty());
  std::vector<std::string> client_lines;
  for (const v1::TranscriptLine& line : whole.transcript()) {
    EXPECT_THAT(line.text(), Not(HasSubstr(kPassword)));
    if (line.direction() == v1::TranscriptLine::DIRECTION_CLIENT) {
      client_lines.push_back(line.text());
    }
    EXPECT_GE(line.time().seconds(), session.start_time().seconds());
  }
  EXPECT_THAT(client_lines, Contains(HasSubstr("FROM:<sender@example.com>")));
  EXPECT_THAT(client_lines, Contains(HasSubstr("<redacted>")));
  // base64("\0ann\0s3cret-pw"): the AUTH PLAIN initial response is never recorded.
  for (const std::string& line : client_lines) {
    EXPECT_THAT(line, Not(HasSubstr("AGFubgBzM2NyZXQtcHc")));
  }

  // The transcript in pages of 3 gives the same lines in the same order.
  std::vector<std::string> paged;
  std::string token;
  int pages = 0;
  do {
    v1::GetSessionResponse page;
    ASSERT_TRUE(Get(session.id(), 3, token, &page).ok());
    EXPECT_LE(page.transcript_size(), 3);
    for (const v1::TranscriptLine& line : page.transcript()) paged.push_back(line.text());
    token = page.next_transcript_page_token();
  } while (!token.empty() && ++pages < 1000);
  ASSERT_EQ(paged.size(), static_cast<size_t>(whole.transcript_size()));
  for (int i = 0; i < whole.transcript_size(); ++i) EXPECT_EQ(paged[i], whole.transcript(i).text());

  v1::GetSessionResponse missing;
  EXPECT_EQ(Get("0190a5c4-0000-7000-8000-000000000000", 0, "", &missing).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("nope", 0, "", &missing).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SessionServiceTest, FiltersPagesAndRejectsBadArguments) {
  for (int i = 0; i < 5; ++i) Send();
  v1::ListSessionsRequest paged;
  paged.set_page_size(2);
  std::vector<v1::Session> all = ListAll(paged, 5);
  ASSERT_EQ(all.size(), 5u);

  v1::ListSessionsRequest cidr;
  cidr.set_client_address("127.0.0.0/8");
  EXPECT_EQ(ListAll(cidr, 5).size(), 5u);
  v1::ListSessionsRequest other;
  other.set_client_address("2001:db8::/32");
  EXPECT_EQ(ListAll(other, 0).size(), 0u);
  v1::ListSessionsRequest clean;
  clean.set_has_error(false);
  EXPECT_EQ(ListAll(clean, 5).size(), 5u);
  v1::ListSessionsRequest errors;
  errors.set_has_error(true);
  EXPECT_EQ(ListAll(errors, 0).size(), 0u);
  v1::ListSessionsRequest future;
  future.mutable_since()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  EXPECT_EQ(ListAll(future, 0).size(), 0u);

  for (const char* bad : {"127.0.0.1/40", "localhost"}) {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    request.set_client_address(bad);
    v1::ListSessionsResponse response;
    const grpc::Status status = stub_->ListSessions(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), HasSubstr("client_address"));
  }
  {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    request.set_page_token("garbage");
    v1::ListSessionsResponse response;
    EXPECT_EQ(stub_->ListSessions(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(SessionServiceTest, DeletesByIdAndAllOnlyWhenConfirmed) {
  Send();
  Send();
  Send();
  std::vector<v1::Session> all = ListAll({}, 3);
  ASSERT_EQ(all.size(), 3u);

  auto remove = [&](const v1::DeleteSessionsRequest& request, int64_t* count) {
    grpc::ClientContext context;
    v1::DeleteSessionsResponse response;
    const grpc::Status status = stub_->DeleteSessions(&context, request, &response);
    *count = response.deleted_count();
    return status;
  };
  int64_t count = -1;
  EXPECT_EQ(remove({}, &count).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::DeleteSessionsRequest bad_id;
  bad_id.add_ids("x");
  EXPECT_EQ(remove(bad_id, &count).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::DeleteSessionsRequest one;
  one.add_ids(all[0].id());
  ASSERT_TRUE(remove(one, &count).ok());
  EXPECT_EQ(count, 1);
  EXPECT_EQ(ListAll({}, 2).size(), 2u);

  v1::DeleteSessionsRequest everything;
  everything.set_confirm_all(true);
  ASSERT_TRUE(remove(everything, &count).ok());
  EXPECT_EQ(count, 2);
  EXPECT_EQ(ListAll({}, 0).size(), 0u);

  // The messages those sessions delivered are kept.
  grpc::ClientContext context;
  v1::ListMessagesRequest request;
  v1::ListMessagesResponse response;
  ASSERT_TRUE(messages_->ListMessages(&context, request, &response).ok());
  EXPECT_EQ(response.messages_size(), 3);
}

}  // namespace
}  // namespace mailroom::testing
