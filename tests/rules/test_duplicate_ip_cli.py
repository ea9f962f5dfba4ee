"""duplicate-ip (DA008) on SQLite and MariaDB, through the installed CLI.

Docker plays no part in this rule, so these runs read an empty ``docker ps``
capture; the rule's run against the live engine is in test_four_rules_fleet.py.
"""

from __future__ import annotations

from kit.fleet import decky_config, run_cli, unique, write_state


def test_duplicate_ip_in_state_file_and_in_rows(tmp_path, db):
    a, b, c, d, e = (unique(x) for x in "abcde")
    write_state(tmp_path / "state.json", [
        decky_config(a, ip="10.6.0.1"),
        decky_config(b, ip="10.6.0.1"),          # same as a, in the state file
        decky_config(c, ip="10.6.0.3"),
        decky_config(e, ip="10.6.0.5"),
        decky_config(unique("x"), ip="10.6.0.5", host_uuid="peer-host-1"),  # another host's
    ])
    db.insert("local", a, ip="10.6.0.1")
    db.insert("local", b, ip="10.6.0.2")         # the rows disagree with the file: not a dup
    db.insert("local", c, ip="10.6.0.3")
    db.insert("local", d, ip="10.6.0.3")         # same as c, among this host's rows
    db.insert("peer-host-1", unique("p"), ip="10.6.0.1")  # a peer's row: other network
    db.insert("peer-host-1", e, ip="10.6.0.5")

    snap = tmp_path / "ps.jsonl"
    snap.write_text("")
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", db.url,
                  "--docker-snapshot", str(snap), "--select", "duplicate-ip", "-v",
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    got = sorted((f["decky"], f["field"], f["actual"]) for f in run.findings("duplicate-ip"))
    assert got == sorted([
        (a, "ip", f"10.6.0.1, shared with {b}"),
        (b, "ip", f"10.6.0.1, shared with {a}"),
        (c, "decky_ip", f"10.6.0.3, shared with {d}"),
        (d, "decky_ip", f"10.6.0.3, shared with {c}"),
    ])
    assert all(not f["fixable"] and f["host_uuid"] == "local" for f in run.findings())
    assert f"duplicate-ip::{e} PASSED" in run.out
    assert [c["decky"] for c in run.report["checks"]] == sorted([a, b, c, d, e])
