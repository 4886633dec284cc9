#include "ntpkit/capture/reassembly.hpp"

#include <algorithm>
#include <iterator>

namespace ntpkit::net {

void Reassembler::remove(DatagramMap::iterator it) {
  held_bytes_ -= it->second.charged;
  by_age_.erase(it->second.age);
  datagrams_.erase(it);
}

void Reassembler::drop(DatagramMap::iterator it) {
  remove(it);
  ++evicted_;
}

void Reassembler::evict_expired(int64_t now) {
  // RFC 791 §3.2 (reassembly timer) and RFC 8200 §4.5 (60 s): give up on a datagram whose first
  // fragment is older than the timeout. Time that runs backwards ages nothing; the unsigned
  // difference cannot overflow because now > first.
  const auto timeout = static_cast<uint64_t>(std::max<int64_t>(limits_.fragment_timeout_ns, 0));
  while (!by_age_.empty()) {
    const int64_t first = by_age_.begin()->first;
    if (now <= first || static_cast<uint64_t>(now) - static_cast<uint64_t>(first) <= timeout) break;
    drop(datagrams_.find(by_age_.begin()->second));
  }
}

bool Reassembler::evict_oldest_except(const FragmentKey* keep) {
  for (auto a = by_age_.begin(); a != by_age_.end(); ++a) {
    if (keep != nullptr && a->second == *keep) continue;
    drop(datagrams_.find(a->second));
    return true;
  }
  return false;
}

bool Reassembler::make_room(size_t need, const FragmentKey* keep) {
  while (need > limits_.max_reassembly_bytes - std::min(held_bytes_, limits_.max_reassembly_bytes)) {
    if (!evict_oldest_except(keep)) return false;
  }
  return true;
}

std::optional<Reassembler::Completed> Reassembler::add(const FragmentKey& key, size_t offset, bool more,
                                                       std::span<const uint8_t> data, uint8_t next_header,
                                                       int64_t now) {
  const size_t end = offset + data.size();
  auto it = datagrams_.find(key);
  // RFC 791 §3.2 / RFC 8200 §4.5: a fragment reaching past 65,535 octets cannot belong to a real
  // datagram (the "ping of death"); the datagram it claims is given up.
  if (end > kMaxReassembledBytes) {
    if (it != datagrams_.end()) drop(it);
    return std::nullopt;
  }
  if (it == datagrams_.end()) {
    // A fragment without data opens nothing: no sender fragments that way, and it would only
    // hold bookkeeping.
    if (data.empty()) return std::nullopt;
    if (!make_room(kFragmentBookkeepingBytes, nullptr)) {
      ++evicted_;
      return std::nullopt;
    }
    it = datagrams_.emplace(key, Datagram{}).first;
    it->second.age = by_age_.emplace(now, key);
    it->second.charged = kFragmentBookkeepingBytes;
    held_bytes_ += kFragmentBookkeepingBytes;
  }
  Datagram& d = it->second;

  // The last fragment fixes the length; any fragment that disagrees with it spoils the datagram.
  if (!more) {
    if ((d.has_last && d.total != end) || end < d.data.size()) {
      drop(it);
      return std::nullopt;
    }
    d.has_last = true;
    d.total = end;
  } else if (d.has_last && end > d.total) {
    drop(it);
    return std::nullopt;
  }

  // How much of [offset, end) is already held: all of it is a duplicate, some of it an overlap.
  size_t covered = 0;
  for (const auto& [b, e] : d.ranges) {
    if (e > offset && b < end) covered += std::min(e, end) - std::max(b, offset);
  }
  if (covered != 0 && covered != data.size() && key.source.v6) {
    // RFC 5722 §4: overlapping IPv6 fragments discard the whole datagram.
    drop(it);
    return std::nullopt;
  }
  if (covered < data.size()) {
    if (end > d.data.size() && !grow(it, end)) return std::nullopt;
    // IPv4 overlaps only fill holes: the first copy wins, so a later fragment cannot rewrite a
    // header already seen (RFC 1858 §4).
    size_t cursor = offset;
    for (const auto& [b, e] : d.ranges) {
      if (e <= cursor || b >= end) continue;
      if (b > cursor) std::copy(data.begin() + (cursor - offset), data.begin() + (b - offset), d.data.begin() + cursor);
      cursor = std::max(cursor, e);
    }
    if (cursor < end) std::copy(data.begin() + (cursor - offset), data.end(), d.data.begin() + cursor);
    // Insert, then merge with the neighbours it touches or overlaps.
    auto at = d.ranges.insert(std::lower_bound(d.ranges.begin(), d.ranges.end(), std::pair{offset, end}),
                              std::pair{offset, end});
    if (at != d.ranges.begin() && std::prev(at)->second >= at->first) {
      std::prev(at)->second = std::max(std::prev(at)->second, at->second);
      at = std::prev(d.ranges.erase(at));
    }
    while (std::next(at) != d.ranges.end() && std::next(at)->first <= at->second) {
      at->second = std::max(at->second, std::next(at)->second);
      d.ranges.erase(std::next(at));
    }
    if (d.ranges.size() > kMaxFragmentPieces) {
      drop(it);
      return std::nullopt;
    }
  }
  if (offset == 0 && !data.empty() && !d.has_first) {
    d.has_first = true;
    d.next_header = next_header;
  }

  const bool complete =
      d.has_last && d.has_first && d.ranges.size() == 1 && d.ranges[0].first == 0 && d.ranges[0].second == d.total;
  if (!complete) return std::nullopt;
  const uint8_t first_next_header = d.next_header;
  outputs_.push_back(std::move(d.data));
  remove(it);
  return Completed{outputs_.back(), first_next_header};
}

bool Reassembler::grow(DatagramMap::iterator it, size_t end) {
  // The buffer is charged by its capacity. It doubles when that fits without evicting anyone, so
  // in-order fragments do not copy it over and over; otherwise it takes exactly what it needs.
  Datagram& d = it->second;
  const size_t capacity = d.data.capacity();
  if (end > capacity) {
    const size_t room = limits_.max_reassembly_bytes - std::min(held_bytes_, limits_.max_reassembly_bytes);
    size_t wanted = std::max(end, std::min(2 * capacity, kMaxReassembledBytes));
    if (wanted - capacity > room) wanted = end;
    if (!make_room(wanted - capacity, &it->first)) {
      drop(it);
      return false;
    }
    d.data.reserve(wanted);
    held_bytes_ += d.data.capacity() - capacity;
    d.charged += d.data.capacity() - capacity;
  }
  d.data.resize(end);
  return true;
}

}  // namespace ntpkit::net
