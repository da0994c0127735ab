// mailroom: the process. Reads the command line and configuration, then wires the parts
// together: logger, metrics, PostgreSQL pool, gRPC server, database supervisor; and takes
// them down again in reverse order on SIGTERM/SIGINT.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/build_info.h"
#include "server/command_line.h"
#include "server/config/loader.h"
#include "server/grpc_log_bridge.h"
#include "server/logger.h"
#include "server/mailroom.h"
#include "server/process_signals.h"
#include "storage/migrations.h"
#include "storage/pool.h"

namespace mailroom::server {
namespace {

// Exit codes: 2 for a usage or configuration problem (what `config check` reports), 1 for
// a failure at run time.
constexpr int kExitRuntimeError = 1;
constexpr int kExitConfigError = 2;

LogLevel ToLogLevel(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kDebug:
      return LogLevel::kDebug;
    case config::LogLevel::kInfo:
      return LogLevel::kInfo;
    case config::LogLevel::kWarn:
      return LogLevel::kWarn;
    case config::LogLevel::kError:
      return LogLevel::kError;
  }
  return LogLevel::kInfo;
}

int RunMigrate(const config::Config& config, Logger& logger) {
  absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> pool = storage::ConnectionPool::Create(
      storage::PoolOptions{.url = config.database.url,
                           .size = 1,
                           .connect_timeout = config.database.connect_timeout});
  if (!pool.ok()) {
    logger.Error("cannot use the database", {{"error", std::string(pool.status().message())}});
    return kExitRuntimeError;
  }
  absl::StatusOr<int> applied = storage::Migrate(**pool);
  if (!applied.ok()) {
    logger.Error("migration failed", {{"error", std::string(applied.status().message())}});
    return kExitRuntimeError;
  }
  logger.Info("database schema is current",
              {{"migrations_applied", absl::StrCat(*applied)},
               {"schema_version", absl::StrCat(storage::LatestSchemaVersion())}});
  return 0;
}

// glibc returns the free top of a heap to the kernel once it exceeds 128 KiB, and the
// ingest writer frees about that much after every batch: each batch then paid an madvise
// (~0.3 ms on the 2-core VMs, on the commit path) and page faults to get the memory back.
// Freed memory is kept up to 16 MiB per heap instead, and blocks up to 1 MiB (a batch's
// arrays, message bodies) come from the heaps rather than from a mmap each. Malloc
// settings given in GLIBC_TUNABLES win.
void KeepFreedMemoryForReuse() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

int RunService(const config::Config& config, Logger& logger) {
  KeepFreedMemoryForReuse();
  BlockProcessSignals();
  absl::StatusOr<std::unique_ptr<Mailroom>> mailroom = Mailroom::Start(config, &logger);
  if (!mailroom.ok()) {
    logger.Error("cannot start", {{"error", std::string(mailroom.status().message())}});
    return kExitRuntimeError;
  }
  return (*mailroom)->Run() ? 0 : kExitRuntimeError;
}

int Main(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line =
      ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!command_line.ok()) {
    std::fprintf(stderr, "mailroom: %s\n\n%s", std::string(command_line.status().message()).c_str(),
                 UsageText().c_str());
    return kExitConfigError;
  }
  switch (command_line->command) {
    case Command::kHelp:
      std::fputs(UsageText().c_str(), stdout);
      return 0;
    case Command::kVersion:
      std::printf("mailroom %s (%s)\n", kVersion, kCommit);
      return 0;
    case Command::kConfigDefaults:
      std::fputs(config::DefaultConfigYaml().c_str(), stdout);
      return 0;
    default:
      break;
  }

  absl::StatusOr<config::Loaded> loaded = config::Load(config::Sources{
      .file = command_line->config_file,
      .environment = config::MailroomEnvironment(),
      .overrides = command_line->overrides,
  });
  if (!loaded.ok()) {
    std::fprintf(stderr, "mailroom: configuration is not valid:\n%s\n",
                 std::string(loaded.status().message()).c_str());
    return kExitConfigError;
  }
  if (command_line->command == Command::kConfigCheck) {
    for (const std::string& warning : loaded->warnings) {
      std::fprintf(stderr, "mailroom: warning: %s\n", warning.c_str());
    }
    std::printf("configuration is valid\n");
    return 0;
  }

  Logger logger(
      ToLogLevel(loaded->config.log.level),
      loaded->config.log.format == config::LogFormat::kJson ? LogFormat::kJson : LogFormat::kText);
  RouteGrpcLogsTo(&logger);
  for (const std::string& warning : loaded->warnings) logger.Warn(warning);
  if (command_line->command == Command::kMigrate) return RunMigrate(loaded->config, logger);
  return RunService(loaded->config, logger);
}

}  // namespace
}  // namespace mailroom::server

int main(int argc, char** argv) { return mailroom::server::Main(argc, argv); }
