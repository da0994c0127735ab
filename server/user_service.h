// UserService: the gRPC callback implementation of mailroom.v1.UserService, the users SMTP
// clients authenticate as (create, get, list, update with a field mask, delete).
//
// Requests are validated on the gRPC thread (usernames, password sizes, the update mask);
// everything else, including hashing a new password (scrypt, ~50–100 ms), runs on the
// StorageExecutor (storage/user_store.h). No response carries password material: the
// protos are built from storage::UserRow, which has none.
//
// Thread-safe: RPCs run concurrently; the service holds no per-call state.
#ifndef MAILROOM_SERVER_USER_SERVICE_H_
#define MAILROOM_SERVER_USER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/user_service.grpc.pb.h"
#include "server/storage_executor.h"
#include "storage/pool.h"
#include "storage/user_store.h"

namespace mailroom::server {

// Returns InvalidArgument "`field`: ..." unless `username` is 1 to 255 characters of UTF-8
// without control characters.
absl::Status ValidateUsername(absl::string_view username, absl::string_view field);

// Returns InvalidArgument "`field`: ..." unless `password` is 1 to 1024 bytes of UTF-8.
absl::Status ValidatePassword(absl::string_view password, absl::string_view field);

// Hashes `password` for storage: the scrypt string and the CRAM-MD5 verifier.
absl::StatusOr<storage::PasswordMaterial> MakePasswordMaterial(absl::string_view password);

class UserService final : public v1::UserService::CallbackService {
 public:
  // `on_change` runs (on a storage thread) after every successful create, update and
  // delete, e.g. to refresh the routing table.
  // REQUIRES: pool and executor outlive the service and every call it serves.
  UserService(storage::ConnectionPool* pool, StorageExecutor* executor,
              std::function<void()> on_change);

  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const v1::CreateUserRequest* request,
                                       v1::CreateUserResponse* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::GetUserResponse* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const v1::ListUsersRequest* request,
                                      v1::ListUsersResponse* response) override;
  grpc::ServerUnaryReactor* UpdateUser(grpc::CallbackServerContext* context,
                                       const v1::UpdateUserRequest* request,
                                       v1::UpdateUserResponse* response) override;
  grpc::ServerUnaryReactor* DeleteUser(grpc::CallbackServerContext* context,
                                       const v1::DeleteUserRequest* request,
                                       v1::DeleteUserResponse* response) override;

 private:
  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
  const std::function<void()> on_change_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_USER_SERVICE_H_
