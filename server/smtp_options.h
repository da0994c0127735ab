// The SMTP engine's options, from Mailroom's configuration. The engine has its own option
// structs (it does not know the config module); this is the one place that translates.
#ifndef MAILROOM_SERVER_SMTP_OPTIONS_H_
#define MAILROOM_SERVER_SMTP_OPTIONS_H_

#include "server/config/settings.h"
#include "smtp/server.h"
#include "smtp/tls_context.h"

namespace mailroom::server {

smtp::ServerOptions SmtpServerOptions(const config::SmtpConfig& smtp);
smtp::TlsOptions SmtpTlsOptions(const config::SmtpConfig& smtp);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_SMTP_OPTIONS_H_
