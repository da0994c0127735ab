// libFuzzer target for the SMTP command parser, and beyond it the DATA decoder and the
// whole sans-I/O Session fed with the same bytes. Build and run instructions are in
// tests/smtp/protocol.cmake. Without MAILROOM_FUZZ the same code is compiled with a main()
// (MAILROOM_FUZZ_CORPUS_MAIN) that runs every file of a corpus folder once, as a ctest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "smtp/command_parser.h"
#include "smtp/data_decoder.h"
#include "smtp/sasl.h"
#include "smtp/session.h"

namespace {

using mailroom::smtp::Session;

// The parser must never crash and must keep its own promises: a parsed path is one that
// CheckMailbox accepts.
void FuzzParser(absl::string_view line) {
  using namespace mailroom::smtp;
  CommandLine command = SplitCommand(line);
  ParseHelo(command.arguments);
  auto mail = ParseMail(command.arguments);
  if (auto* parsed = std::get_if<MailCommand>(&mail); parsed && !parsed->reverse_path.empty()) {
    if (CheckMailbox(parsed->reverse_path, parsed->smtputf8) != MailboxStatus::kOk) {
      __builtin_trap();
    }
  }
  ParseRcpt(command.arguments, false);
  ParseRcpt(command.arguments, true);
  ParseBdat(command.arguments);
  ParseAuth(command.arguments);
  DecodeBase64(command.arguments);
}

void FuzzDecoder(absl::string_view bytes) {
  mailroom::smtp::DataDecoder decoder({/*max_text_line=*/100, /*max_message_size=*/4096});
  size_t used = decoder.Feed(bytes);
  if (used > bytes.size()) __builtin_trap();
  if (!decoder.done() && used != bytes.size()) __builtin_trap();
}

// Drives a session over the input as a client would, completing every asynchronous step,
// with AUTH and plaintext delivery allowed so that every command is reachable.
void FuzzSession(absl::string_view bytes) {
  mailroom::smtp::SessionOptions options;
  options.hostname = "fuzz.example";
  options.allow_plaintext_auth = true;
  options.limits.max_message_size = 4096;
  options.new_id = [] { return std::string("id"); };
  options.now = [] { return absl::UnixEpoch(); };
  Session session(std::move(options), mailroom::smtp::SessionInfo{});
  session.Greeting();
  // Feed in two pieces to exercise resumption.
  size_t half = bytes.size() / 2;
  absl::string_view pieces[] = {bytes.substr(0, half), bytes.substr(half)};
  for (absl::string_view piece : pieces) {
    session.Receive(piece);
    for (int guard = 0; guard < 100000; ++guard) {
      Session::Output out = session.Advance();
      if (out.next == Session::Next::kRead || out.next == Session::Next::kClose) break;
      switch (out.next) {
        case Session::Next::kDeliver:
          if (!out.message) __builtin_trap();
          session.Delivered(absl::OkStatus());
          break;
        case Session::Next::kAuthenticate:
          session.Authenticated(absl::OkStatus());
          break;
        case Session::Next::kStartTls:
          session.TlsStarted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
          break;
        default:
          break;
      }
    }
  }
  session.ClientDropped("end of input");
  session.Advance();
  session.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  FuzzParser(bytes.substr(0, bytes.find('\n')));
  FuzzDecoder(bytes);
  FuzzSession(bytes);
  return 0;
}

#ifdef MAILROOM_FUZZ_CORPUS_MAIN
// Runs every file under argv[1] through the target once. Fails if the folder is missing or
// empty, so that a broken path cannot make the test pass vacuously.
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  int count = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1], error)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++count;
  }
  if (error || count == 0) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  std::printf("ran %d corpus files\n", count);
  return 0;
}
#endif
