// MessageService end to end: mail sent by Python's smtplib to the real binary, then read
// back through the C++ gRPC stub (Get, Raw, Part, Update, Delete, List with pages).

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

class MessageServiceTest : public MailroomFixture {
 protected:
  void SetUp() override {
    MailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    StartMailroomAndWaitUntilReady();
    if (HasFatalFailure()) return;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    stub_ = v1::MessageService::NewStub(
        grpc::CreateCustomChannel(grpc_address(), grpc::InsecureChannelCredentials(), args));
  }

  // Sends `raw` with smtplib (which dot-stuffs, and sends bytes as they are otherwise).
  void Send(const std::string& raw, const std::string& to = "rcpt@example.com") {
    const std::string path =
        absl::StrCat(::testing::TempDir(), "msg-", smtp_port_, "-", sent_++, ".eml");
    std::ofstream(path, std::ios::binary) << raw;
    const std::string command = absl::StrCat(
        "/usr/bin/python3 -c 'import smtplib,sys; s=smtplib.SMTP(\"127.0.0.1\",int(sys.argv[1]),"
        " timeout=120); s.sendmail(\"sender@example.com\",[sys.argv[2]],"
        "open(sys.argv[3],\"rb\").read()); s.quit()' ",
        smtp_port_, " ", to, " ", path);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::vector<v1::MessageSummary> ListAll(int page_size, const std::string& query = "") {
    std::vector<v1::MessageSummary> all;
    std::string token;
    do {
      grpc::ClientContext context;
      v1::ListMessagesRequest request;
      request.set_page_size(page_size);
      request.set_query(query);
      request.set_page_token(token);
      v1::ListMessagesResponse response;
      grpc::Status status = stub_->ListMessages(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& m : response.messages()) all.push_back(m);
      token = response.next_page_token();
    } while (!token.empty());
    return all;
  }

  std::string OnlyId() {
    std::vector<v1::MessageSummary> all = ListAll(50);
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? "" : all[0].id();
  }

  grpc::Status Raw(const std::string& id, std::string* out, int64_t* size) {
    grpc::ClientContext context;
    v1::GetRawMessageRequest request;
    request.set_id(id);
    auto reader = stub_->GetRawMessage(&context, request);
    v1::GetRawMessageResponse chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      EXPECT_LE(chunk.data().size(), 1u << 20);
      if (first) *size = chunk.size_bytes();
      first = false;
      out->append(chunk.data());
    }
    return reader->Finish();
  }

  grpc::Status Part(const std::string& id, const std::string& part_id, v1::MimePart* part,
                    std::string* data) {
    grpc::ClientContext context;
    v1::GetMessagePartRequest request;
    request.set_id(id);
    request.set_part_id(part_id);
    auto reader = stub_->GetMessagePart(&context, request);
    v1::GetMessagePartResponse chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      if (first) *part = chunk.part();
      first = false;
      data->append(chunk.data());
    }
    return reader->Finish();
  }

  std::unique_ptr<v1::MessageService::Stub> stub_;
  int sent_ = 0;
};

constexpr char kNested[] =
    "From: =?iso-8859-1?q?J=F6rg?= <joerg@example.com>\r\n"
    "To: =?utf-8?b?0JDQvdC90LA=?= <anna@example.com>, bob@example.com\r\n"
    "Cc: Carol <carol@example.com>\r\n"
    "Subject: =?iso-2022-jp?b?GyRCJUYlOSVIGyhC?= and =?utf-8?q?caf=C3=A9?=\r\n"
    "Date: Wed, 01 May 2024 10:30:00 +0000\r\n"
    "Message-ID: <nested.1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Hello</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment;\r\n"
    " filename*=utf-8''r%C3%A9sum%C3%A9.bin\r\n"
    "\r\n"
    "AAECA/8=\r\n"
    "--outer--\r\n";

TEST_F(MessageServiceTest, GetMessageShowsHeadersTreeBodiesAndAttachments) {
  ASSERT_NO_FATAL_FAILURE(Send(kNested));
  const std::string id = OnlyId();
  ASSERT_FALSE(id.empty());

  grpc::ClientContext context;
  v1::GetMessageRequest request;
  request.set_id(id);
  v1::GetMessageResponse response;
  grpc::Status status = stub_->GetMessage(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Message& m = response.message();
  EXPECT_EQ(m.subject(), "テスト and café");
  ASSERT_EQ(m.from_size(), 1);
  EXPECT_EQ(m.from(0).name(), "Jörg");
  ASSERT_EQ(m.to_size(), 2);
  EXPECT_EQ(m.to(0).name(), "Анна");
  EXPECT_EQ(m.to(1).address(), "bob@example.com");
  EXPECT_EQ(m.internet_message_id(), "nested.1@example.com");
  EXPECT_EQ(m.envelope().mail_from(), "sender@example.com");
  ASSERT_EQ(m.envelope().recipients_size(), 1);
  EXPECT_FALSE(m.receive_time().seconds() == 0);
  ASSERT_GE(m.headers_size(), 8);
  EXPECT_EQ(m.headers(0).name(), "From");
  EXPECT_EQ(m.headers(0).value(), "Jörg <joerg@example.com>");
  EXPECT_EQ(m.headers(0).raw_value(), " =?iso-8859-1?q?J=F6rg?= <joerg@example.com>");

  const v1::MimePart& root = m.mime_tree();
  EXPECT_EQ(root.part_id(), "1");
  EXPECT_EQ(root.content_type(), "multipart/mixed");
  ASSERT_EQ(root.parts_size(), 2);
  ASSERT_EQ(root.parts(0).parts_size(), 2);
  EXPECT_EQ(root.parts(0).parts(1).part_id(), "1.1.2");
  EXPECT_EQ(m.text_body(), "Grüße");  // the CRLF before a boundary is the boundary's
  EXPECT_EQ(m.text_body_part_id(), "1.1.1");
  EXPECT_EQ(m.html_body_part_id(), "1.1.2");
  ASSERT_EQ(m.attachments_size(), 1);
  EXPECT_EQ(m.attachments(0).part_id(), "1.2");
  EXPECT_EQ(m.attachments(0).filename(), "résumé.bin");
  EXPECT_EQ(m.attachments(0).size_bytes(), 5);
  EXPECT_EQ(m.attachments(0).disposition(), v1::MimePart::DISPOSITION_ATTACHMENT);
  EXPECT_TRUE(m.has_attachments());

  v1::MimePart part;
  std::string data;
  status = Part(id, "1.2", &part, &data);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(data, std::string("\x00\x01\x02\x03\xff", 5));
  EXPECT_EQ(part.transfer_encoding(), "base64");
  EXPECT_EQ(part.filename(), "résumé.bin");

  data.clear();
  EXPECT_EQ(Part(id, "1.1", &part, &data).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  data.clear();
  EXPECT_EQ(Part(id, "1.9", &part, &data).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MessageServiceTest, RawStreamsExactBytesOfLargeBinaryMessage) {
  std::string raw =
      "From: big@example.com\r\nTo: rcpt@example.com\r\nSubject: big\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n";
  // Every byte value but CR and LF (bare ones are refused by SMTP), in lines of 998 octets;
  // lines starting with '.' check dot-unstuffing.
  std::string line;
  for (int i = 0; line.size() < 996; ++i) {
    const char c = static_cast<char>((i * 7 + 1) % 256);
    if (c != '\r' && c != '\n' && c != '\0') line.push_back(c);
  }
  while (raw.size() < 20u * 1000 * 1000) absl::StrAppend(&raw, ".", line, "\r\n");
  ASSERT_NO_FATAL_FAILURE(Send(raw));
  const std::string id = OnlyId();
  ASSERT_FALSE(id.empty());
  std::string streamed;
  int64_t size = -1;
  grpc::Status status = Raw(id, &streamed, &size);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(size, static_cast<int64_t>(raw.size()));
  EXPECT_TRUE(streamed == raw) << "streamed " << streamed.size() << " bytes of " << raw.size();
}

// SIGTERM lets calls in flight finish within api.shutdown_grace_period: a raw stream the
// client is still reading when the signal arrives completes, and the process exits 0.
TEST_F(MessageServiceTest, CallInFlightFinishesDuringGracefulShutdown) {
  std::string raw = "From: big@example.com\r\nSubject: in flight\r\n\r\n";
  while (raw.size() < 8u * 1000 * 1000) absl::StrAppend(&raw, std::string(900, 'y'), "\r\n");
  ASSERT_NO_FATAL_FAILURE(Send(raw));
  const std::string id = OnlyId();
  ASSERT_FALSE(id.empty());

  grpc::ClientContext context;
  v1::GetRawMessageRequest request;
  request.set_id(id);
  auto reader = stub_->GetRawMessage(&context, request);
  v1::GetRawMessageResponse chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  std::string streamed = chunk.data();
  // HTTP/2 flow control holds the rest of the stream on the server while we do not read.
  mailroom_->Signal(SIGTERM);
  ASSERT_TRUE(mailroom_->WaitForOutput("shutting down", absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(300));
  while (reader->Read(&chunk)) streamed.append(chunk.data());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(streamed == raw) << "streamed " << streamed.size() << " of " << raw.size();
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(20)), 0) << mailroom_->Output();
}

TEST_F(MessageServiceTest, UpdateDeleteAndErrors) {
  ASSERT_NO_FATAL_FAILURE(Send("From: a@example.com\r\nSubject: one\r\n\r\nbody\r\n"));
  const std::string id = OnlyId();
  ASSERT_FALSE(id.empty());
  {
    grpc::ClientContext context;
    v1::UpdateMessageRequest request;
    request.mutable_message()->set_id(id);
    request.mutable_message()->set_read(true);
    request.mutable_update_mask()->add_paths("read");
    v1::UpdateMessageResponse response;
    grpc::Status status = stub_->UpdateMessage(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.message().read());
    EXPECT_EQ(response.message().subject(), "one");
  }
  {
    grpc::ClientContext context;
    v1::UpdateMessageRequest request;
    request.mutable_message()->set_id(id);
    request.mutable_update_mask()->add_paths("subject");
    v1::UpdateMessageResponse response;
    grpc::Status status = stub_->UpdateMessage(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("update_mask"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    v1::GetMessageRequest request;
    request.set_id("not-a-uuid");
    v1::GetMessageResponse response;
    grpc::Status status = stub_->GetMessage(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("id:"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    v1::DeleteMessageRequest request;
    request.set_id(id);
    v1::DeleteMessageResponse response;
    ASSERT_TRUE(stub_->DeleteMessage(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    v1::DeleteMessageRequest request;
    request.set_id(id);
    v1::DeleteMessageResponse response;
    EXPECT_EQ(stub_->DeleteMessage(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  std::string raw;
  int64_t size = 0;
  EXPECT_EQ(Raw(id, &raw, &size).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MessageServiceTest, ListPagesAndDeleteMessages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        Send(absl::StrCat("From: a@example.com\r\nSubject: number ", i, "\r\n\r\nbody\r\n")));
  }
  std::vector<v1::MessageSummary> all = ListAll(2);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].subject(), "number 4");  // newest first
  EXPECT_EQ(all[4].subject(), "number 0");
  ASSERT_EQ(all[0].from_size(), 1);
  EXPECT_EQ(all[0].from(0).address(), "a@example.com");
  {
    grpc::ClientContext context;
    v1::DeleteMessagesRequest request;
    v1::DeleteMessagesResponse response;
    EXPECT_EQ(stub_->DeleteMessages(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    v1::DeleteMessagesRequest request;
    request.set_confirm_all(true);
    v1::DeleteMessagesResponse response;
    grpc::Status status = stub_->DeleteMessages(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.deleted_count(), 5);
  }
  EXPECT_TRUE(ListAll(10).empty());
}

}  // namespace
}  // namespace mailroom::testing
