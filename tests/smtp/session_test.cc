// Session behaviour that golden transcripts cannot show: the recorded transcript and
// SessionRecord, the message handed to the sink, timeouts, events during asynchronous steps,
// and arbitrary read splits. Protocol replies are pinned in tests/testdata/transcripts/.
#include "smtp/session.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smtp/sasl.h"
#include "smtp/transcript.h"

namespace mailroom::smtp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

std::string HmacMd5Hex(absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), length));
}

class SessionTest : public ::testing::Test {
 protected:
  void Start(SessionOptions options = {}, absl::string_view implicit_tls_protocol = "") {
    ids_ = 0;
    options.hostname = "mx.example.test";
    options.new_id = [this] { return absl::StrCat("msg-", ++ids_); };
    options.now = [this] { return now_; };
    SessionInfo info;
    info.id = "s-1";
    info.client_address = "192.0.2.7";
    info.started_at = kStart;
    if (!implicit_tls_protocol.empty()) {
      info.tls_protocol = std::string(implicit_tls_protocol);
      info.tls_cipher = "TLS_AES_256_GCM_SHA384";
    }
    session_ = std::make_unique<Session>(std::move(options), std::move(info));
    replies_ = session_->Greeting();
  }

  // Sends `bytes` and completes every asynchronous step with the given results.
  Session::Output Send(absl::string_view bytes) {
    session_->Receive(bytes);
    return Drive();
  }

  Session::Output Drive() {
    for (;;) {
      Session::Output out = session_->Advance();
      replies_ += out.replies;
      switch (out.next) {
        case Session::Next::kDeliver:
          messages_.push_back(*out.message);
          session_->Delivered(sink_status_);
          break;
        case Session::Next::kAuthenticate:
          credentials_.push_back(out.credentials);
          session_->Authenticated(auth_(out.credentials));
          break;
        case Session::Next::kStartTls:
          session_->TlsStarted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
          break;
        case Session::Next::kRead:
        case Session::Next::kClose:
          return out;
      }
    }
  }

  std::string TranscriptText(const SessionRecord& record) {
    std::string text;
    for (const TranscriptLine& line : record.transcript) {
      absl::StrAppend(&text, Transcript::Format(line), "\n");
    }
    return text;
  }

  std::unique_ptr<Session> session_;
  absl::Time now_ = kStart;
  int ids_ = 0;
  std::string replies_;
  std::vector<ReceivedMessage> messages_;
  std::vector<Credentials> credentials_;
  absl::Status sink_status_ = absl::OkStatus();
  std::function<absl::Status(const Credentials&)> auth_ = [](const Credentials&) {
    return absl::OkStatus();
  };
};

constexpr absl::string_view kTransaction =
    "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";

TEST_F(SessionTest, DeliversTheMessageWithEnvelopeAndSessionFacts) {
  Start();
  now_ = kStart + absl::Seconds(3);
  Send(kTransaction);
  Send("Subject: hi\r\n\r\n..x\r\n.\r\n");
  ASSERT_EQ(messages_.size(), 1u);
  const ReceivedMessage& m = messages_[0];
  EXPECT_EQ(m.id, "msg-1");
  EXPECT_EQ(m.raw, "Subject: hi\r\n\r\n.x\r\n");
  EXPECT_EQ(m.envelope.mail_from, "a@example.com");
  ASSERT_EQ(m.envelope.recipients.size(), 1u);
  EXPECT_EQ(m.envelope.recipients[0].address, "b@example.com");
  EXPECT_EQ(m.session.id, "s-1");
  EXPECT_EQ(m.session.ehlo_name, "client.example");
  EXPECT_EQ(m.session.client_address, "192.0.2.7");
  EXPECT_EQ(m.received_at, kStart + absl::Seconds(3));
  EXPECT_THAT(replies_, HasSubstr("250 2.0.0 Ok: queued as msg-1\r\n"));
}

TEST_F(SessionTest, ByteAtATimeEqualsOneWrite) {
  const std::string conversation = absl::StrCat(
      kTransaction, "Subject: x\r\n\r\n..a\r\n.\r\n", "MAIL FROM:<c@example.com>\r\n",
      "RCPT TO:<d@example.com>\r\nBDAT 4\r\nabcdBDAT 2 LAST\r\nef", "NOOP\r\nQUIT\r\n");
  Start();
  Send(conversation);
  std::string whole = replies_;
  std::vector<ReceivedMessage> whole_messages = messages_;

  replies_.clear();
  messages_.clear();
  Start();
  for (char c : conversation) Send(std::string(1, c));
  EXPECT_EQ(replies_, whole);
  ASSERT_EQ(messages_.size(), 2u);
  ASSERT_EQ(whole_messages.size(), 2u);
  EXPECT_EQ(messages_[0].raw, whole_messages[0].raw);
  EXPECT_EQ(messages_[1].raw, "abcdef");
  EXPECT_EQ(messages_[1].raw, whole_messages[1].raw);
}

TEST_F(SessionTest, TranscriptRecordsLinesAndRedactsAuth) {
  SessionOptions options;
  options.allow_plaintext_auth = true;
  Start(options);
  Send("EHLO client.example\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
  Send("AUTH LOGIN\r\n");  // 503: already authenticated
  now_ = kStart + absl::Seconds(2);
  Send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  Send("Subject: x\r\n\r\nsecret body\r\n.\r\nQUIT\r\n");
  SessionRecord record = session_->Finish();
  std::string text = TranscriptText(record);
  EXPECT_THAT(text, HasSubstr("S: 220 mx.example.test ESMTP Mailroom\n"));
  EXPECT_THAT(text, HasSubstr("C: EHLO client.example\n"));
  EXPECT_THAT(text, HasSubstr("C: AUTH PLAIN <redacted>\n"));
  EXPECT_THAT(text, HasSubstr("I: authenticated as user (PLAIN)\n"));
  EXPECT_THAT(text, HasSubstr("I: <27 bytes of message data>\n"));
  EXPECT_THAT(text, HasSubstr("I: message msg-1 accepted (27 octets)\n"));
  EXPECT_THAT(text, HasSubstr("S: 221 2.0.0 Bye\n"));
  EXPECT_THAT(text, Not(HasSubstr("AHVzZXIAc2VjcmV0")));
  EXPECT_THAT(text, Not(HasSubstr("secret")));
  EXPECT_EQ(record.outcome, SessionOutcome::kQuit);
  EXPECT_EQ(record.message_count, 1);
  EXPECT_EQ(record.info.auth_user, "user");
  EXPECT_EQ(record.info.auth_mechanism, "PLAIN");
  EXPECT_EQ(record.ended_at, kStart + absl::Seconds(2));
  EXPECT_EQ(record.transcript.front().offset, absl::ZeroDuration());
  EXPECT_EQ(record.transcript.back().offset, absl::Seconds(2));
}

TEST_F(SessionTest, AuthContinuationLinesAreRedacted) {
  SessionOptions options;
  options.allow_plaintext_auth = true;
  Start(options);
  Send("EHLO x\r\nAUTH LOGIN\r\n");
  Send(absl::StrCat(EncodeBase64("user"), "\r\n"));
  Send(absl::StrCat(EncodeBase64("hunter2"), "\r\n"));
  ASSERT_EQ(credentials_.size(), 1u);
  EXPECT_EQ(credentials_[0].password, "hunter2");
  std::string text = TranscriptText(session_->Finish());
  EXPECT_THAT(text, HasSubstr("C: AUTH LOGIN\n"));
  EXPECT_THAT(text, HasSubstr("C: <redacted>\n"));
  EXPECT_THAT(text, Not(HasSubstr(EncodeBase64("hunter2"))));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
}

TEST_F(SessionTest, MalformedAuthLinesAreRedactedToo) {
  SessionOptions options;
  options.allow_plaintext_auth = true;
  Start(options);
  const std::string secret = "AGFsaWNlAHMzY3JldC1wYXNz";  // \0alice\0s3cret-pass
  Send("EHLO x\r\n");
  Send(absl::StrCat("AUTH PLAIN ", secret, "\n"));     // bare LF: refused before parsing
  Send(absl::StrCat("AUTH PLAIN\t", secret, "\r\n"));  // a tab instead of a space
  Send(absl::StrCat("auth\tplain ", secret, "\r\n"));  // lower case, tab after the verb
  Send(absl::StrCat("AUTH ", secret, "\r\n"));         // no mechanism at all
  std::string text = TranscriptText(session_->Finish());
  EXPECT_THAT(text, Not(HasSubstr(secret)));
  EXPECT_THAT(text, Not(HasSubstr("alice")));
  EXPECT_THAT(text, HasSubstr("C: AUTH PLAIN <redacted>\n"));
  EXPECT_THAT(text, HasSubstr("C: auth plain <redacted>\n"));
}

TEST_F(SessionTest, CramMd5DigestCanBeVerifiedByTheAuthenticator) {
  SessionOptions options;
  options.allow_plaintext_auth = true;
  Start(options);
  auth_ = [](const Credentials& c) {
    return VerifyCramMd5("tanstaaftanstaaf", c.challenge, c.digest)
               ? absl::OkStatus()
               : absl::UnauthenticatedError("wrong digest");
  };
  Send("EHLO x\r\nAUTH CRAM-MD5\r\n");
  size_t start = replies_.rfind("334 ");
  ASSERT_NE(start, std::string::npos);
  std::string encoded = replies_.substr(start + 4, replies_.find("\r\n", start) - start - 4);
  std::optional<std::string> challenge = DecodeBase64(encoded);
  ASSERT_TRUE(challenge.has_value());
  EXPECT_TRUE(absl::EndsWith(*challenge, "@mx.example.test>")) << *challenge;
  // A wrong digest is refused, the right one (the client side of RFC 2195) accepted.
  Send(absl::StrCat(EncodeBase64("tim 00000000000000000000000000000000"), "\r\n"));
  EXPECT_THAT(replies_, HasSubstr("535 5.7.8"));
  Send("AUTH CRAM-MD5\r\n");
  start = replies_.rfind("334 ");
  encoded = replies_.substr(start + 4, replies_.find("\r\n", start) - start - 4);
  std::string second = DecodeBase64(encoded).value_or("");
  EXPECT_NE(second, *challenge);
  Send(absl::StrCat(EncodeBase64(absl::StrCat("tim ", HmacMd5Hex("tanstaaftanstaaf", second))),
                    "\r\n"));
  EXPECT_TRUE(absl::EndsWith(replies_, "235 2.7.0 Authentication successful\r\n"));
  ASSERT_EQ(credentials_.size(), 2u);
  EXPECT_EQ(credentials_[1].challenge, second);
  EXPECT_EQ(session_->info().auth_user, "tim");
  EXPECT_EQ(session_->info().auth_mechanism, "CRAM-MD5");
  EXPECT_EQ(credentials_[0].challenge, *challenge);
  EXPECT_EQ(credentials_[0].username, "tim");
}

TEST_F(SessionTest, ShutdownWaitsForPendingDelivery) {
  Start();
  Send(kTransaction);
  session_->Receive("Subject: x\r\n\r\nx\r\n.\r\nMAIL FROM:<c@example.com>\r\n");
  Session::Output out = session_->Advance();
  ASSERT_EQ(out.next, Session::Next::kDeliver);
  session_->ShuttingDown();
  session_->Delivered(absl::OkStatus());
  out = session_->Advance();
  EXPECT_EQ(out.replies,
            "250 2.0.0 Ok: queued as msg-1\r\n"
            "421 4.3.2 Service shutting down, closing connection\r\n");
  EXPECT_EQ(out.next, Session::Next::kClose);
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.outcome, SessionOutcome::kServerShutdown);
  EXPECT_EQ(record.message_count, 1);
}

TEST_F(SessionTest, DropDuringDeliveryStillCountsTheStoredMessage) {
  Start();
  Send(kTransaction);
  session_->Receive("x\r\n.\r\n");
  ASSERT_EQ(session_->Advance().next, Session::Next::kDeliver);
  session_->ClientDropped("reset");
  session_->Delivered(absl::OkStatus());
  EXPECT_EQ(session_->Advance().next, Session::Next::kClose);
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.outcome, SessionOutcome::kClientDropped);
  EXPECT_EQ(record.message_count, 1);
  EXPECT_THAT(TranscriptText(record), HasSubstr("I: client dropped the connection: reset\n"));
}

TEST_F(SessionTest, SinkFailureIsNotCounted) {
  Start();
  sink_status_ = absl::UnavailableError("database down");
  Send(kTransaction);
  Send("x\r\n.\r\nQUIT\r\n");
  EXPECT_THAT(replies_, HasSubstr("451 4.3.0 "));
  EXPECT_THAT(replies_, Not(HasSubstr("queued")));
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.message_count, 0);
  EXPECT_THAT(TranscriptText(record), HasSubstr("not stored: UNAVAILABLE: database down"));
}

TEST_F(SessionTest, ReadTimeoutFollowsThePhase) {
  SessionOptions options;
  options.limits.command_timeout = absl::Minutes(5);
  options.limits.data_block_timeout = absl::Minutes(3);
  Start(options);
  EXPECT_EQ(session_->read_timeout(), absl::Minutes(5));
  Send(kTransaction);
  EXPECT_EQ(session_->read_timeout(), absl::Minutes(3));
  Send("x\r\n.\r\n");
  EXPECT_EQ(session_->read_timeout(), absl::Minutes(5));
}

TEST_F(SessionTest, TimeoutIsRecorded) {
  Start();
  Send("EHLO x\r\n");
  session_->TimedOut();
  Session::Output out = session_->Advance();
  EXPECT_EQ(out.replies, "421 4.4.2 Timeout exceeded, closing connection\r\n");
  EXPECT_EQ(out.next, Session::Next::kClose);
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.outcome, SessionOutcome::kTimeout);
  EXPECT_EQ(record.error, "no input within 5m");
}

TEST_F(SessionTest, TlsFactsAndReset) {
  Start();
  Send("EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n");
  EXPECT_EQ(session_->info().tls_protocol, "TLSv1.3");
  EXPECT_EQ(session_->info().tls_cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(session_->info().ehlo_name, "");
  std::string text = TranscriptText(session_->Finish());
  EXPECT_THAT(text, HasSubstr("I: discarded 6 octets of plaintext pipelined after STARTTLS\n"));
  EXPECT_THAT(text, HasSubstr("I: TLS established: TLSv1.3 TLS_AES_128_GCM_SHA256\n"));
}

TEST_F(SessionTest, ImplicitTlsIsInTheTranscriptAndStartTlsIsNotOffered) {
  SessionOptions options;
  options.starttls_available = false;  // what the server sets for implicit-TLS listeners
  Start(options, "TLSv1.3");
  Send("EHLO client.example\r\nQUIT\r\n");
  EXPECT_THAT(replies_, Not(HasSubstr("STARTTLS")));
  std::string text = TranscriptText(session_->Finish());
  EXPECT_THAT(text, HasSubstr("I: TLS established: TLSv1.3 TLS_AES_256_GCM_SHA384\n"));
}

TEST_F(SessionTest, BytesReceivedDuringHandshakeAreDiscarded) {
  Start();
  session_->Receive("EHLO x\r\nSTARTTLS\r\n");
  Session::Output out = session_->Advance();
  ASSERT_EQ(out.next, Session::Next::kStartTls);
  session_->Receive("MAIL FROM:<injected@example.com>\r\n");
  session_->TlsStarted("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
  out = session_->Advance();
  EXPECT_EQ(out.replies, "");
  EXPECT_EQ(out.next, Session::Next::kRead);
}

TEST_F(SessionTest, TlsFailureEndsWithError) {
  Start();
  session_->Receive("EHLO x\r\nSTARTTLS\r\n");
  ASSERT_EQ(session_->Advance().next, Session::Next::kStartTls);
  session_->TlsFailed("no shared cipher");
  EXPECT_EQ(session_->Advance().next, Session::Next::kClose);
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.outcome, SessionOutcome::kError);
  EXPECT_EQ(record.error, "TLS handshake failed: no shared cipher");
}

TEST_F(SessionTest, TranscriptEscapesControlBytesAndBadUtf8) {
  Start();
  Send("NOOP \x01\xff\xc3\xa9\\\r\n");
  std::string text = TranscriptText(session_->Finish());
  EXPECT_THAT(text, HasSubstr("C: NOOP \\x01\\xFF\xc3\xa9\\\\\n"));
}

TEST_F(SessionTest, TranscriptIsBounded) {
  Start();
  std::string many;
  for (int i = 0; i < 6000; ++i) many += "NOOP\r\n";
  Send(many);
  SessionRecord record = session_->Finish();
  EXPECT_EQ(record.transcript.size(), Transcript::kMaxLines);
  EXPECT_THAT(record.transcript.back().text, HasSubstr("transcript limit reached"));
}

TEST_F(SessionTest, FinishWithoutCloseIsADrop) {
  Start();
  EXPECT_EQ(session_->Finish().outcome, SessionOutcome::kClientDropped);
}

}  // namespace
}  // namespace mailroom::smtp
