// TlsContextProvider: the server-side TLS configuration of the SMTP listeners (STARTTLS and
// implicit TLS), as an asio::ssl::context built from PEM files or from a self-signed
// certificate generated at start-up.
//
// A connection asks current() for the context when it starts TLS and keeps that shared_ptr
// for the life of its stream, so Reload() (on SIGHUP, after a certificate renewal) only
// affects connections that start TLS afterwards; established streams keep the context they
// were built with. A Reload() that fails leaves the previous context in place.
//
// Without cert_file a self-signed certificate is generated: an EC P-256 key, X.509 v3, a
// random 128-bit serial, valid from one hour ago for one year, CN and subjectAltName
// DNS:<hostname>; for a localhost-ish hostname ("localhost", "*.localhost" or an empty
// hostname, which means "localhost") IP:127.0.0.1 and IP:::1 are added so that clients
// connecting by address can still match it. It is meant for development and tests: clients
// must be told not to verify it, which is why self_signed() and fingerprint_sha256() exist
// (the service reports them so an operator can pin the certificate).
//
// Thread-safety: TlsContextProvider is thread-safe; current(), Reload(), fingerprint_sha256()
// and self_signed() may be called from any thread at once. The asio::ssl::context returned by
// current() is never modified after it is published, so many connections may share it.
// DescribeTls() only reads the SSL object; call it from the thread that owns the stream.

#ifndef MAILROOM_SMTP_TLS_CONTEXT_H_
#define MAILROOM_SMTP_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::smtp {

struct TlsOptions {
  std::string cert_file;  // PEM certificate chain; empty → self-signed for `hostname`
  std::string key_file;   // PEM private key; empty → generated with the certificate, or
                          // read from cert_file when that is set (a combined PEM file)
  std::string hostname;   // CN and subjectAltName of a generated certificate
  std::string min_version = "TLSv1.2";  // "TLSv1.2" or "TLSv1.3"
};

// Holds the server's asio::ssl::context; swaps it atomically on Reload() (SIGHUP).
// Thread-safe.
class TlsContextProvider {
 public:
  // Builds the first context. Returns InvalidArgument for a bad min_version or a key_file
  // without a cert_file, and for PEM files that cannot be read or used (the message names
  // the option, the file and OpenSSL's reason, e.g. "smtp.tls.cert_file /x.pem: no
  // certificate found"), FailedPrecondition when the key does not match the certificate,
  // Internal when OpenSSL cannot generate a self-signed certificate.
  static absl::StatusOr<std::unique_ptr<TlsContextProvider>> Create(const TlsOptions& options);

  TlsContextProvider(const TlsContextProvider&) = delete;
  TlsContextProvider& operator=(const TlsContextProvider&) = delete;
  ~TlsContextProvider();

  // The context for a new connection. Never null.
  std::shared_ptr<asio::ssl::context> current() const;

  // Re-reads the PEM files and, when they load and match, publishes a new context. Returns
  // the same errors as Create() and then keeps the old context. With a self-signed
  // certificate this is a no-op returning OK (a new certificate would break pinning).
  absl::Status Reload();

  // SHA-256 of the current certificate's DER, as upper-case hex pairs joined by ':'
  // ("AB:CD:..."), the form `openssl x509 -fingerprint -sha256` prints.
  std::string fingerprint_sha256() const;

  // True when the certificate was generated because cert_file is empty.
  bool self_signed() const;

 private:
  TlsContextProvider(const TlsOptions& options, int min_version,
                     std::shared_ptr<asio::ssl::context> context, std::string fingerprint);

  const TlsOptions options_;
  const int min_version_;  // TLS1_2_VERSION or TLS1_3_VERSION

  mutable absl::Mutex mu_;
  std::shared_ptr<asio::ssl::context> context_ ABSL_GUARDED_BY(mu_);
  std::string fingerprint_ ABSL_GUARDED_BY(mu_);
};

// Protocol ("TLSv1.3") and cipher ("TLS_AES_256_GCM_SHA384") of an established stream.
struct TlsFacts {
  std::string protocol;
  std::string cipher;
};

// Describes the negotiated protocol and cipher of `ssl`. Returns empty fields for a null
// pointer or a stream whose handshake has not completed.
TlsFacts DescribeTls(const SSL* ssl);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_TLS_CONTEXT_H_
