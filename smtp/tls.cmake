# mailroom_smtp_tls: the server's TLS context (PEM files or a generated self-signed
# certificate, reloadable) for asio::ssl streams, and the description of a negotiated stream.
add_library(mailroom_smtp_tls STATIC tls_context.cc)
target_link_libraries(mailroom_smtp_tls
  PUBLIC
    OpenSSL::SSL
    OpenSSL::Crypto
    Threads::Threads
    absl::status
    absl::statusor
    absl::synchronization
    absl::core_headers
  PRIVATE
    absl::strings
    absl::str_format)
