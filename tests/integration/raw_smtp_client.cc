#include "tests/integration/raw_smtp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mailroom::testing {
namespace {

// The end of the first complete reply in `buffer` (RFC 5321 §4.2.1: the last line has a
// space after the code), or npos.
size_t ReplyEnd(absl::string_view buffer) {
  size_t line_start = 0;
  for (;;) {
    const size_t lf = buffer.find('\n', line_start);
    if (lf == absl::string_view::npos) return absl::string_view::npos;
    const absl::string_view line = buffer.substr(line_start, lf - line_start);
    if (line.size() < 4 || line[3] != '-') return lf + 1;
    line_start = lf + 1;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawSmtpClient>> RawSmtpClient::Connect(int port,
                                                                      absl::Duration timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("connect to port ", port, ": ", std::strerror(error)));
  }
  std::unique_ptr<RawSmtpClient> client(new RawSmtpClient(fd));
  absl::StatusOr<std::string> greeting = client->ReadReply(timeout);
  if (!greeting.ok()) return greeting.status();
  if (!absl::StartsWith(*greeting, "220 ")) {
    return absl::UnavailableError(absl::StrCat("unexpected greeting: ", *greeting));
  }
  return client;
}

RawSmtpClient::~RawSmtpClient() { Close(); }

void RawSmtpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status RawSmtpClient::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

absl::Status RawSmtpClient::ReadSome(absl::Time deadline) {
  pollfd descriptor{.fd = fd_, .events = POLLIN, .revents = 0};
  const int wait_ms =
      static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
  const int ready = poll(&descriptor, 1, wait_ms);
  if (ready < 0 && errno != EINTR) {
    return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
  }
  if (ready <= 0) return absl::OkStatus();
  char chunk[4096];
  const ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
  if (got < 0) {
    if (errno == EINTR) return absl::OkStatus();
    // A reset is the server closing too, only less politely.
    eof_ = true;
    return absl::OkStatus();
  }
  if (got == 0) eof_ = true;
  buffer_.append(chunk, static_cast<size_t>(got));
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawSmtpClient::ReadReply(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t end = ReplyEnd(buffer_);
    if (end != absl::string_view::npos) {
      std::string reply = buffer_.substr(0, end);
      buffer_.erase(0, end);
      return reply;
    }
    if (eof_ || fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("server closed the connection; unanswered bytes: ", buffer_));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no complete reply; got: ", buffer_));
    }
    if (absl::Status read = ReadSome(deadline); !read.ok()) return read;
  }
}

absl::StatusOr<std::string> RawSmtpClient::Command(absl::string_view line) {
  if (absl::Status sent = Send(absl::StrCat(line, "\r\n")); !sent.ok()) return sent;
  return ReadReply();
}

bool RawSmtpClient::WaitForClose(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!eof_ && fd_ >= 0) {
    if (absl::Now() > deadline) return false;
    if (!ReadSome(deadline).ok()) return false;
  }
  return true;
}

::testing::AssertionResult NextReply(RawSmtpClient& client, absl::string_view expected) {
  absl::StatusOr<std::string> reply = client.ReadReply();
  if (!reply.ok()) return ::testing::AssertionFailure() << reply.status();
  if (!absl::StartsWith(*reply, expected)) {
    return ::testing::AssertionFailure()
           << "expected a reply starting with `" << expected << "`, got `" << *reply << "`";
  }
  return ::testing::AssertionSuccess() << *reply;
}

::testing::AssertionResult Exchange(RawSmtpClient& client, absl::string_view line,
                                    absl::string_view expected) {
  if (absl::Status sent = client.Send(absl::StrCat(line, "\r\n")); !sent.ok()) {
    return ::testing::AssertionFailure() << "sending `" << line << "`: " << sent;
  }
  ::testing::AssertionResult result = NextReply(client, expected);
  if (!result) result << " (after `" << line << "`)";
  return result;
}

}  // namespace mailroom::testing
