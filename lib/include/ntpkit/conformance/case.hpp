// Conformance cases are declarations: a stable id, the citation, the RFC 2119 level, the
// requirement in one sentence, the stimulus, what is expected (a reply, silence, or either) and
// the check. The runner that sends and waits lives in the probe; everything here is pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/wire/packet.hpp"
#include "ntpkit/wire/time.hpp"

namespace ntpkit::conformance {

enum class Level : uint8_t { Must, Should, May };
[[nodiscard]] std::string_view to_string(Level l);  // "MUST", "SHOULD", "MAY"

enum class Outcome : uint8_t { Pass, Fail, Warn, Info, Skip, Inconclusive };
[[nodiscard]] std::string_view to_string(Outcome o);  // "pass", "fail", ...

enum class Expect : uint8_t { Reply, Silence, Either };

// One datagram we sent, and when (local clock, T1).
struct Sent {
  std::vector<uint8_t> bytes;
  Timestamp local_time;
};
// One datagram that came back, and when (kernel receive time, T4).
struct Received {
  std::vector<uint8_t> bytes;
  Timestamp local_time;
  bool from_target = true;  // source address and port are the target's
  std::string source;       // "127.0.0.1:123"
  size_t length = 0;        // on the wire, when `bytes` keeps only the first kMaxKeptBytes
  [[nodiscard]] size_t size() const { return length > bytes.size() ? length : bytes.size(); }
};

// A flood is counted, not kept: the first replies are the evidence.
inline constexpr size_t kMaxKeptReplies = 16;  // beyond the number of datagrams a case sent
inline constexpr size_t kMaxKeptBytes = 2048;  // of one reply: longer is amplification whatever it holds

// An NTS-KE exchange (RFC 8915 §4) a case asks for: over TLS, not UDP.
struct KeRequest {
  std::vector<uint8_t> bytes;  // the records to send
  int min_tls = 0x0304;        // TLS versions to offer (0x0303: 1.2, 0x0304: 1.3)
  int max_tls = 0x0304;
  std::vector<std::string> alpn = {"ntske/1"};  // empty: offer no ALPN
  size_t record_size = 0;                       // split the request into TLS records of this size (0: one)
  double wait_s = 0;                            // wait this long for the response at least (0: the timeout)
};
// What it gave.
struct KeObservation {
  bool connected = false;  // TCP to the NTS-KE server came about
  bool handshake = false;  // a TLS session came about
  std::string failure;     // why not (or why the request could not be written)
  std::string version;     // "TLSv1.3"
  std::string alpn;        // the protocol the server selected, empty if none
  std::vector<uint8_t> response;
  bool end_of_message = false;  // reading stopped at an End of Message record
  bool closed = false;          // the server closed the connection
  bool timed_out = false;       // nothing more within the wait
  bool truncated = false;       // more than the probe reads (64 KiB): the rest was not read
  double seconds = 0;           // from the request written to the end of reading
};

// A client under test (ntp-probe client-test): how its run ended and what its adapter read from it.
struct ClientRun {
  bool started = false;
  int exit_code = -1;  // -1: it did not exit by itself (ended at the time limit)
  bool timed_out = false;
  bool daemon = false;  // a long-running client (client-test --daemon): this is one scenario's part of its run
  bool killed_by_signal = false;   // it ended by a signal of its own (a crash), not at the time limit
  bool accepted = false;           // the adapter's reading: it took the time
  std::optional<double> offset_s;  // the offset it reported, when its adapter reads one
  double offset_resolution_s = 0;  // ... to this resolution (rdate prints whole seconds)
  std::string output;              // what it printed (stdout and stderr), the first few KiB
  std::string verdict_line;        // the line of it its adapter read the verdict from, when one did
  std::string adapter;             // which adapter read it
  std::string command;             // the command line as run ({host} and {port} replaced)
};

// Everything a case saw. Silence is an observation: `received` is empty. For a client under
// test the roles turn: `received` holds the client's requests, `sent` our replies.
struct Observation {
  std::optional<KeObservation> ke;  // an NTS-KE case's exchange
  std::optional<ClientRun> client;  // client-test: the client's run
  std::vector<Sent> sent;
  std::vector<Received> received;  // the first kMaxKeptReplies; the rest are only counted
  size_t received_total = 0;       // every datagram that came, kept or not
  bool alive_before = true;        // a valid request just before the stimulus was answered
  bool alive_after = true;         // ... and just after
  uint16_t target_port = 123;
};

// What NTS key establishment gave (RFC 8915 §4): the AEAD, the two keys, the cookies. The nts
// cases build NTS-protected requests with it and open the replies.
struct NtsMaterial {
  const nts::Aead* aead = nullptr;
  std::vector<uint8_t> c2s;
  std::vector<uint8_t> s2c;
  std::vector<std::vector<uint8_t>> cookies;
};

struct StimulusContext {
  std::mt19937_64& rng;
  Timestamp now;                     // the probe's clock
  const RequestKey* auth = nullptr;  // --keys and --key-id: what the auth cases sign with
  const NtsMaterial* nts = nullptr;  // --nts: what the nts cases protect their requests with
  [[nodiscard]] Timestamp random_timestamp() const { return Timestamp::from_raw(rng()); }
};

struct JudgeContext {
  Timestamp now;                                                 // the probe's clock when judging
  int64_t pivot_unix_seconds;                                    // for era resolution in messages
  Duration max_offset = Duration::from_seconds(1);               // --max-offset
  Duration max_reference_age = Duration::from_seconds(1 << 17);  // about 36 h, NTP's MAXPOLL
  const RequestKey* auth = nullptr;                              // --keys and --key-id, when given
  const NtsMaterial* nts = nullptr;                              // --nts, when given
  Duration expected_offset{};  // client-test: the offset the scenario's server clock is off by
};

// What the check found. The level of the case turns Violated into fail, warn or info.
enum class Finding : uint8_t {
  Satisfied,
  Violated,
  Documented,     // a choice the RFC leaves open; reported as info
  NotApplicable,  // skip
  Inconclusive,
};

struct Judgement {
  Finding finding = Finding::Satisfied;
  std::string summary;  // one sentence: what happened
  std::string expected;
  std::string actual;
};

// The next exchange of a case in several (RFC 9769's interleaved mode answers a request with what
// the server kept of the one before): built from everything seen so far, once the replies to the
// previous datagrams came. No datagrams: the case is complete.
struct FollowUp {
  std::vector<std::vector<uint8_t>> datagrams;
  bool new_port = false;  // sent from a new socket: another source port, the same address
};

struct Case {
  std::string_view id;       // stable: "rfc5905/8/origin-copy"
  std::string_view rfc;      // "RFC 5905"
  std::string_view section;  // "8"
  Level level;
  std::string_view requirement;  // in one sentence
  Expect expect;
  std::function<std::vector<std::vector<uint8_t>>(StimulusContext&)> stimulus;
  std::function<Judgement(const Observation&, const JudgeContext&)> check;
  // The case judges kiss-o'-death packets itself. In every other case a kiss-o'-death is not an
  // answer (RFC 5905 §7.4: "no protocol significance"): the case is inconclusive, never judged
  // on the packet's timestamps.
  bool judges_kiss = false;
  // The stimulus is a burst meant to provoke a rate limit: the runner starts such cases after
  // the others, so that the limit they provoke judges nothing else.
  bool floods = false;
  // The case signs its requests with the key of --key-id: without one it is skipped.
  bool needs_key = false;
  // The case protects its requests with NTS (--nts: key establishment first): without it, skipped.
  bool needs_nts = false;
  // An NTS-KE case: one exchange over TLS with the NTS-KE server (--nts), not datagrams.
  std::function<KeRequest(StimulusContext&)> ke_stimulus = nullptr;
  // Further exchanges, each built from what came back (at most kMaxFollowUps).
  std::function<FollowUp(StimulusContext&, const Observation&)> follow_up = nullptr;
  // Its exchanges rely on what the server keeps of this client address: it runs alone, after
  // every other case, so that no other request from the address comes between them.
  bool stateful = false;
};
inline constexpr size_t kMaxFollowUps = 8;

// Why a case could not see the server's ordinary behaviour.
enum class Limit : uint8_t {
  None,
  RateKiss,  // a RATE kiss-o'-death came instead of an answer
  Denied,    // another kiss-o'-death (DENY, RSTR, ...) came instead of an answer
  Silence,   // an expected answer was missing while the server answered others (set by the runner)
};

struct CaseResult {
  const Case* test = nullptr;
  Outcome outcome = Outcome::Inconclusive;
  Judgement judgement;
  Observation observation;
  bool amplified = false;  // some reply was longer than its request
  Limit limit = Limit::None;
};

// Judges an observation: the case's check, the silence brackets, and the rule that holds in
// every case: no reply is longer than its request. `strict` turns SHOULD violations into fail.
[[nodiscard]] CaseResult evaluate(const Case& c, Observation obs, const JudgeContext& ctx, bool strict);

// A case's outcome from what its check found, at the case's level (below).
[[nodiscard]] Outcome outcome_for(Finding f, Level level, bool strict);

// What a broken requirement of this level makes of a case: MUST fails, SHOULD warns (fails
// under --strict), MAY is information.
[[nodiscard]] constexpr Outcome outcome_of(Level level, bool strict) {
  return level == Level::Must     ? Outcome::Fail
         : level == Level::Should ? (strict ? Outcome::Fail : Outcome::Warn)
                                  : Outcome::Info;
}

}  // namespace ntpkit::conformance
