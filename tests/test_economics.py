"""Chapter 15 (economics): the table's invariants, the default file, the measured inputs, the bisection lab,
and parameter files refused by reason."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumoz_ref.economics import (DESIGNS, ChessClock, DataAvailability, EconomicsError, EconomicsParams, L1Gas,
                                 LabError, bisect, bonds_to_depth_eth, burden_of_proof_lab, cost_per_tx_wei,
                                 economics_table, faulty_states, honest_states, latencies_s, load_params,
                                 measure_bytes_per_tx, measure_game_gas, one_step, padded, sum_program)

DEFAULT_FILE = Path(__file__).parents[1] / "data" / "economics" / "default.toml"
PARAMS = EconomicsParams()
BOUNDED = settings(max_examples=30, deadline=None, derandomize=True)


def with_windows(challenge: int, prove: int, clock: int = 302_400, airgap: int = 0) -> EconomicsParams:
    return replace(PARAMS, hybrid=replace(PARAMS.hybrid, max_challenge_duration_s=challenge, max_prove_duration_s=prove),
                   optimistic=replace(PARAMS.optimistic, max_clock_duration_s=clock),
                   workload=replace(PARAMS.workload, airgap_s=airgap))


# --- the defaults and where they come from -------------------------------------------------------------------

def test_default_file_equals_the_code_defaults():
    assert load_params(DEFAULT_FILE) == PARAMS


def test_measured_defaults_are_todays_measurements():
    gas = measure_game_gas()
    assert gas == {k: getattr(L1Gas(), k) for k in gas}
    assert measure_bytes_per_tx() == DataAvailability().bytes_per_tx


def test_bond_formula_reproduces_the_documented_full_game_total():
    assert bonds_to_depth_eth(PARAMS.optimistic, 1) == pytest.approx(0.08)          # OP mainnet's init bond
    assert bonds_to_depth_eth(PARAMS.optimistic, 73) == pytest.approx(631.2, abs=0.1)  # "just over 631.2 ETH"


# --- the table -----------------------------------------------------------------------------------------------

def test_table_is_json_ready_with_every_design_and_volume():
    table = economics_table()
    text = json.dumps(table, allow_nan=False)
    assert json.loads(text)["designs"].keys() == set(DESIGNS)
    for design in DESIGNS:
        assert list(table["designs"][design]["cost_per_tx_usd"]) == [f"{v:g}" for v in PARAMS.workload.tps]
        assert all(c > 0 for c in table["designs"][design]["cost_per_tx_usd"].values())


def test_table_refuses_what_is_not_params():
    with pytest.raises(EconomicsError, match="expected EconomicsParams"):
        economics_table({"l1": {}})


@pytest.mark.parametrize("frequency", [0.0, 0.001, 0.01, 0.05])
@pytest.mark.parametrize("tps", PARAMS.workload.tps)
def test_hybrid_cost_between_optimistic_and_zk_for_low_challenge_rates(tps, frequency):
    optimistic, hybrid, zk = (cost_per_tx_wei(PARAMS, d, tps, frequency) for d in ("optimistic", "hybrid", "zk"))
    assert optimistic <= hybrid < zk


def test_hybrid_equals_optimistic_unchallenged_and_zk_when_every_output_is_challenged():
    assert cost_per_tx_wei(PARAMS, "hybrid", 1.0, 0.0) == cost_per_tx_wei(PARAMS, "optimistic", 1.0, 0.0)
    assert cost_per_tx_wei(PARAMS, "hybrid", 1.0, 1.0) == pytest.approx(cost_per_tx_wei(PARAMS, "zk", 1.0, 1.0))


def test_cost_per_tx_falls_with_volume():
    for design in DESIGNS:
        costs = [cost_per_tx_wei(PARAMS, design, v) for v in sorted(PARAMS.workload.tps)]
        assert costs == sorted(costs, reverse=True), design


windows = st.integers(1, 30 * 86_400)


@BOUNDED
@given(challenge=windows, prove=windows, airgap=st.integers(0, 7 * 86_400))
def test_hybrid_happy_path_latency_is_the_challenge_window(challenge, prove, airgap):
    assert latencies_s(with_windows(challenge, prove), "hybrid")["happy"] == challenge
    assert latencies_s(with_windows(challenge, prove, airgap=airgap), "hybrid")["happy"] == challenge + airgap


@BOUNDED
@given(c1=windows, c2=windows, p1=windows, p2=windows, k1=windows, k2=windows)
def test_latencies_are_monotone_in_the_windows(c1, c2, p1, p2, k1, k2):
    (c1, c2), (p1, p2), (k1, k2) = sorted((c1, c2)), sorted((p1, p2)), sorted((k1, k2))
    small, large = with_windows(c1, p1, k1), with_windows(c2, p2, k2)
    for design in ("optimistic", "hybrid"):
        a, b = latencies_s(small, design), latencies_s(large, design)
        assert all(a[path] <= b[path] for path in a), design
        assert a["happy"] <= a["challenged_correct"] <= a["challenged_wrong"]


# --- the burden-of-proof lab ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def program_states(n: int):
    code = sum_program(n)
    return code, honest_states(code)


def test_one_step_reproduces_every_traced_step():
    code, states = program_states(6)
    assert all(one_step(code, a) == b for a, b in zip(states, states[1:]))
    assert dict(states[-1].storage) == {0: 21}


@BOUNDED
@given(n=st.integers(1, 25), data=st.data(), defender_lies=st.booleans())
def test_bisection_finds_the_first_differing_step_in_ceil_log2_rounds(n, data, defender_lies):
    code, states = program_states(n)
    steps = len(states) - 1
    k = data.draw(st.integers(1, steps), label="first wrong step")
    honest = padded(states)
    wrong = faulty_states(code, honest, k)
    defender, challenger = (wrong, honest) if defender_lies else (honest, wrong)
    liar = "defender" if defender_lies else "challenger"
    delays = {"defender": 600, "challenger": 600, liar: None}
    result = bisect(code, defender, challenger, ChessClock(302_400), delays)
    assert result.first_disputed_step == k
    assert result.rounds == len(result.moves) == math.ceil(math.log2(steps))
    assert result.winner == ("challenger" if defender_lies else "defender")
    assert max(result.clock_used_s) <= 302_400


def test_bisection_refuses_an_undisputed_output():
    code, states = program_states(4)
    honest = padded(states)
    with pytest.raises(LabError, match="nothing to dispute"):
        bisect(code, honest, honest, ChessClock(100), {"defender": 1, "challenger": 1})


def test_lab_the_honest_side_wins_every_design():
    rows = burden_of_proof_lab(n=5, k=20)
    by = {(r["design"], r["output"]): r for r in rows}
    assert by[("optimistic (lab)", "correct")]["winner"] == "defender"
    assert by[("optimistic (lab)", "faulty")]["winner"] == "challenger"
    assert by[("optimistic (lab)", "faulty")]["first_disputed_step"] == 20
    assert by[("hybrid", "correct")]["winner"] == "DEFENDER_WINS" and by[("hybrid", "correct")]["l1_txs"] == 3
    assert by[("hybrid", "faulty")]["winner"] == "CHALLENGER_WINS" and by[("hybrid", "faulty")]["l1_txs"] == 2
    hybrid_faulty = by[("hybrid", "faulty")]["seconds_to_finality"]
    assert hybrid_faulty > PARAMS.hybrid.max_prove_duration_s                         # it waits out the deadline
    assert by[("zk (validity)", "faulty")]["seconds_to_finality"] is None


# --- bad parameter files, refused by reason --------------------------------------------------------------------

BAD_FILES = {
    "nan": ("[l1]\nbase_fee_gwei = nan\n", "not a finite number"),
    "infinity": ("[l1]\neth_usd = inf\n", "not a finite number"),
    "negative_window": ("[hybrid]\nmax_prove_duration_s = -5\n", "outside"),
    "zero_window": ("[hybrid]\nmax_challenge_duration_s = 0\n", "outside"),
    "huge_gas_price": ("[l1]\nbase_fee_gwei = 1e12\n", "outside"),
    "probability_above_one": ("[workload]\nchallenge_frequency = 1.5\n", "outside"),
    "unknown_section": ("[l2]\nx = 1\n", "unknown section [l2]"),
    "unknown_key": ("[gas]\nprove_gas = 1\n", "unknown parameter"),
    "float_for_int": ("[gas]\nprove = 1.5\n", "expected an integer"),
    "bool_for_int": ("[gas]\nprove = true\n", "expected an integer"),
    "string_for_float": ("[l1]\neth_usd = \"2000\"\n", "expected a number"),
    "int_for_bool": ("[proving]\nuse_measured = 1\n", "expected true or false"),
    "empty_list": ("[workload]\ntps = []\n", "1 to 16"),
    "list_of_strings": ("[workload]\ntps = [\"a\"]\n", "expected a number"),
    "section_not_table": ("l1 = 3\n", "must be a table"),
    "split_below_depth": ("[optimistic]\nsplit_depth = 80\n", "split_depth"),
    "malformed": ("[l1\n", "malformed TOML"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_parameter_file_refused(tmp_path, name):
    text, reason = BAD_FILES[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    with pytest.raises(EconomicsError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        load_params(path)


def test_parameter_files_that_are_not_text_files_refused(tmp_path):
    with pytest.raises(EconomicsError, match="no such parameter file"):
        load_params(tmp_path / "missing.toml")
    with pytest.raises(EconomicsError, match="no such parameter file"):
        load_params(tmp_path)
    (tmp_path / "big.toml").write_text("# " + "x" * 70_000)
    with pytest.raises(EconomicsError, match="larger than"):
        load_params(tmp_path / "big.toml")
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(EconomicsError, match="not UTF-8"):
        load_params(tmp_path / "latin1.toml")


def test_a_partial_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text("[hybrid]\nmax_challenge_duration_s = 7200\n[workload]\ntps = [5]\n")
    params = load_params(path)
    assert params.hybrid.max_challenge_duration_s == 7200 and params.workload.tps == (5.0,)
    assert params.hybrid.max_prove_duration_s == PARAMS.hybrid.max_prove_duration_s
    assert list(economics_table(params)["designs"]["hybrid"]["cost_per_tx_usd"]) == ["5"]
