// Time is injected: the server logic asks a Clock, tests give it a fixed one.
#pragma once

#include "ntpkit/wire/time.hpp"

namespace ntpkit {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual Timestamp now() const = 0;
};

// CLOCK_REALTIME read through clock_gettime (a vDSO call, no I/O).
class SystemClock final : public Clock {
 public:
  [[nodiscard]] Timestamp now() const override;
};

// Returns the same instant until told otherwise; each read may advance by a fixed step.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(Timestamp t, Duration step = {}) : t_(t), step_(step) {}
  [[nodiscard]] Timestamp now() const override {
    const Timestamp out = t_;
    t_ = t_ + step_;
    return out;
  }
  void set(Timestamp t) { t_ = t; }

 private:
  mutable Timestamp t_;
  Duration step_;
};

}  // namespace ntpkit
