// WatchMessages end to end: the real binary, mail sent by Python's smtplib, the stream read
// through the C++ gRPC stub. Covers created events for captured mail, the mailbox and query
// filters, updated and deleted events (DeleteMessage, DeleteMessages, a deleted mailbox),
// the `since` replay without gap or duplicate, two server processes on one database, a
// client that does not read (RESOURCE_EXHAUSTED), cancellation and shutdown.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mailroom/v1/message_service.grpc.pb.h"
#include "tests/integration/mailroom_fixture.h"

namespace mailroom::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Event = v1::WatchMessagesResponse;

// One open stream, read synchronously.
class Watch {
 public:
  Watch(v1::MessageService::Stub& stub, const v1::WatchMessagesRequest& request) {
    // Generous: a hung stream fails the test rather than hanging it.
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    reader_ = stub.WatchMessages(&context_, request);
  }
  ~Watch() {
    if (!done_) {
      context_.TryCancel();
      Finish();
    }
  }

  // The next event, or nullopt when the stream ended (see Finish()).
  std::optional<Event> Next() {
    Event event;
    if (!reader_->Read(&event)) return std::nullopt;
    return event;
  }

  // The next event that is not `subscribed`; nullopt when the stream ended.
  std::optional<Event> NextChange() {
    while (std::optional<Event> event = Next()) {
      if (!event->has_subscribed()) return event;
    }
    return std::nullopt;
  }

  // Reads up to and including `subscribed`; false when the stream ended first.
  bool AwaitSubscribed() {
    while (std::optional<Event> event = Next()) {
      if (event->has_subscribed()) return true;
    }
    return false;
  }

  void Cancel() { context_.TryCancel(); }

  grpc::Status Finish() {
    done_ = true;
    return reader_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Event>> reader_;
  bool done_ = false;
};

v1::WatchMessagesRequest WatchRequest(const std::string& query = "",
                                      const std::string& mailbox = "") {
  v1::WatchMessagesRequest request;
  request.set_query(query);
  request.set_mailbox(mailbox);
  return request;
}

void SetSince(absl::Time since, v1::WatchMessagesRequest& request) {
  const int64_t micros = absl::ToUnixMicros(since);
  request.mutable_since()->set_seconds(micros / 1000000);
  request.mutable_since()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

class WatchMessagesTest : public ScratchMailroomFixture {
 protected:
  void SetUp() override {
    ScratchMailroomFixture::SetUp();
    if (HasFatalFailure()) return;
    StartMailroomAndWaitUntilReady();
    if (HasFatalFailure()) return;
    stub_ = NewStub(grpc_port_);
  }

  static std::unique_ptr<v1::MessageService::Stub> NewStub(int port) {
    return v1::MessageService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  // Sends `count` messages with subjects "<subject>" (count 1) or "<subject> <n>" in one
  // smtplib session to `port` (this process's SMTP port by default); returns after the
  // last 250.
  void Send(const std::string& subject, int count = 1, int port = 0) {
    const std::string command = absl::StrCat(
        "/usr/bin/python3 -c 'import smtplib,sys\n"
        "s=smtplib.SMTP(\"127.0.0.1\",int(sys.argv[1]),timeout=120)\n"
        "n=int(sys.argv[3])\n"
        "for i in range(n):\n"
        "  subject=sys.argv[2] if n==1 else \"%s %d\" % (sys.argv[2], i)\n"
        "  s.sendmail(\"sender@example.com\",[\"rcpt@example.com\"],"
        "(\"From: a@example.com\\r\\nTo: b@example.com\\r\\nSubject: %s\\r\\n\\r\\nbody\\r\\n\""
        " % subject).encode())\n"
        "s.quit()' ",
        port == 0 ? smtp_port_ : port, " '", subject, "' ", count);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // Runs `sql` on the test's database.
  void Sql(const std::string& sql) {
    pqxx::connection conn(database_url());
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }

  // The id of the one message with `subject`.
  std::string IdOf(const std::string& subject) {
    pqxx::connection conn(database_url());
    pqxx::work txn(conn);
    return txn.exec_params1("SELECT id::text FROM messages WHERE subject = $1", subject)[0]
        .as<std::string>();
  }

  std::unique_ptr<v1::MessageService::Stub> stub_;
};

TEST_F(WatchMessagesTest, CapturedMailIsCreated) {
  Watch watch(*stub_, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("hello watchers"));
  std::optional<Event> event = watch.NextChange();
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE(event->has_created()) << event->DebugString();
  EXPECT_EQ(event->created().subject(), "hello watchers");
  EXPECT_THAT(event->created().mailboxes(), ElementsAre("default"));
  EXPECT_EQ(event->created().envelope().mail_from(), "sender@example.com");
  ASSERT_EQ(event->created().envelope().recipients_size(), 1);
  EXPECT_EQ(event->created().envelope().recipients(0).address(), "rcpt@example.com");
  EXPECT_EQ(event->created().id(), IdOf("hello watchers"));
  EXPECT_EQ(ToTime(event->event_time()), ToTime(event->created().receive_time()));
}

TEST_F(WatchMessagesTest, SubscribedComesFirstAndOnce) {
  Watch watch(*stub_, WatchRequest());
  std::optional<Event> first = watch.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->has_subscribed());
  EXPECT_FALSE(first->has_event_time());
  ASSERT_NO_FATAL_FAILURE(Send("after subscribed"));
  std::optional<Event> next = watch.Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->has_created());
}

TEST_F(WatchMessagesTest, QueryFilterDropsMessagesThatDoNotMatch) {
  Watch watch(*stub_, WatchRequest("subject:wanted -subject:unwanted"));
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("unwanted first"));
  ASSERT_NO_FATAL_FAILURE(Send("wanted second"));
  // Events come in commit order: had the first produced one, it would be read here.
  std::optional<Event> event = watch.NextChange();
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE(event->has_created()) << event->DebugString();
  EXPECT_EQ(event->created().subject(), "wanted second");
}

TEST_F(WatchMessagesTest, MailboxFilter) {
  Sql("INSERT INTO mailboxes (id, name, position) "
      "VALUES ('00000000-0000-7000-8000-0000000000aa', 'qa', 1)");
  const std::string link_to_qa =
      "INSERT INTO message_mailboxes SELECT '00000000-0000-7000-8000-0000000000aa', id,"
      " received_at FROM messages WHERE subject = 'routed to default'";
  Watch qa(*stub_, WatchRequest("", "qa"));
  Watch by_default(*stub_, WatchRequest("", "default"));
  Watch all(*stub_, WatchRequest());
  ASSERT_TRUE(qa.AwaitSubscribed());
  ASSERT_TRUE(by_default.AwaitSubscribed());
  ASSERT_TRUE(all.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("routed to default"));  // no rule sends anything to qa
  std::string id;
  for (Watch* watch : {&by_default, &all}) {
    std::optional<Event> created = watch->NextChange();
    ASSERT_TRUE(created.has_value());
    ASSERT_TRUE(created->has_created()) << created->DebugString();
    id = created->created().id();
  }

  // Filed into qa too (by hand) and taken out again: qa hears the removal, and no created
  // event before it; so does the watcher of every mailbox.
  Sql(link_to_qa);
  Sql(absl::StrCat("DELETE FROM message_mailboxes WHERE message_id = '", id,
                   "' AND mailbox_id = '00000000-0000-7000-8000-0000000000aa'"));
  for (Watch* watch : {&qa, &all}) {
    std::optional<Event> removed = watch->NextChange();
    ASSERT_TRUE(removed.has_value());
    ASSERT_TRUE(removed->has_deleted()) << removed->DebugString();
    EXPECT_EQ(removed->deleted().id(), id);
    EXPECT_THAT(removed->deleted().mailboxes(), ElementsAre("qa"));
    EXPECT_TRUE(removed->has_event_time());
  }

  // Deleting the mailbox cascades to its links: its name still reaches the watchers.
  Sql(link_to_qa);
  Sql("DELETE FROM mailboxes WHERE name = 'qa'");
  for (Watch* watch : {&qa, &all}) {
    std::optional<Event> removed = watch->NextChange();
    ASSERT_TRUE(removed.has_value());
    ASSERT_TRUE(removed->has_deleted()) << removed->DebugString();
    EXPECT_EQ(removed->deleted().id(), id);
    EXPECT_THAT(removed->deleted().mailboxes(), ElementsAre("qa"));
  }

  // The watcher of `default` heard none of the removals from qa.
  ASSERT_NO_FATAL_FAILURE(Send("second for default"));
  std::optional<Event> next = by_default.NextChange();
  ASSERT_TRUE(next.has_value());
  ASSERT_TRUE(next->has_created()) << next->DebugString();
  EXPECT_EQ(next->created().subject(), "second for default");
}

TEST_F(WatchMessagesTest, UpdatedAndDeleted) {
  Watch watch(*stub_, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("to be read"));
  std::optional<Event> created = watch.NextChange();
  ASSERT_TRUE(created.has_value() && created->has_created());
  const std::string id = created->created().id();
  EXPECT_FALSE(created->created().read());

  {
    grpc::ClientContext context;
    v1::UpdateMessageRequest request;
    request.mutable_message()->set_id(id);
    request.mutable_message()->set_read(true);
    request.mutable_update_mask()->add_paths("read");
    v1::UpdateMessageResponse response;
    ASSERT_TRUE(stub_->UpdateMessage(&context, request, &response).ok());
  }
  std::optional<Event> updated = watch.NextChange();
  ASSERT_TRUE(updated.has_value());
  ASSERT_TRUE(updated->has_updated()) << updated->DebugString();
  EXPECT_EQ(updated->updated().id(), id);
  EXPECT_TRUE(updated->updated().read());
  EXPECT_TRUE(updated->has_event_time());

  {
    grpc::ClientContext context;
    v1::DeleteMessageRequest request;
    request.set_id(id);
    v1::DeleteMessageResponse response;
    ASSERT_TRUE(stub_->DeleteMessage(&context, request, &response).ok());
  }
  std::optional<Event> deleted = watch.NextChange();
  ASSERT_TRUE(deleted.has_value());
  ASSERT_TRUE(deleted->has_deleted()) << deleted->DebugString();
  EXPECT_EQ(deleted->deleted().id(), id);
  EXPECT_THAT(deleted->deleted().mailboxes(), ElementsAre("default"));

  ASSERT_NO_FATAL_FAILURE(Send("batch", 2));
  std::set<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    std::optional<Event> event = watch.NextChange();
    ASSERT_TRUE(event.has_value() && event->has_created());
    ids.insert(event->created().id());
  }
  {
    grpc::ClientContext context;
    v1::DeleteMessagesRequest request;
    request.set_query("subject:batch");
    v1::DeleteMessagesResponse response;
    ASSERT_TRUE(stub_->DeleteMessages(&context, request, &response).ok());
    EXPECT_EQ(response.deleted_count(), 2);
  }
  std::set<std::string> deleted_ids;
  while (deleted_ids.size() < 2) {
    std::optional<Event> event = watch.NextChange();
    ASSERT_TRUE(event.has_value() && event->has_deleted());
    deleted_ids.insert(event->deleted().id());
  }
  EXPECT_EQ(deleted_ids, ids);
}

TEST_F(WatchMessagesTest, UpdatesThatNoLongerMatchAreNotSent) {
  Watch watch(*stub_, WatchRequest("is:unread"));
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("unread one"));
  std::optional<Event> created = watch.NextChange();
  ASSERT_TRUE(created.has_value() && created->has_created());
  Sql(absl::StrCat("UPDATE messages SET is_read = true WHERE id = '", created->created().id(),
                   "'"));
  ASSERT_NO_FATAL_FAILURE(Send("unread two"));
  std::optional<Event> next = watch.NextChange();
  ASSERT_TRUE(next.has_value());
  ASSERT_TRUE(next->has_created()) << next->DebugString();
  EXPECT_EQ(next->created().subject(), "unread two");
}

// Mail arrives all the time while the stream starts with a `since` from before the first
// message: every message is delivered exactly once, replayed or live, none missing.
TEST_F(WatchMessagesTest, SinceReplaysWithoutGapOrDuplicate) {
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(Send("early", 150));  // more than one replay page
  std::thread sender([&] { EXPECT_NO_FATAL_FAILURE(Send("during", 60)); });
  v1::WatchMessagesRequest request = WatchRequest("-subject:excluded");
  SetSince(start, request);
  Watch watch(*stub_, request);
  sender.join();
  // Sent last: reading up to it reads everything sent before.
  ASSERT_NO_FATAL_FAILURE(Send("the end"));

  std::map<std::string, int> seen;
  int subscribed = 0;
  absl::Time previous = absl::InfinitePast();
  bool ordered_replay = true;
  while (seen.count("the end") == 0) {
    std::optional<Event> event = watch.Next();
    ASSERT_TRUE(event.has_value()) << watch.Finish().error_message();
    if (event->has_subscribed()) {
      ++subscribed;
      continue;
    }
    ASSERT_TRUE(event->has_created()) << event->DebugString();
    ++seen[event->created().subject()];
    if (subscribed == 0) {
      // The replay is oldest first.
      const absl::Time received = ToTime(event->created().receive_time());
      if (received < previous) ordered_replay = false;
      previous = received;
    }
  }
  EXPECT_EQ(subscribed, 1);
  EXPECT_TRUE(ordered_replay);
  EXPECT_EQ(seen.size(), 150u + 60u + 1u);
  for (const auto& [subject, count] : seen) EXPECT_EQ(count, 1) << subject;
  EXPECT_EQ(seen.count("early 0"), 1u);
  EXPECT_EQ(seen.count("early 149"), 1u);
  EXPECT_EQ(seen.count("during 59"), 1u);
}

TEST_F(WatchMessagesTest, SinceRespectsTheFilters) {
  ASSERT_NO_FATAL_FAILURE(Send("old news"));
  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time between = absl::Now();
  absl::SleepFor(absl::Milliseconds(20));
  ASSERT_NO_FATAL_FAILURE(Send("fresh news"));
  ASSERT_NO_FATAL_FAILURE(Send("fresh gossip"));
  v1::WatchMessagesRequest request = WatchRequest("news");
  SetSince(between, request);
  Watch watch(*stub_, request);
  std::optional<Event> first = watch.Next();
  ASSERT_TRUE(first.has_value() && first->has_created());
  EXPECT_EQ(first->created().subject(), "fresh news");
  std::optional<Event> second = watch.Next();
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->has_subscribed()) << second->DebugString();
}

TEST_F(WatchMessagesTest, RequestErrors) {
  {
    Watch watch(*stub_, WatchRequest("form:x"));
    EXPECT_FALSE(watch.Next().has_value());
    grpc::Status status = watch.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("query"));
  }
  {
    Watch watch(*stub_, WatchRequest("", "no-such-mailbox"));
    EXPECT_FALSE(watch.Next().has_value());
    EXPECT_EQ(watch.Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(WatchMessagesTest, CancelEndsTheStreamAndTheServerCarriesOn) {
  {
    Watch watch(*stub_, WatchRequest());
    ASSERT_TRUE(watch.AwaitSubscribed());
    watch.Cancel();
    EXPECT_FALSE(watch.Next().has_value());
    EXPECT_EQ(watch.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  Watch watch(*stub_, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_NO_FATAL_FAILURE(Send("still here"));
  std::optional<Event> event = watch.NextChange();
  ASSERT_TRUE(event.has_value() && event->has_created());
}

// A client that stops reading while mail keeps arriving: capture goes on, and the stream
// ends with RESOURCE_EXHAUSTED telling how to resume.
TEST_F(WatchMessagesTest, SlowConsumerEndsWithResourceExhausted) {
  // A small receive window and no window growth, so that the events pile up on the server
  // instead of in the client's transport.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  auto stub = v1::MessageService::NewStub(
      grpc::CreateCustomChannel(grpc_address(), grpc::InsecureChannelCredentials(), args));
  Watch watch(*stub, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  // Not reading meanwhile. Four sessions at once: capture must not wait for the watcher.
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back(
        [this, i] { EXPECT_NO_FATAL_FAILURE(Send(absl::StrCat("flood", i), 400)); });
  }
  for (std::thread& sender : senders) sender.join();
  int created = 0;
  while (std::optional<Event> event = watch.Next()) {
    if (event->has_created()) ++created;
  }
  grpc::Status status = watch.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("since"));
  EXPECT_LT(created, 1600);
  // Everything was captured all the same.
  pqxx::connection conn(database_url());
  pqxx::work txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM messages")[0].as<int>(), 1600);
}

TEST_F(WatchMessagesTest, ShutdownEndsStreamsAtOnce) {
  Watch watch(*stub_, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  mailroom_->Signal(SIGTERM);
  EXPECT_FALSE(watch.NextChange().has_value());
  grpc::Status status = watch.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  EXPECT_EQ(mailroom_->Wait(absl::Seconds(20)), 0) << mailroom_->Output();
}

// Replicas share the database, not memory: a watch on one process hears captures, updates
// and deletions made through another.
TEST_F(WatchMessagesTest, SeesChangesMadeThroughAnotherReplica) {
  std::unique_ptr<ChildProcess> first = std::move(mailroom_);
  const std::string first_config = config_path_;
  std::unique_ptr<v1::MessageService::Stub> first_stub = std::move(stub_);
  MailroomTestBase::SetUp();
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  auto second_stub = NewStub(grpc_port_);

  {
    Watch watch(*first_stub, WatchRequest());
    ASSERT_TRUE(watch.AwaitSubscribed());
    ASSERT_NO_FATAL_FAILURE(Send("via the second replica"));  // smtp_port_ is the second's
    std::optional<Event> created = watch.NextChange();
    ASSERT_TRUE(created.has_value() && created->has_created());
    EXPECT_EQ(created->created().subject(), "via the second replica");

    grpc::ClientContext context;
    v1::DeleteMessageRequest request;
    request.set_id(created->created().id());
    v1::DeleteMessageResponse response;
    ASSERT_TRUE(second_stub->DeleteMessage(&context, request, &response).ok());
    std::optional<Event> deleted = watch.NextChange();
    ASSERT_TRUE(deleted.has_value() && deleted->has_deleted());
    EXPECT_EQ(deleted->deleted().id(), created->created().id());
  }
  first.reset();
  std::remove(first_config.c_str());
}

// With a cluster of its own, stopped while a stream is live: notifications sent while the
// listening connection is down are lost, so the stream ends (UNAVAILABLE) telling the client
// to resume, rather than going on with a silent gap.
class WatchAcrossRestartTest : public MailroomFixture {};

TEST_F(WatchAcrossRestartTest, LosingTheDatabaseEndsTheStream) {
  ASSERT_NO_FATAL_FAILURE(StartMailroomAndWaitUntilReady());
  auto stub = v1::MessageService::NewStub(
      grpc::CreateChannel(grpc_address(), grpc::InsecureChannelCredentials()));
  Watch watch(*stub, WatchRequest());
  ASSERT_TRUE(watch.AwaitSubscribed());
  ASSERT_TRUE(cluster_->Stop().ok());
  EXPECT_FALSE(watch.NextChange().has_value());
  grpc::Status status = watch.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("since"));
  ASSERT_TRUE(cluster_->Restart().ok());
}

}  // namespace
}  // namespace mailroom::testing
