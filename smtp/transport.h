// Transport: the byte stream of one SMTP connection: a TCP socket, with TLS layered over it
// after STARTTLS or from the first byte on implicit-TLS listeners.
//
// It is the one place that knows whether the stream is encrypted, so that the connection's
// read-reply loop (smtp/connection.cc) is written once for both. Expected network errors
// (EOF, reset, cancellation, a failed handshake) come back as values, never exceptions.
//
// Thread-safety: not thread-safe; used from its connection's strand only.
#ifndef MAILROOM_SMTP_TRANSPORT_H_
#define MAILROOM_SMTP_TRANSPORT_H_

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/error_code.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <cstddef>
#include <memory>
#include <tuple>

#include "absl/strings/string_view.h"

namespace mailroom::smtp {

class Transport {
 public:
  explicit Transport(asio::ip::tcp::socket socket);
  ~Transport();

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Reads whatever is available, at least one byte; the count is valid when no error.
  asio::awaitable<std::tuple<asio::error_code, std::size_t>> ReadSome(asio::mutable_buffer buffer);

  // Writes all of `bytes`, which must stay alive until the returned awaitable completes.
  asio::awaitable<asio::error_code> WriteAll(absl::string_view bytes);

  // Performs the server side of a TLS handshake with `context`; afterwards every read and
  // write is encrypted. On error the stream is unusable and should be closed.
  // REQUIRES: !tls().
  asio::awaitable<asio::error_code> StartTls(std::shared_ptr<asio::ssl::context> context);

  bool tls() const { return tls_ != nullptr; }
  // The OpenSSL object of the TLS stream; null while plaintext.
  const SSL* ssl() { return tls_ == nullptr ? nullptr : tls_->native_handle(); }

  // Aborts pending operations (they complete with asio::error::operation_aborted).
  void Cancel();
  // Shuts down and closes the socket. Pending operations complete with an error.
  void Close();
  bool is_open() const { return socket_.is_open(); }

  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  // The stream refers to socket_ and uses context_, so it is declared after both.
  std::shared_ptr<asio::ssl::context> context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_TRANSPORT_H_
