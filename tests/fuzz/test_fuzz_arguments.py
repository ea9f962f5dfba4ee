"""Fuzzing the command line's own parsers: ``--db`` and ``--docker-host``
URLs and ``-k`` expressions. Only addresses on this machine are generated
(loopback, unix sockets, files): a fuzzed URL must never reach a network.
A bad URL is an unreadable source (2), a bad ``-k`` a usage error (4)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.fix import run_inproc
from kit.fuzz import clean_exit, fuzz_settings, make_db, state_doc, texts

url_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                   max_size=16)
hosts = st.sampled_from(["127.0.0.1", "localhost", "[::1]", "127.0.0.1:1", "127.0.0.1:3306",
                         "localhost:99999", "127.0.0.1:x", ""])
db_urls = st.one_of(
    st.builds(lambda d, h, rest: f"{d}://{h}{rest}",
              st.sampled_from(["mysql+pymysql", "mysql", "mariadb+asyncmy", "mysql+aiomysql",
                               "sqlite", "sqlite+aiosqlite", "postgresql", "oracle", "nope+x"]),
              st.builds(lambda u, h: f"{u}@{h}" if u else h,
                        st.sampled_from(["", "root", "root:pw", "a:b:c", ":@"]), hosts),
              st.builds(lambda p, q: f"/{p}" + (f"?{q}" if q else ""), url_text, url_text)),
    st.builds(lambda p: f"sqlite:///{p}", url_text),
    url_text,
)
docker_urls = st.one_of(
    st.builds(lambda s, h, p: f"{s}://{h}{p}",
              st.sampled_from(["tcp", "http", "https", "unix", "npipe", "fd", "bogus"]),
              st.sampled_from(["127.0.0.1:1", "ops:pw@127.0.0.1:1", "[::1]:1", "", "/nonexistent",
                               "127.0.0.1:notaport"]), url_text),
    url_text.filter(lambda t: "://" not in t and not t.startswith("ssh")),
)
words = st.sampled_from(["not", "and", "or", "(", ")", "fz-a", "json", "NOT", "xyz", "-", "*"])
k_exprs = st.one_of(
    st.lists(words, max_size=40).map(" ".join),
    st.integers(0, 3000).map(lambda n: "not " * n + "fz"),
    st.integers(0, 400).map(lambda n: "(" * n + "fz" + ")" * n),
    st.integers(1, 3000).map(lambda n: " or ".join(["x"] * n)),
    texts,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-args")
    (d / "state.json").write_text(json.dumps(state_doc()))
    (d / "empty.jsonl").write_text("")
    return {"dir": d, "db": make_db(d / "decnet.db")}


def in_empty_dir(base, *args):
    """Run in a fresh working directory; nothing may appear in it."""
    with tempfile.TemporaryDirectory(dir=base["dir"]) as work:
        here = os.getcwd()
        os.chdir(work)
        try:
            run = run_inproc(*args)
        finally:
            os.chdir(here)
        assert list(Path(work).iterdir()) == []
    return run


@fuzz_settings()
@given(url=db_urls)
def test_fuzz_db_url(base, url):
    d = base["dir"]
    # --db=VALUE: a value starting with "-" is still a value, not an option.
    run = in_empty_dir(base, "--state", str(d / "state.json"), f"--db={url}",
                       "--docker-snapshot", str(d / "empty.jsonl"), "--select", "json-only")
    clean_exit(run, {1, 2})
    assert "pw@" not in run.out + run.err


@fuzz_settings()
@given(url=docker_urls)
def test_fuzz_docker_host(base, url):
    d = base["dir"]
    run = in_empty_dir(base, "--state", str(d / "state.json"), "--db", base["db"],
                       f"--docker-host={url}", "--select", "docker-mismatch")
    clean_exit(run, {0, 1, 2})
    assert ":pw@" not in run.out + run.err


@fuzz_settings()
@given(expr=k_exprs)
def test_fuzz_keyword_expression(base, expr):
    d = base["dir"]
    run = in_empty_dir(base, "--state", str(d / "state.json"), "--db", base["db"],
                       "--docker-snapshot", str(d / "empty.jsonl"), "-k", expr)
    clean_exit(run, {0, 1, 4, 5})
    if run.rc == 4:
        assert len(run.err.splitlines()) == 1 and len(run.err) < 300
