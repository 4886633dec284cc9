// A minimal streaming JSON writer for the probe's machine-readable output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ntpkit::probe {

class JsonWriter {
 public:
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  JsonWriter& key(std::string_view k) {
    comma();
    quote(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  void value(std::string_view s) {
    comma();
    quote(s);
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(bool b) {
    comma();
    out_ += b ? "true" : "false";
  }
  void value(int64_t v) {
    comma();
    out_ += std::to_string(v);
  }
  void value(uint64_t v) {
    comma();
    out_ += std::to_string(v);
  }
  void value(int v) { value(static_cast<int64_t>(v)); }
  void value(unsigned v) { value(static_cast<uint64_t>(v)); }
  // Seconds with nanosecond resolution, written from integers (no binary rounding in the text).
  void seconds(int64_t nanoseconds);
  // A measured quantity with `decimals` digits after the point; NaN and infinities as null.
  void fixed(double v, int decimals);
  void null() {
    comma();
    out_ += "null";
  }
  [[nodiscard]] const std::string& str() const { return out_; }

 private:
  void open(char c) {
    comma();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    out_ += c;
    first_.pop_back();
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void quote(std::string_view s);
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace ntpkit::probe
