// FlatMap and RingQueue: the containers under the capture replay's per-packet tables. FlatMap is
// checked against std::unordered_map through random inserts and erases, with a hash that puts
// many keys in the same run so that backward-shift deletion is exercised across the wrap.
#include "ntpkit/util/flat_map.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace ntpkit {
namespace {

struct Identity {
  uint64_t operator()(uint64_t k) const { return k; }
};
// Eight home slots, the table's last eight whatever its size: long runs that wrap around its end.
struct Crowded {
  uint64_t operator()(uint64_t k) const { return ~uint64_t{0} - (k % 8) * 0x0100000000000001ULL; }
};

TEST(FlatMap, FindInsertErase) {
  FlatMap<uint64_t, std::string, Identity> m;
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_FALSE(m.erase(1));
  auto [v, added] = m.try_emplace(1);
  EXPECT_TRUE(added);
  EXPECT_EQ(*v, "");
  *v = "one";
  auto [again, added_again] = m.try_emplace(1);
  EXPECT_FALSE(added_again);
  EXPECT_EQ(*again, "one");
  EXPECT_EQ(m.size(), 1u);
  ASSERT_NE(m.find(1), nullptr);
  EXPECT_EQ(*m.find(1), "one");
  EXPECT_TRUE(m.erase(1));
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_TRUE(m.empty());
}

TEST(FlatMap, PrecomputedHashEqualsTheFunctors) {
  FlatMap<uint64_t, int, Crowded> m;
  for (uint64_t k = 0; k < 100; ++k) *m.try_emplace(k, Crowded{}(k)).first = static_cast<int>(k);
  for (uint64_t k = 0; k < 100; ++k) {
    ASSERT_NE(m.find(k), nullptr) << k;
    EXPECT_EQ(*m.find(k, Crowded{}(k)), static_cast<int>(k));
  }
  m.prefetch(Crowded{}(3));  // no effect on contents
  EXPECT_EQ(m.size(), 100u);
}

TEST(FlatMap, EraseAtKeepsEveryOtherKeyFindable) {
  FlatMap<uint64_t, uint64_t, Crowded> m;
  for (uint64_t k = 0; k < 64; ++k) *m.try_emplace(k).first = k * 10;
  for (uint64_t k = 0; k < 64; k += 3) m.erase_at(m.find(k));
  for (uint64_t k = 0; k < 64; ++k) {
    if (k % 3 == 0) {
      EXPECT_EQ(m.find(k), nullptr) << k;
    } else {
      ASSERT_NE(m.find(k), nullptr) << k;
      EXPECT_EQ(*m.find(k), k * 10);
    }
  }
}

template <class Hash>
void random_against_unordered_map(uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  FlatMap<uint64_t, uint64_t, Hash> m;
  std::unordered_map<uint64_t, uint64_t> ref;
  for (int step = 0; step < 20000; ++step) {
    const uint64_t k = rng() % 500;
    switch (rng() % 3) {
      case 0: {
        auto [v, added] = m.try_emplace(k);
        EXPECT_EQ(added, ref.count(k) == 0);
        *v = step;
        ref[k] = step;
        break;
      }
      case 1: EXPECT_EQ(m.erase(k), ref.erase(k) == 1); break;
      default: {
        const uint64_t* v = m.find(k);
        auto it = ref.find(k);
        ASSERT_EQ(v != nullptr, it != ref.end()) << k;
        if (v != nullptr) {
          EXPECT_EQ(*v, it->second);
        }
      }
    }
    ASSERT_EQ(m.size(), ref.size());
  }
  size_t visited = 0;
  m.for_each([&](uint64_t k, uint64_t& v) {
    ++visited;
    EXPECT_EQ(ref.at(k), v);
  });
  EXPECT_EQ(visited, ref.size());
  m.clear();
  EXPECT_TRUE(m.empty());
  for (const auto& [k, v] : ref) EXPECT_EQ(m.find(k), nullptr);
}

TEST(FlatMap, RandomOperationsMatchUnorderedMap) {
  for (uint32_t seed : {1u, 2u, 3u}) random_against_unordered_map<Identity>(seed);
}

TEST(FlatMap, RandomOperationsMatchUnorderedMapWithCollidingHashes) {
  for (uint32_t seed : {4u, 5u, 6u}) random_against_unordered_map<Crowded>(seed);
}

TEST(FlatMap, EraseReleasesTheValueAtOnce) {
  FlatMap<uint64_t, std::vector<uint8_t>, Identity> m;
  m.try_emplace(1).first->assign(1000, 0xab);
  m.erase(1);
  EXPECT_TRUE(m.try_emplace(1).first->empty());
}

TEST(RingQueue, FifoAcrossGrowthAndWrap) {
  RingQueue<int> q;
  EXPECT_TRUE(q.empty());
  int next_in = 0, next_out = 0;
  // Push and pop at different rates so that the ring wraps and then grows while wrapped.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 3; ++i) q.push_back(next_in++);
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(q.front(), next_out++);
      q.pop_front();
    }
    ASSERT_EQ(q.size(), static_cast<size_t>(next_in - next_out));
    ASSERT_EQ(q[q.size() - 1], next_in - 1);
  }
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back(7);
  EXPECT_EQ(q.front(), 7);
}

}  // namespace
}  // namespace ntpkit
