from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "decnet"
HERE = Path(__file__).parent / "ddl"


@pytest.mark.parametrize("name", ["fleet_deckies.sqlite.sql", "fleet_deckies.mysql.sql"])
def test_ddl_copy_matches_shared_original(name):
    if not (SHARED / name).exists():
        pytest.skip("no ../shared/decnet beside this checkout")
    assert (HERE / name).read_text() == (SHARED / name).read_text()
