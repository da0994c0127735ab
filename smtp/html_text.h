// HtmlToText: the readable text of an HTML body, for full-text search of messages that have
// no text/plain part. Not a renderer: tags are dropped (block-level ones become white space
// so words do not run together), <script>, <style> and comments are skipped whole, and the
// common character references (&amp; &lt; &gt; &quot; &apos; &nbsp; &#NN; &#xNN;) are
// decoded. Malformed HTML never fails; unknown references are kept as written.
//
// Thread-safety: a pure function.

#ifndef MAILROOM_SMTP_HTML_TEXT_H_
#define MAILROOM_SMTP_HTML_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mailroom::smtp {

// Returns the text of `html` (UTF-8 in, UTF-8 out), at most about `max_bytes` long.
std::string HtmlToText(absl::string_view html, size_t max_bytes);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_HTML_TEXT_H_
