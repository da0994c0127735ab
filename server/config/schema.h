// The generic schema model: a tree of sections, lists of sections and typed scalar settings,
// each bound to a member of a C++ struct, with its default and a one-line doc comment.
//
// A concrete schema (mailroom_schema.cc) is declared once with SchemaBuilder<Root>; from it
// the binder (binder.h) validates and assigns values from every source, and
// defaults_yaml.h prints the commented default file. Builders are typed, so a setting can
// only be bound to a member of the matching C++ type; the built tree is type-erased (each
// field converts text into its member through a `void*` owner that only its own builder
// casts back). A built Schema is immutable and safe to share between threads.

#ifndef MAILROOM_SERVER_CONFIG_SCHEMA_H_
#define MAILROOM_SERVER_CONFIG_SCHEMA_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/config/values.h"

namespace mailroom::config {

// The default of a scalar, as text in the same syntax a user writes (so `config defaults`
// prints exactly the declaration). kRequired: the setting has no default and must be given;
// only list items may have required settings.
using DefaultText = std::optional<absl::string_view>;
inline constexpr std::nullopt_t kRequired = std::nullopt;

// Settings of one list item, by name, as text: {{"name", "smtp"}, {"port", "2525"}}.
using ItemValues = std::vector<std::pair<std::string, std::string>>;

// Which strings a string setting accepts, and how to say so in an error.
struct TextRule {
  std::string expected;                            // "a string", "host:port ..."
  std::function<bool(absl::string_view)> accepts;  // Empty: any text.
};
TextRule AnyText();
TextRule NonEmptyText();
// "host:port" (see IsHostPort); `allow_empty`: the empty string turns the feature off.
TextRule HostPortText(bool allow_empty);
// A host name or IP address without a port.
TextRule HostText();

// Converts `text` and stores it into the struct at `owner`; false when the text is not a
// valid value (the caller then reports Scalar::expected).
using Assign = std::function<bool(absl::string_view text, void* owner)>;

struct Scalar {
  std::string expected;                     // Completes "must be ...": "an integer from 1 to 64".
  std::optional<std::string> default_text;  // nullopt: required.
  bool secret = false;  // Also settable as `<name>_file`; its value never appears in messages.
  bool null_is_empty = false;  // A YAML null (`key:`) means the empty string.
  Assign assign;
};

struct ListAccess {
  std::function<void(void* owner)> clear;
  std::function<void*(void* owner)> append;  // Adds a value-initialised item, returns it.
  std::function<size_t(const void* owner)> size;
  std::function<void*(void* owner, size_t index)> at;
};

enum class FieldKind { kScalar, kSection, kList };

struct Field {
  FieldKind kind = FieldKind::kScalar;
  std::string name;
  std::string doc;  // One line, used by `config defaults`.
  Scalar scalar;    // kScalar.
  // kSection: its settings; kList: the settings of each item.
  std::vector<Field> fields;
  std::function<void*(void* owner)> member;  // kSection: the nested struct inside `owner`.
  ListAccess list;                           // kList.
  std::vector<ItemValues> default_items;     // kList.
};

// A problem found by a cross-field check. `paths` are the settings involved, the first one
// locating the message (file line, variable or flag); a finding about a setting that
// already failed on its own is dropped as noise.
struct Finding {
  std::vector<std::string> paths;
  std::string message;
};
using Check = std::function<void(const void* root, std::vector<Finding>& findings)>;

class Schema {
 public:
  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<Check>& checks() const { return checks_; }

 private:
  template <typename Root>
  friend class SchemaBuilder;

  std::vector<Field> fields_;
  std::vector<Check> checks_;
};

// Returns the field named `name` among `fields`, or nullptr.
const Field* FindField(const std::vector<Field>& fields, absl::string_view name);

// Every key of the schema as a dotted path, with "[]" for list items and the `_file` form
// of secrets: "smtp.listeners[].port", "database.url_file". Used for suggestions.
std::vector<std::string> AllKeys(const Schema& schema);

// The environment variable for a dotted key: "api.max_concurrent_streams" →
// "MAILROOM_API_MAX_CONCURRENT_STREAMS", "smtp.listeners[1].port" →
// "MAILROOM_SMTP_LISTENERS_1_PORT".
std::string EnvironmentName(absl::string_view key);

// The dotted key an environment variable sets (the inverse of EnvironmentName, including
// `_FILE` forms and list indexes), or nullopt when it names no setting.
std::optional<std::string> KeyForEnvironment(const Schema& schema, absl::string_view name);

// Declares the settings of one section bound to the struct `Owner`. Every method appends one
// field and returns *this, so a section reads as a list of declarations.
template <typename Owner>
class SectionBuilder {
 public:
  explicit SectionBuilder(std::vector<Field>* fields) : fields_(fields) {}

  SectionBuilder& String(absl::string_view name, std::string Owner::*member,
                         DefaultText default_text, absl::string_view doc,
                         TextRule rule = AnyText()) {
    Scalar scalar;
    scalar.expected = rule.expected;
    scalar.null_is_empty = true;
    scalar.assign = [member, accepts = std::move(rule.accepts)](absl::string_view text,
                                                                void* owner) {
      if (accepts && !accepts(text)) return false;
      Bound(owner).*member = std::string(text);
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  // A string that may also be read from a file named by `<name>_file`.
  SectionBuilder& Secret(absl::string_view name, std::string Owner::*member,
                         DefaultText default_text, absl::string_view doc) {
    Scalar scalar;
    scalar.expected = "a string";
    scalar.secret = true;
    scalar.null_is_empty = true;
    scalar.assign = [member](absl::string_view text, void* owner) {
      Bound(owner).*member = std::string(text);
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  SectionBuilder& Bool(absl::string_view name, bool Owner::*member, DefaultText default_text,
                       absl::string_view doc) {
    Scalar scalar;
    scalar.expected = "`true` or `false`";
    scalar.assign = [member](absl::string_view text, void* owner) {
      const std::optional<bool> value = ParseBool(text);
      if (!value) return false;
      Bound(owner).*member = *value;
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  template <typename Int>
  SectionBuilder& Integer(absl::string_view name, Int Owner::*member, std::type_identity_t<Int> min,
                          std::type_identity_t<Int> max, DefaultText default_text,
                          absl::string_view doc) {
    static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>);
    Scalar scalar;
    scalar.expected = absl::StrCat("an integer from ", min, " to ", max);
    scalar.assign = [member, min, max](absl::string_view text, void* owner) {
      const std::optional<int64_t> value = ParseInteger(text);
      if (!value || *value < static_cast<int64_t>(min) || *value > static_cast<int64_t>(max)) {
        return false;
      }
      Bound(owner).*member = static_cast<Int>(*value);
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  // `min`: the shortest accepted duration (zero allows "0").
  SectionBuilder& Duration(absl::string_view name, absl::Duration Owner::*member,
                           absl::Duration min, DefaultText default_text, absl::string_view doc) {
    Scalar scalar;
    scalar.expected = absl::StrCat(
        "a duration",
        min > absl::ZeroDuration() ? absl::StrCat(" of at least ", absl::FormatDuration(min)) : "",
        " such as `250ms`, `10s`, `5m` or `1h30m` (units h, m, s, ms)");
    scalar.assign = [member, min](absl::string_view text, void* owner) {
      const std::optional<absl::Duration> value = ParseDuration(text);
      if (!value || *value < min) return false;
      Bound(owner).*member = *value;
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  SectionBuilder& Bytes(absl::string_view name, int64_t Owner::*member, int64_t min, int64_t max,
                        DefaultText default_text, absl::string_view doc) {
    Scalar scalar;
    scalar.expected =
        absl::StrCat("a byte size from ", FormatByteSize(min), " to ", FormatByteSize(max),
                     ", such as `512KiB`, `32MiB`, `1GB` or a number of bytes");
    scalar.assign = [member, min, max](absl::string_view text, void* owner) {
      const std::optional<int64_t> value = ParseByteSize(text);
      if (!value || *value < min || *value > max) return false;
      Bound(owner).*member = *value;
      return true;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  // One of a fixed list of words, each mapped to a value of the enum `E`.
  template <typename E>
  SectionBuilder& Enum(absl::string_view name, E Owner::*member,
                       std::vector<std::pair<std::string, E>> words, DefaultText default_text,
                       absl::string_view doc) {
    std::vector<std::string> quoted;
    for (const auto& word : words) {
      quoted.push_back(word.first.empty() ? "`\"\"`" : absl::StrCat("`", word.first, "`"));
    }
    Scalar scalar;
    scalar.expected =
        quoted.size() == 1
            ? quoted.front()
            : absl::StrCat("one of ", absl::StrJoin(quoted.begin(), quoted.end() - 1, ", "), " or ",
                           quoted.back());
    scalar.assign = [member, words = std::move(words)](absl::string_view text, void* owner) {
      for (const auto& [word, value] : words) {
        if (word != text) continue;
        Bound(owner).*member = value;
        return true;
      }
      return false;
    };
    return AddScalar(name, doc, default_text, std::move(scalar));
  }

  // A nested section; `body(SectionBuilder<Child>&)` declares its settings.
  template <typename Child, typename Body>
  SectionBuilder& Section(absl::string_view name, Child Owner::*member, absl::string_view doc,
                          Body&& body) {
    Field field;
    field.kind = FieldKind::kSection;
    field.name = std::string(name);
    field.doc = std::string(doc);
    field.member = [member](void* owner) -> void* { return &(Bound(owner).*member); };
    SectionBuilder<Child> child(&field.fields);
    body(child);
    fields_->push_back(std::move(field));
    return *this;
  }

  // A list of sections; `body(SectionBuilder<Item>&)` declares the settings of one item
  // (their defaults apply to each item), `default_items` is the list when none is given.
  template <typename Item, typename Body>
  SectionBuilder& List(absl::string_view name, std::vector<Item> Owner::*member,
                       absl::string_view doc, Body&& body, std::vector<ItemValues> default_items) {
    Field field;
    field.kind = FieldKind::kList;
    field.name = std::string(name);
    field.doc = std::string(doc);
    field.list.clear = [member](void* owner) { (Bound(owner).*member).clear(); };
    field.list.append = [member](void* owner) -> void* {
      return &(Bound(owner).*member).emplace_back();
    };
    field.list.size = [member](const void* owner) {
      return (static_cast<const Owner*>(owner)->*member).size();
    };
    field.list.at = [member](void* owner, size_t index) -> void* {
      return &(Bound(owner).*member)[index];
    };
    field.default_items = std::move(default_items);
    SectionBuilder<Item> item(&field.fields);
    body(item);
    fields_->push_back(std::move(field));
    return *this;
  }

 private:
  static Owner& Bound(void* owner) { return *static_cast<Owner*>(owner); }

  SectionBuilder& AddScalar(absl::string_view name, absl::string_view doc, DefaultText default_text,
                            Scalar scalar) {
    Field field;
    field.kind = FieldKind::kScalar;
    field.name = std::string(name);
    field.doc = std::string(doc);
    if (default_text) scalar.default_text = std::string(*default_text);
    field.scalar = std::move(scalar);
    fields_->push_back(std::move(field));
    return *this;
  }

  std::vector<Field>* fields_;
};

namespace schema_internal {
// Constructed before the SectionBuilder base of SchemaBuilder, which points into it.
struct Storage {
  Schema schema_;
};
}  // namespace schema_internal

// Declares a whole schema bound to the struct `Root`, plus its cross-field checks.
template <typename Root>
class SchemaBuilder : private schema_internal::Storage, public SectionBuilder<Root> {
 public:
  SchemaBuilder() : SectionBuilder<Root>(&schema_.fields_) {}
  SchemaBuilder(const SchemaBuilder&) = delete;
  SchemaBuilder& operator=(const SchemaBuilder&) = delete;

  // `check(root, findings)` runs after every source is applied and appends a Finding for
  // each rule the values break (duplicate names, inconsistent pairs).
  SchemaBuilder& AddCheck(std::function<void(const Root&, std::vector<Finding>&)> check) {
    schema_.checks_.push_back(
        [check = std::move(check)](const void* root, std::vector<Finding>& findings) {
          check(*static_cast<const Root*>(root), findings);
        });
    return *this;
  }

  Schema Build() && { return std::move(schema_); }
};

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_SCHEMA_H_
