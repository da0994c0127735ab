// MailboxService end to end: the real binary, the C++ gRPC stub, and mail sent by Python's
// smtplib for the delete cases. Every RPC, pages, the `default` mailbox's protections, and
// bad input for each field (INVALID_ARGUMENT naming the field).

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mailroom/v1/mailbox_service.grpc.pb.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

constexpr char kDefaultId[] = "00000000-0000-7000-8000-000000000001";

class MailboxServiceTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    StartMailroomAndWaitUntilReady();
    if (HasFatalFailure()) return;
    auto channel = grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::MailboxService::NewStub(channel);
    messages_ = v1::MessageService::NewStub(channel);
  }

  grpc::Status Create(const v1::Mailbox& mailbox, v1::Mailbox* out = nullptr) {
    grpc::ClientContext context;
    v1::CreateMailboxRequest request;
    *request.mutable_mailbox() = mailbox;
    v1::CreateMailboxResponse response;
    grpc::Status status = stub_->CreateMailbox(&context, request, &response);
    if (out != nullptr) *out = response.mailbox();
    return status;
  }

  grpc::Status CreateNamed(const std::string& name, int position = 0) {
    v1::Mailbox mailbox;
    mailbox.set_name(name);
    mailbox.set_position(position);
    return Create(mailbox);
  }

  grpc::Status GetById(const std::string& id, v1::Mailbox* out = nullptr) {
    grpc::ClientContext context;
    v1::GetMailboxRequest request;
    request.set_id(id);
    v1::GetMailboxResponse response;
    grpc::Status status = stub_->GetMailbox(&context, request, &response);
    if (out != nullptr) *out = response.mailbox();
    return status;
  }

  grpc::Status GetByName(const std::string& name, v1::Mailbox* out = nullptr) {
    grpc::ClientContext context;
    v1::GetMailboxRequest request;
    request.set_name(name);
    v1::GetMailboxResponse response;
    grpc::Status status = stub_->GetMailbox(&context, request, &response);
    if (out != nullptr) *out = response.mailbox();
    return status;
  }

  grpc::Status Update(const v1::Mailbox& mailbox, const std::vector<std::string>& paths,
                      v1::Mailbox* out = nullptr) {
    grpc::ClientContext context;
    v1::UpdateMailboxRequest request;
    *request.mutable_mailbox() = mailbox;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    v1::UpdateMailboxResponse response;
    grpc::Status status = stub_->UpdateMailbox(&context, request, &response);
    if (out != nullptr) *out = response.mailbox();
    return status;
  }

  grpc::Status DeleteByName(const std::string& name, bool force) {
    grpc::ClientContext context;
    v1::DeleteMailboxRequest request;
    request.set_name(name);
    request.set_force(force);
    v1::DeleteMailboxResponse response;
    return stub_->DeleteMailbox(&context, request, &response);
  }

  grpc::Status DeleteById(const std::string& id, bool force) {
    grpc::ClientContext context;
    v1::DeleteMailboxRequest request;
    request.set_id(id);
    request.set_force(force);
    v1::DeleteMailboxResponse response;
    return stub_->DeleteMailbox(&context, request, &response);
  }

  grpc::Status List(int page_size, const std::string& token, v1::ListMailboxesResponse* out) {
    grpc::ClientContext context;
    v1::ListMailboxesRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    return stub_->ListMailboxes(&context, request, out);
  }

  // Every mailbox name, walking the pages of `page_size`.
  std::vector<std::string> ListAllNames(int page_size) {
    std::vector<std::string> names;
    std::string token;
    do {
      v1::ListMailboxesResponse response;
      grpc::Status status = List(page_size, token, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.mailboxes_size(), page_size);
      for (const v1::Mailbox& m : response.mailboxes()) names.push_back(m.name());
      token = response.next_page_token();
    } while (!token.empty());
    return names;
  }

  // Sends one message with smtplib to `to` (plain SMTP, no AUTH).
  void Send(const std::string& subject, const std::string& to) {
    const std::string path =
        absl::StrCat(::testing::TempDir(), "mailbox-", smtp_port_, "-", sent_++, ".eml");
    std::ofstream(path, std::ios::binary) << "From: sender@example.com\r\nTo: " << to
                                          << "\r\nSubject: " << subject << "\r\n\r\nHello.\r\n";
    const std::string command = absl::StrCat(
        "/usr/bin/python3 -c 'import smtplib,sys; s=smtplib.SMTP(\"127.0.0.1\",int(sys.argv[1]),"
        " timeout=120); s.sendmail(\"sender@example.com\",[sys.argv[2]],"
        "open(sys.argv[3],\"rb\").read()); s.quit()' ",
        smtp_port_, " ", to, " ", path);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // Runs SQL on the binary's database; returns the first column of the first row, if any.
  std::string Sql(const std::string& sql) {
    pqxx::connection conn(database_url());
    pqxx::work txn(conn);
    const pqxx::result rows = txn.exec(sql);
    txn.commit();
    if (rows.empty() || rows[0].empty() || rows[0][0].is_null()) return "";
    return rows[0][0].as<std::string>();
  }

  std::unique_ptr<v1::MailboxService::Stub> stub_;
  std::unique_ptr<v1::MessageService::Stub> messages_;
  int sent_ = 0;
};

// Expects INVALID_ARGUMENT whose message starts with `field` and ": ".
::testing::AssertionResult InvalidField(const grpc::Status& status, const std::string& field) {
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return ::testing::AssertionFailure()
           << "code " << status.error_code() << " (" << status.error_message()
           << "), expected INVALID_ARGUMENT for " << field;
  }
  if (!absl::StartsWith(status.error_message(), absl::StrCat(field, ": "))) {
    return ::testing::AssertionFailure()
           << "message `" << status.error_message() << "` does not start with " << field;
  }
  return ::testing::AssertionSuccess();
}

v1::Mailbox QaMailbox() {
  v1::Mailbox mailbox;
  mailbox.set_id("ignored");
  mailbox.set_name("qa");
  mailbox.set_description("QA team");
  mailbox.set_position(-2);
  mailbox.set_max_messages(250);
  mailbox.set_message_count(99);  // output only: ignored
  v1::RoutingRule* glob = mailbox.add_rules();
  glob->mutable_recipient()->set_glob("*@qa.example.com");
  glob->set_description("QA environment");
  mailbox.add_rules()->mutable_recipient()->set_regex("(?i)build-[0-9]+@ci\\.example\\.com");
  mailbox.add_rules()->set_auth_user("ci-*");
  v1::RoutingRule* absent = mailbox.add_rules();
  absent->mutable_header()->set_name("X-Environment");
  absent->mutable_header()->set_exists(false);
  mailbox.add_rules()->mutable_source()->set_client_network("10.0.0.0/8");
  mailbox.add_rules()->mutable_source()->set_ehlo_name("*.ci.internal");
  return mailbox;
}

TEST_F(MailboxServiceTest, CreateGetUpdateDeleteRoundTrip) {
  const v1::Mailbox qa = QaMailbox();
  v1::Mailbox created;
  grpc::Status status = Create(qa, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(created.id(), "ignored");
  EXPECT_EQ(created.id().size(), 36u);
  EXPECT_EQ(created.name(), "qa");
  EXPECT_EQ(created.description(), "QA team");
  EXPECT_EQ(created.position(), -2);
  EXPECT_EQ(created.max_messages(), 250);
  EXPECT_EQ(created.message_count(), 0);
  EXPECT_GT(created.create_time().seconds(), 0);
  ASSERT_EQ(created.rules_size(), qa.rules_size());
  for (int i = 0; i < qa.rules_size(); ++i) {
    EXPECT_EQ(created.rules(i).SerializeAsString(), qa.rules(i).SerializeAsString())
        << "rule " << i << ": " << created.rules(i).ShortDebugString();
  }
  // `exists: false` is a set condition, not an unset one.
  EXPECT_EQ(created.rules(3).header().match_case(), v1::HeaderCondition::kExists);
  // Stored as the migration says: proto field names.
  EXPECT_EQ(Sql("SELECT rules->2->>'auth_user' FROM mailboxes WHERE name = 'qa'"), "ci-*");

  v1::Mailbox by_id;
  status = GetById(created.id(), &by_id);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(by_id.SerializeAsString(), created.SerializeAsString());
  v1::Mailbox by_name;
  status = GetByName("qa", &by_name);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(by_name.id(), created.id());

  // Rename and move, by id; only the masked fields change.
  v1::Mailbox change;
  change.set_id(created.id());
  change.set_name("qa-team");
  change.set_position(7);
  change.set_description("not in the mask");
  v1::Mailbox updated;
  status = Update(change, {"name", "position"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.name(), "qa-team");
  EXPECT_EQ(updated.position(), 7);
  EXPECT_EQ(updated.description(), "QA team");
  EXPECT_EQ(updated.rules_size(), qa.rules_size());
  EXPECT_EQ(GetByName("qa").error_code(), grpc::StatusCode::NOT_FOUND);

  // By name: description, retention back to none, rules replaced.
  v1::Mailbox by_name_change;
  by_name_change.set_name("qa-team");
  by_name_change.set_description("");
  by_name_change.set_max_messages(0);
  by_name_change.add_rules()->mutable_recipient()->set_domain("qa.example.org");
  status = Update(by_name_change, {"description", "max_messages", "rules"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.description(), "");
  EXPECT_EQ(updated.max_messages(), 0);
  ASSERT_EQ(updated.rules_size(), 1);
  EXPECT_EQ(updated.rules(0).recipient().domain(), "qa.example.org");
  EXPECT_EQ(Sql("SELECT coalesce(max_messages::text, 'null') FROM mailboxes WHERE name = "
                "'qa-team'"),
            "null");
  EXPECT_GE(updated.update_time().seconds(), created.update_time().seconds());

  // `*` by id replaces every field.
  v1::Mailbox all;
  all.set_id(created.id());
  all.set_name("qa");
  status = Update(all, {"*"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.name(), "qa");
  EXPECT_EQ(updated.position(), 0);
  EXPECT_EQ(updated.rules_size(), 0);

  status = DeleteById(created.id(), false);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(GetById(created.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteById(created.id(), false).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteByName("qa", true).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(MailboxServiceTest, ListsInRoutingOrderPageByPage) {
  ASSERT_TRUE(CreateNamed("m3", 3).ok());
  ASSERT_TRUE(CreateNamed("m1b", 1).ok());
  ASSERT_TRUE(CreateNamed("m1a", 1).ok());
  ASSERT_TRUE(CreateNamed("first", -10).ok());
  ASSERT_TRUE(CreateNamed("z0", 0).ok());
  ASSERT_TRUE(CreateNamed("a0", 0).ok());
  ASSERT_TRUE(CreateNamed("late", 1000).ok());
  const std::vector<std::string> expected = {"first", "a0", "z0",   "m1a",
                                             "m1b",   "m3", "late", "default"};
  EXPECT_EQ(ListAllNames(3), expected);
  EXPECT_EQ(ListAllNames(1), expected);
  EXPECT_EQ(ListAllNames(100), expected);

  v1::ListMailboxesResponse page;
  grpc::Status status = List(0, "", &page);  // the default page size, 100
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(page.mailboxes_size(), 8);
  EXPECT_TRUE(page.next_page_token().empty());
  EXPECT_EQ(page.mailboxes(7).id(), kDefaultId);
  status = List(5000, "", &page);  // lowered to the maximum
  EXPECT_TRUE(status.ok()) << status.error_message();

  EXPECT_TRUE(InvalidField(List(-1, "", &page), "page_size"));
  EXPECT_TRUE(InvalidField(List(2, "not-a-token", &page), "page_token"));
}

TEST_F(MailboxServiceTest, DefaultMailboxIsProtected) {
  EXPECT_EQ(DeleteByName("default", true).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DeleteById(kDefaultId, false).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::Mailbox rename;
  rename.set_id(kDefaultId);
  rename.set_name("catch-all");
  EXPECT_TRUE(InvalidField(Update(rename, {"name"}), "mailbox.name"));
  v1::Mailbox rules;
  rules.set_name("default");
  rules.add_rules()->mutable_recipient()->set_glob("*");
  EXPECT_TRUE(InvalidField(Update(rules, {"rules"}), "mailbox.rules"));
  rules.set_id(kDefaultId);
  EXPECT_TRUE(InvalidField(Update(rules, {"*"}), "mailbox.rules"));

  // What it does allow: the other fields, `*` without rules, by name or id.
  v1::Mailbox described;
  described.set_name("default");
  described.set_description("Everything else");
  described.set_position(-5);
  v1::Mailbox updated;
  grpc::Status status = Update(described, {"*"}, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.description(), "Everything else");
  EXPECT_EQ(updated.name(), "default");
  // Still last in routing order, whatever its position.
  ASSERT_TRUE(CreateNamed("other", 0).ok());
  EXPECT_EQ(ListAllNames(10), (std::vector<std::string>{"other", "default"}));
  EXPECT_TRUE(GetById(kDefaultId).ok());
}

TEST_F(MailboxServiceTest, DeleteWithAndWithoutForceWhenTheMailboxHoldsMail) {
  v1::Mailbox qa;
  qa.set_name("qa");
  qa.add_rules()->mutable_recipient()->set_exact("qa@example.com");
  v1::Mailbox created;
  ASSERT_TRUE(Create(qa, &created).ok());
  ASSERT_NO_FATAL_FAILURE(Send("only in qa", "qa@example.com"));
  ASSERT_NO_FATAL_FAILURE(Send("in qa and default", "someone@example.com"));
  // Whatever routing did, file "only in qa" in qa alone and the other in both (routing is
  // tested on its own; this test is about what deleting a mailbox does to its mail).
  Sql(
      absl::StrCat("INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
                   "SELECT '",
                   created.id(), "', id, received_at FROM messages ON CONFLICT DO NOTHING"));
  Sql(
      absl::StrCat("INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
                   "SELECT '",
                   kDefaultId,
                   "', id, received_at FROM messages WHERE subject = 'in qa and default' "
                   "ON CONFLICT DO NOTHING"));
  Sql(absl::StrCat("DELETE FROM message_mailboxes WHERE mailbox_id <> '", created.id(),
                   "' AND message_id IN (SELECT id FROM messages WHERE subject = 'only in qa')"));
  const std::string only_qa = Sql("SELECT id FROM messages WHERE subject = 'only in qa'");
  const std::string shared = Sql("SELECT id FROM messages WHERE subject = 'in qa and default'");
  ASSERT_FALSE(only_qa.empty());
  ASSERT_FALSE(shared.empty());
  Sql(
      absl::StrCat("INSERT INTO users (id, username, default_mailbox_id) VALUES "
                   "(gen_random_uuid(), 'ann', '",
                   created.id(), "')"));

  // Counts, with one message marked read through MessageService.
  {
    grpc::ClientContext context;
    v1::UpdateMessageRequest request;
    request.mutable_message()->set_id(shared);
    request.mutable_message()->set_read(true);
    request.mutable_update_mask()->add_paths("read");
    v1::UpdateMessageResponse response;
    grpc::Status status = messages_->UpdateMessage(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  v1::Mailbox counted;
  ASSERT_TRUE(GetByName("qa", &counted).ok());
  EXPECT_EQ(counted.message_count(), 2);
  EXPECT_EQ(counted.unread_count(), 1);

  grpc::Status status = DeleteByName("qa", false);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "force")) << status.error_message();
  EXPECT_TRUE(GetByName("qa").ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM messages"), "2");

  status = DeleteByName("qa", true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(GetByName("qa").error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    v1::GetMessageRequest request;
    request.set_id(only_qa);
    v1::GetMessageResponse response;
    EXPECT_EQ(messages_->GetMessage(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::ListMessagesRequest request;
    request.set_mailbox("default");
    v1::ListMessagesResponse response;
    status = messages_->ListMessages(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.messages_size(), 1);
    EXPECT_EQ(response.messages(0).id(), shared);
  }
  EXPECT_EQ(Sql("SELECT coalesce(default_mailbox_id::text, 'null') FROM users"), "null");
  v1::Mailbox fallback;
  ASSERT_TRUE(GetByName("default", &fallback).ok());
  EXPECT_EQ(fallback.message_count(), 1);
  EXPECT_EQ(fallback.unread_count(), 0);
}

TEST_F(MailboxServiceTest, CreateRejectsBadInputNamingTheField) {
  const auto create = [&](const std::string& name) {
    v1::Mailbox mailbox;
    mailbox.set_name(name);
    return Create(mailbox);
  };
  EXPECT_TRUE(InvalidField(create(""), "mailbox.name"));
  EXPECT_TRUE(InvalidField(create("Upper"), "mailbox.name"));
  EXPECT_TRUE(InvalidField(create("has space"), "mailbox.name"));
  EXPECT_TRUE(InvalidField(create("slash/name"), "mailbox.name"));
  EXPECT_TRUE(InvalidField(create("_leading"), "mailbox.name"));
  EXPECT_TRUE(InvalidField(create(std::string(65, 'x')), "mailbox.name"));
  EXPECT_TRUE(create(std::string(64, 'x')).ok());
  EXPECT_EQ(create("default").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(create("qa").ok());
  grpc::Status duplicate = create("qa");
  EXPECT_EQ(duplicate.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StartsWith(duplicate.error_message(), "mailbox.name: "))
      << duplicate.error_message();

  v1::Mailbox mailbox;
  mailbox.set_name("fine");
  mailbox.set_description(std::string(1025, 'd'));
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.description"));
  mailbox.clear_description();
  mailbox.set_max_messages(-1);
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.max_messages"));
  mailbox.clear_max_messages();

  mailbox.add_rules()->mutable_recipient()->set_regex("(unclosed");
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.rules[0].recipient.regex"));
  mailbox.clear_rules();
  mailbox.add_rules()->mutable_recipient()->set_exact("ok@example.com");
  mailbox.add_rules()->set_description("no condition");
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.rules[1]"));
  mailbox.clear_rules();
  mailbox.add_rules()->mutable_source()->set_client_network("10.0.0.0/33");
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.rules[0].source.client_network"));
  mailbox.clear_rules();
  for (int i = 0; i < 101; ++i) mailbox.add_rules()->set_auth_user(absl::StrCat("u", i));
  EXPECT_TRUE(InvalidField(Create(mailbox), "mailbox.rules"));
  mailbox.mutable_rules()->RemoveLast();
  EXPECT_TRUE(Create(mailbox).ok());  // 100 rules are allowed

  grpc::ClientContext context;
  v1::CreateMailboxRequest empty;
  v1::CreateMailboxResponse response;
  EXPECT_TRUE(InvalidField(stub_->CreateMailbox(&context, empty, &response), "mailbox"));
  EXPECT_EQ(ListAllNames(10).size(), 4u);  // 64 x's, qa, fine, default
}

TEST_F(MailboxServiceTest, GetUpdateDeleteRejectBadInput) {
  ASSERT_TRUE(CreateNamed("qa").ok());
  ASSERT_TRUE(CreateNamed("ops").ok());
  EXPECT_TRUE(InvalidField(GetById("not-a-uuid"), "id"));
  EXPECT_EQ(GetById("01900000-0000-7000-8000-000000000000").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetByName("nope").error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    v1::GetMailboxRequest request;
    v1::GetMailboxResponse response;
    EXPECT_TRUE(InvalidField(stub_->GetMailbox(&context, request, &response), "id"));
  }
  EXPECT_TRUE(InvalidField(DeleteById("42", true), "id"));

  v1::Mailbox qa;
  qa.set_name("qa");
  qa.set_description("x");
  EXPECT_TRUE(InvalidField(Update(qa, {}), "update_mask"));
  EXPECT_TRUE(InvalidField(Update(qa, {"message_count"}), "update_mask"));
  EXPECT_TRUE(InvalidField(Update(qa, {"id"}), "update_mask"));
  EXPECT_TRUE(InvalidField(Update(qa, {"description", "bogus"}), "update_mask"));
  // Chosen by name, the name cannot also be the new value.
  EXPECT_TRUE(InvalidField(Update(qa, {"name"}), "update_mask"));
  EXPECT_TRUE(InvalidField(Update(v1::Mailbox(), {"description"}), "mailbox.id"));
  {
    grpc::ClientContext context;
    v1::UpdateMailboxRequest request;
    request.mutable_update_mask()->add_paths("description");
    v1::UpdateMailboxResponse response;
    EXPECT_TRUE(InvalidField(stub_->UpdateMailbox(&context, request, &response), "mailbox"));
  }

  v1::Mailbox bad = qa;
  bad.set_max_messages(-3);
  EXPECT_TRUE(InvalidField(Update(bad, {"max_messages"}), "mailbox.max_messages"));
  bad = qa;
  bad.set_description(std::string(1025, 'd'));
  EXPECT_TRUE(InvalidField(Update(bad, {"description"}), "mailbox.description"));
  bad = qa;
  bad.add_rules()->mutable_header()->set_glob("no name");
  EXPECT_TRUE(InvalidField(Update(bad, {"rules"}), "mailbox.rules[0].header.name"));
  bad = qa;
  bad.set_id("bad-id");
  EXPECT_TRUE(InvalidField(Update(bad, {"description"}), "mailbox.id"));

  v1::Mailbox ops;
  ASSERT_TRUE(GetByName("ops", &ops).ok());
  ops.set_name("qa");
  EXPECT_EQ(Update(ops, {"name"}).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ops.set_name("Ops");
  EXPECT_TRUE(InvalidField(Update(ops, {"name"}), "mailbox.name"));
  ops.set_id("01900000-0000-7000-8000-000000000000");
  ops.set_name("ops2");
  EXPECT_EQ(Update(ops, {"name"}).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Mailbox missing;
  missing.set_name("missing");
  EXPECT_EQ(Update(missing, {"position"}).error_code(), grpc::StatusCode::NOT_FOUND);

  // Nothing above changed anything.
  v1::Mailbox after;
  ASSERT_TRUE(GetByName("qa", &after).ok());
  EXPECT_EQ(after.description(), "");
  EXPECT_EQ(after.rules_size(), 0);
  EXPECT_EQ(after.max_messages(), 0);
}

}  // namespace
}  // namespace mailroom::testing
