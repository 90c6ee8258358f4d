#!/usr/bin/env bash
# `make fuzz`: runs the readers of outside input (CSV batches, job files, the webhooks file, model
# files) under libFuzzer and AddressSanitizer, FUZZ_SECONDS each (default 60), starting from the
# committed corpus (Fuzz/corpus/TARGET). Inputs that reach new code are merged back into the corpus
# (minimised; commit them); a crash is saved as Fuzz/crashes/TARGET-crash-… and the run fails.
# Reproduce one with the normal build: .build/debug/updater-fuzz TARGET FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-csv jobfile webhooks artifact}"
scratch=.build-fuzz

# The C shims too (the CSV reader's number loop reads 16 bytes at a time): address-checked and
# with coverage for the fuzzer.
swift build -c release --scratch-path "$scratch" --product updater-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
    -Xcc -fsanitize=address,fuzzer-no-link
fuzzer="$scratch/release/updater-fuzz"
mkdir -p Fuzz/crashes
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp"
# Swift's own crash backtracer trips AddressSanitizer; libFuzzer prints the stack.
export SWIFT_BACKTRACE=enable=no
status=0
for target in $targets; do
    work="$scratch/corpus/$target"
    rm -rf "$work" && mkdir -p "$work"
    echo "== $target: $seconds s"
    if ! UPDATER_FUZZ_TARGET="$target" "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="Fuzz/crashes/$target-" -print_final_stats=1 "$work" "Fuzz/corpus/$target" 2>"$scratch/$target.log"; then
        echo "$target: the fuzzer stopped on a crash or a hang; see $scratch/$target.log and Fuzz/crashes/"
        tail -30 "$scratch/$target.log"
        status=1
    fi
    grep -E "stat::number_of_executed_units|cov:" "$scratch/$target.log" | tail -2 || true
    # Keep only inputs that add coverage to what the committed corpus already reaches.
    UPDATER_FUZZ_TARGET="$target" "$fuzzer" -merge=1 "Fuzz/corpus/$target" "$work" 2>/dev/null || true
done
exit $status
