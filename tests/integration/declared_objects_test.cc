// Users and mailboxes declared in the configuration file, end to end with the real binary:
// applied at start-up (mail routes by the declared rules, the declared user authenticates
// with allow_any_credentials off), applied again at the next start without rewriting
// anything, applied by two replicas starting together on one database without duplicates,
// and refused with the configuration key when a declaration is invalid.

#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/smtp_clients.h"

namespace mailroom::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPassword[] = "decl4red-pa55word";

constexpr char kDeclarations[] =
    "mailboxes:\n"
    "  - name: qa\n"
    "    description: mail for the QA team\n"
    "    position: 1\n"
    "    rules:\n"
    "      - recipient: {glob: \"*@qa.example.com\"}\n"
    "  - name: alerts\n"
    "    rules:\n"
    "      - header: {name: X-Alert, exists: true}\n"
    "users:\n"
    "  - username: ci-bot\n"
    "    password: decl4red-pa55word\n"
    "    default_mailbox: alerts\n";

class DeclaredObjectsTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    std::ofstream(config_path_, std::ios::app) << kDeclarations;
  }

  // Replaces the declarations appended to the fixture's config with `yaml`.
  void ReplaceDeclarations(const std::string& yaml) {
    std::ifstream in(config_path_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.erase(text.find("mailboxes:\n"));
    std::ofstream(config_path_, std::ios::trunc) << text << yaml;
  }

  std::vector<std::string> Column(const std::string& sql) {
    pqxx::connection conn(database_url());
    pqxx::nontransaction txn(conn);
    std::vector<std::string> values;
    for (const pqxx::row& row : txn.exec(sql)) {
      values.push_back(row[0].is_null() ? "" : row[0].as<std::string>());
    }
    return values;
  }

  // What start-up must not change when it applies the same declarations again.
  std::vector<std::string> Fingerprint() {
    std::vector<std::string> rows = Column(
        "SELECT name || ' ' || updated_at || ' ' || rules::text FROM mailboxes ORDER BY name");
    for (std::string& user : Column("SELECT username || ' ' || updated_at || ' ' || password_hash "
                                    "FROM users ORDER BY username")) {
      rows.push_back(std::move(user));
    }
    return rows;
  }

  // A second replica on the same database, on ports of its own.
  std::unique_ptr<ChildProcess> StartReplica() {
    std::vector<std::string> argv = {
        TestEnvironment("MAILROOM_BINARY"),
        "--config",
        config_path_,
        "--set",
        absl::StrCat("api.address=127.0.0.1:", FreePort()),
        "--set",
        "metrics.address=",
        "--set",
        absl::StrCat("smtp.listeners=[{name: smtp, port: ", FreePort(), "}]")};
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::Start(argv, {{"MAILROOM_DATABASE_URL", database_url()}});
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? *std::move(child) : nullptr;
  }
};

TEST_F(DeclaredObjectsTest, DeclaredMailboxesRouteAndDeclaredUsersAuthenticate) {
  ASSERT_NO_FATAL_FAILURE(
      StartMailroomAndWaitUntilReady({"--set", "smtp.auth.allow_any_credentials=false"}));
  EXPECT_THAT(mailroom_->Output(), HasSubstr("created=3"));
  EXPECT_THAT(Column("SELECT name FROM mailboxes ORDER BY name"),
              ElementsAre("alerts", "default", "qa"));

  // Routed by the declared recipient rule, from a client that does not authenticate.
  absl::StatusOr<ClientResult> anonymous =
      RunSwaks(smtp_port_, {"-tls", "--from", "app@example.test", "--to", "tester@qa.example.com"});
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->first, 0) << anonymous->second;
  // The declared user authenticates with the declared password; its mail goes to its default
  // mailbox.
  absl::StatusOr<ClientResult> bot =
      RunSwaks(smtps_port_,
               {"--tls-on-connect", "--from", "bot@example.test", "--to", "someone@example.test",
                "--auth", "PLAIN", "--auth-user", "ci-bot", "--auth-password", kPassword});
  ASSERT_TRUE(bot.ok()) << bot.status();
  EXPECT_EQ(bot->first, 0) << bot->second;
  absl::StatusOr<ClientResult> wrong =
      RunSwaks(smtps_port_, {"--tls-on-connect", "--to", "someone@example.test", "--auth", "PLAIN",
                             "--auth-user", "ci-bot", "--auth-password", "not-it"});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  EXPECT_THAT(wrong->second, HasSubstr("535 5.7.8"));

  EXPECT_THAT(Column("SELECT mb.name || ' ' || m.envelope_from FROM messages m "
                     "JOIN message_mailboxes l ON l.message_id = m.id "
                     "JOIN mailboxes mb ON mb.id = l.mailbox_id ORDER BY m.received_at"),
              ElementsAre("qa app@example.test", "alerts bot@example.test"));
}

TEST_F(DeclaredObjectsTest, ApplyingAgainChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  const std::vector<std::string> first = Fingerprint();
  ASSERT_EQ(first.size(), 4u);
  mailroom_->Signal(SIGTERM);
  ASSERT_EQ(mailroom_->Wait(absl::Seconds(30)), 0);

  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  EXPECT_THAT(mailroom_->Output(), HasSubstr("unchanged=3"));
  // Same rows, same update times, same salted hash: nothing was rewritten.
  EXPECT_EQ(Fingerprint(), first);
}

TEST_F(DeclaredObjectsTest, ReplicasStartingTogetherCreateEachObjectOnce) {
  // Migrations and declarations race between the two processes.
  ASSERT_NO_FATAL_FAILURE(StartMailroom());
  std::unique_ptr<ChildProcess> replica = StartReplica();
  ASSERT_NE(replica, nullptr);
  ASSERT_TRUE(mailroom_->WaitForOutput("mailroom ready", absl::Seconds(60))) << mailroom_->Output();
  ASSERT_TRUE(replica->WaitForOutput("mailroom ready", absl::Seconds(60))) << replica->Output();
  EXPECT_THAT(Column("SELECT name FROM mailboxes ORDER BY name"),
              ElementsAre("alerts", "default", "qa"));
  EXPECT_THAT(Column("SELECT username FROM users"), ElementsAre("ci-bot"));
}

TEST_F(DeclaredObjectsTest, AnInvalidDeclarationStopsStartUpNamingTheKey) {
  std::ofstream(config_path_, std::ios::app) << "  - username: ghost\n"
                                             << "    password: x\n"
                                             << "    default_mailbox: nowhere\n";
  ASSERT_NO_FATAL_FAILURE(StartMailroom());
  EXPECT_NE(mailroom_->Wait(absl::Seconds(60)), 0) << mailroom_->Output();
  EXPECT_THAT(mailroom_->Output(), HasSubstr("users[1].default_mailbox"));
  EXPECT_THAT(mailroom_->Output(), HasSubstr("nowhere"));
}

TEST_F(DeclaredObjectsTest, ABadPatternIsRefusedWithItsKey) {
  ReplaceDeclarations(
      "mailboxes:\n"
      "  - name: fine\n"
      "  - name: broken\n"
      "    rules:\n"
      "      - header: {name: X-Env, glob: staging}\n"
      "      - recipient: {regex: \"(unclosed\"}\n");
  ASSERT_NO_FATAL_FAILURE(StartMailroom());
  EXPECT_NE(mailroom_->Wait(absl::Seconds(60)), 0);
  EXPECT_THAT(mailroom_->Output(), HasSubstr("mailboxes[1].rules[1].recipient.regex: "));
}

TEST_F(DeclaredObjectsTest, ARuleWithTwoConditionsIsRefused) {
  ReplaceDeclarations(
      "mailboxes:\n"
      "  - name: both\n"
      "    rules:\n"
      "      - recipient: {domain: example.com}\n"
      "        auth_user: bot\n");
  ASSERT_NO_FATAL_FAILURE(StartMailroom());
  EXPECT_NE(mailroom_->Wait(absl::Seconds(60)), 0);
  EXPECT_THAT(mailroom_->Output(),
              HasSubstr("mailboxes[0].rules[0]: give exactly one condition (recipient, auth_user, "
                        "header or source); found recipient and auth_user"));
}

}  // namespace
}  // namespace mailroom::testing
