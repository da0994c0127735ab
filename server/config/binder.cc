#include "server/config/binder.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/config/file_text.h"
#include "server/config/schema.h"
#include "server/config/suggest.h"
#include "yaml-cpp/yaml.h"

namespace mailroom::config {
namespace {

constexpr absl::string_view kFileSuffix = "_file";
constexpr absl::string_view kDefaultsOrigin = "defaults";
// Longer values are cut in messages: they are quoted for recognition, not for the record.
constexpr size_t kMaxShownValue = 60;

std::string Shown(absl::string_view text) {
  std::string escaped = absl::CHexEscape(text);
  if (escaped.size() > kMaxShownValue) {
    escaped.resize(kMaxShownValue);
    escaped += "...";
  }
  return absl::StrCat("`", escaped, "`");
}

// How a node that is not the expected scalar is described after "got".
std::string Described(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return Shown(node.Scalar());
}

std::string Child(absl::string_view path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

std::string Item(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

// "smtp.listeners[1].port" → "smtp.listeners[].port", the form of AllKeys().
std::string WithoutIndexes(absl::string_view key) {
  std::string out;
  bool in_index = false;
  for (char c : key) {
    if (c == '[') in_index = true;
    if (!in_index || c == '[' || c == ']') out.push_back(c);
    if (c == ']') in_index = false;
  }
  return out;
}

// Fills the "[]" of `key` with the indexes written in `original`, in order.
std::string WithIndexesOf(absl::string_view key, absl::string_view original) {
  std::vector<absl::string_view> indexes;
  for (size_t open = original.find('['); open != absl::string_view::npos;
       open = original.find('[', open + 1)) {
    const size_t close = original.find(']', open);
    if (close == absl::string_view::npos) break;
    indexes.push_back(original.substr(open + 1, close - open - 1));
  }
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < key.size(); ++i) {
    out.push_back(key[i]);
    if (key[i] == '[' && i + 1 < key.size() && key[i + 1] == ']') {
      absl::StrAppend(&out, next < indexes.size() ? indexes[next] : "0");
      ++next;
    }
  }
  return out;
}

// A secret found in a YAML section, applied once the whole section is read so that giving
// both forms is caught whatever their order.
struct SecretEntry {
  const Field* field;
  YAML::Node value;
  bool from_file;
  std::string where;
};

}  // namespace

Binder::Binder(const Schema& schema, void* root)
    : schema_(schema), root_(root), keys_(AllKeys(schema)) {}

void Binder::Report(absl::string_view origin, absl::string_view path, absl::string_view message) {
  problems_.push_back(absl::StrCat(origin, ": ", message));
  if (!path.empty()) failed_.insert(std::string(path));
}

void Binder::ReportUnknown(absl::string_view origin, absl::string_view key) {
  const std::optional<std::string> closest = ClosestKey(WithoutIndexes(key), keys_);
  Report(origin, "",
         closest ? absl::StrCat("`", key, "` is not a setting; did you mean `",
                                WithIndexesOf(*closest, key), "`?")
                 : absl::StrCat("`", key, "` is not a setting"));
}

// ---------------------------------------------------------------------------------------
// Defaults

void Binder::ApplyDefaults() { DefaultFields(schema_.fields(), root_, ""); }

void Binder::DefaultFields(const std::vector<Field>& fields, void* owner, const std::string& path) {
  for (const Field& field : fields) {
    const std::string key = Child(path, field.name);
    switch (field.kind) {
      case FieldKind::kScalar:
        if (field.scalar.default_text) {
          AssignText(field, *field.scalar.default_text, owner, key, kDefaultsOrigin);
        }
        break;
      case FieldKind::kSection:
        DefaultFields(field.fields, field.member(owner), key);
        break;
      case FieldKind::kList:
        DefaultList(field, owner, key);
        break;
    }
  }
}

void Binder::DefaultList(const Field& field, void* owner, const std::string& path) {
  field.list.clear(owner);
  for (size_t i = 0; i < field.default_items.size(); ++i) {
    const std::string item_path = Item(path, i);
    void* item = field.list.append(owner);
    DefaultFields(field.fields, item, item_path);
    std::vector<std::string> given;
    for (const auto& [name, text] : field.default_items[i]) {
      const Field* setting = FindField(field.fields, name);
      if (setting == nullptr || setting->kind != FieldKind::kScalar) {
        ReportUnknown(kDefaultsOrigin, Child(item_path, name));
        continue;
      }
      AssignText(*setting, text, item, Child(item_path, name), kDefaultsOrigin);
      given.push_back(name);
    }
    CheckRequired(field.fields, given, item_path, kDefaultsOrigin);
  }
}

// ---------------------------------------------------------------------------------------
// YAML documents

void Binder::ApplyDocument(const YAML::Node& document, const MarkOrigin& origin) {
  if (document.IsNull()) return;  // An empty file (or only comments) changes nothing.
  if (!document.IsMap()) {
    Report(origin(document.Mark()), "",
           absl::StrCat("the top level must be a map of sections, got ", Described(document)));
    return;
  }
  ReadSection(schema_.fields(), document, root_, "", origin, nullptr);
}

void Binder::ReadSection(const std::vector<Field>& fields, const YAML::Node& map, void* owner,
                         const std::string& path, const MarkOrigin& origin,
                         std::vector<std::string>* given) {
  absl::flat_hash_map<std::string, int> lines;  // Name → line, to catch a key given twice.
  std::vector<SecretEntry> secrets;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // By value: the iterator yields a temporary pair of node handles.
    const YAML::Node key_node = it->first;
    const YAML::Node value = it->second;
    const std::string where = origin(key_node.Mark());
    if (!key_node.IsScalar()) {
      Report(where, "",
             absl::StrCat("a setting name must be a plain word, got ", Described(key_node),
                          path.empty() ? "" : " in `", path, path.empty() ? "" : "`"));
      continue;
    }
    const std::string& name = key_node.Scalar();
    const std::string key = Child(path, name);
    if (const auto [first, inserted] = lines.emplace(name, key_node.Mark().line + 1); !inserted) {
      Report(where, key,
             absl::StrCat("`", key, "` is given twice (first on line ", first->second, ")"));
      continue;
    }
    const Field* field = FindField(fields, name);
    bool from_file = false;
    if (field == nullptr && absl::EndsWith(name, kFileSuffix)) {
      const Field* secret = FindField(fields, name.substr(0, name.size() - kFileSuffix.size()));
      if (secret != nullptr && secret->kind == FieldKind::kScalar && secret->scalar.secret) {
        field = secret;
        from_file = true;
      }
    }
    if (field == nullptr) {
      ReportUnknown(where, key);
      continue;
    }
    if (given != nullptr) given->push_back(field->name);
    switch (field->kind) {
      case FieldKind::kScalar:
        if (field->scalar.secret) {
          secrets.push_back(SecretEntry{field, value, from_file, where});
        } else {
          AssignNode(*field, value, owner, key, where);
        }
        break;
      case FieldKind::kSection:
        if (value.IsNull()) break;  // Every setting of the section commented out.
        if (!value.IsMap()) {
          Report(where, key,
                 absl::StrCat("`", key, "` is a section: it must be a map of settings, got ",
                              Described(value)));
          break;
        }
        ReadSection(field->fields, value, field->member(owner), key, origin, nullptr);
        break;
      case FieldKind::kList:
        ReadList(*field, value, owner, key, where, origin);
        break;
    }
  }

  for (size_t i = 0; i < secrets.size(); ++i) {
    const SecretEntry& entry = secrets[i];
    const std::string key = Child(path, entry.field->name);
    bool both = false;
    for (size_t j = 0; j < secrets.size(); ++j) {
      if (j == i || secrets[j].field != entry.field) continue;
      both = true;
      if (j < i) {
        Report(
            entry.where, key,
            absl::StrCat("`", key, "` and `", key, kFileSuffix, "` are both given; give only one"));
      }
    }
    if (both) continue;
    if (!entry.from_file) {
      AssignNode(*entry.field, entry.value, owner, key, entry.where);
    } else if (!entry.value.IsScalar() || entry.value.Scalar().empty()) {
      Report(entry.where, key,
             absl::StrCat("`", key, kFileSuffix, "` must be the path of a file holding `", key,
                          "`, got ", Described(entry.value)));
    } else {
      AssignFromFile(*entry.field, entry.value.Scalar(), owner, key, entry.where);
    }
  }
}

void Binder::ReadList(const Field& field, const YAML::Node& node, void* owner,
                      const std::string& path, absl::string_view where, const MarkOrigin& origin) {
  if (node.IsNull()) {  // `listeners:` with every item commented out: no items.
    field.list.clear(owner);
    origins_[path] = std::string(where);
    return;
  }
  if (!node.IsSequence()) {
    Report(where, path,
           absl::StrCat("`", path, "` must be a list of sections (`- name: value` items), got ",
                        Described(node)));
    return;
  }
  field.list.clear(owner);
  origins_[path] = std::string(where);
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item_node = node[i];
    const std::string item_path = Item(path, i);
    const std::string item_where = origin(item_node.Mark());
    void* item = field.list.append(owner);
    DefaultFields(field.fields, item, item_path);
    // Settings left to their defaults are located by the item itself.
    for (const Field& setting : field.fields) {
      origins_[Child(item_path, setting.name)] = item_where;
    }
    if (!item_node.IsMap()) {
      Report(
          item_where, item_path,
          absl::StrCat("`", item_path, "` must be a map of settings, got ", Described(item_node)));
      continue;
    }
    std::vector<std::string> given;
    ReadSection(field.fields, item_node, item, item_path, origin, &given);
    CheckRequired(field.fields, given, item_path, item_where);
  }
}

void Binder::CheckRequired(const std::vector<Field>& fields, const std::vector<std::string>& given,
                           const std::string& path, absl::string_view origin) {
  for (const Field& field : fields) {
    if (field.kind != FieldKind::kScalar || field.scalar.default_text) continue;
    if (std::ranges::find(given, field.name) != given.end()) continue;
    const std::string key = Child(path, field.name);
    Report(origin, key, absl::StrCat("`", key, "` is required (", field.scalar.expected, ")"));
  }
}

// ---------------------------------------------------------------------------------------
// Values

void Binder::AssignText(const Field& field, absl::string_view text, void* owner,
                        const std::string& path, absl::string_view origin) {
  if (field.scalar.assign(text, owner)) {
    origins_[path] = std::string(origin);
    return;
  }
  Report(origin, path,
         field.scalar.secret
             ? absl::StrCat("`", path, "` must be ", field.scalar.expected)
             : absl::StrCat("`", path, "` must be ", field.scalar.expected, ", got ", Shown(text)));
}

void Binder::AssignNode(const Field& field, const YAML::Node& node, void* owner,
                        const std::string& path, absl::string_view origin) {
  if (node.IsNull() && field.scalar.null_is_empty) {
    AssignText(field, "", owner, path, origin);
    return;
  }
  if (!node.IsScalar()) {
    Report(origin, path,
           absl::StrCat("`", path, "` must be ", field.scalar.expected, ", got ", Described(node)));
    return;
  }
  AssignText(field, node.Scalar(), owner, path, origin);
}

void Binder::AssignFromFile(const Field& field, const std::string& file, void* owner,
                            const std::string& path, absl::string_view origin) {
  const absl::StatusOr<std::string> text = ReadTextFile(file);
  if (!text.ok()) {
    Report(origin, path,
           absl::StrCat("cannot read `", path, kFileSuffix, "` from ", Shown(file), ": ",
                        text.status().message()));
    return;
  }
  AssignText(field, WithoutTrailingNewline(*text), owner, path, origin);
}

// ---------------------------------------------------------------------------------------
// Environment and flags

bool Binder::Resolve(const Setting& setting, Target& target) {
  const std::vector<Field>* fields = &schema_.fields();
  void* owner = root_;
  std::string path;
  const std::vector<absl::string_view> parts = absl::StrSplit(setting.key, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    absl::string_view name = parts[i];
    std::optional<size_t> index;
    if (const size_t open = name.find('['); open != absl::string_view::npos) {
      size_t value = 0;
      if (!absl::EndsWith(name, "]") ||
          !absl::SimpleAtoi(name.substr(open + 1, name.size() - open - 2), &value)) {
        ReportUnknown(setting.origin, setting.key);
        return false;
      }
      index = value;
      name = name.substr(0, open);
    }
    const Field* field = FindField(*fields, name);
    bool from_file = false;
    if (field == nullptr && last && !index && absl::EndsWith(name, kFileSuffix)) {
      const Field* secret = FindField(*fields, name.substr(0, name.size() - kFileSuffix.size()));
      if (secret != nullptr && secret->kind == FieldKind::kScalar && secret->scalar.secret) {
        field = secret;
        from_file = true;
      }
    }
    if (field == nullptr || (index && field->kind != FieldKind::kList) ||
        (!last && !index && field->kind != FieldKind::kSection)) {
      ReportUnknown(setting.origin, setting.key);
      return false;
    }
    path = Child(path, field->name);
    if (index) {
      const size_t size = field->list.size(owner);
      if (*index >= size) {
        Report(setting.origin, "",
               absl::StrCat("`", Item(path, *index), "` does not exist: `", path, "` has ", size,
                            size == 1 ? " item" : " items",
                            " (items can be changed here, not added; give the whole list "
                            "instead)"));
        return false;
      }
      owner = field->list.at(owner, *index);
      path = Item(path, *index);
      if (last) {
        Report(setting.origin, "",
               absl::StrCat("`", path, "` is a list item; set one of its settings, such as `",
                            Child(path, field->fields.front().name), "`"));
        return false;
      }
      fields = &field->fields;
      continue;
    }
    if (last) {
      if (field->kind == FieldKind::kSection) {
        Report(setting.origin, "",
               absl::StrCat("`", path, "` is a section; set one of its settings, such as `",
                            Child(path, field->fields.front().name), "`"));
        return false;
      }
      target = Target{field, owner, path, from_file};
      return true;
    }
    owner = field->member(owner);
    fields = &field->fields;
  }
  return false;  // Unreachable: StrSplit yields at least one part.
}

void Binder::ApplySettings(const std::vector<Setting>& settings) {
  // Secret path → whether its `_file` form was used, and where.
  absl::flat_hash_map<std::string, std::pair<bool, std::string>> secrets;
  for (const Setting& setting : settings) {
    Target target;
    if (!Resolve(setting, target)) continue;
    const Field& field = *target.field;
    if (field.kind == FieldKind::kList) {
      YAML::Node node;
      try {
        node = YAML::Load(setting.value);
      } catch (const YAML::Exception& e) {
        Report(setting.origin, target.path,
               absl::StrCat("`", target.path,
                            "` must be a YAML list such as `[{name: a, port: 25}]`: ", e.msg));
        continue;
      }
      const std::string origin = setting.origin;
      ReadList(field, node, target.owner, target.path, origin,
               [origin](const YAML::Mark&) { return origin; });
      continue;
    }
    if (field.scalar.secret) {
      const auto [seen, inserted] =
          secrets.emplace(target.path, std::make_pair(target.from_file, setting.origin));
      if (!inserted && seen->second.first != target.from_file) {
        Report(setting.origin, target.path,
               absl::StrCat("`", target.path, "` and `", target.path, kFileSuffix,
                            "` are both given (the other by ", seen->second.second,
                            "); give only one"));
        continue;
      }
    }
    if (target.from_file) {
      AssignFromFile(field, setting.value, target.owner, target.path, setting.origin);
    } else {
      AssignText(field, setting.value, target.owner, target.path, setting.origin);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Cross-field checks

void Binder::RunChecks() {
  for (const Check& check : schema_.checks()) {
    std::vector<Finding> findings;
    check(root_, findings);
    for (const Finding& finding : findings) {
      if (std::ranges::any_of(finding.paths,
                              [this](const std::string& path) { return failed_.contains(path); })) {
        continue;
      }
      const auto origin =
          finding.paths.empty() ? origins_.end() : origins_.find(finding.paths.front());
      Report(origin == origins_.end() ? "configuration" : origin->second, "", finding.message);
    }
  }
}

}  // namespace mailroom::config
