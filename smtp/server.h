// Server: the SMTP engine's listeners, accept loops, connection limits and shutdown.
//
// Start() binds every configured listener and runs one io_context on a few threads. One
// coroutine per listener accepts connections; each accepted connection gets its own strand
// and a Connection (smtp/connection.h) that drives a Session until the client leaves.
// Connections over the total or per-address limit are answered "421 4.7.0", closed and
// recorded without a session. Messages leave through the MessageSink, sessions through the
// SessionRecorder, credentials are checked by the Authenticator: the engine's three ways
// out, which server/ implements over storage.
//
// Thread-safety: port() and Shutdown() may be called from any thread except the server's
// own I/O threads (Shutdown blocks until they have exited). The sink, recorder,
// authenticator, TLS provider and log must outlive the Server.
#ifndef MAILROOM_SMTP_SERVER_H_
#define MAILROOM_SMTP_SERVER_H_

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/strand.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "smtp/authenticator.h"
#include "smtp/connection.h"
#include "smtp/connection_limiter.h"
#include "smtp/engine_log.h"
#include "smtp/message_sink.h"
#include "smtp/session.h"
#include "smtp/session_recorder.h"
#include "smtp/tls_context.h"

namespace mailroom::smtp {

struct ListenerOptions {
  enum class Tls {
    kStartTls,  // plaintext; STARTTLS offered (RFC 3207)
    kImplicit,  // TLS from the first byte (RFC 8314, the port 465 style)
  };

  std::string name;     // in logs, errors and SessionInfo::listener; unique per server
  std::string address;  // "127.0.0.1", "0.0.0.0", "::", or a host name resolved at Start
  int port = 0;         // 0 = any free port (see Server::port)
  Tls tls = Tls::kStartTls;
  bool tls_required = false;          // MAIL and AUTH before STARTTLS → 530 5.7.0
  bool allow_plaintext_auth = false;  // AUTH before STARTTLS allowed
};

struct ServerOptions {
  // Hostname, limits, AUTH policy, id generator (required) and clock; adjusted per listener
  // (starttls_available, tls_required, allow_plaintext_auth).
  SessionOptions session;
  std::vector<ListenerOptions> listeners;
  // One thread serves thousands of connections per second; on a small machine shared with
  // PostgreSQL a second one costs more in thread hand-offs than it adds (bench/README.md).
  int io_threads = 1;
  int max_connections = 1000;       // <= 0: unlimited
  int max_connections_per_ip = 50;  // <= 0: unlimited
};

class Server {
 public:
  // Binds every listener and starts `options.io_threads` threads running the engine.
  // Returns InvalidArgument for unusable options (no id generator, duplicate listener
  // names, an implicit-TLS listener without `tls`, a missing sink/recorder/authenticator)
  // and, when a listener cannot be bound, an error naming it and its address
  // ("listener smtp 127.0.0.1:2525: Address already in use"). `tls` may be null when no
  // listener uses TLS: STARTTLS is then not offered. `log` may be null.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       TlsContextProvider* tls, MessageSink* sink,
                                                       SessionRecorder* recorder,
                                                       Authenticator* authenticator,
                                                       EngineLog* log);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // Shutdown(absl::ZeroDuration()) unless done already.

  // The port a listener is bound to (useful with port 0); 0 for an unknown name.
  int port(absl::string_view listener_name) const;

  // Stops accepting and tells every session to end: between commands it answers
  // "421 4.3.2" and closes; a delivery in progress completes and is answered first. After
  // `grace`, whatever remains is closed forcibly. Every session is recorded (outcome
  // kServerShutdown). Returns when the I/O threads have exited, which also waits for
  // deliveries and credential checks still in flight. Later calls do nothing.
  void Shutdown(absl::Duration grace);

 private:
  struct Listener {
    Listener(asio::io_context& io, ListenerContext context)
        : context(std::move(context)), strand(asio::make_strand(io)), acceptor(strand) {}

    ListenerContext context;
    std::string endpoint;  // "127.0.0.1:2525", for logs
    int port = 0;
    asio::strand<asio::io_context::executor_type> strand;  // serialises the acceptor
    asio::ip::tcp::acceptor acceptor;
  };

  Server(ServerOptions options, EngineLog* log);

  absl::Status Bind(const ListenerOptions& options, Listener& listener);
  asio::awaitable<void> Accept(Listener& listener);
  void Admit(Listener& listener, asio::ip::tcp::socket socket);
  void Forget(Connection* connection);

  const ServerOptions options_;
  EngineLog* const log_;

  // Declared before the sockets, timers and connections that refer to it, so that it is
  // destroyed after them.
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  ConnectionLimiter limiter_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::thread> threads_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);

  absl::Mutex shutdown_mu_;  // serialises Shutdown() calls
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_SERVER_H_
