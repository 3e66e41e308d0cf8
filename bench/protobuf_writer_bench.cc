// Our protobuf encoder (src/exposition/protobuf_writer.cc) against libprotobuf
// serialising the same exposition from its generated classes (an arena per
// scrape, as a libprotobuf-based writer would). Issue 13 accepts an encoder
// of our own only if it is measurably faster; this is the measurement.
//
//   protobuf_writer_bench [series] [rounds]   timing, interleaved, medians
//   protobuf_writer_bench [series] 1 hand|lib one render of one kind, for
//       valgrind --tool=callgrind --toggle-collect='*Render*'
//
// The series are duration histograms shaped like an HTTP check's: a check
// label, the 11 default classic buckets, native buckets of schema 3 from
// 200 latencies around 40 ms, a created timestamp and an exemplar.

#include <google/protobuf/arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "exposition/native_histogram.h"
#include "exposition/protobuf_writer.h"
#include "proto/metrics.pb.h"

namespace {

namespace pb = ::io::prometheus::client;
using hx::metrics::HistogramView;
using hx::metrics::LabelSet;
using hx::metrics::NativeBuckets;

const double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct Series {
  std::string check;
  LabelSet labels;
  std::vector<uint64_t> cumulative;
  NativeBuckets native;
  hx::metrics::Exemplar exemplar;
  std::string attempt_id;
  uint64_t count = 0;
  double sum = 0;
  double created = 0;
};

std::vector<Series> MakeSeries(size_t n) {
  std::mt19937 rng(13);
  std::vector<Series> all(n);
  for (size_t i = 0; i < n; ++i) {
    Series& s = all[i];
    s.check = "check-" + std::to_string(i);
    s.labels = LabelSet({{"check", s.check}});
    s.attempt_id = std::to_string(1000000 + i);
    hx::metrics::NativeHistogram h;
    s.cumulative.assign(std::size(kBounds), 0);
    for (int k = 0; k < 200; ++k) {
      const double v = 0.04 * std::exp(0.5 * ((rng() / 4294967296.0) * 2 - 1) * 2);
      h.Observe(v);
      for (size_t b = 0; b < std::size(kBounds); ++b) {
        if (v <= kBounds[b]) ++s.cumulative[b];
      }
      s.exemplar = {s.attempt_id, v, 1764982800.0 + k};
    }
    h.FillBuckets(&s.native);
    s.count = h.count();
    s.sum = h.sum();
    s.created = 1764982000.125;
  }
  return all;
}

void RenderHand(const std::vector<Series>& all, std::string* out, bool classic = true) {
  hx::metrics::ProtobufWriter w({.classic_buckets = classic});
  w.output().reserve(out->capacity());
  w.BeginFamily({"health_check_duration_seconds", hx::metrics::MetricType::kHistogram,
                 "How long each check attempt took.", "seconds"});
  for (const Series& s : all) {
    HistogramView h;
    h.count = s.count;
    h.sum = s.sum;
    h.upper_bounds = kBounds;
    h.cumulative_counts = s.cumulative;
    h.native = &s.native;
    h.created = s.created;
    h.exemplar = &s.exemplar;
    w.Histogram(s.labels, h);
  }
  w.EndFamily();
  w.Finish();
  out->swap(w.output());
}

// The same exposition through libprotobuf's generated classes.
void SetTimestamp(google::protobuf::Timestamp* ts, double t) {
  const double whole = std::floor(t);
  ts->set_seconds(static_cast<int64_t>(whole));
  ts->set_nanos(static_cast<int32_t>(std::llround((t - whole) * 1e9)));
}

void RenderLib(const std::vector<Series>& all, std::string* out) {
  google::protobuf::Arena arena;
  auto* f = google::protobuf::Arena::CreateMessage<pb::MetricFamily>(&arena);
  f->set_name("health_check_duration_seconds");
  f->set_help("How long each check attempt took.");
  f->set_type(pb::HISTOGRAM);
  f->set_unit("seconds");
  for (const Series& s : all) {
    pb::Metric* m = f->add_metric();
    pb::LabelPair* l = m->add_label();
    l->set_name("check");
    l->set_value(s.check);
    pb::Histogram* h = m->mutable_histogram();
    h->set_sample_count(s.count);
    h->set_sample_sum(s.sum);
    size_t exemplar_bucket = std::size(kBounds);
    for (size_t b = 0; b < std::size(kBounds); ++b) {
      if (s.exemplar.value <= kBounds[b]) {
        exemplar_bucket = b;
        break;
      }
    }
    auto fill_exemplar = [&](pb::Exemplar* e) {
      pb::LabelPair* el = e->add_label();
      el->set_name("attempt_id");
      el->set_value(std::string(s.exemplar.attempt_id));
      e->set_value(s.exemplar.value);
      SetTimestamp(e->mutable_timestamp(), s.exemplar.timestamp);
    };
    for (size_t b = 0; b < std::size(kBounds); ++b) {
      pb::Bucket* pbb = h->add_bucket();
      pbb->set_cumulative_count(s.cumulative[b]);
      pbb->set_upper_bound(kBounds[b]);
      if (b == exemplar_bucket) fill_exemplar(pbb->mutable_exemplar());
    }
    h->set_schema(s.native.schema);
    h->set_zero_threshold(s.native.zero_threshold);
    h->set_zero_count(s.native.zero_count);
    for (const auto& sp : s.native.positive_spans) {
      pb::BucketSpan* ps = h->add_positive_span();
      ps->set_offset(sp.offset);
      ps->set_length(sp.length);
    }
    for (int64_t d : s.native.positive_deltas) h->add_positive_delta(d);
    SetTimestamp(h->mutable_created_timestamp(), s.created);
    fill_exemplar(h->add_exemplars());
  }
  const size_t size = f->ByteSizeLong();
  out->clear();
  uint8_t prefix[10];
  uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(size), prefix);
  out->append(reinterpret_cast<char*>(prefix), end - prefix);
  const size_t at = out->size();
  out->resize(at + size);
  f->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + at));
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 10000;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 21;
  const std::string only = argc > 3 ? argv[3] : "";
  const std::vector<Series> all = MakeSeries(n);
  std::string hand, lib;
  if (!only.empty()) {
    if (only == "hand") RenderHand(all, &hand, true);
    if (only == "lib") RenderLib(all, &lib);
    std::printf("%s %zu bytes\n", only.c_str(), hand.size() + lib.size());
    return 0;
  }
  std::vector<double> t_hand, t_lib;
  for (int r = 0; r < rounds; ++r) {
    auto a = std::chrono::steady_clock::now();
    RenderHand(all, &hand);
    auto b = std::chrono::steady_clock::now();
    RenderLib(all, &lib);
    auto c = std::chrono::steady_clock::now();
    t_hand.push_back(Seconds(a, b));
    t_lib.push_back(Seconds(b, c));
  }
  std::string native_only;
  RenderHand(all, &native_only, false);
  size_t native_buckets = 0;
  for (const Series& s : all) native_buckets += s.native.positive_deltas.size();
  std::sort(t_hand.begin(), t_hand.end());
  std::sort(t_lib.begin(), t_lib.end());
  // Both encode the same messages canonically: the bytes must be equal.
  if (hand != lib) {
    std::fprintf(stderr, "outputs differ: %zu vs %zu bytes\n", hand.size(), lib.size());
    return 1;
  }
  std::printf("series %zu rounds %d\n", n, rounds);
  std::printf("hand-encoder: median %.0f ns/series, min %.0f, %zu bytes (%.1f B/series)\n",
              t_hand[rounds / 2] / n * 1e9, t_hand[0] / n * 1e9, hand.size(),
              static_cast<double>(hand.size()) / n);
  std::printf("libprotobuf:  median %.0f ns/series, min %.0f, %zu bytes (%.1f B/series)\n",
              t_lib[rounds / 2] / n * 1e9, t_lib[0] / n * 1e9, lib.size(),
              static_cast<double>(lib.size()) / n);
  {
    // NativeHistogram itself: what a check's result and a snapshot cost.
    std::mt19937 rng(5);
    std::vector<double> values(1 << 20);
    for (double& v : values) v = 0.04 * std::exp(((rng() / 4294967296.0) * 2 - 1));
    hx::metrics::NativeHistogram h;
    auto a = std::chrono::steady_clock::now();
    for (double v : values) h.Observe(v);
    auto b = std::chrono::steady_clock::now();
    NativeBuckets nb;
    constexpr int kFills = 100000;
    for (int i = 0; i < kFills; ++i) h.FillBuckets(&nb);
    auto c = std::chrono::steady_clock::now();
    std::vector<hx::metrics::NativeHistogram> copies;
    copies.reserve(kFills);
    for (int i = 0; i < kFills; ++i) copies.push_back(h);
    auto d = std::chrono::steady_clock::now();
    std::printf(
        "NativeHistogram: Observe %.1f ns, FillBuckets %.0f ns, copy %.0f ns (%zu buckets)\n",
        Seconds(a, b) / values.size() * 1e9, Seconds(b, c) / kFills * 1e9,
        Seconds(c, d) / kFills * 1e9, nb.positive_deltas.size());
  }
  std::printf("without classic buckets (duration_buckets_in_protobuf: false): %.1f B/series\n",
              static_cast<double>(native_only.size()) / n);
  std::printf("native buckets per series (schema %d): %.1f\n", all[0].native.schema,
              static_cast<double>(native_buckets) / n);
  return 0;
}
