// Real SMTP clients against the real binary: swaks, curl and Python's smtplib on every
// listener (plaintext, STARTTLS, implicit TLS), with AUTH and PIPELINING. Each test checks
// what PostgreSQL holds afterwards: the raw message byte for byte (as the protocol defines
// it for what the client sent), the envelope, the session facts and the session transcript.
#include "tests/integration/smtp_clients.h"

#include <algorithm>
#include <ostream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using ::testing::StartsWith;

// LF line endings and no final newline: swaks sends every line with CRLF, dot-stuffs, and
// then ends with CRLF . CRLF, so the stored message is WithCrlf(text) + CRLF.
constexpr char kSwaksMessage[] =
    "From: <sender@example.test>\n"
    "To: <rcpt@example.test>\n"
    "Subject: through swaks\n"
    "Message-ID: <swaks-1@example.test>\n"
    "\n"
    "first line\n"
    ".a line that starts with a dot\n"
    "..and one with two\n"
    "last line";

// CRLF throughout and a final CRLF: curl and smtplib then add only ". CRLF".
constexpr char kCrlfMessage[] =
    "From: <sender@example.test>\r\n"
    "To: <one@example.test>, <two@example.test>\r\n"
    "Subject: exact bytes\r\n"
    "\r\n"
    "Body line one.\r\n"
    ".starts with a dot\r\n"
    "\r\n"
    "trailing spaces   \r\n";

class SmtpClientsTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ScratchMailroomFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  }

  // Runs swaks with the standard envelope and kSwaksMessage plus `args`; asserts success.
  void Swaks(int port, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        "--ehlo", "swaks.test",
        "--from", "sender@example.test",
        "--to",   "rcpt@example.test",
        "--data", absl::StrCat("@", WriteTestFile("swaks.eml", kSwaksMessage))};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<ClientResult> result = RunSwaks(port, argv);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->first, 0) << result->second << mailroom_->Output();
  }

  void Curl(const std::string& url, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {url,
                                     "--mail-from",
                                     "sender@example.test",
                                     "--mail-rcpt",
                                     "one@example.test",
                                     "--mail-rcpt",
                                     "two@example.test",
                                     "--mail-rcpt",
                                     "three@example.test",
                                     "--upload-file",
                                     WriteTestFile("curl.eml", kCrlfMessage)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<ClientResult> result = RunCurl(argv);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->first, 0) << result->second << mailroom_->Output();
  }

  void Python(const std::vector<std::string>& args) {
    absl::StatusOr<ClientResult> result = RunPythonClient("smtplib_client.py", args);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->first, 0) << result->second << mailroom_->Output();
  }
};

// Transcript lines keep the client's spelling: smtplib writes "ehlo" and "mail FROM:".
MATCHER_P(EqualsIgnoringCase, expected, "") { return absl::EqualsIgnoreCase(arg, expected); }
MATCHER_P(StartsWithIgnoringCase, prefix, "") { return absl::StartsWithIgnoreCase(arg, prefix); }

// What every client session has in common, once it said QUIT.
void ExpectCleanSession(const StoredSession& session, const std::string& listener,
                        const std::string& ehlo_name) {
  EXPECT_EQ(session.listener, listener);
  EXPECT_EQ(session.outcome, "quit");
  EXPECT_EQ(session.error, std::nullopt);
  EXPECT_EQ(session.message_count, 1);
  EXPECT_EQ(session.error_reply_count, 0);
  EXPECT_THAT(session.ehlo_name, Optional(ehlo_name));
  EXPECT_THAT(session.transcript,
              Contains(absl::StrCat("S: 220 ", kSmtpHostname, " ESMTP Mailroom")));
  EXPECT_THAT(session.transcript,
              Contains(EqualsIgnoringCase(absl::StrCat("C: EHLO ", ehlo_name))));
  EXPECT_THAT(session.transcript, Contains(absl::StrCat("S: 250-", kSmtpHostname)));
  EXPECT_THAT(session.transcript,
              Contains(StartsWithIgnoringCase("C: MAIL FROM:<sender@example.test>")));
  EXPECT_THAT(session.transcript, Contains("S: 354 End data with <CR><LF>.<CR><LF>"));
  EXPECT_THAT(session.transcript, Contains(StartsWith("S: 250 2.0.0 Ok: queued as ")));
  EXPECT_THAT(session.transcript, Contains(EqualsIgnoringCase("C: QUIT")));
  EXPECT_EQ(session.transcript.back(), "S: 221 2.0.0 Bye");
}

void ExpectPlaintext(const StoredMessage& message, const StoredSession& session) {
  EXPECT_EQ(message.tls_protocol, std::nullopt);
  EXPECT_EQ(message.tls_implicit, std::nullopt);
  EXPECT_EQ(session.tls_protocol, std::nullopt);
  EXPECT_EQ(session.tls_implicit, std::nullopt);
}

void ExpectTls(const StoredMessage& message, const StoredSession& session, bool implicit) {
  EXPECT_THAT(message.tls_protocol, Optional(Eq("TLSv1.3")));
  EXPECT_THAT(message.tls_implicit, Optional(implicit));
  EXPECT_THAT(session.tls_protocol, Optional(Eq("TLSv1.3")));
  EXPECT_THAT(session.tls_implicit, Optional(implicit));
  if (!implicit) {
    EXPECT_THAT(session.transcript, Contains(StartsWith("I: TLS established: TLSv1.3 ")));
    EXPECT_THAT(session.transcript, Contains("C: STARTTLS"));
    EXPECT_THAT(session.transcript, Contains("S: 220 2.0.0 Ready to start TLS"));
  }
}

TEST_F(SmtpClientsTest, SwaksPlain) {
  ASSERT_NO_FATAL_FAILURE(Swaks(smtp_port_, {}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, WithCrlf(kSwaksMessage) + "\r\n");
  EXPECT_EQ(message.size_bytes, static_cast<int64_t>(message.raw.size()));
  EXPECT_EQ(message.envelope_from, "sender@example.test");
  EXPECT_THAT(message.recipients, ElementsAre("rcpt@example.test"));
  EXPECT_THAT(message.mailboxes, ElementsAre("default"));
  EXPECT_THAT(message.subject, Optional(Eq("through swaks")));
  EXPECT_THAT(message.ehlo_name, Optional(Eq("swaks.test")));
  EXPECT_FALSE(message.has_attachments);
  EXPECT_EQ(message.auth_user, std::nullopt);
  EXPECT_EQ(message.auth_mechanism, std::nullopt);

  const StoredSession session = OnlySession();
  EXPECT_EQ(session.id, message.session_id);
  ExpectCleanSession(session, "smtp", "swaks.test");
  ExpectPlaintext(message, session);
  EXPECT_THAT(session.transcript, Contains("C: RCPT TO:<rcpt@example.test>"));
  EXPECT_THAT(session.transcript, Contains("S: 250 2.1.5 Recipient ok"));
  EXPECT_THAT(session.transcript, Contains("S: 250 STARTTLS"));  // the last EHLO line
  // AUTH is not offered before TLS on this listener.
  EXPECT_THAT(session.transcript, Not(Contains(HasSubstr("AUTH"))));
}

TEST_F(SmtpClientsTest, SwaksStartTls) {
  ASSERT_NO_FATAL_FAILURE(Swaks(smtp_port_, {"-tls"}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, WithCrlf(kSwaksMessage) + "\r\n");
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtp", "swaks.test");
  ExpectTls(message, session, /*implicit=*/false);
}

TEST_F(SmtpClientsTest, SwaksImplicitTls) {
  ASSERT_NO_FATAL_FAILURE(Swaks(smtps_port_, {"--tls-on-connect"}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, WithCrlf(kSwaksMessage) + "\r\n");
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtps", "swaks.test");
  ExpectTls(message, session, /*implicit=*/true);
  EXPECT_THAT(session.transcript, Not(Contains("C: STARTTLS")));
}

TEST_F(SmtpClientsTest, SwaksPipelining) {
  absl::StatusOr<ClientResult> result =
      RunSwaks(smtp_port_, {"--pipeline", "--ehlo", "swaks.test", "--from", "sender@example.test",
                            "--to", "a@example.test,b@example.test,c@example.test", "--data",
                            absl::StrCat("@", WriteTestFile("pipelined.eml", kSwaksMessage))});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->first, 0) << result->second;
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, WithCrlf(kSwaksMessage) + "\r\n");
  EXPECT_THAT(message.recipients,
              ElementsAre("a@example.test", "b@example.test", "c@example.test"));
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtp", "swaks.test");
  EXPECT_THAT(session.transcript, Contains("S: 250-PIPELINING"));
}

TEST_F(SmtpClientsTest, SwaksAttachment) {
  const std::string attachment = WriteTestFile("report.csv", "id,value\n1,42\n");
  absl::StatusOr<ClientResult> result = RunSwaks(
      smtp_port_, {"--ehlo", "swaks.test", "--from", "sender@example.test", "--to",
                   "rcpt@example.test", "--header", "Subject: with attachment", "--attach-type",
                   "text/csv", "--attach", absl::StrCat("@", attachment)});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->first, 0) << result->second;
  const StoredMessage message = OnlyMessage();
  EXPECT_TRUE(message.has_attachments) << message.raw;
  EXPECT_THAT(message.subject, Optional(Eq("with attachment")));
  EXPECT_THAT(message.raw, HasSubstr("multipart/mixed"));
  EXPECT_THAT(message.raw, HasSubstr(absl::Base64Escape("id,value\n1,42\n")));
  ExpectCleanSession(OnlySession(), "smtp", "swaks.test");
}

struct AuthCase {
  const char* mechanism;
  bool implicit_tls;
};

// Keeps test names and CTest listings readable.
void PrintTo(const AuthCase& param, std::ostream* out) {
  *out << param.mechanism << (param.implicit_tls ? " on implicit TLS" : " after STARTTLS");
}

class SwaksAuthTest : public SmtpClientsTest, public ::testing::WithParamInterface<AuthCase> {};

TEST_P(SwaksAuthTest, AuthenticatesAndNeverRecordsThePassword) {
  const AuthCase& param = GetParam();
  const std::string user = "alice@example.test";
  const std::string password = absl::StrCat("Pa55-never-recorded-", param.mechanism);
  ASSERT_NO_FATAL_FAILURE(
      Swaks(param.implicit_tls ? smtps_port_ : smtp_port_,
            {param.implicit_tls ? "--tls-on-connect" : "-tls", "--auth", param.mechanism,
             "--auth-user", user, "--auth-password", password}));

  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, WithCrlf(kSwaksMessage) + "\r\n");
  EXPECT_THAT(message.auth_user, Optional(user));
  EXPECT_THAT(message.auth_mechanism, Optional(Eq(param.mechanism)));

  const StoredSession session = OnlySession();
  ExpectCleanSession(session, param.implicit_tls ? "smtps" : "smtp", "swaks.test");
  ExpectTls(message, session, param.implicit_tls);
  EXPECT_THAT(session.auth_user, Optional(user));
  EXPECT_THAT(session.auth_mechanism, Optional(Eq(param.mechanism)));
  EXPECT_THAT(session.transcript, Contains("S: 250 AUTH PLAIN LOGIN CRAM-MD5"));
  EXPECT_THAT(session.transcript, Contains(StartsWith(absl::StrCat("C: AUTH ", param.mechanism))));
  EXPECT_THAT(session.transcript, Contains("S: 235 2.7.0 Authentication successful"));
  // Neither the password nor any encoding of it a client puts on the wire.
  for (const std::string& secret :
       {password, absl::Base64Escape(password),
        absl::Base64Escape(
            absl::StrCat(std::string(1, '\0'), user, std::string(1, '\0'), password))}) {
    EXPECT_THAT(session.transcript_json, Not(HasSubstr(secret)));
  }
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, SwaksAuthTest,
                         ::testing::Values(AuthCase{"PLAIN", false}, AuthCase{"LOGIN", false},
                                           AuthCase{"CRAM-MD5", false}, AuthCase{"PLAIN", true},
                                           AuthCase{"LOGIN", true}, AuthCase{"CRAM-MD5", true}),
                         [](const ::testing::TestParamInfo<AuthCase>& info) {
                           std::string name = info.param.mechanism;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return absl::StrCat(name,
                                               info.param.implicit_tls ? "Implicit" : "StartTls");
                         });

TEST_F(SmtpClientsTest, CurlStartTls) {
  ASSERT_NO_FATAL_FAILURE(
      Curl(absl::StrCat("smtp://127.0.0.1:", smtp_port_, "/curl.test"), {"--ssl-reqd", "-k"}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, kCrlfMessage);
  EXPECT_EQ(message.envelope_from, "sender@example.test");
  EXPECT_THAT(message.recipients,
              ElementsAre("one@example.test", "two@example.test", "three@example.test"));
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtp", "curl.test");
  ExpectTls(message, session, /*implicit=*/false);
}

TEST_F(SmtpClientsTest, CurlImplicitTls) {
  ASSERT_NO_FATAL_FAILURE(
      Curl(absl::StrCat("smtps://127.0.0.1:", smtps_port_, "/curl.test"), {"-k"}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, kCrlfMessage);
  EXPECT_THAT(message.recipients,
              ElementsAre("one@example.test", "two@example.test", "three@example.test"));
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtps", "curl.test");
  ExpectTls(message, session, /*implicit=*/true);
}

std::vector<std::string> PythonArgs(int port, const char* mode, const std::string& file) {
  return {"--port",   absl::StrCat(port),    "--mode",    mode,
          "--sender", "sender@example.test", "--rcpt",    "one@example.test",
          "--rcpt",   "two@example.test",    "--message", file};
}

TEST_F(SmtpClientsTest, PythonPlain) {
  ASSERT_NO_FATAL_FAILURE(
      Python(PythonArgs(smtp_port_, "plain", WriteTestFile("py.eml", kCrlfMessage))));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, kCrlfMessage);
  EXPECT_THAT(message.recipients, ElementsAre("one@example.test", "two@example.test"));
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtp", "python.test");
  ExpectPlaintext(message, session);
}

// The group-commit writer's figures on /metrics: one message is one transaction of one
// message, its session record follows, and nothing is left queued.
TEST_F(SmtpClientsTest, CaptureTransactionsAreCountedInTheMetrics) {
  ASSERT_NO_FATAL_FAILURE(
      Python(PythonArgs(smtp_port_, "plain", WriteTestFile("py.eml", kCrlfMessage))));
  (void)OnlySession();  // written after the session ends
  EXPECT_TRUE(WaitForMetrics(
      {"mailroom_ingest_batch_messages_bucket{le=\"1\"} 1\n",
       "mailroom_ingest_batch_messages_bucket{le=\"+Inf\"} 1\n",
       "mailroom_ingest_batch_messages_sum 1\n", "mailroom_ingest_batch_messages_count 1\n",
       "mailroom_ingest_sessions_total{result=\"committed\"} 1\n",
       "mailroom_ingest_sessions_total{result=\"failed\"} 0\n",
       "mailroom_ingest_transactions_total{result=\"failed\"} 0\n",
       "mailroom_ingest_queued_messages 0\n", "mailroom_ingest_queued_bytes 0\n",
       "mailroom_ingest_queued_sessions 0\n",
       "mailroom_smtp_messages_total{result=\"stored\"} 1\n"}))
      << ScrapeMetrics();
}

TEST_F(SmtpClientsTest, PythonSmtpSsl) {
  ASSERT_NO_FATAL_FAILURE(
      Python(PythonArgs(smtps_port_, "ssl", WriteTestFile("py.eml", kCrlfMessage))));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, kCrlfMessage);
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtps", "python.test");
  ExpectTls(message, session, /*implicit=*/true);
}

TEST_F(SmtpClientsTest, PythonStartTlsWithLogin) {
  std::vector<std::string> args =
      PythonArgs(smtp_port_, "starttls", WriteTestFile("py.eml", kCrlfMessage));
  args.insert(args.end(), {"--login", "bob", "hunter2-secret"});
  ASSERT_NO_FATAL_FAILURE(Python(args));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, kCrlfMessage);
  EXPECT_THAT(message.auth_user, Optional(Eq("bob")));
  const StoredSession session = OnlySession();
  ExpectCleanSession(session, "smtp", "python.test");
  ExpectTls(message, session, /*implicit=*/false);
  EXPECT_THAT(session.auth_user, Optional(Eq("bob")));
  EXPECT_THAT(session.transcript_json, Not(HasSubstr("hunter2-secret")));
}

TEST_F(SmtpClientsTest, PythonSmtpUtf8AndEightBitContent) {
  // A UTF-8 local part and 8-bit UTF-8 in headers and body, sent as bytes.
  const std::string sender = "j\xC3\xB6rg@example.test";             // jörg
  const std::string rcpt = "\xE7\x94\xA8\xE6\x88\xB7@example.test";  // 用户
  const std::string raw = absl::StrCat("From: ", sender, "\r\nTo: ", rcpt,
                                       "\r\nSubject: gr\xC3\xBC\xC3\x9F"
                                       "e\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                       "Content-Transfer-Encoding: 8bit\r\n\r\n"
                                       "\xE2\x82\xAC 100, na\xC3\xAF"
                                       "ve caf\xC3\xA9\r\n");
  ASSERT_NO_FATAL_FAILURE(Python({"--port", absl::StrCat(smtp_port_), "--sender", sender, "--rcpt",
                                  rcpt, "--message", WriteTestFile("utf8.eml", raw),
                                  "--mail-option", "SMTPUTF8", "--mail-option", "BODY=8BITMIME"}));
  const StoredMessage message = OnlyMessage();
  EXPECT_EQ(message.raw, raw);
  EXPECT_EQ(message.envelope_from, sender);
  EXPECT_THAT(message.recipients, ElementsAre(rcpt));
  EXPECT_THAT(message.subject, Optional(Eq("gr\xC3\xBC\xC3\x9F"
                                           "e")));
  EXPECT_THAT(message.mail_parameters, HasSubstr("SMTPUTF8"));
  EXPECT_THAT(message.mail_parameters, HasSubstr("8BITMIME"));
  const StoredSession session = OnlySession();
  EXPECT_EQ(session.outcome, "quit");
  EXPECT_THAT(session.transcript,
              Contains(StartsWithIgnoringCase(absl::StrCat("C: MAIL FROM:<", sender, "> "))));
  EXPECT_THAT(session.transcript,
              Contains(EqualsIgnoringCase(absl::StrCat("C: RCPT TO:<", rcpt, ">"))));
}

}  // namespace
}  // namespace mailroom::testing
