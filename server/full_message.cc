#include "server/full_message.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/message_convert.h"
#include "smtp/mime_message.h"
#include "storage/message_reader.h"

namespace mailroom::server {

absl::Status ReadFullMessage(storage::ConnectionPool& pool, const std::string& id,
                             int64_t max_response_bytes, v1::Message* message) {
  absl::StatusOr<storage::MessageRecord> record =
      storage::GetMessageRecord(pool, id, /*with_raw=*/true);
  if (!record.ok()) return record.status();
  smtp::ParsedMessage parsed = smtp::ParseMimeMessage(record->raw);
  record->raw = std::string();
  ToMessageProto(*record, parsed, message);
  const int64_t size = static_cast<int64_t>(message->ByteSizeLong());
  if (max_response_bytes > 0 && size > max_response_bytes) {
    message->Clear();
    return absl::ResourceExhaustedError(absl::StrCat(
        "the parsed message takes ", size, " bytes, more than the server's ", max_response_bytes,
        "-byte response limit; read its parts with "
        "GetMessagePart or the whole with GetRawMessage"));
  }
  return absl::OkStatus();
}

}  // namespace mailroom::server
