// Merchant mode: the suite plays VksPay against a merchant's notify handler.
// It sends one valid notification, then attacks, and grades what the handler
// answered and (with --state-url) whether the merchant's state changed.
#include <httplib.h>

#include <random>
#include <thread>

#include "vkspay/conformance/signer.h"
#include "vkspay/conformance/suites.h"
#include "vkspay/conformance/target.h"
#include "vkspay/protocol/form.h"

namespace vkspay::conformance {

StatusOr<MerchantOrder> ParseMerchantOrder(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  const auto bad = [&](const std::string& why) {
    return Status(
        ErrorCode::kInvalidField,
        "--order must be OUT_TRADE_NO=YUAN (e.g. CONF-1=0.01), got \"" + spec + "\": " + why);
  };
  if (eq == std::string::npos) return bad("no '='");
  MerchantOrder o{spec.substr(0, eq), spec.substr(eq + 1)};
  if (o.out_trade_no.empty()) return bad("empty out_trade_no");
  if (o.total_fee.empty() || o.total_fee.find_first_not_of("0123456789.") != std::string::npos ||
      std::strtod(o.total_fee.c_str(), nullptr) <= 0) {
    return bad("the amount must be a positive yuan amount such as 0.01");
  }
  return o;
}

namespace {

using nlohmann::json;

// The merchant's view of one order, read from --state-url.
struct Snapshot {
  bool exists = false;
  bool paid = false;
  bool refunded = false;
  int64_t processed = 0;
};

bool Acted(const Snapshot& before, const Snapshot& after) {
  return after.processed > before.processed || (!before.paid && after.paid) ||
         (!before.refunded && after.refunded) || (!before.exists && after.exists);
}

struct Sent {
  bool transport_ok = false;
  int status = 0;
  std::string body;
  std::string error;
  Answer answer = Answer::kUnreachable;
  std::string Describe() const {
    return transport_ok ? DescribeAnswer(answer, status, body) : "no answer (" + error + ")";
  }
};

class MerchantKit {
 public:
  explicit MerchantKit(MerchantSuiteOptions options) : options_(std::move(options)) {
    uint64_t seed = options_.seed;
    if (seed == 0)
      seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    random_ = std::make_unique<SeededRandom>(seed);
    run_id_ = random_->Digits(6, '1');
  }

  const MerchantSuiteOptions& options() const { return options_; }

  // The k-th --order, or a Skip saying how many are needed.
  std::optional<Outcome> Order(size_t k, MerchantOrder* out) const {
    if (options_.orders.size() <= k) {
      return Outcome::Skip("needs --order #" + std::to_string(k + 1) + " (give " +
                           std::to_string(kMerchantOrdersNeeded) +
                           " unpaid orders of the merchant, --order NO=YUAN each)");
    }
    *out = options_.orders[k];
    return std::nullopt;
  }

  std::string Nonce() { return random_->Digits(8, '1'); }
  std::string NotifyId() { return "NCF" + run_id_ + std::to_string(++seq_); }
  int64_t Now() const { return clock_.NowSeconds(); }

  // A payment notification's fields (unsigned), as VksPay sends them.
  std::vector<std::pair<std::string, std::string>> Payment(const MerchantOrder& o,
                                                           const std::string& notify_id,
                                                           int64_t at) {
    return {{"notify_type", "payment"},
            {"notify_id", notify_id},
            {"merchantno", options_.merchantno},
            {"out_trade_no", o.out_trade_no},
            {"transaction_id", "4200001" + run_id_ + random_->Digits(15, '0')},
            {"total_fee", o.total_fee},
            {"pay_chnl", "wxpay"},
            {"status", "SUCCESS"},
            {"time_end", FormatDisplayTime(at)},
            {"timestamp", std::to_string(at)},
            {"signaturenonce", Nonce()},
            {"version", "2.0"}};
  }

  // Appends sign and form-encodes.
  std::string Signed(std::vector<std::pair<std::string, std::string>> fields,
                     const std::string& sign_override = "") {
    const std::string sign =
        sign_override.empty() ? SignPairs(fields, options_.key) : sign_override;
    Fields form;
    for (auto& [name, value] : fields) form.Set(name, value);
    form.Set("sign", sign);
    return EncodeForm(form);
  }

  static void Set(std::vector<std::pair<std::string, std::string>>& fields, const std::string& name,
                  const std::string& value) {
    for (auto& f : fields) {
      if (f.first == name) {
        f.second = value;
        return;
      }
    }
    fields.emplace_back(name, value);
  }

  Sent Send(const std::string& body) {
    std::string origin, path;
    Sent s;
    Status st = SplitUrl("--notify-url", options_.notify_url, &origin, &path);
    if (!st.ok()) {
      s.error = st.message();
      return s;
    }
    if (path.empty()) path = "/";
    httplib::Client client(origin);
    client.set_connection_timeout(options_.timeout_s, 0);
    client.set_read_timeout(options_.timeout_s, 0);
    httplib::Result res = client.Post(path, body, "application/x-www-form-urlencoded");
    if (!res) {
      s.error = httplib::to_string(res.error());
      return s;
    }
    s.transport_ok = true;
    s.status = res->status;
    s.body = res->body;
    s.answer = ClassifyAnswer(true, s.status, s.body);
    return s;
  }

  bool has_state() const { return !options_.state_url.empty(); }

  // Reads the merchant's view of `no`. Errors (as a Fail outcome) when the
  // state URL does not answer the documented JSON.
  std::optional<Outcome> State(const std::string& no, std::optional<Snapshot>* out) {
    out->reset();
    if (!has_state()) return std::nullopt;
    std::string origin, path;
    Status st = SplitUrl("--state-url", options_.state_url, &origin, &path);
    if (!st.ok()) return Outcome::Fail(st.message());
    Fields q;
    q.Set("out_trade_no", no);
    path += (path.find('?') == std::string::npos ? "?" : "&") + EncodeForm(q);
    httplib::Client client(origin);
    client.set_connection_timeout(options_.timeout_s, 0);
    client.set_read_timeout(options_.timeout_s, 0);
    httplib::Result res = client.Get(path);
    if (!res) return Outcome::Fail("--state-url: no answer: " + httplib::to_string(res.error()));
    Snapshot s;
    if (res->status == 404) {
      *out = s;
      return std::nullopt;
    }
    json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (res->status != 200 || !j.is_object()) {
      return Outcome::Fail("--state-url answered HTTP " + std::to_string(res->status) +
                           ", expected 200 and {\"exists\":...,\"paid\":...,\"refunded\":...,"
                           "\"processed\":N}: " +
                           res->body.substr(0, 200));
    }
    s.exists = j.value("exists", false);
    s.paid = j.value("paid", false);
    s.refunded = j.value("refunded", false);
    const json p = j.value("processed", json());
    if (!p.is_number_integer()) {
      return Outcome::Fail("--state-url: \"processed\" must be an integer, got " +
                           res->body.substr(0, 200));
    }
    s.processed = p.get<int64_t>();
    *out = s;
    return std::nullopt;
  }

 private:
  MerchantSuiteOptions options_;
  SystemClock clock_;
  std::unique_ptr<SeededRandom> random_;
  std::string run_id_;
  int64_t seq_ = 0;
};

#define CF_TRY(expr)                                          \
  do {                                                        \
    if (std::optional<Outcome> cf_p_ = (expr)) return *cf_p_; \
  } while (0)

// An attack on a fresh order: `make` builds the body; graded by GradeAttack.
Outcome Attack(MerchantKit& k, size_t order_index, AttackKind kind,
               const std::function<std::string(MerchantKit&, const MerchantOrder&)>& make,
               const std::string& what) {
  MerchantOrder o;
  CF_TRY(k.Order(order_index, &o));
  std::optional<Snapshot> before, after;
  CF_TRY(k.State(o.out_trade_no, &before));
  Sent s = k.Send(make(k, o));
  CF_TRY(k.State(o.out_trade_no, &after));
  std::optional<bool> acted;
  if (before && after) acted = Acted(*before, *after);
  return GradeAttack(kind, s.answer, acted, what + ": " + s.Describe());
}

}  // namespace

Status CheckOrdersUnpaid(const MerchantSuiteOptions& options) {
  if (options.state_url.empty()) return Status::Ok();
  MerchantKit kit(options);
  for (size_t i = 0; i < options.orders.size(); ++i) {
    const MerchantOrder& o = options.orders[i];
    std::optional<Snapshot> s;
    std::optional<Outcome> bad = kit.State(o.out_trade_no, &s);
    const std::string which = "--order #" + std::to_string(i + 1) + " " + o.out_trade_no + ": ";
    if (bad) {
      return Status(ErrorCode::kInvalidField, which + "cannot read its state: " + bad->reason);
    }
    std::string why;
    if (!s->exists) {
      why = "does not exist";
    } else if (s->paid || s->refunded) {
      why = std::string("is already ") + (s->refunded ? "refunded" : "paid");
    }
    if (!why.empty()) {
      return Status(ErrorCode::kInvalidField,
                    which + "the merchant's --state-url says the order " + why + " (exists " +
                        (s->exists ? "true" : "false") + ", paid " + (s->paid ? "true" : "false") +
                        ", refunded " + (s->refunded ? "true" : "false") +
                        "); each run needs orders the merchant created unpaid for it (a "
                        "second run needs new ones)");
    }
  }
  return Status::Ok();
}

std::vector<Case> MerchantCases(const MerchantSuiteOptions& options) {
  auto kit = std::make_shared<MerchantKit>(options);
  std::vector<Case> cases;
  auto add = [&](std::string id, std::string summary, std::function<Outcome(MerchantKit&)> fn) {
    cases.push_back({std::move(id), std::move(summary), [kit, fn = std::move(fn)]() {
                       if (kit->options().notify_url.empty())
                         return Outcome::Skip("no --notify-url");
                       return fn(*kit);
                     }});
  };

  add("merchant/valid-payment-acked",
      "a valid, signed payment notification for order #1 is acked with {\"code\":\"SUCCESS\"} "
      "(and, with --state-url, the order becomes paid)",
      [](MerchantKit& k) {
        MerchantOrder o;
        CF_TRY(k.Order(0, &o));
        std::optional<Snapshot> after, before;
        CF_TRY(k.State(o.out_trade_no, &before));
        Sent s = k.Send(k.Signed(k.Payment(o, k.NotifyId(), k.Now())));
        CF_TRY(k.State(o.out_trade_no, &after));
        std::optional<bool> paid;
        if (after) paid = after->paid;
        return GradeValid(s.answer, paid, s.Describe());
      });

  add("merchant/wrong-sign-refused",
      "a payment notification for order #2 whose sign does not verify is not acked",
      [](MerchantKit& k) {
        return Attack(
            k, 1, AttackKind::kForgery,
            [](MerchantKit& kk, const MerchantOrder& o) {
              auto f = kk.Payment(o, kk.NotifyId(), kk.Now());
              std::string sign = SignPairs(f, kk.options().key);
              sign[0] = sign[0] == 'a' ? 'b' : 'a';
              return kk.Signed(f, sign);
            },
            "wrong sign");
      });

  add("merchant/tampered-amount-refused",
      "order #3's notification with total_fee changed after signing (old sign kept) is not acked",
      [](MerchantKit& k) {
        return Attack(
            k, 2, AttackKind::kForgery,
            [](MerchantKit& kk, const MerchantOrder& o) {
              auto f = kk.Payment(o, kk.NotifyId(), kk.Now());
              const std::string sign = SignPairs(f, kk.options().key);
              MerchantKit::Set(f, "total_fee", o.total_fee == "0.01" ? "100.01" : "0.01");
              return kk.Signed(f, sign);
            },
            "tampered total_fee");
      });

  add("merchant/amount-mismatch-refused",
      "a correctly signed notification whose total_fee differs from order #4's amount is not "
      "acted on",
      [](MerchantKit& k) {
        return Attack(
            k, 3, AttackKind::kSigned,
            [](MerchantKit& kk, const MerchantOrder& o) {
              auto f = kk.Payment(o, kk.NotifyId(), kk.Now());
              MerchantKit::Set(f, "total_fee", o.total_fee == "0.01" ? "0.02" : "0.01");
              return kk.Signed(f);
            },
            "signed, other amount");
      });

  add("merchant/stale-timestamp-refused",
      "a correctly signed notification for order #5 stamped one hour ago is not acted on "
      "(VksPay stamps every attempt afresh)",
      [](MerchantKit& k) {
        return Attack(
            k, 4, AttackKind::kSigned,
            [](MerchantKit& kk, const MerchantOrder& o) {
              return kk.Signed(kk.Payment(o, kk.NotifyId(), kk.Now() - 3600));
            },
            "timestamp 1 h old");
      });

  add("merchant/duplicate-within-1s-processed-once",
      "the same notification (same notify_id, fresh nonce and sign) twice within one second for "
      "order #6: both acked, processed once",
      [](MerchantKit& k) {
        MerchantOrder o;
        CF_TRY(k.Order(5, &o));
        std::optional<Snapshot> before, after;
        CF_TRY(k.State(o.out_trade_no, &before));
        const std::string id = k.NotifyId();
        auto first = k.Payment(o, id, k.Now());
        auto second = first;
        MerchantKit::Set(second, "signaturenonce", k.Nonce());
        const std::string b1 = k.Signed(first), b2 = k.Signed(second);
        Sent s1, s2;
        std::thread t([&] { s1 = k.Send(b1); });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        s2 = k.Send(b2);
        t.join();
        CF_TRY(k.State(o.out_trade_no, &after));
        std::optional<int> times;
        if (before && after) times = static_cast<int>(after->processed - before->processed);
        return GradeRepeat(false, s1.answer, s2.answer, times,
                           "first " + s1.Describe() + ", second " + s2.Describe());
      });

  add("merchant/replayed-nonce-not-reprocessed",
      "order #7's valid notification replayed byte for byte 1.2 s later is refused or acked "
      "without processing it again",
      [](MerchantKit& k) {
        MerchantOrder o;
        CF_TRY(k.Order(6, &o));
        std::optional<Snapshot> before, after;
        CF_TRY(k.State(o.out_trade_no, &before));
        const std::string body = k.Signed(k.Payment(o, k.NotifyId(), k.Now()));
        Sent s1 = k.Send(body);
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        Sent s2 = k.Send(body);
        CF_TRY(k.State(o.out_trade_no, &after));
        std::optional<int> times;
        if (before && after) times = static_cast<int>(after->processed - before->processed);
        return GradeRepeat(true, s1.answer, s2.answer, times,
                           "original " + s1.Describe() + ", replay " + s2.Describe());
      });

  add("merchant/refund-before-payment-refused",
      "a correctly signed refund notification for order #8, never paid, is not acted on (not "
      "acked, so it is retried after the payment)",
      [](MerchantKit& k) {
        return Attack(
            k, 7, AttackKind::kSigned,
            [](MerchantKit& kk, const MerchantOrder& o) {
              auto f = kk.Payment(o, kk.NotifyId(), kk.Now());
              MerchantKit::Set(f, "notify_type", "refund");
              MerchantKit::Set(f, "status", "REFUND");
              MerchantKit::Set(f, "out_refund_no", "RCF-" + kk.Nonce());
              MerchantKit::Set(f, "refund_fee", o.total_fee);
              MerchantKit::Set(f, "refund_status", "SUCCESS");
              MerchantKit::Set(f, "time_refund", FormatDisplayTime(kk.Now()));
              return kk.Signed(f);
            },
            "refund before payment");
      });

  add("merchant/unknown-order-refused",
      "a correctly signed payment notification for an order the merchant never created is not "
      "acted on",
      [](MerchantKit& k) {
        const std::string no = "CF-UNKNOWN-" + k.Nonce() + k.Nonce();
        std::optional<Snapshot> before, after;
        CF_TRY(k.State(no, &before));
        Sent s = k.Send(k.Signed(k.Payment({no, "0.01"}, k.NotifyId(), k.Now())));
        CF_TRY(k.State(no, &after));
        std::optional<bool> acted;
        if (before && after) acted = Acted(*before, *after);
        return GradeAttack(AttackKind::kSigned, s.answer, acted, "unknown order: " + s.Describe());
      });
  return cases;
}

}  // namespace vkspay::conformance
