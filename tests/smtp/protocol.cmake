# Tests of mailroom_smtp_protocol. Session behaviour is pinned by golden transcripts in
# tests/testdata/transcripts/*.txt: adding a protocol case means adding a file (the test
# lists the folder when it runs).
add_executable(smtp_protocol_test
  ${CMAKE_CURRENT_LIST_DIR}/command_parser_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/data_decoder_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/reply_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/sasl_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/session_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transcript_golden_test.cc)
target_compile_definitions(smtp_protocol_test PRIVATE
  MAILROOM_TRANSCRIPTS_DIR="${PROJECT_SOURCE_DIR}/tests/testdata/transcripts")
target_link_libraries(smtp_protocol_test
  PRIVATE
    mailroom_smtp_protocol
    absl::strings
    absl::str_format
    OpenSSL::Crypto
    GTest::gmock
    GTest::gtest_main)
gtest_discover_tests(smtp_protocol_test DISCOVERY_MODE PRE_TEST)

# The command parser fuzz target. In every build its source is compiled with a small main()
# that runs each file of tests/smtp/fuzz_corpus/ through it once (ctest
# smtp_command_parser_corpus), so the target always builds and its corpus never rots.
#
# Fuzzing for real needs clang's libFuzzer:
#   CXX=clang++ cmake -G Ninja -S . -B build/fuzz -DMAILROOM_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
#   cmake --build build/fuzz --target command_parser_fuzzer
#   mkdir -p /tmp/corpus && cp tests/smtp/fuzz_corpus/* /tmp/corpus/
#   build/fuzz/tests/smtp/command_parser_fuzzer /tmp/corpus -max_total_time=300
# Crashes are written as crash-<sha1> in the current directory; add the interesting ones
# (minimised with -minimize_crash=1) to tests/smtp/fuzz_corpus/ once fixed.
add_executable(command_parser_corpus ${CMAKE_CURRENT_LIST_DIR}/command_parser_fuzzer.cc)
target_compile_definitions(command_parser_corpus PRIVATE MAILROOM_FUZZ_CORPUS_MAIN)
target_link_libraries(command_parser_corpus PRIVATE mailroom_smtp_protocol)
add_test(NAME smtp_command_parser_corpus
         COMMAND command_parser_corpus ${CMAKE_CURRENT_LIST_DIR}/fuzz_corpus)
if(MAILROOM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MAILROOM_FUZZ needs clang (CXX=clang++)")
  endif()
  add_executable(command_parser_fuzzer ${CMAKE_CURRENT_LIST_DIR}/command_parser_fuzzer.cc)
  target_compile_options(command_parser_fuzzer PRIVATE -fsanitize=fuzzer,address)
  target_link_options(command_parser_fuzzer PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(command_parser_fuzzer PRIVATE mailroom_smtp_protocol)
endif()
