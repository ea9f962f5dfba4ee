"""Judging a scenario on the issue's properties (see scenarios.py): one
world, two branches from the same rows and state file, DECNET converging it
or ``--fix`` doing so."""

from __future__ import annotations

from oracle import World, changed_keys, fixable
from scenarios import CONVERGENCE, MISJUDGED, Scenario


def audit(world: World, scenario: Scenario, *args: str):
    extra = []
    if scenario.config:
        cfg = world.dir / "decnet-audit.toml"
        cfg.write_text(scenario.config)
        extra += ["--config", str(cfg)]
    if "--fix" in args:
        return world.fix(*extra, *[a for a in args if a != "--fix"])
    return world.audit(*extra, *args)


def misjudged(world: World) -> set[str]:
    """Deckies DECNET's reconciler misjudges on a healthy host."""
    return {d["name"] for d in world.deckies if set(d["services"]) & set(MISJUDGED)}


def short(world: World, findings) -> str:
    return "; ".join(sorted({f"{f['rule']} {f['decky'][len(world.prefix) + 1:]}"
                             f"{' (fixable)' if f.get('fixable') else ''}" for f in findings}))


def unhealthy(world: World, found: list[dict]) -> list[dict]:
    """Findings a healthy host must not have: anything but one report-only
    docker-mismatch per decky that DECNET itself misjudges."""
    allowed = misjudged(world)
    per: dict[str, int] = {}
    for f in found:
        per[f["decky"]] = per.get(f["decky"], 0) + 1
    return [f for f in found if f["decky"] not in allowed or f.get("fixable")
            or f["rule"] != "docker-mismatch" or per[f["decky"]] > 1]


def peer_entries(world: World) -> int:
    """State-file entries of other hosts: DECNET's reconciler upserts each on
    every tick (it lists only its own host's rows, so never sees them)."""
    return sum(1 for d in world.deckies if d.get("host_uuid") not in (None, world.host_uuid))


def judge(make_world, backend: str, scenario: Scenario) -> dict[str, str]:
    """Property -> "" when it holds, else why not. One world, two branches
    from the same rows and state file: DECNET converges it, or --fix does."""
    out: dict[str, str] = {}
    world = make_world(backend)
    scenario.setup(world)
    ticks, bad = 0, []
    for checkpoint in scenario.checkpoints:
        while ticks < checkpoint:
            world.reconcile(clock_offset=-scenario.age)
            ticks += 1
        run = audit(world, scenario)
        if run.rc not in (0, 1):
            out["audit"] = f"exit {run.rc}: {(run.err or run.out).strip()[-400:]}"
            return out
        if scenario.healthy and unhealthy(world, run.findings()):
            bad.append(f"tick {ticks}: {short(world, unhealthy(world, run.findings()))}")
    found = run.findings()
    if scenario.healthy:
        out["1 healthy"] = " | ".join(bad)
    if scenario.must_report:
        named = {(f["rule"], f["decky"]) for f in found}
        missing = scenario.must_report(world) - named
        out["caught"] = "" if not missing else f"not reported: {sorted(missing)}"
    wrong = [f for f in found if f["rule"] in scenario.must_not_report]
    if scenario.must_not_report:
        out["quiet"] = short(world, wrong)
    world.snapshot()
    before = world.rows()
    tick = world.reconcile()
    named = {f["decky"] for f in found}
    unnamed = [k for k in changed_keys(before, tick["rows"]) if k[1] not in named]
    out["2 named"] = "" if not unnamed else f"unnamed: {sorted(unnamed)}"
    quiet = not _work(world, tick["counts"])
    for _ in range(3):
        if not _work(world, tick["counts"]):
            break
        tick = world.reconcile()
    # DECNET changed nothing: the world is the one just audited.
    after = run if quiet else audit(world, scenario)
    out["4 agrees"] = short(world, fixable(after, CONVERGENCE))
    if fixable(run):
        world.restore()
        out["3 final"] = final(world, scenario)
    else:
        # Nothing for --fix to write: "final" is DECNET's own branch.
        out["3 final"] = "" if quiet else f"reconcile with nothing to fix: {tick['counts']}"
        if not out["3 final"] and fixable(after):
            out["3 final"] = "fixable after the ticks: " + short(world, fixable(after))
    return out


def _work(world: World, counts: dict) -> bool:
    """Whether a tick did anything beyond DECNET's endless peer re-upserts."""
    return bool(counts["deleted"] or counts["state_updated"]
                or counts["inserted"] > peer_entries(world))


def final(world: World, scenario: Scenario) -> str:
    fixed = audit(world, scenario, "--fix")
    if fixed.rc not in (0, 1):
        return f"--fix exit {fixed.rc}: {fixed.err.strip()[-300:]}"
    counts = world.reconcile()["counts"]
    if _work(world, counts):
        return f"reconcile after --fix: {counts}"
    # What --fix left fixable (e.g. the containers of a row it just deleted,
    # orphans now) is not new; what three more ticks bring would be.
    left = {(f["rule"], f["decky"]) for f in fixable(audit(world, scenario))}
    for _ in range(3):
        world.reconcile()
    new = [f for f in fixable(audit(world, scenario)) if (f["rule"], f["decky"]) not in left]
    return "new fixable after 3 ticks: " + short(world, new) if new else ""
