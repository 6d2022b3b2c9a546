"""Each way a frame ends, one test per reason; plus the trace's bookkeeping and bad inputs."""
from __future__ import annotations

import pytest

from lumoz_ref.evm import (FRONTIER_LIKE, PETERSBURG_LIKE, STACK_DEPTH_LIMIT, U256_MAX, AssemblyError, BlockEnv,
                           InvalidExecutionInput, Outcome, StepLimitExceeded, UnsupportedOpcodeError, assemble, execute,
                           record_trace)

PRE = {7: 7}


def run(program, *, gas=100_000, schedule=FRONTIER_LIKE, **kwargs):
    return execute(assemble(program), gas=gas, storage=PRE, schedule=schedule, tracer=record_trace, **kwargs)


def assert_exceptional(result, outcome):
    assert result.outcome is outcome, result.error
    assert result.exceptional and not result.success
    assert result.gas_left == 0 and result.output == b"" and result.logs == () and result.refund == 0
    assert result.storage == PRE
    assert result.trace[-1].halt is outcome


def test_stack_underflow_halts():
    result = run(["PUSH1", 1, "PUSH1", 2, "SSTORE", "ADD"])
    assert_exceptional(result, Outcome.STACK_UNDERFLOW)
    assert result.error == "stack underflow at pc 5 (ADD)"


@pytest.mark.parametrize("program", [["DUP1"], ["PUSH1", 1, "SWAP1"], ["PUSH1", 0, "PUSH1", 0, "LOG1"]],
                         ids=["dup1-empty", "swap1-one-word", "log1-two-words"])
def test_stack_underflow_in_dup_swap_log(program):
    assert_exceptional(run(program), Outcome.STACK_UNDERFLOW)


def test_stack_overflow_at_1025_words():
    fill = ["PUSH1", 1] * STACK_DEPTH_LIMIT
    assert run(fill + ["STOP"]).success
    assert_exceptional(run(fill + ["PUSH1", 1]), Outcome.STACK_OVERFLOW)
    assert_exceptional(run(fill + ["DUP1"]), Outcome.STACK_OVERFLOW)


def test_invalid_jump_into_push_data():
    result = run(["PUSH1", 3, "JUMP", "PUSH1", 0x5B])  # the 0x5b at 4 is data, JUMP target 3 is PUSH1
    assert_exceptional(result, Outcome.INVALID_JUMP_DESTINATION)


def test_invalid_jumpi_only_when_taken():
    assert run(["PUSH1", 0, "PUSH1", 99, "JUMPI", "STOP"]).success
    assert_exceptional(run(["PUSH1", 1, "PUSH1", 99, "JUMPI"]), Outcome.INVALID_JUMP_DESTINATION)


def test_jump_to_huge_destination_halts():
    assert_exceptional(run(["PUSH32", U256_MAX, "JUMP"]), Outcome.INVALID_JUMP_DESTINATION)


@pytest.mark.parametrize("byte", [0x0C, 0x21, 0x46, 0x5C, 0xA5, 0xFB, 0xFE])
def test_invalid_opcode_halts(byte):
    assert_exceptional(run(["PUSH1", 1, byte]), Outcome.INVALID_OPCODE)


def test_later_opcodes_are_invalid_in_frontier():
    for name in ["SHL", "SHR", "SAR", "REVERT", "RETURNDATASIZE"]:
        assert_exceptional(run(["PUSH1", 0, "PUSH1", 0, name]), Outcome.INVALID_OPCODE)


def test_out_of_gas_on_fixed_price():
    assert run(["PUSH1", 1, "PUSH1", 2, "ADD"], gas=9).success
    assert_exceptional(run(["PUSH1", 1, "PUSH1", 2, "ADD"], gas=8), Outcome.OUT_OF_GAS)


def test_out_of_gas_on_storage_set():
    assert_exceptional(run(["PUSH1", 1, "PUSH1", 0, "SSTORE"], gas=20_005), Outcome.OUT_OF_GAS)
    assert run(["PUSH1", 1, "PUSH1", 0, "SSTORE"], gas=20_006).gas_left == 0


def test_out_of_gas_on_memory_expansion():
    assert_exceptional(run(["PUSH1", 1, "PUSH32", 2**255, "MSTORE"]), Outcome.OUT_OF_GAS)
    assert_exceptional(run(["PUSH32", 2**64, "PUSH1", 0, "SHA3"]), Outcome.OUT_OF_GAS)


def test_revert_keeps_gas_and_returns_data():
    result = run(["PUSH1", 1, "PUSH1", 0, "SSTORE", "PUSH1", 0xAB, "PUSH1", 0, "MSTORE8",
                  "PUSH1", 1, "PUSH1", 0, "REVERT"], schedule=PETERSBURG_LIKE)
    assert result.outcome is Outcome.REVERT and not result.exceptional
    assert result.output == b"\xab"
    assert result.gas_left == 100_000 - sum(step.gas_cost for step in result.trace) > 0
    assert result.storage == PRE and result.logs == ()


def test_returndatacopy_out_of_bounds_halts():
    assert run(["PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "RETURNDATACOPY", "STOP"], schedule=PETERSBURG_LIKE).success
    assert_exceptional(run(["PUSH1", 1, "PUSH1", 0, "PUSH1", 0, "RETURNDATACOPY"], schedule=PETERSBURG_LIKE),
                       Outcome.OUT_OF_BOUNDS_READ)


def test_running_off_the_end_is_success():
    result = run(["PUSH1", 1])
    assert result.success and result.stack == (1,) and result.gas_left == 100_000 - 3


def test_call_family_is_unsupported_not_a_halt():
    for name in ["CALL", "CALLCODE", "CREATE", "EXTCODESIZE"]:
        with pytest.raises(UnsupportedOpcodeError, match=name):
            run(["PUSH1", 0, name])


def test_step_limit_is_not_an_evm_outcome():
    with pytest.raises(StepLimitExceeded, match="more than 50 steps"):
        run(["JUMPDEST", "PUSH1", 0, "JUMP"], step_limit=50)


def test_trace_gas_adds_up_and_stack_words_are_top_first():
    result = run(["PUSH1", 2, "PUSH1", 3, "SWAP1", "SUB", "PUSH1", 0, "MSTORE", "PUSH1", 0, "SLOAD", "POP"])
    assert sum(step.gas_cost for step in result.trace) == 100_000 - result.gas_left
    swap, sub, _, mstore, _, sload, _ = result.trace[2:]
    assert (swap.stack_inputs, swap.stack_outputs) == ((3, 2), (2, 3))
    assert (sub.stack_inputs, sub.stack_outputs) == ((2, 3), ((2 - 3) & U256_MAX,))
    assert mstore.memory_writes == ((0, ((2 - 3) & U256_MAX).to_bytes(32, "big")),)
    assert mstore.gas_cost == 3 + 3 and mstore.memory_size_after == 32
    assert sload.storage_reads == ((0, 0),)


def test_trace_records_storage_writes_and_refund():
    result = run(["PUSH1", 0, "PUSH1", 7, "SSTORE", "PUSH1", 9, "PUSH1", 8, "SSTORE"])
    assert result.trace[2].storage_writes == ((7, 7, 0),) and result.trace[2].gas_cost == 5000
    assert result.trace[5].storage_writes == ((8, 0, 9),) and result.trace[5].gas_cost == 20000
    assert result.refund == 15000 and result.storage == {8: 9}


def test_blockhash_window():
    env = BlockEnv(number=300, block_hash=lambda n: n + 1000)
    result = run(["PUSH2", 299, "BLOCKHASH", "PUSH2", 44, "BLOCKHASH", "PUSH2", 43, "BLOCKHASH",
                  "PUSH2", 300, "BLOCKHASH"], env=env)
    assert result.stack == (1299, 1044, 0, 0)


def test_caller_storage_is_not_mutated():
    storage = {1: 1}
    execute(assemble(["PUSH1", 0, "PUSH1", 1, "SSTORE"]), gas=10**5, storage=storage)
    assert storage == {1: 1}


@pytest.mark.parametrize("kwargs, message", [
    ({"gas": -1}, "gas = -1"), ({"gas": 10, "address": 2**160}, "address"),
    ({"gas": 10, "callvalue": 2**256}, "callvalue"), ({"gas": 10, "storage": {2**256: 1}}, "storage"),
])
def test_rejects_out_of_range_arguments(kwargs, message):
    with pytest.raises(InvalidExecutionInput, match=message):
        execute(b"", **kwargs)


def test_rejects_bad_assembly():
    with pytest.raises(AssemblyError, match="does not fit"):
        assemble(["PUSH2", 2**16])
    with pytest.raises(AssemblyError, match="unknown mnemonic"):
        assemble(["PUSH1", 1, "ADDD"])
