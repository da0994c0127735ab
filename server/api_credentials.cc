#include "server/api_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"

namespace mailroom::server {
namespace {

constexpr absl::string_view kAuthorization = "authorization";

absl::string_view View(const grpc_slice& slice) {
  return absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                           GRPC_SLICE_LENGTH(slice));
}

// What the processor needs; owned by gRPC core's credentials (freed by Destroy).
struct ProcessorState {
  std::shared_ptr<const ApiAccess> access;
  // Kept alive here because gRPC core calls its fetcher for as long as the core credentials
  // live, which may be longer than our wrapper object.
  std::shared_ptr<ApiTlsCertificates> tls;
  prometheus::Family<prometheus::Counter>* decisions;
};

absl::string_view ResultName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "allowed";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    default:
      return "other";
  }
}

// grpc_auth_metadata_processor::process. Called once per call, on a gRPC thread, with the
// call's metadata; answers synchronously (hashing a token does not block).
void Process(void* state, grpc_auth_context* /*context*/, const grpc_metadata* metadata,
             size_t count, grpc_process_auth_metadata_done_cb done, void* user_data) {
  const ProcessorState& processor = *static_cast<const ProcessorState*>(state);
  absl::string_view method;
  absl::InlinedVector<absl::string_view, 1> authorization;
  const grpc_metadata* token_entry = nullptr;
  for (size_t i = 0; i < count; ++i) {
    const absl::string_view key = View(metadata[i].key);
    if (key == ":path") {
      method = View(metadata[i].value);
    } else if (key == kAuthorization) {
      authorization.push_back(View(metadata[i].value));
      token_entry = &metadata[i];
    }
  }
  const absl::StatusOr<ApiAccess::Caller> caller =
      processor.access->Authorize(method, authorization);
  const bool counted = !processor.access->open() && AccessOf(method) != MethodAccess::kOpen;
  if (counted && processor.decisions != nullptr) {
    const std::string token = caller.ok() ? caller->token_name : "";
    processor.decisions
        ->Add({{"token", token}, {"result", std::string(ResultName(caller.status().code()))}})
        .Increment();
  }
  if (!caller.ok()) {
    const std::string message(caller.status().message());
    done(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(caller.status().code()),
         message.c_str());
    return;
  }
  // Consuming the entry removes every `authorization` entry from what the handler sees.
  done(user_data, token_entry, token_entry != nullptr ? 1 : 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
}

void Destroy(void* state) { delete static_cast<ProcessorState*>(state); }

// grpc::ServerCredentials around credentials of gRPC core. AddPortToServer is the private
// virtual through which grpc::Server binds a port with its credentials.
class CoreServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit CoreServerCredentials(grpc_server_credentials* credentials)
      : credentials_(credentials) {}
  ~CoreServerCredentials() override { grpc_server_credentials_release(credentials_); }

  // The processor is ApiAccess's, set at construction; replacing it would open the API.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    return grpc_server_add_http2_port(server, address.c_str(), credentials_);
  }

  grpc_server_credentials* const credentials_;
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> ApiServerCredentials(
    std::shared_ptr<const ApiAccess> access, std::shared_ptr<ApiTlsCertificates> tls,
    Metrics* metrics) {
  grpc_server_credentials* credentials = nullptr;
  if (tls == nullptr) {
    credentials = grpc_insecure_server_credentials_create();
  } else {
    // RFC 8446 §4.3.2: with client_ca_file the handshake fails unless the client presents a
    // certificate that chains to one of those CAs.
    const grpc_ssl_client_certificate_request_type request =
        tls->requires_client_certificate()
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    credentials = grpc_ssl_server_credentials_create_with_options(
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            request, &ApiTlsCertificates::Fetch, tls.get()));
  }
  prometheus::Family<prometheus::Counter>* decisions = nullptr;
  if (metrics != nullptr) {
    decisions = &prometheus::BuildCounter()
                     .Name("mailroom_grpc_access_total")
                     .Help(
                         "Access decisions on calls that need a token, by token name (empty "
                         "when none was accepted) and result.")
                     .Register(metrics->registry());
  }
  grpc_auth_metadata_processor processor{};
  processor.process = &Process;
  processor.destroy = &Destroy;
  processor.state = new ProcessorState{std::move(access), std::move(tls), decisions};
  grpc_server_credentials_set_auth_metadata_processor(credentials, processor);
  return std::make_shared<CoreServerCredentials>(credentials);
}

}  // namespace mailroom::server
