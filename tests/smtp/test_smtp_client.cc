#include "tests/smtp/test_smtp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mailroom::smtp::testing {
namespace {

// How long one read may wait: far beyond anything a healthy test needs.
constexpr int kReadLimitSeconds = 30;

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// The length of the first complete reply in `buffer`, or 0 when it is incomplete. A reply
// ends with a line whose fourth character is a space (RFC 5321 §4.2.1) or that has only
// the code.
size_t CompleteReplyLength(absl::string_view buffer) {
  size_t start = 0;
  for (;;) {
    const size_t end = buffer.find("\r\n", start);
    if (end == absl::string_view::npos) return 0;
    const absl::string_view line = buffer.substr(start, end - start);
    start = end + 2;
    if (line.size() <= 3 || line[3] != '-') return start;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestSmtpClient>> TestSmtpClient::Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return ErrnoStatus("socket");
  auto client = std::unique_ptr<TestSmtpClient>(new TestSmtpClient(fd));
  timeval limit{kReadLimitSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return ErrnoStatus(absl::StrCat("connect to port ", port));
  }
  return client;
}

TestSmtpClient::~TestSmtpClient() { Close(); }

void TestSmtpClient::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  ssl_ = nullptr;
  ssl_ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status TestSmtpClient::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent;
    if (ssl_ != nullptr) {
      sent = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (sent <= 0) return absl::UnavailableError("SSL_write failed");
    } else {
      sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) return ErrnoStatus("send");
    }
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return absl::OkStatus();
}

absl::Status TestSmtpClient::Fill() {
  char chunk[16 * 1024];
  ssize_t got;
  if (ssl_ != nullptr) {
    got = SSL_read(ssl_, chunk, sizeof(chunk));
    if (got <= 0) {
      const int error = SSL_get_error(ssl_, static_cast<int>(got));
      if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return absl::DeadlineExceededError("no reply within the limit");
      }
      return absl::UnavailableError(absl::StrCat("connection closed (SSL error ", error, ")"));
    }
  } else {
    got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError("no reply within the limit");
    }
    if (got < 0) return ErrnoStatus("recv");
    if (got == 0) return absl::UnavailableError("connection closed");
  }
  buffer_.append(chunk, static_cast<size_t>(got));
  return absl::OkStatus();
}

absl::StatusOr<std::string> TestSmtpClient::ReadReply() {
  for (;;) {
    if (const size_t length = CompleteReplyLength(buffer_); length > 0) {
      std::string reply = buffer_.substr(0, length);
      buffer_.erase(0, length);
      return reply;
    }
    if (absl::Status filled = Fill(); !filled.ok()) {
      if (buffer_.empty()) return filled;
      return absl::Status(filled.code(),
                          absl::StrCat(filled.message(), " after \"", buffer_, "\""));
    }
  }
}

absl::StatusOr<std::string> TestSmtpClient::ReadUntilClosed() {
  for (;;) {
    absl::Status filled = Fill();
    if (absl::IsUnavailable(filled)) break;
    if (!filled.ok()) return filled;
  }
  return std::exchange(buffer_, std::string());
}

absl::Status TestSmtpClient::StartTls() {
  if (!buffer_.empty()) return absl::FailedPreconditionError("reply bytes are still buffered");
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return absl::InternalError("SSL_CTX_new failed");
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr) return absl::InternalError("SSL_new failed");
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) {
    return absl::UnavailableError(
        absl::StrCat("TLS handshake failed (SSL error ", SSL_get_error(ssl_, -1), ")"));
  }
  return absl::OkStatus();
}

std::string TestSmtpClient::tls_protocol() const {
  return ssl_ == nullptr ? "" : SSL_get_version(ssl_);
}

absl::StatusOr<std::string> SendMail(TestSmtpClient& client, absl::string_view from,
                                     absl::string_view to, absl::string_view body) {
  const std::string commands[] = {absl::StrCat("MAIL FROM:<", from, ">\r\n"),
                                  absl::StrCat("RCPT TO:<", to, ">\r\n"), "DATA\r\n"};
  for (const std::string& command : commands) {
    if (absl::Status sent = client.Send(command); !sent.ok()) return sent;
    absl::StatusOr<std::string> reply = client.ReadReply();
    if (!reply.ok()) return reply.status();
    const absl::string_view expected = command == "DATA\r\n" ? "354" : "250";
    if (!absl::StartsWith(*reply, expected)) return reply;
  }
  if (absl::Status sent = client.Send(absl::StrCat(body, ".\r\n")); !sent.ok()) return sent;
  return client.ReadReply();
}

}  // namespace mailroom::smtp::testing
