"""Differential tests: random EVM programs run by lumoz_ref.evm and by py-evm must agree.

Which py-evm VM: each of our schedules is compared with the py-evm VM whose rules it claims to follow.
py-evm's Frontier VM charges exactly the legacy VM tests' schedule (`FRONTIER_LIKE`); its Petersburg VM the
EIP-150/160 repricing plus the Byzantium/Constantinople opcodes (`PETERSBURG_LIKE`); its Cancun VM message calls,
warm/cold access (EIP-2929), net-metered storage (EIP-2200/3529) and transient storage (`CANCUN_LIKE`), with
programs that call three small contracts (and themselves) through all four call opcodes.

Compared for every program: the halt reason (success, revert, or which exceptional halt), gas left, refund,
return data, storage, logs, and — when the frame ended normally or by REVERT — the final stack.
"""
from __future__ import annotations

import pytest
from eth import constants
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.exceptions import (FullStack, InsufficientStack, InvalidInstruction, InvalidJumpDestination, OutOfBoundsRead,
                            OutOfGas, Revert)
from eth.vm.forks import CancunVM, FrontierVM, PetersburgVM
from eth.vm.message import Message as PyEvmMessage
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lumoz_ref.evm import (CANCUN_LIKE, FRONTIER_LIKE, PETERSBURG_LIKE, PRECOMPILE_ADDRESSES, U256_MAX, Account,
                           BlockEnv, ExceptionalHalt, GasSchedule, Message, Outcome, TransactionContext, WorldState,
                           assemble, execute, initial_accessed_addresses, process_message,
                           python_frames_for_deep_calls, record_trace)

ADDRESS = 0x0F572E5295C57F15886F9B263E2F6D2D6C7B5EC6
CALLER = 0xCD1722F2947DEF4CF144679DA39C4C32BDC35681
ORIGIN = 0xCD1722F3947DEF4CF144679DA39C4C32BDC35681
PRE_STORAGE = {1: 5, 2: 0x77}  # non-zero slots, so that clears (and their refunds) happen
BALANCES = {ADDRESS: 10**18, CALLER: 3 * 10**18}
GAS = 200_000

PYEVM_HALTS = {OutOfGas: Outcome.OUT_OF_GAS, InsufficientStack: Outcome.STACK_UNDERFLOW,
               FullStack: Outcome.STACK_OVERFLOW, InvalidJumpDestination: Outcome.INVALID_JUMP_DESTINATION,
               InvalidInstruction: Outcome.INVALID_OPCODE, OutOfBoundsRead: Outcome.OUT_OF_BOUNDS_READ,
               Revert: Outcome.REVERT}

VMS = {FRONTIER_LIKE.name: FrontierVM, PETERSBURG_LIKE.name: PetersburgVM}


def _fresh_state(vm_class):
    chain_class = MiningChain.configure(__name__="DifferentialChain", vm_configuration=((0, vm_class),))
    difficulty = 0 if vm_class is CancunVM else 131072  # after the Merge the header's difficulty is 0
    chain = chain_class.from_genesis(AtomicDB(), {"difficulty": difficulty, "gas_limit": 10**7, "timestamp": 1000,
                                                 "coinbase": b"\x2a" * 20})
    state = chain.get_vm().state
    for account, balance in BALANCES.items():
        state.set_balance(account.to_bytes(20, "big"), balance)
    for key, value in PRE_STORAGE.items():
        state.set_storage(ADDRESS.to_bytes(20, "big"), key, value)
    return state


def run_pyevm(code: bytes, calldata: bytes, callvalue: int, schedule: GasSchedule):
    """Run `code` in py-evm's VM for `schedule`; return the fields we compare and py-evm's block context."""
    state = _fresh_state(VMS[schedule.name])
    account = ADDRESS.to_bytes(20, "big")
    state.set_code(account, code)
    message = PyEvmMessage(gas=GAS, to=account, sender=CALLER.to_bytes(20, "big"), value=callvalue, data=calldata,
                           code=code)
    context = state.get_transaction_context_class()(gas_price=7, origin=ORIGIN.to_bytes(20, "big"))
    snapshot = state.snapshot()
    computation = state.computation_class.apply_computation(state, message, context)
    error = computation.error if computation.is_error else None
    if error is not None:  # apply_computation leaves that to its caller (apply_message)
        state.revert(snapshot)
    outcome = Outcome.SUCCESS if error is None else PYEVM_HALTS.get(type(error))
    if error is not None and outcome is None:
        raise AssertionError(f"py-evm halted with {type(error).__name__}, which has no mapping: {error}")
    stack = tuple(v if isinstance(v, int) else int.from_bytes(v, "big") for v in computation._stack.values)
    logs = tuple((int.from_bytes(a, "big"), tuple(topics), data) for a, topics, data in computation.get_log_entries())
    return state, {"outcome": outcome, "gas_left": computation.get_gas_remaining(),
                   "refund": computation.get_gas_refund() if error is None else 0,
                   "output": computation.output, "logs": logs, "stack": stack}


def block_env_of(state) -> BlockEnv:
    """Our BlockEnv with the block py-evm runs in (number, time, difficulty, ancestors' hashes)."""
    context = state.execution_context
    hashes = list(context.prev_hashes)  # newest first
    return BlockEnv(coinbase=int.from_bytes(context.coinbase, "big"), number=context.block_number,
                    timestamp=context.timestamp, difficulty=context.difficulty, gas_limit=context.gas_limit,
                    block_hash=lambda n: int.from_bytes(hashes[context.block_number - 1 - n], "big"))


def same_halt(ours, theirs: Outcome) -> bool:
    """Equal outcomes, or the one known ordering difference: RETURNDATACOPY with both an out-of-bounds read and
    an unaffordable memory expansion. execution-specs (and we) charge gas first, so it is out of gas; py-evm
    checks the bounds first. Both are exceptional halts with the same effect (all gas, no changes)."""
    if ours.outcome == theirs:
        return True
    return ({ours.outcome, theirs} == {Outcome.OUT_OF_GAS, Outcome.OUT_OF_BOUNDS_READ}
            and ours.trace[-1].name == "RETURNDATACOPY")


def check_agreement(code: bytes, calldata: bytes, callvalue: int, schedule: GasSchedule) -> Outcome:
    state, theirs = run_pyevm(code, calldata, callvalue, schedule)
    ours = execute(code, calldata=calldata, callvalue=callvalue, caller=CALLER, origin=ORIGIN, address=ADDRESS,
                   gas=GAS, gas_price=7, storage=PRE_STORAGE, balances=BALANCES, env=block_env_of(state),
                   schedule=schedule, tracer=record_trace, step_limit=100_000)
    where = f"code {code.hex()} ({schedule.name})"
    if not same_halt(ours, theirs["outcome"]):
        raise AssertionError(f"{where}: ours {ours.outcome} ({ours.error}), py-evm {theirs['outcome']}")
    assert ours.gas_left == theirs["gas_left"], where
    assert ours.refund == theirs["refund"], where
    assert ours.output == theirs["output"], where
    assert tuple((log.address, log.topics, log.data) for log in ours.logs) == theirs["logs"], where
    if not ours.exceptional:
        assert ours.stack == theirs["stack"], where
    keys = set(PRE_STORAGE) | {key for step in ours.trace for key, *_ in step.storage_writes}
    account = ADDRESS.to_bytes(20, "big")
    assert {k: v for k, v in ours.storage.items()} == {k: state.get_storage(account, k) for k in keys
                                                         if state.get_storage(account, k)}, where
    # the trace accounts for every unit of gas spent
    assert sum(step.gas_cost for step in ours.trace) == GAS - ours.gas_left, where
    return ours.outcome


# ---- random programs -------------------------------------------------------------------------------------------

WORDS = st.one_of(st.integers(0, 40), st.sampled_from([0, 1, 2, 7, 31, 32, 33, 255, 256, 2**64, 2**128, 2**255 - 1,
                                                          2**255, U256_MAX - 1, U256_MAX]),
                  st.integers(0, U256_MAX))
SMALL = st.integers(0, 96)  # memory offsets and sizes that keep memory small
PURE_OPS = ["ADD", "MUL", "SUB", "DIV", "SDIV", "MOD", "SMOD", "ADDMOD", "MULMOD", "EXP", "SIGNEXTEND", "LT", "GT",
            "SLT", "SGT", "EQ", "ISZERO", "AND", "OR", "XOR", "NOT", "BYTE", "POP", "DUP1", "DUP2", "DUP3", "DUP5",
            "SWAP1", "SWAP2", "SWAP4", "ADDRESS", "ORIGIN", "CALLER", "CALLVALUE", "CALLDATASIZE", "CODESIZE",
            "GASPRICE", "COINBASE", "TIMESTAMP", "NUMBER", "DIFFICULTY", "GASLIMIT", "PC", "MSIZE", "GAS",
            "CALLDATALOAD", "SLOAD", "BLOCKHASH", "JUMPDEST"]
LATER_OPS = ["SHL", "SHR", "SAR", "RETURNDATASIZE"]
MEMORY_OPS = {"MLOAD": 1, "MSTORE": 2, "MSTORE8": 2, "SHA3": 2, "CALLDATACOPY": 3, "CODECOPY": 3, "LOG0": 2,
              "LOG1": 3, "LOG2": 4, "RETURNDATACOPY": 3}


@st.composite
def instruction(draw, later: bool):
    """One chunk of assembly: a push, a stack/arithmetic op, a memory op with small offsets, or SSTORE."""
    kind = draw(st.sampled_from(["push", "push", "op", "op", "memory", "sstore", "balance"]))
    if kind == "push":
        value = draw(WORDS)
        width = draw(st.integers(max(1, (value.bit_length() + 7) // 8), 32))
        return [f"PUSH{width}", value]
    if kind == "op":
        return [draw(st.sampled_from(PURE_OPS + (LATER_OPS if later else [])))]
    if kind == "memory":
        name = draw(st.sampled_from([n for n in MEMORY_OPS if later or n != "RETURNDATACOPY"]))
        chunk = []
        for _ in range(MEMORY_OPS[name]):
            chunk += ["PUSH1", draw(SMALL)]
        if draw(st.integers(0, 19)) == 0:  # now and then a huge first argument (offset): memory out of gas
            chunk[-2:] = ["PUSH32", 2**200]
        return chunk + [name]
    if kind == "sstore":
        return ["PUSH1", draw(st.integers(0, 3)), "PUSH1", draw(st.integers(0, 4)), "SSTORE"]
    return ["PUSH20", draw(st.sampled_from([ADDRESS, CALLER, 0xDEAD])), "BALANCE"]


ENDINGS = [[], ["STOP"], ["PUSH1", 32, "PUSH1", 0, "RETURN"], ["PUSH1", 5, "PUSH1", 3, "RETURN"], ["INVALID"],
           [0x0C], ["PUSH20", CALLER, "SELFDESTRUCT"], ["PUSH20", 0xBEEF, "SELFDESTRUCT"]]
LATER_ENDINGS = [["PUSH1", 32, "PUSH1", 0, "REVERT"], ["PUSH1", 0, "PUSH1", 0, "REVERT"]]


@st.composite
def preamble(draw) -> list:
    """A few pushes first, so that fewer programs stop at their first opcode with a stack underflow."""
    words = draw(st.lists(WORDS, max_size=8))
    return [item for word in words for item in ("PUSH32", word)]


@st.composite
def straight_line_program(draw, later: bool) -> bytes:
    body = draw(st.lists(instruction(later), min_size=1, max_size=30))
    ending = draw(st.sampled_from(ENDINGS + (LATER_ENDINGS if later else [])))
    return assemble(draw(preamble()) + [item for chunk in body for item in chunk] + ending)


@st.composite
def branching_program(draw, later: bool) -> bytes:
    """Blocks that start with JUMPDEST and end with JUMP/JUMPI to a block (or a wrong offset); loops run out of gas."""
    blocks = draw(st.lists(st.lists(instruction(later), max_size=8), min_size=2, max_size=6))
    targets = draw(st.lists(st.integers(0, len(blocks) - 1), min_size=len(blocks), max_size=len(blocks)))
    kinds = draw(st.lists(st.sampled_from(["JUMP", "JUMPI", "JUMPI", "fall", "wrong"]), min_size=len(blocks),
                          max_size=len(blocks)))
    conditions = draw(st.lists(st.integers(0, 1), min_size=len(blocks), max_size=len(blocks)))
    # Lay out twice: the first pass finds block offsets (all jump targets are PUSH2, so lengths do not change).
    offsets, start = [0] * len(blocks), draw(preamble())
    for _ in range(2):
        program, starts = list(start), []
        for i, block in enumerate(blocks):
            starts.append(len(assemble(program)))
            program += ["JUMPDEST"] + [item for chunk in block for item in chunk]
            if kinds[i] == "JUMPI":
                program += ["PUSH1", conditions[i], "PUSH2", offsets[targets[i]], "JUMPI"]
            elif kinds[i] == "JUMP":
                program += ["PUSH2", offsets[targets[i]], "JUMP"]
            elif kinds[i] == "wrong":
                program += ["PUSH2", offsets[targets[i]] + 1, "JUMP"]
        offsets = starts
    return assemble(program + draw(st.sampled_from(ENDINGS + (LATER_ENDINGS if later else []))))


CALLDATA = st.binary(max_size=70)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("schedule", [FRONTIER_LIKE, PETERSBURG_LIKE], ids=lambda s: s.name)
@SETTINGS
@given(data=st.data())
def test_straight_line_programs_agree_with_pyevm(schedule, data):
    later = schedule is PETERSBURG_LIKE
    outcome = check_agreement(data.draw(straight_line_program(later)), data.draw(CALLDATA),
                              data.draw(st.integers(0, 10**18)), schedule)
    event(f"outcome {outcome.name}")  # see the mix with --hypothesis-show-statistics


@pytest.mark.parametrize("schedule", [FRONTIER_LIKE, PETERSBURG_LIKE], ids=lambda s: s.name)
@SETTINGS
@given(data=st.data())
def test_branching_programs_agree_with_pyevm(schedule, data):
    later = schedule is PETERSBURG_LIKE
    outcome = check_agreement(data.draw(branching_program(later)), data.draw(CALLDATA), 0, schedule)
    event(f"outcome {outcome.name}")


@pytest.mark.parametrize("schedule", [FRONTIER_LIKE, PETERSBURG_LIKE], ids=lambda s: s.name)
@pytest.mark.parametrize("program", [
    ["PUSH1", 1, "ADD"],  # stack underflow
    ["JUMPDEST", "PUSH1", 0, "PUSH1", 0, "JUMP"],  # stack overflow: one word per loop until 1025
    ["PUSH1", 3, "JUMP", "PUSH1", 0x5B],  # jump into PUSH data
    ["PUSH1", 1, "INVALID"], [0x0C],  # INVALID and an undefined byte
    ["PUSH1", 1, "PUSH32", 2**255, "MSTORE"],  # memory expansion out of gas
    ["JUMPDEST", "PUSH1", 0, "JUMP"],  # loop until out of gas
    ["PUSH1", 2, "PUSH1", 0, "SSTORE", "PUSH1", 0, "PUSH1", 1, "SSTORE", "STOP"],  # set and clear (refund)
], ids=["underflow", "overflow", "jump-into-push", "invalid", "undefined", "memory-oog", "loop-oog", "sstore-refund"])
def test_each_halt_agrees_with_pyevm(schedule, program):
    check_agreement(assemble(program), b"", 0, schedule)


@pytest.mark.parametrize("program", [
    ["PUSH1", 1, "PUSH1", 0, "PUSH1", 0, "RETURNDATACOPY"],  # out of bounds read (EIP-211)
    ["PUSH1", 9, "PUSH1", 0, "MSTORE", "PUSH1", 32, "PUSH1", 0, "REVERT"],  # revert keeps gas and returns data
    ["PUSH1", 1, "PUSH1", 255, "SHL", "PUSH1", 255, "SAR"],  # -1 after shifting the sign bit back
])
def test_byzantium_halts_agree_with_pyevm(program):
    check_agreement(assemble(program), b"", 0, PETERSBURG_LIKE)


# ---- Cancun: message calls, warm/cold access, net-metered storage, transient storage ---------------------------
# py-evm's Cancun VM against CANCUN_LIKE. The world holds the program's account and three contracts it may call;
# we run the message with `process_message` and compare every account's storage afterwards.

CALLEE, REVERTER, WRITER, EMPTY = 0xCA11, 0xBAD0, 0x57A7, 0xE0E0
CONTRACTS = {
    # slot (word1 & 3) := word0; log CALLVALUE with CALLER as topic; touch transient storage; return CALLVALUE
    CALLEE: assemble(["PUSH1", 0, "CALLDATALOAD", "PUSH1", 32, "CALLDATALOAD", "PUSH1", 3, "AND", "SSTORE",
                      "CALLVALUE", "PUSH1", 0, "MSTORE", "CALLER", "PUSH1", 32, "PUSH1", 0, "LOG1",
                      "PUSH1", 7, "TLOAD", "PUSH1", 1, "ADD", "PUSH1", 7, "TSTORE", "PUSH1", 32, "PUSH1", 0, "RETURN"]),
    # writes, then reverts with data
    REVERTER: assemble(["PUSH1", 1, "PUSH1", 9, "SSTORE", "PUSH1", 0xEE, "PUSH1", 0, "MSTORE",
                        "PUSH1", 32, "PUSH1", 0, "REVERT"]),
    # writes (a halt under STATICCALL) and returns its balance
    WRITER: assemble(["PUSH1", 5, "PUSH1", 5, "SSTORE", "SELFBALANCE", "PUSH1", 0, "MSTORE",
                      "PUSH1", 32, "PUSH1", 0, "RETURN"]),
}
CANCUN_OPS = ["PUSH0", "TLOAD", "CHAINID", "SELFBALANCE", "BASEFEE", "SHL", "SHR", "SAR", "RETURNDATASIZE"]


@st.composite
def cancun_instruction(draw):
    kind = draw(st.sampled_from(["plain", "plain", "call", "call", "tstore", "mcopy"]))
    if kind == "plain":
        return draw(instruction(True)) if draw(st.booleans()) else [draw(st.sampled_from(CANCUN_OPS))]
    if kind == "tstore":
        return ["PUSH1", draw(st.integers(0, 3)), "PUSH1", draw(st.sampled_from([0, 7])), "TSTORE"]
    if kind == "mcopy":
        return ["PUSH1", draw(SMALL), "PUSH1", draw(SMALL), "PUSH1", draw(SMALL), "MCOPY"]
    name = draw(st.sampled_from(["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"]))
    target = draw(st.sampled_from([CALLEE, REVERTER, WRITER, EMPTY, ADDRESS]))
    gas = draw(st.sampled_from([0, 100, 3000] + ([30_000, 2**64] if target != ADDRESS else [])))
    chunk = ["PUSH1", draw(st.integers(0, 64)), "PUSH1", draw(SMALL), "PUSH1", draw(st.integers(0, 64)),
             "PUSH1", draw(SMALL)]  # out size, out offset, in size, in offset
    if name in ("CALL", "CALLCODE"):
        chunk += ["PUSH32", draw(st.sampled_from([0, 0, 1, 10**17, 10**20]))]  # value (10**20: more than we hold)
    return chunk + ["PUSH20", target, "PUSH32", gas, name]


@st.composite
def cancun_program(draw) -> bytes:
    body = draw(st.lists(cancun_instruction(), min_size=1, max_size=20))
    ending = draw(st.sampled_from(ENDINGS + LATER_ENDINGS))
    return assemble(draw(preamble()) + [item for chunk in body for item in chunk] + ending)


def _cancun_pyevm(code: bytes, calldata: bytes, callvalue: int):
    state = _fresh_state(CancunVM)
    for account, contract in {**CONTRACTS, ADDRESS: code}.items():
        state.set_code(account.to_bytes(20, "big"), contract)
    state.lock_changes()  # the storage now is the "original" storage of EIP-2200
    context = state.execution_context
    for account in (ADDRESS, CALLER, ORIGIN, int.from_bytes(context.coinbase, "big"), *PRECOMPILE_ADDRESSES):
        state.mark_address_warm(account.to_bytes(20, "big"))
    message = PyEvmMessage(gas=GAS, to=ADDRESS.to_bytes(20, "big"), sender=CALLER.to_bytes(20, "big"),
                           value=callvalue, data=calldata, code=code)
    snapshot = state.snapshot()
    computation = state.computation_class.apply_computation(
        state, message, state.get_transaction_context_class()(gas_price=7, origin=ORIGIN.to_bytes(20, "big")))
    if computation.is_error:
        state.revert(snapshot)
    return state, computation


def check_cancun_agreement(code: bytes, calldata: bytes, callvalue: int) -> tuple[Outcome, int]:
    state, computation = _cancun_pyevm(code, calldata, callvalue)
    error = computation.error if computation.is_error else None
    theirs = Outcome.SUCCESS if error is None else PYEVM_HALTS.get(type(error))
    context = state.execution_context
    env = BlockEnv(coinbase=int.from_bytes(context.coinbase, "big"), number=context.block_number,
                   timestamp=context.timestamp, difficulty=int.from_bytes(context.mix_hash, "big"),
                   gas_limit=context.gas_limit, chain_id=context.chain_id, base_fee=context.base_fee_per_gas,
                   block_hash=block_env_of(state).block_hash)
    world = WorldState({a: Account(balance=b) for a, b in BALANCES.items()})
    for account, contract in {**CONTRACTS, ADDRESS: code}.items():
        world.get_or_create(account).code = contract
    world.get_or_create(ADDRESS).storage.update(PRE_STORAGE)
    world.begin_transaction()
    steps = []
    with python_frames_for_deep_calls():
        evm = process_message(Message(caller=CALLER, target=ADDRESS, code=code, value=callvalue, data=calldata,
                                      gas=GAS),
                              world, TransactionContext(ORIGIN, 7, env, CANCUN_LIKE, steps.append, 100_000),
                              initial_accessed_addresses(CANCUN_LIKE, env, ADDRESS, CALLER, ORIGIN), set())
    ours = Outcome.SUCCESS if evm.error is None else evm.error.outcome
    where = f"code {code.hex()} (cancun-like)"
    assert ours == theirs or ({ours, theirs} == {Outcome.OUT_OF_GAS, Outcome.OUT_OF_BOUNDS_READ}
                              and steps[-1].name == "RETURNDATACOPY"), f"{where}: ours {ours} ({evm.error}), py-evm {theirs}"
    assert evm.gas_left == computation.get_gas_remaining(), where
    assert evm.output == computation.output, where
    if evm.error is None:
        assert evm.refund_counter == computation.get_gas_refund(), where
        logs = tuple((int.from_bytes(a, "big"), tuple(t), d) for a, t, d in computation.get_log_entries())
        assert tuple((log.address, log.topics, log.data) for log in evm.logs) == logs, where
    if not isinstance(evm.error, ExceptionalHalt):
        stack = tuple(v if isinstance(v, int) else int.from_bytes(v, "big") for v in computation._stack.values)
        assert tuple(evm.stack) == stack, where
    for account in (ADDRESS, CALLEE, REVERTER, WRITER, EMPTY, CALLER, 0xBEEF):
        keys = set(world.get(account).storage) | {k for s in steps if s.address == account for k, *_ in s.storage_writes}
        theirs_storage = {k: state.get_storage(account.to_bytes(20, "big"), k) for k in keys}
        assert world.get(account).storage == {k: v for k, v in theirs_storage.items() if v}, f"{where}: {account:#x}"
        assert world.get(account).balance == state.get_balance(account.to_bytes(20, "big")), f"{where}: {account:#x}"
    return ours, max(step.depth for step in steps) if steps else 0


@pytest.mark.filterwarnings("ignore:SELFDESTRUCT opcode present:DeprecationWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=cancun_program(), calldata=CALLDATA, callvalue=st.sampled_from([0, 5]))
def test_cancun_programs_with_calls_agree_with_pyevm(code, calldata, callvalue):
    outcome, depth = check_cancun_agreement(code, calldata, callvalue)
    event(f"outcome {outcome.name}")
    event(f"deepest frame {min(depth, 3)}{'+' if depth >= 3 else ''}")


@pytest.mark.parametrize("program", [
    ["PUSH1", 1, "PUSH1", 0, "SSTORE", "PUSH1", 0, "PUSH1", 0, "SSTORE", "PUSH1", 0, "SLOAD"],  # set then reset
    ["PUSH1", 0, "PUSH1", 1, "SSTORE", "PUSH1", 5, "PUSH1", 1, "SSTORE"],  # clear an original slot, then restore
    ["PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "PUSH20", WRITER, "PUSH2", 50_000, "STATICCALL"],
    ["PUSH1", 32, "PUSH1", 0, "PUSH1", 0, "PUSH1", 0, "PUSH20", REVERTER, "GAS", "DELEGATECALL",
     "RETURNDATASIZE", "PUSH1", 0, "PUSH1", 0, "RETURNDATACOPY"],
    ["PUSH1", 0, "PUSH1", 0, "PUSH1", 64, "PUSH1", 0, "PUSH1", 1, "PUSH20", EMPTY, "GAS", "CALL"],  # new account
], ids=["sstore-set-reset", "sstore-clear-restore", "staticcall-write", "delegatecall-revert", "call-new-account"])
def test_cancun_cases_agree_with_pyevm(program):
    check_cancun_agreement(assemble(program), b"", 0)
