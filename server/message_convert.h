// Conversions from storage rows and parsed MIME (smtp/mime_message.h) to the protobuf
// messages of MessageService. Pure functions on values; thread-safe.

#ifndef MAILROOM_SERVER_MESSAGE_CONVERT_H_
#define MAILROOM_SERVER_MESSAGE_CONVERT_H_

#include "mailroom/v1/message_service.pb.h"
#include "smtp/mime_message.h"
#include "storage/message_reader.h"
#include "storage/message_store.h"

namespace mailroom::server {

// Fills every MessageSummary field from the stored row; From/To/Cc are parsed from the
// stored header display strings.
void ToSummaryProto(const storage::MessageSummaryRow& row, v1::MessageSummary* out);

// Fills a full Message from the stored record and the parse of its raw bytes (From/To/Cc,
// headers, tree, bodies, attachments and problems come from the parse).
void ToMessageProto(const storage::MessageRecord& record, const smtp::ParsedMessage& parsed,
                    v1::Message* out);

// One MIME node; its children too when `with_children`.
void ToMimePartProto(const smtp::MimeNode& node, bool with_children, v1::MimePart* out);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MESSAGE_CONVERT_H_
