# mailroom_smtp_protocol: the sans-I/O SMTP server protocol (command parser, replies, DATA
# decoder, SASL, transcript, the Session state machine). No sockets, no storage, no gRPC:
# only Abseil and OpenSSL's libcrypto (base64, HMAC-MD5, random challenges).
add_library(mailroom_smtp_protocol STATIC
  ${CMAKE_CURRENT_LIST_DIR}/command_parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/data_decoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/reply.cc
  ${CMAKE_CURRENT_LIST_DIR}/sasl.cc
  ${CMAKE_CURRENT_LIST_DIR}/session.cc
  ${CMAKE_CURRENT_LIST_DIR}/transcript.cc)
target_link_libraries(mailroom_smtp_protocol
  PUBLIC
    absl::any_invocable
    absl::status
    absl::strings
    absl::span
    absl::time
  PRIVATE
    absl::str_format
    OpenSSL::Crypto)

# Fuzzing (tests/smtp/protocol.cmake explains how to run it): the library gets libFuzzer's
# coverage instrumentation so that the fuzzer can find its way into the parser.
option(MAILROOM_FUZZ "Build libFuzzer targets (clang only)" OFF)
if(MAILROOM_FUZZ)
  target_compile_options(mailroom_smtp_protocol PRIVATE -fsanitize=fuzzer-no-link,address)
endif()
