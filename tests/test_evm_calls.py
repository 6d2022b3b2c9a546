"""Message calls, access lists, net-metered storage and transactions under CANCUN_LIKE, one behaviour per test."""
from __future__ import annotations

import pytest

from lumoz_ref.evm import (CANCUN_LIKE, FRONTIER_LIKE, Account, BlockEnv, InvalidTransaction, Outcome, Transaction,
                           UnsupportedOpcodeError, WorldState, assemble, execute, process_transaction, record_trace)

SENDER, CONTRACT, OTHER = 0xE0A, 0xC0DE, 0xCA11


def call(to: int, *, gas: int | str = "GAS", value: int = 0, opcode: str = "CALL", out_size: int = 32) -> list:
    """Assembly of a call with no input and `out_size` bytes of output at memory 0."""
    value_part = ["PUSH32", value] if opcode in ("CALL", "CALLCODE") else []
    gas_part = ["GAS"] if gas == "GAS" else ["PUSH32", gas]
    return ["PUSH1", out_size, "PUSH1", 0, "PUSH1", 0, "PUSH1", 0, *value_part, "PUSH20", to, *gas_part, opcode]


def run_tx(contract_code: bytes, other_code: bytes = b"", *, gas_limit: int = 1_000_000, value: int = 0,
           data: bytes = b"", env: BlockEnv = BlockEnv(base_fee=7)):
    world = WorldState({SENDER: Account(balance=10**18), CONTRACT: Account(balance=1000, code=contract_code),
                        OTHER: Account(code=other_code)})
    tx = Transaction(sender=SENDER, to=CONTRACT, data=data, value=value, gas_limit=gas_limit, gas_price=10)
    return world, process_transaction(world, tx, env, tracer=record_trace)


def test_failed_subcall_pushes_zero_and_undoes_only_the_callee():
    reverter = assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE", "PUSH1", 0, "PUSH1", 0, "REVERT"])
    world, result = run_tx(assemble(["PUSH1", 7, "PUSH1", 1, "SSTORE", *call(OTHER), "PUSH1", 2, "SSTORE"]), reverter)
    assert result.outcome is Outcome.SUCCESS
    assert world.get(CONTRACT).storage == {1: 7}  # the call pushed 0; storing 0 at slot 2 leaves it empty
    assert [step.stack_outputs for step in result.trace if step.name == "CALL"] == [(0,)]
    assert world.get(OTHER).storage == {}


def test_staticcall_write_is_a_halt_of_the_callee_only():
    writer = assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE"])
    world, result = run_tx(assemble([*call(OTHER, gas=50_000, opcode="STATICCALL"), "PUSH1", 9, "SSTORE"]), writer)
    assert result.outcome is Outcome.SUCCESS
    halted = [step for step in result.trace if step.halt]
    assert [step.halt for step in halted] == [Outcome.WRITE_IN_STATIC_CONTEXT] and halted[0].depth == 1
    assert world.get(OTHER).storage == {}
    assert result.trace[-1].name == "SSTORE" and result.trace[-1].stack_inputs == (9, 0)  # STATICCALL pushed 0


def test_delegatecall_runs_callee_code_on_caller_storage_with_caller_context():
    stores_caller_and_value = assemble(["CALLER", "PUSH1", 0, "SSTORE", "CALLVALUE", "PUSH1", 1, "SSTORE"])
    world, result = run_tx(assemble(call(OTHER, opcode="DELEGATECALL")), stores_caller_and_value, value=5)
    assert result.outcome is Outcome.SUCCESS
    assert world.get(CONTRACT).storage == {0: SENDER, 1: 5}
    assert world.get(OTHER).storage == {}


def test_call_with_more_value_than_balance_fails_and_returns_gas():
    world, result = run_tx(assemble([*call(OTHER, value=10**6, gas=10_000), "PUSH1", 0, "SSTORE"]))
    assert result.outcome is Outcome.SUCCESS
    call_step = next(step for step in result.trace if step.name == "CALL")
    assert call_step.stack_outputs == (0,)
    # paid: cold access, value transfer, new account (OTHER is empty), one memory word; back: the callee's gas
    # *and* its stipend, as execution-specs does when the value cannot be paid
    assert call_step.gas_cost == 2600 + 9000 + 25000 + 3 - 2300
    assert world.get(OTHER).balance == 0 and world.get(CONTRACT).balance == 1000


def test_call_moves_value_and_grants_stipend():
    returns_its_gas = assemble(["GAS", "PUSH1", 0, "MSTORE", "PUSH1", 32, "PUSH1", 0, "RETURN"])
    world, result = run_tx(assemble([*call(OTHER, value=400, gas=0), "PUSH1", 0, "MLOAD", "PUSH1", 0, "SSTORE"]),
                           returns_its_gas)
    assert world.get(OTHER).balance == 400 and world.get(CONTRACT).balance == 600
    assert 2300 - 10 < world.get(CONTRACT).storage[0] < 2300  # gas 0 asked, the stipend received


def test_stipend_alone_cannot_write_storage():
    world, result = run_tx(assemble(call(OTHER, value=400, gas=0)), assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE"]))
    assert [step.halt for step in result.trace if step.halt] == [Outcome.OUT_OF_GAS]  # EIP-2200's sentry
    assert world.get(OTHER).balance == 0 and world.get(OTHER).storage == {}  # the value went back too


def test_call_depth_limit_is_reached_not_a_python_recursion_error():
    recursive = assemble([*call(CONTRACT, out_size=0), "PUSH1", 0, "SSTORE"])
    world = WorldState({SENDER: Account(balance=10**30), CONTRACT: Account(code=recursive)})
    tx = Transaction(sender=SENDER, to=CONTRACT, data=b"", value=0, gas_limit=10**13, gas_price=1)
    result = process_transaction(world, tx, BlockEnv(gas_limit=10**13), tracer=record_trace)
    assert result.outcome is Outcome.SUCCESS
    assert max(step.depth for step in result.trace) == 1024


def test_cold_then_warm_storage_access():
    world, result = run_tx(assemble(["PUSH1", 3, "SLOAD", "PUSH1", 3, "SLOAD"]))
    costs = [step.gas_cost for step in result.trace if step.name == "SLOAD"]
    assert costs == [2100, 100]


def test_sstore_set_then_reset_refunds_under_eip_3529():
    world, result = run_tx(assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE", "PUSH1", 0, "PUSH1", 0, "SSTORE"]))
    costs = [step.gas_cost for step in result.trace if step.name == "SSTORE"]
    assert costs == [2100 + 20000, 100]
    assert world.get(CONTRACT).storage == {}
    # refund 20000 - 100 = 19900, capped at a fifth of the gas used
    used_before_refund = result.gas_used + result.refund
    assert result.refund == min(19900, used_before_refund // 5)


def test_transient_storage_is_cleared_between_transactions():
    code = assemble(["PUSH1", 0, "TLOAD", "PUSH1", 0, "SSTORE", "PUSH1", 1, "PUSH1", 0, "TSTORE"])
    world = WorldState({SENDER: Account(balance=10**18), CONTRACT: Account(code=code)})
    for nonce in range(2):
        tx = Transaction(sender=SENDER, to=CONTRACT, data=b"", value=0, gas_limit=100_000, gas_price=10, nonce=nonce)
        process_transaction(world, tx, BlockEnv())
        assert world.get(CONTRACT).storage == {}


def test_sender_pays_gas_and_coinbase_gets_priority_fee():
    env = BlockEnv(base_fee=7, coinbase=0xC01B)
    world, result = run_tx(assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE"]), env=env)
    assert world.get(SENDER).balance == 10**18 - result.gas_used * 10
    assert world.get(0xC01B).balance == result.gas_used * (10 - 7)
    assert world.get(SENDER).nonce == 1


@pytest.mark.parametrize("change, message", [
    ({"gas_limit": 20_999}, "intrinsic gas 21000"), ({"nonce": 1}, "nonce 1"), ({"gas_price": 6}, "base fee"),
    ({"value": 10**19}, "cannot pay"),
])
def test_rejects_invalid_transaction(change, message):
    world = WorldState({SENDER: Account(balance=10**18)})
    fields = dict(sender=SENDER, to=CONTRACT, data=b"", value=0, gas_limit=100_000, gas_price=10) | change
    with pytest.raises(InvalidTransaction, match=message):
        process_transaction(world, Transaction(**fields), BlockEnv(base_fee=7))
    assert world.get(SENDER).nonce == 0 and world.get(SENDER).balance == 10**18


def test_call_to_precompile_is_unsupported_and_leaves_the_world_unchanged():
    world = WorldState({SENDER: Account(balance=10**18), CONTRACT: Account(code=assemble(
        ["PUSH1", 1, "PUSH1", 0, "SSTORE", *call(2)]))})
    tx = Transaction(sender=SENDER, to=CONTRACT, data=b"", value=0, gas_limit=100_000, gas_price=10)
    with pytest.raises(UnsupportedOpcodeError, match="precompile 0x2"):
        process_transaction(world, tx, BlockEnv())
    assert (world.get(SENDER).balance, world.get(SENDER).nonce, world.get(CONTRACT).storage) == (10**18, 0, {})


def test_unsupported_opcode_is_not_reported_as_a_step():
    steps = []
    with pytest.raises(UnsupportedOpcodeError):
        execute(assemble(["PUSH1", 0, "EXTCODESIZE"]), gas=10**5, schedule=CANCUN_LIKE, tracer=steps.append)
    assert [step.name for step in steps] == ["PUSH1"]


def test_call_is_deferred_under_frontier_schedule():
    with pytest.raises(UnsupportedOpcodeError, match="CALL at pc"):
        execute(assemble(call(OTHER)), gas=100_000, schedule=FRONTIER_LIKE)


def test_trace_names_the_account_of_each_step():
    world, result = run_tx(assemble(call(OTHER)), assemble(["PUSH1", 1, "PUSH1", 0, "SSTORE"]))
    writes = [(step.depth, step.address, step.storage_writes) for step in result.trace if step.storage_writes]
    assert writes == [(1, OTHER, ((0, 0, 1),))]
