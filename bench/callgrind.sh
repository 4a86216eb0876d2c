#!/usr/bin/env bash
# Instructions per request, counted by callgrind: repeatable whatever else
# the machine does, so two builds can be compared to the percent.
#
#   bench/callgrind.sh [BIN_DIR] [MODE...]
#
# BIN_DIR holds paf-hello, hyper-hello and client-load (default
# target/release; `cargo build -p bench --release --bins`). Modes:
#   h1     paf-hello, curl sending requests one after another on one connection
#   pipe   paf-hello, h2load --h1 with 16 requests in flight on one connection
#   h2     paf-hello, h2load with one stream at a time (h2c)
#   h2m    paf-hello, h2load with 32 streams at a time (h2c)
#   client-h1, client-h2
#          paf::Client (client-load, one task) against hyper-hello
# Each mode runs twice, with 200 and 2,200 requests; the difference over
# 2,000 requests leaves out start-up and connection set-up.
# Needs valgrind, curl and h2load (nghttp2-client).
set -euo pipefail

dir="${1:-target/release}"
shift || true
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(h1 pipe h2 h2m client-h1 client-h2)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Starts BIN under callgrind (or plainly), waits until it listens on PORT.
start() {
    local port=$1 log=$2
    shift 2
    # Emptied first: the last run's "listening" must not count for this one.
    : >"$log"
    "$@" --addr "127.0.0.1:$port" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 150); do
        grep -q listening "$log" && return 0
        sleep 0.2
    done
    echo "callgrind.sh: $* did not start; its log:" >&2
    cat "$log" >&2
    exit 1
}

total() {
    callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

# Instructions for N requests of MODE.
count() {
    local mode=$1 n=$2 port=$((20000 + RANDOM % 20000))
    local out="$work/$mode-$n.out" url="http://127.0.0.1:$port/"
    local grind=(valgrind --tool=callgrind --callgrind-out-file="$out")
    case $mode in
    client-*)
        start "$port" "$work/server.log" "$dir/hyper-hello"
        "${grind[@]}" "$dir/client-load" --client paf --proto "${mode#client-}" \
            --url "$url" --concurrency 1 --requests "$n" >/dev/null 2>&1
        ;;
    *)
        start "$port" "$work/server.log" "${grind[@]}" "$dir/paf-hello"
        case $mode in
        h1) curl -s "$url?[1-$n]" -o /dev/null ;;
        pipe) h2load -n "$n" -c 1 -m 16 --h1 "$url" >/dev/null ;;
        h2) h2load -n "$n" -c 1 -m 1 "$url" >/dev/null ;;
        h2m) h2load -n "$n" -c 1 -m 32 "$url" >/dev/null ;;
        *) echo "callgrind.sh: unknown mode $mode" >&2; exit 2 ;;
        esac
        ;;
    esac
    # paf-hello ends on Ctrl-C, and callgrind writes its counts then.
    kill -INT "$pid"
    [[ $mode == client-* ]] && kill "$pid"
    wait "$pid" 2>/dev/null || true
    total "$out"
}

printf '| mode | instructions per request |\n|---|---:|\n'
for mode in "${modes[@]}"; do
    small=$(count "$mode" 200)
    large=$(count "$mode" 2200)
    printf '| %s | %d |\n' "$mode" $(((large - small) / 2000))
done
