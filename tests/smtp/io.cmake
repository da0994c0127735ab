# smtp_io_test: the I/O shell (smtp::Server, smtp::Connection, limits, TLS, shutdown)
# against a real loopback server, with in-memory backends and a blocking OpenSSL client.
add_executable(smtp_io_test
  connection_limiter_test.cc
  io_test_backends.cc
  server_test.cc
  test_smtp_client.cc)
target_link_libraries(smtp_io_test
  PRIVATE
    mailroom_smtp_io
    OpenSSL::SSL
    absl::status
    absl::statusor
    absl::strings
    absl::synchronization
    absl::time
    GTest::gmock
    GTest::gtest_main)
gtest_discover_tests(smtp_io_test DISCOVERY_MODE PRE_TEST)
