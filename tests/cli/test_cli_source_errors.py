"""A source that cannot be read, as cron and CI see it: said once in the
header and once in the summary (not once per rule), always on stderr (even
with -q), naming the address really tried, in words rather than the SDK's
nest of exceptions; and a missing state file is not shown as ``ok``."""

from __future__ import annotations

import hashlib
import json

import pytest

from kit.fleet import run_cli

# An empty directory: no state file, no ./decnet.db.
NO_DOCKER_ENV = {"DOCKER_HOST": "", "DECNET_DB_URL": "", "DECNET_STATE_FILE": ""}


def test_quiet_still_says_why_on_stderr(tmp_path):
    nosock = f"unix://{tmp_path}/docker.sock"
    run = run_cli("-q", "--docker-host", nosock, cwd=tmp_path, env=NO_DOCKER_ENV)
    assert run.rc == 2
    assert run.out.splitlines() == [run.out.strip()]  # -q: only the summary line
    assert run.err.splitlines() == [
        "decnet-audit: db not read (sqlite:///decnet.db): database file not found",
        f"decnet-audit: docker not read ({nosock}): cannot reach the Docker engine: "
        "no such socket (is the Docker daemon running?)",
    ]


def test_each_source_error_is_said_once_in_the_header_and_once_in_the_summary(tmp_path):
    run = run_cli("--docker-host", f"unix://{tmp_path}/docker.sock", cwd=tmp_path,
                  env=NO_DOCKER_ENV)
    assert run.rc == 2
    assert run.out.count("database file not found") == 2
    assert run.out.count("no such socket") == 2
    header, summary = run.out.split("short audit summary info")
    assert "db     ERROR  sqlite:///decnet.db: database file not found" in header
    assert "ERROR source db not read (sqlite:///decnet.db): database file not found" in summary
    # The rules that could not run are named, once, without the cause again.
    (not_run,) = [line for line in summary.splitlines() if "not run" in line]
    assert not_run.startswith("ERROR not run for want of a source: json-only, db-only, ")
    assert "Connection aborted" not in run.out + run.err
    assert "FileNotFoundError" not in run.out + run.err


@pytest.mark.parametrize("env, tried", [
    ({"DOCKER_HOST": ""}, "unix:///var/run/docker.sock"),  # the SDK's default
    ({"DOCKER_HOST": "tcp://127.0.0.1:9"}, "tcp://127.0.0.1:9"),
])
def test_the_docker_line_names_the_address_really_tried(tmp_path, env, tried):
    out = tmp_path / "r.json"
    run = run_cli("-q", "--select", "docker-mismatch", cwd=tmp_path,
                  env={**NO_DOCKER_ENV, **env}, json_path=out)
    docker = json.loads(out.read_text())["sources"]["docker"]
    assert docker["where"] == tried
    assert "DOCKER_HOST (environment)" not in run.out + run.err


def docker_cli_home(home, current: str, contexts: dict[str, str]):
    """A HOME whose Docker CLI config selects ``current``, with the contexts
    given (name -> engine address) where the CLI keeps them."""
    cfg = home / ".docker"
    (cfg / "contexts" / "meta").mkdir(parents=True)
    (cfg / "config.json").write_text(json.dumps({"currentContext": current}))
    for name, host in contexts.items():
        meta = cfg / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
        meta.mkdir()
        (meta / "meta.json").write_text(json.dumps({
            "Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}))
    return {**NO_DOCKER_ENV, "HOME": str(home), "DOCKER_CONFIG": "", "DOCKER_CONTEXT": "",
            "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}


@pytest.mark.parametrize("current, tried, why", [
    ("remote", "tcp://127.0.0.1:9 (Docker CLI context 'remote')", "connection refused"),
    ("gone", "unix:///var/run/docker.sock (Docker CLI context 'gone' not found: the SDK's "
             "default)", None),
])
def test_the_docker_line_names_the_cli_context_the_sdk_follows(tmp_path, current, tried, why):
    # No DOCKER_HOST: the docker SDK follows the CLI's current context, as
    # `docker` itself does, and falls back to its default socket for one
    # that does not exist.
    env = docker_cli_home(tmp_path / "home", current, {"remote": "tcp://127.0.0.1:9"})
    out = tmp_path / "r.json"
    run = run_cli("-q", "--select", "docker-mismatch", cwd=tmp_path, env=env, json_path=out)
    assert json.loads(out.read_text())["sources"]["docker"]["where"] == tried
    if why:  # the SDK really tried the context's engine (nothing listens on port 9)
        assert (f"decnet-audit: docker not read ({tried}): cannot reach the Docker engine: "
                f"{why} (is the Docker daemon running?)") in run.err.splitlines(), run.err


def test_a_refused_tcp_engine_is_said_in_words(tmp_path):
    run = run_cli("-q", "--docker-host", "tcp://127.0.0.1:9", cwd=tmp_path, env=NO_DOCKER_ENV)
    assert ("decnet-audit: docker not read (tcp://127.0.0.1:9): cannot reach the Docker "
            "engine: connection refused (is the Docker daemon running?)") in run.err.splitlines()


def test_a_missing_state_file_is_not_shown_as_ok(tmp_path):
    out = tmp_path / "r.json"
    run = run_cli("--docker-host", "tcp://127.0.0.1:9", cwd=tmp_path, env=NO_DOCKER_ENV,
                  json_path=out)
    (state,) = [line for line in run.out.splitlines() if line.startswith("state ")]
    assert state == ("state  ABSENT decnet-state.json: file not found: nothing deployed "
                     "(empty fleet)")
    report = json.loads(out.read_text())["sources"]["state"]
    assert report["missing"] is True and report["status"] == "ok"  # read: an empty fleet


def test_a_rule_with_nothing_to_examine_says_so_in_its_progress_line():
    import io

    from decnet_audit.reports.console import Console
    from decnet_audit.rules.duplicate_ip import DuplicateIp

    out = io.StringIO()
    console = Console(out, colour=False)
    console._total_rules = 1
    console.rule_done(DuplicateIp(), [])
    (line,) = out.getvalue().splitlines()
    assert line.startswith("duplicate-ip (DA008) no decky to examine ")
    assert line.endswith("[100%]")
