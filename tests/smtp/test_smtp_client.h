// TestSmtpClient: a plain blocking SMTP client for tests of smtp::Server: a loopback TCP
// socket, optionally upgraded to TLS with OpenSSL (STARTTLS or implicit), that sends raw
// bytes and reads whole replies.
//
// It checks nothing itself: tests send exactly the bytes they mean (pipelined, broken or
// injected) and assert on the replies. Every read gives up after a generous limit, so a
// server that never answers fails the test instead of hanging it.
//
// Thread-safety: not thread-safe; one client per thread.
#ifndef MAILROOM_TESTS_SMTP_TEST_SMTP_CLIENT_H_
#define MAILROOM_TESTS_SMTP_TEST_SMTP_CLIENT_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mailroom::smtp::testing {

class TestSmtpClient {
 public:
  // Connects to 127.0.0.1:`port`.
  static absl::StatusOr<std::unique_ptr<TestSmtpClient>> Connect(int port);

  TestSmtpClient(const TestSmtpClient&) = delete;
  TestSmtpClient& operator=(const TestSmtpClient&) = delete;
  ~TestSmtpClient();

  absl::Status Send(absl::string_view bytes);

  // One complete reply, every line with its CRLF ("250-a\r\n250 b\r\n"). Returns
  // Unavailable when the server closed the connection first, DeadlineExceeded when nothing
  // came within the limit.
  absl::StatusOr<std::string> ReadReply();

  // Everything the server sends until it closes the connection.
  absl::StatusOr<std::string> ReadUntilClosed();

  // The client side of a TLS handshake (certificate not verified: the server's is
  // self-signed). REQUIRES: no reply bytes are buffered.
  absl::Status StartTls();
  std::string tls_protocol() const;

  // Closes the connection at once, as a client that vanishes.
  void Close();

 private:
  explicit TestSmtpClient(int fd) : fd_(fd) {}
  // Appends what arrives to buffer_; Unavailable on EOF.
  absl::Status Fill();

  int fd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// Sends "MAIL FROM", "RCPT TO", "DATA", `body` and "." one command at a time and returns
// the reply to the end of data, or the first reply that was not the expected 250/354.
absl::StatusOr<std::string> SendMail(TestSmtpClient& client, absl::string_view from,
                                     absl::string_view to, absl::string_view body);

}  // namespace mailroom::smtp::testing

#endif  // MAILROOM_TESTS_SMTP_TEST_SMTP_CLIENT_H_
