// FlatMap: an open-addressing hash map for tables touched on every packet (the capture replay's
// exchanges and flows). std::unordered_map allocates a node per entry and chases two pointers per
// lookup; here the entries sit in one array, so a lookup is usually one cache line, and an insert
// or an erase allocates nothing.
//
// Linear probing with backward-shift deletion (no tombstones, so a table with steady churn does
// not degrade); a power-of-two capacity at most half full (fuller, the runs that a lookup, an
// insert and an erase's backward shift walk grow long); a 4-byte control word per slot holding
// the low 31 bits of the hash: most mismatches are rejected without comparing keys, and an erase's
// backward shift and a grow find each entry's home slot there, without loading or hashing its key
// (the replay's eviction spent much of its time rehashing 48-byte keys of the entries it shifted;
// a control byte with 7 bits of the hash could not tell it the home slot). The caller may pass a
// hash it has already computed (find(key, hash)): it must equal Hash{}(key).
//
// Pointers to values stay valid until the next insert or erase (either may move entries).
// RingQueue, below: the FIFO beside such a table (its entries in order of age).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace ntpkit {

template <class Key, class Value, class Hash>
class FlatMap {
 public:
  FlatMap() = default;
  FlatMap(const FlatMap&) = delete;
  FlatMap& operator=(const FlatMap&) = delete;
  FlatMap(FlatMap&&) noexcept = default;
  FlatMap& operator=(FlatMap&&) noexcept = default;

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  [[nodiscard]] Value* find(const Key& key) { return find(key, Hash{}(key)); }
  [[nodiscard]] Value* find(const Key& key, uint64_t hash) {
    if (size_ == 0) return nullptr;
    const uint32_t tag = tag_of(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      if (control_[i] == 0) return nullptr;
      if (control_[i] == tag && slots_[i].key == key) return &slots_[i].value;
    }
  }

  // Starts loading the slot where a lookup with this hash begins, and the next one (where it
  // goes on, or what an erase there moves back), for a lookup a little later whose key is known
  // early (the eviction queue's next entry): it then seldom waits for memory.
  void prefetch(uint64_t hash) const {
    if (!slots_) return;  // (a test of size_ here made gcc 12 drop the prefetches)
    __builtin_prefetch(control_.get() + (hash & mask_));
    __builtin_prefetch(slots_.get() + (hash & mask_));
    __builtin_prefetch(slots_.get() + ((hash + 1) & mask_));
  }

  // The value for `key`, value-initialized if it was absent; .second says whether it was.
  std::pair<Value*, bool> try_emplace(const Key& key) { return try_emplace(key, Hash{}(key)); }
  std::pair<Value*, bool> try_emplace(const Key& key, uint64_t hash) {
    if ((size_ + 1) * 2 > capacity()) grow();
    const uint32_t tag = tag_of(hash);
    size_t i = hash & mask_;
    for (; control_[i] != 0; i = (i + 1) & mask_) {
      if (control_[i] == tag && slots_[i].key == key) return {&slots_[i].value, false};
    }
    control_[i] = tag;
    slots_[i].key = key;
    slots_[i].value = Value{};
    ++size_;
    return {&slots_[i].value, true};
  }

  bool erase(const Key& key) { return erase(key, Hash{}(key)); }
  bool erase(const Key& key, uint64_t hash) {
    Value* v = find(key, hash);
    if (v == nullptr) return false;
    erase_at(v);
    return true;
  }
  // `value` is a pointer this map handed out since its last insert or erase.
  void erase_at(Value* value) {
    size_t hole = index_of(value);
    slots_[hole].value = Value{};  // release what it holds now, not when the slot is reused
    // Backward shift: pull each later entry of the probe run into the hole unless its home slot
    // lies cyclically after the hole (then it would no longer be found from there).
    for (size_t j = (hole + 1) & mask_; control_[j] != 0; j = (j + 1) & mask_) {
      const size_t home = control_[j] & mask_;
      if (((j - home) & mask_) < ((j - hole) & mask_)) continue;
      control_[hole] = control_[j];
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
    control_[hole] = 0;
    slots_[hole].value = Value{};
    --size_;
  }

  void clear() {
    for (size_t i = 0; i < capacity(); ++i) {
      if (control_[i] != 0) slots_[i].value = Value{};
      control_[i] = 0;
    }
    size_ = 0;
  }

  // Visits every entry as (const Key&, Value&), in no particular order.
  template <class F>
  void for_each(F&& f) {
    for (size_t i = 0; i < capacity(); ++i) {
      if (control_[i] != 0) f(static_cast<const Key&>(slots_[i].key), slots_[i].value);
    }
  }

 private:
  struct Plain {
    Key key;
    Value value;
  };
  // A slot whose size is a power of two up to a cache line is aligned to its size, so that it
  // never straddles two lines (a lookup that misses the cache then waits for one line, not two).
  static constexpr size_t kSlotAlign =
      std::has_single_bit(sizeof(Plain)) && sizeof(Plain) <= 64 ? sizeof(Plain) : alignof(Plain);
  struct alignas(kSlotAlign) Slot {
    Key key{};
    Value value{};
  };

  [[nodiscard]] size_t capacity() const { return slots_ ? mask_ + 1 : 0; }
  // The low 31 bits of the hash, with the high bit set so that 0 means empty. The bits under the
  // mask are the home slot (capacities stay far below 2^31); those above it tell apart most keys
  // that share a run.
  static uint32_t tag_of(uint64_t hash) { return static_cast<uint32_t>(hash) | 0x8000'0000u; }
  size_t index_of(const Value* value) const {
    const auto* first = reinterpret_cast<const char*>(&slots_[0].value);
    return static_cast<size_t>(reinterpret_cast<const char*>(value) - first) / sizeof(Slot);
  }

  void grow() {
    const size_t old_capacity = capacity();
    const size_t new_capacity = old_capacity == 0 ? 16 : old_capacity * 2;
    auto old_slots = std::move(slots_);
    auto old_control = std::move(control_);
    slots_ = std::make_unique<Slot[]>(new_capacity);
    control_ = std::make_unique<uint32_t[]>(new_capacity);  // zeroed: all empty
    mask_ = new_capacity - 1;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old_control[i] == 0) continue;
      size_t j = old_control[i] & mask_;
      while (control_[j] != 0) j = (j + 1) & mask_;
      control_[j] = old_control[i];
      slots_[j] = std::move(old_slots[i]);
    }
  }

  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint32_t[]> control_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// A FIFO in one power-of-two ring that doubles when full: no allocation per element once it has
// grown to the largest backlog (std::deque allocates a block every 512 bytes of elements).
template <class T>
class RingQueue {
 public:
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] const T& front() const { return items_[head_]; }
  [[nodiscard]] const T& operator[](size_t i) const { return items_[(head_ + i) & mask_]; }  // i-th from the front

  void push_back(const T& item) {
    if (size_ == capacity()) grow();
    items_[(head_ + size_) & mask_] = item;
    ++size_;
  }
  void pop_front() {
    head_ = (head_ + 1) & mask_;
    --size_;
  }
  void clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  [[nodiscard]] size_t capacity() const { return items_ ? mask_ + 1 : 0; }
  void grow() {
    const size_t new_capacity = capacity() == 0 ? 16 : capacity() * 2;
    auto items = std::make_unique<T[]>(new_capacity);
    for (size_t i = 0; i < size_; ++i) items[i] = std::move(items_[(head_ + i) & mask_]);
    items_ = std::move(items);
    head_ = 0;
    mask_ = new_capacity - 1;
  }

  std::unique_ptr<T[]> items_;
  size_t head_ = 0;
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace ntpkit
