// Password material for SMTP AUTH: what the users table stores instead of a password, and
// the checks AUTH runs against it.
//
// PLAIN and LOGIN carry the password, so a slow salted hash is enough: scrypt (RFC 7914)
// from OpenSSL 3, N = 2^15, r = 8, p = 1 (32 MiB and roughly 50–100 ms per hash), with a
// 16-byte random salt, stored as a self-describing PHC-style string
//   $scrypt$ln=15,r=8,p=1$<salt, base64 without padding>$<32-byte key, base64 without padding>
// so that the cost can be raised later without breaking stored hashes.
//
// CRAM-MD5 (RFC 2195) never shows the password: the client proves it knows it with
// HMAC-MD5(password, challenge), which the server can only check by computing the same
// HMAC. Storing the password for that is what we refuse to do; instead we store what
// Dovecot's CRAM-MD5 scheme stores: the two MD5 chaining states after the HMAC's first
// block, MD5 over (key XOR ipad) and over (key XOR opad). From those, HMAC-MD5 of any
// challenge can be finished without the password. The verifier is 32 bytes (inner state
// A, B, C, D then outer state A, B, C, D, each word little-endian, as MD5 keeps them). It is
// password-equivalent for CRAM-MD5 (anyone holding it can answer a challenge), and it is
// a fast unsalted function of the password, so it must be guarded like a hash, never shown.
//
// VerifiedPasswordCache remembers successful scrypt verifications so that a test suite that
// logs in hundreds of times a minute does not pay scrypt every time (see its comment for the
// trade-off).
//
// Thread-safety: the free functions are thread-safe; VerifiedPasswordCache is thread-safe.
#ifndef MAILROOM_SERVER_PASSWORD_HASH_H_
#define MAILROOM_SERVER_PASSWORD_HASH_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::server {

// scrypt's cost parameters: N = 2^log2_n, block size r, parallelism p.
struct ScryptParams {
  int log2_n = 15;
  int r = 8;
  int p = 1;
};

// Size of a CRAM-MD5 verifier: two MD5 chaining states of 16 bytes.
inline constexpr size_t kCramMd5VerifierSize = 32;

// Returns the PHC string of `password` with a fresh 16-byte random salt and the default
// parameters. Internal when OpenSSL fails (out of memory, no randomness).
absl::StatusOr<std::string> HashPassword(absl::string_view password);

// As above with the given parameters and salt (for tests and for raising the cost).
// InvalidArgument when the parameters are out of the range ParsePasswordHash accepts.
absl::StatusOr<std::string> HashPassword(absl::string_view password, const ScryptParams& params,
                                         absl::string_view salt);

// Returns true if `password` matches the PHC string `stored`, comparing in constant time.
// InvalidArgument when `stored` is not a hash this code can read (unknown scheme, bad
// parameters, bad base64); Internal when OpenSSL fails.
absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view stored);

// Returns the CRAM-MD5 verifier of `password` (kCramMd5VerifierSize bytes).
std::string CramMd5Verifier(absl::string_view password);

// Returns HMAC-MD5(password, challenge) in lower-case hex, finished from `verifier` alone.
// InvalidArgument when the verifier does not have kCramMd5VerifierSize bytes.
absl::StatusOr<std::string> CramMd5DigestFromVerifier(absl::string_view verifier,
                                                      absl::string_view challenge);

// Returns true if `client_digest` (hex, either case) is the CRAM-MD5 answer to `challenge`
// for the password behind `verifier`, comparing in constant time. InvalidArgument for a
// malformed verifier.
absl::StatusOr<bool> VerifyCramMd5Verifier(absl::string_view verifier, absl::string_view challenge,
                                           absl::string_view client_digest);

// Successful password verifications, so that a repeated correct login skips scrypt.
//
// An entry is the user id, the stored hash string and HMAC-SHA256(password) under a key
// drawn at random when the cache is made, so that:
//  - a changed password (new hash) or a recreated user (new id) misses the cache at once;
//  - only correct passwords are remembered (a wrong one always pays scrypt, so guessing is
//    not made cheaper);
//  - no password is kept in memory, only a keyed MAC of it.
// The trade-off: someone who can read this process's memory gets the key and the MACs and
// could test guesses at HMAC speed instead of scrypt speed. Anyone who can read our memory
// also sees passwords arrive in AUTH, so this adds little, and a development mail catcher's
// logins are convenience credentials; the gain is that busy test suites are not throttled
// to ~15 logins/s per core. Entries are bounded (oldest evicted first).
class VerifiedPasswordCache {
 public:
  explicit VerifiedPasswordCache(size_t capacity = 4096);

  // True if (user_id, stored_hash, password) was Remember()ed and not evicted since.
  bool Contains(absl::string_view user_id, absl::string_view stored_hash,
                absl::string_view password) const;
  void Remember(absl::string_view user_id, absl::string_view stored_hash,
                absl::string_view password);

 private:
  std::string Key(absl::string_view user_id, absl::string_view stored_hash,
                  absl::string_view password) const;

  const size_t capacity_;
  std::string mac_key_;  // random, set once in the constructor

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);  // insertion order, for eviction
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_PASSWORD_HASH_H_
