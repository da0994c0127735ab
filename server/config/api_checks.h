// Cross-field checks of the gRPC API's access settings (`api.tokens`, `api.address`,
// `api.allow_unauthenticated`, `api.tls`), registered on the schema in mailroom_schema.cc so
// that start-up and `mailroom config check` report them with the keys involved.
//
// The rule that matters most: with no tokens the API is open, which is only allowed on a
// loopback address unless `api.allow_unauthenticated: true` says it is meant. Token values
// are secrets: no finding ever quotes one. Pure functions: thread-safe.

#ifndef MAILROOM_SERVER_CONFIG_API_CHECKS_H_
#define MAILROOM_SERVER_CONFIG_API_CHECKS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "server/config/schema.h"
#include "server/config/settings.h"

namespace mailroom::config {

// Shortest bearer token accepted: 16 characters.
inline constexpr size_t kMinApiTokenLength = 16;

// True when `host_port` ("127.0.0.1:50051", "[::1]:50051", "localhost:50051") binds only a
// loopback interface: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or the name `localhost`.
// Other names are not resolved, so they count as non-loopback.
bool IsLoopbackHostPort(absl::string_view host_port);

// Appends a finding for: a token shorter than kMinApiTokenLength, a repeated token name, a
// token value given twice, an open API on a non-loopback address without
// `allow_unauthenticated`, a certificate without its key (or the reverse), and a client CA
// without a server certificate.
void CheckApiAccess(const Config& config, std::vector<Finding>& findings);

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_API_CHECKS_H_
