#!/usr/bin/env python3
"""Accuracy of updater's bounded reference sample (docs/drift.md, "Accuracy of the reference sample").

updater does not keep a model's training data. For KS and Wasserstein it stores, per numeric
column, a sorted uniform sample of at most `drift.sample_size` (default 10,000) non-missing
reference values, drawn as `ColumnProfile` draws it: k distinct positions of the sorted column
chosen by Floyd's algorithm with SplitMix64 (`sampleIndexes` in Sources/Drift/ColumnProfile.swift,
reimplemented bit for bit below). The normed Wasserstein distance divides by the standard deviation
of the *full* reference column, which the profile also stores, so only W1 itself sees the sample.

This script measures what that costs. For a reference of N = 1,000,000 values (standard normal, and
a skewed lognormal(0, 1)) and current data of N values (the same distribution, and the same shifted
by 0.05 and 0.2 reference standard deviations; also by 0.02, where the sample's KS test loses power,
and by 0.1, the default Wasserstein threshold), it computes with SciPy

  * the KS statistic and p-value (`scipy.stats.ks_2samp`, method "auto", as updater does), and
  * the normed Wasserstein distance W1 / max(std_ref, 0.001) (`scipy.stats.wasserstein_distance`),

once against the full reference and once against the m = 10,000-value sample, over 20 seeds (each
seed draws new data and a new sample), and prints the mean and largest absolute difference, how
often the verdict at updater's default thresholds (p <= 0.05 for KS, >= 0.1 for Wasserstein)
differs, and the sample's own ECDF error sup|F_m - F_N| against the DKW bound
eps = sqrt(ln(2/alpha) / (2m)), and W1(sample, full reference) / std, which bounds the Wasserstein
error (triangle inequality).

Deterministic: the same numbers on every run (numpy's PCG64 seeded with [seed, distribution],
SplitMix64 seeded with the seed). About two minutes on 2 cores.

Usage: python3 Benchmarks/reference_sample_accuracy.py [--seeds 20] [--n 1000000] [--m 10000]
Needs: numpy, scipy.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

MASK = (1 << 64) - 1


def sample_indexes(n: int, k: int, seed: int) -> np.ndarray:
    """updater's `sampleIndexes(n, k, seed:)`: k distinct indexes of 0..<n, increasing (Floyd + SplitMix64)."""
    if k >= n:
        return np.arange(n)
    state = seed & MASK
    chosen: set[int] = set()
    for j in range(n - k, n):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        t = z % (j + 1)
        if t in chosen:
            chosen.add(j)
        else:
            chosen.add(t)
    return np.array(sorted(chosen), dtype=np.int64)


def draw(rng: np.random.Generator, dist: str, n: int) -> np.ndarray:
    return rng.normal(0.0, 1.0, n) if dist == "normal" else rng.lognormal(0.0, 1.0, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--n", type=int, default=1_000_000, help="reference and current size")
    ap.add_argument("--m", type=int, default=10_000, help="reference sample size (drift.sample_size)")
    args = ap.parse_args()
    n, m, seeds = args.n, args.m, args.seeds
    shifts = (0.0, 0.02, 0.05, 0.1, 0.2)
    dists = ("normal", "lognormal")
    started = time.perf_counter()

    # rows[(dist, shift)] = list of per-seed tuples
    rows: dict[tuple[str, float], list[tuple[float, ...]]] = {(d, s): [] for d in dists for s in shifts}
    ecdf_err: dict[str, list[float]] = {d: [] for d in dists}
    w_bound: dict[str, list[float]] = {d: [] for d in dists}
    for di, dist in enumerate(dists):
        for seed in range(seeds):
            rng = np.random.default_rng([seed, di])
            ref = np.sort(draw(rng, dist, n))
            std = float(ref.std())  # population std, as the profile stores it
            norm = max(std, 0.001)
            sample = ref[sample_indexes(n, m, seed)]
            # sup |F_m - F_N|: the KS statistic of the sample against the full reference.
            ecdf_err[dist].append(float(stats.ks_2samp(sample, ref).statistic))
            w_bound[dist].append(stats.wasserstein_distance(sample, ref) / norm)
            for shift in shifts:
                cur = draw(rng, dist, n) + shift * std
                full = stats.ks_2samp(ref, cur)
                samp = stats.ks_2samp(sample, cur)
                w_full = stats.wasserstein_distance(ref, cur) / norm
                w_samp = stats.wasserstein_distance(sample, cur) / norm
                rows[(dist, shift)].append(
                    (float(full.statistic), float(samp.statistic), float(full.pvalue), float(samp.pvalue), w_full, w_samp))

    en_full = round(n * n / (n + n))
    en_samp = round(m * n / (m + n))
    print(f"reference N = {n:,}, current N = {n:,}, reference sample m = {m:,}, {seeds} seeds; "
          f"KS p-values asymptotic: effective n = {en_full:,} (full) vs {en_samp:,} (sample)")
    print()
    print("| data | current | KS D: mean / max abs error | KS p (full → sample), mean | KS p: mean / max abs error "
          "| KS verdicts at 0.05 (full, sample, differ) | normed W1 (full) mean | normed W1: mean / max abs error "
          "| W1 verdicts at 0.1 (full, sample, differ) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dist in dists:
        for shift in shifts:
            a = np.array(rows[(dist, shift)])
            d_err = np.abs(a[:, 0] - a[:, 1])
            p_err = np.abs(a[:, 2] - a[:, 3])
            w_err = np.abs(a[:, 4] - a[:, 5])
            ks_full, ks_samp = a[:, 2] <= 0.05, a[:, 3] <= 0.05
            w_full, w_samp = a[:, 4] >= 0.1, a[:, 5] >= 0.1
            label = "same" if shift == 0 else f"+{shift:g} std"
            print(f"| {dist} | {label} | {d_err.mean():.5f} / {d_err.max():.5f} "
                  f"| {a[:, 2].mean():.3g} → {a[:, 3].mean():.3g} | {p_err.mean():.3f} / {p_err.max():.3f} "
                  f"| {ks_full.sum()}, {ks_samp.sum()}, {(ks_full != ks_samp).sum()} of {seeds} "
                  f"| {a[:, 4].mean():.4f} | {w_err.mean():.4f} / {w_err.max():.4f} "
                  f"| {w_full.sum()}, {w_samp.sum()}, {(w_full != w_samp).sum()} of {seeds} |")
    print()
    for alpha in (0.05, 0.01):
        eps = math.sqrt(math.log(2 / alpha) / (2 * m))
        print(f"DKW bound for m = {m:,}: P(sup|F_m - F_N| > {eps:.5f}) <= {alpha}")
    for dist in dists:
        e = np.array(ecdf_err[dist])
        w = np.array(w_bound[dist])
        print(f"measured sup|F_m - F_N| ({dist}): mean {e.mean():.5f}, max {e.max():.5f}; "
              f"W1(sample, full) / std: mean {w.mean():.4f}, max {w.max():.4f} over {seeds} samples")
    crit_full = stats.kstwo.isf(0.05, en_full)
    crit_samp = stats.kstwo.isf(0.05, en_samp)
    print(f"smallest KS statistic with p <= 0.05: {crit_full:.5f} with the full reference, "
          f"{crit_samp:.5f} with the sample")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
