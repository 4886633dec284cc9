// A fixed-size log-linear histogram of non-negative integers (nanoseconds, in practice) for
// percentiles over any number of samples in constant memory: values below 128 are exact, above
// that each power of two is split into 64 buckets, so a reported percentile is within 1/128 of
// a sample that really was at that rank. Bounded: 3,776 counters cover the whole uint64 range.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace ntpkit {

class LogHistogram {
 public:
  static constexpr unsigned kExact = 128;  // 0..127 have a bucket each
  static constexpr unsigned kSub = 64;     // buckets per power of two above that
  static constexpr size_t kBuckets = kExact + (64 - 7) * kSub;

  // Negative samples (a server whose transmit precedes its receive) are counted apart and
  // recorded as 0, so that the percentiles stay defined; min() keeps the true sign.
  void add(int64_t v) {
    ++count_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    if (v < 0) {
      ++negative_;
      v = 0;
    }
    ++buckets_[index(static_cast<uint64_t>(v))];
  }

  void merge(const LogHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    negative_ += o.negative_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  [[nodiscard]] uint64_t count() const { return count_; }
  [[nodiscard]] uint64_t negative() const { return negative_; }
  [[nodiscard]] int64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] int64_t max() const { return count_ == 0 ? 0 : max_; }

  // The value at quantile q (0..1): the midpoint of the bucket that holds the sample of rank
  // ceil(q * count), clamped to [min, max]; 0 when empty.
  [[nodiscard]] int64_t quantile(double q) const {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999999);
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= rank) {
        const uint64_t mid = midpoint(i);
        const int64_t v = mid > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                              ? std::numeric_limits<int64_t>::max()
                              : static_cast<int64_t>(mid);
        return std::clamp(v, min(), max());
      }
    }
    return max();
  }

  static constexpr size_t index(uint64_t v) {
    if (v < kExact) return static_cast<size_t>(v);
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 7;  // v >> shift in [64, 128)
    return kExact + (shift - 1) * kSub + static_cast<size_t>((v >> shift) - kSub);
  }
  // [lower, lower + width) of bucket i.
  static constexpr uint64_t lower(size_t i) {
    if (i < kExact) return i;
    const size_t shift = (i - kExact) / kSub + 1;
    return (static_cast<uint64_t>((i - kExact) % kSub) + kSub) << shift;
  }
  static constexpr uint64_t width(size_t i) { return i < kExact ? 1 : uint64_t{1} << ((i - kExact) / kSub + 1); }
  static constexpr uint64_t midpoint(size_t i) { return lower(i) + width(i) / 2; }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t negative_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = std::numeric_limits<int64_t>::min();
};

}  // namespace ntpkit
