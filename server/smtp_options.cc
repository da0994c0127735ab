#include "server/smtp_options.h"

#include "storage/ids.h"

namespace mailroom::server {
namespace {

smtp::AuthPolicy ToAuthPolicy(config::AuthMode mode) {
  switch (mode) {
    case config::AuthMode::kNone:
      return smtp::AuthPolicy::kNone;
    case config::AuthMode::kOptional:
      return smtp::AuthPolicy::kOptional;
    case config::AuthMode::kRequired:
      return smtp::AuthPolicy::kRequired;
  }
  return smtp::AuthPolicy::kOptional;
}

}  // namespace

smtp::ServerOptions SmtpServerOptions(const config::SmtpConfig& smtp) {
  const config::SmtpLimitsConfig& limits = smtp.limits;
  smtp::ServerOptions options;
  options.session.hostname = smtp.hostname;
  options.session.limits = smtp::SessionLimits{
      .max_command_line = static_cast<size_t>(limits.max_command_line),
      .max_text_line = static_cast<size_t>(limits.max_text_line),
      .max_message_size = limits.max_message_size,
      .max_recipients = limits.max_recipients,
      .max_errors = limits.max_errors,
      .reject_bare_line_endings = limits.reject_bare_line_endings,
      .command_timeout = limits.command_timeout,
      .data_block_timeout = limits.data_block_timeout,
  };
  options.session.auth = ToAuthPolicy(smtp.auth.mode);
  options.session.new_id = storage::NewId;
  for (const config::ListenerConfig& listener : smtp.listeners) {
    options.listeners.push_back(smtp::ListenerOptions{
        .name = listener.name,
        .address = listener.address,
        .port = listener.port,
        .tls = listener.tls == config::ListenerTls::kImplicit
                   ? smtp::ListenerOptions::Tls::kImplicit
                   : smtp::ListenerOptions::Tls::kStartTls,
        .tls_required = listener.tls_required,
        .allow_plaintext_auth = listener.allow_plaintext_auth,
    });
  }
  options.io_threads = smtp.io_threads;
  options.max_connections = limits.max_connections;
  options.max_connections_per_ip = limits.max_connections_per_ip;
  return options;
}

smtp::TlsOptions SmtpTlsOptions(const config::SmtpConfig& smtp) {
  return smtp::TlsOptions{
      .cert_file = smtp.tls.cert_file,
      .key_file = smtp.tls.key_file,
      .hostname = smtp.hostname,
      .min_version = smtp.tls.min_version == config::TlsVersion::kTls13 ? "TLSv1.3" : "TLSv1.2",
  };
}

}  // namespace mailroom::server
