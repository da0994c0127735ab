#include "server/api_services.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "server/mailbox_service.h"
#include "server/message_service.h"
#include "server/session_service.h"
#include "server/unimplemented_service.h"
#include "server/user_service.h"

namespace mailroom::server {
namespace {

struct PendingService {
  absl::string_view name;
  absl::string_view lands_with;
};

// Threads for blocking storage calls of the API; the pool's lease timeout queues the rest.
constexpr int kStorageThreads = 4;

// Each entry leaves this list when its issue replaces the placeholder with the real service.
constexpr PendingService kPendingServices[] = {
    {"mailroom.v1.OutboundService",
     "sending and relaying land after the capture core (see the README's roadmap)"},
};

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServices>> ApiServices::Create(
    storage::ConnectionPool* pool, std::string listen_conninfo, int64_t max_response_bytes,
    std::function<void()> config_changed) {
  std::unique_ptr<ApiServices> api(new ApiServices());
  api->events_ = std::make_unique<MessageEvents>(std::move(listen_conninfo));
  api->executor_ = std::make_unique<StorageExecutor>(kStorageThreads);
  api->services_.push_back(std::make_unique<MessageService>(
      pool, api->executor_.get(), api->events_.get(), max_response_bytes));
  api->services_.push_back(std::make_unique<SessionService>(pool, api->executor_.get()));
  api->services_.push_back(
      std::make_unique<UserService>(pool, api->executor_.get(), config_changed));
  api->services_.push_back(
      std::make_unique<MailboxService>(pool, api->executor_.get(), std::move(config_changed)));
  const google::protobuf::DescriptorPool* descriptors =
      google::protobuf::DescriptorPool::generated_pool();
  for (const PendingService& pending : kPendingServices) {
    const google::protobuf::ServiceDescriptor* service =
        descriptors->FindServiceByName(std::string(pending.name));
    if (service == nullptr) {
      return absl::InternalError(
          absl::StrCat("this binary lacks the descriptor of ", pending.name));
    }
    api->services_.push_back(
        std::make_unique<UnimplementedService>(*service, std::string(pending.lands_with)));
  }
  return api;
}

void ApiServices::EndStreams() { events_->Close(); }

std::vector<grpc::Service*> ApiServices::services() const {
  std::vector<grpc::Service*> result;
  for (const auto& service : services_) result.push_back(service.get());
  return result;
}

}  // namespace mailroom::server
