// Golden transcripts: each tests/testdata/transcripts/*.txt is a conversation with a Session.
//
//   # text                 a comment; "# options:", "# sink:" and "# auth:" configure the run
//   C: text                a client line; CRLF is appended; \r \n \t \\ \xHH are unescaped
//   C| text                client bytes with no CRLF appended (bare LF, partial lines, chunks)
//   ! event                timeout | drop | shutdown | tls-fail: an event from the connection
//   S: text                what the server must answer
//   M: text                what the sink must receive (id, envelope and raw bytes, escaped)
//
// Consecutive C lines are sent in ONE Receive() (a pipelined group). After each group or
// event the session is driven until it waits for input or closes, completing deliveries
// (the fake sink), AUTH (the fake authenticator) and STARTTLS (TLSv1.3) on the way. The test
// regenerates the S and M lines and compares the whole file, so a failure shows as a diff.
// CRAM-MD5 challenges are random and show as "334 <cram-md5 challenge>".
//
// Options: tls_required, allow_plaintext_auth, auth=none|optional|required, starttls=off,
// implicit_tls, lenient (reject_bare_line_endings=false), max_command_line=N,
// max_text_line=N, max_message_size=N, max_recipients=N, max_errors=N.
// Sink: ok (default) | fail. Auth: ok (default) | reject | unavailable.
//
// To add a case, write the C lines and run with MAILROOM_UPDATE_GOLDEN=1 to fill in S/M
// lines, then read them carefully: the file is the specification.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "smtp/sasl.h"
#include "smtp/session.h"
#include "tests/support/files.h"

namespace mailroom::smtp {
namespace {

using ::mailroom::testing::ReadFile;

std::vector<std::string> TranscriptFiles() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(MAILROOM_TRANSCRIPTS_DIR)) {
    if (entry.path().extension() == ".txt") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Escapes for C lines in files: \r \n \t \\ \xHH.
std::string Unescape(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    char c = text[++i];
    if (c == 'r') {
      out.push_back('\r');
    } else if (c == 'n') {
      out.push_back('\n');
    } else if (c == 't') {
      out.push_back('\t');
    } else if (c == 'x' && i + 2 < text.size()) {
      int value = 0;
      absl::SimpleHexAtoi(text.substr(i + 1, 2), &value);
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct Config {
  SessionOptions options;
  SessionInfo info;
  std::string sink = "ok";
  std::string auth = "ok";
};

void ApplyDirective(absl::string_view line, Config* config) {
  absl::string_view rest = line;
  if (absl::ConsumePrefix(&rest, "# sink:")) {
    config->sink = std::string(absl::StripAsciiWhitespace(rest));
  } else if (absl::ConsumePrefix(&rest, "# auth:")) {
    config->auth = std::string(absl::StripAsciiWhitespace(rest));
  } else if (absl::ConsumePrefix(&rest, "# options:")) {
    SessionOptions& o = config->options;
    for (absl::string_view token : absl::StrSplit(rest, ' ', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(token, absl::MaxSplits('=', 1));
      int64_t n = 0;
      (void)absl::SimpleAtoi(kv.second, &n);
      if (kv.first == "tls_required") {
        o.tls_required = true;
      } else if (kv.first == "allow_plaintext_auth") {
        o.allow_plaintext_auth = true;
      } else if (kv.first == "auth") {
        o.auth = kv.second == "none"       ? AuthPolicy::kNone
                 : kv.second == "required" ? AuthPolicy::kRequired
                                           : AuthPolicy::kOptional;
      } else if (kv.first == "starttls" && kv.second == "off") {
        o.starttls_available = false;
      } else if (kv.first == "implicit_tls") {
        o.starttls_available = false;
        config->info.tls_protocol = "TLSv1.3";
        config->info.tls_cipher = "TLS_AES_256_GCM_SHA384";
      } else if (kv.first == "lenient") {
        o.limits.reject_bare_line_endings = false;
      } else if (kv.first == "max_command_line") {
        o.limits.max_command_line = n;
      } else if (kv.first == "max_text_line") {
        o.limits.max_text_line = n;
      } else if (kv.first == "max_message_size") {
        o.limits.max_message_size = n;
      } else if (kv.first == "max_recipients") {
        o.limits.max_recipients = n;
      } else if (kv.first == "max_errors") {
        o.limits.max_errors = n;
      } else {
        ADD_FAILURE() << "unknown option " << token;
      }
    }
  }
}

// Hides the random part of a CRAM-MD5 challenge.
std::string Normalize(absl::string_view reply) {
  absl::string_view payload = reply;
  if (absl::ConsumePrefix(&payload, "334 ")) {
    std::optional<std::string> decoded = DecodeBase64(payload);
    if (decoded && absl::StartsWith(*decoded, "<") && absl::StrContains(*decoded, "@")) {
      return "334 <cram-md5 challenge>";
    }
  }
  return std::string(reply);
}

std::string DescribeMessage(const ReceivedMessage& message) {
  std::vector<std::string> recipients;
  for (const Recipient& r : message.envelope.recipients) {
    std::string text = absl::StrCat("<", r.address, ">");
    if (!r.dsn_notify.empty()) absl::StrAppend(&text, " NOTIFY=", r.dsn_notify);
    if (!r.dsn_orcpt.empty()) absl::StrAppend(&text, " ORCPT=", r.dsn_orcpt);
    recipients.push_back(text);
  }
  std::string flags;
  if (message.envelope.smtputf8) absl::StrAppend(&flags, " SMTPUTF8");
  if (!message.envelope.body.empty()) absl::StrAppend(&flags, " BODY=", message.envelope.body);
  if (message.envelope.declared_size) {
    absl::StrAppend(&flags, " SIZE=", *message.envelope.declared_size);
  }
  if (!message.envelope.dsn_ret.empty()) absl::StrAppend(&flags, " RET=", message.envelope.dsn_ret);
  if (!message.envelope.dsn_envid.empty()) {
    absl::StrAppend(&flags, " ENVID=", message.envelope.dsn_envid);
  }
  if (!message.session.auth_user.empty()) {
    absl::StrAppend(&flags, " auth=", message.session.auth_user);
  }
  return absl::StrCat("M: ", message.id, " from=<", message.envelope.mail_from, ">", flags,
                      " to=", absl::StrJoin(recipients, ","), " raw=\"",
                      absl::CHexEscape(message.raw), "\"");
}

class Driver {
 public:
  explicit Driver(const Config& config) : config_(config) {
    SessionOptions options = config.options;
    options.hostname = "mx.example.test";
    options.new_id = [this] { return absl::StrCat("msg-", ++ids_); };
    options.now = [] { return absl::FromUnixSeconds(1700000000); };
    SessionInfo info = config.info;
    info.id = "session-1";
    info.started_at = absl::FromUnixSeconds(1700000000);
    session_ = std::make_unique<Session>(std::move(options), std::move(info));
  }

  void Greet(std::vector<std::string>* out) { AddReplies(session_->Greeting(), out); }

  void Send(absl::string_view bytes, std::vector<std::string>* out) {
    if (closed_) {
      out->push_back("# (connection closed: input not sent)");
      return;
    }
    session_->Receive(bytes);
    Drive(out);
  }

  void Event(absl::string_view event, std::vector<std::string>* out) {
    if (event == "timeout") {
      session_->TimedOut();
    } else if (event == "drop") {
      session_->ClientDropped("connection reset by peer");
    } else if (event == "shutdown") {
      session_->ShuttingDown();
    } else if (event == "tls-fail") {
      tls_fails_ = true;
      return;
    } else {
      ADD_FAILURE() << "unknown event " << event;
    }
    Drive(out);
  }

 private:
  void AddReplies(absl::string_view replies, std::vector<std::string>* out) {
    for (absl::string_view line : absl::StrSplit(replies, "\r\n", absl::SkipEmpty())) {
      out->push_back(absl::StrCat("S: ", Normalize(line)));
    }
  }

  void Drive(std::vector<std::string>* out) {
    for (int guard = 0; guard < 1000; ++guard) {
      Session::Output output = session_->Advance();
      AddReplies(output.replies, out);
      switch (output.next) {
        case Session::Next::kRead:
          return;
        case Session::Next::kClose:
          closed_ = true;
          out->push_back("# (closed)");
          return;
        case Session::Next::kDeliver:
          out->push_back(DescribeMessage(*output.message));
          session_->Delivered(config_.sink == "fail" ? absl::UnavailableError("database down")
                                                     : absl::OkStatus());
          break;
        case Session::Next::kAuthenticate:
          if (config_.auth == "reject") {
            session_->Authenticated(absl::UnauthenticatedError("wrong password"));
          } else if (config_.auth == "unavailable") {
            session_->Authenticated(absl::UnavailableError("users table unreachable"));
          } else {
            session_->Authenticated(absl::OkStatus());
          }
          break;
        case Session::Next::kStartTls:
          if (tls_fails_) {
            session_->TlsFailed("handshake failure");
          } else {
            session_->TlsStarted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
          }
          break;
      }
    }
    ADD_FAILURE() << "session did not settle";
  }

  Config config_;
  std::unique_ptr<Session> session_;
  int ids_ = 0;
  bool closed_ = false;
  bool tls_fails_ = false;
};

bool IsGenerated(absl::string_view line) {
  return absl::StartsWith(line, "S: ") || absl::StartsWith(line, "M: ") ||
         absl::StartsWith(line, "# (");
}

bool IsClient(absl::string_view line) {
  return absl::StartsWith(line, "C: ") || absl::StartsWith(line, "C| ");
}

// Replays `expected` and returns the file as it should read.
std::string Replay(const std::string& expected) {
  std::vector<std::string> lines = absl::StrSplit(expected, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  Config config;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, "#")) ApplyDirective(line, &config);
  }
  Driver driver(config);
  std::vector<std::string> out;
  bool greeted = false;
  for (size_t i = 0; i < lines.size();) {
    const std::string& line = lines[i];
    if (IsGenerated(line)) {
      ++i;
      continue;
    }
    if (line.empty() || absl::StartsWith(line, "#")) {
      out.push_back(line);
      ++i;
      continue;
    }
    if (!greeted) {
      driver.Greet(&out);
      greeted = true;
    }
    if (IsClient(line)) {
      std::string bytes;
      while (i < lines.size() && IsClient(lines[i])) {
        out.push_back(lines[i]);
        bytes += Unescape(absl::string_view(lines[i]).substr(3));
        if (lines[i][1] == ':') bytes += "\r\n";
        ++i;
      }
      driver.Send(bytes, &out);
    } else if (absl::StartsWith(line, "! ")) {
      out.push_back(line);
      driver.Event(absl::string_view(line).substr(2), &out);
      ++i;
    } else {
      ADD_FAILURE() << "unrecognised line: " << line;
      ++i;
    }
  }
  return absl::StrCat(absl::StrJoin(out, "\n"), "\n");
}

class TranscriptGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TranscriptGoldenTest, MatchesFile) {
  std::string path = absl::StrCat(MAILROOM_TRANSCRIPTS_DIR, "/", GetParam(), ".txt");
  std::string expected = ReadFile(path);
  ASSERT_FALSE(expected.empty()) << path;
  std::string actual = Replay(expected);
  const char* update = std::getenv("MAILROOM_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1" && actual != expected) {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(expected, actual) << path;
}

INSTANTIATE_TEST_SUITE_P(Transcripts, TranscriptGoldenTest, ::testing::ValuesIn(TranscriptFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!absl::ascii_isalnum(c)) c = '_';
                           }
                           return name;
                         });

TEST(TranscriptGoldenFolderTest, HasTranscripts) { EXPECT_GE(TranscriptFiles().size(), 10u); }

}  // namespace
}  // namespace mailroom::smtp
