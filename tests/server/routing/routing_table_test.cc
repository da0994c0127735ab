#include "server/routing/routing_table.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/routing/decision_json.h"
#include "server/routing/snapshot_table.h"
#include "storage/schema.h"

namespace mailroom::server::routing {
namespace {

using ::mailroom::v1::RoutingDecision;
using ::mailroom::v1::RoutingRule;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kDefaultId[] = "00000000-0000-7000-8000-000000000001";

RoutingRule Rule(const std::string& text) {
  RoutingRule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rule)) << text;
  return rule;
}

MailboxRoute Mailbox(std::string id, std::string name, int position,
                     std::vector<std::string> rules) {
  MailboxRoute mailbox{.id = std::move(id), .name = std::move(name), .position = position};
  for (const std::string& rule : rules) mailbox.rules.push_back(Rule(rule));
  return mailbox;
}

MailboxRoute Default() { return Mailbox(kDefaultId, "default", 0, {}); }

MessageFacts Facts() {
  MessageFacts facts;
  facts.client_address = "192.0.2.10";
  facts.ehlo_name = "runner-3.ci.internal";
  return facts;
}

std::vector<std::string> Mailboxes(const RouteResult& result) { return result.mailbox_ids; }

struct Summary {
  std::string mailbox;
  RoutingDecision::Reason reason;
  int rule;
  friend bool operator==(const Summary&, const Summary&) = default;
  friend void PrintTo(const Summary& s, std::ostream* os) {
    *os << s.mailbox << "/" << RoutingDecision::Reason_Name(s.reason) << "/" << s.rule;
  }
};

std::vector<Summary> Decisions(const RouteResult& result) {
  std::vector<Summary> out;
  for (const RoutingDecision& d : result.decisions) {
    out.push_back({d.mailbox(), d.reason(), d.rule_number()});
  }
  return out;
}

std::shared_ptr<const RoutingTable> Table(std::vector<MailboxRoute> mailboxes,
                                          std::vector<UserRoute> users = {},
                                          bool deliver_to_user_mailbox = true) {
  mailboxes.push_back(Default());
  return RoutingTable::Build(mailboxes, users,
                             RoutingPolicy{.deliver_to_user_mailbox = deliver_to_user_mailbox});
}

TEST(RoutingTableTest, NoRulesGoesToDefault) {
  auto table = Table({});
  RouteResult result = table->Route(Facts(), {"a@example.com", "b@example.com"});
  EXPECT_THAT(Mailboxes(result), ElementsAre(kDefaultId));
  EXPECT_THAT(Decisions(result),
              ElementsAre(Summary{"default", RoutingDecision::REASON_FALLBACK, 0},
                          Summary{"default", RoutingDecision::REASON_FALLBACK, 0}));
  EXPECT_EQ(result.decisions[0].recipient(), "a@example.com");
  EXPECT_EQ(result.decisions[0].explanation(), "routed to `default`: no rule matched");
}

TEST(RoutingTableTest, DefaultOnlyBeforeAnyLoad) {
  auto table = RoutingTable::DefaultOnly({});
  RouteResult result = table->Route(Facts(), {"a@example.com"});
  EXPECT_THAT(Mailboxes(result), ElementsAre(kDefaultId));
  EXPECT_THAT(table->header_names(), IsEmpty());
}

TEST(RoutingTableTest, RecipientConditions) {
  auto table = Table({
      Mailbox("id-exact", "exact", 1, {R"pb(recipient { exact: "Boss@Example.com" })pb"}),
      Mailbox("id-domain", "domain", 2, {R"pb(recipient { domain: "STAGING.example.com" })pb"}),
      Mailbox("id-glob", "glob", 3, {R"pb(recipient { glob: "qa+*@example.com" })pb"}),
      Mailbox("id-regex", "regex", 4,
              {R"pb(recipient { regex: "build-[0-9]+@ci\\.example\\.com" })pb"}),
      Mailbox("id-iregex", "iregex", 5, {R"pb(recipient { regex: "(?i)ops@.*" })pb"}),
  });
  auto route = [&](const char* rcpt) {
    return table->Route(Facts(), {rcpt}).decisions[0].mailbox();
  };
  EXPECT_EQ(route("boss@example.COM"), "exact");
  EXPECT_EQ(route("x@staging.example.com"), "domain");
  EXPECT_EQ(route("x@sub.staging.example.com"), "default");  // subdomains do not match
  EXPECT_EQ(route("QA+7@example.com"), "glob");
  EXPECT_EQ(route("build-42@ci.example.com"), "regex");
  EXPECT_EQ(route("BUILD-42@ci.example.com"), "default");       // regex is case-sensitive
  EXPECT_EQ(route("build-42@ci.example.com.evil"), "default");  // anchored at the end
  EXPECT_EQ(route("xbuild-42@ci.example.com"), "default");      // anchored at the start
  EXPECT_EQ(route("OPS@example.com"), "iregex");
}

TEST(RoutingTableTest, AuthUserCondition) {
  auto table = Table({Mailbox("id-ci", "ci", 0, {R"pb(auth_user: "ci-*")pb"})});
  MessageFacts facts = Facts();
  EXPECT_EQ(table->Route(facts, {"a@x"}).decisions[0].mailbox(), "default");  // no AUTH
  facts.auth_user = "ci-runner";
  EXPECT_EQ(table->Route(facts, {"a@x"}).decisions[0].mailbox(), "ci");
  facts.auth_user = "CI-runner";  // case-sensitive
  EXPECT_EQ(table->Route(facts, {"a@x"}).decisions[0].mailbox(), "default");
}

TEST(RoutingTableTest, HeaderConditions) {
  auto table = Table({
      Mailbox("id-a", "a-regex", 1, {R"pb(header { name: "x-env" regex: "stag(e|ing)" })pb"}),
      Mailbox("id-b", "b-glob", 2, {R"pb(header { name: "Subject" glob: "*[ci]*" })pb"}),
      Mailbox("id-c", "c-exists", 3, {R"pb(header { name: "X-Trace" exists: true })pb"}),
      Mailbox("id-d", "d-absent", 4, {R"pb(header { name: "Message-ID" exists: false })pb"}),
  });
  EXPECT_THAT(table->header_names(), ElementsAre("message-id", "subject", "x-env", "x-trace"));
  MessageFacts facts = Facts();
  facts.headers = {{"Message-ID", "<1@x>"}};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "default");
  facts.headers = {};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "d-absent");
  facts.headers = {{"Message-ID", "<1@x>"}, {"X-TRACE", ""}};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "c-exists");
  facts.headers = {{"Message-ID", "<1@x>"}, {"subject", "Build [CI] failed"}};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "b-glob");
  // Any occurrence: the second X-Env matches.
  facts.headers = {{"Message-ID", "<1@x>"}, {"X-Env", "production"}, {"X-Env", "staging"}};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "a-regex");
  // Anchored: "pre-staging" does not match.
  facts.headers = {{"Message-ID", "<1@x>"}, {"X-Env", "pre-staging"}};
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "default");
}

TEST(RoutingTableTest, SourceConditions) {
  auto table = Table({
      Mailbox("id-net", "net", 1, {R"pb(source { client_network: "10.0.0.0/8" })pb"}),
      Mailbox("id-v6", "v6", 2, {R"pb(source { client_network: "2001:db8::/32" })pb"}),
      Mailbox("id-ehlo", "ehlo", 3, {R"pb(source { ehlo_name: "*.CI.internal" })pb"}),
  });
  MessageFacts facts = Facts();
  facts.ehlo_name = "laptop";
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "default");
  facts.client_address = "::ffff:10.2.3.4";
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "net");
  facts.client_address = "2001:db8:5::1";
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "v6");
  facts.client_address = "192.0.2.1";
  facts.ehlo_name = "runner.ci.internal";
  EXPECT_EQ(table->Route(facts, {"r@x"}).decisions[0].mailbox(), "ehlo");
}

TEST(RoutingTableTest, OrderIsPositionThenNameWithDefaultLast) {
  // The default mailbox has the lowest position but is still tried last (it has no rules,
  // and the fallback is it anyway); among equal positions the name decides.
  std::vector<MailboxRoute> mailboxes = {
      Mailbox("id-zeta", "zeta", 1, {R"pb(recipient { glob: "*" })pb"}),
      Mailbox("id-alpha", "alpha", 1, {R"pb(recipient { glob: "*" })pb"}),
      Mailbox("id-late", "late", 5, {R"pb(recipient { glob: "*" })pb"}),
      Mailbox("id-first", "first", -3, {R"pb(recipient { domain: "first.test" })pb"}),
      Mailbox(kDefaultId, "default", -100, {}),
  };
  auto table = RoutingTable::Build(mailboxes, {}, {});
  EXPECT_EQ(table->Route(Facts(), {"a@other.test"}).decisions[0].mailbox(), "alpha");
  EXPECT_EQ(table->Route(Facts(), {"a@first.test"}).decisions[0].mailbox(), "first");
}

TEST(RoutingTableTest, FirstMatchingRuleOfTheFirstMatchingMailboxIsRecorded) {
  auto table = Table({
      Mailbox("id-qa", "qa", 1,
              {R"pb(recipient { exact: "nobody@qa.example.com" })pb",
               R"pb(recipient { glob: "*@qa.example.com" })pb", R"pb(recipient {
                                                                       domain: "qa.example.com"
                                                                     })pb"}),
      Mailbox("id-all", "all", 2, {R"pb(recipient { glob: "*" })pb"}),
  });
  RouteResult result = table->Route(Facts(), {"a@qa.example.com"});
  EXPECT_THAT(Decisions(result), ElementsAre(Summary{"qa", RoutingDecision::REASON_RULE, 2}));
  EXPECT_EQ(result.decisions[0].explanation(),
            "routed to `qa` by rule 2: recipient glob `*@qa.example.com`");
}

TEST(RoutingTableTest, EachMailboxOnceInRoutingOrder) {
  auto table = Table({
      Mailbox("id-qa", "qa", 1, {R"pb(recipient { domain: "qa.test" })pb"}),
      Mailbox("id-dev", "dev", 2, {R"pb(recipient { domain: "dev.test" })pb"}),
  });
  RouteResult result =
      table->Route(Facts(), {"a@dev.test", "b@qa.test", "c@nowhere.test", "d@dev.test"});
  EXPECT_THAT(Mailboxes(result), ElementsAre("id-dev", "id-qa", kDefaultId));
  EXPECT_THAT(Decisions(result),
              ElementsAre(Summary{"dev", RoutingDecision::REASON_RULE, 1},
                          Summary{"qa", RoutingDecision::REASON_RULE, 1},
                          Summary{"default", RoutingDecision::REASON_FALLBACK, 0},
                          Summary{"dev", RoutingDecision::REASON_RULE, 1}));
}

TEST(RoutingTableTest, InvalidRulesAreSkippedAndKeepTheirNumbers) {
  MailboxRoute qa = Mailbox("id-qa", "qa", 1,
                            {R"pb(recipient { regex: "(abc" })pb", R"pb(description: "none")pb",
                             R"pb(recipient { domain: "qa.test" })pb"});
  qa.rules.insert(qa.rules.begin(), std::nullopt);  // unreadable JSON
  std::vector<std::string> skipped;
  auto table = RoutingTable::Build({qa, Default()}, {}, {}, &skipped);
  EXPECT_THAT(skipped,
              ElementsAre("mailbox `qa` rule 2: rules[1].recipient.regex: missing ): (abc",
                          "mailbox `qa` rule 3: rules[2]: exactly one condition must be set: "
                          "recipient, auth_user, header or source"));
  EXPECT_EQ(table->rule_count(), 1u);
  EXPECT_THAT(Decisions(table->Route(Facts(), {"a@qa.test"})),
              ElementsAre(Summary{"qa", RoutingDecision::REASON_RULE, 4}));
}

// The user default mailbox combinations (deliver_to_user_mailbox x configured or not x
// enabled x with or without a default mailbox x that mailbox deleted).
class UserDefaultMailboxTest : public ::testing::Test {
 protected:
  std::shared_ptr<const RoutingTable> Build(bool deliver) {
    return Table(
        {Mailbox("id-qa", "qa", 1, {R"pb(recipient { domain: "qa.test" })pb"}),
         Mailbox("id-alice", "alice-box", 2, {})},
        {UserRoute{.username = "alice", .enabled = true, .default_mailbox_id = "id-alice"},
         UserRoute{.username = "bob", .enabled = true, .default_mailbox_id = std::nullopt},
         UserRoute{.username = "carol", .enabled = false, .default_mailbox_id = "id-alice"},
         UserRoute{.username = "dave", .enabled = true, .default_mailbox_id = "id-gone"}},
        deliver);
  }
  std::vector<Summary> RouteAs(const RoutingTable& table, std::optional<std::string> user) {
    MessageFacts facts = Facts();
    facts.auth_user = std::move(user);
    return Decisions(table.Route(facts, {"x@qa.test", "y@else.test"}));
  }
  const std::vector<Summary> by_rules_ = {{"qa", RoutingDecision::REASON_RULE, 1},
                                          {"default", RoutingDecision::REASON_FALLBACK, 0}};
};

TEST_F(UserDefaultMailboxTest, ConfiguredUserWithMailboxGetsEverythingWhenOn) {
  auto table = Build(true);
  MessageFacts facts = Facts();
  facts.auth_user = "alice";
  RouteResult result = table->Route(facts, {"x@qa.test", "y@else.test"});
  EXPECT_THAT(Mailboxes(result), ElementsAre("id-alice"));
  EXPECT_THAT(Decisions(result),
              ElementsAre(Summary{"alice-box", RoutingDecision::REASON_USER_DEFAULT_MAILBOX, 0},
                          Summary{"alice-box", RoutingDecision::REASON_USER_DEFAULT_MAILBOX, 0}));
  EXPECT_EQ(result.decisions[0].explanation(),
            "routed to `alice-box`: the default mailbox of user `alice`");
}

TEST_F(UserDefaultMailboxTest, OffRoutesByRules) {
  EXPECT_EQ(RouteAs(*Build(false), "alice"), by_rules_);
}

TEST_F(UserDefaultMailboxTest, EveryOtherCaseRoutesByRules) {
  auto table = Build(true);
  EXPECT_EQ(RouteAs(*table, std::nullopt), by_rules_);  // no AUTH
  EXPECT_EQ(RouteAs(*table, "mallory"), by_rules_);     // not configured (any credentials)
  EXPECT_EQ(RouteAs(*table, "bob"), by_rules_);         // no default mailbox
  EXPECT_EQ(RouteAs(*table, "carol"), by_rules_);       // disabled
  EXPECT_EQ(RouteAs(*table, "dave"), by_rules_);        // default mailbox deleted
  EXPECT_EQ(RouteAs(*table, "Alice"), by_rules_);       // names are exact
}

TEST(SnapshotTableTest, ParsesProtobufJsonAndSkipsWhatDoesNotParse) {
  storage::RoutingSnapshot snapshot;
  snapshot.mailboxes.push_back(storage::MailboxRoutingRow{
      .id = "id-qa",
      .name = "qa",
      .position = 1,
      .rules_json = {R"({"recipient": {"nonsense": 1}})", R"({"recipient": {"glob": "*@qa.test"}})",
                     R"({"source": {"client_network": "10.0.0.0/8"}, "description": "lab"})"}});
  snapshot.mailboxes.push_back(
      storage::MailboxRoutingRow{.id = kDefaultId, .name = "default", .position = 0});
  snapshot.users.push_back(
      storage::UserRoutingRow{.username = "alice", .enabled = true, .default_mailbox_id = "id-qa"});
  std::vector<std::string> skipped;
  auto table = BuildRoutingTable(snapshot, {.deliver_to_user_mailbox = true}, &skipped);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0], ::testing::StartsWith("mailbox `qa` rule 1: not a RoutingRule: "));
  EXPECT_EQ(table->rule_count(), 2u);
  RouteResult result = table->Route(Facts(), {"a@qa.test"});
  EXPECT_THAT(Decisions(result), ElementsAre(Summary{"qa", RoutingDecision::REASON_RULE, 2}));
  MessageFacts from_lab = Facts();
  from_lab.client_address = "10.1.1.1";
  EXPECT_EQ(table->Route(from_lab, {"a@x.test"}).decisions[0].explanation(),
            "routed to `qa` by rule 3: source client_network `10.0.0.0/8`");
  from_lab.auth_user = "alice";
  EXPECT_EQ(table->Route(from_lab, {"a@x.test"}).decisions[0].reason(),
            RoutingDecision::REASON_USER_DEFAULT_MAILBOX);
}

TEST(DecisionJsonTest, RoundTripsThroughProtobufJson) {
  auto table = Table({Mailbox("id-qa", "qa", 1, {R"pb(recipient { glob: "*@qa.test" })pb"})});
  RouteResult result = table->Route(Facts(), {"a\"b@qa.test", "z@other"});
  const std::string json = DecisionsToJson(result.decisions);
  EXPECT_EQ(json, R"([{"recipient":"a\"b@qa.test","mailbox":"qa","reason":"REASON_RULE",)"
                  R"("rule_number":1,"explanation":"routed to `qa` by rule 1: recipient glob )"
                  R"(`*@qa.test`"},{"recipient":"z@other","mailbox":"default","reason":)"
                  R"("REASON_FALLBACK","explanation":"routed to `default`: no rule matched"}])");
  absl::StatusOr<std::vector<RoutingDecision>> back = DecisionsFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].SerializeAsString(), result.decisions[0].SerializeAsString());
  EXPECT_EQ((*back)[1].SerializeAsString(), result.decisions[1].SerializeAsString());
  EXPECT_THAT(DecisionsToJson({}), "[]");
  EXPECT_FALSE(DecisionsFromJson("{").ok());
}

}  // namespace
}  // namespace mailroom::server::routing
