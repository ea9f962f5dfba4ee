"""The --metrics textfile through Debian's prometheus-node-exporter: the audit
writes into the collector's directory, node_exporter serves it on a loopback
port, and a scrape finds the audit's series with the host's labels."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kit.fleet import decky_config, now, run_cli, unique, write_state
from kit.prometheus import node_exporter
from kit.report import PsCapture

pytestmark = pytest.mark.prometheus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def exporter(tmp_path):
    """node_exporter with only the textfile collector, on 127.0.0.1."""
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    port = _free_port()
    log = (tmp_path / "node_exporter.log").open("w")
    proc = subprocess.Popen(
        [node_exporter(), f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
         "--collector.textfile", f"--collector.textfile.directory={textdir}"],
        stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        for _ in range(100):
            if proc.poll() is not None:
                pytest.fail(f"node_exporter exited {proc.returncode}: "
                            f"{(tmp_path / 'node_exporter.log').read_text()[-500:]}")
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        yield textdir, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_scraped_series_carry_the_hosts_labels(exporter, tmp_path, sqlite_db):
    textdir, url = exporter
    missing, ok = unique("miss"), unique("ok")
    write_state(tmp_path / "state.json", [decky_config(missing), decky_config(ok)])
    sqlite_db.insert("host-42", ok)
    ps = PsCapture(tmp_path / "ps.jsonl")
    ps.decky(ok)
    ps.decky(missing)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url, *ps.args(),
                  "--host-uuid", "host-42", "-q", "--metrics", str(textdir / "decnet_audit.prom"))
    assert run.rc == 1, run.out + run.err
    got = _scrape(url)
    host = (("host_uuid", "host-42"), ("hostname", socket.gethostname()))
    medium = (("severity", "medium"),)
    assert got[("decnet_audit_findings",
                (*host, ("outcome", "drift"), ("rule", "json-only"), *medium))] == 1
    assert got[("decnet_audit_findings",
                (*host, ("outcome", "drift"), ("rule", "db-only"), *medium))] == 0
    assert got[("decnet_audit_fix_failures", (*host, ("rule", "json-only"), *medium))] == 0
    assert got[("decnet_audit_source_up", (("source", "db"),))] == 1
    info = [k for k in got if k[0] == "decnet_audit_info"]
    assert len(info) == 1 and dict(info[0][1])["role"] == "master", info
    # node_exporter read the file without complaint, and says which file it was.
    assert got[("node_textfile_scrape_error", ())] == 0
    mtimes = [dict(k[1])["file"] for k in got if k[0] == "node_textfile_mtime_seconds"]
    assert [m.rsplit("/", 1)[-1] for m in mtimes] == ["decnet_audit.prom"]


def test_the_next_audit_replaces_the_series(exporter, tmp_path, sqlite_db):
    textdir, url = exporter
    name = unique()
    write_state(tmp_path / "state.json", [decky_config(name)])
    ps = PsCapture(tmp_path / "ps.jsonl")
    ps.decky(name)
    args = ["--state", str(tmp_path / "state.json"), "--db", sqlite_db.url, *ps.args(),
            "-q", "--metrics", str(textdir / "decnet_audit.prom")]
    assert run_cli(*args).rc == 1
    key = ("decnet_audit_findings", (("host_uuid", "local"), ("hostname", socket.gethostname()),
                                     ("outcome", "drift"), ("rule", "json-only"),
                                     ("severity", "medium")))
    assert _scrape(url)[key] == 1
    cfg = decky_config(name)
    sqlite_db.insert("local", name, ip=cfg["ip"], decky_config=cfg, last_seen=now())
    assert run_cli(*args).rc == 0
    assert _scrape(url)[key] == 0
    # Only the audit's file is in the directory: no temporary left behind.
    assert sorted(p.name for p in textdir.iterdir()) == ["decnet_audit.prom"]
