// A small strict XML reader for tests: enough to load a JUnit report back and
// check its structure. Elements, attributes, text, the five entities and
// character references, comments, the XML declaration and CDATA; anything
// malformed (mismatched tags, a bare '&' or '<', two roots) is an error.
#ifndef VKSPAY_CONFORMANCE_TESTING_XML_READER_H_
#define VKSPAY_CONFORMANCE_TESTING_XML_READER_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::conformance::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;  // all character data directly inside, concatenated

  // The attribute, or "" when absent.
  std::string Attr(const std::string& key) const;
  // Children with this name.
  std::vector<const XmlElement*> Children(std::string_view name) const;
};

// Parses a whole document. Errors: kInvalidField with the byte offset.
StatusOr<std::unique_ptr<XmlElement>> ParseXml(std::string_view text);

}  // namespace vkspay::conformance::testing

#endif  // VKSPAY_CONFORMANCE_TESTING_XML_READER_H_
