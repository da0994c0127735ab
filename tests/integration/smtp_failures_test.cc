// What must fail, end to end, and how: SMTP smuggling payloads, STARTTLS command injection,
// a client vanishing mid-DATA, PostgreSQL going away (451, never 250), size and recipient
// limits, AUTH before TLS, and SIGTERM with an idle session. Each test checks both the
// replies on the wire and what was (not) stored.
#include <signal.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/raw_smtp_client.h"
#include "tests/integration/smtp_clients.h"

namespace mailroom::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::StartsWith;

std::unique_ptr<RawSmtpClient> ConnectOrDie(int port) {
  absl::StatusOr<std::unique_ptr<RawSmtpClient>> client = RawSmtpClient::Connect(port);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// EHLO, MAIL and RCPT, up to DATA's 354.
::testing::AssertionResult OpenData(RawSmtpClient& client) {
  for (auto [line, expected] :
       {std::pair{"EHLO raw.test", "250-"}, std::pair{"MAIL FROM:<sender@example.test>", "250 "},
        std::pair{"RCPT TO:<rcpt@example.test>", "250 "}, std::pair{"DATA", "354 "}}) {
    ::testing::AssertionResult result = Exchange(client, line, expected);
    if (!result) return result;
  }
  return ::testing::AssertionSuccess();
}

// A whole message in one session on `port`; the reply to the end of data must start with
// `expected`.
void SendMessage(int port, const std::string& subject, const std::string& expected) {
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(port);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(OpenData(*client));
  ASSERT_TRUE(Exchange(*client, absl::StrCat("Subject: ", subject, "\r\n\r\nbody\r\n."), expected));
  ASSERT_TRUE(Exchange(*client, "QUIT", "221 "));
}

// A message whose first part ends in `separator`, followed by a whole second transaction:
// a server that took the separator for the end of data would deliver a message from
// smuggled@evil.test.
std::string SmugglingPayload(const std::string& separator) {
  return absl::StrCat("Subject: one\r\n\r\nfirst", separator,
                      "MAIL FROM:<smuggled@evil.test>\r\n"
                      "RCPT TO:<victim@example.test>\r\n"
                      "DATA\r\n"
                      "Subject: smuggled\r\n\r\n"
                      "second\r\n");
}

const char* const kSmugglingSeparators[] = {"\n.\n", "\r.\n", "\n.\r\n"};

class SmtpFailuresTest : public ScratchMailroomFixture {};

TEST_F(SmtpFailuresTest, SmugglingWithBareLineEndingsIsRefusedAndNothingIsStored) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  for (const std::string separator : kSmugglingSeparators) {
    SCOPED_TRACE(absl::CEscape(separator));
    std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(OpenData(*client));
    ASSERT_TRUE(client->Send(absl::StrCat(SmugglingPayload(separator), ".\r\n")).ok());
    // One reply for the whole payload, then QUIT's: the smuggled commands were data.
    EXPECT_TRUE(NextReply(*client, "550 5.6.0"));
    EXPECT_TRUE(Exchange(*client, "QUIT", "221 "));
  }
  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_THAT(*messages, IsEmpty());
  absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(3);
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  for (const StoredSession& session : *sessions) {
    EXPECT_EQ(session.outcome, "quit");
    EXPECT_EQ(session.message_count, 0);
    EXPECT_THAT(session.transcript, Not(Contains(HasSubstr("smuggled@evil.test"))));
  }
}

TEST_F(SmtpFailuresTest, SmugglingWithBareLineEndingsAllowedIsOneMessage) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.limits.reject_bare_line_endings=false"}));
  for (const std::string separator : kSmugglingSeparators) {
    SCOPED_TRACE(absl::CEscape(separator));
    std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(OpenData(*client));
    ASSERT_TRUE(client->Send(absl::StrCat(SmugglingPayload(separator), ".\r\n")).ok());
    EXPECT_TRUE(NextReply(*client, "250 2.0.0 Ok: queued as "));
    EXPECT_TRUE(Exchange(*client, "QUIT", "221 "));
  }
  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->size(), 3u);
  for (size_t i = 0; i < messages->size(); ++i) {
    const StoredMessage& message = (*messages)[i];
    // The smuggled transaction is part of the one message, byte for byte.
    EXPECT_EQ(message.raw, SmugglingPayload(kSmugglingSeparators[i]));
    EXPECT_EQ(message.envelope_from, "sender@example.test");
    EXPECT_THAT(message.recipients, ElementsAre("rcpt@example.test"));
  }
}

TEST_F(SmtpFailuresTest, StartTlsDiscardsPipelinedPlaintext) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  absl::StatusOr<ClientResult> result =
      RunPythonClient("starttls_injection.py", {"--port", absl::StrCat(smtp_port_)});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->first, 0) << result->second;
  const std::string& output = result->second;
  EXPECT_THAT(output, HasSubstr("starttls 220 2.0.0 Ready to start TLS"));
  // Had the injected MAIL survived the handshake, this RCPT would have been accepted.
  EXPECT_THAT(output, HasSubstr("rcpt-without-mail 503 5.5.1 Send MAIL first"));
  EXPECT_THAT(output, HasSubstr("end 250 2.0.0 Ok: queued as "));

  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.envelope_from, "clean@example.test");
  EXPECT_EQ(message.raw, "Subject: clean\r\n\r\nafter STARTTLS\r\n");
  const StoredSession session = OnlySession();
  EXPECT_EQ(session.outcome, "quit");
  EXPECT_THAT(session.tls_protocol, Optional(std::string("TLSv1.3")));
  EXPECT_THAT(session.transcript, Not(Contains(HasSubstr("injected@evil.test"))));
}

TEST_F(SmtpFailuresTest, ClientVanishingMidDataStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(OpenData(*client));
  ASSERT_TRUE(client->Send("Subject: half\r\n\r\nhalf a message\r\n").ok());
  client->Close();

  const StoredSession session = OnlySession();
  EXPECT_EQ(session.outcome, "client_dropped");
  EXPECT_EQ(session.message_count, 0);
  EXPECT_THAT(session.transcript, Contains("C: DATA"));
  EXPECT_THAT(session.transcript, Contains(StartsWith("I: client dropped the connection")));
  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_THAT(*messages, IsEmpty());
}

TEST_F(SmtpFailuresTest, MessageOverTheSizeLimitIsRefused) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.limits.max_message_size=2KiB"}));
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Exchange(*client, "EHLO raw.test", "250-"));
  // RFC 1870: a declared size over the limit is refused before any data.
  EXPECT_TRUE(Exchange(*client, "MAIL FROM:<big@example.test> SIZE=4096", "552 5.3.4"));
  // An undeclared one is read to its end, then refused.
  ASSERT_TRUE(Exchange(*client, "MAIL FROM:<big@example.test>", "250 "));
  ASSERT_TRUE(Exchange(*client, "RCPT TO:<rcpt@example.test>", "250 "));
  ASSERT_TRUE(Exchange(*client, "DATA", "354 "));
  std::string big = "Subject: big\r\n\r\n";
  while (big.size() < 4096) big += std::string(70, 'x') + "\r\n";
  EXPECT_TRUE(Exchange(*client, big + ".", "552 5.3.4"));
  // The session goes on; a small message still gets through.
  ASSERT_TRUE(Exchange(*client, "MAIL FROM:<small@example.test>", "250 "));
  ASSERT_TRUE(Exchange(*client, "RCPT TO:<rcpt@example.test>", "250 "));
  ASSERT_TRUE(Exchange(*client, "DATA", "354 "));
  EXPECT_TRUE(Exchange(*client, "Subject: small\r\n\r\nok\r\n.", "250 2.0.0 Ok: queued as "));
  ASSERT_TRUE(Exchange(*client, "QUIT", "221 "));

  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.envelope_from, "small@example.test");
  const StoredSession session = OnlySession();
  EXPECT_THAT(session.transcript, Contains("S: 250-SIZE 2048"));
  EXPECT_EQ(session.error_reply_count, 2);
}

TEST_F(SmtpFailuresTest, RecipientsOverTheLimitAreRefused) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.limits.max_recipients=2"}));
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Exchange(*client, "EHLO raw.test", "250-"));
  ASSERT_TRUE(Exchange(*client, "MAIL FROM:<many@example.test>", "250 "));
  EXPECT_TRUE(Exchange(*client, "RCPT TO:<one@example.test>", "250 "));
  EXPECT_TRUE(Exchange(*client, "RCPT TO:<two@example.test>", "250 "));
  EXPECT_TRUE(Exchange(*client, "RCPT TO:<three@example.test>", "452 4.5.3"));
  ASSERT_TRUE(Exchange(*client, "DATA", "354 "));
  EXPECT_TRUE(Exchange(*client, "Subject: two of three\r\n\r\nhi\r\n.", "250 "));
  ASSERT_TRUE(Exchange(*client, "QUIT", "221 "));
  EXPECT_THAT(OnlyMessage().recipients, ElementsAre("one@example.test", "two@example.test"));
}

TEST_F(SmtpFailuresTest, AuthBeforeTlsIsRefusedUnlessTheListenerAllowsIt) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  const std::string credentials = absl::Base64Escape(std::string("\0carol\0plain-secret", 19));

  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ::testing::AssertionResult ehlo = Exchange(*client, "EHLO raw.test", "250-");
  ASSERT_TRUE(ehlo);
  EXPECT_THAT(ehlo.message(), Not(HasSubstr("AUTH")));  // not advertised before TLS
  EXPECT_TRUE(Exchange(*client, absl::StrCat("AUTH PLAIN ", credentials), "538 5.7.11"));
  EXPECT_TRUE(Exchange(*client, "AUTH LOGIN", "538 5.7.11"));
  ASSERT_TRUE(Exchange(*client, "QUIT", "221 "));

  std::unique_ptr<RawSmtpClient> allowed = ConnectOrDie(plain_auth_port_);
  ASSERT_NE(allowed, nullptr);
  ehlo = Exchange(*allowed, "EHLO raw.test", "250-");
  ASSERT_TRUE(ehlo);
  EXPECT_THAT(ehlo.message(), HasSubstr("250 AUTH PLAIN LOGIN CRAM-MD5"));
  EXPECT_TRUE(Exchange(*allowed, absl::StrCat("AUTH PLAIN ", credentials), "235 2.7.0"));
  ASSERT_TRUE(Exchange(*allowed, "QUIT", "221 "));

  absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(2);
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  ASSERT_EQ(sessions->size(), 2u);
  for (const StoredSession& session : *sessions) {
    EXPECT_THAT(session.transcript, Contains("C: AUTH PLAIN <redacted>"));
    EXPECT_THAT(session.transcript_json, Not(HasSubstr(credentials)));
    EXPECT_THAT(session.transcript_json, Not(HasSubstr("plain-secret")));
  }
  const StoredSession& refused =
      (*sessions)[0].listener == "smtp" ? (*sessions)[0] : (*sessions)[1];
  const StoredSession& accepted =
      (*sessions)[0].listener == "smtp" ? (*sessions)[1] : (*sessions)[0];
  EXPECT_EQ(refused.auth_user, std::nullopt);
  EXPECT_EQ(accepted.listener, "plainauth");
  EXPECT_THAT(accepted.auth_user, Optional(std::string("carol")));
  EXPECT_EQ(accepted.tls_protocol, std::nullopt);
}

TEST_F(SmtpFailuresTest, IdleClientTimesOutWith421) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.limits.command_timeout=1s"}));
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Exchange(*client, "EHLO sleepy.test", "250-"));
  // No deadline on the server's timer here: the client just waits (generously) for the 421.
  EXPECT_TRUE(NextReply(*client, "421 4.4.2"));
  EXPECT_TRUE(client->WaitForClose());
  const StoredSession session = OnlySession();
  EXPECT_EQ(session.outcome, "timeout");
  EXPECT_THAT(session.error, Optional(std::string("no input within 1s")));
}

TEST_F(SmtpFailuresTest, ConnectionsOverThePerAddressLimitGet421) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.limits.max_connections_per_ip=1"}));
  std::unique_ptr<RawSmtpClient> first = ConnectOrDie(smtp_port_);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<RawSmtpClient>> second = RawSmtpClient::Connect(smtp_port_);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("421 4.7.0"));
  // The first connection is unaffected.
  EXPECT_TRUE(Exchange(*first, "EHLO first.test", "250-"));
  EXPECT_TRUE(Exchange(*first, "QUIT", "221 "));

  absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(2);
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  std::vector<std::string> outcomes;
  for (const StoredSession& session : *sessions) outcomes.push_back(session.outcome);
  EXPECT_THAT(outcomes, ::testing::UnorderedElementsAre("quit", "error"));
}

// BUG (engine, smtp/session.cc CommandStep and RecordCommand): AUTH lines the engine refuses
// are recorded verbatim, credentials included: a line ending in a bare LF is recorded before
// the AUTH redaction runs, and a tab between mechanism and initial response is not split by
// RecordCommand. Either puts AUTH PLAIN credentials into smtp_sessions.transcript.
// Enable once fixed.
TEST_F(SmtpFailuresTest, MalformedAuthLinesAreRedactedToo) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  const std::string credentials = absl::Base64Escape(std::string("\0dave\0lf-secret", 15));
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(plain_auth_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Exchange(*client, "EHLO raw.test", "250-"));
  ASSERT_TRUE(client->Send(absl::StrCat("AUTH PLAIN ", credentials, "\n")).ok());
  EXPECT_TRUE(NextReply(*client, "500 5.5.2"));
  EXPECT_TRUE(Exchange(*client, absl::StrCat("AUTH PLAIN\t", credentials), "501 "));
  ASSERT_TRUE(Exchange(*client, "QUIT", "221 "));
  const StoredSession session = OnlySession();
  EXPECT_THAT(session.transcript_json, Not(HasSubstr(credentials)));
}

TEST_F(SmtpFailuresTest, SigtermClosesIdleSessionsWith421) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  std::unique_ptr<RawSmtpClient> client = ConnectOrDie(smtp_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Exchange(*client, "EHLO idle.test", "250-"));

  mailroom_->Signal(SIGTERM);
  EXPECT_TRUE(NextReply(*client, "421 4.3.2"));
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(30)), 0) << mailroom_->Output();

  const StoredSession session = OnlySession();
  EXPECT_EQ(session.outcome, "shutdown");
  EXPECT_THAT(session.ehlo_name, Optional(std::string("idle.test")));
  EXPECT_EQ(session.transcript.back(), "S: 421 4.3.2 Service shutting down, closing connection");
}

// PostgreSQL goes away and comes back; this needs a cluster of the test's own.
TEST_F(MailroomFixture, StorageDownAnswers451AndLosesNothingAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  ASSERT_NO_FATAL_FAILURE(SendMessage(smtp_port_, "before", "250 2.0.0 Ok: queued as "));
  // Its session row is written after the session; let it land before the outage.
  ASSERT_TRUE(store().WaitForSessions(1).ok());

  ASSERT_TRUE(cluster_->Stop().ok());
  ASSERT_NO_FATAL_FAILURE(SendMessage(smtp_port_, "during", "451 4.3.0"));

  ASSERT_TRUE(cluster_->Restart().ok());
  ASSERT_TRUE(WaitForHealth(Health::kServing)) << mailroom_->Output();
  ASSERT_NO_FATAL_FAILURE(SendMessage(smtp_port_, "after", "250 2.0.0 Ok: queued as "));

  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].raw, "Subject: before\r\n\r\nbody\r\n");
  EXPECT_EQ((*messages)[1].raw, "Subject: after\r\n\r\nbody\r\n");
  // Every session is recorded, the outage's too: kept until the database was back.
  absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(3);
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  ASSERT_EQ(sessions->size(), 3u);
  EXPECT_EQ((*sessions)[0].message_count, 1);
  EXPECT_EQ((*sessions)[1].message_count, 0);
  EXPECT_THAT((*sessions)[1].transcript, Contains(StartsWith("S: 451 4.3.0")));
  EXPECT_EQ((*sessions)[2].message_count, 1);
}

}  // namespace
}  // namespace mailroom::testing
