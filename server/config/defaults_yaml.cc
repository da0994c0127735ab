#include "server/config/defaults_yaml.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/config/schema.h"
#include "yaml-cpp/yaml.h"

namespace mailroom::config {
namespace {

constexpr int kIndent = 2;

// `text` as a YAML scalar, quoted only when YAML would otherwise read it differently.
std::string YamlScalar(const std::string& text) {
  YAML::Emitter emitter;
  emitter << text;
  return emitter.c_str();
}

// "an integer from 1 to 64" → "An integer from 1 to 64."
std::string Sentence(absl::string_view text) {
  std::string out(text);
  if (!out.empty()) out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  out.push_back('.');
  return out;
}

class Writer {
 public:
  void Comment(int depth, absl::string_view text) {
    absl::StrAppend(&out_, std::string(depth * kIndent, ' '), "# ", text, "\n");
  }

  void Line(int depth, absl::string_view text) {
    absl::StrAppend(&out_, std::string(depth * kIndent, ' '), text, "\n");
  }

  void Blank() { out_ += "\n"; }

  void Fields(const std::vector<Field>& fields, int depth) {
    bool first = true;
    for (const Field& field : fields) {
      if (!first && field.kind != FieldKind::kScalar) Blank();
      first = false;
      switch (field.kind) {
        case FieldKind::kScalar:
          ScalarField(field, depth);
          break;
        case FieldKind::kSection:
          Comment(depth, field.doc);
          Line(depth, absl::StrCat(field.name, ":"));
          Fields(field.fields, depth + 1);
          break;
        case FieldKind::kList:
          ListField(field, depth);
          break;
      }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void ScalarField(const Field& field, int depth) {
    Comment(depth, field.doc);
    std::string accepts = Sentence(field.scalar.expected);
    if (field.scalar.secret) {
      absl::StrAppend(&accepts, " Secret: or give `", field.name,
                      "_file`, a file holding the value.");
    }
    Comment(depth, accepts);
    Line(depth, absl::StrCat(field.name, ": ", YamlScalar(*field.scalar.default_text)));
  }

  void ListField(const Field& field, int depth) {
    Comment(depth, field.doc);
    Comment(depth, "Each item has:");
    ItemSettings(field.fields, depth, "  ");
    if (field.default_items.empty()) {
      Line(depth, absl::StrCat(field.name, ": []"));
      return;
    }
    Line(depth, absl::StrCat(field.name, ":"));
    for (const ItemValues& item : field.default_items) {
      bool first = true;
      for (const Field& setting : field.fields) {
        std::optional<std::string> text = setting.scalar.default_text;
        for (const auto& [name, value] : item) {
          if (name == setting.name) text = value;
        }
        if (!text) continue;  // A broken default item; the loader reports it.
        Line(depth + 1, absl::StrCat(first ? "- " : "  ", setting.name, ": ", YamlScalar(*text)));
        first = false;
      }
    }
  }

  // Documents the settings of a list item as comments, nested sections and lists indented.
  void ItemSettings(const std::vector<Field>& fields, int depth, const std::string& indent) {
    for (const Field& setting : fields) {
      Comment(depth, absl::StrCat(indent, setting.name, ": ", setting.doc));
      switch (setting.kind) {
        case FieldKind::kScalar:
          Comment(depth, absl::StrCat(
                             indent, "  ", Sentence(setting.scalar.expected),
                             setting.scalar.default_text
                                 ? absl::StrCat(
                                       " Default: ", YamlScalar(*setting.scalar.default_text), ".")
                                 : " Required.",
                             setting.scalar.secret
                                 ? absl::StrCat(" Secret: or give `", setting.name, "_file`.")
                                 : ""));
          break;
        case FieldKind::kSection:
          ItemSettings(setting.fields, depth, absl::StrCat(indent, "  "));
          break;
        case FieldKind::kList:
          Comment(depth, absl::StrCat(indent, "  A list; each item has:"));
          ItemSettings(setting.fields, depth, absl::StrCat(indent, "    "));
          break;
      }
    }
  }

  std::string out_;
};

}  // namespace

std::string DefaultsYaml(const Schema& schema, absl::string_view header) {
  Writer writer;
  for (absl::string_view line : absl::StrSplit(header, '\n')) {
    writer.Line(0, line.empty() ? "#" : absl::StrCat("# ", line));
  }
  writer.Blank();
  writer.Fields(schema.fields(), 0);
  return writer.Take();
}

}  // namespace mailroom::config
