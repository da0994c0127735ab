# mailroom_smtp_mime: RFC 5322/MIME reading with GMime 3 (the header summary of a received
# message), GMime's one-time initialisation and the RAII holders for its objects.
add_library(mailroom_smtp_mime STATIC
  gmime_init.cc
  mime_summary.cc
  rfc2047.cc)
target_link_libraries(mailroom_smtp_mime
  PUBLIC
    PkgConfig::GMIME
    absl::strings
    absl::time
  PRIVATE
    Threads::Threads)
