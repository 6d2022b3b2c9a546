"""Chapter 08: the block circuit is satisfied by the interpreter's witness (differential, hypothesis) and by
nothing else nearby (mutations, wrong roots, forged values); one constraint shape for every block."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lumoz_ref.evm import Outcome, assemble
from lumoz_ref.evm_circuit import (COUNTER_CODE, Account, CircuitConfig, CircuitLimitExceeded, InvalidTransaction,
                                   State, Tx, UnsupportedTransaction, apply_block, block_circuit_shape,
                                   build_block_circuit, deploy_code, limbs, mutation_experiment, set_account,
                                   set_storage)
from lumoz_ref.evm_circuit import block_public_inputs, prove_block, setup_block_circuit, verify_block
from lumoz_ref.field import R
from lumoz_ref.r1cs import UnsatisfiedConstraint

SMALL = CircuitConfig(max_txs=3, max_calls=1, max_steps=12, stack_depth=8, code_size=32, calldata_words=2,
                      account_slots=4, storage_slots=2, account_depth=3, storage_depth=3)
PEOPLE = (0xA1, 0xB2, 0xC3)   # distinct indices at depth 3
CONTRACT = 0xF4


def fresh_state(code: bytes | None = None, storage: dict | None = None) -> State:
    state = State(SMALL.account_depth, SMALL.storage_depth)
    for k, address in enumerate(PEOPLE): set_account(state, address, Account(balance=10**6 * (k + 1)))
    if code is not None:
        deploy_code(state, CONTRACT, code)
        for slot, value in (storage or {}).items(): set_storage(state, CONTRACT, slot, value)
    return state


def value_of(circuit, name: str) -> int:
    return circuit.witness[circuit.r1cs.wire_names.index(name)]


def assert_proves_run(state: State, run):
    circuit = build_block_circuit(SMALL, state, run, binding=12345)
    circuit.r1cs.check(circuit.witness)
    assert circuit.r1cs.public_signals(circuit.witness) == list(circuit.public_inputs)
    assert circuit.public_inputs[0] == state.root
    assert circuit.public_inputs[1] == run.post_state_root == run.post_state.root
    return circuit


# --- programs in the supported subset --------------------------------------------------------------------

SIMPLE = ["ADD", "SUB", "MUL", "LT", "GT", "EQ", "ISZERO", "AND", "OR", "XOR", "NOT", "POP", "DUP1", "DUP2", "DUP3",
          "DUP4", "SWAP1", "SWAP2", "SWAP3", "SWAP4", "PC", "CALLER", "CALLVALUE", "JUMPDEST", "CALLDATALOAD", "SLOAD"]
words = st.one_of(st.integers(0, 3), st.integers(0, 2**256 - 1), st.sampled_from([2**255, 2**256 - 1, 2**128, 2**128 - 1]))


@st.composite
def programs(draw):
    "Straight-line and jumping programs over the circuit's opcodes (underflows and bad jumps included)."
    items = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.integers(0, 9))
        if kind <= 2:
            n = draw(st.integers(1, 32))
            items += [f"PUSH{n}", draw(words) % 256**n]
        elif kind == 3:
            items += ["PUSH1", draw(st.sampled_from([0, 32, 64, 1])), draw(st.sampled_from(["CALLDATALOAD", "SLOAD"]))]
        elif kind == 4:
            items += ["PUSH1", draw(st.integers(1, 9)), "PUSH1", draw(st.sampled_from([0, 1])), "SSTORE"]
        elif kind == 5:
            items += ["PUSH1", draw(st.integers(0, 40)), draw(st.sampled_from(["JUMP", "JUMPI"]))]
        else:
            items.append(draw(st.sampled_from(SIMPLE)))
    items.append(draw(st.sampled_from(["STOP", "RETURN", "REVERT", "INVALID", None])))
    return assemble([i for i in items if i is not None])


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=programs(), gas=st.sampled_from([21_000 + 64 + 40, 21_000 + 64 + 300, 90_000]),
       value=st.integers(0, 1000), data=st.binary(min_size=32, max_size=32))
def test_circuit_accepts_the_interpreters_trace(code, gas, value, data):
    """Differential: for random programs the interpreter's witness satisfies the circuit, post root included."""
    assume(len(code) < SMALL.code_size)
    state = fresh_state(code, {1: 5})
    gas += 16 * 32 - 12 * data.count(0)
    run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, value=value, gas=gas, calldata=data),
                              Tx(PEOPLE[1], PEOPLE[2], value=value, nonce=0, gas=21_000)])
    try:
        circuit = build_block_circuit(SMALL, state, run, binding=7)
    except CircuitLimitExceeded:
        assume(False)
    circuit.r1cs.check(circuit.witness)
    assert circuit.public_inputs[1] == run.post_state_root == run.post_state.root
    success = run.txs[0].result.outcome is Outcome.SUCCESS
    assert value_of(circuit, "tx0.active") == 1 and value_of(circuit, "call0.used") == 1
    assert (run.post_state.account(CONTRACT).balance == value) == (success or value == 0)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 10**6)), min_size=0, max_size=3))
def test_circuit_accepts_transfer_blocks(moves):
    """Transfers among three accounts and to fresh ones, self-transfers and zero values, and padding slots."""
    state, nonces, txs = fresh_state(), {a: 0 for a in PEOPLE}, []
    for s, r, value in moves:
        sender, to = PEOPLE[s], (PEOPLE + (0xD5,))[r]
        txs.append(Tx(sender, to, value=value % (state.account(sender).balance // 2 + 1), nonce=nonces[sender], gas=21_000))
        nonces[sender] += 1
    assert_proves_run(state, apply_block(state, txs))


def test_every_halt_is_proven():
    """Each outcome of the subset gives a satisfied circuit whose root is the interpreter's."""
    cases = {Outcome.STACK_UNDERFLOW: (["PUSH1", 1, "ADD"], 90_000),
             Outcome.OUT_OF_GAS: (["PUSH1", 1, "PUSH1", 0, "SSTORE"], 21_000 + 100),
             Outcome.INVALID_JUMP_DESTINATION: (["PUSH1", 2, "PUSH1", 1, "JUMPI", "STOP"], 90_000),
             Outcome.INVALID_OPCODE: (["PUSH1", 1, 0xEF], 90_000),
             Outcome.REVERT: (["PUSH1", 9, "PUSH1", 0, "SSTORE", "PUSH1", 32, "PUSH1", 0, "REVERT"], 90_000),
             Outcome.SUCCESS: (["PUSH1", 9, "PUSH1", 0, "SSTORE", "PUSH1", 32, "PUSH1", 0, "RETURN"], 90_000)}
    for outcome, (program, gas) in cases.items():
        state = fresh_state(assemble(program))
        run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, value=3, gas=gas)])
        assert run.txs[0].result.outcome is outcome
        circuit = assert_proves_run(state, run)
        assert value_of(circuit, "tx0.active") == 1


def test_huge_return_range_is_out_of_gas():
    """RETURN over 2^33 bytes: the circuit forces the out-of-gas halt the interpreter reaches."""
    state = fresh_state(assemble(["PUSH5", 2**33, "PUSH1", 0, "RETURN"]))
    run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, value=3, gas=90_000)])
    assert run.txs[0].result.outcome is Outcome.OUT_OF_GAS
    assert_proves_run(state, run)


# --- soundness ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def counter_block():
    state = fresh_state(COUNTER_CODE, {0: 41})
    txs = [Tx(PEOPLE[1], PEOPLE[2], value=5, gas=21_000), Tx(PEOPLE[0], CONTRACT, value=2, gas=70_000),
           Tx(PEOPLE[2], PEOPLE[0], value=7, gas=21_000)]
    run = apply_block(state, txs)
    return state, run, assert_proves_run(state, run)


def test_one_shape_for_every_block(counter_block):
    """The constraints do not depend on the block: one verifying key serves all blocks of a config."""
    _, _, circuit = counter_block
    assert circuit.r1cs.constraints == block_circuit_shape(SMALL).r1cs.constraints


def test_mutations_of_a_valid_witness_are_rejected(counter_block):
    """1,200 single-value mutations (trace, selectors, code, accounts, storage, siblings, roots, txs): none satisfy."""
    _, _, circuit = counter_block
    result = mutation_experiment(circuit, 1200, seed=8)
    assert sum(tried for tried, _ in result.values()) == 1200
    assert min(tried for tried, _ in result.values()) > 50
    assert {group: survived for group, (_, survived) in result.items() if survived} == {}


def test_mutation_check_agrees_with_is_satisfied(counter_block):
    """The touched-rows check of the mutation experiment and the full is_satisfied give the same verdicts."""
    _, _, circuit = counter_block
    assert mutation_experiment(circuit, 24, seed=3, full_check=True) == mutation_experiment(circuit, 24, seed=3)


def test_rejects_wrong_post_state_root(counter_block):
    """A claimed post-state root other than the EVM's fails at the named constraint."""
    state, run, _ = counter_block
    lie = build_block_circuit(SMALL, state, run, claimed_post_state_root=(run.post_state_root + 1) % R)
    with pytest.raises(Exception, match="post-state root matches"):
        lie.r1cs.check(lie.witness)


def test_rejects_value_above_balance(counter_block):
    """Forging a transfer larger than the sender's balance (and the balances that follow) is unsatisfiable."""
    _, _, circuit = counter_block
    forged = list(circuit.witness)
    index = circuit.r1cs.wire_names.index
    balance = value_of(circuit, "time0.account1.balance.lo")  # PEOPLE[1], the first sender
    forged[index("tx0.value.lo")] = balance + 1
    forged[index("time1.account1.balance.lo")] = R - 1  # what a wrapped subtraction would leave
    assert not circuit.r1cs.is_satisfied(forged)


def test_rejects_skipping_a_failed_call_effects():
    """An out-of-gas call: claiming the successful call's post-state does not satisfy the circuit."""
    state = fresh_state(COUNTER_CODE)
    ok = apply_block(state, [Tx(PEOPLE[0], CONTRACT, value=2, gas=70_000)])
    oog = apply_block(state, [Tx(PEOPLE[0], CONTRACT, value=2, gas=21_000 + 5_300)])
    assert oog.txs[0].result.outcome is Outcome.OUT_OF_GAS
    claim = build_block_circuit(SMALL, state, oog, claimed_post_state_root=ok.post_state_root)
    assert not claim.r1cs.is_satisfied(claim.witness)


def test_invalid_transactions_are_refused():
    """Bad nonce, balance below value, gas below intrinsic gas: no block holds them."""
    state = fresh_state(COUNTER_CODE)
    for tx, reason in [(Tx(PEOPLE[0], PEOPLE[1], nonce=1), "nonce"), (Tx(PEOPLE[0], PEOPLE[1], value=10**9), "wei"),
                       (Tx(PEOPLE[0], PEOPLE[1], gas=20_999), "intrinsic")]:
        with pytest.raises(InvalidTransaction, match=reason):
            apply_block(state, [tx])
    with pytest.raises(UnsupportedTransaction, match="no code"):
        apply_block(state, [Tx(PEOPLE[0], PEOPLE[1], calldata=bytes(32))])


def test_limits_are_named():
    """A block beyond the config's limits is refused with the limit's name, not proven wrong."""
    state = fresh_state(assemble(["PUSH1", 1, "CALLDATALOAD", "STOP"]))
    run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, gas=90_000)])
    with pytest.raises(CircuitLimitExceeded, match="multiples of 32"):
        build_block_circuit(SMALL, state, run)
    state = fresh_state(assemble(["JUMPDEST", "PUSH1", 0, "JUMP"]))
    run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, gas=22_000)])
    with pytest.raises(CircuitLimitExceeded, match="max_steps"):
        build_block_circuit(SMALL, state, run)
    state = fresh_state(assemble(["PUSH1", 1, "PUSH1", 2, "DIV"]))
    run = apply_block(state, [Tx(PEOPLE[0], CONTRACT, gas=90_000)])
    with pytest.raises(CircuitLimitExceeded, match="DIV"):
        build_block_circuit(SMALL, state, run)


def test_binding_and_tx_commitment_are_public(counter_block):
    """The four public inputs are the roots, the transaction commitment and the binding, in that order."""
    state, run, circuit = counter_block
    from lumoz_ref.evm_circuit import block_public_inputs
    assert circuit.public_inputs == block_public_inputs(state.root, run.post_state_root, [r.tx for r in run.txs], 12345)
    assert limbs(2**256 - 1) == (2**128 - 1, 2**128 - 1)


MICRO = CircuitConfig(max_txs=1, max_calls=1, max_steps=4, stack_depth=5, code_size=8, calldata_words=1,
                      account_slots=2, storage_slots=1, account_depth=1, storage_depth=1)


def test_prover_refuses_a_wrong_post_state_root():
    """Keys from the empty-block shape prove a real block; a wrong claimed root is refused by name, not proven."""
    state = State(MICRO.account_depth, MICRO.storage_depth)
    set_account(state, 0xA0, Account(balance=1000))
    run = apply_block(state, [Tx(0xA0, 0xB1, value=300, gas=21_000)])
    pk, vk = setup_block_circuit(MICRO, seed=3)
    honest = build_block_circuit(MICRO, state, run, binding=77)
    proof = prove_block(pk, honest, rng=random.Random(4))
    assert verify_block(vk, block_public_inputs(state.root, run.post_state_root, [r.tx for r in run.txs], 77), proof)
    lie = build_block_circuit(MICRO, state, run, binding=77, claimed_post_state_root=state.root)
    with pytest.raises(UnsatisfiedConstraint, match="post-state root matches"):
        prove_block(pk, lie)


def test_two_calls_to_one_contract_chain_their_storage():
    """Two calls in one block (the second sees the first's writes), a transfer between them, padding after."""
    config = replace(SMALL, max_calls=2, max_txs=4)
    state = fresh_state(COUNTER_CODE, {0: 41})
    txs = [Tx(PEOPLE[0], CONTRACT, value=2, gas=70_000), Tx(PEOPLE[1], PEOPLE[0], value=9, gas=21_000),
           Tx(PEOPLE[2], CONTRACT, value=5, gas=70_000)]
    run = apply_block(state, txs)
    assert run.post_state.get_storage(CONTRACT, 0) == 48 and run.post_state.get_storage(CONTRACT, 1) == PEOPLE[2]
    circuit = build_block_circuit(config, state, run, binding=1)
    circuit.r1cs.check(circuit.witness)
    assert circuit.public_inputs[1] == run.post_state.root
    assert value_of(circuit, "call1.used") == 1 and value_of(circuit, "tx3.active") == 0
    assert all(survived == 0 for _, survived in mutation_experiment(circuit, 300, seed=2).values())


def test_only_is_zero_inverses_are_free(counter_block):
    """Every private wire (gadget internals too) is pinned down by the constraints, except the inverse hints of
    is_zero at a zero input, which no other constraint reads."""
    from lumoz_ref.evm_circuit import free_wires
    _, _, circuit = counter_block
    free = free_wires(circuit)
    assert free and set(free) == {"is_zero.inv"}
