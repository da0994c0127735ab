# smtp_tls_test: the TLS context provider, with real handshakes over loopback sockets and
# certificates made by the openssl CLI.
add_executable(smtp_tls_test tls_context_test.cc)
target_link_libraries(smtp_tls_test
  PRIVATE
    mailroom_smtp_tls
    mailroom_test_support
    absl::strings
    GTest::gmock
    GTest::gtest_main)
gtest_discover_tests(smtp_tls_test DISCOVERY_MODE PRE_TEST)
