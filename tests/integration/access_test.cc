// Access control of the gRPC API end to end, against the real binary: bearer tokens and
// roles on every method of every service (through a generic stub, so a service added later
// is covered without changing this test), health and reflection without a token, TLS from
// PEM files (C++ stub and buf curl with --cacert), mTLS (no client certificate or one from
// another CA → handshake refused; a valid one → OK), certificate reload on SIGHUP, and the
// start-up errors: unreadable TLS files and an open API on a non-loopback address.
// The certificates are made at test time with the openssl CLI.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "mailroom/v1/mailbox_service.grpc.pb.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "mailroom/v1/outbound_service.pb.h"
#include "mailroom/v1/session_service.pb.h"
#include "mailroom/v1/user_service.pb.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/test_certificates.h"
#include "tests/support/files.h"
#include "tests/support/status_matchers.h"

namespace mailroom::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminToken[] = "admin-e2e-token-0123456789";
constexpr char kReaderToken[] = "reader-e2e-token-0123456789";
constexpr char kSenderToken[] = "sender-e2e-token-0123456789";

constexpr char kTokensYaml[] = R"(  tokens:
    - name: ops
      token: admin-e2e-token-0123456789
      role: admin
    - name: qa
      token: reader-e2e-token-0123456789
      role: reader
    - name: app
      token: sender-e2e-token-0123456789
      role: sender
)";

// The services of the public API, as served (all of them are registered, implemented or not).
constexpr const char* kServices[] = {"mailroom.v1.MessageService", "mailroom.v1.SessionService",
                                     "mailroom.v1.MailboxService", "mailroom.v1.UserService",
                                     "mailroom.v1.OutboundService"};

class AccessTest : public CertificatesFixture {
 protected:
  std::string Path(const std::string& name) const { return certificates_->Path(name); }

  std::shared_ptr<grpc::Channel> TlsChannel(const std::string& client = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(Path("ca.crt"));
    if (!client.empty()) {
      options.pem_private_key = ReadFile(Path(client + ".key"));
      options.pem_cert_chain = ReadFile(Path(client + ".crt"));
    }
    return grpc::CreateChannel(grpc_address(), grpc::SslCredentials(options));
  }

  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  }

  // Waits for the server to be ready over `channel`, as the fixture's plaintext check can't.
  void WaitUntilServing(const std::shared_ptr<grpc::Channel>& channel) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!Check(channel).ok()) {
      ASSERT_LT(absl::Now(), deadline) << mailroom_->Output();
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // Calls `method` with an empty request and `token` (none when empty), as a unary call
  // whatever its shape: what matters is whether the call got past the token check.
  static grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                           const std::string& token) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }
};

// Every method of every service of the public API.
std::vector<std::string> AllMethods() {
  // Referencing a message of each file links its descriptor into this binary.
  for (const google::protobuf::Descriptor* linked :
       {v1::ListMessagesRequest::descriptor(), v1::ListSessionsRequest::descriptor(),
        v1::ListMailboxesRequest::descriptor(), v1::ListUsersRequest::descriptor(),
        v1::SendMessageRequest::descriptor()}) {
    EXPECT_NE(linked, nullptr);
  }
  std::vector<std::string> methods;
  for (const char* name : kServices) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << name;
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return methods;
}

bool Refused(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

TEST_F(AccessTest, TokensAndRolesOnEveryMethod) {
  AddConfigLines("api", kTokensYaml);
  StartMailroomAndWaitUntilReady();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_THAT(mailroom_->Output(), HasSubstr("ops (admin), qa (reader), app (sender)"));
  auto channel = grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());

  const std::vector<std::string> methods = AllMethods();
  ASSERT_GE(methods.size(), 25u);
  for (const std::string& method : methods) {
    const bool reader_may = absl::StartsWith(method, "/mailroom.v1.MessageService/") ||
                            absl::StartsWith(method, "/mailroom.v1.SessionService/");
    const bool sender_may = method == "/mailroom.v1.OutboundService/SendMessage";

    const grpc::Status none = Call(channel, method, "");
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_EQ(none.error_message(),
              "missing authorization metadata; send `authorization: Bearer <token>`");
    const grpc::Status bad = Call(channel, method, "not-a-token-of-this-server");
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_THAT(bad.error_message(), HasSubstr("unknown bearer token")) << method;

    const grpc::Status admin = Call(channel, method, kAdminToken);
    EXPECT_FALSE(Refused(admin)) << method << ": " << admin.error_message();

    const grpc::Status reader = Call(channel, method, kReaderToken);
    if (reader_may) {
      EXPECT_FALSE(Refused(reader)) << method << ": " << reader.error_message();
    } else {
      EXPECT_EQ(reader.error_code(), grpc::StatusCode::PERMISSION_DENIED) << method;
      EXPECT_THAT(reader.error_message(), HasSubstr(method));
    }
    const grpc::Status sender = Call(channel, method, kSenderToken);
    if (sender_may) {
      EXPECT_FALSE(Refused(sender)) << method << ": " << sender.error_message();
    } else {
      EXPECT_EQ(sender.error_code(), grpc::StatusCode::PERMISSION_DENIED) << method;
    }
  }
  // Tokens never reach the log; their names do.
  EXPECT_THAT(mailroom_->Output(), Not(HasSubstr("e2e-token")));
}

TEST_F(AccessTest, TypedStubsSeeTheDocumentedErrors) {
  AddConfigLines("api", kTokensYaml);
  StartMailroomAndWaitUntilReady();
  ASSERT_FALSE(HasFatalFailure());
  auto channel = grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials());
  auto messages = v1::MessageService::NewStub(channel);
  auto mailboxes = v1::MailboxService::NewStub(channel);

  {  // A reader lists messages...
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kReaderToken));
    v1::ListMessagesResponse response;
    const grpc::Status status = messages->ListMessages(&context, {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  {  // ...but may not touch mailboxes.
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kReaderToken));
    v1::ListMailboxesResponse response;
    const grpc::Status status = mailboxes->ListMailboxes(&context, {}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(status.error_message(),
              "token `qa` has the reader role; /mailroom.v1.MailboxService/ListMailboxes needs "
              "the admin role");
  }
  {  // A sender may not read mail.
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kSenderToken));
    v1::ListMessagesResponse response;
    const grpc::Status status = messages->ListMessages(&context, {}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(), HasSubstr("needs the reader or admin role"));
  }
  {  // A token without "Bearer ".
    grpc::ClientContext context;
    context.AddMetadata("authorization", kAdminToken);
    v1::ListMessagesResponse response;
    const grpc::Status status = messages->ListMessages(&context, {}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), HasSubstr("malformed authorization metadata"));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(kAdminToken)));
  }
}

TEST_F(AccessTest, HealthAndReflectionNeedNoToken) {
  AddConfigLines("api", kTokensYaml);
  StartMailroomAndWaitUntilReady();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(CheckHealth(), Health::kServing);

  auto [code, services] = BufCurl({"--list-services", absl::StrCat("http://", grpc_address())});
  ASSERT_EQ(code, 0) << services;
  EXPECT_THAT(services, HasSubstr("mailroom.v1.MessageService"));

  // buf curl resolves the schema through reflection (no token) and sends the header.
  auto [listed, output] = BufCurl(
      {"--header", absl::StrCat("authorization: Bearer ", kReaderToken), "--data", "{}",
       absl::StrCat("http://", grpc_address(), "/mailroom.v1.MessageService/ListMessages")});
  EXPECT_EQ(listed, 0) << output;
  auto [refused, refusal] = BufCurl(
      {"--data", "{}",
       absl::StrCat("http://", grpc_address(), "/mailroom.v1.MessageService/ListMessages")});
  EXPECT_NE(refused, 0);
  EXPECT_THAT(refusal, HasSubstr("unauthenticated"));
}

TEST_F(AccessTest, ReflectionOffIsOffForEveryone) {
  AddConfigLines("api", absl::StrCat("  reflection: false\n", kTokensYaml));
  StartMailroomAndWaitUntilReady();
  ASSERT_FALSE(HasFatalFailure());
  auto [code, output] = BufCurl({"--header", absl::StrCat("authorization: Bearer ", kAdminToken),
                                 "--list-services", absl::StrCat("http://", grpc_address())});
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, Not(HasSubstr("mailroom.v1.MessageService")));
}

TEST_F(AccessTest, TlsFromPemFiles) {
  AddConfigLines("api", absl::StrCat(kTokensYaml, "  tls:\n    cert_file: ", Path("server.crt"),
                                     "\n    key_file: ", Path("server.key"), "\n"));
  StartMailroom();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(WaitUntilServing(TlsChannel()));
  EXPECT_THAT(mailroom_->Output(), HasSubstr("tls=on"));

  // Plaintext is not spoken on a TLS port.
  EXPECT_EQ(CheckHealth(), Health::kUnreachable);

  const std::string url =
      absl::StrCat("https://127.0.0.1:", grpc_port_, "/mailroom.v1.MessageService/ListMessages");
  const std::string buf = TestEnvironment("MAILROOM_BUF");
  ASSERT_FALSE(buf.empty()) << "MAILROOM_BUF is not set; run the tests through scripts/test";
  absl::StatusOr<std::pair<int, std::string>> listed =
      RunToCompletion({buf, "curl", "--protocol", "grpc", "--cacert", Path("ca.crt"), "--header",
                       absl::StrCat("authorization: Bearer ", kReaderToken), "--data", "{}", url});
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->first, 0) << listed->second;

  // Without the CA, the server's certificate is not trusted.
  absl::StatusOr<std::pair<int, std::string>> untrusted =
      RunToCompletion({buf, "curl", "--protocol", "grpc", "--header",
                       absl::StrCat("authorization: Bearer ", kReaderToken), "--data", "{}", url});
  ASSERT_TRUE(untrusted.ok()) << untrusted.status();
  EXPECT_NE(untrusted->first, 0) << untrusted->second;
}

TEST_F(AccessTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  AddConfigLines("api", absl::StrCat(kTokensYaml, "  tls:\n    cert_file: ", Path("server.crt"),
                                     "\n    key_file: ", Path("server.key"),
                                     "\n    client_ca_file: ", Path("ca.crt"), "\n"));
  StartMailroom();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(WaitUntilServing(TlsChannel("client")));
  EXPECT_THAT(mailroom_->Output(), HasSubstr("client certificates required"));

  // No client certificate, or one from another CA: the handshake is refused.
  const grpc::Status anonymous = Check(TlsChannel());
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAVAILABLE) << anonymous.error_message();
  const grpc::Status stranger = Check(TlsChannel("stranger"));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAVAILABLE) << stranger.error_message();

  // mTLS does not replace tokens: the certificate opens the connection, the token the call.
  auto channel = TlsChannel("client");
  EXPECT_EQ(Call(channel, "/mailroom.v1.MessageService/ListMessages", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status listed =
      Call(channel, "/mailroom.v1.MessageService/ListMessages", kReaderToken);
  EXPECT_TRUE(listed.ok()) << listed.error_message();

  const std::string buf = TestEnvironment("MAILROOM_BUF");
  ASSERT_FALSE(buf.empty()) << "MAILROOM_BUF is not set; run the tests through scripts/test";
  const std::string url =
      absl::StrCat("https://127.0.0.1:", grpc_port_, "/grpc.health.v1.Health/Check");
  absl::StatusOr<std::pair<int, std::string>> with_cert =
      RunToCompletion({buf, "curl", "--protocol", "grpc", "--cacert", Path("ca.crt"), "--cert",
                       Path("client.crt"), "--key", Path("client.key"), "--data", "{}", url});
  ASSERT_TRUE(with_cert.ok()) << with_cert.status();
  EXPECT_EQ(with_cert->first, 0) << with_cert->second;
  EXPECT_THAT(with_cert->second, HasSubstr("SERVING"));
  absl::StatusOr<std::pair<int, std::string>> without_cert = RunToCompletion(
      {buf, "curl", "--protocol", "grpc", "--cacert", Path("ca.crt"), "--data", "{}", url});
  ASSERT_TRUE(without_cert.ok()) << without_cert.status();
  EXPECT_NE(without_cert->first, 0) << without_cert->second;
}

TEST_F(AccessTest, SighupReloadsTheCertificateForNewConnections) {
  AddConfigLines("api", absl::StrCat(kTokensYaml, "  tls:\n    cert_file: ", Path("live.crt"),
                                     "\n    key_file: ", Path("live.key"), "\n"));
  ASSERT_OK(certificates_->Copy("server.crt", "live.crt"));
  ASSERT_OK(certificates_->Copy("server.key", "live.key"));
  StartMailroom();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(WaitUntilServing(TlsChannel()));
  const auto served = [this] {
    return certificates_->ServedFingerprint(grpc_port_, {"-alpn", "h2"});
  };
  EXPECT_EQ(served(), certificates_->Fingerprint("server.crt"));

  // A broken file is not taken: the old certificate stays.
  ASSERT_OK(certificates_->Copy("renewed.crt", "live.crt"));  // the key does not match
  ASSERT_NO_FATAL_FAILURE(SighupAndWaitFor("gRPC API certificate not reloaded"));
  EXPECT_THAT(mailroom_->Output(), HasSubstr("is not the key of the certificate"));
  EXPECT_EQ(served(), certificates_->Fingerprint("server.crt"));

  ASSERT_OK(certificates_->Copy("renewed.key", "live.key"));
  ASSERT_NO_FATAL_FAILURE(SighupAndWaitFor("gRPC API certificate reloaded"));
  EXPECT_EQ(served(), certificates_->Fingerprint("renewed.crt"));
  EXPECT_TRUE(Check(TlsChannel()).ok());
}

TEST_F(AccessTest, UnreadableTlsFileStopsStartUpNamingKeyAndFile) {
  AddConfigLines("api", absl::StrCat(kTokensYaml, "  tls:\n    cert_file: ", Path("missing.crt"),
                                     "\n    key_file: ", Path("missing.key"), "\n"));
  StartMailroom();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_NE(mailroom_->Wait(absl::Seconds(60)), std::optional<int>(0));
  EXPECT_THAT(
      mailroom_->Output(),
      HasSubstr(absl::StrCat("`api.tls.cert_file` (", Path("missing.crt"), ") cannot be read: ")));
}

TEST_F(AccessTest, OpenApiOnAllInterfacesIsRefusedAtStartUpAndByConfigCheck) {
  std::string config = ReadFile(config_path_);
  config = absl::StrReplaceAll(
      config, {{absl::StrCat("127.0.0.1:", grpc_port_), absl::StrCat("0.0.0.0:", grpc_port_)}});
  std::ofstream(config_path_, std::ios::trunc) << config;

  StartMailroom();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_NE(mailroom_->Wait(absl::Seconds(60)), std::optional<int>(0));
  EXPECT_THAT(mailroom_->Output(),
              HasSubstr("is not a loopback address and `api.tokens` is empty"));

  absl::StatusOr<std::pair<int, std::string>> check = RunToCompletion(
      {TestEnvironment("MAILROOM_BINARY"), "config", "check", "--config", config_path_});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->first, 2) << check->second;
  EXPECT_THAT(check->second, HasSubstr("`api.address`"));
  EXPECT_THAT(check->second, HasSubstr("api.allow_unauthenticated: true"));

  absl::StatusOr<std::pair<int, std::string>> allowed =
      RunToCompletion({TestEnvironment("MAILROOM_BINARY"), "config", "check", "--config",
                       config_path_, "--set", "api.allow_unauthenticated=true"});
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->first, 0) << allowed->second;
}

}  // namespace
}  // namespace mailroom::testing
