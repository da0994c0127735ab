// A throwaway PKI for the TLS tests, made with the openssl CLI in a temporary directory:
//   ca        "Mailroom test CA"
//   other     "Some other CA"
//   server    leaf of ca for 127.0.0.1 and localhost
//   renewed   another leaf of ca for 127.0.0.1 and localhost (a certificate renewal)
//   client    client-auth leaf of ca
//   stranger  client-auth leaf of other
// each as NAME.crt and NAME.key (EC P-256), plus what the tests copy there ("live.crt").
//
// Thread-safety: an instance is used by one test's thread.
#ifndef MAILROOM_TESTS_INTEGRATION_TEST_CERTIFICATES_H_
#define MAILROOM_TESTS_INTEGRATION_TEST_CERTIFICATES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {

class TestCertificates {
 public:
  // Makes the files; the directory goes with the object.
  static absl::StatusOr<std::unique_ptr<TestCertificates>> Create();
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string Path(const std::string& name) const;
  // Copies file `from` to `to` in the directory, replacing it (a certificate deployment).
  absl::Status Copy(const std::string& from, const std::string& to) const;
  // The SHA-256 fingerprint of certificate file `name`, as `openssl x509 -fingerprint`
  // prints it ("sha256 Fingerprint=AB:CD:..."), or "error: " and why there is none (so that
  // a comparison fails showing the reason).
  std::string Fingerprint(const std::string& name) const;
  // The same for the certificate the server on 127.0.0.1:`port` presents to
  // `openssl s_client` run with `s_client_args` (such as {"-starttls", "smtp"}).
  std::string ServedFingerprint(int port, const std::vector<std::string>& s_client_args) const;

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

// A ScratchMailroomFixture with its own TestCertificates.
class CertificatesFixture : public ScratchMailroomFixture {
 protected:
  void SetUp() override;

  // Sends the running binary SIGHUP and waits for `log_line`, the reload's verdict.
  void SighupAndWaitFor(const std::string& log_line);

  std::unique_ptr<TestCertificates> certificates_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_TEST_CERTIFICATES_H_
