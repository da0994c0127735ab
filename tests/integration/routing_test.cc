// Routing end to end: mailboxes and users created with SQL (before the binary starts, so the
// first snapshot has them), mail sent by swaks on the STARTTLS and implicit-TLS listeners,
// and what PostgreSQL holds afterwards: one message row linked to each routed mailbox, the
// decisions in messages.routing and in GetMessage, and the routing lines of the transcript.
//
// The combinations of issue 5: allow_any_credentials on/off × deliver_to_user_mailbox on/off
// × configured user with a default mailbox / without one / whose default mailbox was
// deleted before start or while running / not configured at all, on the STARTTLS and the
// implicit-TLS listener. (With credentials checked, an unconfigured user cannot
// authenticate: its AUTH gets 535 and nothing is stored.)

#include <grpcpp/grpcpp.h>

#include <iostream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "server/password_hash.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/smtp_clients.h"

namespace mailroom::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr char kMessage[] =
    "From: <sender@example.test>\n"
    "To: <team@example.test>\n"
    "Subject: routed\n"
    "X-Environment: staging\n"
    "\n"
    "body\n";

// The recipients every test sends to: one for `qa`, one for `dev`, one for nothing.
constexpr char kQa[] = "a@qa.example.com";
constexpr char kDev[] = "b@dev.example.com";
constexpr char kOther[] = "c@other.example.com";

class RoutingTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    // The schema first, so that the rows below exist when the binary loads its first table.
    absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> pool =
        storage::ConnectionPool::Create({.url = database_url(), .size = 1});
    ASSERT_TRUE(pool.ok()) << pool.status();
    ASSERT_TRUE(storage::Migrate(**pool).ok());
  }

  void Sql(const std::string& sql) {
    pqxx::connection conn(database_url());
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }

  std::string Query(const std::string& sql) {
    pqxx::connection conn(database_url());
    pqxx::nontransaction txn(conn);
    pqxx::result rows = txn.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

  void CreateMailbox(const std::string& name, int position, const std::string& rules_json) {
    Sql(absl::StrCat(
        "INSERT INTO mailboxes (id, name, position, rules) VALUES (gen_random_uuid(), '", name,
        "', ", position, ", '", rules_json, "')"));
  }

  // `mailbox` empty: no default mailbox.
  // The user's password is "pw", stored as the API stores it, so that AUTH succeeds also
  // when credentials are checked.
  void CreateUser(const std::string& username, const std::string& mailbox) {
    absl::StatusOr<std::string> hash = server::HashPassword("pw");
    ASSERT_TRUE(hash.ok()) << hash.status();
    Sql(absl::StrCat(
        "INSERT INTO users (id, username, default_mailbox_id, password_hash, cram_md5_verifier) "
        "VALUES (gen_random_uuid(), '",
        username, "', ",
        mailbox.empty() ? "NULL"
                        : absl::StrCat("(SELECT id FROM mailboxes WHERE name = '", mailbox, "')"),
        ", '", *hash, "', decode('", absl::BytesToHexString(server::CramMd5Verifier("pw")),
        "', 'hex'))"));
  }

  // qa (position 1): rule 1 recipient glob *@qa.example.com.
  // dev (position 2): rule 1 an exact address nobody uses, rule 2 domain dev.example.com.
  void CreateTeamMailboxes() {
    CreateMailbox("qa", 1, R"([{"recipient": {"glob": "*@qa.example.com"}}])");
    CreateMailbox("dev", 2,
                  R"([{"recipient": {"exact": "nobody@dev.example.com"}},
                      {"recipient": {"domain": "dev.example.com"}, "description": "dev team"}])");
  }

  // Sends kMessage to `recipients` with swaks on `port`, authenticating as `user` (none when
  // empty) over TLS (implicit when `implicit_tls`, else STARTTLS).
  // `accepted`: whether the client is expected to succeed (false: AUTH is refused).
  void Send(int port, bool implicit_tls, const std::string& user,
            const std::vector<std::string>& recipients, bool accepted = true) {
    std::vector<std::string> argv = {
        "--ehlo",
        "swaks.test",
        "--from",
        "sender@example.test",
        "--to",
        absl::StrJoin(recipients, ","),
        "--data",
        absl::StrCat("@", WriteTestFile(absl::StrCat("m", sent_++, ".eml"), kMessage)),
        implicit_tls ? "--tls-on-connect" : "-tls"};
    if (!user.empty()) {
      argv.insert(argv.end(), {"--auth", "PLAIN", "--auth-user", user, "--auth-password", "pw"});
    }
    absl::StatusOr<ClientResult> result = RunSwaks(port, argv);
    ASSERT_TRUE(result.ok()) << result.status();
    if (!accepted) {
      ASSERT_NE(result->first, 0) << result->second;
      ASSERT_THAT(result->second, ::testing::HasSubstr("535 5.7.8"));
      return;
    }
    ASSERT_EQ(result->first, 0) << result->second << mailroom_->Output();
  }

  // The routing column of the newest message, as "mailbox/REASON/rule" per recipient.
  std::vector<std::string> NewestDecisions() {
    pqxx::connection conn(database_url());
    pqxx::nontransaction txn(conn);
    pqxx::result rows = txn.exec(R"sql(
      SELECT d->>'mailbox', d->>'reason', coalesce(d->>'rule_number', '0'), d->>'recipient'
        FROM (SELECT routing FROM messages ORDER BY received_at DESC, id DESC LIMIT 1) m,
             jsonb_array_elements(m.routing) d)sql");
    std::vector<std::string> out;
    for (const pqxx::row& row : rows) {
      out.push_back(absl::StrCat(row[3].as<std::string>(), "->", row[0].as<std::string>(), "/",
                                 row[1].as<std::string>(), "/", row[2].as<std::string>()));
    }
    return out;
  }

  std::vector<std::string> NewestMailboxes() {
    absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
    if (!messages.ok() || messages->empty()) {
      ADD_FAILURE() << "no message";
      return {};
    }
    return messages->back().mailboxes;
  }

  int sent_ = 0;
};

TEST_F(RoutingTest, MessageToTwoMailboxesIsStoredOnceAndExplained) {
  CreateTeamMailboxes();
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  ASSERT_NO_FATAL_FAILURE(Send(smtp_port_, false, "", {kQa, kDev, "z@qa.example.com"}));

  const StoredMessage message = OnlyMessage();
  EXPECT_THAT(message.mailboxes, UnorderedElementsAre("dev", "qa"));
  EXPECT_EQ(Query("SELECT count(*) FROM message_mailboxes"), "2");
  EXPECT_THAT(NewestDecisions(), ElementsAre("a@qa.example.com->qa/REASON_RULE/1",
                                             "b@dev.example.com->dev/REASON_RULE/2",
                                             "z@qa.example.com->qa/REASON_RULE/1"));

  // GetMessage shows the same decisions, with their explanations.
  auto stub = v1::MessageService::NewStub(
      grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::GetMessageRequest request;
  request.set_id(message.id);
  v1::GetMessageResponse response;
  const grpc::Status status = stub->GetMessage(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.message().routing_size(), 3);
  const v1::RoutingDecision& first = response.message().routing(0);
  EXPECT_EQ(first.recipient(), kQa);
  EXPECT_EQ(first.mailbox(), "qa");
  EXPECT_EQ(first.reason(), v1::RoutingDecision::REASON_RULE);
  EXPECT_EQ(first.rule_number(), 1);
  EXPECT_EQ(first.explanation(), "routed to `qa` by rule 1: recipient glob `*@qa.example.com`");
  EXPECT_EQ(response.message().routing(1).explanation(),
            "routed to `dev` by rule 2: recipient domain `dev.example.com`");

  // The transcript says the same, one line per recipient.
  const StoredSession session = OnlySession();
  EXPECT_THAT(session.transcript,
              Contains("I: recipient a@qa.example.com routed to `qa` by rule 1: recipient glob "
                       "`*@qa.example.com`"));
  EXPECT_THAT(session.transcript,
              Contains("I: recipient b@dev.example.com routed to `dev` by rule 2: recipient "
                       "domain `dev.example.com`"));
  EXPECT_THAT(session.transcript,
              Contains("I: recipient z@qa.example.com routed to `qa` by rule 1: recipient glob "
                       "`*@qa.example.com`"));
}

TEST_F(RoutingTest, UnmatchedAndBrokenRulesFallBackToDefault) {
  // A rule that no longer compiles (written behind the API's back) is skipped, not fatal.
  CreateMailbox("broken", 0, R"([{"recipient": {"regex": "(abc"}}, {"nonsense": true}])");
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  ASSERT_NO_FATAL_FAILURE(Send(smtp_port_, false, "", {kOther}));
  EXPECT_THAT(OnlyMessage().mailboxes, ElementsAre("default"));
  EXPECT_THAT(NewestDecisions(), ElementsAre("c@other.example.com->default/REASON_FALLBACK/0"));
  EXPECT_THAT(OnlySession().transcript,
              Contains("I: recipient c@other.example.com routed to `default`: no rule matched"));
  EXPECT_TRUE(mailroom_->WaitForOutput("routing rule skipped", absl::Seconds(1)))
      << mailroom_->Output();
}

TEST_F(RoutingTest, ChangedRulesApplyWithoutRestart) {
  CreateTeamMailboxes();
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  ASSERT_NO_FATAL_FAILURE(Send(smtp_port_, false, "", {"x@late.example.com"}));
  EXPECT_THAT(NewestMailboxes(), ElementsAre("default"));

  // Another replica (here: SQL) gives `qa` a second rule. The cache polls every 500 ms;
  // mail sent from then on lands in `qa` (rule 2) once the change is seen.
  const absl::Time changed = absl::Now();
  Sql(R"(UPDATE mailboxes SET updated_at = now(), rules = rules ||
         '[{"recipient": {"domain": "late.example.com"}}]' WHERE name = 'qa')");
  std::vector<std::string> mailboxes;
  for (int attempt = 0; attempt < 40; ++attempt) {
    ASSERT_NO_FATAL_FAILURE(Send(smtp_port_, false, "", {"x@late.example.com"}));
    mailboxes = NewestMailboxes();
    if (mailboxes == std::vector<std::string>{"qa"}) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(mailboxes, ElementsAre("qa"));
  EXPECT_THAT(NewestDecisions(), ElementsAre("x@late.example.com->qa/REASON_RULE/2"));
  // Not asserted (no timed assertions); shown for whoever reads the log.
  std::cout << "rule change applied after " << absl::FormatDuration(absl::Now() - changed)
            << " (including the sends)\n";

  // A deleted mailbox stops receiving too.
  Sql("DELETE FROM mailboxes WHERE name = 'dev'");
  for (int attempt = 0; attempt < 40; ++attempt) {
    ASSERT_NO_FATAL_FAILURE(Send(smtp_port_, false, "", {kDev}));
    mailboxes = NewestMailboxes();
    if (mailboxes == std::vector<std::string>{"default"}) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(mailboxes, ElementsAre("default"));
}

// allow_any_credentials × deliver_to_user_mailbox × listener.
struct Combination {
  bool allow_any_credentials;
  bool deliver_to_user_mailbox;
  bool implicit_tls;
};

class UserMailboxRoutingTest : public RoutingTest,
                               public ::testing::WithParamInterface<Combination> {
 protected:
  void SetUp() override {
    RoutingTest::SetUp();
    if (HasFatalFailure()) return;
    CreateTeamMailboxes();
    CreateMailbox("alice-box", 3, "[]");
    CreateMailbox("dave-box", 4, "[]");
    CreateUser("alice", "alice-box");  // configured, with a default mailbox
    CreateUser("bob", "");             // configured, without one
    CreateUser("dave", "dave-box");    // configured, and then its mailbox is deleted
    Sql("DELETE FROM mailboxes WHERE name = 'dave-box'");
    ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady(
        {"--set",
         absl::StrCat("smtp.auth.allow_any_credentials=",
                      GetParam().allow_any_credentials ? "true" : "false"),
         "--set",
         absl::StrCat("smtp.auth.deliver_to_user_mailbox=",
                      GetParam().deliver_to_user_mailbox ? "true" : "false")}));
  }

  void SendAs(const std::string& user) {
    const bool implicit = GetParam().implicit_tls;
    Send(implicit ? smtps_port_ : smtp_port_, implicit, user, {kQa, kDev, kOther});
  }

  const std::vector<std::string> by_rules_ = {"a@qa.example.com->qa/REASON_RULE/1",
                                              "b@dev.example.com->dev/REASON_RULE/2",
                                              "c@other.example.com->default/REASON_FALLBACK/0"};
};

TEST_P(UserMailboxRoutingTest, ConfiguredUserWithDefaultMailbox) {
  ASSERT_NO_FATAL_FAILURE(SendAs("alice"));
  if (GetParam().deliver_to_user_mailbox) {
    EXPECT_THAT(NewestMailboxes(), ElementsAre("alice-box"));
    EXPECT_THAT(NewestDecisions(),
                ElementsAre("a@qa.example.com->alice-box/REASON_USER_DEFAULT_MAILBOX/0",
                            "b@dev.example.com->alice-box/REASON_USER_DEFAULT_MAILBOX/0",
                            "c@other.example.com->alice-box/REASON_USER_DEFAULT_MAILBOX/0"));
    EXPECT_THAT(OnlySession().transcript,
                Contains("I: recipient a@qa.example.com routed to `alice-box`: the default "
                         "mailbox of user `alice`"));
  } else {
    EXPECT_THAT(NewestMailboxes(), UnorderedElementsAre("default", "dev", "qa"));
    EXPECT_EQ(NewestDecisions(), by_rules_);
  }
  EXPECT_EQ(Query("SELECT count(*) FROM messages"), "1");
}

TEST_P(UserMailboxRoutingTest, ConfiguredUserWithoutDefaultMailbox) {
  ASSERT_NO_FATAL_FAILURE(SendAs("bob"));
  EXPECT_THAT(NewestMailboxes(), UnorderedElementsAre("default", "dev", "qa"));
  EXPECT_EQ(NewestDecisions(), by_rules_);
}

TEST_P(UserMailboxRoutingTest, UserWhoseDefaultMailboxWasDeleted) {
  ASSERT_NO_FATAL_FAILURE(SendAs("dave"));
  EXPECT_THAT(NewestMailboxes(), UnorderedElementsAre("default", "dev", "qa"));
  EXPECT_EQ(NewestDecisions(), by_rules_);
}

TEST_P(UserMailboxRoutingTest, UnconfiguredUserNeverBreaksDelivery) {
  if (!GetParam().allow_any_credentials) {
    // Credentials are checked: an unconfigured user cannot authenticate, and nothing is
    // stored; the same client without AUTH is routed by the rules.
    const bool implicit = GetParam().implicit_tls;
    ASSERT_NO_FATAL_FAILURE(Send(implicit ? smtps_port_ : smtp_port_, implicit, "mallory",
                                 {kQa, kDev, kOther}, /*accepted=*/false));
    EXPECT_EQ(Query("SELECT count(*) FROM messages"), "0");
    ASSERT_NO_FATAL_FAILURE(SendAs(""));
    EXPECT_THAT(NewestMailboxes(), UnorderedElementsAre("default", "dev", "qa"));
    EXPECT_EQ(NewestDecisions(), by_rules_);
    return;
  }
  ASSERT_NO_FATAL_FAILURE(SendAs("mallory"));
  EXPECT_THAT(NewestMailboxes(), UnorderedElementsAre("default", "dev", "qa"));
  EXPECT_EQ(NewestDecisions(), by_rules_);
  // Only recipients the rules do not match go to `default`.
  ASSERT_NO_FATAL_FAILURE(Send(GetParam().implicit_tls ? smtps_port_ : smtp_port_,
                               GetParam().implicit_tls, "mallory", {kOther}));
  EXPECT_THAT(NewestMailboxes(), ElementsAre("default"));
}

TEST_P(UserMailboxRoutingTest, DefaultMailboxDeletedWhileRunning) {
  // alice's mailbox goes away after the binary loaded it: her mail then goes where the
  // rules send it, both before the cache has seen the change (the insert fails on the
  // foreign key and the message is refiled in `default`) and after (routed by rules).
  Sql("DELETE FROM mailboxes WHERE name = 'alice-box'");
  ASSERT_NO_FATAL_FAILURE(SendAs("alice"));
  const std::vector<std::string> mailboxes = NewestMailboxes();
  EXPECT_FALSE(mailboxes.empty());
  EXPECT_THAT(mailboxes, ::testing::Not(Contains("alice-box")));
  EXPECT_EQ(Query("SELECT count(*) FROM messages"), "1");
}

INSTANTIATE_TEST_SUITE_P(
    Credentials, UserMailboxRoutingTest,
    ::testing::Values(Combination{true, false, false}, Combination{true, false, true},
                      Combination{true, true, false}, Combination{true, true, true},
                      Combination{false, false, false}, Combination{false, false, true},
                      Combination{false, true, false}, Combination{false, true, true}),
    [](const ::testing::TestParamInfo<Combination>& info) {
      return absl::StrCat(
          info.param.allow_any_credentials ? "AnyCredentials" : "CheckedCredentials",
          info.param.deliver_to_user_mailbox ? "DeliverOn" : "DeliverOff",
          info.param.implicit_tls ? "Port465" : "Port587Starttls");
    });

}  // namespace
}  // namespace mailroom::testing
