"""Scenario files (chapter 11): the strict loader's errors name the field, every count, window and amount is
bounded, and any file gives a Scenario or a ScenarioError, quickly; the bundled scenarios run end to end with real
proofs and end as their descriptions say; the proposer only proposes ranges that fit one proof."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lumoz_ref.dispute as dispute
from lumoz_ref.dispute import (DISPUTE_CIRCUIT, BindingProofSystem)
from lumoz_ref.scenarios import (MAX_AMOUNT, MAX_DURATION, MAX_L2_BLOCKS, MAX_SCENARIO_BYTES, ScenarioError, build_l2, load_scenario, run_scenario)
from lumoz_ref.evm_circuit import CircuitLimitExceeded, apply_block, build_block_circuit, check_block_fits
from lumoz_ref.l1 import ether, groth16_verifier_gas
from lumoz_ref.rollup import circuit_transactions

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"
MINIMAL = """
[scenario]
name = "t"
[l2]
blocks = 4
proposal_interval = 2
"""


pytestmark = pytest.mark.usefixtures("native_backend")   # the module runs on MCL when installed


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
    # upper bounds: a run must stay finite
    ("[game]\nmax_challenge_duration = 10000000000\n", "game.max_challenge_duration"),
    ("[game]\nmax_prove_duration = 604801\n", "game.max_prove_duration"),
    ("[prover]\nproving_time = 99999999999999999999\n", "prover.proving_time"),
    ("[challenger]\nreaction_time = 700000\n", "challenger.reaction_time"),
    ("[delays]\ndelayed_weth = 31536000\n", "delays.delayed_weth"),
    # amounts: finite, whole, at most what an actor holds
    ('[game]\ninit_bond = "Infinity ether"\n', "game.init_bond"),
    ('[game]\ninit_bond = "-Infinity ether"\n', "game.init_bond"),
    ('[game]\ninit_bond = "1E+999999999 ether"\n', "game.init_bond"),
    ('[game]\nchallenger_bond = "NaN ether"\n', "game.challenger_bond"),
    ('[game]\nchallenger_bond = "sNaN gwei"\n', "game.challenger_bond"),
    ('[game]\ninit_bond = "101 ether"\n', "game.init_bond"),
    ("[game]\ninit_bond = 1000000000000000000000000000000\n", "game.init_bond"),
    ('[l1]\ngas_price = "1E+40 wei"\n', "l1.gas_price"),
    ("[sequencer]\nfaulty_output_at = [65]\n", "sequencer.faulty_output_at"),
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


@pytest.mark.parametrize("blocks", [0, MAX_L2_BLOCKS + 1, 10**9, 10**400])
def test_rejects_l2_blocks_out_of_bounds_at_once(tmp_path, blocks):
    "An enormous l2.blocks used to allocate a set of that size while loading."
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match=f"l2.blocks must be between 1 and {MAX_L2_BLOCKS}"):
        load_scenario(write(tmp_path, f'[scenario]\nname = "t"\n[l2]\nblocks = {blocks}\nproposal_interval = 1\n'))
    assert time.perf_counter() - t0 < 1


@pytest.mark.parametrize("before, after, field", [
    ('name = "t"', 'name = "t"\nseed = 18446744073709551616', "scenario.seed"),
    ("proposal_interval = 2", "proposal_interval = 2\nwithdrawal_blocks = [1, 1]", "l2.withdrawal_blocks"),
    ('name = "t"', 'name = "' + "t" * 2001 + '"', "scenario.name"),
])
def test_rejects_bad_field_in_minimal_sections(tmp_path, before, after, field):
    with pytest.raises(ScenarioError, match=field):
        load_scenario(write(tmp_path, MINIMAL.replace(before, after)))


def test_rejects_too_many_withdrawals(tmp_path):
    blocks = list(range(1, 33))
    with pytest.raises(ScenarioError, match="message passer holds 31"):
        load_scenario(write(tmp_path, f'[scenario]\nname = "t"\n[l2]\nblocks = 40\nproposal_interval = 1\nwithdrawal_blocks = {blocks}\n'))


def test_rejects_unaffordable_bonds_naming_the_actor(tmp_path):
    with pytest.raises(ScenarioError, match=r"proposer may need 120 ETH.*game.init_bond"):
        load_scenario(write(tmp_path, MINIMAL + '[game]\ninit_bond = "60 ether"\n'))
    with pytest.raises(ScenarioError, match="challenger may need"):
        load_scenario(write(tmp_path, MINIMAL + '[game]\nchallenger_bond = "51 ether"\n'))
    with pytest.raises(ScenarioError, match="l1.gas_price"):       # gas alone: 1M gas at 10^5 gwei is 100 ETH a transaction
        load_scenario(write(tmp_path, MINIMAL + '[l1]\ngas_price = "100000 gwei"\n'))


def test_unaffordable_after_the_proposer_splits_fails_before_any_setup(monkeypatch):
    "One planned game is affordable; the ranges that fit one proof make two, which are not: refused before the circuit setup."
    s = dataclasses.replace(load_scenario(SCENARIOS / "honest.toml"), proposal_interval=8, challenge_honest=(8,),
                            init_bond=ether(60))

    def no_setup(*args):
        raise AssertionError("the circuit setup ran before the scenario was checked")
    monkeypatch.setattr(dispute, "dispute_circuit_keys", no_setup)
    with pytest.raises(ScenarioError, match="proposer may need 120 ETH .* in 2 games"):
        run_scenario(s)


def test_rejects_a_directory(tmp_path):
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_rejects_a_device_file():
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(os.devnull)


def test_rejects_an_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL)

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "open", refuse)   # chmod 000 does not stop root: refuse the open itself
    with pytest.raises(ScenarioError, match="permission denied"):
        load_scenario(path)


def test_rejects_a_huge_file_without_reading_it_all(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + "#" * MAX_SCENARIO_BYTES, encoding="utf-8")
    with pytest.raises(ScenarioError, match="larger than 64 KiB"):
        load_scenario(path)


@pytest.mark.parametrize("text, why", [
    ("[l2]\nblocks = " + "9" * 5000 + "\n", "malformed TOML"),                # int() refuses 5000 digits: a ValueError
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),            # tomllib recurses
    ("[scenario]\nname = 1e999\n", "scenario.name"),
])
def test_rejects_pathological_toml(tmp_path, text, why):
    with pytest.raises(ScenarioError, match=why):
        load_scenario(write(tmp_path, text))


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
    assert out.games[0].challenger == "challenger" and out.games[0].prover == "prover network"
    assert all(out.checks.values()), out.checks
    assert out.anchor_l2_block == 8
    start, end = out.balances["challenger"]
    assert start - end == ether(1)                    # the mistaken challenger lost its bond ...
    start, end = out.balances["prover network"]
    assert end - start == ether(1)                    # ... to the prover network (its verifier oracle proved)
    assert [e.step for e in out.timeline if e.actor == "verify nodes"][:3] == ["sync", "inputs", "task"]
    steps = [e.step for e in out.timeline]
    assert steps.index("commit") < steps.index("reveal") < steps.index("quorum") < steps.index("proof")
    assert out.network["miners"]["m0"]["earned"] > 0 and out.checks["tokens_conserved"]
    assert out.l1_gas["relay"][0] >= 1 and out.l1_gas["relay"][1] > groth16_verifier_gas(4)   # four public inputs: chapter 08
    assert [p["game"] for p in out.proofs] == [0] and len(out.proofs[0]["public_inputs"]) == 4
    assert len(out.snapshots) == len(out.timeline)
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
    assert any("settles: EXPIRED" in e.detail for e in out.timeline)    # the miner's proof came after the last round
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
    assert out.games[0].prover == "prover network" and out.games[0].status == "DEFENDER_WINS"
    start, end = out.balances["front-runner"]
    assert 0 < start - end < ether("0.01")                  # it paid gas for nothing
    start, end = out.balances["prover network"]
    assert end - start == ether(1)                           # the challenger's bond (the claim is sent by the resolver)
    assert all(out.checks.values()), out.checks


@pytest.mark.slow
def test_runs_are_deterministic_across_processes():
    "Same file, two interpreters with different hash seeds: byte-identical JSON (gas and block hashes included)."
    # proofs are part of the L1 transactions (their calldata gas), so reproducible runs need reproducible keys:
    # explicitly insecure ones, as only a test may use
    code = ("import contextlib, json, sys\n"
            "from lumoz_ref.curve import BackendUnavailable, set_backend\n"
            "from lumoz_ref.dispute import StateTransitionProofSystem\n"
            "from lumoz_ref.scenarios import build_l2, load_scenario, run_scenario\n"
            "with contextlib.suppress(BackendUnavailable): set_backend('native')\n"     # the same keys and proofs, faster
            "s = load_scenario(sys.argv[1]); l2 = build_l2(s); "
            "ps = StateTransitionProofSystem(l2.devnet.config, l2.genesis, insecure_seed=2025); "
            "print(json.dumps(run_scenario(s, proof_system=ps).to_dict(), sort_keys=True))")
    outputs = [subprocess.run([sys.executable, "-c", code, str(SCENARIOS / "front_running.toml")], check=True,
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["scenario"] == "front_running"


def test_dishonest_prover_cannot_prove_the_fraud():
    s = dataclasses.replace(load_scenario(SCENARIOS / "fraud.toml"), prover_honest=False)
    out = run_scenario(s)
    refusals = [e.detail for e in out.timeline if e.actor.startswith("miner") and "cannot prove" in e.detail]
    assert len(refusals) == 2, refusals
    assert any("UnsatisfiedConstraint" in r and "post-state root matches" in r and "game #0" in r
               for r in refusals)                  # no transactions lead there
    assert any("ProverStateMismatch" in r and "game #1" in r for r in refusals)   # the child starts from a wrong state
    assert out.summary.startswith("fraud caught") and all(out.checks.values())


def test_binding_circuit_lets_a_dishonest_prover_win():
    s = dataclasses.replace(load_scenario(SCENARIOS / "fraud.toml"), prover_honest=False)
    out = run_scenario(s, proof_system=BOOKKEEPING_PROOFS)
    assert out.summary.startswith("UNSAFE") and not out.checks["no_wrong_output_valid"]


def test_proposer_splits_a_range_that_would_not_fit_one_proof():
    "Blocks 1..8 (nine transactions) overflow one proof; the proposer proposes block 4 first, and each range is provable."
    s = dataclasses.replace(load_scenario(SCENARIOS / "honest.toml"), proposal_interval=8, challenge_honest=(8,))
    l2 = build_l2(s)
    node = l2.verify_node
    with pytest.raises(CircuitLimitExceeded):                      # what a fixed interval of 8 would ask of one proof
        check_block_fits(DISPUTE_CIRCUIT, node.state_at(0).circuit_state(), circuit_transactions(node, 0, 8))
    assert l2.proposal_blocks == (4, 8)
    for first, last in zip((0,) + l2.proposal_blocks, l2.proposal_blocks):
        state = node.state_at(first).circuit_state()
        run = apply_block(state, circuit_transactions(node, first, last), DISPUTE_CIRCUIT.fee_recipient)
        assert run.post_state_root == int.from_bytes(node.output_at(last).state_root, "big")
        circuit = build_block_circuit(DISPUTE_CIRCUIT, state, run)
        assert circuit.r1cs.is_satisfied(circuit.witness), (first, last)
    out = run_scenario(s)                                          # one real proof: the challenged range 5..8
    assert [(g.l2_block_number, g.correct, g.status) for g in out.games] == [(4, True, "DEFENDER_WINS"), (8, True, "DEFENDER_WINS")]
    assert out.games[1].prover == "prover network" and all(out.checks.values()), out.checks
    assert any("one more block would not fit one proof" in e.detail for e in out.timeline if e.step == "proposal")


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
                         st.text(max_size=12), st.sampled_from(['"0.08 ether"', '"1 gwei"', '"-1 eth"', '"x ether"',
                                                               '"Infinity ether"', '"1E+999999999 ether"', '"NaN gwei"']),
                         st.lists(st.integers(-3, 12), max_size=4))
_sections = {"scenario": ["name", "description", "seed", "extra"], "l2": ["blocks", "proposal_interval", "withdrawal_blocks"],
             "sequencer": ["faulty_output_at"], "game": ["max_challenge_duration", "max_prove_duration", "init_bond",
                                                         "challenger_bond"],
             "delays": ["dispute_game_finality", "delayed_weth", "proof_maturity"], "challenger": ["enabled", "reaction_time"],
             "prover": ["enabled", "proving_time", "honest"], "mempool": ["front_runner"], "l1": ["gas_price"], "bogus": ["x"],
             "network": ["miners", "verify_nodes", "commit_window", "reveal_window", "min_stake", "executor", "workers"]}


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
    assert_bounded(scenario)


def assert_bounded(scenario):
    assert 1 <= scenario.l2_blocks <= MAX_L2_BLOCKS
    assert all(0 <= d <= MAX_DURATION for d in (scenario.max_challenge_duration, scenario.max_prove_duration,
                                                 scenario.finality_delay, scenario.weth_delay, scenario.proof_maturity_delay,
                                                 scenario.reaction_time, scenario.proving_time))
    assert all(0 <= a <= MAX_AMOUNT for a in (scenario.init_bond, scenario.challenger_bond, scenario.gas_price))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_loader_survives_arbitrary_bytes(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("bytes") / "s.toml"
    path.write_bytes(blob)
    with pytest.raises(ScenarioError):
        load_scenario(path)


_HOSTILE = ["1" + "0" * 40, "-1", "0", "1e999", "-inf", "nan", "3.5", "true", "[]", "[1, 1]", "[0]", "[65]", "{}", '""',
            "18446744073709551616", "99999999999999999999", '"Infinity ether"', '"1E+999999999 ether"', '"NaN ether"',
            '"sNaN gwei"', '"-0 ether"', '"1e-30 ether"', '"100.000000000000000001 ether"', '"99 ether"',
            "[" * 200 + "]" * 200, '"' + "x" * 3000 + '"', "1979-05-27T07:32:00Z", "'1 ether'"]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(SCENARIOS.glob("*.toml"))), st.data())
def test_mutated_scenario_files_load_or_raise_scenario_error_quickly(tmp_path_factory, original, data):
    "Bundled files with values replaced by hostile ones, lines dropped or repeated, bytes spliced in, or cut short."
    lines = original.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        how = data.draw(st.sampled_from(["value", "value", "drop", "repeat", "cut"]), label="how")
        if how == "value" and "=" in lines[i]:
            value = data.draw(st.one_of(st.sampled_from(_HOSTILE), st.integers(-2**80, 2**80).map(str)), label="value")
            lines[i] = lines[i].split("=")[0] + "= " + value
        elif how == "drop":
            del lines[i]
        elif how == "repeat":
            lines.insert(i, lines[i])
        elif how == "cut":
            lines[i] = lines[i][:data.draw(st.integers(0, len(lines[i])), label="at")]
        if not lines:
            lines = [""]
    blob = "\n".join(lines).encode("utf-8")
    if data.draw(st.booleans(), label="splice bytes"):
        at = data.draw(st.integers(0, len(blob)), label="at")
        blob = blob[:at] + data.draw(st.binary(max_size=8), label="bytes") + blob[at:]
    path = tmp_path_factory.mktemp("mutated") / "s.toml"
    path.write_bytes(blob)
    t0 = time.perf_counter()
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        scenario = None
    assert time.perf_counter() - t0 < 2, "loading must be quick, whatever the file"
    if scenario is not None:
        assert_bounded(scenario)
