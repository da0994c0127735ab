// Connection: one accepted SMTP client connection, from the first byte to the session record.
//
// smtp::Server accepts the socket and hands it here; a coroutine on the connection's own
// strand then drives a Session (smtp/session.h): it writes the replies the session returns,
// reads with the session's timeout, carries out deliveries and credential checks on the
// engine's injected MessageSink and Authenticator (resuming on the strand when they
// complete on their threads), performs STARTTLS or the implicit-TLS handshake, and finally
// closes the socket and calls SessionRecorder::Record exactly once.
//
// Thread-safety: Start(), Stop() and ForceClose() may be called from any thread; everything
// else happens on the connection's strand.
#ifndef MAILROOM_SMTP_CONNECTION_H_
#define MAILROOM_SMTP_CONNECTION_H_

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smtp/authenticator.h"
#include "smtp/connection_limiter.h"
#include "smtp/engine_log.h"
#include "smtp/envelope.h"
#include "smtp/message_sink.h"
#include "smtp/session.h"
#include "smtp/session_recorder.h"
#include "smtp/tls_context.h"
#include "smtp/transport.h"

namespace mailroom::smtp {

// What the connections of one listener share. Owned by the Server, which keeps it alive
// until every connection of the listener has finished.
struct ListenerContext {
  std::string name;
  SessionOptions session;  // already adjusted for the listener (STARTTLS, TLS policy)
  bool implicit_tls = false;
  TlsContextProvider* tls = nullptr;  // non-null when the listener offers TLS
  MessageSink* sink = nullptr;
  Authenticator* authenticator = nullptr;
  SessionRecorder* recorder = nullptr;
  EngineLog* log = nullptr;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Called once on the strand when the connection has closed and been recorded.
  using OnFinished = absl::AnyInvocable<void(Connection*) &&>;

  // `remote` is the client's end of `socket` (the server has asked already).
  // REQUIRES: `socket` is bound to an executor of its own (a strand of the I/O context);
  // `listener` outlives the connection.
  static std::shared_ptr<Connection> Create(asio::ip::tcp::socket socket,
                                            const asio::ip::tcp::endpoint& remote,
                                            const ListenerContext& listener,
                                            ConnectionLimiter::Slot slot, OnFinished on_finished);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Starts the session's coroutine. Call once.
  void Start();

  // Asks the session to end gracefully: when it next waits for a command it answers
  // "421 4.3.2" and closes; a delivery in progress completes (and is answered) first.
  void Stop();

  // Closes the socket now. The session is recorded as ended by the server's shutdown once
  // whatever it is waiting for (a delivery, say) has completed.
  void ForceClose();

 private:
  // Why the stream can no longer be used.
  enum class Failure { kNone, kDropped, kShutdown };

  Connection(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote,
             const ListenerContext& listener, ConnectionLimiter::Slot slot, OnFinished on_finished);

  // `self` keeps the connection alive for as long as the coroutine runs.
  asio::awaitable<void> Run(std::shared_ptr<Connection> self);
  // The implicit-TLS handshake before the greeting. Returns false (and has recorded the
  // connection) when it failed.
  asio::awaitable<bool> AcceptImplicitTls(SessionInfo& info);
  // Each carries out one Session::Next; Read returns false when the session keeps asking
  // for input from a stream that is gone.
  asio::awaitable<bool> Read(Session& session);
  asio::awaitable<void> Write(absl::string_view bytes);
  asio::awaitable<void> StartTls(Session& session);
  asio::awaitable<DeliveryResult> Deliver(std::shared_ptr<const ReceivedMessage> message);
  asio::awaitable<absl::Status> Authenticate(const Credentials& credentials);

  // Tells the session why the stream failed, once.
  void TellFailure(Session& session);
  // Closes, records and reports the end. Call once.
  void Finish(SessionRecord record);

  // The watchdog: an operation that outlives its deadline is cancelled and timed_out_ set.
  void ArmDeadline(absl::Duration timeout);
  void DisarmDeadline();
  void WaitForDeadline();
  void OnDeadlineTimer(const asio::error_code& error, uint64_t generation);

  absl::Time Now() const;

  const ListenerContext& listener_;
  const asio::ip::tcp::endpoint remote_;
  Transport transport_;
  ConnectionLimiter::Slot slot_;
  OnFinished on_finished_;

  asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  uint64_t watchdog_generation_ = 0;  // tells a superseded timer wait from the current one
  bool watchdog_waiting_ = false;
  bool timed_out_ = false;  // the watchdog cancelled the current operation

  bool started_ = false;
  bool reading_ = false;        // a read is pending, which Stop() may cancel
  bool stopping_ = false;       // Stop() was called
  bool shutdown_told_ = false;  // session.ShuttingDown() was called
  bool forced_ = false;         // ForceClose() was called
  bool finished_ = false;       // Finish() was called
  Failure failure_ = Failure::kNone;
  std::string failure_error_;  // for kDropped: the transport's error, if any
  bool failure_told_ = false;

  static constexpr size_t kReadBufferSize = 16 * 1024;
  std::array<char, kReadBufferSize> buffer_;
};

// Answers a connection that the ConnectionLimiter turned away with `reply` (a full "421
// ..." line with CRLF; empty: nothing is written), closes it and records it (outcome
// kError with `error`) without starting a session. Runs asynchronously on the socket's
// executor.
void RejectConnection(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote,
                      const ListenerContext& listener, std::string reply, std::string error);

// "192.0.2.10" or "2001:db8::1"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string AddressText(const asio::ip::address& address);
// "192.0.2.10:25" or "[2001:db8::1]:25".
std::string EndpointText(const asio::ip::tcp::endpoint& endpoint);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_CONNECTION_H_
