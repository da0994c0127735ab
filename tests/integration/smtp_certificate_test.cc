// SMTP TLS certificates from PEM files end to end: both TLS listeners (STARTTLS and implicit
// TLS) present the configured certificate, curl verifying it against the test CA delivers
// mail over each, and SIGHUP swaps the certificate for new connections — a renewal whose key
// does not match is refused and the certificate in use stays. The certificates are made at
// test time with the openssl CLI (tests/integration/test_certificates.h).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/mailroom_fixture.h"
#include "tests/integration/smtp_clients.h"
#include "tests/integration/test_certificates.h"
#include "tests/support/status_matchers.h"

namespace mailroom::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SmtpCertificateTest : public CertificatesFixture {
 protected:
  void SetUp() override {
    CertificatesFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(certificates_->Copy("server.crt", "live.crt"));
    ASSERT_OK(certificates_->Copy("server.key", "live.key"));

    AddConfigLines("smtp", absl::StrCat("  tls:\n    cert_file: ", certificates_->Path("live.crt"),
                                        "\n    key_file: ", certificates_->Path("live.key"), "\n"));
  }

  // The certificate the STARTTLS listener and the implicit-TLS listener present.
  std::string ServedOnStartTls() const {
    return certificates_->ServedFingerprint(smtp_port_, {"-starttls", "smtp"});
  }
  std::string ServedOnImplicitTls() const {
    return certificates_->ServedFingerprint(smtps_port_, {});
  }

  // Sends a message with curl, which verifies the server's certificate against the test CA
  // and its name (127.0.0.1 is in the certificate's subjectAltName).
  absl::StatusOr<ClientResult> SendVerified(const std::string& url) const {
    return RunCurl({url, "--ssl-reqd", "--cacert", certificates_->Path("ca.crt"), "--mail-from",
                    "sender@example.test", "--mail-rcpt", "rcpt@example.test", "--upload-file",
                    WriteTestFile(absl::StrCat("verified-", smtp_port_, ".eml"),
                                  "Subject: verified\r\n\r\nbody\r\n")});
  }
};

TEST_F(SmtpCertificateTest, BothListenersPresentTheConfiguredCertificateToVerifyingClients) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  EXPECT_EQ(ServedOnStartTls(), certificates_->Fingerprint("server.crt"));
  EXPECT_EQ(ServedOnImplicitTls(), certificates_->Fingerprint("server.crt"));

  absl::StatusOr<ClientResult> starttls =
      SendVerified(absl::StrCat("smtp://127.0.0.1:", smtp_port_, "/curl.test"));
  ASSERT_TRUE(starttls.ok()) << starttls.status();
  EXPECT_EQ(starttls->first, 0) << starttls->second;
  absl::StatusOr<ClientResult> implicit =
      SendVerified(absl::StrCat("smtps://127.0.0.1:", smtps_port_, "/curl.test"));
  ASSERT_TRUE(implicit.ok()) << implicit.status();
  EXPECT_EQ(implicit->first, 0) << implicit->second;

  absl::StatusOr<std::vector<StoredMessage>> messages = store().Messages();
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), 2u);
  for (const StoredMessage& message : *messages) {
    EXPECT_EQ(message.subject, "verified");
    EXPECT_TRUE(message.tls_protocol.has_value());
  }
}

TEST_F(SmtpCertificateTest, SighupSwapsTheCertificateAndKeepsItWhenTheRenewalIsBroken) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  ASSERT_THAT(certificates_->Fingerprint("server.crt"), HasSubstr("Fingerprint="));
  ASSERT_NE(certificates_->Fingerprint("server.crt"), certificates_->Fingerprint("renewed.crt"));
  ASSERT_EQ(ServedOnStartTls(), certificates_->Fingerprint("server.crt"));

  // A certificate whose key is still the old one is not taken.
  ASSERT_OK(certificates_->Copy("renewed.crt", "live.crt"));
  ASSERT_NO_FATAL_FAILURE(SighupAndWaitFor("SIGHUP: TLS certificate not reloaded"));
  EXPECT_EQ(ServedOnStartTls(), certificates_->Fingerprint("server.crt"));
  EXPECT_EQ(ServedOnImplicitTls(), certificates_->Fingerprint("server.crt"));

  // With its key it is, for new connections on both listeners.
  ASSERT_OK(certificates_->Copy("renewed.key", "live.key"));
  ASSERT_NO_FATAL_FAILURE(SighupAndWaitFor("SIGHUP: TLS certificate reloaded"));
  EXPECT_EQ(ServedOnStartTls(), certificates_->Fingerprint("renewed.crt"));
  EXPECT_EQ(ServedOnImplicitTls(), certificates_->Fingerprint("renewed.crt"));
  absl::StatusOr<ClientResult> sent =
      SendVerified(absl::StrCat("smtps://127.0.0.1:", smtps_port_, "/curl.test"));
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->first, 0) << sent->second;
  // The log names the new certificate by its fingerprint, never the key.
  EXPECT_THAT(mailroom_->Output(), Not(HasSubstr("PRIVATE KEY")));
}

}  // namespace
}  // namespace mailroom::testing
