// RawSmtpClient: a plaintext SMTP client over a blocking loopback socket that sends exactly
// the bytes a test gives it, for what real clients refuse to do: smuggling payloads, bare
// line endings, BDAT with binary chunks, vanishing mid-DATA, idling until the server stops.
//
// Every read has a deadline, so a server that stops answering fails the test instead of
// hanging it. Errors are statuses: Unavailable when the server closed the connection,
// DeadlineExceeded when no complete reply came in time.
//
// Thread-safety: not thread-safe; one test thread uses it.
#ifndef MAILROOM_TESTS_INTEGRATION_RAW_SMTP_CLIENT_H_
#define MAILROOM_TESTS_INTEGRATION_RAW_SMTP_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mailroom::testing {

class RawSmtpClient {
 public:
  // Connects to 127.0.0.1:`port` and reads the greeting, which must be a 220.
  static absl::StatusOr<std::unique_ptr<RawSmtpClient>> Connect(
      int port, absl::Duration timeout = absl::Seconds(30));

  RawSmtpClient(const RawSmtpClient&) = delete;
  RawSmtpClient& operator=(const RawSmtpClient&) = delete;
  ~RawSmtpClient();

  // Writes all of `bytes`.
  absl::Status Send(absl::string_view bytes);

  // Reads one whole reply (every line of a multiline reply), CRLFs included.
  absl::StatusOr<std::string> ReadReply(absl::Duration timeout = absl::Seconds(30));

  // Sends `line` + CRLF and reads the reply.
  absl::StatusOr<std::string> Command(absl::string_view line);

  // Waits for the server to close the connection (end of file); false after `timeout`.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(30));

  // Closes the socket at once, without QUIT: the client vanishes.
  void Close();

 private:
  explicit RawSmtpClient(int fd) : fd_(fd) {}

  // Reads whatever arrives into buffer_; OK with nothing new when `deadline` passed.
  absl::Status ReadSome(absl::Time deadline);

  int fd_;
  bool eof_ = false;
  std::string buffer_;
};

// Test assertions on a conversation. Exchange sends `line` + CRLF; both then read one reply
// and succeed when it starts with `expected` (e.g. "250 ", "552 5.3.4"); a failure shows the
// reply that came instead.
::testing::AssertionResult Exchange(RawSmtpClient& client, absl::string_view line,
                                    absl::string_view expected);
::testing::AssertionResult NextReply(RawSmtpClient& client, absl::string_view expected);

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_RAW_SMTP_CLIENT_H_
