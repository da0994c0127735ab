// Tests of smtp::Server and smtp::Connection: a real server on 127.0.0.1 port 0, the
// in-memory backends of io_test_backends.h and a blocking client (plain and OpenSSL).
#include "smtp/server.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smtp/tls_context.h"
#include "tests/smtp/io_test_backends.h"
#include "tests/smtp/test_smtp_client.h"
#include "tests/support/status_matchers.h"

namespace mailroom::smtp {
namespace {

using ::mailroom::smtp::testing::FixedAuthenticator;
using ::mailroom::smtp::testing::MemoryLog;
using ::mailroom::smtp::testing::MemoryRecorder;
using ::mailroom::smtp::testing::MemorySink;
using ::mailroom::smtp::testing::SendMail;
using ::mailroom::smtp::testing::TestSmtpClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Declares `var` from a StatusOr expression, failing the test (and returning) on error.
#define MAILROOM_ASSIGN_OR_FAIL(var, expr) \
  auto var##_status_or = (expr);           \
  ASSERT_OK(var##_status_or);              \
  auto var = std::move(var##_status_or).value()

constexpr absl::string_view kBody =
    "From: a@example.test\r\nTo: b@example.test\r\nSubject: hello\r\n\r\nHello, world.\r\n";

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TlsOptions options;
    options.hostname = "localhost";
    absl::StatusOr<std::unique_ptr<TlsContextProvider>> tls = TlsContextProvider::Create(options);
    ASSERT_OK(tls);
    tls_ = tls->release();
  }
  static void TearDownTestSuite() {
    delete tls_;
    tls_ = nullptr;
  }

  // Two listeners: "smtp" (STARTTLS, plaintext AUTH allowed) and "smtps" (implicit TLS).
  static ServerOptions Options() {
    ServerOptions options;
    options.session.hostname = "mx.test";
    auto counter = std::make_shared<std::atomic<int>>(0);
    options.session.new_id = [counter] { return absl::StrCat("id-", ++*counter); };
    ListenerOptions smtp;
    smtp.name = "smtp";
    smtp.address = "127.0.0.1";
    smtp.allow_plaintext_auth = true;
    ListenerOptions smtps;
    smtps.name = "smtps";
    smtps.address = "127.0.0.1";
    smtps.tls = ListenerOptions::Tls::kImplicit;
    options.listeners = {smtp, smtps};
    return options;
  }

  absl::Status StartServer(ServerOptions options) {
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(std::move(options), tls_, &sink_, &recorder_, &authenticator_, &log_);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }

  // A client connected to `listener` that has read the 220 greeting (after the TLS
  // handshake on "smtps").
  absl::StatusOr<std::unique_ptr<TestSmtpClient>> Greeted(absl::string_view listener = "smtp") {
    absl::StatusOr<std::unique_ptr<TestSmtpClient>> client =
        TestSmtpClient::Connect(server_->port(listener));
    if (!client.ok()) return client.status();
    if (listener == "smtps") {
      if (absl::Status tls = (*client)->StartTls(); !tls.ok()) return tls;
    }
    absl::StatusOr<std::string> greeting = (*client)->ReadReply();
    if (!greeting.ok()) return greeting.status();
    if (!absl::StartsWith(*greeting, "220 ")) {
      return absl::UnknownError(absl::StrCat("expected a 220 greeting, got ", *greeting));
    }
    return client;
  }

  // Sends `command` (CRLF added) and returns the reply.
  static absl::StatusOr<std::string> Command(TestSmtpClient& client, absl::string_view command) {
    if (absl::Status sent = client.Send(absl::StrCat(command, "\r\n")); !sent.ok()) return sent;
    return client.ReadReply();
  }

  // The only record, once it has arrived.
  SessionRecord OnlyRecord() {
    EXPECT_TRUE(recorder_.WaitForRecords(1));
    std::vector<SessionRecord> records = recorder_.records();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? SessionRecord() : records.front();
  }

  static TlsContextProvider* tls_;
  // The backends outlive the server, which is declared (and so destroyed) after them.
  MemorySink sink_;
  MemoryRecorder recorder_;
  FixedAuthenticator authenticator_;
  MemoryLog log_;
  std::unique_ptr<Server> server_;
};

TlsContextProvider* ServerTest::tls_ = nullptr;

TEST_F(ServerTest, DeliversAMessageAndRecordsTheSession) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  EXPECT_THAT(ehlo, StartsWith("250"));
  MAILROOM_ASSIGN_OR_FAIL(queued, SendMail(*client, "a@example.test", "b@example.test", kBody));
  EXPECT_THAT(queued, StartsWith("250"));
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*client, "QUIT"));
  EXPECT_THAT(quit, StartsWith("221"));

  std::vector<std::shared_ptr<const ReceivedMessage>> messages = sink_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]->raw, kBody);
  EXPECT_EQ(messages[0]->envelope.mail_from, "a@example.test");
  ASSERT_EQ(messages[0]->envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0]->envelope.recipients[0].address, "b@example.test");

  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kQuit);
  EXPECT_EQ(record.message_count, 1);
  EXPECT_THAT(record.info.id, StartsWith("id-"));
  EXPECT_EQ(messages[0]->session.id, record.info.id);
  EXPECT_EQ(record.info.listener, "smtp");
  EXPECT_EQ(record.info.client_address, "127.0.0.1");
  EXPECT_GT(record.info.client_port, 0);
  EXPECT_EQ(record.info.server_address, absl::StrCat("127.0.0.1:", server_->port("smtp")));
  EXPECT_EQ(record.info.ehlo_name, "client.test");
  EXPECT_TRUE(record.info.tls_protocol.empty());
  EXPECT_FALSE(record.transcript.empty());
}

TEST_F(ServerTest, AnswersPipelinedCommandsInOrder) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  EXPECT_THAT(ehlo, HasSubstr("PIPELINING"));

  // RFC 2920: one write, answered completely and in order.
  ASSERT_OK(client->Send(
      "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n"
      "DATA\r\n"));
  for (absl::string_view expected : {"250", "250", "250", "354"}) {
    MAILROOM_ASSIGN_OR_FAIL(reply, client->ReadReply());
    EXPECT_THAT(reply, StartsWith(std::string(expected)));
  }
  ASSERT_OK(client->Send(absl::StrCat(kBody, ".\r\nNOOP\r\nQUIT\r\n")));
  for (absl::string_view expected : {"250", "250", "221"}) {
    MAILROOM_ASSIGN_OR_FAIL(reply, client->ReadReply());
    EXPECT_THAT(reply, StartsWith(std::string(expected)));
  }
  MAILROOM_ASSIGN_OR_FAIL(rest, client->ReadUntilClosed());
  EXPECT_EQ(rest, "");

  std::vector<std::shared_ptr<const ReceivedMessage>> messages = sink_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]->envelope.recipients.size(), 2u);
  EXPECT_EQ(messages[0]->raw, kBody);
}

TEST_F(ServerTest, StartTlsThenMailOverTls) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  EXPECT_THAT(ehlo, HasSubstr("STARTTLS"));
  MAILROOM_ASSIGN_OR_FAIL(ready, Command(*client, "STARTTLS"));
  EXPECT_THAT(ready, StartsWith("220"));
  ASSERT_OK(client->StartTls());

  MAILROOM_ASSIGN_OR_FAIL(ehlo_tls, Command(*client, "EHLO client.test"));
  EXPECT_THAT(ehlo_tls, StartsWith("250"));
  EXPECT_THAT(ehlo_tls, ::testing::Not(HasSubstr("STARTTLS")));
  MAILROOM_ASSIGN_OR_FAIL(queued, SendMail(*client, "a@example.test", "b@example.test", kBody));
  EXPECT_THAT(queued, StartsWith("250"));
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*client, "QUIT"));
  EXPECT_THAT(quit, StartsWith("221"));

  std::vector<std::shared_ptr<const ReceivedMessage>> messages = sink_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]->raw, kBody);
  EXPECT_EQ(messages[0]->session.tls_protocol, client->tls_protocol());
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.info.tls_protocol, client->tls_protocol());
  EXPECT_FALSE(record.info.tls_cipher.empty());
  EXPECT_EQ(record.outcome, SessionOutcome::kQuit);
}

TEST_F(ServerTest, ImplicitTlsListenerHandshakesBeforeTheGreeting) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted("smtps"));
  EXPECT_THAT(client->tls_protocol(), StartsWith("TLSv1."));
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  EXPECT_THAT(ehlo, StartsWith("250"));
  EXPECT_THAT(ehlo, ::testing::Not(HasSubstr("STARTTLS")));
  MAILROOM_ASSIGN_OR_FAIL(queued, SendMail(*client, "a@example.test", "b@example.test", kBody));
  EXPECT_THAT(queued, StartsWith("250"));
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*client, "QUIT"));
  EXPECT_THAT(quit, StartsWith("221"));

  ASSERT_EQ(sink_.messages().size(), 1u);
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.info.listener, "smtps");
  EXPECT_EQ(record.info.tls_protocol, client->tls_protocol());
  EXPECT_EQ(record.info.server_address, absl::StrCat("127.0.0.1:", server_->port("smtps")));
}

TEST_F(ServerTest, FailedImplicitTlsHandshakeIsRecorded) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, TestSmtpClient::Connect(server_->port("smtps")));
  ASSERT_OK(client->Send("EHLO plaintext.test\r\n"));  // not a TLS ClientHello
  MAILROOM_ASSIGN_OR_FAIL(rest, client->ReadUntilClosed());
  EXPECT_THAT(rest, ::testing::Not(HasSubstr("220")));
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kError);
  EXPECT_THAT(record.error, HasSubstr("TLS handshake failed"));
  EXPECT_EQ(record.info.listener, "smtps");
}

TEST_F(ServerTest, DiscardsPlaintextPipelinedAfterStartTls) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  // RFC 3207 §4.2 (and CVE-2011-0411): commands sent in plaintext after STARTTLS must not
  // be executed inside the TLS session.
  ASSERT_OK(client->Send("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n"));
  MAILROOM_ASSIGN_OR_FAIL(ready, client->ReadReply());
  EXPECT_THAT(ready, StartsWith("220"));
  ASSERT_OK(client->StartTls());

  // The first reply over TLS answers NOOP (2.0.0), not the injected MAIL (2.1.0).
  MAILROOM_ASSIGN_OR_FAIL(noop, Command(*client, "NOOP"));
  EXPECT_THAT(noop, StartsWith("250 2.0.0"));
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*client, "QUIT"));
  EXPECT_THAT(quit, StartsWith("221"));
  MAILROOM_ASSIGN_OR_FAIL(rest, client->ReadUntilClosed());
  EXPECT_EQ(rest, "");
  EXPECT_EQ(sink_.delivery_attempts(), 0);
}

TEST_F(ServerTest, ChecksCredentialsThroughTheAuthenticator) {
  ASSERT_OK(StartServer(Options()));
  // "\0alice\0secret" in base64 (RFC 4616).
  constexpr absl::string_view kAuthPlain = "AUTH PLAIN AGFsaWNlAHNlY3JldA==";

  MAILROOM_ASSIGN_OR_FAIL(accepted, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*accepted, "EHLO client.test"));
  MAILROOM_ASSIGN_OR_FAIL(ok, Command(*accepted, kAuthPlain));
  EXPECT_THAT(ok, StartsWith("235"));

  authenticator_.set_answer(absl::UnauthenticatedError("wrong password"));
  MAILROOM_ASSIGN_OR_FAIL(refused, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo2, Command(*refused, "EHLO client.test"));
  MAILROOM_ASSIGN_OR_FAIL(denied, Command(*refused, kAuthPlain));
  EXPECT_THAT(denied, StartsWith("535"));

  EXPECT_EQ(authenticator_.usernames(), (std::vector<std::string>{"alice", "alice"}));
}

TEST_F(ServerTest, RefusesConnectionsOverTheTotalLimit) {
  ServerOptions options = Options();
  options.max_connections = 2;
  ASSERT_OK(StartServer(std::move(options)));
  MAILROOM_ASSIGN_OR_FAIL(first, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(second, Greeted("smtps"));  // the limit spans listeners

  MAILROOM_ASSIGN_OR_FAIL(third, TestSmtpClient::Connect(server_->port("smtp")));
  MAILROOM_ASSIGN_OR_FAIL(refusal, third->ReadReply());
  EXPECT_EQ(refusal, "421 4.7.0 mx.test Too many connections, try again later\r\n");
  MAILROOM_ASSIGN_OR_FAIL(rest, third->ReadUntilClosed());
  EXPECT_EQ(rest, "");

  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kError);
  EXPECT_THAT(record.error, HasSubstr("too many connections"));
  EXPECT_EQ(record.info.listener, "smtp");
  EXPECT_EQ(record.info.client_address, "127.0.0.1");
  EXPECT_FALSE(record.info.id.empty());
  ASSERT_FALSE(record.transcript.empty());
  EXPECT_THAT(record.transcript.front().text, StartsWith("421 4.7.0"));
  EXPECT_TRUE(log_.WaitFor("connection limit reached"));

  // A place frees up when a session ends.
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*first, "QUIT"));
  ASSERT_TRUE(recorder_.WaitForRecords(2));
  MAILROOM_ASSIGN_OR_FAIL(fourth, Greeted());
}

TEST_F(ServerTest, RefusesConnectionsOverThePerAddressLimit) {
  ServerOptions options = Options();
  options.max_connections = 100;
  options.max_connections_per_ip = 1;
  ASSERT_OK(StartServer(std::move(options)));
  MAILROOM_ASSIGN_OR_FAIL(first, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(second, TestSmtpClient::Connect(server_->port("smtp")));
  MAILROOM_ASSIGN_OR_FAIL(refusal, second->ReadReply());
  EXPECT_EQ(refusal,
            "421 4.7.0 mx.test Too many connections from your address, try again later\r\n");
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kError);
  EXPECT_THAT(record.error, HasSubstr("127.0.0.1"));
}

TEST_F(ServerTest, RefusesImplicitTlsConnectionsOverTheLimitWithoutPlaintext) {
  ServerOptions options = Options();
  options.max_connections = 1;
  ASSERT_OK(StartServer(std::move(options)));
  MAILROOM_ASSIGN_OR_FAIL(first, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(refused, TestSmtpClient::Connect(server_->port("smtps")));
  // A plaintext 421 would only confuse the client's TLS stack: it just sees the close.
  MAILROOM_ASSIGN_OR_FAIL(rest, refused->ReadUntilClosed());
  EXPECT_EQ(rest, "");
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kError);
  EXPECT_EQ(record.info.listener, "smtps");
  EXPECT_THAT(record.error, HasSubstr("too many connections"));
}

TEST_F(ServerTest, TimesOutAnIdleClient) {
  ServerOptions options = Options();
  options.session.limits.command_timeout = absl::Milliseconds(200);
  ASSERT_OK(StartServer(std::move(options)));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  // Then say nothing.
  MAILROOM_ASSIGN_OR_FAIL(timeout, client->ReadReply());
  EXPECT_THAT(timeout, StartsWith("421 4.4.2"));
  MAILROOM_ASSIGN_OR_FAIL(rest, client->ReadUntilClosed());
  EXPECT_EQ(rest, "");
  EXPECT_EQ(OnlyRecord().outcome, SessionOutcome::kTimeout);
}

TEST_F(ServerTest, ClientVanishingMidDataDeliversNothing) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  MAILROOM_ASSIGN_OR_FAIL(mail, Command(*client, "MAIL FROM:<a@example.test>"));
  MAILROOM_ASSIGN_OR_FAIL(rcpt, Command(*client, "RCPT TO:<b@example.test>"));
  MAILROOM_ASSIGN_OR_FAIL(data, Command(*client, "DATA"));
  ASSERT_THAT(data, StartsWith("354"));
  ASSERT_OK(client->Send("Subject: cut short\r\n\r\nhalf a mess"));
  client->Close();

  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kClientDropped);
  EXPECT_EQ(record.message_count, 0);
  EXPECT_EQ(sink_.delivery_attempts(), 0);
}

TEST_F(ServerTest, SinkFailureAnswers451AndTheSessionContinues) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  sink_.FailWith(absl::UnavailableError("database down"));
  MAILROOM_ASSIGN_OR_FAIL(failed, SendMail(*client, "a@example.test", "b@example.test", kBody));
  EXPECT_THAT(failed, StartsWith("451 4.3.0"));

  sink_.FailWith(absl::OkStatus());
  MAILROOM_ASSIGN_OR_FAIL(queued, SendMail(*client, "a@example.test", "b@example.test", kBody));
  EXPECT_THAT(queued, StartsWith("250"));
  MAILROOM_ASSIGN_OR_FAIL(quit, Command(*client, "QUIT"));
  EXPECT_THAT(quit, StartsWith("221"));

  EXPECT_EQ(sink_.messages().size(), 1u);
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.message_count, 1);
  EXPECT_EQ(record.outcome, SessionOutcome::kQuit);
}

TEST_F(ServerTest, ShutdownClosesIdleSessionsWith421) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(plain, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*plain, "EHLO client.test"));
  MAILROOM_ASSIGN_OR_FAIL(tls, Greeted("smtps"));

  server_->Shutdown(absl::Seconds(30));
  // Every session was recorded before Shutdown returned.
  std::vector<SessionRecord> records = recorder_.records();
  ASSERT_EQ(records.size(), 2u);
  for (const SessionRecord& record : records) {
    EXPECT_EQ(record.outcome, SessionOutcome::kServerShutdown) << record.info.listener;
  }
  for (TestSmtpClient* client : {plain.get(), tls.get()}) {
    MAILROOM_ASSIGN_OR_FAIL(goodbye, client->ReadReply());
    EXPECT_THAT(goodbye, StartsWith("421 4.3.2"));
  }
  // Nothing listens any more.
  EXPECT_FALSE(TestSmtpClient::Connect(server_->port("smtp")).ok());
}

TEST_F(ServerTest, ShutdownLetsADeliveryInFlightFinish) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  sink_.Hold();
  ASSERT_OK(
      client->Send(absl::StrCat("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
                                "DATA\r\n",
                                kBody, ".\r\n")));
  ASSERT_TRUE(sink_.WaitForHeld(1));

  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(30)); });
  ASSERT_TRUE(log_.WaitFor("SMTP server stopping"));
  sink_.Release();
  shutdown.join();

  for (absl::string_view expected : {"250", "250", "354", "250", "421 4.3.2"}) {
    MAILROOM_ASSIGN_OR_FAIL(reply, client->ReadReply());
    EXPECT_THAT(reply, StartsWith(std::string(expected)));
  }
  EXPECT_EQ(sink_.messages().size(), 1u);
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kServerShutdown);
  EXPECT_EQ(record.message_count, 1);
}

TEST_F(ServerTest, ShutdownClosesWhatRemainsAfterTheGracePeriod) {
  ASSERT_OK(StartServer(Options()));
  MAILROOM_ASSIGN_OR_FAIL(client, Greeted());
  MAILROOM_ASSIGN_OR_FAIL(ehlo, Command(*client, "EHLO client.test"));
  sink_.Hold();
  ASSERT_OK(
      client->Send(absl::StrCat("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
                                "DATA\r\n",
                                kBody, ".\r\n")));
  ASSERT_TRUE(sink_.WaitForHeld(1));

  std::thread shutdown([this] { server_->Shutdown(absl::ZeroDuration()); });
  ASSERT_TRUE(log_.WaitFor("after the grace period"));
  // The socket is closed: the client sees the end of the stream without the 250.
  MAILROOM_ASSIGN_OR_FAIL(rest, client->ReadUntilClosed());
  std::vector<std::string> lines = absl::StrSplit(rest, "\r\n", absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), StartsWith("354"));  // the last thing said, never the 250
  // Shutdown still waits for the delivery to complete before the record is made.
  sink_.Release();
  shutdown.join();
  const SessionRecord record = OnlyRecord();
  EXPECT_EQ(record.outcome, SessionOutcome::kServerShutdown);
}

TEST_F(ServerTest, ManyConcurrentSessionsAreAllStoredAndRecordedOnce) {
  constexpr int kThreads = 20;
  constexpr int kSessionsPerThread = 10;
  constexpr int kMessagesPerSession = 5;
  ServerOptions options = Options();
  options.max_connections = 0;
  options.max_connections_per_ip = 0;
  ASSERT_OK(StartServer(std::move(options)));

  absl::Mutex mu;
  std::vector<std::string> errors;
  auto fail = [&](std::string error) {
    absl::MutexLock lock(&mu);
    errors.push_back(std::move(error));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSessionsPerThread; ++s) {
        absl::StatusOr<std::unique_ptr<TestSmtpClient>> client =
            Greeted(t % 4 == 0 ? "smtps" : "smtp");
        if (!client.ok()) return fail(client.status().ToString());
        if (absl::StatusOr<std::string> ehlo = Command(**client, "EHLO load.test"); !ehlo.ok()) {
          return fail(ehlo.status().ToString());
        }
        for (int m = 0; m < kMessagesPerSession; ++m) {
          const std::string body = absl::StrCat("Subject: ", t, "/", s, "/", m, "\r\n\r\nx\r\n");
          absl::StatusOr<std::string> queued =
              SendMail(**client, "load@example.test", "sink@example.test", body);
          if (!queued.ok()) return fail(queued.status().ToString());
          if (!absl::StartsWith(*queued, "250")) return fail(*queued);
        }
        absl::StatusOr<std::string> quit = Command(**client, "QUIT");
        if (!quit.ok() || !absl::StartsWith(*quit, "221")) return fail("QUIT not answered 221");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(errors.empty()) << errors.size() << " clients failed, first: " << errors.front();

  constexpr int kSessions = kThreads * kSessionsPerThread;
  std::vector<std::shared_ptr<const ReceivedMessage>> messages = sink_.messages();
  EXPECT_EQ(messages.size(), static_cast<size_t>(kSessions * kMessagesPerSession));
  std::set<std::string> bodies;
  for (const auto& message : messages) bodies.insert(message->raw);
  EXPECT_EQ(bodies.size(), messages.size());

  ASSERT_TRUE(recorder_.WaitForRecords(kSessions));
  server_->Shutdown(absl::Seconds(30));
  std::vector<SessionRecord> records = recorder_.records();
  EXPECT_EQ(records.size(), static_cast<size_t>(kSessions));  // exactly once each
  std::set<std::string> ids;
  for (const SessionRecord& record : records) {
    ids.insert(record.info.id);
    EXPECT_EQ(record.outcome, SessionOutcome::kQuit);
    EXPECT_EQ(record.message_count, kMessagesPerSession);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kSessions));
}

TEST_F(ServerTest, ReportsBoundPortsAndLogsListeners) {
  ASSERT_OK(StartServer(Options()));
  EXPECT_GT(server_->port("smtp"), 0);
  EXPECT_GT(server_->port("smtps"), 0);
  EXPECT_NE(server_->port("smtp"), server_->port("smtps"));
  EXPECT_EQ(server_->port("nonexistent"), 0);
  EXPECT_TRUE(log_.WaitFor(absl::StrCat("SMTP listener started listener=smtps address=127.0.0.1:",
                                        server_->port("smtps"), " tls=implicit")));
}

TEST_F(ServerTest, StartNamesTheListenerThatCannotBind) {
  ASSERT_OK(StartServer(Options()));
  ServerOptions clash = Options();
  clash.listeners.resize(1);
  clash.listeners[0].port = server_->port("smtp");
  absl::StatusOr<std::unique_ptr<Server>> second =
      Server::Start(clash, tls_, &sink_, &recorder_, &authenticator_, &log_);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("listener smtp 127.0.0.1:", server_->port("smtp"), ": ")));
}

TEST_F(ServerTest, StartRejectsUnusableOptions) {
  ServerOptions duplicate = Options();
  duplicate.listeners[1].name = "smtp";
  EXPECT_TRUE(absl::IsInvalidArgument(
      Server::Start(duplicate, tls_, &sink_, &recorder_, &authenticator_, &log_).status()));

  EXPECT_TRUE(absl::IsInvalidArgument(
      Server::Start(Options(), nullptr, &sink_, &recorder_, &authenticator_, &log_).status()))
      << "an implicit-TLS listener needs a certificate";

  ServerOptions no_ids = Options();
  no_ids.session.new_id = nullptr;
  EXPECT_TRUE(absl::IsInvalidArgument(
      Server::Start(no_ids, tls_, &sink_, &recorder_, &authenticator_, &log_).status()));
}

}  // namespace
}  // namespace mailroom::smtp
