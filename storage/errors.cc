#include "storage/errors.h"

#include <algorithm>
#include <pqxx/except>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mailroom::storage {
namespace {

constexpr absl::string_view kRedacted = "***";

// libpq messages span several lines ("ERROR:  ...\nLINE 1: ...\n  ^\nDETAIL:  ...\n"); statuses
// read better on one line, and the severity prefix says nothing the code does not. The lines
// that echo SQL text (LINE with its caret, QUERY, CONTEXT, which libpq puts last) are left out:
// statuses travel to logs and API clients, and the statement is the caller's to report.
std::string OneLine(absl::string_view message) {
  std::vector<std::string> parts;
  for (absl::string_view line : absl::StrSplit(message, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "QUERY:") || absl::StartsWith(line, "CONTEXT:")) break;
    if (absl::StartsWith(line, "LINE ") || line == "^") continue;
    absl::ConsumePrefix(&line, "ERROR:");
    absl::ConsumePrefix(&line, "FATAL:");
    // Tabs indent the hints libpq adds after connection failures.
    std::string collapsed = absl::StrReplaceAll(line, {{"\t", " "}});
    absl::RemoveExtraAsciiWhitespace(&collapsed);
    if (!collapsed.empty()) parts.push_back(std::move(collapsed));
  }
  return absl::StrJoin(parts, "; ");
}

std::string Scrub(std::string message, absl::Span<const std::string> secrets) {
  for (const std::string& secret : secrets) {
    if (!secret.empty()) absl::StrReplaceAll({{secret, kRedacted}}, &message);
  }
  return message;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

bool IsUrl(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

// A password's position in the connection string: [begin, end).
struct Span {
  size_t begin;
  size_t end;
};

// Finds every password in `url` (userinfo and ?password= in URLs, password= in keyword form).
std::vector<Span> FindPasswords(absl::string_view url) {
  std::vector<Span> spans;
  if (IsUrl(url)) {
    const size_t authority = url.find("://") + 3;
    const size_t authority_end = std::min(url.find_first_of("/?", authority), url.size());
    const size_t at = url.rfind('@', authority_end);
    if (at != absl::string_view::npos && at > authority) {
      const size_t colon = url.find(':', authority);
      if (colon != absl::string_view::npos && colon < at) spans.push_back({colon + 1, at});
    }
    const size_t query = url.find('?', authority);
    if (query != absl::string_view::npos) {
      size_t pos = query + 1;
      while (pos < url.size()) {
        const size_t end = std::min(url.find('&', pos), url.size());
        absl::string_view param = url.substr(pos, end - pos);
        if (absl::StartsWith(param, "password=")) spans.push_back({pos + 9, end});
        pos = end + 1;
      }
    }
    return spans;
  }
  // Keyword form: password = value | password = 'quoted \' value'.
  size_t pos = 0;
  while ((pos = url.find("password", pos)) != absl::string_view::npos) {
    const bool word_start = pos == 0 || absl::ascii_isspace(url[pos - 1]);
    size_t i = pos + 8;
    pos = i;
    if (!word_start) continue;
    while (i < url.size() && absl::ascii_isspace(url[i])) ++i;
    if (i >= url.size() || url[i] != '=') continue;
    ++i;
    while (i < url.size() && absl::ascii_isspace(url[i])) ++i;
    const size_t begin = i;
    if (i < url.size() && url[i] == '\'') {
      ++i;
      while (i < url.size() && url[i] != '\'') i += url[i] == '\\' ? 2 : 1;
      i = std::min(i + 1, url.size());
    } else {
      while (i < url.size() && !absl::ascii_isspace(url[i])) ++i;
    }
    spans.push_back({begin, i});
    pos = i;
  }
  return spans;
}

absl::Status WithMessage(absl::StatusCode code, absl::string_view prefix, const std::exception& e,
                         absl::Span<const std::string> secrets, absl::string_view suffix = {}) {
  return absl::Status(code, Scrub(absl::StrCat(prefix, OneLine(e.what()), suffix), secrets));
}

absl::Status FromSqlError(const pqxx::sql_error& e, absl::Span<const std::string> secrets) {
  const std::string& state = e.sqlstate();
  const std::string suffix = state.empty() ? "" : absl::StrCat(" (SQLSTATE ", state, ")");
  auto status = [&](absl::StatusCode code, absl::string_view prefix = {}) {
    return WithMessage(code, prefix, e, secrets, suffix);
  };
  // Decide on the SQLSTATE first: libpqxx only has classes for some states, and the state is
  // what PostgreSQL documents.
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300") {
    return status(absl::StatusCode::kUnavailable, "database unavailable: ");
  }
  if (state == "23505") return status(absl::StatusCode::kAlreadyExists);
  if (state == "40001" || state == "40P01") {
    return status(absl::StatusCode::kAborted, "transaction aborted, retry: ");
  }
  if (state == "23503") return status(absl::StatusCode::kFailedPrecondition);
  if (state == "23502" || state == "23514" || absl::StartsWith(state, "22")) {
    return status(absl::StatusCode::kInvalidArgument);
  }
  if (absl::StartsWith(state, "53")) return status(absl::StatusCode::kResourceExhausted);
  // Without a SQLSTATE fall back on libpqxx's classes.
  if (state.empty()) {
    if (dynamic_cast<const pqxx::unique_violation*>(&e)) {
      return status(absl::StatusCode::kAlreadyExists);
    }
    if (dynamic_cast<const pqxx::foreign_key_violation*>(&e)) {
      return status(absl::StatusCode::kFailedPrecondition);
    }
    if (dynamic_cast<const pqxx::check_violation*>(&e) ||
        dynamic_cast<const pqxx::not_null_violation*>(&e) ||
        dynamic_cast<const pqxx::data_exception*>(&e)) {
      return status(absl::StatusCode::kInvalidArgument);
    }
    if (dynamic_cast<const pqxx::insufficient_resources*>(&e)) {
      return status(absl::StatusCode::kResourceExhausted);
    }
    return status(absl::StatusCode::kInternal, "database error: ");
  }
  return status(absl::StatusCode::kInternal, "database error: ");
}

}  // namespace

absl::Status ExceptionToStatus(const std::exception& e, absl::Span<const std::string> secrets) {
  // Order matters: libpqxx's hierarchy nests (too_many_connections is a broken_connection,
  // serialization_failure a transaction_rollback).
  if (dynamic_cast<const pqxx::too_many_connections*>(&e)) {
    return WithMessage(absl::StatusCode::kUnavailable, "database unavailable: ", e, secrets,
                       " (too many connections)");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return WithMessage(absl::StatusCode::kUnavailable, "database unavailable: ", e, secrets);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return WithMessage(absl::StatusCode::kUnknown, "commit outcome unknown: ", e, secrets);
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e)) {
    return WithMessage(absl::StatusCode::kAborted, "transaction aborted, retry: ", e, secrets);
  }
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) {
    // The statement may or may not have taken effect: the same doubt as an in-doubt commit.
    return WithMessage(absl::StatusCode::kUnknown, "statement outcome unknown: ", e, secrets);
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) {
    return WithMessage(absl::StatusCode::kAborted, "transaction aborted, retry: ", e, secrets);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return FromSqlError(*sql, secrets);
  }
  if (dynamic_cast<const pqxx::conversion_error*>(&e)) {
    return WithMessage(absl::StatusCode::kInternal, "database value conversion failed: ", e,
                       secrets);
  }
  if (dynamic_cast<const pqxx::pqxx_exception*>(&e)) {
    return WithMessage(absl::StatusCode::kInternal, "database client error: ", e, secrets);
  }
  return WithMessage(absl::StatusCode::kInternal, "unexpected exception: ", e, secrets);
}

absl::Status CurrentExceptionToStatus(absl::Span<const std::string> secrets) {
  try {
    throw;
  } catch (const std::exception& e) {
    return ExceptionToStatus(e, secrets);
  } catch (...) {
    return absl::InternalError("unexpected non-standard exception");
  }
}

bool IsConnectionLost(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kUnknown;
}

std::vector<std::string> ConnectionSecrets(absl::string_view url) {
  std::vector<std::string> secrets;
  for (const Span& span : FindPasswords(url)) {
    absl::string_view raw = url.substr(span.begin, span.end - span.begin);
    if (absl::ConsumePrefix(&raw, "'")) absl::ConsumeSuffix(&raw, "'");
    if (raw.empty()) continue;
    secrets.emplace_back(raw);
    std::string decoded = IsUrl(url) ? PercentDecode(raw) : absl::StrReplaceAll(raw, {{"\\", ""}});
    if (decoded != raw) secrets.push_back(std::move(decoded));
  }
  return secrets;
}

std::string RedactConnectionString(absl::string_view url) {
  std::string out;
  size_t pos = 0;
  for (const Span& span : FindPasswords(url)) {
    if (span.end == span.begin) continue;
    absl::StrAppend(&out, url.substr(pos, span.begin - pos), kRedacted);
    pos = span.end;
  }
  absl::StrAppend(&out, url.substr(pos));
  return out;
}

}  // namespace mailroom::storage
