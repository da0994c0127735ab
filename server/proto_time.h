// google.protobuf.Timestamp to and from absl::Time, for the API's request and response
// fields. Times are kept to the microsecond, as PostgreSQL stores them.
#ifndef MAILROOM_SERVER_PROTO_TIME_H_
#define MAILROOM_SERVER_PROTO_TIME_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace mailroom::server {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out);

// InvalidArgument naming `field` when the nanos are out of range.
absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_PROTO_TIME_H_
