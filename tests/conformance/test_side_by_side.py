"""Property 5: DECNET's reconciler ticking every 0.5 s while ``--fix`` runs 20
times on the same host, containers dying meanwhile. No update is lost (at
the end every row says what DECNET's reconciler computes from Docker), no
peer row changes, and both end on the same rows: a last tick changes nothing
and a last ``--fix`` writes nothing."""

from __future__ import annotations

import threading
import time

RUNS = 20
TICK = 0.5


def test_fix_and_decnets_reconciler_side_by_side(world):
    deckies = world.build([{"name": world.name(f"d{i}"), "services": s} for i, s in enumerate(
        (["ssh"], ["http", "ftp"], ["smb"], ["rdp", "vnc"], ["imap"], ["smtp_relay", "pop3"]))])
    world.deploy(deckies)
    for d in deckies[:2]:  # json-only: the deploy mirror missed them
        world.call("delete", host_uuid="local", name=d["name"])
    world.save_state(deckies[:-1])  # db-only: the last was removed by hand
    peer = world.build([{"name": world.name("peer"), "ip": "10.77.0.250", "services": ["ssh"]}])
    peer[0]["host_uuid"] = "peer-host-1"
    world.call("api_deploy_rows", deckies=peer, replace=False)
    peer_row = [r for r in world.rows() if r["host_uuid"] == "peer-host-1"]
    dying = [world.service_boxes(d)[0] for d in deckies[2:5]]

    ticks, tick_times, errors, stop = [], [], [], threading.Event()

    def reconciler():
        while not stop.is_set():
            try:
                ticks.append(world.reconcile()["counts"])
                tick_times.append(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - a failed tick is data here
                errors.append(str(exc).splitlines()[0])
            stop.wait(TICK)

    ticker = threading.Thread(target=reconciler, daemon=True)
    ticker.start()
    codes, spans, t0 = [], [], time.monotonic()
    try:
        for i in range(RUNS):
            if i in (4, 9, 14):  # a container dies while both are at work
                world.call("docker_stop", name=dying[(i - 4) // 5])
            began = time.monotonic()
            run = world.fix()
            spans.append((began, time.monotonic()))
            codes.append(run.rc)
            assert run.rc in (0, 1, 6), run.out + run.err
    finally:
        stop.set()
        ticker.join(timeout=60)
    took = time.monotonic() - t0
    print(f"{RUNS} --fix runs beside {len(ticks)} ticks in {took:.1f} s; exit codes "
          f"{sorted(set(codes))}; ticks with work {sum(1 for c in ticks if any(c.values()))}; "
          f"failed ticks {len(errors)}")
    # Throughout: DECNET ticked during every run of five --fix runs (however
    # quick the runs are; counting ticks against runs failed once they got quick).
    for k in range(0, RUNS, 5):
        start, end = spans[k][0], spans[k + 4][1]
        assert any(start <= t <= end for t in tick_times), \
            f"no reconciler tick during --fix runs {k + 1}-{k + 5}"
    assert not errors, errors

    last = world.reconcile()
    assert last["counts"] == {"inserted": 0, "deleted": 0, "state_updated": 0}
    assert [r for r in last["rows"] if r["host_uuid"] == "peer-host-1"] == peer_row
    view = world.decnet_view()
    local = {r["name"]: r for r in last["rows"] if r["host_uuid"] == "local"}
    assert set(local) == {d["name"] for d in deckies[:-1]}
    assert {n: r["state"] for n, r in local.items()} == view  # no lost update
    before = world.rows()
    final = world.fix()
    assert final.rc in (0, 1), final.out + final.err
    assert not [f for f in final.findings() if f.get("fixed")], final.out
    assert world.rows() == before
