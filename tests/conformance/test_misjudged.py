"""Deckies DECNET's own reconciler misjudges (``smtp_relay``: it looks for the
wrong name; ``sniffer``: a fleet singleton with no per-decky container): one
report-only finding each, naming the mistake, at every tick; never a fix;
waived with the ordinary waivers."""

from __future__ import annotations


def test_one_report_only_finding_names_decnets_mistake_and_a_waiver_silences_it(world):
    relay, sniff, plain = (world.name(t) for t in ("relay", "sniff", "plain"))
    deckies = world.build([{"name": relay, "services": ["ssh", "smtp_relay"]},
                           {"name": sniff, "services": ["ssh"]},
                           {"name": plain, "services": ["http"]}])
    deckies[1]["services"] = ["ssh", "sniffer"]  # a hand-written entry; DECNET's builders refuse it
    world.deploy(deckies)
    for _ in range(3):
        run = world.audit()
        assert run.rc == 1, run.out + run.err
        found = {f["decky"]: f for f in run.findings()}
        assert len(run.findings()) == 2 and set(found) == {relay, sniff}, run.out
        assert not any(f["fixable"] for f in found.values())
        assert found[relay]["rule"] == found[sniff]["rule"] == "docker-mismatch"
        assert (f"it looks for {relay}-smtp-relay (by name only), but smtp_relay's container "
                f"is {relay}-smtp_relay (running)") in found[relay]["message"]
        assert f"it looks for {sniff}-sniffer, but sniffer is a fleet singleton" in \
            found[sniff]["message"]
        assert "Docker shows 'running' but DECNET's reconciler computes 'degraded'" in \
            found[relay]["message"]
        world.reconcile()  # DECNET writes degraded for both, then keeps it
    assert {r["name"]: r["state"] for r in world.rows()} == {
        relay: "degraded", sniff: "degraded", plain: "running"}
    fixed = world.fix()
    assert not [f for f in fixed.findings() if f.get("fixed")]
    assert world.reconcile()["counts"] == {"inserted": 0, "deleted": 0, "state_updated": 0}

    cfg = world.dir / "waivers.toml"
    cfg.write_text(f'[[waivers]]\nrule = "docker-mismatch"\ndecky = "{world.prefix}-*"\n'
                   f'field = "state"\nreason = "DECNET 1.0.0 misjudges smtp_relay and sniffer"\n')
    waived = world.audit("--config", str(cfg))
    assert waived.rc == 0, waived.out + waived.err
