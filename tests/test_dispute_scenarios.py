"""Scenario files (chapter 11): the strict loader's errors name the field; the bundled scenarios run end to end
with real proofs and end as their descriptions say."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumoz_ref.dispute import BindingProofSystem, ScenarioError, load_scenario, run_scenario
from lumoz_ref.l1 import ether, groth16_verifier_gas

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"
MINIMAL = """
[scenario]
name = "t"
[l2]
blocks = 4
proposal_interval = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_minimal_scenario_takes_the_documented_defaults(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL))
    assert s.proposal_blocks == (2, 4)
    assert (s.init_bond, s.challenger_bond) == (ether("0.001"), ether("0.001"))


@pytest.mark.parametrize("extra, field", [
    ("[game]\nbogus = 1\n", "game.bogus"),
    ("[gaem]\ninit_bond = 1\n", "[gaem]"),
    ('[game]\ninit_bond = -5\n', "game.init_bond"),
    ('[game]\nchallenger_bond = "-1 ether"\n', "game.challenger_bond"),
    ('[game]\ninit_bond = "0.5 bitcoin"\n', "game.init_bond"),
    ('[game]\ninit_bond = "0.0000000000000000001 ether"\n', "game.init_bond"),
    ("[game]\nmax_prove_duration = 5\n", "game.max_prove_duration"),
    ("[game]\nmax_challenge_duration = 0\n", "game.max_challenge_duration"),
    ('[prover]\nproving_time = "fast"\n', "prover.proving_time"),
    ("[prover]\nhonest = 1\n", "prover.honest"),
    ("[challenger]\nreaction_time = true\n", "challenger.reaction_time"),
    ("[sequencer]\nfaulty_output_at = [3]\n", "sequencer.faulty_output_at"),
    ("[challenger]\nchallenge_honest = [0]\n", "challenger.challenge_honest"),
])
def test_rejects_bad_field_naming_it(tmp_path, extra, field):
    with pytest.raises(ScenarioError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(write(tmp_path, MINIMAL + extra))


def test_rejects_withdrawal_after_the_last_block(tmp_path):
    with pytest.raises(ScenarioError, match="l2.withdrawal_blocks"):
        load_scenario(write(tmp_path, MINIMAL.replace("proposal_interval = 2", "proposal_interval = 2\nwithdrawal_blocks = [9]")))


def test_rejects_missing_required_key(tmp_path):
    with pytest.raises(ScenarioError, match="l2.blocks is required"):
        load_scenario(write(tmp_path, '[scenario]\nname = "t"\n[l2]\nproposal_interval = 2\n'))


def test_rejects_proposal_interval_beyond_blocks(tmp_path):
    with pytest.raises(ScenarioError, match="l2.proposal_interval"):
        load_scenario(write(tmp_path, '[scenario]\nname = "t"\n[l2]\nblocks = 2\nproposal_interval = 3\n'))


def test_rejects_malformed_toml(tmp_path):
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_scenario(write(tmp_path, MINIMAL + "[game\n"))


def test_rejects_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_rejects_binary_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


@pytest.mark.parametrize("name", ["honest", "fraud", "prover_timeout", "front_running", "late_challenger"])
def test_bundled_scenarios_load(name):
    assert load_scenario(SCENARIOS / f"{name}.toml").name == name


BOOKKEEPING_PROOFS = BindingProofSystem(seed=7)


def run(name):
    return run_scenario(load_scenario(SCENARIOS / f"{name}.toml"))


def test_honest_scenario_every_output_stands():
    out = run("honest")
    assert [g.status for g in out.games] == ["DEFENDER_WINS", "DEFENDER_WINS"]
    assert out.games[0].challenger == "challenger" and out.games[0].prover == "prover"
    assert all(out.checks.values()), out.checks
    assert out.anchor_l2_block == 8
    start, end = out.balances["challenger"]
    assert start - end == ether(1)                    # the mistaken challenger lost its bond ...
    start, end = out.balances["prover"]
    assert end - start == ether(1)                    # ... to the prover
    assert [e.step for e in out.timeline if e.actor == "prover"][:4] == ["sync", "inputs", "request", "proof"]
    assert out.l1_gas["prove"][0] == 1 and out.l1_gas["prove"][1] > groth16_verifier_gas(4)   # four public inputs: chapter 08
    assert out.withdrawals == {3: "finalized"}
    start, end = out.balances["alice"]
    assert end - start == ether(1)
    json.dumps(out.to_dict())


def test_fraud_scenario_invalidates_the_output_and_its_child():
    out = run("fraud")
    assert [(g.correct, g.status) for g in out.games] == [(False, "CHALLENGER_WINS"), (False, "CHALLENGER_WINS")]
    assert "iZKG-005" in out.games[1].why
    assert all(out.checks.values()), out.checks
    assert out.anchor_l2_block == 0
    assert out.summary.startswith("fraud caught")
    assert not any(e.step == "proof" and "submits" in e.detail for e in out.timeline)
    assert out.withdrawals == {6: "stuck"}
    start, end = out.balances["alice"]
    assert end == start


def test_prover_timeout_scenario_loses_a_correct_output():
    out = run("prover_timeout")
    assert [(g.correct, g.status) for g in out.games] == [(True, "CHALLENGER_WINS"), (True, "CHALLENGER_WINS")]
    assert any("ProofTooLate" in e.detail for e in out.timeline)
    assert out.balances["address(0) (burned)"][1] == ether("0.08")      # the orphaned child's bond
    assert out.withdrawals == {3: "stuck"}
    assert all(out.checks.values()), out.checks


def test_late_challenger_lets_the_wrong_output_stand():
    out = run("late_challenger")
    assert out.summary.startswith("UNSAFE") and not out.checks["no_wrong_output_valid"]
    assert all("ChallengeWindowClosed" in e.detail for e in out.timeline if e.actor == "challenger")
    assert out.anchor_l2_block == 8                           # the wrong chain of outputs became the anchor
    assert out.checks["eth_conserved"] and out.checks["bonds_conserved"]


def test_front_runner_cannot_take_the_provers_reward():
    out = run("front_running")
    stolen = [e for e in out.timeline if e.actor == "front-runner"]
    assert stolen and all("InvalidProof" in e.detail for e in stolen)
    assert out.games[0].prover == "prover" and out.games[0].status == "DEFENDER_WINS"
    start, end = out.balances["front-runner"]
    assert 0 < start - end < ether("0.01")                  # it paid gas for nothing
    start, end = out.balances["prover"]
    assert end - start > ether("0.99")                       # the challenger's bond, minus gas
    assert all(out.checks.values()), out.checks


@pytest.mark.slow
def test_runs_are_deterministic_across_processes():
    "Same file, two interpreters with different hash seeds: byte-identical JSON (gas and block hashes included)."
    code = ("import json, sys; from lumoz_ref.dispute import load_scenario, run_scenario; "
            "print(json.dumps(run_scenario(load_scenario(sys.argv[1])).to_dict(), sort_keys=True))")
    outputs = [subprocess.run([sys.executable, "-c", code, str(SCENARIOS / "front_running.toml")], check=True,
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["scenario"] == "front_running"


def test_dishonest_prover_cannot_prove_the_fraud():
    s = dataclasses.replace(load_scenario(SCENARIOS / "fraud.toml"), prover_honest=False)
    out = run_scenario(s)
    refusals = [e.detail for e in out.timeline if e.actor == "prover" and e.step == "proof"]
    assert len(refusals) == 2, refusals
    assert "UnsatisfiedConstraint" in refusals[0] and "post-state root matches" in refusals[0]   # no transactions lead there
    assert "ProverStateMismatch" in refusals[1]     # the child starts from the wrong state, which the prover never had
    assert out.summary.startswith("fraud caught") and all(out.checks.values())


def test_binding_circuit_lets_a_dishonest_prover_win():
    s = dataclasses.replace(load_scenario(SCENARIOS / "fraud.toml"), prover_honest=False)
    out = run_scenario(s, proof_system=BOOKKEEPING_PROOFS)
    assert out.summary.startswith("UNSAFE") and not out.checks["no_wrong_output_valid"]


def test_range_beyond_the_circuit_is_refused_by_name():
    s = dataclasses.replace(load_scenario(SCENARIOS / "honest.toml"), proposal_interval=8, challenge_honest=(8,))
    out = run_scenario(s)
    refusal = next(e.detail for e in out.timeline if e.actor == "prover" and e.step == "proof")
    assert "CircuitLimitExceeded" in refusal and "max_txs = 5" in refusal, refusal
    assert [(g.correct, g.status) for g in out.games] == [(True, "CHALLENGER_WINS")]


def test_progress_is_reported():
    seen = []
    run_scenario(load_scenario(SCENARIOS / "fraud.toml"), progress=lambda done, total, msg: seen.append((done, total)))
    assert seen and all(0 < d <= t for d, t in seen) and seen[-1][0] == seen[-1][1]


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.integers(2, 8), interval=st.integers(1, 4), faulty=st.sets(st.integers(1, 8), max_size=2),
       reaction=st.sampled_from([0, 60, 5000]), proving=st.sampled_from([0, 300, 2000]),
       challenger=st.booleans(), prover=st.booleans(), honest_prover=st.booleans(), withdrawals=st.sets(st.integers(1, 8), max_size=2))
def test_random_scenarios_keep_the_books(blocks, interval, faulty, reaction, proving, challenger, prover, honest_prover, withdrawals):
    interval = min(interval, blocks)
    proposed = set(range(interval, blocks + 1, interval))
    base = load_scenario(SCENARIOS / "fraud.toml")
    s = dataclasses.replace(base, l2_blocks=blocks, proposal_interval=interval, faulty_output_at=tuple(sorted(faulty & proposed)),
                            reaction_time=reaction, proving_time=proving, challenger_enabled=challenger,
                            prover_enabled=prover, prover_honest=honest_prover, challenge_honest=(),
                            withdrawal_blocks=tuple(sorted(w for w in withdrawals if w <= blocks)))
    out = run_scenario(s, proof_system=BOOKKEEPING_PROOFS)   # the books, not the proofs: the binding circuit keeps examples fast
    assert out.checks["eth_conserved"] and out.checks["bonds_conserved"] and out.checks["games_hold_no_eth"]
    assert out.checks["withdrawals_only_against_true_outputs"]
    if challenger and reaction < s.max_challenge_duration and honest_prover:
        assert out.checks["no_wrong_output_valid"], out.summary      # a watching challenger and honest provers: safe
    json.dumps(out.to_dict())


_toml_values = st.one_of(st.integers(-2**70, 2**70), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=12), st.sampled_from(['"0.08 ether"', '"1 gwei"', '"-1 eth"', '"x ether"']),
                         st.lists(st.integers(-3, 12), max_size=4))
_sections = {"scenario": ["name", "description", "seed", "extra"], "l2": ["blocks", "proposal_interval", "withdrawal_blocks"],
             "sequencer": ["faulty_output_at"], "game": ["max_challenge_duration", "max_prove_duration", "init_bond",
                                                         "challenger_bond"],
             "delays": ["dispute_game_finality", "delayed_weth", "proof_maturity"], "challenger": ["enabled", "reaction_time"],
             "prover": ["enabled", "proving_time", "honest"], "mempool": ["front_runner"], "l1": ["gas_price"], "bogus": ["x"]}


def _render(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not value.startswith('"'):
        return json.dumps(value)
    return json.dumps(value) if isinstance(value, list) else str(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(_sections)), st.data(), max_size=6), st.data())
def test_loader_only_ever_raises_scenario_error(tmp_path_factory, picked, data):
    lines = []
    for section in picked:
        lines.append(f"[{section}]")
        for key in data.draw(st.lists(st.sampled_from(_sections[section]), unique=True, max_size=4)):
            lines.append(f"{key} = {_render(data.draw(_toml_values))}")
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return
    assert scenario.max_prove_duration >= 12 and scenario.init_bond >= 0 and scenario.challenger_bond >= 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_loader_survives_arbitrary_bytes(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("bytes") / "s.toml"
    path.write_bytes(blob)
    with pytest.raises(ScenarioError):
        load_scenario(path)
