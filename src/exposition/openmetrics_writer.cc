#include "exposition/openmetrics_writer.h"

#include <algorithm>
#include <cmath>

#include "exposition/number_format.h"
#include "exposition/text_format.h"

namespace hx::metrics {

namespace {

constexpr std::string_view kTotal = "_total";
constexpr std::string_view kExemplarLabel = "attempt_id";

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
  return "unknown";
}

// Characters (code points) of UTF-8 text: bytes that do not continue one.
size_t Utf8Length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace

OpenMetricsWriter::OpenMetricsWriter(size_t reserve, bool created_lines)
    : created_lines_(created_lines) {
  out_.reserve(reserve);
}

void OpenMetricsWriter::BeginFamily(const FamilyDesc& family) {
  std::string_view name = family.name;
  if (family.type == MetricType::kCounter && name.ends_with(kTotal)) {
    name.remove_suffix(kTotal.size());
  }
  family_.assign(name);

  out_.append("# TYPE ");
  out_.append(family_);
  out_.push_back(' ');
  out_.append(TypeName(family.type));
  out_.push_back('\n');
  // A unit must be the name's suffix; one that is not is left out rather
  // than make the whole exposition invalid.
  if (!family.unit.empty() && name.size() > family.unit.size() && name.ends_with(family.unit) &&
      name[name.size() - family.unit.size() - 1] == '_') {
    out_.append("# UNIT ");
    out_.append(family_);
    out_.push_back(' ');
    out_.append(family.unit);
    out_.push_back('\n');
  }
  if (!family.help.empty()) {
    out_.append("# HELP ");
    out_.append(family_);
    out_.push_back(' ');
    AppendEscapedHelp(out_, family.help, /*escape_quotes=*/true);
    out_.push_back('\n');
  }
}

void OpenMetricsWriter::Head(std::string_view suffix, const LabelSet& labels,
                             const ExtraLabel& extra) {
  AppendSampleHead(out_, family_, suffix, labels, extra);
}

void OpenMetricsWriter::Counter(const LabelSet& labels, ExtraLabel extra, double value,
                                double created) {
  Head(kTotal, labels, extra);
  AppendNumberLine(out_, value);
  if (created_lines_ && created > 0) {
    Head("_created", labels, extra);
    AppendCreated(created);
  }
}

void OpenMetricsWriter::Gauge(const LabelSet& labels, ExtraLabel extra, double value) {
  Head({}, labels, extra);
  AppendNumberLine(out_, value);
}

void OpenMetricsWriter::AppendCreated(double created) {
  // The series of one check share their creation time: formatted once.
  if (created != last_created_) {
    last_created_ = created;
    last_created_text_.clear();
    AppendDouble(last_created_text_, created);
    last_created_text_.push_back('\n');
  }
  out_.append(last_created_text_);
}

void OpenMetricsWriter::AppendExemplar(const Exemplar& exemplar) {
  out_.append(" # {");
  out_.append(kExemplarLabel);
  out_.append("=\"");
  AppendEscapedLabelValue(out_, exemplar.attempt_id);
  out_.append("\"} ");
  AppendDouble(out_, exemplar.value);
  if (exemplar.timestamp > 0) {
    out_.push_back(' ');
    AppendDouble(out_, exemplar.timestamp);
  }
}

void OpenMetricsWriter::Histogram(const LabelSet& labels, const HistogramView& histogram) {
  const size_t buckets =
      std::min(histogram.upper_bounds.size(), histogram.cumulative_counts.size());
  bounds_.Update(histogram.upper_bounds.first(buckets));
  // The exemplar goes on the first bucket whose upper bound holds its value
  // (index `buckets` is +Inf); none when it cannot be written validly.
  size_t exemplar_bucket = buckets + 1;
  if (const Exemplar* exemplar = histogram.exemplar;
      exemplar != nullptr && !exemplar->attempt_id.empty() && !std::isnan(exemplar->value) &&
      kExemplarLabel.size() + Utf8Length(exemplar->attempt_id) <= kMaxExemplarLabelChars) {
    exemplar_bucket = static_cast<size_t>(std::lower_bound(histogram.upper_bounds.begin(),
                                                           histogram.upper_bounds.begin() + buckets,
                                                           exemplar->value) -
                                          histogram.upper_bounds.begin());
  }

  // Every bucket line starts with the same bytes up to the le value.
  bucket_prefix_.assign(family_);
  bucket_prefix_.append("_bucket{");
  bucket_prefix_.append(labels.text());
  if (!labels.empty()) bucket_prefix_.push_back(',');
  bucket_prefix_.append("le=\"");
  for (size_t i = 0; i < buckets; ++i) {
    out_.append(bucket_prefix_);
    out_.append(bounds_.le(i));
    if (i == exemplar_bucket) {
      AppendBucketEnd(out_, histogram.cumulative_counts[i], /*newline=*/false);
      AppendExemplar(*histogram.exemplar);
      out_.push_back('\n');
    } else {
      AppendBucketEnd(out_, histogram.cumulative_counts[i]);
    }
  }
  // Written even without classic buckets: OpenMetrics requires at least
  // one bucket per histogram, and +Inf is always true.
  out_.append(bucket_prefix_);
  out_.append("+Inf");
  AppendBucketEnd(out_, histogram.count, /*newline=*/exemplar_bucket != buckets);
  if (exemplar_bucket == buckets) {
    AppendExemplar(*histogram.exemplar);
    out_.push_back('\n');
  }

  Head("_count", labels, {});
  AppendNumberLine(out_, histogram.count);
  Head("_sum", labels, {});
  AppendNumberLine(out_, histogram.sum);
  if (created_lines_ && histogram.created > 0) {
    Head("_created", labels, {});
    AppendCreated(histogram.created);
  }
}

void OpenMetricsWriter::EndFamily() {}

void OpenMetricsWriter::Finish() { out_.append("# EOF\n"); }

}  // namespace hx::metrics
