// ApiAccess: the role of every method of every service of the public API (taken from the
// descriptors and checked against each service's "Access:" comment in its .proto), the
// token table, the bearer syntax, and the constant-time comparison helper.
#include "server/api_access.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace mailroom::server {
namespace {

using config::ApiRole;
using config::ApiTokenConfig;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kReaderToken[] = "reader-token-0123456789";
constexpr char kSenderToken[] = "sender-token-0123456789";

// What each service of mailroom.v1 allows, besides admin. A new service must be added here
// (and to api_access.cc if a role other than admin may call it): the test below fails for
// any service of proto/mailroom/v1 missing from this table.
struct Expected {
  std::string service;
  MethodAccess access;                   // Of every method, except:
  std::set<std::string> sender_methods;  // Methods that `sender` may call.
};

const std::vector<Expected>& ExpectedServices() {
  static const auto* const expected = new std::vector<Expected>{
      {"mailroom.v1.MessageService", MethodAccess::kReader, {}},
      {"mailroom.v1.SessionService", MethodAccess::kReader, {}},
      {"mailroom.v1.MailboxService", MethodAccess::kAdmin, {}},
      {"mailroom.v1.UserService", MethodAccess::kAdmin, {}},
      {"mailroom.v1.OutboundService", MethodAccess::kAdmin, {"SendMessage"}},
  };
  return *expected;
}

const Expected* FindExpected(const std::string& service) {
  for (const Expected& expected : ExpectedServices()) {
    if (expected.service == service) return &expected;
  }
  return nullptr;
}

struct ProtoService {
  const google::protobuf::ServiceDescriptor* descriptor;
  std::string access_comment;  // The "// Access: ..." paragraph above `service`.
};

// Every service declared in proto/mailroom/v1/*.proto, with its descriptor (from the
// binary's generated pool) and its Access comment (from the source).
std::vector<ProtoService> ProtoServices() {
  std::vector<ProtoService> services;
  const std::filesystem::path folder =
      std::filesystem::path(MAILROOM_SOURCE_DIR) / "proto" / "mailroom" / "v1";
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name = absl::StrCat("mailroom/v1/", entry.path().filename().string());
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name << " is not linked into the server";
    if (file == nullptr) continue;
    std::ifstream in(entry.path());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    for (int i = 0; i < file->service_count(); ++i) {
      ProtoService service{file->service(i), ""};
      const std::string declaration = absl::StrCat("service ", file->service(i)->name(), " {");
      for (size_t l = 0; l < lines.size(); ++l) {
        if (lines[l] != declaration) continue;
        // Walk up the comment block; collect the paragraph that starts with "Access:".
        size_t start = l;
        while (start > 0 && absl::StartsWith(lines[start - 1], "//")) --start;
        bool in_access = false;
        for (size_t c = start; c < l; ++c) {
          absl::string_view text = absl::StripAsciiWhitespace(absl::StripPrefix(lines[c], "//"));
          if (absl::StartsWith(text, "Access:")) in_access = true;
          if (in_access && text.empty()) break;
          if (in_access) absl::StrAppend(&service.access_comment, text, " ");
        }
      }
      services.push_back(service);
    }
  }
  return services;
}

ApiAccess ThreeTokens() {
  return ApiAccess({ApiTokenConfig{"ops", kAdminToken, ApiRole::kAdmin},
                    ApiTokenConfig{"qa", kReaderToken, ApiRole::kReader},
                    ApiTokenConfig{"app", kSenderToken, ApiRole::kSender}});
}

absl::StatusCode Decide(const ApiAccess& access, const std::string& method,
                        std::vector<absl::string_view> authorization) {
  return access.Authorize(method, authorization).status().code();
}

TEST(ApiAccessTest, EveryServiceOfTheApiHasAnExpectedRuleAndAnAccessComment) {
  const std::vector<ProtoService> services = ProtoServices();
  ASSERT_GE(services.size(), ExpectedServices().size());
  for (const ProtoService& service : services) {
    const std::string name = service.descriptor->full_name();
    const Expected* expected = FindExpected(name);
    EXPECT_NE(expected, nullptr) << name << " has no expected access rule in this test";
    EXPECT_THAT(service.access_comment, HasSubstr("`admin`")) << name;
    if (expected == nullptr) continue;
    // The proto's Access comment mentions a role exactly when some method allows it.
    const bool reader = expected->access == MethodAccess::kReader;
    const bool sender = !expected->sender_methods.empty();
    EXPECT_EQ(absl::StrContains(service.access_comment, "`reader`"), reader)
        << name << ": " << service.access_comment;
    EXPECT_EQ(absl::StrContains(service.access_comment, "`sender`"), sender)
        << name << ": " << service.access_comment;
    for (const std::string& method : expected->sender_methods) {
      EXPECT_THAT(service.access_comment, HasSubstr(method)) << name;
    }
  }
}

TEST(ApiAccessTest, EveryMethodOfEveryServiceGetsItsRoles) {
  const ApiAccess access = ThreeTokens();
  int methods = 0;
  for (const ProtoService& service : ProtoServices()) {
    const Expected* expected = FindExpected(service.descriptor->full_name());
    if (expected == nullptr) continue;  // Reported by the test above.
    for (int i = 0; i < service.descriptor->method_count(); ++i) {
      ++methods;
      const google::protobuf::MethodDescriptor& method = *service.descriptor->method(i);
      const std::string path =
          absl::StrCat("/", service.descriptor->full_name(), "/", method.name());
      const bool sender = expected->sender_methods.count(method.name()) > 0;
      const MethodAccess want = sender ? MethodAccess::kSender : expected->access;
      EXPECT_EQ(AccessOf(path), want) << path;

      const std::string admin = absl::StrCat("Bearer ", kAdminToken);
      const std::string reader = absl::StrCat("Bearer ", kReaderToken);
      const std::string sender_token = absl::StrCat("Bearer ", kSenderToken);
      EXPECT_EQ(Decide(access, path, {admin}), absl::StatusCode::kOk) << path;
      EXPECT_EQ(Decide(access, path, {reader}), want == MethodAccess::kReader
                                                    ? absl::StatusCode::kOk
                                                    : absl::StatusCode::kPermissionDenied)
          << path;
      EXPECT_EQ(Decide(access, path, {sender_token}), want == MethodAccess::kSender
                                                          ? absl::StatusCode::kOk
                                                          : absl::StatusCode::kPermissionDenied)
          << path;
      EXPECT_EQ(Decide(access, path, {}), absl::StatusCode::kUnauthenticated) << path;
      EXPECT_EQ(Decide(access, path, {"Bearer not-a-configured-token"}),
                absl::StatusCode::kUnauthenticated)
          << path;
      // An open API lets everything through.
      EXPECT_EQ(Decide(ApiAccess({}), path, {}), absl::StatusCode::kOk) << path;
    }
  }
  EXPECT_GE(methods, 25);
}

TEST(ApiAccessTest, HealthAndReflectionAreOpenEvenWithABadToken) {
  const ApiAccess access = ThreeTokens();
  for (const char* method : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                             "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                             "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    EXPECT_EQ(AccessOf(method), MethodAccess::kOpen) << method;
    EXPECT_EQ(Decide(access, method, {}), absl::StatusCode::kOk) << method;
    EXPECT_EQ(Decide(access, method, {"Bearer wrong"}), absl::StatusCode::kOk) << method;
  }
}

TEST(ApiAccessTest, ReflectionTurnedOffIsUnimplementedForEveryone) {
  const std::string admin = absl::StrCat("Bearer ", kAdminToken);
  const std::vector<absl::string_view> values = {admin};
  for (const ApiAccess& access : {ApiAccess({}, /*reflection=*/false),
                                  ApiAccess({ApiTokenConfig{"ops", kAdminToken, ApiRole::kAdmin}},
                                            /*reflection=*/false)}) {
    for (const char* method : {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                               "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
      const absl::Status status = access.Authorize(method, values).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << method;
      EXPECT_THAT(status.message(), HasSubstr("api.reflection: false"));
    }
    EXPECT_TRUE(access.Authorize("/grpc.health.v1.Health/Check", {}).ok());
  }
}

TEST(ApiAccessTest, UnknownMethodsAndLookalikesAreAdminOnly) {
  for (const char* method :
       {"/mailroom.v1.FutureService/DoThings", "/mailroom.v1.MessageServiceX/GetMessage",
        "/mailroom.v1.OutboundService/SendMessages", "/grpc.health.v1.HealthX/Check", "", "/"}) {
    EXPECT_EQ(AccessOf(method), MethodAccess::kAdmin) << method;
  }
}

TEST(ApiAccessTest, UnauthenticatedMessagesSayWhatIsWrongWithoutEchoingTheToken) {
  const ApiAccess access = ThreeTokens();
  const std::string method = "/mailroom.v1.MessageService/ListMessages";
  absl::Status missing = access.Authorize(method, {}).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.message(),
            "missing authorization metadata; send `authorization: Bearer <token>`");

  const std::vector<absl::string_view> bare = {kReaderToken};
  absl::Status malformed = access.Authorize(method, bare).status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(malformed.message(), HasSubstr("malformed authorization metadata"));
  EXPECT_THAT(malformed.message(), Not(HasSubstr(kReaderToken)));

  for (const char* value : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", ""}) {
    const std::vector<absl::string_view> values = {value};
    EXPECT_THAT(access.Authorize(method, values).status().message(),
                HasSubstr("malformed authorization metadata"))
        << value;
  }

  const std::vector<absl::string_view> unknown = {"Bearer guessed-token-123456"};
  absl::Status wrong = access.Authorize(method, unknown).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(wrong.message(), HasSubstr("unknown bearer token"));
  EXPECT_THAT(wrong.message(), Not(HasSubstr("guessed")));

  const std::string reader = absl::StrCat("Bearer ", kReaderToken);
  const std::vector<absl::string_view> twice = {reader, reader};
  absl::Status repeated = access.Authorize(method, twice).status();
  EXPECT_EQ(repeated.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(repeated.message(), HasSubstr("2 authorization metadata entries"));
}

TEST(ApiAccessTest, PermissionDeniedNamesTokenRoleMethodAndNeededRole) {
  const ApiAccess access = ThreeTokens();
  const std::string reader = absl::StrCat("Bearer ", kReaderToken);
  const std::vector<absl::string_view> values = {reader};
  absl::Status denied =
      access.Authorize("/mailroom.v1.MailboxService/CreateMailbox", values).status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "token `qa` has the reader role; /mailroom.v1.MailboxService/CreateMailbox needs the "
            "admin role");
  EXPECT_THAT(denied.message(), Not(HasSubstr(kReaderToken)));

  const std::string sender = absl::StrCat("Bearer ", kSenderToken);
  const std::vector<absl::string_view> sender_values = {sender};
  EXPECT_EQ(access.Authorize("/mailroom.v1.MessageService/ListMessages", sender_values)
                .status()
                .message(),
            "token `app` has the sender role; /mailroom.v1.MessageService/ListMessages needs the "
            "reader or admin role");
}

TEST(ApiAccessTest, AcceptedCallsNameTheirToken) {
  const ApiAccess access = ThreeTokens();
  // The scheme is case-insensitive and spaces around the token do not matter.
  for (const std::string& value :
       {absl::StrCat("Bearer ", kSenderToken), absl::StrCat("bearer ", kSenderToken),
        absl::StrCat("BEARER   ", kSenderToken, " ")}) {
    const std::vector<absl::string_view> values = {value};
    const absl::StatusOr<ApiAccess::Caller> caller =
        access.Authorize("/mailroom.v1.OutboundService/SendMessage", values);
    ASSERT_TRUE(caller.ok()) << value << ": " << caller.status();
    EXPECT_EQ(caller->token_name, "app");
  }
}

TEST(ApiAccessTest, TokensDifferingOnlyInLengthOrLastCharacterAreDifferent) {
  const ApiAccess access = ThreeTokens();
  for (const std::string& value :
       {absl::StrCat("Bearer ", kAdminToken, "0"),
        absl::StrCat("Bearer ", std::string(kAdminToken).substr(0, sizeof(kAdminToken) - 2)),
        absl::StrCat("Bearer ", std::string(kAdminToken).substr(0, sizeof(kAdminToken) - 2),
                     "X")}) {
    const std::vector<absl::string_view> values = {value};
    EXPECT_EQ(access.Authorize("/mailroom.v1.UserService/ListUsers", values).status().code(),
              absl::StatusCode::kUnauthenticated)
        << value;
  }
}

TEST(SecretsEqualTest, ComparesContentsOfAnyLength) {
  EXPECT_TRUE(SecretsEqual("", ""));
  EXPECT_TRUE(SecretsEqual("same-secret-value", "same-secret-value"));
  EXPECT_FALSE(SecretsEqual("same-secret-value", "same-secret-valuE"));
  EXPECT_FALSE(SecretsEqual("same-secret-value", "same-secret-value-longer"));
  EXPECT_FALSE(SecretsEqual("", "x"));
  // Embedded NULs are compared too (the comparison is on bytes, not C strings).
  EXPECT_FALSE(SecretsEqual(absl::string_view("a\0b", 3), absl::string_view("a\0c", 3)));
}

TEST(RoleNameTest, NamesEveryRole) {
  EXPECT_EQ(RoleName(ApiRole::kAdmin), "admin");
  EXPECT_EQ(RoleName(ApiRole::kReader), "reader");
  EXPECT_EQ(RoleName(ApiRole::kSender), "sender");
}

}  // namespace
}  // namespace mailroom::server
