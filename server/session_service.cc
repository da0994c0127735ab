#include "server/session_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"
#include "server/unary_call.h"
#include "storage/session_store.h"

namespace mailroom::server {
namespace {

// Builds the filter shared by ListSessions and DeleteSessions from the request fields.
template <typename Request>
absl::StatusOr<storage::SessionFilter> FilterOf(const Request& request) {
  storage::SessionFilter filter;
  filter.client_address = request.client_address();
  filter.auth_user = request.auth_user();
  if (request.has_has_error()) filter.has_error = request.has_error();
  if (request.has_since()) {
    absl::StatusOr<absl::Time> since = FromTimestamp(request.since(), "since");
    if (!since.ok()) return since.status();
    filter.since = *since;
  }
  if (request.has_until()) {
    absl::StatusOr<absl::Time> until = FromTimestamp(request.until(), "until");
    if (!until.ok()) return until.status();
    filter.until = *until;
  }
  return filter;
}

v1::SessionOutcome OutcomeProto(absl::string_view outcome) {
  if (outcome == "quit") return v1::SESSION_OUTCOME_QUIT;
  if (outcome == "client_dropped") return v1::SESSION_OUTCOME_CLIENT_DROPPED;
  if (outcome == "timeout") return v1::SESSION_OUTCOME_TIMEOUT;
  if (outcome == "error") return v1::SESSION_OUTCOME_ERROR;
  if (outcome == "shutdown") return v1::SESSION_OUTCOME_SERVER_SHUTDOWN;
  return v1::SESSION_OUTCOME_UNSPECIFIED;
}

v1::TranscriptLine::Direction DirectionProto(char direction) {
  switch (direction) {
    case 'C':
      return v1::TranscriptLine::DIRECTION_CLIENT;
    case 'S':
      return v1::TranscriptLine::DIRECTION_SERVER;
    case 'I':
      return v1::TranscriptLine::DIRECTION_INFO;
    default:
      return v1::TranscriptLine::DIRECTION_UNSPECIFIED;
  }
}

void ToSessionProto(const storage::SessionRow& row, v1::Session* out) {
  out->set_id(row.id);
  out->set_listener(row.listener);
  out->set_client_address(row.client_address);
  out->set_client_port(row.client_port);
  if (row.tls_protocol.has_value()) {
    out->mutable_tls()->set_protocol(*row.tls_protocol);
    out->mutable_tls()->set_cipher(row.tls_cipher);
    out->mutable_tls()->set_implicit(row.tls_implicit);
  }
  out->set_ehlo_name(row.ehlo_name);
  out->set_auth_user(row.auth_user);
  out->set_auth_mechanism(row.auth_mechanism);
  SetTimestamp(row.started_at, out->mutable_start_time());
  SetTimestamp(row.ended_at, out->mutable_end_time());
  out->set_message_count(row.message_count);
  out->set_outcome(OutcomeProto(row.outcome));
  out->set_error_reply_count(row.error_reply_count);
  // The proto promises error_message only for ERROR and TIMEOUT.
  if (row.outcome == "error" || row.outcome == "timeout") out->set_error_message(row.error);
  for (const std::string& id : row.message_ids) out->add_message_ids(id);
  out->set_transcript_line_count(row.transcript_line_count);
}

}  // namespace

SessionService::SessionService(storage::ConnectionPool* pool, StorageExecutor* executor)
    : pool_(*pool), executor_(*executor) {}

grpc::ServerUnaryReactor* SessionService::ListSessions(grpc::CallbackServerContext* context,
                                                       const v1::ListSessionsRequest* request,
                                                       v1::ListSessionsResponse* response) {
  if (request->page_size() < 0) {
    return FinishNow(context, absl::InvalidArgumentError("page_size: must not be negative"));
  }
  absl::StatusOr<storage::SessionFilter> filter = FilterOf(*request);
  if (!filter.ok()) return FinishNow(context, filter.status());
  if (absl::Status valid = storage::ValidateSessionFilter(*filter); !valid.ok()) {
    return FinishNow(context, valid);
  }
  storage::SessionListQuery query{
      .filter = *std::move(filter),
      .page_size = std::min<int>(request->page_size(), storage::kMaxSessionPageSize),
      .page_token = request->page_token()};
  return FinishOnExecutor(
      context, executor_, [this, query = std::move(query), response]() -> absl::Status {
        absl::StatusOr<storage::SessionPage> page = storage::ListSessions(pool_, query);
        if (!page.ok()) return page.status();
        for (const storage::SessionRow& row : page->sessions) {
          ToSessionProto(row, response->add_sessions());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SessionService::GetSession(grpc::CallbackServerContext* context,
                                                     const v1::GetSessionRequest* request,
                                                     v1::GetSessionResponse* response) {
  if (request->id().empty()) return FinishNow(context, absl::InvalidArgumentError("id: required"));
  if (request->transcript_page_size() < 0) {
    return FinishNow(context,
                     absl::InvalidArgumentError("transcript_page_size: must not be negative"));
  }
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<storage::SessionDetail> detail = storage::GetSession(
        pool_, request->id(), request->transcript_page_size(), request->transcript_page_token());
    if (!detail.ok()) return detail.status();
    ToSessionProto(detail->session, response->mutable_session());
    for (const storage::TranscriptLine& line : detail->transcript) {
      v1::TranscriptLine* out = response->add_transcript();
      SetTimestamp(line.time, out->mutable_time());
      out->set_direction(DirectionProto(line.direction));
      out->set_text(line.text);
    }
    response->set_next_transcript_page_token(detail->next_transcript_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SessionService::DeleteSessions(grpc::CallbackServerContext* context,
                                                         const v1::DeleteSessionsRequest* request,
                                                         v1::DeleteSessionsResponse* response) {
  absl::StatusOr<storage::SessionFilter> filter = FilterOf(*request);
  if (!filter.ok()) return FinishNow(context, filter.status());
  filter->ids.assign(request->ids().begin(), request->ids().end());
  if (absl::Status valid = storage::ValidateSessionFilter(*filter); !valid.ok()) {
    return FinishNow(context, valid);
  }
  if (filter->Empty() && !request->confirm_all()) {
    return FinishNow(context, absl::InvalidArgumentError(
                                  "confirm_all: must be true to delete every session (no id and "
                                  "no filter was given)"));
  }
  return FinishOnExecutor(
      context, executor_, [this, filter = *std::move(filter), response]() -> absl::Status {
        absl::StatusOr<int64_t> deleted = storage::DeleteSessions(pool_, filter);
        if (!deleted.ok()) return deleted.status();
        response->set_deleted_count(*deleted);
        return absl::OkStatus();
      });
}

}  // namespace mailroom::server
