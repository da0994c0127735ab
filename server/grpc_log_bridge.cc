#include "server/grpc_log_bridge.h"

#include <grpc/support/log.h>

#include <atomic>

#include "absl/strings/str_cat.h"

namespace mailroom::server {
namespace {

std::atomic<Logger*> grpc_logger{nullptr};

LogLevel LevelOf(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      return LogLevel::kDebug;
    case GPR_LOG_SEVERITY_INFO:
      return LogLevel::kInfo;
    case GPR_LOG_SEVERITY_ERROR:
      return LogLevel::kError;
  }
  return LogLevel::kError;
}

void LogThroughLogger(gpr_log_func_args* args) {
  Logger* logger = grpc_logger.load(std::memory_order_acquire);
  if (logger == nullptr) return;
  logger->Log(LevelOf(args->severity), args->message,
              {{"component", "grpc"}, {"source", absl::StrCat(args->file, ":", args->line)}});
}

}  // namespace

void RouteGrpcLogsTo(Logger* logger) {
  grpc_logger.store(logger, std::memory_order_release);
  gpr_set_log_function(LogThroughLogger);
}

}  // namespace mailroom::server
