#include "server/routing/routing_cache.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/routing/snapshot_table.h"

namespace mailroom::server::routing {

RoutingCache::RoutingCache(storage::ConnectionPool* pool, RoutingCacheOptions options,
                           smtp::EngineLog* log)
    : pool_(pool),
      options_(options),
      log_(log),
      table_(RoutingTable::DefaultOnly(options.policy)) {}

RoutingCache::~RoutingCache() { Stop(); }

void RoutingCache::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { PollLoop(); });
}

void RoutingCache::Stop() {
  {
    absl::MutexLock lock(&wake_mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const RoutingTable> RoutingCache::Current() const {
  absl::ReaderMutexLock lock(&table_mutex_);
  return table_;
}

void RoutingCache::Invalidate() {
  absl::MutexLock lock(&wake_mutex_);
  invalidated_ = true;
}

absl::Status RoutingCache::Reload() { return Refresh(/*force=*/true); }

void RoutingCache::PollLoop() {
  bool force = true;  // the first round loads whatever the version
  for (;;) {
    (void)Refresh(force);  // failures are logged by Refresh
    absl::MutexLock lock(&wake_mutex_);
    auto woken = [this]()
                     ABSL_SHARED_LOCKS_REQUIRED(wake_mutex_) { return stopping_ || invalidated_; };
    wake_mutex_.AwaitWithTimeout(absl::Condition(&woken), options_.poll_interval);
    if (stopping_) return;
    force = invalidated_;
    invalidated_ = false;
  }
}

absl::Status RoutingCache::Refresh(bool force) {
  absl::MutexLock lock(&load_mutex_);
  absl::Status status;
  bool loaded = false;
  if (!force && loaded_version_.has_value()) {
    absl::StatusOr<storage::RoutingVersion> version = storage::LoadRoutingVersion(*pool_);
    if (version.ok() && *version == *loaded_version_) {
      last_load_failed_ = false;
      return absl::OkStatus();
    }
    status = version.status();
  }
  if (status.ok()) {
    absl::StatusOr<storage::RoutingSnapshot> snapshot = storage::LoadRoutingSnapshot(*pool_);
    status = snapshot.status();
    if (snapshot.ok()) {
      std::vector<std::string> skipped;
      std::shared_ptr<const RoutingTable> table =
          BuildRoutingTable(*snapshot, options_.policy, &skipped);
      for (const std::string& problem : skipped) {
        log_->Warn("routing rule skipped", {{"problem", problem}});
      }
      log_->Debug("routing table loaded", {{"mailboxes", absl::StrCat(table->mailbox_count())},
                                           {"rules", absl::StrCat(table->rule_count())}});
      {
        absl::MutexLock table_lock(&table_mutex_);
        table_ = std::move(table);
      }
      loaded_version_ = snapshot->version;
      loaded = true;
    }
  }
  if (!loaded) {
    // Once per outage, not every half second.
    if (!last_load_failed_) {
      log_->Warn("cannot load the routing rules; routing with the last ones loaded",
                 {{"error", std::string(status.message())}});
    }
    last_load_failed_ = true;
    return status;
  }
  if (last_load_failed_) log_->Info("routing rules loaded again");
  last_load_failed_ = false;
  return absl::OkStatus();
}

}  // namespace mailroom::server::routing
