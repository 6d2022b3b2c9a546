"""Hostile input to chapter 07: malformed vector files and programs given enormous gas end in named, bounded results.

One class of hostility per section, each with a property test (hypothesis, derandomized, bounded examples):
vector files of the wrong shape, memory growth, and the work budget of a whole transaction."""
from __future__ import annotations

import copy
import json
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumoz_ref.evm import (CANCUN_LIKE, DEFAULT_MEMORY_LIMIT, DEFAULT_TRANSACTION_STEP_LIMIT, FRONTIER_LIKE,
                           MAX_VECTOR_FILE_BYTES, PETERSBURG_LIKE, U256_MAX, Account, BlockEnv, ExecutionResult,
                           InvalidExecutionInput, MalformedVector, Outcome, StepLimitExceeded, Transaction,
                           UnsupportedOpcodeError, VectorFormatError, WorldState, assemble, execute,
                           process_transaction, record_trace, run_conformance)

ENORMOUS = U256_MAX  # more gas than any memory or loop could use: only the budgets stop the run
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# A VM test and a state test small enough to check by hand (vectors README §1 schemas).
VMTEST = {
    "name": "hand/sstore", "category": "hand", "source_path": "-",
    "env": {"coinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba", "difficulty": "0x20000",
            "gas_limit": "0x7fffffffffffffff", "number": "0x1", "timestamp": "0x3e8"},
    "code": "0x6001600055",  # PUSH1 1 PUSH1 0 SSTORE: 3 + 3 + 20000 gas
    "calldata": "0x", "callvalue": "0x0", "caller": "0xcd1722f2947def4cf144679da39c4c32bdc35681",
    "origin": "0xcd1722f2947def4cf144679da39c4c32bdc35681", "address": "0x0f572e5295c57f15886f9b263e2f6d2d6c7b5ec6",
    "gas": "0x186a0", "gas_price": "0xc", "pre_storage": {},
    "pre_accounts": {"0x0f572e5295c57f15886f9b263e2f6d2d6c7b5ec6": {"balance": "0x0", "nonce": "0x0",
                                                                   "code": "0x6001600055", "storage": {}}},
    "expected": {"exception": False, "post_storage": {"0x0": "0x1"}, "post_accounts": None, "out": "0x",
                 "gas_left": hex(100_000 - 20_006),
                 "logs_hash": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347", "callcreates": []},
}
SENDER, TARGET, COINBASE = "0x" + "a9" * 20, "0x" + "cc" * 20, "0x" + "2a" * 20
STATETEST = {
    "name": "hand/stop", "category": "hand", "fork": "Cancun", "source_path": "-",
    "env": {"coinbase": COINBASE, "number": "0x1", "timestamp": "0x3e8", "gas_limit": "0x5f5e100", "base_fee": "0x7",
            "prevrandao": "0x0", "chain_id": "0x1"},
    "tx": {"sender": SENDER, "to": TARGET, "data": "0x", "value": "0x0", "gas_limit": "0x186a0", "gas_price": "0xa",
           "max_fee_per_gas": None, "max_priority_fee_per_gas": None, "nonce": "0x0"},
    "pre_accounts": {SENDER: {"balance": hex(10**18), "nonce": "0x0", "code": "0x", "storage": {}},
                     TARGET: {"balance": "0x0", "nonce": "0x0", "code": "0x00", "storage": {"0x1": "0x2"}}},
    "expected": {"gas_used": hex(21_000), "post_storage": {TARGET: {"0x1": "0x2"}},
                 "post_accounts": {SENDER: {"balance": hex(10**18 - 21_000 * 10), "nonce": "0x1"},
                                   COINBASE: {"balance": hex(21_000 * 3), "nonce": "0x0"}},
                 "state_root": None, "note": None},
}


def write(tmp_path, document, name="vectors.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def required_paths(vector: dict, prefix=()) -> list[tuple]:
    """Every key path of a template that its reader must check (free-text keys and nullable ones left out)."""
    free = {"category", "source_path", "fork", "max_fee_per_gas", "max_priority_fee_per_gas", "state_root", "note",
            "post_accounts"}
    state_test = "tx" in vector
    paths = []

    def walk(value: dict, prefix: tuple):
        for key, item in value.items():
            if key in free or (not state_test and prefix == ("expected",) and key == "post_storage"):
                continue  # free text, or nullable (a VM test's post storage may be null)
            if not state_test and len(prefix) == 2 and prefix[0] == "pre_accounts" and key != "balance":
                continue  # a VM test reads only the balances of its accounts
            paths.append(prefix + (key,))
            if isinstance(item, dict):
                walk(item, prefix + (key,))
    walk(vector, prefix)
    return paths


# ---- 1. vector files of the wrong shape --------------------------------------------------------------------

@pytest.mark.parametrize("template", [VMTEST, STATETEST], ids=["vmtest", "statetest"])
def test_hand_made_templates_pass(tmp_path, template):
    """The templates the mutations start from are themselves right, so a mutation is what makes a vector bad."""
    report = run_conformance(write(tmp_path, {"vectors": [template]}))
    assert report.passed == (template["name"],) and report.ok, report.to_dict()


@pytest.mark.parametrize("content, reason", [
    ("", "not a vector file"), ("not json {", "not a vector file"), ("[1, 2]", "got list"),
    ('{"vectors": {"a": 1}}', "\"vectors\" list"), ('{"vector": []}', "\"vectors\" list"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"), ('{"vectors": [' * 100_000, "not a vector file"),
    ('{"vectors": [' + "9" * 5000 + "]}", "not a vector file"),
], ids=["empty", "not-json", "list", "vectors-object", "no-vectors", "nested-100k", "nested-unclosed",
        "integer-5000-digits"])
def test_unusable_file_is_a_named_error(tmp_path, content, reason):
    with pytest.raises(VectorFormatError, match=reason):
        run_conformance(write(tmp_path, content))


def test_deep_nesting_is_refused_even_under_a_raised_recursion_limit(tmp_path):
    """py-evm and py_ecc raise the recursion limit on import; JSON's parser then recurses until the process
    crashes. The depth is checked before parsing, so the file is refused instead."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(10**6)
    try:
        with pytest.raises(VectorFormatError, match="nested too deeply: more than 64 levels"):
            run_conformance(write(tmp_path, '{"vectors": [' + "[" * 500_000 + "]" * 500_000 + "]}"))
    finally:
        sys.setrecursionlimit(previous)


def test_file_not_utf8_missing_or_a_directory(tmp_path):
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"vectors": ["\xff\xfe"]}')
    for path in [binary, tmp_path / "absent.json", tmp_path]:
        with pytest.raises(VectorFormatError, match="not a vector file"):
            run_conformance(path)


def test_file_larger_than_the_cap_is_refused_without_reading_it_all(tmp_path):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as file:  # sparse: one byte past the cap, no disk used
        file.truncate(MAX_VECTOR_FILE_BYTES + 1)
    start = time.perf_counter()
    with pytest.raises(VectorFormatError, match=f"larger than {MAX_VECTOR_FILE_BYTES} bytes"):
        run_conformance(huge)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("bad, reason", [
    ([], "vector: expected an object, got list"), ("text", "expected an object, got str"), (None, "got NoneType"),
], ids=["list", "string", "null"])
def test_a_vector_that_is_not_an_object_is_that_vectors_error(tmp_path, bad, reason):
    report = run_conformance(write(tmp_path, {"vectors": [VMTEST, bad, VMTEST]}))
    assert report.passed == (VMTEST["name"], VMTEST["name"]) and report.failed == ()
    assert [e.name for e in report.errors] == ["#1"] and reason in report.errors[0].reason
    assert not report.ok and report.summary_line() == "2 passed, 0 failed, 0 skipped, 1 errors"


HOSTILE_VALUES = st.one_of(
    st.integers(-2**300, 2**300), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["", "0x", "0xzz", "0x-1", " 0x1", "0x1 ", "0x1_0", "1e3", "0X10", "0x" + "f" * 65,
                     "0x" + "1" + "0" * 64, "0x" + "ab" * 100_000 + "g"]),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=5),
)


def is_acceptable(path: tuple, original, value) -> bool:
    """Draws that happen to be valid for the field: an empty byte string, another boolean, an empty map, ..."""
    key = path[-1]
    if isinstance(value, str) and key in ("code", "calldata", "out", "data") and value in ("", "0x"):
        return True
    if isinstance(original, bool) or (isinstance(original, (dict, list)) and value in ({}, [])):
        return isinstance(value, type(original))
    return False


@pytest.mark.parametrize("template", [VMTEST, STATETEST], ids=["vmtest", "statetest"])
@SETTINGS
@given(data=st.data())
def test_a_mutated_field_is_that_vectors_named_error(tmp_path_factory, template, data):
    """Replace or delete one field the schema requires: that vector is an error naming the field; its
    neighbours still pass; nothing escapes as a traceback."""
    path = data.draw(st.sampled_from(required_paths(template)), label="path")
    delete = data.draw(st.booleans(), label="delete") and not path[-1].startswith("0x")  # map entries are optional
    value = None if delete else data.draw(HOSTILE_VALUES, label="value")
    bad = copy.deepcopy(template)
    parent = bad
    for key in path[:-1]:
        parent = parent[key]
    if not delete and is_acceptable(path, parent[path[-1]], value):
        return
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    report = run_conformance(write(tmp_path_factory.mktemp("m"), {"vectors": [template, bad, template]}))
    assert report.passed == (template["name"],) * 2 and report.failed == () and report.skipped == (), report.to_dict()
    assert len(report.errors) == 1 and not report.ok
    reason = report.errors[0].reason
    assert path[-1] in reason or "missing key" in reason or "expected an object" in reason, (path, reason)
    assert len(reason) < 1000  # shortened: a 200 kB value does not flood the report


@SETTINGS
@given(document=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                             lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                 st.sampled_from(["vectors", "name", "tx", "env", "code", "expected"]), inner,
                                 max_size=3), max_leaves=12))
def test_any_json_document_gives_a_report_or_a_named_error(tmp_path_factory, document):
    """Random JSON: a report in which nothing passes (nothing here is a full vector), or VectorFormatError."""
    try:
        report = run_conformance(write(tmp_path_factory.mktemp("j"), document))
    except VectorFormatError:
        return
    assert report.passed == () and report.failed == () and len(report.errors) == report.total


def test_invalid_transaction_is_a_failure_not_an_error_or_a_pass(tmp_path):
    poor = copy.deepcopy(STATETEST)
    poor["pre_accounts"][SENDER]["balance"] = "0x1"
    report = run_conformance(write(tmp_path, {"vectors": [poor]}))
    assert report.failed[0].reason.startswith("transaction rejected: sender balance 1")


def test_malformed_vector_is_a_vector_format_error():
    """One class to catch at the command line: the per-vector error is a kind of the per-file one."""
    assert issubclass(MalformedVector, VectorFormatError) and issubclass(VectorFormatError, ValueError)


# ---- 2. memory growth is bounded -----------------------------------------------------------------------------

def assert_halted_like_out_of_gas(result: ExecutionResult, storage: dict):
    assert result.outcome is Outcome.OUT_OF_GAS and result.exceptional, result.error
    assert result.gas_left == 0 and result.output == b"" and result.logs == () and result.storage == storage


MEMORY_HOGS = {
    "mstore": ["PUSH1", 1, "PUSH6", 2**40, "MSTORE"],
    "mstore8": ["PUSH1", 1, "PUSH6", 2**40, "MSTORE8"],
    "mload": ["PUSH16", 2**127, "MLOAD"],
    "sha3": ["PUSH6", 2**40, "PUSH1", 0, "SHA3"],
    "calldatacopy": ["PUSH6", 2**40, "PUSH1", 0, "PUSH1", 0, "CALLDATACOPY"],
    "codecopy": ["PUSH6", 2**40, "PUSH1", 0, "PUSH1", 0, "CODECOPY"],
    "log0": ["PUSH6", 2**40, "PUSH1", 0, "LOG0"],
    "return": ["PUSH6", 2**40, "PUSH1", 0, "RETURN"],
    "revert": ["PUSH6", 2**40, "PUSH1", 0, "REVERT"],
    "mcopy": ["PUSH6", 2**40, "PUSH1", 0, "PUSH1", 0, "MCOPY"],
    "call-out-range": ["PUSH6", 2**40, "PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "ADDRESS", "GAS", "CALL"],
}


@pytest.mark.parametrize("name", MEMORY_HOGS)
def test_memory_past_the_limit_halts_like_out_of_gas(name):
    """With gas to pay for a terabyte, memory still stops at the limit: same Outcome as out of gas, all gas gone."""
    schedule = CANCUN_LIKE if name in ("mcopy", "call-out-range", "revert") else FRONTIER_LIKE
    start = time.perf_counter()
    result = execute(assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE", *MEMORY_HOGS[name]]), gas=ENORMOUS,
                     storage={7: 7}, schedule=schedule, tracer=record_trace)
    assert time.perf_counter() - start < 5
    assert_halted_like_out_of_gas(result, {7: 7})
    assert "memory limit of 33554432 bytes" in result.error
    last = result.trace[-1]
    assert last.halt is Outcome.OUT_OF_GAS and last.gas_cost == last.gas_before and last.memory_size_after == 0


def test_memory_limit_is_the_boundary_not_a_guess():
    """At exactly the limit memory grows; one word more is the halt."""
    words = 2**10
    fill = ["PUSH1", 1, "PUSH3", 32 * (words - 1), "MSTORE", "MSIZE"]
    assert execute(assemble(fill), gas=ENORMOUS, memory_limit=32 * words).stack == (32 * words,)
    assert_halted_like_out_of_gas(execute(assemble(fill), gas=ENORMOUS, memory_limit=32 * words - 1), {})
    assert DEFAULT_MEMORY_LIMIT == 2**25


def test_memory_limit_counts_every_live_frame_and_frees_finished_ones():
    """Parent and child share the limit; a child past it fails alone (CALL pushes 0); its memory comes back."""
    parent = assemble(["PUSH1", 1, "PUSH3", 600 * 1024, "MSTORE",  # 600 KiB of our own
                       *["PUSH1", 0] * 5, "PUSH2", 0xCA11, "GAS", "CALL", "PUSH1", 0, "SSTORE",  # child's verdict
                       "PUSH1", 2, "PUSH3", 900 * 1024, "MSTORE", "STOP"])  # then grow to 900 KiB
    for child_kib, child_succeeded in [(600, 0), (300, 1)]:  # 600 + 600 > 1024 KiB; 600 + 300, then 900, fit
        child = assemble(["PUSH1", 1, "PUSH3", child_kib * 1024, "MSTORE", "STOP"])
        world = WorldState({0xE0A: Account(balance=10**30), 0xC0DE: Account(code=parent),
                            0xCA11: Account(code=child)})
        tx = Transaction(sender=0xE0A, to=0xC0DE, data=b"", value=0, gas_limit=10**9, gas_price=1)
        result = process_transaction(world, tx, BlockEnv(gas_limit=10**9), memory_limit=2**20)
        assert result.outcome is Outcome.SUCCESS, result.error  # the parent's growth fits once the child is gone
        assert world.get(0xC0DE).storage.get(0, 0) == child_succeeded


def test_memory_limit_in_a_transaction_consumes_all_its_gas():
    world = WorldState({0xE0A: Account(balance=10**30), 0xC0DE: Account(code=assemble(MEMORY_HOGS["mstore"]))})
    tx = Transaction(sender=0xE0A, to=0xC0DE, data=b"", value=0, gas_limit=2**64, gas_price=1)
    result = process_transaction(world, tx, BlockEnv(gas_limit=2**64))
    assert result.outcome is Outcome.OUT_OF_GAS and result.gas_used == 2**64 and "memory limit" in result.error


@pytest.mark.parametrize("kwargs", [{"memory_limit": -1}, {"step_limit": -5}, {"step_limit": 1.5}])
def test_limits_must_be_none_or_non_negative_ints(kwargs):
    with pytest.raises(InvalidExecutionInput, match=next(iter(kwargs))):
        execute(b"", gas=10, **kwargs)


# ---- 3. the work budget covers the whole transaction -----------------------------------------------------------

SELF_CALLER = assemble(["JUMPDEST", *["PUSH1", 0] * 4, "PUSH1", 0, "ADDRESS", "GAS", "CALL", "POP",
                        "PUSH1", 0, "JUMP"])  # call myself with all the gas, for ever


def test_self_calling_contract_with_enormous_gas_stops_within_the_budget():
    """Every frame calls itself in a loop: 2^1024 frames of work. One budget for all of them stops it, quickly."""
    world = WorldState({0xE0A: Account(balance=2**300), 0xC0DE: Account(code=SELF_CALLER, storage={1: 1})})
    before = {a: (acct.balance, acct.nonce, dict(acct.storage)) for a, acct in world.accounts.items()}
    steps = []
    tx = Transaction(sender=0xE0A, to=0xC0DE, data=b"", value=0, gas_limit=2**200, gas_price=1)
    start = time.perf_counter()
    with pytest.raises(StepLimitExceeded, match="more than 30000 steps"):
        process_transaction(world, tx, BlockEnv(gas_limit=2**200), tracer=steps.append, step_limit=30_000)
    assert time.perf_counter() - start < 10
    assert len(steps) <= 30_000 and max(step.depth for step in steps) > 100  # one budget, many frames
    assert {a: (acct.balance, acct.nonce, dict(acct.storage)) for a, acct in world.accounts.items()} == before


def test_execute_has_a_step_budget_by_default():
    assert DEFAULT_TRANSACTION_STEP_LIMIT == 2**25
    with pytest.raises(StepLimitExceeded):
        execute(SELF_CALLER, gas=ENORMOUS, schedule=CANCUN_LIKE, step_limit=5_000)


def test_bulk_copies_and_hashes_count_as_work():
    """A loop hashing 1 MiB per turn spends 1 + 1024 units a turn: the budget stops it after a few turns."""
    loop = assemble(["JUMPDEST", "PUSH3", 2**20, "PUSH1", 0, "SHA3", "POP", "PUSH1", 0, "JUMP"])
    steps = []
    with pytest.raises(StepLimitExceeded):
        execute(loop, gas=ENORMOUS, tracer=steps.append, step_limit=20_000)
    turns = sum(step.name == "SHA3" for step in steps)
    assert 10 <= turns <= 20  # 20,000 units / ~1,030 a turn (the first turn also grows memory by 1 MiB)


def test_a_calls_snapshot_counts_as_work():
    """Each call copies the world (every storage slot): that copy is paid from the budget, so it cannot go
    quadratic unseen."""
    caller = assemble([*["PUSH1", 0] * 5, "PUSH2", 0xCA11, "GAS", "CALL", "STOP"])
    big = {slot: 1 for slot in range(1, 5001)}
    for limit, ok in [(4_000, False), (20_000, True)]:
        world = WorldState({0xE0A: Account(balance=10**18), 0xC0DE: Account(code=caller, storage=dict(big)),
                            0xCA11: Account(code=b"\x00")})
        tx = Transaction(sender=0xE0A, to=0xC0DE, data=b"", value=0, gas_limit=10**6, gas_price=1)
        if ok:
            assert process_transaction(world, tx, BlockEnv(), step_limit=limit).outcome is Outcome.SUCCESS
        else:
            with pytest.raises(StepLimitExceeded):
                process_transaction(world, tx, BlockEnv(), step_limit=limit)


# ---- 4. hostile programs: named result, bounded time ------------------------------------------------------------

HUGE_WORDS = st.sampled_from([0, 1, 31, 32, 2**10, 2**20, 2**25 - 32, 2**25, 2**40, 2**64, 2**128, 2**255, U256_MAX])
HOSTILE_OPS = st.sampled_from(["MSTORE", "MSTORE8", "MLOAD", "SHA3", "CALLDATACOPY", "CODECOPY", "RETURNDATACOPY",
                               "MCOPY", "LOG0", "LOG2", "EXP", "RETURN", "REVERT", "CALL", "DELEGATECALL",
                               "STATICCALL", "CALLCODE", "RETURNDATASIZE", "MSIZE", "GAS", "SSTORE", "TSTORE", "POP"])


@st.composite
def hostile_programs(draw):
    """Huge operands before memory, copy, hash, exponent and call opcodes; sometimes the whole thing loops."""
    body = ["JUMPDEST"]
    for _ in range(draw(st.integers(1, 8))):
        operands = draw(st.lists(HUGE_WORDS, min_size=7, max_size=7))
        if draw(st.booleans()):
            operands[1] = "ADDRESS"  # a call's `to`: ourselves
        for operand in operands:
            body += ["ADDRESS"] if operand == "ADDRESS" else ["PUSH32", operand]
        body.append(draw(HOSTILE_OPS))
    if draw(st.booleans()):
        body += ["PUSH1", 0, "JUMP"]  # back to the JUMPDEST at 0
    return assemble(body)


@SETTINGS
@given(code=hostile_programs(), schedule=st.sampled_from([FRONTIER_LIKE, PETERSBURG_LIKE, CANCUN_LIKE]))
def test_hostile_programs_end_in_a_named_result_in_bounded_time(code, schedule):
    start = time.perf_counter()
    try:
        result = execute(code, gas=ENORMOUS, schedule=schedule, step_limit=20_000, calldata=b"\x01" * 64)
    except (StepLimitExceeded, UnsupportedOpcodeError) as error:
        assert str(error)
    else:
        assert isinstance(result.outcome, Outcome)
        assert (result.error is None) == (result.outcome is Outcome.SUCCESS)
        assert len(result.output) <= DEFAULT_MEMORY_LIMIT
    assert time.perf_counter() - start < 10, code.hex()
