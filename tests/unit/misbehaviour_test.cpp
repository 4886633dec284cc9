// Misbehaviour switches: the catalogue, "name" / "name=value" parsing with its error sentences,
// and the exact decimal parser for seconds.
#include "ntpkit/server/misbehaviour.hpp"

#include "ntpkit/conformance/suite.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ntpkit {
namespace {

// A value each fault that takes one accepts: its row's first example (or none).
std::string spec_for(const FaultInfo& info) {
  std::string spec(info.name);
  if (info.examples.empty()) return spec;
  return spec + "=" + std::string(info.examples.substr(0, info.examples.find(',')));
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// --- Catalogue -------------------------------------------------------------------------------

TEST(FaultCatalogue, ListsEveryFaultOnceInEnumOrder) {
  const auto catalogue = fault_catalogue();
  ASSERT_EQ(catalogue.size(), kFaultCount);
  std::set<std::string_view> names;
  for (size_t i = 0; i < catalogue.size(); ++i) {
    EXPECT_EQ(catalogue[i].fault, static_cast<Fault>(i)) << i;
    EXPECT_EQ(name(catalogue[i].fault), catalogue[i].name);
    EXPECT_FALSE(catalogue[i].name.empty()) << i;
    EXPECT_FALSE(catalogue[i].description.empty()) << i;
    EXPECT_EQ(catalogue[i].name.find('='), std::string_view::npos) << catalogue[i].name;
    names.insert(catalogue[i].name);
  }
  EXPECT_EQ(names.size(), kFaultCount);
}

TEST(FaultCatalogue, OnlyValuedFaultsHaveAHintAndExamples) {
  for (const FaultInfo& info : fault_catalogue()) {
    const bool valued = info.parse != nullptr;
    EXPECT_EQ(!info.value_hint.empty(), valued) << info.name;
    EXPECT_EQ(!info.examples.empty(), valued) << info.name;
    EXPECT_NE(info.apply, nullptr) << info.name;
  }
}

TEST(FaultCatalogue, EveryExampleIsAcceptedAndEveryCaseNamedExists) {
  for (const FaultInfo& info : fault_catalogue()) {
    for (size_t at = 0; at < info.examples.size();) {
      const size_t comma = std::min(info.examples.find(',', at), info.examples.size());
      Misbehaviour m;
      const std::string spec = std::string(info.name) + "=" + std::string(info.examples.substr(at, comma - at));
      EXPECT_TRUE(add_misbehaviour(m, spec).ok()) << spec;
      at = comma + 1;
    }
    std::set<std::string_view> ids;
    for (const auto* c : conformance::all_cases()) ids.insert(c->id);
    for (size_t at = 0; at < info.shown_by.size();) {
      const size_t comma = std::min(info.shown_by.find(',', at), info.shown_by.size());
      EXPECT_EQ(ids.count(info.shown_by.substr(at, comma - at)), 1U)
          << info.name << ": " << info.shown_by.substr(at, comma - at);
      at = comma + 1;
    }
  }
}

TEST(FaultCatalogue, RowsAreGroupedByTheStageTheyActAt) {
  const auto catalogue = fault_catalogue();
  for (size_t i = 1; i < catalogue.size(); ++i) EXPECT_LE(catalogue[i - 1].stage, catalogue[i].stage) << i;
  Misbehaviour m;
  ASSERT_TRUE(add_misbehaviour(m, "no-origin-copy").ok());
  ASSERT_TRUE(add_misbehaviour(m, "delay=5").ok());
  const auto set_at = [&](Stage s) {
    const auto& words = m.by_stage[static_cast<size_t>(s)];
    return (words[0] | words[1]) != 0;
  };
  EXPECT_TRUE(set_at(Stage::Header));
  EXPECT_TRUE(set_at(Stage::Send));
  EXPECT_FALSE(set_at(Stage::Admit));
  // The 65th fault and beyond live in the stage's second word.
  ASSERT_GT(kFaultCount, 64U);
  const FaultInfo& last = catalogue.back();
  Misbehaviour n;
  n.set(last.fault);
  EXPECT_TRUE(n.has(last.fault));
  EXPECT_EQ(n.by_stage[static_cast<size_t>(last.stage)][0], 0U);
  EXPECT_NE(n.by_stage[static_cast<size_t>(last.stage)][1], 0U);
}

TEST(AddMisbehaviour, EveryCatalogueNameSetsExactlyThatFault) {
  for (const FaultInfo& info : fault_catalogue()) {
    const std::string spec = spec_for(info);
    SCOPED_TRACE(spec);
    Misbehaviour m;
    auto r = add_misbehaviour(m, spec);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(*r, info.fault);
    EXPECT_TRUE(m.has(info.fault));
    EXPECT_EQ(m.faults.count(), 1U);
    EXPECT_TRUE(m.any());
  }
}

TEST(AddMisbehaviour, FaultsAccumulate) {
  Misbehaviour m;
  ASSERT_TRUE(add_misbehaviour(m, "origin-zero").ok());
  ASSERT_TRUE(add_misbehaviour(m, "leap-alarm").ok());
  EXPECT_TRUE(m.has(Fault::OriginZero));
  EXPECT_TRUE(m.has(Fault::LeapAlarm));
  EXPECT_EQ(m.faults.count(), 2U);
}

TEST(AddMisbehaviour, ValuesAreStored) {
  Misbehaviour m;
  ASSERT_TRUE(add_misbehaviour(m, "wrong-mode=5").ok());
  EXPECT_EQ(m.wrong_mode, 5);
  ASSERT_TRUE(add_misbehaviour(m, "drop-percent=100").ok());
  EXPECT_EQ(m.drop_percent, 100);
  ASSERT_TRUE(add_misbehaviour(m, "delay=60000").ok());
  EXPECT_EQ(m.delay_ms, 60'000U);
  ASSERT_TRUE(add_misbehaviour(m, "time-offset=-0.25").ok());
  EXPECT_EQ(m.time_offset, Duration::from_nanoseconds(-250'000'000));
}

TEST(AddMisbehaviour, ValueBoundariesAreAccepted) {
  Misbehaviour m;
  ASSERT_TRUE(add_misbehaviour(m, "wrong-mode=3").ok());
  EXPECT_EQ(m.wrong_mode, 3);
  ASSERT_TRUE(add_misbehaviour(m, "drop-percent=0").ok());
  EXPECT_EQ(m.drop_percent, 0);
  ASSERT_TRUE(add_misbehaviour(m, "delay=0").ok());
  EXPECT_EQ(m.delay_ms, 0U);
}

TEST(AddMisbehaviour, WrongModeWithoutValueMeansMode3) {
  Misbehaviour m;
  m.wrong_mode = 5;
  ASSERT_TRUE(add_misbehaviour(m, "wrong-mode").ok());
  EXPECT_EQ(m.wrong_mode, 3);
  EXPECT_TRUE(m.has(Fault::WrongMode));
}

// Each rejected spec leaves the misbehaviour untouched and explains itself in one sentence
// that names the spec.
void expect_rejected(std::string_view spec, std::string_view reason) {
  SCOPED_TRACE(std::string(spec));
  Misbehaviour m;
  auto r = add_misbehaviour(m, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error(), spec)) << r.error();
  EXPECT_TRUE(contains(r.error(), reason)) << r.error();
  EXPECT_FALSE(m.any());
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

TEST(AddMisbehaviour, UnknownNameIsAnError) {
  expect_rejected("no-such-thing", "no such misbehaviour");
  expect_rejected("", "no such misbehaviour");
  expect_rejected("=5", "no such misbehaviour");
  expect_rejected("Origin-Zero", "no such misbehaviour");
  expect_rejected("origin-zero ", "no such misbehaviour");
}

TEST(AddMisbehaviour, ValueOnAFaultWithoutOneIsAnError) {
  expect_rejected("origin-zero=1", "takes no value");
  expect_rejected("leap-alarm=", "takes no value");
}

TEST(AddMisbehaviour, MissingValueIsAnError) {
  expect_rejected("drop-percent", "drop-percent takes 0 to 100");
  expect_rejected("delay", "delay takes 0 to 60000 ms");
  expect_rejected("time-offset", "time-offset takes SECONDS");
}

TEST(AddMisbehaviour, OutOfRangeOrMalformedValuesAreErrors) {
  expect_rejected("drop-percent=101", "drop-percent takes 0 to 100");
  expect_rejected("drop-percent=-1", "drop-percent takes 0 to 100");
  expect_rejected("drop-percent=5%", "drop-percent takes 0 to 100");
  expect_rejected("wrong-mode=4", "wrong-mode takes 3 or 5");
  expect_rejected("wrong-mode=0", "wrong-mode takes 3 or 5");
  expect_rejected("wrong-mode=", "wrong-mode takes 3 or 5");
  expect_rejected("delay=-1", "delay takes 0 to 60000 ms");
  expect_rejected("delay=60001", "delay takes 0 to 60000 ms");
  expect_rejected("delay=1.5", "delay takes 0 to 60000 ms");
  expect_rejected("time-offset=abc", "'abc' is not a number of seconds");
  expect_rejected("time-offset=", "is not a number of seconds");
}

// --- parse_seconds ---------------------------------------------------------------------------

TEST(ParseSeconds, DecimalsAreExact) {
  EXPECT_EQ(*parse_seconds("1.5"), Duration::from_raw(int64_t{3} << 31));
  EXPECT_EQ(*parse_seconds("-0.25"), Duration::from_raw(-(int64_t{1} << 30)));
  EXPECT_EQ(*parse_seconds("3"), Duration::from_seconds(3));
  EXPECT_EQ(*parse_seconds(".5"), Duration::from_raw(int64_t{1} << 31));
  EXPECT_EQ(*parse_seconds("+2"), Duration::from_seconds(2));
  EXPECT_EQ(*parse_seconds("0"), Duration{});
  EXPECT_EQ(*parse_seconds("-0"), Duration{});
  EXPECT_EQ(parse_seconds("0.000000001")->to_nanoseconds(), 1);
  EXPECT_EQ(parse_seconds("-1.000000001")->to_nanoseconds(), -1'000'000'001);
  EXPECT_EQ(parse_seconds("12.345")->to_nanoseconds(), 12'345'000'000);
}

TEST(ParseSeconds, DigitsBeyondNanosecondsAreTruncated) {
  EXPECT_EQ(*parse_seconds("1.0000000001"), Duration::from_seconds(1));
  EXPECT_EQ(parse_seconds("1.9999999999")->to_nanoseconds(), 1'999'999'999);
  EXPECT_EQ(parse_seconds("-0.1234567895")->to_nanoseconds(), -123'456'789);
}

TEST(ParseSeconds, LargestAcceptedWholeSecondsIs2To30) {
  EXPECT_EQ(*parse_seconds("1073741824"), Duration::from_seconds(int64_t{1} << 30));
  EXPECT_EQ(*parse_seconds("-1073741824"), Duration::from_seconds(-(int64_t{1} << 30)));
  EXPECT_FALSE(parse_seconds("1073741825").ok());
  EXPECT_FALSE(parse_seconds("99999999999999999999999").ok());
}

TEST(ParseSeconds, NonNumbersAreErrorsThatQuoteTheInput) {
  for (std::string_view bad : {"abc", "", "-", "+", ".", "-.", "1.2.3", "1e3", " 1", "1 ", "1,5", "0x10", "1.5s"}) {
    SCOPED_TRACE(std::string(bad));
    auto r = parse_seconds(bad);
    ASSERT_FALSE(r.ok()) << "parsed as " << r->to_nanoseconds() << " ns";
    EXPECT_EQ(r.error(), "'" + std::string(bad) + "' is not a number of seconds");
  }
}

// std::from_chars into a signed type accepts a leading '-': a second sign must still be refused
// ("--5" once parsed as +5 s, "1.-5" as 0.95 s).
TEST(ParseSeconds, ASecondSignIsAnError) {
  for (std::string_view bad : {"--5", "+-5", "1.-5", "-1.-5"}) {
    SCOPED_TRACE(std::string(bad));
    auto r = parse_seconds(bad);
    EXPECT_FALSE(r.ok()) << "parsed as " << r->to_nanoseconds() << " ns";
  }
  Misbehaviour m;
  EXPECT_FALSE(add_misbehaviour(m, "time-offset=--5").ok()) << "time offset " << m.time_offset.to_nanoseconds();
}

}  // namespace
}  // namespace ntpkit
