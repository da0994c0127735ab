#include "server/proto_time.h"

#include "absl/strings/str_cat.h"

namespace mailroom::server {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  // Floor division, so that times before 1970 keep nanos in [0, 1e9).
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field) {
  if (timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".nanos: must be in [0, 999999999]"));
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

}  // namespace mailroom::server
