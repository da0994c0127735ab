// SASL server side of the AUTH command (RFC 4954): the PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195) exchanges, plus the strict base64
// they travel in.
//
// A SaslExchange turns the client's lines into Credentials for the Authenticator
// (smtp/authenticator.h); it never decides whether they are right. CRAM-MD5 hands the
// challenge and the client's digest over, and authenticators that hold the secret check them
// with VerifyCramMd5().
//
// Thread-safety: SaslExchange is not thread-safe (one session uses it); the free functions
// are pure and thread-safe.
#ifndef MAILROOM_SMTP_SASL_H_
#define MAILROOM_SMTP_SASL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smtp/authenticator.h"
#include "smtp/reply.h"

namespace mailroom::smtp {

enum class SaslMechanism { kPlain, kLogin, kCramMd5 };

// "PLAIN", "LOGIN", "CRAM-MD5" (case-insensitive) or nullopt.
std::optional<SaslMechanism> ParseSaslMechanism(absl::string_view name);
absl::string_view SaslMechanismName(SaslMechanism mechanism);

class SaslExchange {
 public:
  struct Step {
    enum class Kind {
      kChallenge,  // send "334 <challenge>" and pass the client's next line to Respond()
      kDone,       // give `credentials` to the Authenticator
      kRejected,   // send MakeReply(rejection); the exchange is over
    };
    Kind kind = Kind::kRejected;
    std::string challenge;  // base64, for kChallenge (may be empty: "334 ")
    Credentials credentials;
    ReplyId rejection = ReplyId::kAuthMalformed;
  };

  // `cram_challenge` is the plain-text challenge CRAM-MD5 sends (see MakeCramMd5Challenge);
  // ignored by the other mechanisms.
  SaslExchange(SaslMechanism mechanism, std::string cram_challenge);

  // Starts the exchange with the AUTH command's initial response, if any (base64, "=" for
  // empty; RFC 4954 §4).
  Step Start(const std::optional<std::string>& initial_response);

  // The client's answer to the last challenge: base64, or "*" to cancel (kAuthCancelled).
  // Malformed base64 is kAuthBadBase64; well-formed but unusable data is kAuthMalformed.
  Step Respond(absl::string_view line);

 private:
  Step Challenge(absl::string_view text);
  Step Finish(absl::string_view decoded);

  SaslMechanism mechanism_;
  std::string cram_challenge_;
  Credentials credentials_;
  int stage_ = 0;  // LOGIN: 0 wants the user name, 1 the password
};

// Strict base64 (RFC 4648 §4): standard alphabet, padding required, no whitespace. Returns
// nullopt on anything else.
std::optional<std::string> DecodeBase64(absl::string_view text);
std::string EncodeBase64(absl::string_view bytes);

// "<random.unixtime@hostname>" (RFC 2195 §2), with 64 random bits from OpenSSL.
std::string MakeCramMd5Challenge(absl::string_view hostname, absl::Time now);

// True if `digest` (hex, either case) is HMAC-MD5(secret, challenge) (RFC 2195 §2). Compares
// in constant time.
bool VerifyCramMd5(absl::string_view secret, absl::string_view challenge, absl::string_view digest);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_SASL_H_
