"""Scenarios answered by the prover network (chapter 13): the `[network]` section is read strictly, windows that cannot
fit the game's prove window are refused by name, and the two network scenarios end as their descriptions say, with real
proofs made on a local dask cluster started and stopped by the run."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lumoz_ref.l1 import ether
from lumoz_ref.scenarios import ScenarioError, ScenarioNetwork, load_scenario, run_scenario, scenario_path

pytestmark = pytest.mark.usefixtures("native_backend")

BASE = """
[scenario]
name = "t"
[l2]
blocks = 4
proposal_interval = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(BASE + text), encoding="utf-8")
    return path


def test_default_network_is_one_honest_miner_and_four_verify_nodes(tmp_path):
    net = load_scenario(write(tmp_path, "")).network
    assert net == ScenarioNetwork() and net.miners == ("honest",) and len(net.verify_nodes) == 4


def test_network_section_is_read(tmp_path):
    s = load_scenario(write(tmp_path, '[network]\nminers = ["honest", "copier"]\nverify_nodes = ["honest", "offline"]\n'
                                      'commit_window = 5\nreveal_window = 9\nexecutor = "processes"\nworkers = 3\n'))
    assert s.network.miners == ("honest", "copier") and s.network.verify_nodes == ("honest", "offline")
    assert (s.network.market.commit_window, s.network.market.reveal_window) == (5, 9)
    assert (s.network.executor, s.network.workers) == ("processes", 3)


@pytest.mark.parametrize("text, field", [
    ('[network]\nminers = ["honest", "lazy"]\n', "network.miners"),
    ('[network]\nminers = []\n', "network.miners"),
    ('[network]\nverify_nodes = ["sometimes"]\n', "network.verify_nodes"),
    ('[network]\nexecutor = "gpu"\n', "network.executor"),
    ('[network]\nworkers = 0\n', "network.workers"),
    ('[network]\ncommit_window = 20\nreveal_window = 20\n', "network.commit_window"),
    ('[network]\nmin_stake = -1\n', "network.min_stake"),
    ('[network]\nminer_stake = 10\nmin_stake = 100\n', "network.miner_stake"),
    ('[network]\ntask_reward = 10000000000000000000000\n', "network.task_reward"),
    ('[network]\nbogus = 1\n', "network.bogus"),
])
def test_bad_network_values_name_the_field(tmp_path, text, field):
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        load_scenario(write(tmp_path, text))


def test_windows_that_cannot_fit_the_prove_window_are_refused_by_name(tmp_path):
    # R = 20 blocks + relay margin 2 + 1 = 23 blocks = 276 s; a 240 s prove window cannot hold a round
    with pytest.raises(ScenarioError, match=r"network\.reveal_window does not fit game\.max_prove_duration"):
        load_scenario(write(tmp_path, "[game]\nmax_prove_duration = 240\n"))
    load_scenario(write(tmp_path, "[game]\nmax_prove_duration = 240\n[network]\ncommit_window = 5\nreveal_window = 10\n"))


@pytest.mark.slow
def test_network_faults_the_correct_claim_is_defended_on_a_dask_cluster():
    out = run_scenario(load_scenario(scenario_path("network_faults")))
    assert [(g.correct, g.status) for g in out.games] == [(True, "DEFENDER_WINS"), (True, "DEFENDER_WINS")]
    assert out.games[0].prover == "prover network" and all(out.checks.values()), out.checks
    miners = out.network["miners"]
    by = {m["behaviour"]: m for m in miners.values()}
    slashes = [e for e in out.timeline if e.step == "market" and "slashed" in e.detail]
    assert by["invalid"]["slashed"] > 0 and by["invalid"]["slashed"] % 10_000 == 0     # per round it committed in
    assert by["withholding"]["slashed"] > 0 and by["withholding"]["slashed"] % 1_000 == 0
    assert sum(m["slashed"] for m in miners.values()) == sum(int(e.detail.split()[2].replace(",", "")) for e in slashes)
    assert by["honest"]["earned"] > 0 and by["honest"]["slashed"] == 0
    assert by["crash"]["earned"] == by["crash"]["slashed"] == 0
    assert any("crashes mid-proof" in e.detail for e in out.timeline)
    quorum = [e.detail for e in out.timeline if e.step == "quorum"]
    assert quorum and quorum[0].startswith("3 of 4 verify nodes signed")          # the offline one did not
    proof = next(e for e in out.timeline if e.step == "proof" and e.actor == "prover network")
    game0 = out.snapshots[out.timeline.index(proof)]["games"][0]
    assert proof.time <= game0["deadline"] and game0["proposal_status"] == "CHALLENGED_AND_VALID_PROOF_PROVIDED"
    assert out.withdrawals == {3: "finalized"}


@pytest.mark.slow
def test_network_starved_the_correct_claim_loses_and_the_proposer_pays():
    out = run_scenario(load_scenario(scenario_path("network_starved")))
    assert [(g.correct, g.status) for g in out.games] == [(True, "CHALLENGER_WINS"), (True, "CHALLENGER_WINS")]
    assert out.summary.startswith("correct outputs of games [0, 1] were lost")
    start, end = out.balances["proposer"]
    assert start - end == ether("0.16")                 # both bonds: #0 to the challenger, #1 burned with its parent
    assert out.balances["address(0) (burned)"][1] == ether("0.08")
    assert out.network["relays"]["accepted"] == 0 and out.withdrawals == {3: "stuck"}
    assert all(out.checks.values()), out.checks
