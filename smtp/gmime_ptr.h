// Owning holders for GMime and GLib objects, so that no GMime call site unrefs or frees by
// hand (GMime 3 reports errors by returning NULL and otherwise hands out new references or
// g_malloc'd strings that the caller must release).
//
// GObjectPtr<T> owns one reference to a GObject (GMimeMessage, GMimeParser, GMimeStream,
// InternetAddressList, ...). Functions documented as "transfer full" return a reference to
// adopt with GObjectPtr<T>(p); "transfer none" results are borrowed and must not be put in
// one (or must be given their own reference first with Ref()).
//
// Thread-safety: as std::unique_ptr; GObject reference counting itself is atomic.

#ifndef MAILROOM_SMTP_GMIME_PTR_H_
#define MAILROOM_SMTP_GMIME_PTR_H_

#include <glib-object.h>
#include <gmime/gmime.h>

#include <memory>

namespace mailroom::smtp {

struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object != nullptr) g_object_unref(object);
  }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

// Takes a new reference to a borrowed ("transfer none") object.
template <typename T>
GObjectPtr<T> Ref(T* object) {
  if (object != nullptr) g_object_ref(object);
  return GObjectPtr<T>(object);
}

// A string GMime or GLib allocated with g_malloc.
struct GFree {
  void operator()(gpointer memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

// GMimeParserOptions and GMimeFormatOptions are boxed structs, not GObjects.
struct GMimeParserOptionsFree {
  void operator()(GMimeParserOptions* options) const {
    if (options != nullptr) g_mime_parser_options_free(options);
  }
};
using GMimeParserOptionsPtr = std::unique_ptr<GMimeParserOptions, GMimeParserOptionsFree>;

struct GMimeFormatOptionsFree {
  void operator()(GMimeFormatOptions* options) const {
    if (options != nullptr) g_mime_format_options_free(options);
  }
};
using GMimeFormatOptionsPtr = std::unique_ptr<GMimeFormatOptions, GMimeFormatOptionsFree>;

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_GMIME_PTR_H_
