# smtp_mime_test: the message summary on the .eml files in tests/testdata/mime/ and on
# generated input, and the RFC 2047 header decoder.
add_executable(smtp_mime_test
  mime_summary_test.cc
  rfc2047_test.cc)
target_link_libraries(smtp_mime_test
  PRIVATE
    mailroom_smtp_mime
    absl::strings
    absl::time
    GTest::gmock
    GTest::gtest_main)
target_compile_definitions(smtp_mime_test
  PRIVATE MAILROOM_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/testdata")
gtest_discover_tests(smtp_mime_test DISCOVERY_MODE PRE_TEST)
