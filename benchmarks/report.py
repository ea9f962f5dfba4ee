"""What the benchmark prints: the audit's report checked against the planted
drift, medians, ratios against their targets, growth with N."""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path

import reconciler

TARGETS = {  # name: (compare, limit, the size the issue sets it at)
    "audit/floor": ("<=", 1.3, 5000),
    "n+1/audit": (">=", 5.0, 5000),
    "fix/audit": ("<=", 1.3, 5000),
    "audit peak RSS MB": ("<=", 150.0, 10000),
}


def findings_by_rule(report: Path, prefix: str) -> tuple[Counter, Counter]:
    """Findings per rule about this benchmark's deckies, and about anything
    else on the engine (other people's containers look orphaned)."""
    mine, others = Counter(), Counter()
    for f in json.loads(report.read_text())["findings"]:
        (mine if f["decky"].startswith(prefix + "-") else others)[f["rule"]] += 1
    return mine, others


def check_report(report: Path, expected: Counter, prefix: str, what: str) -> None:
    got, others = findings_by_rule(report, prefix)
    if got != expected:
        sys.exit(f"{what}: findings differ from the planted drift:\n  planted {dict(expected)}"
                 f"\n  found   {dict(got)}")
    print(f"  {what}: report matches the planted drift ({sum(expected.values())} findings: "
          f"{', '.join(f'{r} {n}' for r, n in sorted(expected.items()))})"
          + (f"; about other containers on the engine: {dict(others)}" if others else ""))


def med(xs):
    return statistics.median(xs)


def verdict(name: str, value: float, n: int) -> str:
    cmp, limit, at = TARGETS[name]
    ok = value <= limit if cmp == "<=" else value >= limit
    where = "" if n == at else f", set at N={at:,}"
    return f"(target {cmp} {limit:g}{where}: {'ok' if ok else 'MISSED'})"


def report_size(n: int, backend: str, variants: dict) -> dict:
    print(f"\n  {backend}: {'variant':<8} {'wall med':>9} {'min':>7} {'max':>7} "
          f"{'cpu med':>8} {'peak RSS':>9}")
    for v in variants.values():
        print(f"  {'':{len(backend)}}  {v.name.split('/')[0]:<8} {med(v.walls):8.3f}s "
              f"{min(v.walls):6.3f}s {max(v.walls):6.3f}s {med(v.cpus):7.3f}s "
              f"{med(v.rss_kb) / 1024:7.1f}MB")
    audit = variants["audit"]
    ratios = {}
    if "floor" in variants:
        ratios["audit/floor"] = med(audit.walls) / med(variants["floor"].walls)
    if "n+1" in variants:
        ratios["n+1/audit"] = med(variants["n+1"].walls) / med(audit.walls)
    if "fix" in variants:
        ratios["fix/audit"] = med(variants["fix"].walls) / med(audit.walls)
    ratios["audit peak RSS MB"] = max(audit.rss_kb) / 1024
    if "decnet" in variants:
        ratios["audit-st peak RSS MB"] = max(variants["audit-st"].rss_kb) / 1024
    for name, value in ratios.items():
        extra = ""
        if name == "audit/floor":  # CPU alone: less sensitive to other people's load
            extra = f"  [cpu: {med(audit.cpus) / med(variants['floor'].cpus):.2f}]"
        if name in TARGETS:
            print(f"    {name:<18} {value:7.2f} {verdict(name, value, n)}{extra}")
    if "decnet" in variants:
        ratios.update(reconciler.report(variants, med))
    return {"ratios": ratios, "variants": {
        k: {"wall": v.walls, "cpu": v.cpus, "rss_kb": v.rss_kb, **v.extra}
        for k, v in variants.items()}}


def report_linearity(results: dict) -> None:
    sizes = sorted(results)
    if len(sizes) < 2:
        return
    print("\nCost against N (audit wall medians; linear means ratio <= N ratio):")
    for backend in [k for k in results[sizes[0]] if k != "load"]:
        for a, b in zip(sizes, sizes[1:], strict=False):
            ta = med(results[a][backend]["variants"]["audit"]["wall"])
            tb = med(results[b][backend]["variants"]["audit"]["wall"])
            per = (tb - ta) / (b - a) * 1000
            print(f"  {backend}: N={a:,} {ta:.3f}s -> N={b:,} {tb:.3f}s: x{tb / ta:.2f} for "
                  f"x{b / a:g} the deckies; marginal {per:.3f} ms per decky")


def fmt_load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load)
