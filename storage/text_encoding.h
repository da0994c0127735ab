// Text encodings the ingest path builds by hand: UTF-8 clean-up, JSON strings (for the jsonb
// transcript and parameter columns) and PostgreSQL array literals (the batch statements pass
// whole columns as one array parameter and unnest them server-side; see
// storage/ingest_batch.h).
//
// Why clean-up: PostgreSQL rejects text and jsonb values that are not valid UTF-8 or that
// contain NUL (as a byte in text, as \u0000 in jsonb). SMTP lines and header values may hold
// anything, and a rejected value fails the whole group-commit batch, so every text value is
// made valid first: each byte that does not belong to a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), and each NUL, becomes U+FFFD.
// The same rule as the API's "bytes that are not UTF-8 appear as U+FFFD".
//
// Thread-safety: pure functions; PgArrayBuilder is a value used by one thread.

#ifndef MAILROOM_STORAGE_TEXT_ENCODING_H_
#define MAILROOM_STORAGE_TEXT_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mailroom::storage {

// Returns `bytes` with every NUL and every byte outside a well-formed UTF-8 sequence
// replaced by U+FFFD (EF BF BD). Valid input is returned unchanged.
std::string SanitizeUtf8(absl::string_view bytes);

// Appends `bytes` to `out` as a JSON string literal (RFC 8259 §7), quotes included, after
// the clean-up of SanitizeUtf8. '"', '\\' and the control characters U+0000..U+001F are
// escaped; everything else (including non-ASCII) is copied as UTF-8.
void AppendJsonString(std::string& out, absl::string_view bytes);

// Builds a one-dimensional PostgreSQL array literal ("{"a","b",NULL}") element by element.
// Every element is double-quoted, with '"' and '\\' backslash-escaped, so any text is safe;
// the element type comes from the cast in the statement ($1::uuid[], $2::jsonb[], ...).
class PgArrayBuilder {
 public:
  PgArrayBuilder() : literal_("{") {}

  // Appends an element. REQUIRES: `value` is valid UTF-8 without NUL (already clean, or
  // produced by this code: numbers, UUIDs, timestamps, JSON).
  void Add(absl::string_view value);
  // Appends `value` after SanitizeUtf8's clean-up.
  void AddText(absl::string_view value);
  // Appends NULL.
  void AddNull();

  // Returns the literal. The builder must not be used afterwards.
  std::string Finish() &&;

 private:
  void Separate();

  std::string literal_;
  bool empty_ = true;
};

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_TEXT_ENCODING_H_
