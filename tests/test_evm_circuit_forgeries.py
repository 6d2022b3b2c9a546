"""Chapter 08 under an adversarial prover: multi-wire forgeries (limbs that sum to r, limbs ≥ 2^128, negated
pairs, absent entries opened with garbage) on every cached account and storage entry are refused; the
transaction check refuses tree-index collisions before any write; `check_block_fits` names every limit."""
from __future__ import annotations

from dataclasses import replace

import pytest

from lumoz_ref.evm import assemble
from lumoz_ref.evm_circuit import (LIMB, Account, CircuitConfig, CircuitLimitExceeded, State, Tx, UnsupportedTransaction,
                                   _all_zero, _Builder, account_forgeries, apply_block, apply_transaction,
                                   build_block_circuit, check_block_fits, deploy_code, from_limbs, reassign, set_account,
                                   set_storage, storage_forgeries)
from lumoz_ref.field import R
from lumoz_ref.r1cs import UnsatisfiedConstraint

TINY = CircuitConfig(max_txs=2, max_calls=1, max_steps=4, stack_depth=5, code_size=8, calldata_words=1,
                     account_slots=3, storage_slots=2, account_depth=2, storage_depth=2, fee_recipient=0xF3)


def refusal(circuit, overrides) -> str | None:
    "The label of the first constraint the forged witness breaks (None: the forgery satisfies the circuit)."
    try:
        circuit.r1cs.check(reassign(circuit, overrides))
    except UnsatisfiedConstraint as e:
        return e.label
    return None


def funded(*accounts) -> State:
    state = State(TINY.account_depth, TINY.storage_depth)
    for address, balance in accounts: set_account(state, address, Account(balance=balance))
    return state


def test_the_reported_forgery_is_refused():
    "A transfer of 10^15 wei to an absent account, opened with balance limbs (h, r − h): the recipient would get ~2^177 wei."
    state = funded((0xA1, 10**18))
    run = apply_block(state, [Tx(0xA1, 0xB2, value=10**15)])
    circuit = build_block_circuit(TINY, state, run)
    circuit.r1cs.check(circuit.witness)
    (what, over), = [f for f in account_forgeries(circuit, run) if f[0] == "account 0xb2: balance limbs sum to r"]
    k = next(k for k in range(TINY.account_slots) if circuit.inputs[f"account{k}.address"] == 0xB2)
    forged = reassign(circuit, over)
    hi, lo = (forged[circuit.r1cs.wire_names.index(f"time1.account{k}.balance.{p}")] for p in ("hi", "lo"))
    assert from_limbs(hi, lo) == 10**15 + (1 << 49) * (LIMB - 1)      # the forgery is what the report describes
    assert over["post_state_root"] != run.post_state_root
    assert refusal(circuit, over) == f"accounts: entry {k} opens under the current root"


@pytest.mark.parametrize("gas_price", [0, 3])
def test_every_account_forgery_is_refused(gas_price):
    "Every move on every used entry: sender, absent recipient, and (with fees) an absent fee recipient."
    state = funded((0xA1, 10**18))
    run = apply_block(state, [Tx(0xA1, 0xB2, value=10**15, gas_price=gas_price)], fee_recipient=0xF3)
    circuit = build_block_circuit(TINY, state, run)
    forgeries = account_forgeries(circuit, run)
    assert len(forgeries) == 4 * (2 + (gas_price > 0))
    for what, over in forgeries:
        assert refusal(circuit, over) is not None, what


def test_every_storage_forgery_is_refused():
    "A call that writes a fresh slot (absent before) and reads a present one: both before-values forged."
    state = funded((0xA1, 10**18))
    deploy_code(state, 0xC2, assemble(["PUSH1", 5, "PUSH1", 1, "SSTORE", "PUSH1", 2, "SLOAD"]))
    set_storage(state, 0xC2, 2, 7)
    run = apply_block(state, [Tx(0xA1, 0xC2, gas=60_000)])
    circuit = build_block_circuit(replace(TINY, max_steps=6, code_size=16), state, run)
    circuit.r1cs.check(circuit.witness)
    forgeries = storage_forgeries(circuit)
    assert len(forgeries) == 4
    for what, over in forgeries:
        assert refusal(circuit, over) is not None, what


@pytest.mark.parametrize("x, y", [(1, R - 1), (1 << 49, R - (1 << 49)), (LIMB, R - LIMB), (R - 1, 1)])
def test_all_zero_is_a_conjunction(x, y):
    "The emptiness flag of (x, y) with x + y ≡ 0 mod r is 0, and no assignment of the gadget's wires makes it 1."
    b = _Builder("conjunction")
    xv, yv = b.inp("x", x, "t"), b.inp("y", y, "t")
    flag = _all_zero(b, [xv, yv], "flag")
    b.cs.assert_equal(flag, 1, label="claims empty")
    witness = b.cs.compute_witness(b.inputs)
    assert not b.cs.is_satisfied(witness)
    names = b.cs.wire_names
    for i, name in enumerate(names):           # force both zero tests to say 'zero', whatever their inverses
        if name.endswith("is_zero.out") or name.startswith("flag.all zero"): witness[i] = 1
    assert not b.cs.is_satisfied(witness)


def test_collisions_are_refused_before_any_write():
    "0xB5 shares 0xA1's index at depth 2: a transfer to it is refused and the state is untouched."
    state = funded((0xA1, 10**18), (0xC2, 10**18))
    root = state.root
    with pytest.raises(CircuitLimitExceeded, match="share account-tree index"):
        apply_transaction(state, Tx(0xC2, 0xA1 + 4 * 0x100, value=1))
    assert state.root == root and state.account(0xC2).nonce == 0


def test_storage_collisions_are_refused_atomically():
    "A contract that writes slot 1 + 4 where slot 1 is present: refused after execution, before any write."
    state = funded((0xA1, 10**18))
    deploy_code(state, 0xC2, assemble(["PUSH1", 9, "PUSH1", 5, "SSTORE"]))
    set_storage(state, 0xC2, 1, 7)
    root = state.root
    with pytest.raises(CircuitLimitExceeded, match="share storage index"):
        apply_transaction(state, Tx(0xA1, 0xC2, gas=60_000))
    assert state.root == root and state.account(0xA1).nonce == 0 and state.storage[0xC2] == {1: 7}


def test_check_block_fits_names_each_limit():
    state = funded((0xA1, 10**18))
    deploy_code(state, 0xC2, assemble(["CALLER", "POP"]))
    assert check_block_fits(TINY, state, [Tx(0xA1, 0xB0, value=1)]).post_state_root != state.root
    with pytest.raises(UnsupportedTransaction, match="no code"):
        check_block_fits(TINY, state, [Tx(0xA1, 0xB0, value=1, gas=30_000, calldata=bytes(32))])
    with pytest.raises(CircuitLimitExceeded, match="max_txs"):
        check_block_fits(TINY, state, [Tx(0xA1, 0xB0, value=1, nonce=n) for n in range(3)])
    with pytest.raises(CircuitLimitExceeded, match="max_calls"):
        check_block_fits(TINY, state, [Tx(0xA1, 0xC2, gas=30_000, nonce=n) for n in range(2)])
    with pytest.raises(CircuitLimitExceeded, match="calldata words"):
        check_block_fits(TINY, state, [Tx(0xA1, 0xC2, gas=40_000, calldata=bytes(64))])
    with pytest.raises(CircuitLimitExceeded, match="accounts touched"):
        check_block_fits(TINY, state, [Tx(0xA1, 0xB0, value=1, gas_price=1), Tx(0xA1, 0xC2, gas=30_000, nonce=1)])
