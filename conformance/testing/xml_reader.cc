#include "xml_reader.h"

#include <cstdlib>

namespace vkspay::conformance::testing {

std::string XmlElement::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? "" : it->second;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c->name == child_name) out.push_back(c.get());
  }
  return out;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  StatusOr<std::unique_ptr<XmlElement>> Document() {
    SkipMisc();
    if (!error_.empty()) return Err();
    if (!Starts("<")) {
      Fail("expected the root element");
      return Err();
    }
    auto root = Element();
    if (!root) return Err();
    SkipMisc();
    if (!error_.empty()) return Err();
    if (pos_ != s_.size()) {
      Fail("content after the root element");
      return Err();
    }
    return root;
  }

 private:
  void Fail(const std::string& why) {
    if (error_.empty()) error_ = why + " at byte " + std::to_string(pos_);
  }
  Status Err() const { return Status(ErrorCode::kInvalidField, "XML: " + error_); }
  bool Starts(std::string_view t) const { return s_.substr(pos_, t.size()) == t; }
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  // Whitespace, comments, processing instructions (the declaration).
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      if (Starts("<?")) {
        size_t end = s_.find("?>", pos_);
        if (end == std::string_view::npos) {
          Fail("unterminated <?");
          return;
        }
        pos_ = end + 2;
      } else if (Starts("<!--")) {
        size_t end = s_.find("-->", pos_);
        if (end == std::string_view::npos) {
          Fail("unterminated comment");
          return;
        }
        pos_ = end + 3;
      } else {
        return;
      }
    }
  }
  std::string Name() {
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (IsSpace(c) || c == '=' || c == '>' || c == '/' || c == '<' || c == '"' || c == '\'')
        break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  static void AppendUtf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // At '&': appends the decoded entity.
  bool Entity(std::string& out) {
    size_t end = s_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) {
      Fail("bare '&'");
      return false;
    }
    std::string_view e = s_.substr(pos_ + 1, end - pos_ - 1);
    if (e == "amp") {
      out += '&';
    } else if (e == "lt") {
      out += '<';
    } else if (e == "gt") {
      out += '>';
    } else if (e == "quot") {
      out += '"';
    } else if (e == "apos") {
      out += '\'';
    } else if (e.size() > 1 && e[0] == '#') {
      const bool hex = e[1] == 'x';
      std::string digits(e.substr(hex ? 2 : 1));
      char* stop = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
      if (digits.empty() || *stop != '\0' || cp == 0 || cp > 0x10FFFF) {
        Fail("bad character reference");
        return false;
      }
      AppendUtf8(out, cp);
    } else {
      Fail("unknown entity &" + std::string(e) + ";");
      return false;
    }
    pos_ = end + 1;
    return true;
  }

  std::unique_ptr<XmlElement> Element() {
    ++pos_;  // '<'
    auto el = std::make_unique<XmlElement>();
    el->name = Name();
    if (el->name.empty()) {
      Fail("element without a name");
      return nullptr;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size()) {
        Fail("unterminated start tag <" + el->name);
        return nullptr;
      }
      if (Starts("/>")) {
        pos_ += 2;
        return el;
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      std::string key = Name();
      SkipSpace();
      if (key.empty() || pos_ >= s_.size() || s_[pos_] != '=') {
        Fail("bad attribute in <" + el->name);
        return nullptr;
      }
      ++pos_;
      SkipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) {
        Fail("unquoted attribute value");
        return nullptr;
      }
      const char quote = s_[pos_++];
      std::string value;
      while (pos_ < s_.size() && s_[pos_] != quote) {
        if (s_[pos_] == '<') {
          Fail("'<' in an attribute value");
          return nullptr;
        }
        if (s_[pos_] == '&') {
          if (!Entity(value)) return nullptr;
        } else {
          value += s_[pos_++];
        }
      }
      if (pos_ >= s_.size()) {
        Fail("unterminated attribute value");
        return nullptr;
      }
      ++pos_;
      if (el->attributes.count(key)) {
        Fail("attribute " + key + " twice");
        return nullptr;
      }
      el->attributes[key] = value;
    }
    // Content.
    for (;;) {
      if (pos_ >= s_.size()) {
        Fail("unterminated element <" + el->name + ">");
        return nullptr;
      }
      if (Starts("</")) {
        pos_ += 2;
        std::string closing = Name();
        SkipSpace();
        if (closing != el->name || pos_ >= s_.size() || s_[pos_] != '>') {
          Fail("</" + closing + "> closes <" + el->name + ">");
          return nullptr;
        }
        ++pos_;
        return el;
      }
      if (Starts("<!--")) {
        size_t end = s_.find("-->", pos_);
        if (end == std::string_view::npos) {
          Fail("unterminated comment");
          return nullptr;
        }
        pos_ = end + 3;
      } else if (Starts("<![CDATA[")) {
        size_t end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) {
          Fail("unterminated CDATA");
          return nullptr;
        }
        el->text.append(s_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (s_[pos_] == '<') {
        auto child = Element();
        if (!child) return nullptr;
        el->children.push_back(std::move(child));
      } else if (s_[pos_] == '&') {
        if (!Entity(el->text)) return nullptr;
      } else {
        el->text += s_[pos_++];
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

StatusOr<std::unique_ptr<XmlElement>> ParseXml(std::string_view text) {
  Parser p(text);
  return p.Document();
}

}  // namespace vkspay::conformance::testing
