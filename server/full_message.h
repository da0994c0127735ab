// Reading one message as the API's fully parsed v1::Message: the stored record, the raw
// bytes parsed by smtp/mime_message.h, converted by server/message_convert.h. Shared by
// GetMessage and WaitForMessage, which promise the same answer.
//
// Thread-safety: thread-safe; blocks on the database (run it on the storage executor).

#ifndef MAILROOM_SERVER_FULL_MESSAGE_H_
#define MAILROOM_SERVER_FULL_MESSAGE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "mailroom/v1/message_service.pb.h"
#include "storage/pool.h"

namespace mailroom::server {

// Fills `message` with message `id`. NotFound when it does not exist; RESOURCE_EXHAUSTED
// (and `message` cleared) when the result takes more than `max_response_bytes` (0: no
// limit), since a client could not receive it anyway.
absl::Status ReadFullMessage(storage::ConnectionPool& pool, const std::string& id,
                             int64_t max_response_bytes, v1::Message* message);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_FULL_MESSAGE_H_
