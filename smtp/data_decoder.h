// DataDecoder: the byte-state machine that reads message content after DATA's 354 reply
// (RFC 5321 §4.1.1.4, §4.5.2) until the end-of-data indicator <CRLF>.<CRLF>.
//
// It undoes dot-stuffing exactly and keeps everything else byte for byte (CRLFs included; the
// CRLF before the final "." belongs to the message). Input may be split anywhere: Feed() can
// be called with one byte at a time.
//
// SMTP smuggling defence: the end is recognised ONLY after a real CRLF (or at the very start,
// right after the DATA command's CRLF) followed by ".\r\n". "\n.\n", "\r.\n", "\n.\r\n" and
// "\r\n.\n" never end the data; a bare LF or CR is remembered (bare_line_ending()) so the
// session can reject the message once the real end arrives (or, when it allows them, store
// them as they came: they are data either way and never end it).
//
// Limits are checked without stopping: a text line over `max_text_line` octets (counted as
// sent, CRLF included) or a message over `max_message_size` octets is remembered, storage
// stops at the size limit, and the decoder keeps consuming to the end marker so that the
// session can answer once and stay in sync with the client.
//
// Thread-safety: none; one session uses it.
#ifndef MAILROOM_SMTP_DATA_DECODER_H_
#define MAILROOM_SMTP_DATA_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace mailroom::smtp {

class DataDecoder {
 public:
  struct Limits {
    size_t max_text_line = 1000;
    int64_t max_message_size = 32 << 20;
  };

  explicit DataDecoder(Limits limits);

  // Consumes bytes of `input` up to and including the end-of-data indicator and returns how
  // many it consumed: all of them unless the end was found (the rest is the next command).
  // Returns 0 once done().
  size_t Feed(absl::string_view input);

  bool done() const { return state_ == State::kDone; }

  // Octets of the message after unstuffing, counted even beyond the size limit.
  int64_t size() const { return size_; }
  // Octets consumed from the wire so far, end marker included.
  int64_t wire_size() const { return wire_size_; }

  bool bare_line_ending() const { return bare_line_ending_; }
  bool line_too_long() const { return line_too_long_; }
  bool too_big() const { return too_big_; }

  // The message; meaningful once done() and !too_big(). Leaves the decoder's copy empty.
  std::string TakeMessage() { return std::move(message_); }

 private:
  enum class State {
    kLineStart,  // after CRLF (or at the start): a "." here is special
    kInLine,
    kCr,     // a CR that may start a CRLF
    kDot,    // "." at the start of a line
    kDotCr,  // ".\r" at the start of a line
    kDone,
  };

  void Emit(absl::string_view bytes);
  void Count(size_t octets);
  void BareEnding();
  // Handles one byte in the kInLine state (also used to re-process after a bare CR).
  void InLine(char c);

  Limits limits_;
  State state_ = State::kLineStart;
  std::string message_;
  int64_t size_ = 0;
  int64_t wire_size_ = 0;
  size_t line_length_ = 0;
  bool bare_line_ending_ = false;
  bool line_too_long_ = false;
  bool too_big_ = false;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_DATA_DECODER_H_
