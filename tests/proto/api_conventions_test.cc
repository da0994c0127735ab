// Checks, through the generated descriptors, the conventions of the v1 API that buf lint
// cannot see: the shape of every service (which RPCs exist and which stream), the paging and
// update-mask fields of Google's API design guide, `id` as field 1 of every resource,
// MessageSummary being a prefix of Message, and the naming of times and sizes. A change to
// a .proto file that breaks one of these promises fails here before a client notices.

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "mailroom/v1/common.pb.h"
#include "mailroom/v1/mailbox_service.pb.h"
#include "mailroom/v1/message_service.pb.h"
#include "mailroom/v1/outbound_service.pb.h"
#include "mailroom/v1/session_service.pb.h"
#include "mailroom/v1/user_service.pb.h"

namespace mailroom::v1 {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::testing::ElementsAreArray;

// Referencing one message of each file links its generated code into the test binary,
// which registers the file in the generated pool.
std::vector<const FileDescriptor*> ApiFiles() {
  return {EmailAddress::descriptor()->file(), MessageSummary::descriptor()->file(),
          Session::descriptor()->file(),      Mailbox::descriptor()->file(),
          User::descriptor()->file(),         Delivery::descriptor()->file()};
}

std::vector<const ServiceDescriptor*> ApiServices() {
  std::vector<const ServiceDescriptor*> services;
  for (const FileDescriptor* file : ApiFiles()) {
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  return services;
}

// Every message of the API, nested ones included.
std::vector<const Descriptor*> ApiMessages() {
  std::vector<const Descriptor*> messages;
  std::vector<const Descriptor*> pending;
  for (const FileDescriptor* file : ApiFiles()) {
    for (int i = 0; i < file->message_type_count(); ++i) pending.push_back(file->message_type(i));
  }
  while (!pending.empty()) {
    const Descriptor* message = pending.back();
    pending.pop_back();
    messages.push_back(message);
    for (int i = 0; i < message->nested_type_count(); ++i) {
      pending.push_back(message->nested_type(i));
    }
  }
  return messages;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "ListMessages/S" for a server-streaming RPC, "ListMessages" for a unary one.
std::vector<std::string> MethodShapes(const ServiceDescriptor& service) {
  std::vector<std::string> shapes;
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor* method = service.method(i);
    std::string shape = method->name();
    if (method->client_streaming()) shape += "/C";
    if (method->server_streaming()) shape += "/S";
    shapes.push_back(shape);
  }
  return shapes;
}

const ServiceDescriptor* FindService(const std::string& full_name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
}

TEST(ApiConventionsTest, MessageServiceHasEveryRpc) {
  const ServiceDescriptor* service = FindService("mailroom.v1.MessageService");
  ASSERT_NE(service, nullptr);
  EXPECT_THAT(MethodShapes(*service),
              ElementsAreArray({"ListMessages", "GetMessage", "GetRawMessage/S", "GetMessagePart/S",
                                "DeleteMessage", "DeleteMessages", "UpdateMessage",
                                "WatchMessages/S", "WaitForMessage"}));
}

TEST(ApiConventionsTest, SessionServiceHasEveryRpc) {
  const ServiceDescriptor* service = FindService("mailroom.v1.SessionService");
  ASSERT_NE(service, nullptr);
  EXPECT_THAT(MethodShapes(*service),
              ElementsAreArray({"ListSessions", "GetSession", "DeleteSessions"}));
}

TEST(ApiConventionsTest, MailboxAndUserServicesAreCrud) {
  const ServiceDescriptor* mailboxes = FindService("mailroom.v1.MailboxService");
  ASSERT_NE(mailboxes, nullptr);
  EXPECT_THAT(MethodShapes(*mailboxes),
              ElementsAreArray({"CreateMailbox", "GetMailbox", "ListMailboxes", "UpdateMailbox",
                                "DeleteMailbox"}));
  const ServiceDescriptor* users = FindService("mailroom.v1.UserService");
  ASSERT_NE(users, nullptr);
  EXPECT_THAT(MethodShapes(*users),
              ElementsAreArray({"CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser"}));
}

TEST(ApiConventionsTest, OutboundServiceHasEveryRpc) {
  const ServiceDescriptor* service = FindService("mailroom.v1.OutboundService");
  ASSERT_NE(service, nullptr);
  EXPECT_THAT(MethodShapes(*service),
              ElementsAreArray({"SendMessage", "ReleaseMessage", "ListDeliveries", "GetDelivery",
                                "RetryDelivery", "CancelDelivery", "WatchDeliveries/S"}));
}

TEST(ApiConventionsTest, HealthProtocolIsCompiledIn) {
  // Links the generated health code, as the server binary does.
  ASSERT_NE(grpc::health::v1::HealthCheckRequest::descriptor(), nullptr);
  const ServiceDescriptor* health = FindService("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr);
  EXPECT_THAT(MethodShapes(*health), ElementsAreArray({"Check", "Watch/S"}));
}

TEST(ApiConventionsTest, ListRpcsPageWithTokens) {
  int list_rpcs = 0;
  for (const ServiceDescriptor* service : ApiServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (!StartsWith(method->name(), "List")) continue;
      ++list_rpcs;
      SCOPED_TRACE(method->full_name());
      const FieldDescriptor* page_size = method->input_type()->FindFieldByName("page_size");
      ASSERT_NE(page_size, nullptr);
      EXPECT_EQ(page_size->type(), FieldDescriptor::TYPE_INT32);
      const FieldDescriptor* page_token = method->input_type()->FindFieldByName("page_token");
      ASSERT_NE(page_token, nullptr);
      EXPECT_EQ(page_token->type(), FieldDescriptor::TYPE_STRING);
      const FieldDescriptor* next = method->output_type()->FindFieldByName("next_page_token");
      ASSERT_NE(next, nullptr);
      EXPECT_EQ(next->type(), FieldDescriptor::TYPE_STRING);
    }
  }
  EXPECT_EQ(list_rpcs, 5);
}

TEST(ApiConventionsTest, UpdateRpcsTakeTheResourceAndAFieldMask) {
  int update_rpcs = 0;
  for (const ServiceDescriptor* service : ApiServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (!StartsWith(method->name(), "Update")) continue;
      ++update_rpcs;
      SCOPED_TRACE(method->full_name());
      const Descriptor* request = method->input_type();
      ASSERT_EQ(request->field_count(), 2);
      const FieldDescriptor* resource = request->field(0);
      ASSERT_EQ(resource->type(), FieldDescriptor::TYPE_MESSAGE);
      EXPECT_EQ(method->name(), "Update" + resource->message_type()->name());
      const FieldDescriptor* mask = request->FindFieldByName("update_mask");
      ASSERT_NE(mask, nullptr);
      ASSERT_EQ(mask->type(), FieldDescriptor::TYPE_MESSAGE);
      EXPECT_EQ(mask->message_type()->full_name(), "google.protobuf.FieldMask");
    }
  }
  EXPECT_EQ(update_rpcs, 3);
}

TEST(ApiConventionsTest, ResourcesAreAddressedByStringIdInFieldOne) {
  for (const Descriptor* resource :
       {MessageSummary::descriptor(), Message::descriptor(), Session::descriptor(),
        Mailbox::descriptor(), User::descriptor(), Delivery::descriptor()}) {
    SCOPED_TRACE(resource->full_name());
    const FieldDescriptor* id = resource->FindFieldByNumber(1);
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(id->name(), "id");
    EXPECT_EQ(id->type(), FieldDescriptor::TYPE_STRING);
  }
}

// The documentation promises that a summary's fields have the same names and numbers in
// Message, so that code handling both can share field paths (and update masks).
TEST(ApiConventionsTest, MessageSummaryIsAPrefixOfMessage) {
  const Descriptor* summary = MessageSummary::descriptor();
  const Descriptor* message = Message::descriptor();
  ASSERT_LT(summary->field_count(), message->field_count());
  for (int i = 0; i < summary->field_count(); ++i) {
    const FieldDescriptor* field = summary->field(i);
    SCOPED_TRACE(field->name());
    const FieldDescriptor* same = message->FindFieldByNumber(field->number());
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(same->name(), field->name());
    EXPECT_EQ(same->type(), field->type());
    EXPECT_EQ(same->is_repeated(), field->is_repeated());
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      EXPECT_EQ(same->message_type(), field->message_type());
    }
  }
}

// AIP-142: timestamps end in `_time`; a few filter and header fields read better bare.
TEST(ApiConventionsTest, TimestampFieldsAreNamedAsTimes) {
  const std::set<std::string> bare_names = {"date", "since", "until", "time"};
  for (const Descriptor* message : ApiMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      if (field->type() != FieldDescriptor::TYPE_MESSAGE ||
          field->message_type()->full_name() != "google.protobuf.Timestamp") {
        continue;
      }
      EXPECT_TRUE(EndsWith(field->name(), "_time") || bare_names.count(field->name()) == 1)
          << field->full_name();
    }
  }
}

// Sizes are int64 bytes, and say so in their name; counts are integers too.
TEST(ApiConventionsTest, SizesAreInt64Bytes) {
  int sizes = 0;
  for (const Descriptor* message : ApiMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      if (EndsWith(field->name(), "_bytes")) {
        ++sizes;
        EXPECT_EQ(field->type(), FieldDescriptor::TYPE_INT64) << field->full_name();
      }
      EXPECT_NE(field->name(), "size") << field->full_name() << " must name its unit";
    }
  }
  EXPECT_GT(sizes, 0);
}

// Deleting a mailbox or user, and getting one, can go by name; the choice is a oneof so a
// request cannot be ambiguous.
TEST(ApiConventionsTest, MailboxesAndUsersCanBeAddressedByName) {
  for (const Descriptor* request :
       {GetMailboxRequest::descriptor(), DeleteMailboxRequest::descriptor(),
        GetUserRequest::descriptor(), DeleteUserRequest::descriptor()}) {
    SCOPED_TRACE(request->full_name());
    const auto* identifier = request->FindOneofByName("identifier");
    ASSERT_NE(identifier, nullptr);
    ASSERT_EQ(identifier->field_count(), 2);
    EXPECT_EQ(identifier->field(0)->name(), "id");
  }
}

}  // namespace
}  // namespace mailroom::v1
