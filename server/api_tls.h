// ApiTlsCertificates: the certificate, key and (for mTLS) client CAs of the gRPC API port,
// read from the PEM files of `api.tls`, checked, and handed to gRPC's TLS handshakes.
//
// gRPC asks for the current set before each handshake (the SSL "certificate config fetcher"
// of grpc_security.h); Reload() (on SIGHUP, after a renewal) reads the files again and, only
// if they are valid, has the next handshake pick them up. Connections already open keep the
// certificate they were made with. Used by api_credentials.cc; the Mailroom calls Reload().
//
// Thread-safe: Reload() may run while gRPC fetches on its own threads.
#ifndef MAILROOM_SERVER_API_TLS_H_
#define MAILROOM_SERVER_API_TLS_H_

#include <grpc/grpc_security.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/config/settings.h"

namespace mailroom::server {

// The contents of the PEM files, checked: the chain and the CAs parse, the key parses and
// belongs to the chain's first certificate.
struct ApiTlsPem {
  std::string cert_chain;
  std::string private_key;         // Secret. Never log it.
  std::string client_ca;           // Empty: clients are not asked for a certificate.
  std::string fingerprint_sha256;  // Of the leaf certificate, "AB:CD:..." as openssl prints it.
};

// Reads and checks the files of `tls`. Returns InvalidArgument naming the setting and the file
// when one cannot be read, holds no PEM certificate or key, or the key does not match.
// REQUIRES: tls.cert_file and tls.key_file are set.
absl::StatusOr<ApiTlsPem> LoadApiTlsPem(const config::ApiTlsConfig& tls);

class ApiTlsCertificates {
 public:
  // Reads the files of `tls` (errors as LoadApiTlsPem).
  // REQUIRES: tls.cert_file and tls.key_file are set.
  static absl::StatusOr<std::shared_ptr<ApiTlsCertificates>> Create(
      const config::ApiTlsConfig& tls);

  ~ApiTlsCertificates();
  ApiTlsCertificates(const ApiTlsCertificates&) = delete;
  ApiTlsCertificates& operator=(const ApiTlsCertificates&) = delete;

  // Reads the files again; on success the next handshake uses them. On error (as
  // LoadApiTlsPem) the previous certificate stays in use.
  absl::Status Reload();

  // True when clients must present a certificate signed by `api.tls.client_ca_file`. Fixed
  // at start-up: a reload changes the CAs, not whether client certificates are required.
  bool requires_client_certificate() const { return !tls_.client_ca_file.empty(); }

  std::string fingerprint_sha256() const;

  // The gRPC fetcher (grpc_ssl_server_certificate_config_callback): hands over the set read
  // last, once, then answers "unchanged" until the next Reload().
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* self, grpc_ssl_server_certificate_config** config);

 private:
  explicit ApiTlsCertificates(config::ApiTlsConfig tls) : tls_(std::move(tls)) {}

  void Offer(const ApiTlsPem& pem);

  const config::ApiTlsConfig tls_;
  mutable absl::Mutex mutex_;
  // Read but not yet fetched by gRPC; owned.
  grpc_ssl_server_certificate_config* pending_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::string fingerprint_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_API_TLS_H_
