// The server credentials of the gRPC API port: plaintext or TLS (with client certificates
// when `api.tls.client_ca_file` is set), and on both, ApiAccess deciding every call.
//
// Access control lives in gRPC core's auth metadata processor, which runs for every call
// on the port before the call reaches any service: it sees the method path (":path") and
// the `authorization` metadata, and a refusal ends the call with UNAUTHENTICATED or
// PERMISSION_DENIED. No handler checks tokens itself, so services added later are covered
// (admin-only unless api_access.cc says otherwise). gRPC C++ 1.51 refuses a processor on
// grpc::InsecureServerCredentials() (it aborts), so these credentials are built from gRPC
// core's credentials (insecure or SSL) and attach the processor there. The token is removed
// from the call's metadata once accepted, so handlers never see it.
//
// Thread-safety: the processor runs on gRPC's threads; ApiAccess is immutable and
// ApiTlsCertificates is thread-safe.
#ifndef MAILROOM_SERVER_API_CREDENTIALS_H_
#define MAILROOM_SERVER_API_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "server/api_access.h"
#include "server/api_tls.h"
#include "server/metrics.h"

namespace mailroom::server {

// Credentials that admit calls as `access` decides, in plaintext when `tls` is null, else
// over TLS with `tls`'s certificates (kept alive as long as gRPC uses them). Decisions on
// methods that need a token are counted in `metrics` as mailroom_grpc_access_total{token,
// result}. REQUIRES: `metrics` outlives every server the credentials are added to.
std::shared_ptr<grpc::ServerCredentials> ApiServerCredentials(
    std::shared_ptr<const ApiAccess> access, std::shared_ptr<ApiTlsCertificates> tls,
    Metrics* metrics);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_API_CREDENTIALS_H_
