// ApiAccess: who may call which gRPC method. Holds the bearer tokens of `api.tokens` (as
// SHA-256 digests) and decides each call from its method path and `authorization` metadata.
//
// It is consulted by the server credentials' metadata processor (api_credentials.h) for every
// call on the API port, before any handler runs, so no service implements access control
// itself. Roles per method (the "Access:" line of each service in proto/mailroom/v1):
//   - grpc.health.v1.Health and server reflection: open, with or without a token;
//   - mailroom.v1.MessageService and SessionService: `reader` or `admin`;
//   - mailroom.v1.OutboundService/SendMessage: `sender` or `admin`;
//   - every other method, including services added later: `admin` only (deny by default).
// With no tokens configured the API is open (the config check only allows that on loopback
// addresses or with `api.allow_unauthenticated`).
//
// Tokens are compared in constant time: the presented token is hashed and its digest
// compared with every configured digest by CRYPTO_memcmp, so neither the length nor the
// content of a configured token shows in the time taken. Token values are never logged;
// decisions name the token by its `name`.
//
// Immutable after construction: thread-safe.
#ifndef MAILROOM_SERVER_API_ACCESS_H_
#define MAILROOM_SERVER_API_ACCESS_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/config/settings.h"

namespace mailroom::server {

// Who may call a method, besides `admin` (who may call everything).
enum class MethodAccess {
  kOpen,    // Anyone, without a token.
  kReader,  // `reader` or `admin`.
  kSender,  // `sender` or `admin`.
  kAdmin,   // `admin` only.
};

// The access rule of `method`, a full path such as "/mailroom.v1.MessageService/GetMessage".
MethodAccess AccessOf(absl::string_view method);

// True for the methods of server reflection (v1 and v1alpha).
bool IsReflection(absl::string_view method);

// "admin", "reader", "sender".
absl::string_view RoleName(config::ApiRole role);

// True when `a` equals `b`; takes the same time whatever the contents and lengths (both are
// hashed with SHA-256 and the digests compared with CRYPTO_memcmp).
bool SecretsEqual(absl::string_view a, absl::string_view b);

class ApiAccess {
 public:
  // The token that authorized a call; empty name when none was needed or the API is open.
  struct Caller {
    std::string token_name;
  };

  // `reflection`: whether server reflection may be called (`api.reflection`). gRPC C++ 1.51
  // registers its reflection service in every server of a binary that links it, so turning
  // reflection off is enforced here.
  explicit ApiAccess(const std::vector<config::ApiTokenConfig>& tokens, bool reflection = true);

  // True when no token is configured: every call is allowed.
  bool open() const { return tokens_.empty(); }

  // Decides a call to `method` that carried `authorization` (the values of every
  // `authorization` metadata entry). Returns the caller, or:
  //  - Unimplemented for server reflection when it is turned off;
  //  - Unauthenticated when a token is needed and the metadata is missing, repeated, not of
  //    the form `Bearer <token>`, or names no configured token;
  //  - PermissionDenied when the token's role may not call `method` (the message names the
  //    method and the role it needs).
  absl::StatusOr<Caller> Authorize(absl::string_view method,
                                   absl::Span<const absl::string_view> authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;

  struct Token {
    std::string name;
    config::ApiRole role;
    Digest digest;
  };

  // The configured token whose digest equals `digest`, or nullptr. Looks at every token.
  const Token* Find(const Digest& digest) const;

  std::vector<Token> tokens_;
  bool reflection_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_API_ACCESS_H_
