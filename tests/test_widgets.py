"""Chapter 14 widgets without a browser: frames from a real run, the static copy, the circuit explorer,
the proof inspector, the trace viewer and the branch chooser."""
from __future__ import annotations

import dataclasses
import json
import random

import pytest

from lumoz_ref.curve import G1_GENERATOR, g1_add
from lumoz_ref.evm import execute, record_trace
from lumoz_ref.gadgets import less_than
from lumoz_ref.groth16 import Proof, prove, setup
from lumoz_ref.r1cs import R1CS, UnsatisfiedConstraint
from lumoz_ref.scenarios import bundled_scenario_dir, load_scenario, run_scenario
from lumoz_ref.widgets import (FATES, PHASES, BadPort, BadWire, CircuitExplorer, DisputeStepper,
                               ProofInspector, UnknownFate, WidgetError, check_port, dashboard_notebook,
                               first_unsatisfied, phase_of, static_stepper_html, stepper_frames,
                               trace_states, with_fate)


@pytest.fixture(scope="module")
def honest(native_backend):
    "One real run of the bundled honest scenario, shared by this module."
    return run_scenario(load_scenario(bundled_scenario_dir() / "honest.toml"))


@pytest.fixture(scope="module")
def comparator():
    cs = R1CS("a < b")
    a, b = cs.public_input("a"), cs.public_input("b")
    lt = cs.private("lt")
    cs.assert_equal(lt, less_than(cs, a, b, 8), label="lt = [a < b]")
    return cs, cs.compute_witness({"a": 3, "b": 9})


@pytest.mark.slow
def test_frames_follow_the_timeline_of_a_real_run(honest):
    frames = stepper_frames(honest)
    assert len(frames) == len(honest.timeline)
    assert json.loads(json.dumps(frames)) == frames                     # JSON as it stands
    for frame, entry in zip(frames, honest.timeline):
        assert (frame["time"], frame["l1_block"], frame["detail"]) == (entry.time, entry.l1_block, entry.detail)
        assert frame["phase"] == phase_of(entry.step)
    first_proposal = next(f for f in frames if f["step"] == "proposal")
    assert [g["status"] for g in first_proposal["games"]] == ["IN_PROGRESS"]
    challenged = next(f for f in frames if f["step"] == "challenge" and f["detail"].startswith("challenges"))
    game = challenged["games"][0]
    assert game["proposal_status"] == "CHALLENGED"
    assert game["deadline"] == challenged["time"] + honest.scenario.max_prove_duration
    proven = next(f for f in frames if f["step"] == "proof")
    assert proven["proof"]["game"] == 0 and proven["games"][0]["prover"] == proven["actor"]
    assert frames[0]["proof"] is None and frames[0]["withdrawals"] == {"3": "initiated"}
    last = frames[-1]
    assert [g["status"] for g in last["games"]] == [g.status for g in honest.games]
    assert last["withdrawals"] == {str(b): s for b, s in honest.withdrawals.items()}


@pytest.mark.slow
def test_frames_use_snapshots_and_proofs_when_the_run_has_them(honest):
    n = len(honest.timeline)
    snaps = tuple({"games": [{"index": 0, "l2_block": 4, "correct": True, "status": "IN_PROGRESS",
                              "proposal_status": "UNCHALLENGED", "deadline": 1000 + i, "challenger": None,
                              "prover": "prover" if i >= n - 2 else None}],
                   "balances": {"alice": 10**18 * i},
                   "network": {"tasks": [{"task": "t", "game": 0, "round": 1, "commitments": ["m1"],
                                          "reveals": [], "signatures": i}],
                               "miners": {"m1": {"behaviour": "honest", "stake": "1", "earned": "0",
                                                 "slashed": "0"}}},
                   "withdrawals": {"3": f"s{i}"}} for i in range(n))
    proofs = ({"game": 0, "public_inputs": [{"name": "claim", "value": "0x12", "source": "the game"}],
               "a": "A", "b": "B", "c": "C"},)
    outcome = dataclasses.replace(honest)
    object.__setattr__(outcome, "snapshots", snaps)
    object.__setattr__(outcome, "proofs", proofs)
    frames = stepper_frames(outcome)
    assert [f["games"][0]["deadline"] for f in frames] == [1000 + i for i in range(n)]
    assert frames[3]["balances"] == {"alice": "3"} and frames[5]["network"]["tasks"][0]["signatures"] == 5
    assert frames[2]["withdrawals"] == {"3": "s2"}
    assert frames[0]["proof"] is None and frames[-1]["proof"] == proofs[0]


@pytest.mark.slow
def test_a_run_without_snapshots_is_refused(honest):
    outcome = dataclasses.replace(honest, snapshots=honest.snapshots[:-1])
    with pytest.raises(WidgetError, match="snapshots for"):
        stepper_frames(outcome)


@pytest.mark.slow
def test_frames_carry_the_runs_own_proof_record(honest):
    proven = next(f for f in stepper_frames(honest) if f["step"] == "proof")
    names = [q["name"] for q in proven["proof"]["public_inputs"]]
    assert names == ["pre_state_root", "post_state_root", "tx_commitment", "binding"]
    assert proven["proof"] == honest.proofs[0] and len(proven["proof"]["a"]) == 3


@pytest.mark.slow
def test_static_copy_holds_every_frame_and_loads_nothing(honest):
    frames = stepper_frames(honest)
    page = static_stepper_html(frames)
    data = page.split('class="lz-frames">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data.replace("<\\/", "</")) == frames
    assert "src=" not in page and "http" not in page
    bundle = DisputeStepper(honest)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert json.dumps(frames[-1]["detail"])[1:-1] in bundle["text/html"]


@pytest.mark.slow
def test_stepper_buttons_move_the_view(honest):
    stepper = DisputeStepper(honest, runner=lambda s: pytest.fail("no replay expected"))
    stepper.forward.click(); stepper.forward.click(); stepper.back.click()
    assert stepper.view.index == stepper.slider.value == 1
    stepper.show(10**6)
    assert stepper.view.index == len(stepper.frames) - 1


@pytest.mark.slow
def test_branch_chooser_replays_with_the_chosen_fate(honest):
    seen = []
    def runner(scenario):
        seen.append(scenario)
        return honest
    stepper = DisputeStepper(honest, runner=runner)
    stepper.fate.value = "no proof"
    assert seen == [with_fate(honest.scenario, "no proof")] and not seen[0].prover_enabled
    assert stepper.frames[stepper.view.index]["step"] == "challenge"
    assert "no proof" in stepper.result.value


def test_with_fate_changes_only_what_each_fate_says(comparator):
    base = load_scenario(bundled_scenario_dir() / "honest.toml")
    fields = ("prover_enabled", "prover_honest", "proving_time", "front_runner")
    got = {fate: tuple(getattr(with_fate(base, fate), f) for f in fields) for fate in FATES}
    assert got["honest proof"] == (True, True, base.proving_time, False)
    assert got["no proof"] == (False, True, base.proving_time, False)
    assert got["invalid proof"] == (True, False, base.proving_time, False)
    assert got["late proof"][2] > base.max_prove_duration and got["late proof"][0]
    assert got["front-runner"] == (True, True, base.proving_time, True)
    quiet = dataclasses.replace(base, challenge_honest=(), challenger_enabled=False)
    assert with_fate(quiet, "no proof").challenge_honest == base.proposal_blocks[:1]
    assert with_fate(quiet, "no proof").challenger_enabled


@pytest.mark.parametrize("fate", ["", "No proof", "bribe the judge", None])
def test_unknown_fate_is_refused_by_name(fate):
    base = load_scenario(bundled_scenario_dir() / "honest.toml")
    with pytest.raises(UnknownFate, match="unknown fate"):
        with_fate(base, fate)


def test_circuit_explorer_marks_the_first_unsatisfied_constraint(comparator):
    cs, witness = comparator
    explorer = CircuitExplorer(cs, witness)
    assert explorer.bad is None and "all constraints hold" in explorer.status.value   # no false alarm
    lt_wire = cs.wire_names.index("lt")
    bad = explorer.set_wire(lt_wire, 0)
    assert bad == first_unsatisfied(cs, explorer.witness) and cs.labels[bad] == "lt = [a < b]"
    assert f"constraint {bad}" in explorer.status.value and "first unsatisfied" in explorer.table.value
    explorer.set_wire(lt_wire, 1)
    assert explorer.bad is None
    bit = next(i for i, n in enumerate(cs.wire_names) if n.startswith("lt.d"))
    explorer.wire.value = bit
    explorer.value.value = "2"                          # the Text control, as a reader types
    assert explorer.witness[bit] == 2 and explorer.bad is not None
    with pytest.raises(UnsatisfiedConstraint) as failure:   # the R1CS's own verdict, the same index
        cs.check(explorer.witness)
    assert failure.value.index == explorer.bad


def test_circuit_explorer_refuses_bad_wires(comparator):
    cs, witness = comparator
    explorer = CircuitExplorer(cs, witness)
    for wire, value in [(0, 5), (cs.n_wires, 1), (1, -1), (1, 2**300), ("1", 1)]:
        with pytest.raises(BadWire):
            explorer.set_wire(wire, value)
    with pytest.raises(BadWire, match="wires"):
        CircuitExplorer(cs, witness[:-1])
    explorer.value.value = "not a number"
    assert "not an integer" in explorer.status.value and explorer.bad is None


def test_proof_inspector_sees_a_tampered_c(comparator):
    cs, witness = comparator
    pk, vk = setup(cs, seed=14)
    proof = prove(pk, cs, witness, rng=random.Random(15))
    public = cs.public_signals(witness)
    good = ProofInspector(vk, public, proof)
    assert good.holds and good.verified and "both sides match" in good.html
    bad = ProofInspector(vk, public, Proof(proof.a, proof.b, g1_add(proof.c, G1_GENERATOR)))
    assert not bad.holds and not bad.verified and "the sides differ" in bad.html
    assert bad.terms["e(A, B)"] == good.terms["e(A, B)"] and bad.terms["e(C, δ)"] != good.terms["e(C, δ)"]


def test_trace_states_rebuild_what_the_interpreter_ended_with():
    # PUSH1 3 PUSH1 4 ADD DUP1 PUSH1 0 SSTORE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN, then a program
    # that leaves words on the stack
    for code in (bytes.fromhex("6003600401" "80600055" "60005260206000f3"),
                 bytes.fromhex("600160026003" "9050" "6005" "00")):
        result = execute(code, gas=100_000, tracer=record_trace)
        states = trace_states(result.trace)
        assert len(states) == len(result.trace)
        assert states[-1]["stack"] == list(result.stack)
        assert states[-1]["storage"] == result.storage


def test_dashboard_pieces(tmp_path):
    import nbformat
    path = dashboard_notebook(tmp_path / "d" / "dash.ipynb", l2_blocks=4)
    nb = nbformat.read(path, 4)
    assert "dashboard_app(l2_blocks=4)" in nb.cells[-1].source
    for port in (0, 80, 70000, True, "8866", 8866.0):
        with pytest.raises(BadPort):
            check_port(port)
    import socket
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        with pytest.raises(BadPort, match="taken"):
            check_port(held.getsockname()[1])


def test_phases_cover_the_runner_steps():
    for step in ("proposal", "challenge", "sync", "inputs", "request", "proof", "resolution", "bonds",
                 "withdrawal", "batch"):
        assert phase_of(step) in PHASES
