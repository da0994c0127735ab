#include "tests/integration/test_certificates.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tests/integration/child_process.h"

namespace mailroom::testing {
namespace {

constexpr char kMakeCertificates[] = R"sh(
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2"; }
leaf() { # name ca cn extensions
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" \
    -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca "Mailroom test CA"
ca other "Some other CA"
leaf server ca localhost "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf renewed ca localhost "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client ca e2e-client "extendedKeyUsage=clientAuth"
leaf stranger other stranger "extendedKeyUsage=clientAuth"
)sh";

// Runs a bash script; its output is the error when it does not exit 0.
absl::StatusOr<std::string> RunScript(const std::string& script) {
  absl::StatusOr<std::pair<int, std::string>> result =
      RunToCompletion({"/bin/bash", "-euo", "pipefail", "-c", script});
  if (!result.ok()) return result.status();
  if (result->first != 0) {
    return absl::InternalError(
        absl::StrCat("script failed (", result->first, "):\n", script, "\n", result->second));
  }
  return result->second;
}

std::string OrError(const absl::StatusOr<std::string>& value) {
  return value.ok() ? *value : absl::StrCat("error: ", value.status().ToString());
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestCertificates>> TestCertificates::Create() {
  char pattern[] = "/tmp/mailroom-certs.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<TestCertificates> certificates(new TestCertificates(pattern));
  absl::StatusOr<std::string> made =
      RunScript(absl::StrCat("cd '", certificates->dir_, "'\n", kMakeCertificates));
  if (!made.ok()) return made.status();
  return certificates;
}

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestCertificates::Path(const std::string& name) const {
  return absl::StrCat(dir_, "/", name);
}

absl::Status TestCertificates::Copy(const std::string& from, const std::string& to) const {
  std::error_code error;
  std::filesystem::copy_file(Path(from), Path(to),
                             std::filesystem::copy_options::overwrite_existing, error);
  if (error)
    return absl::InternalError(absl::StrCat("copy ", from, " ", to, ": ", error.message()));
  return absl::OkStatus();
}

std::string TestCertificates::Fingerprint(const std::string& name) const {
  return OrError(
      RunScript(absl::StrCat("openssl x509 -noout -fingerprint -sha256 -in '", Path(name), "'")));
}

std::string TestCertificates::ServedFingerprint(
    int port, const std::vector<std::string>& s_client_args) const {
  // s_client prints the server's certificate in PEM among its diagnostics; x509 picks it out.
  return OrError(RunScript(absl::StrCat("openssl s_client -connect 127.0.0.1:", port, " ",
                                        absl::StrJoin(s_client_args, " "), " </dev/null 2>&1",
                                        " | openssl x509 -noout -fingerprint -sha256")));
}

void CertificatesFixture::SetUp() {
  ScratchMailroomFixture::SetUp();
  if (HasFatalFailure()) return;
  absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::Create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  certificates_ = *std::move(certificates);
}

void CertificatesFixture::SighupAndWaitFor(const std::string& log_line) {
  mailroom_->Signal(SIGHUP);
  ASSERT_TRUE(mailroom_->WaitForOutput(log_line, absl::Seconds(30))) << mailroom_->Output();
}

}  // namespace mailroom::testing
