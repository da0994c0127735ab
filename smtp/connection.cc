#include "smtp/connection.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "smtp/foreign_completion.h"

namespace mailroom::smtp {
namespace {

// Longer timeouts are clamped so that adding them to now() cannot overflow.
constexpr absl::Duration kLongestTimeout = absl::Hours(24 * 365);

std::chrono::steady_clock::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(std::clamp(d, absl::ZeroDuration(), kLongestTimeout)));
}

absl::Time NowFor(const SessionOptions& options) {
  return options.now ? options.now() : absl::Now();
}

// What the connection knows before the session starts.
SessionInfo DescribeConnection(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& remote,
                               const ListenerContext& listener) {
  SessionInfo info;
  info.id = listener.session.new_id();
  info.listener = listener.name;
  info.client_address = AddressText(remote.address());
  info.client_port = remote.port();
  asio::error_code error;
  const asio::ip::tcp::endpoint local = socket.local_endpoint(error);
  if (!error) info.server_address = EndpointText(local);
  info.started_at = NowFor(listener.session);
  return info;
}

// The record of a connection that ended before a session could start.
SessionRecord RecordWithoutSession(SessionInfo info, absl::Time ended_at, std::string error,
                                   absl::string_view reply) {
  SessionRecord record;
  record.ended_at = ended_at;
  record.outcome = SessionOutcome::kError;
  if (!reply.empty()) {
    record.transcript.push_back({ended_at - info.started_at, TranscriptLine::Direction::kServer,
                                 std::string(absl::StripSuffix(reply, "\r\n"))});
  }
  record.transcript.push_back(
      {ended_at - info.started_at, TranscriptLine::Direction::kInfo, error});
  record.error = std::move(error);
  record.info = std::move(info);
  return record;
}

void LogUncaught(EngineLog* log, absl::string_view what, std::exception_ptr exception) {
  if (exception == nullptr) return;
  std::string reason = "unknown exception";
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
  }
  log->Error(what, {{"error", reason}});
}

}  // namespace

std::string AddressText(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

std::string EndpointText(const asio::ip::tcp::endpoint& endpoint) {
  const std::string address = AddressText(endpoint.address());
  if (address.find(':') != std::string::npos) {
    return absl::StrCat("[", address, "]:", endpoint.port());
  }
  return absl::StrCat(address, ":", endpoint.port());
}

std::shared_ptr<Connection> Connection::Create(asio::ip::tcp::socket socket,
                                               const asio::ip::tcp::endpoint& remote,
                                               const ListenerContext& listener,
                                               ConnectionLimiter::Slot slot,
                                               OnFinished on_finished) {
  return std::shared_ptr<Connection>(
      new Connection(std::move(socket), remote, listener, std::move(slot), std::move(on_finished)));
}

Connection::Connection(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote,
                       const ListenerContext& listener, ConnectionLimiter::Slot slot,
                       OnFinished on_finished)
    : listener_(listener),
      remote_(remote),
      transport_(std::move(socket)),
      slot_(std::move(slot)),
      on_finished_(std::move(on_finished)),
      watchdog_(transport_.socket().get_executor()) {}

Connection::~Connection() = default;

void Connection::Start() {
  auto self = shared_from_this();
  asio::co_spawn(transport_.socket().get_executor(), Run(self),
                 [self](std::exception_ptr exception) {
                   LogUncaught(self->listener_.log, "SMTP connection failed", exception);
                   // Only an exception gets here unfinished; the server must still forget us.
                   if (!self->finished_) {
                     self->finished_ = true;
                     self->transport_.Close();
                     self->watchdog_.cancel();
                     self->slot_ = ConnectionLimiter::Slot();
                     if (self->on_finished_) std::move(self->on_finished_)(self.get());
                   }
                 });
}

void Connection::Stop() {
  asio::post(transport_.socket().get_executor(), [self = shared_from_this()] {
    if (self->stopping_ || self->finished_) return;
    self->stopping_ = true;
    // Only a read is interrupted: a write or TLS handshake finishes (or times out), and a
    // delivery in progress completes and is answered before the session hears of it.
    if (self->reading_) self->transport_.Cancel();
  });
}

void Connection::ForceClose() {
  asio::post(transport_.socket().get_executor(), [self = shared_from_this()] {
    if (self->finished_) return;
    self->forced_ = true;
    self->transport_.Close();
  });
}

absl::Time Connection::Now() const { return NowFor(listener_.session); }

asio::awaitable<void> Connection::Run([[maybe_unused]] std::shared_ptr<Connection> self) {
  SessionInfo info = DescribeConnection(transport_.socket(), remote_, listener_);
  if (listener_.implicit_tls && !co_await AcceptImplicitTls(info)) co_return;

  Session session(listener_.session, std::move(info));
  co_await Write(session.Greeting());
  for (;;) {
    Session::Output out = session.Advance();
    co_await Write(out.replies);
    switch (out.next) {
      case Session::Next::kRead:
        if (co_await Read(session)) break;
        // The session asked to read again from a stream it was told is gone.
        Finish(session.Finish());
        co_return;
      case Session::Next::kDeliver: {
        const DeliveryResult result = co_await Deliver(std::move(out.message));
        session.Delivered(result.status, result.transcript_lines);
        break;
      }
      case Session::Next::kAuthenticate:
        session.Authenticated(co_await Authenticate(out.credentials));
        break;
      case Session::Next::kStartTls:
        co_await StartTls(session);
        break;
      case Session::Next::kClose:
        Finish(session.Finish());
        co_return;
    }
  }
}

asio::awaitable<bool> Connection::AcceptImplicitTls(SessionInfo& info) {
  asio::error_code error;
  if (listener_.tls == nullptr) {
    error = asio::error::operation_not_supported;
  } else {
    ArmDeadline(listener_.session.limits.command_timeout);
    error = co_await transport_.StartTls(listener_.tls->current());
    DisarmDeadline();
  }
  if (!error) {
    TlsFacts facts = DescribeTls(transport_.ssl());
    info.tls_protocol = std::move(facts.protocol);
    info.tls_cipher = std::move(facts.cipher);
    co_return true;
  }
  const std::string reason = timed_out_ ? "timed out" : error.message();
  listener_.log->Debug(
      "TLS handshake failed",
      {{"listener", listener_.name}, {"client", info.client_address}, {"error", reason}});
  const absl::Time now = Now();
  Finish(RecordWithoutSession(std::move(info), now, absl::StrCat("TLS handshake failed: ", reason),
                              ""));
  co_return false;
}

asio::awaitable<bool> Connection::Read(Session& session) {
  if (failure_ != Failure::kNone) {
    if (failure_told_) co_return false;
    TellFailure(session);
    co_return true;
  }
  if (stopping_ && !shutdown_told_) {
    shutdown_told_ = true;
    session.ShuttingDown();
    co_return true;
  }

  ArmDeadline(session.read_timeout());
  reading_ = true;
  auto [error, size] = co_await transport_.ReadSome(asio::buffer(buffer_));
  reading_ = false;
  DisarmDeadline();

  if (!error) {
    session.Receive(absl::string_view(buffer_.data(), size));
    co_return true;
  }
  if (timed_out_) {
    // Only the read was cancelled; the stream can still carry the 421.
    session.TimedOut();
    co_return true;
  }
  if (error == asio::error::operation_aborted && stopping_ && !forced_) {
    // Woken by Stop(): the stream is intact, so the session can say goodbye.
    if (!shutdown_told_) {
      shutdown_told_ = true;
      session.ShuttingDown();
    }
    co_return true;
  }
  failure_ = forced_ ? Failure::kShutdown : Failure::kDropped;
  if (error != asio::error::eof) failure_error_ = error.message();
  TellFailure(session);
  co_return true;
}

asio::awaitable<void> Connection::Write(absl::string_view bytes) {
  if (bytes.empty() || failure_ != Failure::kNone) co_return;
  // A client that stops reading is given as long as one that stops writing.
  ArmDeadline(listener_.session.limits.command_timeout);
  const asio::error_code error = co_await transport_.WriteAll(bytes);
  DisarmDeadline();
  if (!error) co_return;
  // The session hears of it when it next waits for input (see Read): it may be in the
  // middle of something that must be completed first.
  if (forced_) {
    failure_ = Failure::kShutdown;
  } else {
    failure_ = Failure::kDropped;
    failure_error_ = timed_out_ ? "write timed out" : error.message();
  }
}

asio::awaitable<void> Connection::StartTls(Session& session) {
  if (failure_ != Failure::kNone || listener_.tls == nullptr) {
    failure_told_ = true;
    if (failure_ == Failure::kNone) failure_ = Failure::kDropped;
    session.TlsFailed(listener_.tls == nullptr ? "TLS is not configured on this listener"
                                               : "connection lost before the TLS handshake");
    co_return;
  }
  ArmDeadline(session.read_timeout());
  const asio::error_code error = co_await transport_.StartTls(listener_.tls->current());
  DisarmDeadline();
  if (!error) {
    const TlsFacts facts = DescribeTls(transport_.ssl());
    session.TlsStarted(facts.protocol, facts.cipher);
    co_return;
  }
  // Nothing more can be written: the stream is neither plaintext nor TLS any longer.
  const std::string reason = timed_out_ ? "timed out" : error.message();
  failure_ = forced_ ? Failure::kShutdown : Failure::kDropped;
  failure_told_ = true;
  listener_.log->Debug(
      "TLS handshake failed",
      {{"listener", listener_.name}, {"client", session.info().client_address}, {"error", reason}});
  session.TlsFailed(reason);
}

asio::awaitable<DeliveryResult> Connection::Deliver(
    std::shared_ptr<const ReceivedMessage> message) {
  if (message == nullptr) co_return absl::InternalError("no message to deliver");
  MessageSink* sink = listener_.sink;
  co_return co_await AwaitForeignCompletion<DeliveryResult>(
      [sink, &message](ForeignDone<DeliveryResult> done) {
        sink->Deliver(std::move(message), std::move(done));
      },
      asio::use_awaitable);
}

asio::awaitable<absl::Status> Connection::Authenticate(const Credentials& credentials) {
  Authenticator* authenticator = listener_.authenticator;
  co_return co_await AwaitForeignCompletion(
      [authenticator, &credentials](ForeignDone<> done) {
        authenticator->Authenticate(credentials, std::move(done));
      },
      asio::use_awaitable);
}

void Connection::TellFailure(Session& session) {
  if (failure_told_) return;
  failure_told_ = true;
  if (failure_ == Failure::kShutdown) {
    shutdown_told_ = true;
    session.ShuttingDown();
  } else {
    session.ClientDropped(failure_error_);
  }
}

void Connection::Finish(SessionRecord record) {
  finished_ = true;
  transport_.Close();
  DisarmDeadline();
  watchdog_.cancel();
  // The place is free once the socket is closed. It is released before the record is
  // published, so whoever has seen the session end finds the place free.
  slot_ = ConnectionLimiter::Slot();
  listener_.recorder->Record(std::move(record));
  if (on_finished_) std::move(on_finished_)(this);
}

void Connection::ArmDeadline(absl::Duration timeout) {
  timed_out_ = false;
  deadline_ = std::chrono::steady_clock::now() + ToSteady(timeout);
  // The timer is only reset when the deadline moves earlier than the pending wait; a later
  // deadline is picked up when that wait ends, which keeps a busy connection from
  // re-arming the timer on every read.
  if (watchdog_waiting_ && watchdog_.expiry() <= deadline_) return;
  watchdog_.expires_at(deadline_);
  WaitForDeadline();
}

void Connection::DisarmDeadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

void Connection::WaitForDeadline() {
  watchdog_waiting_ = true;
  const uint64_t generation = ++watchdog_generation_;
  watchdog_.async_wait([self = shared_from_this(), generation](const asio::error_code& error) {
    self->OnDeadlineTimer(error, generation);
  });
}

void Connection::OnDeadlineTimer(const asio::error_code& error, uint64_t generation) {
  if (generation != watchdog_generation_) return;  // superseded by an earlier deadline
  watchdog_waiting_ = false;
  if (error || finished_) return;
  if (deadline_ == std::chrono::steady_clock::time_point::max()) return;  // idle
  if (std::chrono::steady_clock::now() >= deadline_) {
    timed_out_ = true;
    transport_.Cancel();
    return;
  }
  watchdog_.expires_at(deadline_);
  WaitForDeadline();
}

void RejectConnection(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote,
                      const ListenerContext& listener, std::string reply, std::string error) {
  SessionInfo info = DescribeConnection(socket, remote, listener);
  auto executor = socket.get_executor();
  auto reject = [](asio::ip::tcp::socket socket, const ListenerContext& listener, SessionInfo info,
                   std::string reply, std::string error) -> asio::awaitable<void> {
    // A fresh socket's send buffer takes one short line at once, so this cannot hang.
    if (!reply.empty()) {
      co_await asio::async_write(socket, asio::buffer(reply),
                                 asio::experimental::as_tuple(asio::use_awaitable));
    }
    asio::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    const absl::Time now = NowFor(listener.session);
    listener.recorder->Record(RecordWithoutSession(std::move(info), now, std::move(error), reply));
  };
  EngineLog* log = listener.log;
  asio::co_spawn(
      executor,
      reject(std::move(socket), listener, std::move(info), std::move(reply), std::move(error)),
      [log](std::exception_ptr exception) {
        LogUncaught(log, "SMTP connection rejection failed", exception);
      });
}

}  // namespace mailroom::smtp
