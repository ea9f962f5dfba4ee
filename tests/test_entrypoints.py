"""Plugin discovery without importlib.metadata finds exactly what
importlib.metadata finds: the same entry points, in the same order, the same
distribution winning when two carry one name; and anything it does not read
itself (a zip on the path) it hands to importlib.metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from decnet_audit.entrypoints import EntryPoint, entry_points

GROUP = "decnet_audit"

# Prints both lookups' (name, value) lists for GROUP, as JSON, in a process
# whose sys.path the test sets through PYTHONPATH.
COMPARE = """
import json, sys
from importlib.metadata import entry_points as slow
from decnet_audit.entrypoints import entry_points as fast
print(json.dumps({"slow": [[e.name, e.value] for e in slow(group=sys.argv[1])],
                  "fast": [[e.name, e.value] for e in fast(sys.argv[1])]}))
"""


def dist_info(site: Path, dirname: str, entry_points_txt: str) -> None:
    info = site / dirname
    info.mkdir(parents=True)
    name = dirname.partition("-")[0]
    (info / ("METADATA" if dirname.endswith(".dist-info") else "PKG-INFO")).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points_txt)


def lookups(*path: Path, group: str = GROUP, cwd: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
    p = subprocess.run([sys.executable, "-c", COMPARE, group], capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_this_environment_finds_the_built_ins_as_importlib_metadata_does():
    from importlib.metadata import entry_points as slow

    fast = [(e.name, e.value) for e in entry_points(GROUP)]
    assert fast == [(e.name, e.value) for e in slow(group=GROUP)]
    assert ("json-only", "decnet_audit.rules.json_only") in fast
    assert ("report-html", "decnet_audit.reports.html") in fast


def test_a_site_on_the_path_reads_like_importlib_metadata(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "acme_rules-1.0.dist-info",
              "# a comment\n[console_scripts]\nacme = acme:main\n\n"
              f"[{GROUP}]\nacme-one = acme_rules.one\n"
              f"acme-two = acme_rules.two:Plugin.hooks [extra]\n")
    dist_info(first, "Old.Style-2.0.egg-info", f"[{GROUP}]\nold-style = old_style\n")
    # The same distribution again, later on the path: shadowed, as by pip's
    # --target over a site-packages; its entry point must not appear.
    dist_info(second, "Acme.Rules-0.9.dist-info", f"[{GROUP}]\nacme-stale = acme_stale\n")
    dist_info(second, "other-3.dist-info", "[other_group]\nnot-ours = other\n")

    seen = lookups(first, second, cwd=tmp_path)
    assert seen["fast"] == seen["slow"]
    names = [n for n, _ in seen["fast"]]
    assert {"acme-one", "acme-two", "old-style"} <= set(names)
    assert "acme-stale" not in names and "not-ours" not in names
    assert ["acme-two", "acme_rules.two:Plugin.hooks [extra]"] in seen["fast"]


def test_a_zip_on_the_path_is_read_by_importlib_metadata(tmp_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\n"
                                                    "Version: 1.0\n")
        z.writestr("zipped-1.0.dist-info/entry_points.txt", f"[{GROUP}]\nzipped = zipped\n")
    seen = lookups(archive, cwd=tmp_path)
    assert ["zipped", "zipped"] in seen["fast"]
    assert seen["fast"] == seen["slow"]


def test_an_entry_point_loads_its_module_or_attribute():
    assert EntryPoint("x", "json").load() is json
    assert EntryPoint("x", "os.path:join").load() is os.path.join
    assert EntryPoint("x", "decnet_audit.entrypoints:EntryPoint.load").load() is EntryPoint.load
    with pytest.raises(ValueError, match="not an entry point value"):
        EntryPoint("x", "not a value").load()
    with pytest.raises(ModuleNotFoundError):
        EntryPoint("x", "no_such_module_here").load()


@pytest.mark.parametrize("args", [["--help"], ["--list-rules"]])
def test_listing_the_plugins_does_not_import_importlib_metadata(tmp_path, args):
    probe = ("import sys\nfrom decnet_audit.cli import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write(repr(sorted(m for m in ('importlib.metadata', 'email') "
             "if m in sys.modules)))\n")
    p = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert "--html" in p.stdout or "DA001" in p.stdout, p.stdout
    assert p.stderr == "[]"


def test_a_path_object_on_sys_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist_info(site, "pathish-1.0.dist-info", f"[{GROUP}]\npathish = pathish\n")
    monkeypatch.setattr(sys, "path", [site, *sys.path])  # a Path, not a str
    assert ("pathish", "pathish") in [(e.name, e.value) for e in entry_points(GROUP)]
