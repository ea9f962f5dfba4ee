"""duplicate-ip at 20,000 deckies on one IP: linear, not one text per pair.

Before issue 12 every decky's finding named every other one: 4,000 deckies
on one IP made a 708 MB report, 2 GB of memory and 43 s. Now the first
decky's finding lists them all and each other one names the first, so the
report and the memory grow with the number of deckies.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from kit.fleet import DDL_DIR, decky_config, write_state

N = 20_000
IP = "10.77.0.1"
# One audit of N deckies, in a fresh process whose peak memory is its own.
_MEASURE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(rc, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_20000_deckies_on_one_ip_stay_linear(tmp_path):
    names = [f"dup-{i:05d}" for i in range(N)]
    state = write_state(tmp_path / "s.json", [decky_config(n, ip=IP) for n in names])
    db = tmp_path / "decnet.db"
    con = sqlite3.connect(db)
    con.executescript((DDL_DIR / "fleet_deckies.sqlite.sql").read_text())
    con.executemany("INSERT INTO fleet_deckies VALUES ('local', ?, '[\"ssh\"]', NULL, ?, "
                    "'running', NULL, NULL, NULL, '2026-01-01 00:00:00')",
                    [(n, IP) for n in names])
    con.commit()
    con.close()
    snap = tmp_path / "ps.jsonl"
    snap.write_text("")
    report = tmp_path / "r.json"
    exe = Path(sys.executable).with_name("decnet-audit")
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(exe), "--state", str(state), "--db",
         f"sqlite:///{db}", "--docker-snapshot", str(snap), "--select", "duplicate-ip", "-q",
         "--json", str(report)], capture_output=True, text=True, check=True).stdout.split()
    rc, seconds, rss_kb = int(out[0]), float(out[1]), int(out[2])

    assert rc == 1
    # Measured 24 MB, 176 MB and 3 s on the project's 2-core machine.
    assert report.stat().st_size < 2_000 * N, report.stat().st_size  # under 2 kB a decky
    assert rss_kb < 600 * 1024, rss_kb
    assert seconds < 60, seconds
    findings = json.loads(report.read_text())["findings"]
    assert len(findings) == 2 * N  # one per decky and record, never one per pair
    by_decky = {(f["decky"], f["field"]): f for f in findings}
    first = by_decky[(names[0], "ip")]
    assert first["actual"] == f"{IP}, shared with {', '.join(names[1:])}"
    assert "and 19989 more" in first["message"]
    assert by_decky[(names[7], "decky_ip")]["actual"] == \
        f"{IP}, shared with {names[0]} and {N - 2} more (listed under {names[0]})"
