#include "smtp/transport.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <utility>

namespace mailroom::smtp {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

Transport::Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

Transport::~Transport() = default;

asio::awaitable<std::tuple<asio::error_code, std::size_t>> Transport::ReadSome(
    asio::mutable_buffer buffer) {
  if (tls_ != nullptr) co_return co_await tls_->async_read_some(buffer, kAsTuple);
  co_return co_await socket_.async_read_some(buffer, kAsTuple);
}

asio::awaitable<asio::error_code> Transport::WriteAll(absl::string_view bytes) {
  const asio::const_buffer buffer(bytes.data(), bytes.size());
  if (tls_ != nullptr) {
    auto [error, written] = co_await asio::async_write(*tls_, buffer, kAsTuple);
    co_return error;
  }
  auto [error, written] = co_await asio::async_write(socket_, buffer, kAsTuple);
  co_return error;
}

asio::awaitable<asio::error_code> Transport::StartTls(std::shared_ptr<asio::ssl::context> context) {
  context_ = std::move(context);
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *context_);
  auto [error] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kAsTuple);
  co_return error;
}

void Transport::Cancel() {
  asio::error_code ignored;
  socket_.cancel(ignored);
}

void Transport::Close() {
  if (!socket_.is_open()) return;
  // No TLS close_notify: waiting for the peer's answer could hold the connection open,
  // and SMTP's QUIT (or our 421) already tells the client the session is over. No
  // shutdown() either: close() sends the same FIN after what is queued, and after a QUIT
  // the client has usually closed first, so shutdown() was a failing system call per
  // connection.
  asio::error_code ignored;
  socket_.close(ignored);
}

}  // namespace mailroom::smtp
