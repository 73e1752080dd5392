#include "vkspay/protocol/fields.h"

#include <gtest/gtest.h>

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

TEST(Fields, ToJsonWritesWholeNumbersAsIntegers) {
  Fields f{{"a", 100.0}, {"b", 0.01}, {"c", std::string("x")}, {"d", nullptr}};
  EXPECT_EQ(f.ToJson(), R"({"a":100,"b":0.01,"c":"x","d":null})");
}

}  // namespace
}  // namespace vkspay
