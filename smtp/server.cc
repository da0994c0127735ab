#include "smtp/server.h"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mailroom::smtp {
namespace {

// After a failed accept (out of file descriptors, say), wait this long before the next one
// instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay(100);

absl::string_view TlsModeName(ListenerOptions::Tls tls) {
  return tls == ListenerOptions::Tls::kImplicit ? "implicit" : "starttls";
}

bool NoConnections(absl::flat_hash_map<Connection*, std::shared_ptr<Connection>>* connections) {
  return connections->empty();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      TlsContextProvider* tls, MessageSink* sink,
                                                      SessionRecorder* recorder,
                                                      Authenticator* authenticator,
                                                      EngineLog* log) {
  if (sink == nullptr || recorder == nullptr || authenticator == nullptr) {
    return absl::InvalidArgumentError(
        "SMTP server needs a message sink, a session recorder and an authenticator");
  }
  if (!options.session.new_id) {
    return absl::InvalidArgumentError("SMTP server needs an id generator (session.new_id)");
  }
  if (options.io_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SMTP server io_threads must be at least 1, not ", options.io_threads));
  }
  absl::flat_hash_set<std::string> names;
  for (const ListenerOptions& listener : options.listeners) {
    if (!names.insert(listener.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two SMTP listeners are named \"", listener.name, "\""));
    }
    if (tls == nullptr &&
        (listener.tls == ListenerOptions::Tls::kImplicit || listener.tls_required)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listener ", listener.name, ": TLS is required but no certificate is configured"));
    }
  }

  if (log == nullptr) log = &DiscardingEngineLog();
  auto server = absl::WrapUnique(new Server(options, log));
  for (const ListenerOptions& listener_options : server->options_.listeners) {
    ListenerContext context;
    context.name = listener_options.name;
    context.session = server->options_.session;
    context.session.starttls_available =
        tls != nullptr && listener_options.tls == ListenerOptions::Tls::kStartTls;
    context.session.tls_required = listener_options.tls_required;
    context.session.allow_plaintext_auth = listener_options.allow_plaintext_auth;
    context.implicit_tls = listener_options.tls == ListenerOptions::Tls::kImplicit;
    context.tls = tls;
    context.sink = sink;
    context.authenticator = authenticator;
    context.recorder = recorder;
    context.log = log;
    auto listener = std::make_unique<Listener>(server->io_, std::move(context));
    if (absl::Status bound = server->Bind(listener_options, *listener); !bound.ok()) {
      return bound;  // the destructor closes what was bound; no thread runs yet
    }
    server->listeners_.push_back(std::move(listener));
  }

  for (const auto& listener : server->listeners_) {
    log->Info("SMTP listener started",
              {{"listener", listener->context.name},
               {"address", listener->endpoint},
               {"tls", std::string(TlsModeName(listener->context.implicit_tls
                                                   ? ListenerOptions::Tls::kImplicit
                                                   : ListenerOptions::Tls::kStartTls))}});
    asio::co_spawn(listener->strand, server->Accept(*listener),
                   [log, name = listener->context.name](std::exception_ptr exception) {
                     if (exception != nullptr) {
                       log->Error("SMTP accept loop failed", {{"listener", name}});
                     }
                   });
  }
  server->work_.emplace(server->io_.get_executor());
  for (int i = 0; i < server->options_.io_threads; ++i) {
    server->threads_.emplace_back([io = &server->io_] { io->run(); });
  }
  return server;
}

Server::Server(ServerOptions options, EngineLog* log)
    : options_(std::move(options)),
      log_(log),
      io_(options_.io_threads),
      limiter_(options_.max_connections, options_.max_connections_per_ip) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

absl::Status Server::Bind(const ListenerOptions& options, Listener& listener) {
  const std::string where =
      absl::StrCat("listener ", options.name, " ", options.address, ":", options.port);
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": port out of range"));
  }
  asio::error_code error;
  asio::ip::tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(options.address, error);
  if (!error) {
    endpoint = asio::ip::tcp::endpoint(address, static_cast<unsigned short>(options.port));
  } else {
    // A host name ("localhost"): resolved once, here, before any I/O thread runs.
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(options.address, std::to_string(options.port),
                                    asio::ip::tcp::resolver::passive, error);
    if (error || results.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": cannot resolve address: ", error ? error.message() : std::string("no addresses")));
    }
    endpoint = results.begin()->endpoint();
  }

  asio::ip::tcp::acceptor& acceptor = listener.acceptor;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    asio::error_code ignored;
    acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat(where, ": ", error.message()));
  }
  const asio::ip::tcp::endpoint bound = acceptor.local_endpoint(error);
  listener.port = error ? options.port : bound.port();
  listener.endpoint =
      error ? absl::StrCat(options.address, ":", options.port) : EndpointText(bound);
  return absl::OkStatus();
}

asio::awaitable<void> Server::Accept(Listener& listener) {
  constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
  for (;;) {
    // Each connection gets a strand of its own: its coroutine, socket and timer share it.
    auto [error, socket] = co_await listener.acceptor.async_accept(
        asio::any_io_executor(asio::make_strand(io_)), kAsTuple);
    if (!error) {
      Admit(listener, std::move(socket));
      continue;
    }
    if (error == asio::error::operation_aborted || !listener.acceptor.is_open()) co_return;
    log_->Warn("SMTP accept failed",
               {{"listener", listener.context.name}, {"error", error.message()}});
    asio::steady_timer pause(listener.strand, kAcceptRetryDelay);
    co_await pause.async_wait(kAsTuple);
    if (!listener.acceptor.is_open()) co_return;
  }
}

void Server::Admit(Listener& listener, asio::ip::tcp::socket socket) {
  asio::error_code error;
  const asio::ip::tcp::endpoint remote = socket.remote_endpoint(error);
  if (error) return;  // gone before it could be looked at: nothing to answer or record
  // Replies are batched per pipelined group already, so Nagle's algorithm only adds delay.
  socket.set_option(asio::ip::tcp::no_delay(true), error);

  const std::string client = AddressText(remote.address());
  ConnectionLimiter::Admission admission = limiter_.TryAdmit(client);
  if (admission.verdict != ConnectionLimiter::Verdict::kAdmitted) {
    const bool per_address = admission.verdict == ConnectionLimiter::Verdict::kTooManyFromAddress;
    log_->Warn("SMTP connection limit reached",
               {{"listener", listener.context.name},
                {"client", client},
                {"limit", per_address ? "per_ip" : "total"},
                {"max", absl::StrCat(per_address ? options_.max_connections_per_ip
                                                 : options_.max_connections)}});
    // RFC 5321 §3.8: a server that cannot serve may answer 421 instead of 220. An
    // implicit-TLS client would take plaintext for a broken handshake, and a handshake per
    // refusal would spend the CPU the limit is there to save, so it only sees the close.
    std::string reply;
    if (!listener.context.implicit_tls) {
      reply = absl::StrCat(
          "421 4.7.0 ", options_.session.hostname,
          per_address ? " Too many connections from your address" : " Too many connections",
          ", try again later\r\n");
    }
    std::string reason =
        per_address ? absl::StrCat("too many connections from ", client, " (limit ",
                                   options_.max_connections_per_ip, ")")
                    : absl::StrCat("too many connections (limit ", options_.max_connections, ")");
    RejectConnection(std::move(socket), remote, listener.context, std::move(reply),
                     std::move(reason));
    return;
  }

  std::shared_ptr<Connection> connection =
      Connection::Create(std::move(socket), remote, listener.context, std::move(admission.slot),
                         [this](Connection* finished) { Forget(finished); });
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
    connections_.emplace(connection.get(), connection);
  }
  connection->Start();
  // Accepted while Shutdown() was already telling everyone: this one hears it too.
  if (stopping) connection->Stop();
}

void Server::Forget(Connection* connection) {
  absl::MutexLock lock(&mu_);
  connections_.erase(connection);
}

int Server::port(absl::string_view listener_name) const {
  for (const auto& listener : listeners_) {
    if (listener->context.name == listener_name) return listener->port;
  }
  return 0;
}

void Server::Shutdown(absl::Duration grace) {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (threads_.empty()) return;  // Start() failed before anything ran

  std::vector<std::shared_ptr<Connection>> open;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const auto& [raw, connection] : connections_) open.push_back(connection);
  }
  log_->Info("SMTP server stopping",
             {{"connections", absl::StrCat(open.size())}, {"grace", absl::FormatDuration(grace)}});
  for (const auto& listener : listeners_) {
    asio::post(listener->strand, [listener = listener.get()] {
      asio::error_code ignored;
      listener->acceptor.close(ignored);
    });
  }
  for (const auto& connection : open) connection->Stop();
  open.clear();

  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&NoConnections, &connections_), grace)) {
      for (const auto& [raw, connection] : connections_) open.push_back(connection);
    }
  }
  if (!open.empty()) {
    log_->Warn("SMTP sessions still open after the grace period; closing them",
               {{"connections", absl::StrCat(open.size())}});
    for (const auto& connection : open) connection->ForceClose();
    open.clear();
  }

  // Without the guard, run() returns once the last connection and the last pending
  // delivery are done.
  work_.reset();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  log_->Info("SMTP server stopped");
}

}  // namespace mailroom::smtp
