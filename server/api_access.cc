#include "server/api_access.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mailroom::server {
namespace {

using config::ApiRole;

// Services (or single methods) that roles other than admin may call; the rest is admin-only.
struct Rule {
  absl::string_view prefix;  // "/package.Service/" or a full method path.
  MethodAccess access;
};

constexpr Rule kRules[] = {
    // Probes and tooling must work without credentials; reflection is only registered when
    // `api.reflection` is on, and it describes the API, never data.
    {"/grpc.health.v1.Health/", MethodAccess::kOpen},
    {"/grpc.reflection.v1alpha.ServerReflection/", MethodAccess::kOpen},
    {"/grpc.reflection.v1.ServerReflection/", MethodAccess::kOpen},
    {"/mailroom.v1.MessageService/", MethodAccess::kReader},
    {"/mailroom.v1.SessionService/", MethodAccess::kReader},
    {"/mailroom.v1.OutboundService/SendMessage", MethodAccess::kSender},
};

constexpr absl::string_view kSendBearer = "send `authorization: Bearer <token>`";

std::array<unsigned char, 32> Sha256(absl::string_view text) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool Allows(MethodAccess access, ApiRole role) {
  switch (access) {
    case MethodAccess::kOpen:
      return true;
    case MethodAccess::kReader:
      return role == ApiRole::kReader || role == ApiRole::kAdmin;
    case MethodAccess::kSender:
      return role == ApiRole::kSender || role == ApiRole::kAdmin;
    case MethodAccess::kAdmin:
      return role == ApiRole::kAdmin;
  }
  return false;
}

absl::string_view NeededRoles(MethodAccess access) {
  switch (access) {
    case MethodAccess::kReader:
      return "the reader or admin role";
    case MethodAccess::kSender:
      return "the sender or admin role";
    case MethodAccess::kOpen:
    case MethodAccess::kAdmin:
      break;
  }
  return "the admin role";
}

// The token of "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110
// §11.1), or nullopt when the value has another form.
std::optional<absl::string_view> BearerToken(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  const absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

MethodAccess AccessOf(absl::string_view method) {
  for (const Rule& rule : kRules) {
    const bool matches = absl::EndsWith(rule.prefix, "/") ? absl::StartsWith(method, rule.prefix)
                                                          : method == rule.prefix;
    if (matches) return rule.access;
  }
  return MethodAccess::kAdmin;
}

bool IsReflection(absl::string_view method) {
  return absl::StartsWith(method, "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/");
}

absl::string_view RoleName(ApiRole role) {
  switch (role) {
    case ApiRole::kAdmin:
      return "admin";
    case ApiRole::kReader:
      return "reader";
    case ApiRole::kSender:
      return "sender";
  }
  return "unknown";
}

bool SecretsEqual(absl::string_view a, absl::string_view b) {
  const std::array<unsigned char, 32> digest_a = Sha256(a);
  const std::array<unsigned char, 32> digest_b = Sha256(b);
  return CRYPTO_memcmp(digest_a.data(), digest_b.data(), digest_a.size()) == 0;
}

ApiAccess::ApiAccess(const std::vector<config::ApiTokenConfig>& tokens, bool reflection)
    : reflection_(reflection) {
  for (const config::ApiTokenConfig& token : tokens) {
    tokens_.push_back(Token{token.name, token.role, Sha256(token.token)});
  }
}

const ApiAccess::Token* ApiAccess::Find(const Digest& digest) const {
  // No early exit: the time taken does not tell which token (if any) matched.
  const Token* found = nullptr;
  for (const Token& token : tokens_) {
    const bool equal = CRYPTO_memcmp(token.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && found == nullptr) found = &token;
  }
  return found;
}

absl::StatusOr<ApiAccess::Caller> ApiAccess::Authorize(
    absl::string_view method, absl::Span<const absl::string_view> authorization) const {
  if (!reflection_ && IsReflection(method)) {
    return absl::UnimplementedError(
        "server reflection is turned off on this server (`api.reflection: false`)");
  }
  const MethodAccess access = AccessOf(method);
  if (open() || access == MethodAccess::kOpen) return Caller{};
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("missing authorization metadata; ", kSendBearer));
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError(absl::StrCat(
        authorization.size(), " authorization metadata entries; ", kSendBearer, " exactly once"));
  }
  // The value is never quoted back: a client that left out "Bearer " sent its token bare.
  const std::optional<absl::string_view> presented = BearerToken(authorization.front());
  if (!presented) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed authorization metadata: expected `Bearer <token>`; ", kSendBearer));
  }
  const Token* token = Find(Sha256(*presented));
  if (token == nullptr) {
    return absl::UnauthenticatedError(
        "unknown bearer token: it matches none of the tokens configured in `api.tokens`");
  }
  if (!Allows(access, token->role)) {
    return absl::PermissionDeniedError(absl::StrCat("token `", token->name, "` has the ",
                                                    RoleName(token->role), " role; ", method,
                                                    " needs ", NeededRoles(access)));
  }
  return Caller{token->name};
}

}  // namespace mailroom::server
