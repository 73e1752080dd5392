// Micro-benchmarks of the protocol library, each next to its baseline in the
// same binary: OpenSSL's raw MD5 over the same number of bytes as the
// canonical string, so the ratio says how close signing comes to the hashing
// limit on this machine.
//
//   build/bench/protocol_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <string>

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/js_number.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace {

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";

vkspay::Fields TypicalWebPay() {
  return vkspay::Fields{{"method", std::string("webpay")},
                        {"merchantno", std::string("10001")},
                        {"total_fee", 0.01},
                        {"notify_url", std::string("http://127.0.0.1:9000/notify")},
                        {"signaturenonce", std::string("12345678")},
                        {"timestamp", 1700000000.0},
                        {"version", std::string("2.0")},
                        {"subject", std::string("测试商品")}};
}

vkspay::Fields LargeBody() {
  vkspay::Fields f = TypicalWebPay();
  for (int i = 0; i < 42; ++i) {
    f.Set("field_" + std::to_string(i), std::string("中文内容 value ") + std::to_string(i * 7919));
  }
  return f;
}

void Md5Raw(benchmark::State& state, size_t bytes) {
  std::string data(bytes, 'a');
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}

void SignFields(benchmark::State& state, const vkspay::Fields& f) {
  const size_t bytes = vkspay::CanonicalString(f, kKey).size();
  for (auto _ : state) benchmark::DoNotOptimize(vkspay::Sign(f, kKey));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_SignTypical(benchmark::State& s) { SignFields(s, TypicalWebPay()); }
void BM_Md5RawTypical(benchmark::State& s) {
  Md5Raw(s, vkspay::CanonicalString(TypicalWebPay(), kKey).size());
}
void BM_SignLarge(benchmark::State& s) { SignFields(s, LargeBody()); }
void BM_Md5RawLarge(benchmark::State& s) {
  Md5Raw(s, vkspay::CanonicalString(LargeBody(), kKey).size());
}

void BM_VerifyTypical(benchmark::State& state) {
  vkspay::Fields f = vkspay::WithSign(TypicalWebPay(), kKey);
  for (auto _ : state) benchmark::DoNotOptimize(vkspay::VerifySign(f, kKey));
}

void BM_ParseAndVerifyTypical(benchmark::State& state) {
  const std::string body = vkspay::WithSign(TypicalWebPay(), kKey).ToJson();
  for (auto _ : state) {
    auto f = vkspay::ParseFlatJson(body);
    benchmark::DoNotOptimize(vkspay::VerifySign(*f, kKey));
  }
}

void BM_JsNumberToString(benchmark::State& state) {
  const double values[] = {0.01, 100, 1.5, 1e21, 1e-7, 1700000000, 0.30000000000000004};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(vkspay::JsNumberToString(values[i++ % 7]));
}

void BM_ParseYuan(benchmark::State& state) {
  const vkspay::Value v = 12.34;
  for (auto _ : state) benchmark::DoNotOptimize(vkspay::ParseYuan("total_fee", v));
}

void BM_NotificationFormEncode(benchmark::State& state) {
  vkspay::NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N0123456789abcdef0123456789abcdef";
  c.merchantno = "10001";
  c.out_trade_no = "P10001-20261128104124560195";
  c.transaction_id = "4200000000202611280000000001";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2026-11-28 10:41:24";
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        vkspay::EncodeForm(vkspay::SignNotification(c, 1764300000, "12345678", kKey)));
  }
}

// Encoding alone, ours against httplib::detail::encode_query_param (what
// EncodeForm used before; same output, form_test proves it).
vkspay::Fields SignedNotificationFields() {
  vkspay::NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N0123456789abcdef0123456789abcdef";
  c.merchantno = "10001";
  c.out_trade_no = "P10001-20261128104124560195";
  c.transaction_id = "4200000000202611280000000001";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2026-11-28 10:41:24";
  c.attach = "订单备注 a=1&b=2";
  return vkspay::SignNotification(c, 1764300000, "12345678", kKey);
}

void BM_FormEncodeOnly(benchmark::State& state) {
  const vkspay::Fields f = SignedNotificationFields();
  for (auto _ : state) benchmark::DoNotOptimize(vkspay::EncodeForm(f));
}

void BM_FormEncodeHttplib(benchmark::State& state) {
  const vkspay::Fields f = SignedNotificationFields();
  for (auto _ : state) {
    std::string out;
    for (const vkspay::Field& field : f.items()) {
      if (!out.empty()) out.push_back('&');
      out += httplib::detail::encode_query_param(field.name);
      out.push_back('=');
      out += httplib::detail::encode_query_param(vkspay::JsString(field.value));
    }
    benchmark::DoNotOptimize(out);
  }
}

BENCHMARK(BM_SignTypical);
BENCHMARK(BM_Md5RawTypical);
BENCHMARK(BM_SignLarge);
BENCHMARK(BM_Md5RawLarge);
BENCHMARK(BM_VerifyTypical);
BENCHMARK(BM_ParseAndVerifyTypical);
BENCHMARK(BM_JsNumberToString);
BENCHMARK(BM_ParseYuan);
BENCHMARK(BM_NotificationFormEncode);
BENCHMARK(BM_FormEncodeOnly);
BENCHMARK(BM_FormEncodeHttplib);

}  // namespace

BENCHMARK_MAIN();
