// EnsureGMimeInitialized: the one place that calls g_mime_init(), which GMime 3 requires
// before any other call and which is not itself safe to call concurrently or twice.
//
// Every smtp/ unit that uses GMime calls it first (it is cheap after the first call).
// g_mime_shutdown() is never called: GMime's global tables live until the process exits,
// which keeps any thread still parsing at shutdown safe.
//
// Thread-safety: thread-safe (std::call_once).

#ifndef MAILROOM_SMTP_GMIME_INIT_H_
#define MAILROOM_SMTP_GMIME_INIT_H_

namespace mailroom::smtp {

void EnsureGMimeInitialized();

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_GMIME_INIT_H_
