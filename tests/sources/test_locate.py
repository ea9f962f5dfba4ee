"""Zero configuration: DECNET's root, settings and host uuid found as DECNET
finds them, without importing DECNET (pure file reading; fast). The same
resolution is compared with DECNET's own in tests/conformance/test_host.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from decnet_audit.errors import UsageError
from decnet_audit.sources.install import find_install
from decnet_audit.sources.locate import locate
from decnet_audit.sources.settings import read_settings


def fake_install(tmp_path: Path, version="1.0.0") -> tuple[Path, Path]:
    """A virtualenv as pip leaves it: bin/decnet, whose shebang names the
    virtualenv's python, and site-packages with decnet/ and its dist-info."""
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "decnet").mkdir(parents=True)
    (site / "decnet" / "config.py").write_text("# DECNET\n")
    info = site / f"decnet-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: decnet\nVersion: {version}\n\n"
                                   "Version: not-this-one\n")
    (venv / "bin").mkdir()
    script = venv / "bin" / "decnet"
    script.write_text(f"#!{venv}/bin/python3\nfrom decnet.cli import app\n")
    script.chmod(0o755)
    return venv, site


def test_found_from_the_decnet_script_on_path(tmp_path):
    venv, site = fake_install(tmp_path)
    found = find_install(None, f"/nonexistent:{venv / 'bin'}")
    assert (found.root, found.version) == (site, "1.0.0")
    assert found.state_file == site / "decnet-state.json"
    assert found.sqlite_db == site / "decnet.db"
    assert found.found_by == f"`decnet` on PATH: {venv / 'bin' / 'decnet'}"
    assert find_install(None, str(tmp_path)) is None


def test_pips_trampoline_for_a_long_interpreter_path(tmp_path):
    venv, site = fake_install(tmp_path)
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    script = elsewhere / "decnet"
    script.write_text(f"#!/bin/sh\n'''exec' \"{venv}/bin/python3\" \"$0\" \"$@\"\n' '''\n")
    script.chmod(0o755)
    assert find_install(None, str(elsewhere)).root == site


def test_an_explicit_root_must_hold_decnet(tmp_path):
    _venv, site = fake_install(tmp_path)
    assert find_install(str(site), None).found_by == "--decnet-root"
    with pytest.raises(UsageError, match="no decnet/config.py"):
        find_install(str(tmp_path), None)


def test_settings_in_decnets_order_never_overriding(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    ini = tmp_path / "decnet.ini"
    ini.write_text("[decnet]\nmode = agent   # or master\n[agent]\nhost-uuid = w-7\n"
                   "[master]\nhost-uuid = not-me\n"
                   "[database]\ntype = mysql\nhost = db.ini\npassword = ignored-by-decnet\n")
    (root / ".env.local").write_text('DECNET_DB_HOST=db.local\nexport DECNET_DB_USER="u1" # x\n'
                                     "DECNET_DB_PASSWORD='p@ss w'\nDECNET_JWT_SECRET=unread\n")
    (root / ".env").write_text("DECNET_DB_NAME=from_root_env\nDECNET_DB_USER=u2\n")
    (cwd / ".env.local").write_text("DECNET_DB_PORT=3307\nDECNET_DB_NAME=from_cwd\n")
    s = read_settings({"DECNET_DB_NAME": "from_env"}, root, ini=ini, cwd=cwd)
    assert s.values == {
        "DECNET_DB_NAME": "from_env", "DECNET_DB_TYPE": "mysql", "DECNET_DB_HOST": "db.ini",
        "DECNET_HOST_UUID": "w-7", "DECNET_DB_USER": "u1", "DECNET_DB_PASSWORD": "p@ss w",
        "DECNET_DB_PORT": "3307",
    }
    assert s.origin["DECNET_HOST_UUID"] == f"{ini} [agent] host-uuid"
    assert s.origin["DECNET_DB_USER"] == str(root / ".env.local")
    shown = "; ".join(s.describe())
    assert "p@ss" not in shown and "DECNET_DB_PASSWORD=***" in shown


def test_zero_config_locates_decnets_files_and_says_where_from(tmp_path):
    venv, site = fake_install(tmp_path)
    (site / ".env.local").write_text("DECNET_HOST_UUID=h-1\n")
    env = {"PATH": str(venv / "bin"), "DECNET_CONFIG": str(tmp_path / "absent.ini")}
    found = locate(env, cwd=tmp_path)
    assert found.state_path == site / "decnet-state.json"
    assert found.db_url == f"sqlite:///{site / 'decnet.db'}"
    assert found.host_uuid == "h-1"
    lines = found.provenance()
    assert lines[0] == f"decnet: DECNET 1.0.0, root {site} (`decnet` on PATH: {venv}/bin/decnet)"
    assert "state file from DECNET's root" in lines[-1]
    assert f"host_uuid from DECNET_HOST_UUID ({site / '.env.local'})" in lines[-1]
    # Options and the auditor's own variables still win.
    env.update(DECNET_STATE_FILE=str(tmp_path / "s.json"), DECNET_DB_PATH=str(tmp_path / "d.db"))
    found = locate(env, host_uuid="opt", cwd=tmp_path)
    assert (found.state_path, found.db_url, found.host_uuid) == (
        tmp_path / "s.json", f"sqlite:///{tmp_path / 'd.db'}", "opt")


def test_no_installation_keeps_the_old_defaults(tmp_path):
    found = locate({"PATH": str(tmp_path), "DECNET_CONFIG": str(tmp_path / "none.ini")},
                   cwd=tmp_path)
    assert found.install is None
    assert found.db_url == "sqlite:///decnet.db" and found.host_uuid == "local"
    assert found.provenance()[0].startswith("decnet: no installation found")


def test_mysql_url_built_from_ini_and_env_files_masks_the_password(tmp_path):
    ini = tmp_path / "decnet.ini"
    ini.write_text("[database]\ntype = mysql\nhost = 127.0.0.1\nuser = root\nname = x\n")
    (tmp_path / ".env").write_text("DECNET_DB_PASSWORD=s3cret\n")
    found = locate({"PATH": ""}, decnet_ini=str(ini), cwd=tmp_path)
    assert found.db_url == "mysql+pymysql://root:s3cret@127.0.0.1:3306/x"
    assert "s3cret" not in "\n".join(found.provenance())


def test_an_unreadable_ini_is_one_line_and_the_env_files_still_count(tmp_path):
    ini = tmp_path / "decnet.ini"
    ini.write_text("[database\ntype = mysql\n")  # no closing bracket
    (tmp_path / ".env").write_text("DECNET_HOST_UUID=h-2\n")
    found = locate({"PATH": ""}, decnet_ini=str(ini), cwd=tmp_path)
    assert found.host_uuid == "h-2" and found.db_url == "sqlite:///decnet.db"
    (problem,) = found.settings.problems
    assert problem.startswith(f"{ini}: not read: ")
    assert f"settings: {problem}" in found.provenance()
