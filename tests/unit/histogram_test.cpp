#include "ntpkit/util/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

namespace ntpkit {
namespace {

TEST(LogHistogram, EmptyIsZero) {
  LogHistogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.quantile(0.5), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(LogHistogram, SmallValuesAreExact) {
  LogHistogram h;
  for (int v = 1; v <= 100; ++v) h.add(v);
  EXPECT_EQ(h.quantile(0.5), 50);
  EXPECT_EQ(h.quantile(0.99), 99);
  EXPECT_EQ(h.quantile(1.0), 100);
  EXPECT_EQ(h.quantile(0.0), 1);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 100);
}

TEST(LogHistogram, BucketsTileTheRange) {
  // Every bucket starts where the previous one ended, and index() inverts lower().
  uint64_t next = 0;
  for (size_t i = 0; i < LogHistogram::kBuckets; ++i) {
    ASSERT_EQ(LogHistogram::lower(i), next) << "bucket " << i;
    ASSERT_EQ(LogHistogram::index(LogHistogram::lower(i)), i);
    ASSERT_EQ(LogHistogram::index(LogHistogram::lower(i) + LogHistogram::width(i) - 1), i);
    next = LogHistogram::lower(i) + LogHistogram::width(i);
  }
  EXPECT_EQ(next, 0U) << "the last bucket ends at 2^64";
  EXPECT_EQ(LogHistogram::index(~uint64_t{0}), LogHistogram::kBuckets - 1);
  // Boundaries: 127 is the last exact bucket, 128 the first wide one.
  EXPECT_EQ(LogHistogram::index(127), 127U);
  EXPECT_EQ(LogHistogram::index(128), 128U);
  EXPECT_EQ(LogHistogram::width(128), 2U);
}

TEST(LogHistogram, QuantilesWithinOnePartIn128OfSorted) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(10.0, 2.0);  // ns: around 22 us, wide tail
  std::vector<int64_t> v(100000);
  LogHistogram h;
  for (auto& x : v) {
    x = static_cast<int64_t>(d(rng));
    h.add(x);
  }
  std::sort(v.begin(), v.end());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * static_cast<double>(v.size()))));
    const double want = static_cast<double>(v[rank - 1]);
    const double got = static_cast<double>(h.quantile(q));
    EXPECT_NEAR(got, want, want / 128 + 1) << "q " << q << " seed " << seed;
  }
}

TEST(LogHistogram, NegativeSamplesCountedApart) {
  LogHistogram h;
  h.add(-5);
  h.add(10);
  EXPECT_EQ(h.negative(), 1U);
  EXPECT_EQ(h.min(), -5);
  EXPECT_EQ(h.quantile(0.5), 0);  // recorded as 0 in the buckets...
  EXPECT_EQ(h.quantile(1.0), 10);
}

TEST(LogHistogram, HugeValuesDoNotOverflow) {
  LogHistogram h;
  h.add(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h.quantile(0.5), std::numeric_limits<int64_t>::max());
}

TEST(LogHistogram, MergeAddsCounts) {
  LogHistogram a, b;
  a.add(1);
  b.add(1000);
  b.add(-1);
  a.merge(b);
  EXPECT_EQ(a.count(), 3U);
  EXPECT_EQ(a.negative(), 1U);
  EXPECT_EQ(a.min(), -1);
  EXPECT_EQ(a.max(), 1000);
}

}  // namespace
}  // namespace ntpkit
