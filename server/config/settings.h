// Mailroom's settings as typed structs: what the rest of the process reads after start-up.
//
// Sits at the end of configuration loading (loader.h fills a Config from defaults, the YAML
// file, the environment and --set flags). The structs hold plain values only: the name,
// default, range and documentation of every field are declared once, in mailroom_schema.cc,
// so a value-initialised Config is NOT the default configuration; use DefaultConfig()
// (loader.h) for that. Plain data: safe to share read-only between threads.

#ifndef MAILROOM_SERVER_CONFIG_SETTINGS_H_
#define MAILROOM_SERVER_CONFIG_SETTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mailroom::config {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

struct LogConfig {
  LogLevel level{};
  LogFormat format{};

  bool operator==(const LogConfig&) const = default;
};

struct DatabaseConfig {
  std::string url;  // Secret: a libpq URL may carry a password. Never log it.
  int pool_size = 0;
  absl::Duration connect_timeout;
  absl::Duration retry_initial_backoff;
  absl::Duration retry_max_backoff;
  absl::Duration health_check_interval;
  int ingest_writers = 0;
  int ingest_max_batch = 0;  // Messages per transaction.

  bool operator==(const DatabaseConfig&) const = default;
};

enum class ApiRole { kAdmin, kReader, kSender };

// A bearer token of the gRPC API (`authorization: Bearer <token>`).
struct ApiTokenConfig {
  std::string name;   // Names the token in logs and metrics, never the token itself.
  std::string token;  // Secret. Never log it.
  ApiRole role{};

  bool operator==(const ApiTokenConfig&) const = default;
};

struct ApiTlsConfig {
  std::string cert_file;       // PEM chain; empty: the API speaks plaintext HTTP/2.
  std::string key_file;        // PEM private key of cert_file.
  std::string client_ca_file;  // PEM CAs; set: clients must present a certificate they signed.

  bool operator==(const ApiTlsConfig&) const = default;
};

struct ApiConfig {
  std::string address;                   // host:port, IPv6 as [::1]:50051.
  int64_t max_receive_message_size = 0;  // Bytes.
  int64_t max_send_message_size = 0;     // Bytes.
  int max_concurrent_streams = 0;
  absl::Duration keepalive_time;
  absl::Duration keepalive_timeout;
  absl::Duration min_client_ping_interval;
  absl::Duration max_connection_idle;
  absl::Duration max_connection_age;
  absl::Duration max_connection_age_grace;
  absl::Duration shutdown_grace_period;
  bool reflection = false;
  std::vector<ApiTokenConfig> tokens;  // Empty: the API is open (see allow_unauthenticated).
  bool allow_unauthenticated = false;  // Allow an open API on a non-loopback address.
  ApiTlsConfig tls;

  bool operator==(const ApiConfig&) const = default;
};

struct MetricsConfig {
  std::string address;  // host:port; empty disables the metrics endpoint.

  bool operator==(const MetricsConfig&) const = default;
};

enum class ListenerTls { kStartTls, kImplicit };

struct ListenerConfig {
  std::string name;
  std::string address;
  int port = 0;
  ListenerTls tls{};
  bool tls_required = false;          // MAIL/AUTH before STARTTLS → 530 5.7.0
  bool allow_plaintext_auth = false;  // AUTH before TLS allowed (else 538 5.7.11)

  bool operator==(const ListenerConfig&) const = default;
};

enum class RelayTls { kNone, kStartTls, kImplicit };

struct RelayConfig {
  std::string host;  // Empty: no relay, mail is only captured.
  int port = 0;
  std::string username;
  std::string password;  // Secret. Never log it.
  RelayTls tls{};

  bool operator==(const RelayConfig&) const = default;
};

enum class TlsVersion { kTls12, kTls13 };

struct SmtpTlsConfig {
  std::string cert_file;  // PEM chain; empty: a self-signed certificate is generated
  std::string key_file;   // PEM private key
  TlsVersion min_version{};

  bool operator==(const SmtpTlsConfig&) const = default;
};

enum class AuthMode { kNone, kOptional, kRequired };

struct SmtpAuthConfig {
  AuthMode mode{};
  bool allow_any_credentials = false;
  // Mail sent by a configured user with a default mailbox goes to that mailbox.
  bool deliver_to_user_mailbox = false;

  bool operator==(const SmtpAuthConfig&) const = default;
};

struct SmtpLimitsConfig {
  int64_t max_message_size = 0;  // Bytes.
  int max_recipients = 0;
  int max_command_line = 0;  // Octets including CRLF.
  int max_text_line = 0;     // Octets including CRLF.
  int max_errors = 0;
  int max_connections = 0;
  int max_connections_per_ip = 0;
  absl::Duration command_timeout;
  absl::Duration data_block_timeout;
  bool reject_bare_line_endings = false;

  bool operator==(const SmtpLimitsConfig&) const = default;
};

struct SmtpConfig {
  std::string hostname;
  int io_threads = 0;
  std::vector<ListenerConfig> listeners;
  SmtpTlsConfig tls;
  SmtpAuthConfig auth;
  SmtpLimitsConfig limits;
  RelayConfig relay;

  bool operator==(const SmtpConfig&) const = default;
};

// Users and mailboxes declared in the file ("configuration as code"): applied at start-up,
// created or updated by name, never duplicated. Each mirrors its mailroom.v1 message.
struct UserConfig {
  std::string username;
  std::string password;         // Secret. Never log it.
  std::string default_mailbox;  // A mailbox name; empty: none.
  bool enabled = false;

  bool operator==(const UserConfig&) const = default;
};

// One condition of a routing rule, as in mailroom.v1.RoutingRule: exactly one of the
// sections (recipient, header, source) or auth_user is given.
struct AddressMatchConfig {
  std::string exact;
  std::string domain;
  std::string glob;
  std::string regex;

  bool operator==(const AddressMatchConfig&) const = default;
};

enum class HeaderPresence { kUnset, kPresent, kAbsent };

struct HeaderMatchConfig {
  std::string name;
  HeaderPresence exists{};
  std::string glob;
  std::string regex;

  bool operator==(const HeaderMatchConfig&) const = default;
};

struct SourceMatchConfig {
  std::string client_network;
  std::string ehlo_name;

  bool operator==(const SourceMatchConfig&) const = default;
};

struct RoutingRuleConfig {
  AddressMatchConfig recipient;
  std::string auth_user;
  HeaderMatchConfig header;
  SourceMatchConfig source;
  std::string description;

  bool operator==(const RoutingRuleConfig&) const = default;
};

struct MailboxConfig {
  std::string name;
  std::string description;
  int position = 0;
  int64_t max_messages = 0;  // 0: no limit of its own.
  std::vector<RoutingRuleConfig> rules;

  bool operator==(const MailboxConfig&) const = default;
};

// Limits of what is kept; the pruning job removes the oldest beyond them. 0 means no limit.
struct RetentionConfig {
  int64_t max_messages = 0;
  absl::Duration max_message_age;
  int64_t max_sessions = 0;
  absl::Duration max_session_age;
  absl::Duration interval;  // How often the pruning job runs.
  int batch_size = 0;       // Rows deleted per transaction.

  bool operator==(const RetentionConfig&) const = default;
};

struct Config {
  LogConfig log;
  DatabaseConfig database;
  ApiConfig api;
  MetricsConfig metrics;
  SmtpConfig smtp;
  RetentionConfig retention;
  std::vector<MailboxConfig> mailboxes;
  std::vector<UserConfig> users;

  bool operator==(const Config&) const = default;
};

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_SETTINGS_H_
