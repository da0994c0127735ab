#include "server/api_tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/config/file_text.h"

namespace mailroom::server {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniqueKey = std::unique_ptr<EVP_PKEY, KeyFree>;

UniqueBio MemoryBio(const std::string& text) {
  return UniqueBio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string Where(absl::string_view key, const std::string& path) {
  return absl::StrCat("`api.tls.", key, "` (", path, ")");
}

absl::StatusOr<std::string> Read(absl::string_view key, const std::string& path) {
  absl::StatusOr<std::string> text = config::ReadTextFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(key, path), " cannot be read: ", text.status().message()));
  }
  return text;
}

// The certificates of a PEM text, in order; empty when there is none.
std::vector<UniqueX509> Certificates(const std::string& pem) {
  std::vector<UniqueX509> certificates;
  UniqueBio bio = MemoryBio(pem);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  return certificates;
}

std::string Fingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(certificate, EVP_sha256(), digest, &size);
  std::vector<std::string> bytes;
  for (unsigned int i = 0; i < size; ++i) bytes.push_back(absl::StrFormat("%02X", digest[i]));
  return absl::StrJoin(bytes, ":");
}

}  // namespace

absl::StatusOr<ApiTlsPem> LoadApiTlsPem(const config::ApiTlsConfig& tls) {
  ApiTlsPem pem;
  absl::StatusOr<std::string> chain = Read("cert_file", tls.cert_file);
  if (!chain.ok()) return chain.status();
  pem.cert_chain = std::move(*chain);
  const std::vector<UniqueX509> certificates = Certificates(pem.cert_chain);
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where("cert_file", tls.cert_file), " holds no PEM certificate"));
  }

  absl::StatusOr<std::string> key = Read("key_file", tls.key_file);
  if (!key.ok()) return key.status();
  pem.private_key = std::move(*key);
  UniqueBio key_bio = MemoryBio(pem.private_key);
  UniqueKey private_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (private_key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where("key_file", tls.key_file), " holds no PEM private key (or it is encrypted)"));
  }
  if (X509_check_private_key(certificates.front().get(), private_key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(Where("key_file", tls.key_file),
                                                   " is not the key of the certificate in ",
                                                   Where("cert_file", tls.cert_file)));
  }
  pem.fingerprint_sha256 = Fingerprint(certificates.front().get());

  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = Read("client_ca_file", tls.client_ca_file);
    if (!ca.ok()) return ca.status();
    if (Certificates(*ca).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where("client_ca_file", tls.client_ca_file), " holds no PEM certificate"));
    }
    pem.client_ca = std::move(*ca);
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<ApiTlsCertificates>> ApiTlsCertificates::Create(
    const config::ApiTlsConfig& tls) {
  absl::StatusOr<ApiTlsPem> pem = LoadApiTlsPem(tls);
  if (!pem.ok()) return pem.status();
  std::shared_ptr<ApiTlsCertificates> certificates(new ApiTlsCertificates(tls));
  certificates->Offer(*pem);
  return certificates;
}

ApiTlsCertificates::~ApiTlsCertificates() {
  absl::MutexLock lock(&mutex_);
  if (pending_ != nullptr) grpc_ssl_server_certificate_config_destroy(pending_);
}

absl::Status ApiTlsCertificates::Reload() {
  absl::StatusOr<ApiTlsPem> pem = LoadApiTlsPem(tls_);
  if (!pem.ok()) return pem.status();
  Offer(*pem);
  return absl::OkStatus();
}

std::string ApiTlsCertificates::fingerprint_sha256() const {
  absl::MutexLock lock(&mutex_);
  return fingerprint_;
}

void ApiTlsCertificates::Offer(const ApiTlsPem& pem) {
  const grpc_ssl_pem_key_cert_pair pair{pem.private_key.c_str(), pem.cert_chain.c_str()};
  // gRPC 1.51 asserts that a fetched config has root certificates, even when client
  // certificates are not requested (and the roots therefore never used); without a client
  // CA, the server's own chain fills the slot. gRPC copies the strings.
  const std::string& roots = pem.client_ca.empty() ? pem.cert_chain : pem.client_ca;
  grpc_ssl_server_certificate_config* config =
      grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
  absl::MutexLock lock(&mutex_);
  if (pending_ != nullptr) grpc_ssl_server_certificate_config_destroy(pending_);
  pending_ = config;
  fingerprint_ = pem.fingerprint_sha256;
}

grpc_ssl_certificate_config_reload_status ApiTlsCertificates::Fetch(
    void* self, grpc_ssl_server_certificate_config** config) {
  ApiTlsCertificates* certificates = static_cast<ApiTlsCertificates*>(self);
  absl::MutexLock lock(&certificates->mutex_);
  if (certificates->pending_ == nullptr) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  *config = std::exchange(certificates->pending_, nullptr);
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

}  // namespace mailroom::server
