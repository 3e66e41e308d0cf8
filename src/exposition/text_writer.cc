#include "exposition/text_writer.h"

#include <algorithm>

#include "exposition/number_format.h"
#include "exposition/text_format.h"

namespace hx::metrics {

namespace {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUnknown:
      break;
  }
  return "untyped";
}

}  // namespace

TextWriter::TextWriter(size_t reserve) { out_.reserve(reserve); }

void TextWriter::BeginFamily(const FamilyDesc& family) {
  name_.assign(family.name);
  if (!family.help.empty()) {
    out_.append("# HELP ");
    out_.append(family.name);
    out_.push_back(' ');
    AppendEscapedHelp(out_, family.help, /*escape_quotes=*/false);
    out_.push_back('\n');
  }
  out_.append("# TYPE ");
  out_.append(family.name);
  out_.push_back(' ');
  out_.append(TypeName(family.type));
  out_.push_back('\n');
}

void TextWriter::Head(std::string_view suffix, const LabelSet& labels, const ExtraLabel& extra) {
  AppendSampleHead(out_, name_, suffix, labels, extra);
}

void TextWriter::Counter(const LabelSet& labels, ExtraLabel extra, double value,
                         double /*created*/) {
  Head({}, labels, extra);
  AppendNumberLine(out_, value);
}

void TextWriter::Gauge(const LabelSet& labels, ExtraLabel extra, double value) {
  Head({}, labels, extra);
  AppendNumberLine(out_, value);
}

void TextWriter::Histogram(const LabelSet& labels, const HistogramView& histogram) {
  Head("_count", labels, {});
  AppendNumberLine(out_, histogram.count);
  Head("_sum", labels, {});
  AppendNumberLine(out_, histogram.sum);
  if (histogram.upper_bounds.empty()) return;  // native only: no classic buckets

  // Every bucket line starts with the same bytes up to the le value: they
  // are assembled once per series (in a buffer whose capacity is kept).
  bucket_prefix_.assign(name_);
  bucket_prefix_.append("_bucket{");
  bucket_prefix_.append(labels.text());
  if (!labels.empty()) bucket_prefix_.push_back(',');
  bucket_prefix_.append("le=\"");
  const size_t buckets =
      std::min(histogram.upper_bounds.size(), histogram.cumulative_counts.size());
  bounds_.Update(histogram.upper_bounds.first(buckets));
  for (size_t i = 0; i < buckets; ++i) {
    out_.append(bucket_prefix_);
    out_.append(bounds_.le(i));
    AppendBucketEnd(out_, histogram.cumulative_counts[i]);
  }
  out_.append(bucket_prefix_);
  out_.append("+Inf");
  AppendBucketEnd(out_, histogram.count);
}

void TextWriter::EndFamily() {}

void TextWriter::Finish() {}

}  // namespace hx::metrics
