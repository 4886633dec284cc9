// Bounds-checked big-endian access to wire bytes. Nothing is ever overlaid on a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ntpkit {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  [[nodiscard]] size_t offset() const { return pos_; }
  [[nodiscard]] size_t remaining() const { return data_.size() - pos_; }
  [[nodiscard]] std::optional<uint8_t> u8() { return read<uint8_t>(); }
  [[nodiscard]] std::optional<uint16_t> u16() { return read<uint16_t>(); }
  [[nodiscard]] std::optional<uint32_t> u32() { return read<uint32_t>(); }
  [[nodiscard]] std::optional<uint64_t> u64() { return read<uint64_t>(); }
  [[nodiscard]] std::optional<std::span<const uint8_t>> bytes(size_t n) {
    if (n > remaining()) return std::nullopt;
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  template <class T>
  std::optional<T> read() {
    if (sizeof(T) > remaining()) return std::nullopt;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    return v;
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Writes into a caller-owned buffer; once a write does not fit, every later write is refused
// and ok() stays false, so a caller checks once at the end.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] size_t size() const { return pos_; }
  void u8(uint8_t v) { write(v); }
  void u16(uint16_t v) { write(v); }
  void u32(uint32_t v) { write(v); }
  void u64(uint64_t v) { write(v); }
  void bytes(std::span<const uint8_t> b) {
    if (!reserve(b.size())) return;
    for (size_t i = 0; i < b.size(); ++i) out_[pos_ + i] = b[i];
    pos_ += b.size();
  }
  void zeros(size_t n) {
    if (!reserve(n)) return;
    for (size_t i = 0; i < n; ++i) out_[pos_ + i] = 0;
    pos_ += n;
  }

 private:
  bool reserve(size_t n) {
    if (!ok_ || n > out_.size() - pos_) ok_ = false;
    return ok_;
  }
  template <class T>
  void write(T v) {
    if (!reserve(sizeof(T))) return;
    for (size_t i = 0; i < sizeof(T); ++i) out_[pos_ + i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
    pos_ += sizeof(T);
  }
  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ntpkit
