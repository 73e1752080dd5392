#include "vkspay/protocol/fields.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace vkspay {
namespace {

TEST(ParseFlatJson, KeepsScalarValuesInOrder) {
  auto r = ParseFlatJson(R"({"b":"x","a":1.5,"c":true,"d":null,"e":""})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ(r->items()[0].name, "b");
  EXPECT_EQ(JsString(*r->Find("a")), "1.5");
  EXPECT_EQ(JsString(*r->Find("c")), "true");
  EXPECT_EQ(JsString(*r->Find("d")), "null");
  EXPECT_EQ(JsString(*r->Find("e")), "");
}

TEST(ParseFlatJson, RefusesNestedValuesNamingTheField) {
  auto r = ParseFlatJson(R"({"a":"1","extra":{"x":1}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFlat);
  EXPECT_NE(r.status().message().find("\"extra\""), std::string::npos);
  r = ParseFlatJson(R"({"list":[1,2]})");
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFlat);
}

TEST(ParseFlatJson, RefusesDuplicateKeysNamingThem) {
  auto r = ParseFlatJson(R"({"total_fee":1,"total_fee":100})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDuplicateField);
  EXPECT_NE(r.status().message().find("total_fee"), std::string::npos);
}

TEST(ParseFlatJson, RefusesMalformedAndNonObjectBodies) {
  for (const char* body : {"", "{", "[]", "\"x\"", "1", "null", "{\"a\":1,}", "{'a':1}",
                           "{\"a\":1} trailing", "{\"a\":1e400}"}) {
    auto r = ParseFlatJson(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidJson) << body;
  }
}

TEST(ParseFlatJson, RefusesInvalidUtf8) {
  auto r = ParseFlatJson("{\"a\":\"\xff\xfe\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidJson);
}

// Regression (issue #7, hostile input): a syntax error inside a value said
// only "byte N", which is hard to map back to a large body; it now names the
// field whose value is bad, and only then.
TEST(ParseFlatJson, ErrorsInsideAValueNameTheField) {
  for (const char* body : {"{\"ok\":1,\"subject\":\"\xff\xfe\"}",
                           "{\"ok\":1,\"subject\":\"a\x01b\"}",
                           "{\"ok\":1,\"subject\":1e400}", "{\"ok\":1,\"subject\":tru}"}) {
    auto r = ParseFlatJson(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidJson) << body;
    EXPECT_NE(r.status().message().find("\"subject\""), std::string::npos) << r.status().message();
  }
  // Outside a value (a bad key, a missing brace) no field is named.
  for (const char* body : {"{\"ok\":1,x}", "{\"ok\":1"}) {
    auto r = ParseFlatJson(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().message().find("\"ok\""), std::string::npos) << r.status().message();
  }
}

TEST(ParseFlatJson, DeepNestingIsRefusedWithoutRecursion) {
  std::string body = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = ParseFlatJson(body);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFlat);
}

TEST(ParseFlatJson, EnforcesLimits) {
  ParseLimits limits;
  limits.max_fields = 3;
  limits.max_value_bytes = 4;
  EXPECT_EQ(ParseFlatJson(R"({"a":1,"b":2,"c":3,"d":4})", limits).status().code(),
            ErrorCode::kBodyTooLarge);
  EXPECT_EQ(ParseFlatJson(R"({"a":"12345"})", limits).status().code(),
            ErrorCode::kBodyTooLarge);
  EXPECT_TRUE(ParseFlatJson(R"({"a":"1234"})", limits).ok());
}

TEST(ShowJson, ScalarsAndFlatContainersAreDumped) {
  EXPECT_EQ(ShowJson(nlohmann::json(-5)), "-5");
  EXPECT_EQ(ShowJson(nlohmann::json("x")), "\"x\"");
  EXPECT_EQ(ShowJson(nlohmann::json::parse("{}")), "{}");
  EXPECT_EQ(ShowJson(nlohmann::json::parse("[1,\"a\"]")), "[1,\"a\"]");
}

TEST(ShowJson, NestedContainersAreSummarisedWithoutRecursion) {
  // 100,000 levels: dump() would recurse that deep.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  nlohmann::json j = nlohmann::json::parse(deep);
  EXPECT_EQ(ShowJson(j), "[an array of 1 items]");
  EXPECT_EQ(ShowJson(nlohmann::json::parse(R"({"a":{"b":1},"c":2})")),
            "{an object of 2 fields}");
}

TEST(ShowJson, IsBoundedAndKeepsUtf8Valid) {
  std::string shown = ShowJson(nlohmann::json(std::string(1000, 'a')), 64);
  EXPECT_EQ(shown.size(), 64u + 3);
  EXPECT_EQ(shown.substr(64), "...");
  // "支" is 3 bytes: a cut inside it backs off to the character before.
  std::string chinese;
  for (int i = 0; i < 40; ++i) chinese += "支";
  shown = ShowJson(nlohmann::json(chinese), 10);  // "\"" + 3 chars = 10 bytes
  EXPECT_EQ(shown, "\"支支支...");
  shown = ShowJson(nlohmann::json(chinese), 11);
  EXPECT_EQ(shown, "\"支支支...");
  // Invalid UTF-8 inside a string is replaced, never thrown on.
  EXPECT_EQ(ShowJson(nlohmann::json(std::string("a\xff"))), "\"a\xef\xbf\xbd\"");
}

TEST(TruncateUtf8, CutsOnlyAtCharacterBoundaries) {
  EXPECT_EQ(TruncateUtf8("abc", 3), "abc");
  EXPECT_EQ(TruncateUtf8("abcd", 3), "abc...");
  EXPECT_EQ(TruncateUtf8("a支", 2), "a...");
  EXPECT_EQ(TruncateUtf8("a支", 3), "a...");
  EXPECT_EQ(TruncateUtf8("a支b", 4), "a支...");
}

TEST(Fields, ToJsonWritesWholeNumbersAsIntegers) {
  Fields f{{"a", 100.0}, {"b", 0.01}, {"c", std::string("x")}, {"d", nullptr}};
  EXPECT_EQ(f.ToJson(), R"({"a":100,"b":0.01,"c":"x","d":null})");
}

}  // namespace
}  // namespace vkspay
