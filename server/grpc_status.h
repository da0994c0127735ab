// The one mapping from the project's absl::Status to the status a gRPC client sees.
// absl and gRPC share the canonical code numbers, so codes pass through unchanged; the
// message is kept because our messages name the field or resource at fault.
#ifndef MAILROOM_SERVER_GRPC_STATUS_H_
#define MAILROOM_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mailroom::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The canonical upper-case name of a code ("NOT_FOUND"), as metrics and logs show it.
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_GRPC_STATUS_H_
