#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for SECONDS (default 30)
# from its committed seeds; prints executions per second and coverage per
# target, and fails if any target found a crash, a hang or a leak.
#
#   fuzz/run.sh [SECONDS]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# What a run finds stays under fuzz/work/ (ignored by git): the inputs it
# added in corpus/TARGET/, crashing inputs in artifacts/TARGET/, and each
# target's log in logs/. docs/fuzzing.md says how to replay a crash.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: fuzz/run.sh [SECONDS]" >&2
    exit 2
    ;;
esac

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz is missing (cargo install cargo-fuzz --locked)" >&2
    exit 1
fi

# Incremental caches only cost disk here: every build is from scratch.
export CARGO_INCREMENTAL=0
# As `cargo fuzz run` sets it: Rust's statics trip ASan's ODR check.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

start=$SECONDS
echo "==> building the fuzz targets (release, debug assertions, AddressSanitizer)"
cargo +nightly fuzz build -O -a
built=$((SECONDS - start))
echo "built in ${built} s"

triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin_dir="target/$triple/release"
work="work"
mkdir -p "$work/logs"

# The last status line's value for `key:` (`cov:`, `ft:`, `exec/s:`...).
field() {
    grep -E '^#[0-9]+' "$1" | tail -n 1 |
        sed -n "s/.* $2 \([0-9]*\).*/\1/p"
}

failed=()
rows=()
for target in $(cargo +nightly fuzz list); do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target/"
    log="$work/logs/$target.log"
    # Each run starts from the seeds alone, so that runs compare.
    rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    echo "==> $target: ${seconds} s"
    status=ok
    if ! "$bin_dir/$target" "$corpus" "corpus/$target" \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1; then
        status=FAILED
        failed+=("$target")
        grep -E 'panicked at|ERROR: |SUMMARY: |Test unit written to' "$log" | head -n 20 >&2 || true
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    rows+=("$(printf '%-24s %10s %10s %8s %8s %8s  %s' "$target" "${runs:-?}" "${rate:-?}" \
        "$(field "$log" 'cov:')" "$(field "$log" 'ft:')" \
        "$(find "$corpus" -type f | wc -l)" "$status")")
done

echo
printf '%-24s %10s %10s %8s %8s %8s  %s\n' target runs exec/s edges features added result
printf '%s\n' "${rows[@]}"
echo "build ${built} s, whole run $((SECONDS - start)) s"

if ((${#failed[@]})); then
    echo "fuzz/run.sh: crashes in ${failed[*]}; inputs in fuzz/$work/artifacts/, logs in fuzz/$work/logs/" >&2
    exit 1
fi
