#include "server/grpc_server.h"

#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api_access.h"
#include "server/api_credentials.h"
#include "server/grpc_request_counter.h"

namespace mailroom::server {
namespace {

int Milliseconds(absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  return static_cast<int>(std::min<int64_t>(ms, std::numeric_limits<int>::max()));
}

int ClampToInt(int64_t value) {
  return static_cast<int>(std::min<int64_t>(value, std::numeric_limits<int>::max()));
}

void ApplyHttp2Protection(const config::ApiConfig& config, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config.max_concurrent_streams));
  // Keepalive: the server pings idle clients, and clients may ping (also between calls, as
  // long-lived Watch streams need) but not more often than min_client_ping_interval; after
  // two such strikes the connection is closed.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(config.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(config.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(config.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             Milliseconds(config.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             Milliseconds(config.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             Milliseconds(config.max_connection_age_grace));
  // Headers are small in this API; a large header list is an attack, not a request.
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, 16 * 1024);
}

}  // namespace

absl::StatusOr<RunningGrpcServer> StartGrpcServer(const config::ApiConfig& config,
                                                  const std::vector<grpc::Service*>& services,
                                                  Metrics* metrics) {
  // Both are process-wide switches that must be set before the builder runs.
  grpc::EnableDefaultHealthCheckService(true);
  // With reflection off, ApiAccess refuses its calls: linking gRPC's reflection library
  // registers the plugin for every server anyway.
  if (config.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  RunningGrpcServer running;
  if (!config.tls.cert_file.empty()) {
    absl::StatusOr<std::shared_ptr<ApiTlsCertificates>> tls =
        ApiTlsCertificates::Create(config.tls);
    if (!tls.ok()) return tls.status();
    running.tls = std::move(*tls);
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      config.address,
      ApiServerCredentials(std::make_shared<const ApiAccess>(config.tokens, config.reflection),
                           running.tls, metrics),
      &running.port);
  builder.SetMaxReceiveMessageSize(ClampToInt(config.max_receive_message_size));
  builder.SetMaxSendMessageSize(ClampToInt(config.max_send_message_size));
  ApplyHttp2Protection(config, builder);
  for (grpc::Service* service : services) builder.RegisterService(service);

  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<GrpcRequestCounterFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  running.server = builder.BuildAndStart();
  if (running.server == nullptr || running.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("gRPC server cannot listen on ", config.address,
                     " (address in use, or not an address of this host?)"));
  }
  SetServing(*running.server, false);
  return running;
}

void LogApiAccess(const config::ApiConfig& config, const RunningGrpcServer& running,
                  Logger* logger) {
  std::vector<std::string> tokens;
  for (const config::ApiTokenConfig& token : config.tokens) {
    tokens.push_back(absl::StrCat(token.name, " (", RoleName(token.role), ")"));
  }
  const std::string tls = running.tls == nullptr ? "off"
                          : running.tls->requires_client_certificate()
                              ? "on, client certificates required"
                              : "on";
  const std::string fingerprint = running.tls == nullptr ? "" : running.tls->fingerprint_sha256();
  if (tokens.empty()) {
    // The config check allowed it: a loopback address, or allow_unauthenticated.
    logger->Warn("gRPC API is open: no api.tokens, so every caller may call every method",
                 {{"address", config.address}, {"tls", tls}, {"sha256_fingerprint", fingerprint}});
    return;
  }
  logger->Info(
      "gRPC API requires bearer tokens",
      {{"tokens", absl::StrJoin(tokens, ", ")}, {"tls", tls}, {"sha256_fingerprint", fingerprint}});
}

void ReloadApiCertificates(const RunningGrpcServer& running, Logger* logger) {
  if (running.tls == nullptr) return;
  const absl::Status reloaded = running.tls->Reload();
  if (!reloaded.ok()) {
    logger->Error("SIGHUP: gRPC API certificate not reloaded; the previous one stays in use",
                  {{"error", std::string(reloaded.message())}});
    return;
  }
  logger->Info("SIGHUP: gRPC API certificate reloaded; new connections use it",
               {{"sha256_fingerprint", running.tls->fingerprint_sha256()}});
}

void SetServing(grpc::Server& server, bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

}  // namespace mailroom::server
