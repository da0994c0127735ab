// UserService and SMTP AUTH against configured users, end to end: the real binary with
// smtp.auth.allow_any_credentials=false, the C++ gRPC stub for every UserService RPC
// (including bad input, which must name the field, and responses that must never carry
// password material), and swaks authenticating with PLAIN, LOGIN and CRAM-MD5 on the
// STARTTLS listener and on the implicit-TLS listener: right password → 235 and the message
// stored with auth_user; wrong password, disabled user, unknown user → 535 5.7.8 with the
// reason in the session transcript and no secret in it.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "mailroom/v1/user_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/smtp_clients.h"

namespace mailroom::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using ::testing::StartsWith;

constexpr char kPassword[] = "Corr3ct-h0rse-never-shown";

class UsersEndToEndTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ScratchMailroomFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(
        StartMailroomAndWaitUntilReady({"--set", "smtp.auth.allow_any_credentials=false"}));
    stub_ = v1::UserService::NewStub(
        grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials()));
  }

  // Fails the test if the serialized message holds password material.
  static void ExpectNoSecrets(const google::protobuf::Message& response,
                              const std::string& password = kPassword) {
    const std::string bytes = response.SerializeAsString();
    EXPECT_THAT(bytes, Not(HasSubstr(password))) << response.DebugString();
    EXPECT_THAT(bytes, Not(HasSubstr("scrypt"))) << response.DebugString();
    EXPECT_THAT(bytes, Not(HasSubstr("$ln="))) << response.DebugString();
  }

  grpc::Status Create(const std::string& username, const std::string& password,
                      v1::User* out = nullptr, const std::string& mailbox = "") {
    v1::CreateUserRequest request;
    request.mutable_user()->set_username(username);
    request.mutable_user()->set_password(password);
    request.mutable_user()->set_default_mailbox(mailbox);
    v1::CreateUserResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->CreateUser(&context, request, &response);
    ExpectNoSecrets(response, password.empty() ? kPassword : password);
    if (out != nullptr) *out = response.user();
    return status;
  }

  grpc::Status Update(const v1::User& user, const std::vector<std::string>& paths,
                      v1::User* out = nullptr) {
    v1::UpdateUserRequest request;
    *request.mutable_user() = user;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    v1::UpdateUserResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->UpdateUser(&context, request, &response);
    ExpectNoSecrets(response);
    if (!user.password().empty()) ExpectNoSecrets(response, user.password());
    if (out != nullptr) *out = response.user();
    return status;
  }

  grpc::Status Get(const std::string& id, const std::string& username, v1::User* out) {
    v1::GetUserRequest request;
    if (!id.empty()) request.set_id(id);
    if (!username.empty()) request.set_username(username);
    v1::GetUserResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetUser(&context, request, &response);
    ExpectNoSecrets(response);
    if (out != nullptr) *out = response.user();
    return status;
  }

  std::unique_ptr<v1::UserService::Stub> stub_;
};

// An INVALID_ARGUMENT whose message starts with the field path.
MATCHER_P(InvalidField, field, "") {
  return arg.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         absl::StartsWith(arg.error_message(), absl::StrCat(field, ":"));
}

TEST_F(UsersEndToEndTest, EveryRpcWithoutPasswordMaterial) {
  v1::User ann;
  ASSERT_TRUE(Create("ann", kPassword, &ann, "default").ok());
  EXPECT_FALSE(ann.id().empty());
  EXPECT_EQ(ann.username(), "ann");
  EXPECT_EQ(ann.password(), "");
  EXPECT_EQ(ann.default_mailbox(), "default");
  EXPECT_THAT(ann.has_enabled(), true);
  EXPECT_TRUE(ann.enabled());
  EXPECT_TRUE(ann.has_create_time());
  EXPECT_TRUE(ann.has_update_time());
  for (const char* name : {"carol", "bob", "dave"})
    ASSERT_TRUE(Create(name, "0ther-pa55word").ok());

  v1::User got;
  ASSERT_TRUE(Get(ann.id(), "", &got).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, ann)) << got.DebugString();
  ASSERT_TRUE(Get("", "ann", &got).ok());
  EXPECT_EQ(got.id(), ann.id());

  // Pages of two, by username.
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    v1::ListUsersRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListUsersResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListUsers(&context, request, &response).ok());
    ExpectNoSecrets(response);
    for (const v1::User& user : response.users()) {
      EXPECT_EQ(user.password(), "");
      EXPECT_TRUE(user.has_enabled());
      names.push_back(user.username());
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_THAT(names, ::testing::ElementsAre("ann", "bob", "carol", "dave"));
  EXPECT_EQ(pages, 2);

  // Update by id: rename, new password, no default mailbox, disabled.
  v1::User change;
  change.set_id(ann.id());
  change.set_username("anna");
  change.set_password("an0ther-secret");
  change.set_enabled(false);
  v1::User updated;
  ASSERT_TRUE(
      Update(change, {"username", "password", "default_mailbox", "enabled"}, &updated).ok());
  EXPECT_EQ(updated.username(), "anna");
  EXPECT_EQ(updated.default_mailbox(), "");
  EXPECT_FALSE(updated.enabled());
  EXPECT_TRUE(updated.has_enabled());
  EXPECT_EQ(updated.password(), "");
  // Update by username, with `*` not allowed then; enabled again.
  v1::User by_name;
  by_name.set_username("anna");
  by_name.set_enabled(true);
  ASSERT_TRUE(Update(by_name, {"enabled"}, &updated).ok());
  EXPECT_TRUE(updated.enabled());
  EXPECT_EQ(updated.id(), ann.id());

  // Delete by id and by username.
  {
    v1::DeleteUserRequest request;
    request.set_id(ann.id());
    v1::DeleteUserResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteUser(&context, request, &response).ok());
  }
  {
    v1::DeleteUserRequest request;
    request.set_username("bob");
    v1::DeleteUserResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteUser(&context, request, &response).ok());
  }
  EXPECT_EQ(Get(ann.id(), "", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("", "bob", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  {
    v1::DeleteUserRequest request;
    request.set_username("bob");
    v1::DeleteUserResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->DeleteUser(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(UsersEndToEndTest, BadInputNamesTheField) {
  v1::User ann;
  ASSERT_TRUE(Create("ann", kPassword, &ann).ok());

  EXPECT_THAT(Create("", kPassword), InvalidField("user.username"));
  EXPECT_THAT(Create("tab\there", kPassword), InvalidField("user.username"));
  EXPECT_THAT(Create(std::string(256, 'x'), kPassword), InvalidField("user.username"));
  EXPECT_THAT(Create("bob", ""), InvalidField("user.password"));
  EXPECT_THAT(Create("bob", std::string(1025, 'p')), InvalidField("user.password"));
  const grpc::Status no_mailbox = Create("bob", kPassword, nullptr, "nope");
  EXPECT_THAT(no_mailbox, InvalidField("user.default_mailbox"));
  EXPECT_THAT(no_mailbox.error_message(), HasSubstr("nope"));
  const grpc::Status duplicate = Create("ann", "other");
  EXPECT_EQ(duplicate.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(duplicate.error_message(), StartsWith("user.username:"));
  // 255 characters of two bytes each is fine: the limit counts characters.
  std::string accented;
  for (int i = 0; i < 254; ++i) accented += "\xC3\xA9";
  EXPECT_TRUE(Create(accented + "e", "0ther-pa55word").ok());
  EXPECT_THAT(Create(accented + "ee", "0ther-pa55word"), InvalidField("user.username"));

  EXPECT_THAT(Get("not-a-uuid", "", nullptr), InvalidField("id"));
  EXPECT_THAT(Get("", "", nullptr), InvalidField("id"));
  EXPECT_EQ(Get("", "ghost", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::User change;
  change.set_id(ann.id());
  EXPECT_THAT(Update(change, {}), InvalidField("update_mask"));
  EXPECT_THAT(Update(change, {"colour"}), InvalidField("update_mask"));
  EXPECT_THAT(Update(change, {"create_time"}), InvalidField("update_mask"));
  EXPECT_THAT(Update(change, {"*", "enabled"}), InvalidField("update_mask"));
  EXPECT_THAT(Update(change, {"enabled"}), InvalidField("user.enabled"));
  EXPECT_THAT(Update(change, {"password"}), InvalidField("user.password"));
  EXPECT_THAT(Update(change, {"username"}), InvalidField("user.username"));
  change.set_username("ann");
  EXPECT_THAT(Update(change, {"*"}), InvalidField("user.password"));
  change.set_default_mailbox("nope");
  EXPECT_THAT(Update(change, {"default_mailbox"}), InvalidField("user.default_mailbox"));
  v1::User by_name;
  by_name.set_username("ann");
  EXPECT_THAT(Update(by_name, {"username"}), InvalidField("update_mask"));
  EXPECT_THAT(Update(by_name, {"*"}), InvalidField("update_mask"));
  v1::User nobody;
  EXPECT_THAT(Update(nobody, {"enabled"}), InvalidField("user.id"));
  nobody.set_id("zzz");
  EXPECT_THAT(Update(nobody, {"enabled"}), InvalidField("user.id"));
  v1::User ghost;
  ghost.set_username("ghost");
  ghost.set_enabled(false);
  EXPECT_EQ(Update(ghost, {"enabled"}).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Create("bob", "0ther-pa55word").ok());
  v1::User rename;
  rename.set_id(ann.id());
  rename.set_username("bob");
  EXPECT_EQ(Update(rename, {"username"}).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::ListUsersRequest list;
  list.set_page_size(-1);
  v1::ListUsersResponse listed;
  grpc::ClientContext context;
  EXPECT_THAT(stub_->ListUsers(&context, list, &listed), InvalidField("page_size"));
  list.set_page_size(0);
  list.set_page_token("not a token");
  grpc::ClientContext context2;
  EXPECT_THAT(stub_->ListUsers(&context2, list, &listed), InvalidField("page_token"));
}

struct AuthCase {
  const char* mechanism;
  bool implicit_tls;
};

void PrintTo(const AuthCase& param, std::ostream* out) {
  *out << param.mechanism << (param.implicit_tls ? " on implicit TLS" : " after STARTTLS");
}

class UsersAuthTest : public UsersEndToEndTest, public ::testing::WithParamInterface<AuthCase> {
 protected:
  // Runs swaks with AUTH as `user`/`password` on the case's listener.
  ClientResult Swaks(const std::string& user, const std::string& password) {
    const AuthCase& param = GetParam();
    absl::StatusOr<ClientResult> result =
        RunSwaks(param.implicit_tls ? smtps_port_ : smtp_port_,
                 {param.implicit_tls ? "--tls-on-connect" : "-tls", "--ehlo", "swaks.test",
                  "--from", "sender@example.test", "--to", "rcpt@example.test", "--auth",
                  param.mechanism, "--auth-user", user, "--auth-password", password});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ClientResult{-1, ""};
  }

  // The session of the n-th connection (1-based), once it is recorded.
  StoredSession Session(size_t n) {
    absl::StatusOr<std::vector<StoredSession>> sessions = store().WaitForSessions(n);
    EXPECT_TRUE(sessions.ok()) << sessions.status() << mailroom_->Output();
    if (!sessions.ok() || sessions->size() < n) return {};
    return (*sessions)[n - 1];
  }

  // A refused AUTH: swaks fails on 535 5.7.8; the transcript names `why` and holds no
  // form of `password`.
  void ExpectRefused(const ClientResult& result, const StoredSession& session,
                     const std::string& user, const std::string& password, const std::string& why) {
    EXPECT_NE(result.first, 0) << result.second;
    EXPECT_THAT(result.second, HasSubstr("535 5.7.8")) << result.second;
    EXPECT_THAT(session.transcript, Contains("S: 535 5.7.8 Authentication credentials invalid"));
    EXPECT_THAT(
        session.transcript,
        Contains(::testing::AllOf(StartsWith("I: authentication failed for"), HasSubstr(why))))
        << session.transcript_json;
    EXPECT_EQ(session.auth_user, std::nullopt);
    for (const std::string& secret :
         {password, absl::Base64Escape(password),
          absl::Base64Escape(
              absl::StrCat(std::string(1, '\0'), user, std::string(1, '\0'), password))}) {
      EXPECT_THAT(session.transcript_json, Not(HasSubstr(secret)));
    }
  }
};

TEST_P(UsersAuthTest, ChecksConfiguredUsers) {
  const AuthCase& param = GetParam();
  ASSERT_TRUE(Create("ann@example.test", kPassword).ok());
  v1::User off;
  ASSERT_TRUE(Create("off@example.test", kPassword, &off).ok());
  off.set_enabled(false);
  ASSERT_TRUE(Update(off, {"enabled"}).ok());

  // Right password: 235, and the message is stored as sent by ann.
  const ClientResult right = Swaks("ann@example.test", kPassword);
  EXPECT_EQ(right.first, 0) << right.second << mailroom_->Output();
  EXPECT_THAT(right.second, HasSubstr("235 2.7.0"));
  const StoredMessage message = OnlyMessage();
  EXPECT_THAT(message.auth_user, Optional(std::string("ann@example.test")));
  EXPECT_THAT(message.auth_mechanism, Optional(std::string(param.mechanism)));
  const StoredSession first = Session(1);
  EXPECT_EQ(first.listener, param.implicit_tls ? "smtps" : "smtp");
  EXPECT_THAT(first.auth_user, Optional(std::string("ann@example.test")));
  EXPECT_THAT(first.transcript, Contains("S: 235 2.7.0 Authentication successful"));

  // Each client runs before its session is read (function arguments have no evaluation
  // order, so the two must not be arguments of one call).
  const std::string wrong = "Wr0ng-guess-never-shown";
  const ClientResult wrong_password = Swaks("ann@example.test", wrong);
  ExpectRefused(wrong_password, Session(2), "ann@example.test", wrong, "wrong password");
  const ClientResult disabled = Swaks("off@example.test", kPassword);
  ExpectRefused(disabled, Session(3), "off@example.test", kPassword, "user disabled");
  const ClientResult unknown = Swaks("ghost@example.test", kPassword);
  ExpectRefused(unknown, Session(4), "ghost@example.test", kPassword,
                "unknown user `ghost@example.test`");

  // A repeated correct login (cached verification) still works; nothing else was stored.
  EXPECT_EQ(Swaks("ann@example.test", kPassword).first, 0);
  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_EQ(messages->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, UsersAuthTest,
                         ::testing::Values(AuthCase{"PLAIN", false}, AuthCase{"LOGIN", false},
                                           AuthCase{"CRAM-MD5", false}, AuthCase{"PLAIN", true},
                                           AuthCase{"LOGIN", true}, AuthCase{"CRAM-MD5", true}),
                         [](const ::testing::TestParamInfo<AuthCase>& info) {
                           std::string name = info.param.mechanism;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return absl::StrCat(name,
                                               info.param.implicit_tls ? "Implicit" : "StartTls");
                         });

}  // namespace
}  // namespace mailroom::testing
