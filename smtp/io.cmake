# mailroom_smtp_io: the engine's I/O shell. Listeners and accept loops, connection limits,
# one coroutine per connection driving a Session over TCP or TLS, and graceful shutdown.
add_library(mailroom_smtp_io STATIC
  connection.cc
  connection_limiter.cc
  engine_log.cc
  server.cc
  transport.cc)
target_link_libraries(mailroom_smtp_io
  PUBLIC
    mailroom_smtp_protocol
    mailroom_smtp_tls
    OpenSSL::SSL
    Threads::Threads
    absl::any_invocable
    absl::core_headers
    absl::flat_hash_map
    absl::status
    absl::statusor
    absl::strings
    absl::synchronization
    absl::time
  PRIVATE
    absl::flat_hash_set
    absl::memory)
