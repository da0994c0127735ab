#include "server/config/api_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mailroom::config {
namespace {

std::string TokenKey(size_t index, absl::string_view setting) {
  return absl::StrCat("api.tokens[", index, "].", setting);
}

// The host part of "host:port" without IPv6 brackets; the whole text when there is no port.
absl::string_view HostOf(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "[")) {
    const size_t close = host_port.find(']');
    return close == absl::string_view::npos ? host_port.substr(1) : host_port.substr(1, close - 1);
  }
  const size_t colon = host_port.rfind(':');
  return colon == absl::string_view::npos ? host_port : host_port.substr(0, colon);
}

void CheckTokens(const std::vector<ApiTokenConfig>& tokens, std::vector<Finding>& findings) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    // An empty token already failed as required; its length is noise.
    if (!tokens[i].token.empty() && tokens[i].token.size() < kMinApiTokenLength) {
      findings.push_back(Finding{
          {TokenKey(i, "token")},
          absl::StrCat("`", TokenKey(i, "token"), "` (token `", tokens[i].name, "`) has ",
                       tokens[i].token.size(), " characters; a bearer token needs at least ",
                       kMinApiTokenLength, " (generate one with `openssl rand -hex 32`)")});
    }
    for (size_t j = 0; j < i; ++j) {
      if (tokens[i].name == tokens[j].name) {
        findings.push_back(Finding{
            {TokenKey(i, "name"), TokenKey(j, "name")},
            absl::StrCat("`", TokenKey(i, "name"), "` repeats `", tokens[i].name,
                         "`, the name of `api.tokens[", j, "]`; token names must be unique")});
      }
      // The same secret under two names would make logs name the wrong holder.
      if (!tokens[i].token.empty() && tokens[i].token == tokens[j].token) {
        findings.push_back(
            Finding{{TokenKey(i, "token"), TokenKey(j, "token")},
                    absl::StrCat("`", TokenKey(i, "token"), "` (token `", tokens[i].name,
                                 "`) is the same secret as `", TokenKey(j, "token"), "` (token `",
                                 tokens[j].name, "`); give every token its own value")});
      }
    }
  }
}

void CheckOpenApi(const ApiConfig& api, std::vector<Finding>& findings) {
  if (!api.tokens.empty() || api.allow_unauthenticated || IsLoopbackHostPort(api.address)) return;
  findings.push_back(Finding{
      {"api.address", "api.tokens", "api.allow_unauthenticated"},
      absl::StrCat("`api.address` (", api.address,
                   ") is not a loopback address and `api.tokens` is empty, so anyone who can "
                   "reach the port could read and delete all mail; either configure "
                   "`api.tokens` (bearer tokens with roles), or bind `api.address` to "
                   "127.0.0.1 or [::1], or set `api.allow_unauthenticated: true` if an open "
                   "API on this address is really meant (for example behind a proxy that "
                   "authenticates)")});
}

void CheckTls(const ApiTlsConfig& tls, std::vector<Finding>& findings) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const bool has_cert = !tls.cert_file.empty();
    findings.push_back(Finding{
        {has_cert ? "api.tls.cert_file" : "api.tls.key_file",
         has_cert ? "api.tls.key_file" : "api.tls.cert_file"},
        has_cert ? "`api.tls.cert_file` is set but `api.tls.key_file` is not; TLS needs both"
                 : "`api.tls.key_file` is set but `api.tls.cert_file` is not; TLS needs both"});
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    findings.push_back(
        Finding{{"api.tls.client_ca_file", "api.tls.cert_file"},
                "`api.tls.client_ca_file` (client certificates, mTLS) needs TLS: set "
                "`api.tls.cert_file` and `api.tls.key_file` too"});
  }
}

}  // namespace

bool IsLoopbackHostPort(absl::string_view host_port) {
  const std::string host(HostOf(host_port));
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;  // 127.0.0.0/8 (RFC 1122 §3.2.1.3)
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

void CheckApiAccess(const Config& config, std::vector<Finding>& findings) {
  CheckTokens(config.api.tokens, findings);
  CheckOpenApi(config.api, findings);
  CheckTls(config.api.tls, findings);
}

}  // namespace mailroom::config
