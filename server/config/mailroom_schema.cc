#include "server/config/mailroom_schema.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/config/api_checks.h"
#include "server/config/schema.h"
#include "server/config/settings.h"

namespace mailroom::config {
namespace {

// gRPC takes message sizes as int.
constexpr int64_t kMaxMessageSize = std::numeric_limits<int32_t>::max();
const absl::Duration kAtLeastOneMillisecond = absl::Milliseconds(1);

std::string ListenerKey(size_t index, absl::string_view setting) {
  return absl::StrCat("smtp.listeners[", index, "].", setting);
}

bool IsWildcard(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

// Two listeners cannot share a name (it labels logs and metrics) nor bind the same port on
// overlapping addresses (the second bind would fail at start-up, far from the config).
void CheckListeners(const Config& config, std::vector<Finding>& findings) {
  const std::vector<ListenerConfig>& listeners = config.smtp.listeners;
  for (size_t i = 0; i < listeners.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (listeners[i].name == listeners[j].name) {
        findings.push_back(
            Finding{{ListenerKey(i, "name"), ListenerKey(j, "name")},
                    absl::StrCat("`", ListenerKey(i, "name"), "` repeats `", listeners[i].name,
                                 "`, the name of `smtp.listeners[", j,
                                 "]`; listener names must be unique")});
      }
      const bool overlap = listeners[i].address == listeners[j].address ||
                           IsWildcard(listeners[i].address) || IsWildcard(listeners[j].address);
      if (listeners[i].port == listeners[j].port && overlap) {
        findings.push_back(
            Finding{{ListenerKey(i, "port"), ListenerKey(j, "port"), ListenerKey(i, "address"),
                     ListenerKey(j, "address")},
                    absl::StrCat("`", ListenerKey(i, "port"), "` repeats port ", listeners[i].port,
                                 " of `smtp.listeners[", j, "]` on the same address")});
      }
    }
  }
}

void CheckBackoff(const Config& config, std::vector<Finding>& findings) {
  const DatabaseConfig& database = config.database;
  if (database.retry_initial_backoff <= database.retry_max_backoff) return;
  findings.push_back(Finding{{"database.retry_initial_backoff", "database.retry_max_backoff"},
                             absl::StrCat("`database.retry_initial_backoff` (",
                                          absl::FormatDuration(database.retry_initial_backoff),
                                          ") must not exceed `database.retry_max_backoff` (",
                                          absl::FormatDuration(database.retry_max_backoff), ")")});
}

Schema BuildSchema() {
  SchemaBuilder<Config> root;
  root.Section("log", &Config::log, "Logging.", [](SectionBuilder<LogConfig>& log) {
    log.Enum("level", &LogConfig::level,
             {{"debug", LogLevel::kDebug},
              {"info", LogLevel::kInfo},
              {"warn", LogLevel::kWarn},
              {"error", LogLevel::kError}},
             "info", "Least severe level that is written.");
    log.Enum("format", &LogConfig::format, {{"text", LogFormat::kText}, {"json", LogFormat::kJson}},
             "text", "`text` for people, `json` for log collectors (one object per line).");
  });

  root.Section(
      "database", &Config::database, "PostgreSQL, where everything is stored.",
      [](SectionBuilder<DatabaseConfig>& db) {
        db.Secret("url", &DatabaseConfig::url, "postgresql://127.0.0.1:5432/mailroom",
                  "libpq connection URL (it may hold a password).");
        db.Integer("pool_size", &DatabaseConfig::pool_size, 1, 64, "8",
                   "Connections kept open, one per storage thread.");
        db.Duration("connect_timeout", &DatabaseConfig::connect_timeout, kAtLeastOneMillisecond,
                    "5s", "How long one connection attempt may take.");
        db.Duration("retry_initial_backoff", &DatabaseConfig::retry_initial_backoff,
                    kAtLeastOneMillisecond, "500ms",
                    "Wait before the first reconnection attempt; doubles after each.");
        db.Duration("retry_max_backoff", &DatabaseConfig::retry_max_backoff, kAtLeastOneMillisecond,
                    "30s", "Longest wait between reconnection attempts.");
        db.Duration("health_check_interval", &DatabaseConfig::health_check_interval,
                    kAtLeastOneMillisecond, "1s",
                    "How often the database is probed for the gRPC health status.");
        db.Integer("ingest_writers", &DatabaseConfig::ingest_writers, 1, 16, "1",
                   "Connections that commit received mail (group commit), each its own thread. "
                   "One makes the largest batches; more help a PostgreSQL with cores to spare "
                   "(a second one starts while another commits only when 4 messages or 1 MiB "
                   "wait).");
        db.Integer("ingest_max_batch", &DatabaseConfig::ingest_max_batch, 1, 1024, "64",
                   "Most messages committed in one transaction.");
      });

  root.Section("api", &Config::api, "The gRPC API.", [](SectionBuilder<ApiConfig>& api) {
    api.String("address", &ApiConfig::address, "127.0.0.1:50051", "Where the gRPC server listens.",
               HostPortText(/*allow_empty=*/false));
    api.Bytes("max_receive_message_size", &ApiConfig::max_receive_message_size, 1, kMaxMessageSize,
              "32MiB", "Largest request message accepted.");
    api.Bytes("max_send_message_size", &ApiConfig::max_send_message_size, 1, kMaxMessageSize,
              "32MiB", "Largest response message sent.");
    api.Integer("max_concurrent_streams", &ApiConfig::max_concurrent_streams, 1, 10000, "100",
                "Concurrent calls allowed on one client connection.");
    api.Duration("keepalive_time", &ApiConfig::keepalive_time, kAtLeastOneMillisecond, "2h",
                 "The server pings a client connection idle for this long.");
    api.Duration("keepalive_timeout", &ApiConfig::keepalive_timeout, kAtLeastOneMillisecond, "20s",
                 "A connection whose ping is not answered within this is closed.");
    api.Duration("min_client_ping_interval", &ApiConfig::min_client_ping_interval,
                 kAtLeastOneMillisecond, "1m",
                 "Clients pinging more often than this are disconnected.");
    api.Duration("max_connection_idle", &ApiConfig::max_connection_idle, kAtLeastOneMillisecond,
                 "30m", "A connection without calls for this long is closed.");
    api.Duration("max_connection_age", &ApiConfig::max_connection_age, kAtLeastOneMillisecond, "1h",
                 "Connections are closed after this long, so clients rebalance.");
    api.Duration("max_connection_age_grace", &ApiConfig::max_connection_age_grace,
                 absl::ZeroDuration(), "5m",
                 "Time given to calls in flight on a connection closed for its age.");
    api.Duration("shutdown_grace_period", &ApiConfig::shutdown_grace_period, absl::ZeroDuration(),
                 "10s", "Time given to calls in flight when the server stops.");
    api.Bool("reflection", &ApiConfig::reflection, "true",
             "Serve gRPC reflection, so that grpcurl works without .proto files.");
    api.List("tokens", &ApiConfig::tokens,
             "Bearer tokens (`authorization: Bearer ...`); none: the API is open.",
             [](SectionBuilder<ApiTokenConfig>& token) {
               token.String("name", &ApiTokenConfig::name, kRequired,
                            "Names the token in logs; the token itself is never logged.",
                            NonEmptyText());
               token.Secret("token", &ApiTokenConfig::token, kRequired,
                            "The token; at least 16 characters.");
               token.Enum("role", &ApiTokenConfig::role,
                          {{"admin", ApiRole::kAdmin},
                           {"reader", ApiRole::kReader},
                           {"sender", ApiRole::kSender}},
                          kRequired,
                          "`admin`: everything; `reader`: read and delete messages and sessions; "
                          "`sender`: send mail only.");
             },
             {});
    api.Bool("allow_unauthenticated", &ApiConfig::allow_unauthenticated, "false",
             "Allow an API without tokens on a non-loopback address.");
    api.Section(
        "tls", &ApiConfig::tls, "TLS for the gRPC API.", [](SectionBuilder<ApiTlsConfig>& tls) {
          tls.String("cert_file", &ApiTlsConfig::cert_file, "",
                     "PEM certificate chain; empty: plaintext HTTP/2.");
          tls.String("key_file", &ApiTlsConfig::key_file, "", "PEM private key of cert_file.");
          tls.String("client_ca_file", &ApiTlsConfig::client_ca_file, "",
                     "PEM CA certificates; set: clients must present a certificate "
                     "signed by one of them (mTLS).");
        });
  });

  root.Section("metrics", &Config::metrics, "Prometheus metrics.",
               [](SectionBuilder<MetricsConfig>& metrics) {
                 metrics.String("address", &MetricsConfig::address, "127.0.0.1:9090",
                                "Where /metrics is served; empty turns it off.",
                                HostPortText(/*allow_empty=*/true));
               });

  root.Section(
      "smtp", &Config::smtp, "The SMTP side: capture listeners and the upstream relay.",
      [](SectionBuilder<SmtpConfig>& smtp) {
        smtp.String("hostname", &SmtpConfig::hostname, "mailroom.local",
                    "Name announced in the greeting and EHLO reply.", NonEmptyText());
        smtp.Integer("io_threads", &SmtpConfig::io_threads, 1, 64, "1",
                     "Threads serving SMTP connections (all listeners share them). One serves "
                     "thousands of connections per second; more help with many TLS handshakes.");
        smtp.List(
            "listeners", &SmtpConfig::listeners, "Where SMTP clients connect.",
            [](SectionBuilder<ListenerConfig>& listener) {
              listener.String("name", &ListenerConfig::name, kRequired,
                              "Unique name, used in logs and metrics.", NonEmptyText());
              listener.String("address", &ListenerConfig::address, "127.0.0.1",
                              "IP address to bind (0.0.0.0 or :: for all).", HostText());
              listener.Integer("port", &ListenerConfig::port, 1, 65535, kRequired,
                               "TCP port to bind.");
              listener.Enum(
                  "tls", &ListenerConfig::tls,
                  {{"starttls", ListenerTls::kStartTls}, {"implicit", ListenerTls::kImplicit}},
                  "starttls", "STARTTLS offered after EHLO, or implicit TLS from the first byte.");
              listener.Bool("tls_required", &ListenerConfig::tls_required, "false",
                            "Refuse MAIL and AUTH until STARTTLS (530 5.7.0).");
              listener.Bool("allow_plaintext_auth", &ListenerConfig::allow_plaintext_auth, "false",
                            "Allow AUTH before TLS; otherwise it is refused with 538 5.7.11.");
            },
            {{{"name", "smtp"}, {"port", "2525"}, {"tls", "starttls"}},
             {{"name", "smtps"}, {"port", "2465"}, {"tls", "implicit"}}});
        smtp.Section("tls", &SmtpConfig::tls, "TLS for STARTTLS and implicit-TLS listeners.",
                     [](SectionBuilder<SmtpTlsConfig>& tls) {
                       tls.String("cert_file", &SmtpTlsConfig::cert_file, "",
                                  "PEM certificate chain, reloaded on SIGHUP; empty: self-signed.");
                       tls.String("key_file", &SmtpTlsConfig::key_file, "",
                                  "PEM private key of cert_file.");
                       tls.Enum("min_version", &SmtpTlsConfig::min_version,
                                {{"TLSv1.2", TlsVersion::kTls12}, {"TLSv1.3", TlsVersion::kTls13}},
                                "TLSv1.2", "Oldest TLS version accepted.");
                     });
        smtp.Section(
            "auth", &SmtpConfig::auth, "SMTP AUTH (PLAIN, LOGIN, CRAM-MD5).",
            [](SectionBuilder<SmtpAuthConfig>& auth) {
              auth.Enum("mode", &SmtpAuthConfig::mode,
                        {{"none", AuthMode::kNone},
                         {"optional", AuthMode::kOptional},
                         {"required", AuthMode::kRequired}},
                        "optional",
                        "`none`: not offered; `optional`: offered; `required`: MAIL before "
                        "AUTH is refused (530 5.7.0).");
              auth.Bool("allow_any_credentials", &SmtpAuthConfig::allow_any_credentials, "true",
                        "Accept any user name and password, as smtp4dev does.");
              auth.Bool("deliver_to_user_mailbox", &SmtpAuthConfig::deliver_to_user_mailbox, "true",
                        "Mail sent by a configured user goes to its default mailbox.");
            });
        smtp.Section(
            "limits", &SmtpConfig::limits, "Protocol limits (RFC 5321 §4.5.3).",
            [](SectionBuilder<SmtpLimitsConfig>& limits) {
              limits.Bytes("max_message_size", &SmtpLimitsConfig::max_message_size, 1024,
                           std::numeric_limits<int32_t>::max(), "32MiB",
                           "Largest message accepted, advertised as SIZE (552 5.3.4 above).");
              limits.Integer("max_recipients", &SmtpLimitsConfig::max_recipients, 1, 100000, "100",
                             "Recipients per message (452 4.5.3 beyond).");
              limits.Integer("max_command_line", &SmtpLimitsConfig::max_command_line, 512, 65536,
                             "512", "Longest command line in octets, CRLF included.");
              limits.Integer("max_text_line", &SmtpLimitsConfig::max_text_line, 1000, 1 << 20,
                             "1000", "Longest message line in octets, CRLF included.");
              limits.Integer("max_errors", &SmtpLimitsConfig::max_errors, 1, 1000, "10",
                             "Bad commands in a session before it is closed (421 4.7.0).");
              limits.Integer("max_connections", &SmtpLimitsConfig::max_connections, 1, 1000000,
                             "1000", "Connections at once, all listeners together.");
              limits.Integer("max_connections_per_ip", &SmtpLimitsConfig::max_connections_per_ip, 1,
                             1000000, "100", "Connections at once from one client address.");
              limits.Duration("command_timeout", &SmtpLimitsConfig::command_timeout,
                              kAtLeastOneMillisecond, "5m",
                              "Wait for the next command (RFC 5321 §4.5.3.2.7).");
              limits.Duration("data_block_timeout", &SmtpLimitsConfig::data_block_timeout,
                              kAtLeastOneMillisecond, "3m",
                              "Wait for the next block of message data (§4.5.3.2.5).");
              limits.Bool("reject_bare_line_endings", &SmtpLimitsConfig::reject_bare_line_endings,
                          "true",
                          "Reject bare LF or CR in commands and data (SMTP smuggling "
                          "defence); false accepts them as line ends.");
            });
        smtp.Section(
            "relay", &SmtpConfig::relay, "The upstream SMTP server that sent mail is relayed to.",
            [](SectionBuilder<RelayConfig>& relay) {
              relay.String("host", &RelayConfig::host, "",
                           "Host name or IP address; empty: no relay, mail is only captured.");
              relay.Integer("port", &RelayConfig::port, 1, 65535, "25", "TCP port.");
              relay.String("username", &RelayConfig::username, "",
                           "SMTP AUTH user name; empty: no authentication.");
              relay.Secret("password", &RelayConfig::password, "", "SMTP AUTH password.");
              relay.Enum("tls", &RelayConfig::tls,
                         {{"none", RelayTls::kNone},
                          {"starttls", RelayTls::kStartTls},
                          {"implicit", RelayTls::kImplicit}},
                         "starttls", "How the connection to the relay is encrypted.");
            });
      });

  root.Section("retention", &Config::retention,
               "What is kept: beyond these limits the oldest messages and sessions are pruned.",
               [](SectionBuilder<RetentionConfig>& retention) {
                 retention.Integer("max_messages", &RetentionConfig::max_messages, int64_t{0},
                                   std::numeric_limits<int64_t>::max(), "0",
                                   "Most messages kept in all mailboxes together; 0: no limit.");
                 retention.Duration("max_message_age", &RetentionConfig::max_message_age,
                                    absl::ZeroDuration(), "0s",
                                    "Messages older than this are pruned; 0s: no limit.");
                 retention.Integer("max_sessions", &RetentionConfig::max_sessions, int64_t{0},
                                   std::numeric_limits<int64_t>::max(), "100000",
                                   "Most SMTP sessions (with transcripts) kept; 0: no limit.");
                 retention.Duration("max_session_age", &RetentionConfig::max_session_age,
                                    absl::ZeroDuration(), "0s",
                                    "SMTP sessions older than this are pruned; 0s: no limit.");
                 retention.Duration("interval", &RetentionConfig::interval, kAtLeastOneMillisecond,
                                    "10s",
                                    "How often the pruning job runs (on one replica at a time).");
                 retention.Integer("batch_size", &RetentionConfig::batch_size, 1, 100000, "1000",
                                   "Rows deleted per transaction, so capture never waits long.");
               });

  root.List(
      "mailboxes", &Config::mailboxes,
      "Mailboxes created or updated at start-up (see MailboxService in the API).",
      [](SectionBuilder<MailboxConfig>& mailbox) {
        mailbox.String("name", &MailboxConfig::name, kRequired,
                       "Unique name: lowercase letters, digits, `-`, `_`, `.`.", NonEmptyText());
        mailbox.String("description", &MailboxConfig::description, "", "For people.");
        mailbox.Integer("position", &MailboxConfig::position, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max(), "0",
                        "Routing order: lower positions are tried first.");
        mailbox.Integer("max_messages", &MailboxConfig::max_messages, int64_t{0},
                        std::numeric_limits<int64_t>::max(), "0",
                        "Most messages the mailbox keeps; 0: no limit of its own.");
        mailbox.List(
            "rules", &MailboxConfig::rules,
            "Routing rules, ORed; each has one condition: recipient, auth_user, header or "
            "source.",
            [](SectionBuilder<RoutingRuleConfig>& rule) {
              rule.Section("recipient", &RoutingRuleConfig::recipient,
                           "The envelope recipient: one of exact, domain, glob, regex.",
                           [](SectionBuilder<AddressMatchConfig>& address) {
                             address.String("exact", &AddressMatchConfig::exact, "",
                                            "The whole address, case-insensitively.");
                             address.String("domain", &AddressMatchConfig::domain, "",
                                            "The domain part, case-insensitively.");
                             address.String("glob", &AddressMatchConfig::glob, "",
                                            "A glob such as `*@qa.example.com`.");
                             address.String("regex", &AddressMatchConfig::regex, "",
                                            "An RE2 regular expression, anchored.");
                           });
              rule.String("auth_user", &RoutingRuleConfig::auth_user, "",
                          "A glob on the authenticated user name.");
              rule.Section("header", &RoutingRuleConfig::header,
                           "A header field: name plus one of exists, glob, regex.",
                           [](SectionBuilder<HeaderMatchConfig>& header) {
                             header.String("name", &HeaderMatchConfig::name, "",
                                           "The field name, such as `X-Environment`.");
                             header.Enum("exists", &HeaderMatchConfig::exists,
                                         {{"", HeaderPresence::kUnset},
                                          {"true", HeaderPresence::kPresent},
                                          {"false", HeaderPresence::kAbsent}},
                                         "", "`true`: present; `false`: absent.");
                             header.String("glob", &HeaderMatchConfig::glob, "",
                                           "A glob on the decoded value.");
                             header.String("regex", &HeaderMatchConfig::regex, "",
                                           "An RE2 regular expression on the decoded value.");
                           });
              rule.Section("source", &RoutingRuleConfig::source,
                           "Where the mail came from: one of client_network, ehlo_name.",
                           [](SectionBuilder<SourceMatchConfig>& source) {
                             source.String("client_network", &SourceMatchConfig::client_network, "",
                                           "An IP address or CIDR block.");
                             source.String("ehlo_name", &SourceMatchConfig::ehlo_name, "",
                                           "A glob on the EHLO/HELO name.");
                           });
              rule.String("description", &RoutingRuleConfig::description, "", "For people.");
            },
            {});
      },
      {});
  root.List("users", &Config::users,
            "SMTP users created or updated at start-up (see UserService in the API).",
            [](SectionBuilder<UserConfig>& user) {
              user.String("username", &UserConfig::username, kRequired, "The name given in AUTH.",
                          NonEmptyText());
              user.Secret("password", &UserConfig::password, kRequired, "The password.");
              user.String("default_mailbox", &UserConfig::default_mailbox, "",
                          "Where this user's mail goes (smtp.auth.deliver_to_user_mailbox).");
              user.Bool("enabled", &UserConfig::enabled, "true",
                        "Whether the user may authenticate.");
            },
            {});

  root.AddCheck(CheckListeners);
  root.AddCheck(CheckBackoff);
  root.AddCheck(CheckApiAccess);
  return std::move(root).Build();
}

}  // namespace

const Schema& MailroomSchema() {
  static const Schema* const schema = new Schema(BuildSchema());
  return *schema;
}

}  // namespace mailroom::config
