#!/usr/bin/env bash
# interop.suite.PEER — every `ntp-probe` suite against a real NTP daemon serving from its own
# clock (or against our ntp-server), compared case by case with the outcomes recorded in
# tests/interop/expected/PEER.SUITE.txt. The daemon is started once; the suites run one after
# the other (rfc5905, rfc4330, rfc7822, security, ratelimit: the bursts last), each with its
# own JSON report and expected file. Any difference fails the test and is shown with the
# case's summary, expected/actual and the reply's hex.
#
#   suite-vs-peer.sh --peer chronyd|ntpsec|openntpd|ntp-server --probe FILE [--server FILE]
#                    --clockcheck FILE --peers DIR --work DIR [--suites LIST]
#
# --suites rfc5905,security: only those suites (comma-separated; they still run in the order
# above). chronyd and ntp-server serve on 127.0.0.1 and a free high port; ntpsec and openntpd
# cannot leave port 123, so they run in a network namespace made for the test and the probe
# runs in it with them. How each daemon is configured: tests/interop/lib.sh (start_*).
#
# UPDATE_EXPECTED=1 in the environment: run the sequence of suites three times against the same
# daemon and, for every suite in which each case has the same outcome in all three runs,
# rewrite its expected file; a suite with a flip is shown and not written, and the test fails:
#   UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\.suite\.chronyd$' --output-on-failure
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

peer=''
for (( i = 1; i < $#; i++ )); do
    if [[ ${!i} == --peer ]]; then j=$(( i + 1 )); peer=${!j}; fi
done
case $peer in
    chronyd | ntpsec | openntpd | ntp-server) ;;
    *) echo "suite-vs-peer.sh: --peer chronyd|ntpsec|openntpd|ntp-server is required" >&2; exit 2 ;;
esac
interop_init "interop.suite.$peer" "$@"

SUITE_TIMEOUT=1     # ntp-probe -t: seconds to wait for each reply (stable for all four; see README)
EXPECTED_DIR=$INTEROP_REPO/tests/interop/expected
COMPARE=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")
[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 not found (needed to compare the JSON reports)"

# The suites, in the order they run: the ones that send bursts (security/kod-origin, then
# ratelimit/burst) come last, so that a daemon's rate limiter cannot leave the others
# inconclusive.
ALL_SUITES=(rfc5905 rfc4330 rfc7822 interleaved security ratelimit)
SUITES=()
if [[ -n $ARG_SUITES ]]; then
    IFS=, read -r -a wanted <<< "$ARG_SUITES"
    for w in "${wanted[@]}"; do
        [[ " ${ALL_SUITES[*]} " == *" $w "* ]] ||
            { echo "$TEST_NAME: --suites: unknown suite '$w' (one of: ${ALL_SUITES[*]})" >&2; exit 2; }
    done
    for s in "${ALL_SUITES[@]}"; do
        [[ ",$ARG_SUITES," == *",$s,"* ]] && SUITES+=("$s")
    done
else
    SUITES=("${ALL_SUITES[@]}")
fi

# Start the server. Each branch sets: NS (netns, or empty), TARGET, PID, LOG, LABEL, VERSION
# and READY, a Python expression over the probe's reply `r` that holds once the server
# answers the way the expected file was recorded against.
NS=''
case $peer in
    ntp-server)
        need probe server clockcheck work
        PEER_ENV=(env PATH=/usr/sbin:/usr/bin:/sbin:/bin)   # no peers to fetch for our own
        start_ntp_server_on_free_port
        TARGET=127.0.0.1:$port PID=$SERVER_PID LOG=$SERVER_LOG LABEL=ntp-server
        VERSION="ntp-server (this tree)"
        READY='r.get("stratum") == 1 and r.get("leap") == 0'
        ;;
    chronyd)
        need probe clockcheck peers work
        fetch_peers
        "$CHRONYD" --version
        start_chronyd
        TARGET=$CHRONYD_TARGET PID=$CHRONYD_PID LOG=$CHRONYD_LOG LABEL=chronyd
        VERSION="chrony $(peer_version chrony) (Debian 12)"
        READY='r.get("stratum") == 8 and r.get("leap") == 0'
        ;;
    ntpsec)
        need probe clockcheck peers work
        fetch_peers
        "${PEER_ENV[@]}" "$NTPD" --version
        netns_create suite-ntpsec
        NS=$NETNS
        start_ntpsec "$NS"
        TARGET=$NTPSEC_TARGET PID=$NTPSEC_PID LOG=$NTPSEC_LOG LABEL="ntpsec ntpd"
        VERSION="ntpsec $(peer_version ntpsec) (Debian 12)"
        # Stratum 8 once it selects its LOCAL refclock (LI stays 3, see start_ntpsec); the
        # root dispersion starts near 4 s and falls as the clock filter fills: wait until it is
        # far below MAXDIST so that rfc5905/7.3/root-distance does not depend on timing.
        READY='r.get("stratum") == 8 and (r.get("root_distance_s") or 99) < 0.1'
        ;;
    openntpd)
        need probe clockcheck peers work
        fetch_peers
        netns_create suite-openntpd
        NS=$NETNS
        start_openntpd "$NS"
        TARGET=$OPENNTPD_TARGET PID=$OPENNTPD_PID LOG=$OPENNTPD_LOG LABEL=openntpd
        VERSION="openntpd $(peer_version openntpd) (Debian 12)"
        # With nothing to synchronise to it never syncs and answers as unsynchronised
        # (stratum 0, LI 3): any reply means it serves.
        READY='True'
        ;;
esac
say "server under test: $LABEL, $VERSION, at $TARGET${NS:+ in netns $NS}"

await_serving 40

# run_suite SUITE N — one suite once; JSON in $WORK/SUITE.N.json, the text report in
# $WORK/SUITE.N.txt.
run_suite() {
    local suite=$1 n=$2 rc=0 t0
    rm -f "$WORK/$suite.$n.json"
    peer_cmd "$NS" "$ARG_PROBE" "$TARGET" --suite "$suite" -t "$SUITE_TIMEOUT" \
        --format text --color never --json "$WORK/$suite.$n.json"
    show_cmd "${CMD_LINE[@]}"
    t0=$(date +%s%N)
    timeout -k 2 60 "${CMD_LINE[@]}" > "$WORK/$suite.$n.txt" 2>&1 < /dev/null || rc=$?
    # 0: no failure, 1: some case failed (expected for some peers); the file decides.
    if [[ $rc != 0 && $rc != 1 ]]; then
        show_log "ntp-probe --suite $suite, run $n, exit $rc" "$WORK/$suite.$n.txt"
        fail "ntp-probe --suite $suite exited with status $rc (2: usage, 3: unreachable or all inconclusive, 124: hung)"
    fi
    [[ -s $WORK/$suite.$n.json ]] || fail "ntp-probe wrote no JSON report ($WORK/$suite.$n.json)"
    echo "$suite run $n: $(tail -n 1 "$WORK/$suite.$n.txt") (exit $rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}

# run_all N — every suite once, in order. The daemon must live through each (a crash is a
# finding, not an outcome).
run_all() {
    local n=$1 suite
    for suite in "${SUITES[@]}"; do
        run_suite "$suite" "$n"
        [[ ${UPDATE_EXPECTED:-} == 1 ]] || show_log "ntp-probe --suite $suite report" "$WORK/$suite.$n.txt"
        if ! kill -0 "$PID" 2> /dev/null; then
            stop_daemon "$PID" "$LABEL" "$LOG"
            fail "$LABEL exited during the $suite suite"
        fi
    done
}

if [[ ${UPDATE_EXPECTED:-} == 1 ]]; then
    for n in 1 2 3; do run_all "$n"; done
else
    run_all 1
fi

if [[ $peer == ntp-server ]]; then
    stop_ntp_server
else
    stop_daemon "$PID" "$LABEL" "$LOG"
fi

bad=()
if [[ ${UPDATE_EXPECTED:-} == 1 ]]; then
    for suite in "${SUITES[@]}"; do
        "${COMPARE[@]}" write "$EXPECTED_DIR/$peer.$suite.txt" "$WORK/$suite".{1,2,3}.json \
            --header "ntp-probe --suite $suite -t $SUITE_TIMEOUT against $LABEL: one line per case, 'CASE-ID OUTCOME'." \
            --header "version: $VERSION" \
            --header "Regenerate: UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\\.suite\\.$peer\$' (see README.md)" ||
            bad+=("$suite")
    done
    [[ ${#bad[@]} == 0 ]] || fail "the three runs disagree in: ${bad[*]}; those expected files were not written"
    say "expected outcomes recorded in $EXPECTED_DIR/$peer.{$(IFS=,; echo "${SUITES[*]}")}.txt"
    exit 0
fi

for suite in "${SUITES[@]}"; do
    expected=$EXPECTED_DIR/$peer.$suite.txt
    if [[ ! -f $expected ]]; then
        echo "$TEST_NAME [$suite]: no expected file $expected; record one with UPDATE_EXPECTED=1 (see tests/interop/expected/README.md)"
        bad+=("$suite")
        continue
    fi
    "${COMPARE[@]}" check "$expected" "$WORK/$suite.1.json" --label "$TEST_NAME [$suite]" --version "$VERSION" ||
        bad+=("$suite")
done
[[ ${#bad[@]} == 0 ]] ||
    fail "the outcomes against $LABEL differ from tests/interop/expected/$peer.{$(IFS=,; echo "${bad[*]}")}.txt (above); if the change is intended, regenerate: UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\\.suite\\.$peer\$'"
