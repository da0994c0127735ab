// Authenticator: how the SMTP engine checks SASL credentials (AUTH PLAIN, LOGIN, CRAM-MD5).
//
// The engine decodes the mechanism's exchange and hands the result here; the users issue
// implements it over the users table, and until then server/ accepts any credentials
// (`smtp.auth.allow_any_credentials`, as smtp4dev does).
//
// Thread-safety: implementations must accept calls from any thread. `done` may run on any
// thread, exactly once.
#ifndef MAILROOM_SMTP_AUTHENTICATOR_H_
#define MAILROOM_SMTP_AUTHENTICATOR_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace mailroom::smtp {

struct Credentials {
  std::string mechanism;         // "PLAIN", "LOGIN" or "CRAM-MD5"
  std::string authorization_id;  // PLAIN's authzid; usually empty
  std::string username;
  // PLAIN and LOGIN: the password. Secret: never log or record it.
  std::string password;
  // CRAM-MD5 (RFC 2195): the challenge the server sent and the client's hex digest.
  std::string challenge;
  std::string digest;
};

class Authenticator {
 public:
  // OK: authenticated. Unauthenticated: wrong credentials (535 5.7.8); the message says
  // what was wrong for the transcript ("unknown user", "wrong password", "user disabled")
  // and never contains the secret. Unavailable: cannot check now (454 4.7.0).
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~Authenticator() = default;

  virtual void Authenticate(const Credentials& credentials, Done done) = 0;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_AUTHENTICATOR_H_
