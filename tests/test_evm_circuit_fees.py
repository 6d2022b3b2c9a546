"""Chapter 08 with fees: `apply_block` charges gas used × gas price exactly as chapter 09's `apply_transaction`
(transfers, calls, REVERT, out of gas, the SSTORE-clearing refund and its cap), and the block circuit proves
those fees and nothing else: forged fees, a root without the fee, an uncovered gas limit are refused."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lumoz_ref.evm import Outcome, assemble
from lumoz_ref.field import R
from lumoz_ref.evm_circuit import (SEQUENCER_FEE_VAULT, Account, BlockRun, CircuitConfig, CircuitLimitExceeded,
                                   ConfigError, InvalidTransaction, State, Tx, UnsupportedTransaction, _block_values,
                                   _build, account_leaf, apply_block, block_public_inputs, build_block_circuit,
                                   commit_transaction, deploy_code, prove_block, set_account, set_storage,
                                   setup_block_circuit, tx_commitment, verify_block)
from lumoz_ref.rollup import (BlockContext, Devnet, Genesis, RollupConfig, address_of_key, apply_transaction,
                              genesis_state, sign_transaction)

COUNTER = bytes.fromhex("60005460010160005500")                     # slot0 += 1
REVERTER = assemble(["PUSH1", 9, "PUSH1", 0, "SSTORE", "PUSH1", 32, "PUSH1", 0, "REVERT"])
CLEARER = assemble(["PUSH1", 0, "PUSH1", 0, "SSTORE", "STOP"])       # refund 15000, capped at half the gas used
CLEAR_AND_SET = assemble(["PUSH1", 0, "PUSH1", 0, "SSTORE", "PUSH1", 1, "PUSH1", 1, "SSTORE", "STOP"])  # refund below the cap
CLEAR_AND_REVERT = assemble(["PUSH1", 0, "PUSH1", 0, "SSTORE", "PUSH1", 0, "PUSH1", 0, "REVERT"])   # refund void


# --- native: chapter 08's apply_block against chapter 09's apply_transaction ---------------------------------

KEYS = [bytes([0] * 31 + [k]) for k in (11, 12, 13)]
PEOPLE = [address_of_key(k) for k in KEYS]
CONTRACTS = {name: bytes(18) + bytes([0xC0, k]) for k, name in enumerate(("counter", "reverter", "clearer", "mixed", "void"))}
CODES = {"counter": COUNTER, "reverter": REVERTER, "clearer": CLEARER, "mixed": CLEAR_AND_SET, "void": CLEAR_AND_REVERT}
ROLLUP = RollupConfig(account_depth=16, storage_depth=8)
GENESIS = Genesis(balances={a: 10**18 * (k + 1) for k, a in enumerate(PEOPLE)},
                  code={CONTRACTS[n]: c for n, c in CODES.items()},
                  storage={CONTRACTS["counter"]: {0: 41}, CONTRACTS["clearer"]: {0: 5},
                           CONTRACTS["mixed"]: {0: 5}, CONTRACTS["void"]: {0: 5}})


def as_int(address: bytes) -> int:
    return int.from_bytes(address, "big")


def chapter08_txs(trace) -> list[Tx]:
    "A block's transactions as chapter 08's Tx, the sender from the receipt, the gas price kept."
    return [Tx(as_int(receipt.sender), as_int(tx.to), tx.value, tx.nonce, tx.gas, tx.data, tx.gas_price)
            for tx, receipt in zip(trace.transactions, trace.receipts)]


PLAN = {   # block -> (sender index, to, value, gas, gas price); nonces are counted per sender
    1: [(0, PEOPLE[1], 10**15, 21_000, 7), (1, PEOPLE[2], 3, 30_000, 7), (2, PEOPLE[0], 0, 21_000, 0)],
    2: [(0, CONTRACTS["counter"], 5, 60_000, 7), (1, CONTRACTS["counter"], 0, 60_000, 9)],
    3: [(0, CONTRACTS["reverter"], 8, 60_000, 7), (1, CONTRACTS["counter"], 2, 21_000 + 5_000, 7),
        (2, CONTRACTS["clearer"], 0, 60_000, 7)],
    4: [(0, CONTRACTS["mixed"], 0, 90_000, 3), (1, CONTRACTS["void"], 1, 90_000, 5), (2, SEQUENCER_FEE_VAULT.to_bytes(20, "big"), 4, 21_000, 2)],
}


@pytest.fixture(scope="module")
def chain():
    net, nonces = Devnet(ROLLUP, GENESIS), [0, 0, 0]
    for n in sorted(PLAN):
        txs = []
        for s, to, value, gas, price in PLAN[n]:
            txs.append(sign_transaction(KEYS[s], nonce=nonces[s], to=to, value=value, gas=gas, gas_price=price))
            nonces[s] += 1
        block = net.step(txs)
        assert len(block.transactions) == len(txs), net.node.log
    return net.node


def test_devnet_blocks_with_fees_match_chapter_09(chain):
    """Block by block, chapter 08's apply_block on the node's state reaches the chain's state root, and every
    transaction uses the gas and gets the status chapter 09's receipt records."""
    statuses = set()
    for n in sorted(PLAN):
        trace = chain.block_trace(n)
        run = apply_block(chain.state_at(n - 1).circuit_state(), chapter08_txs(trace),
                          fee_recipient=as_int(ROLLUP.fee_recipient))
        assert run.post_state_root.to_bytes(32, "big") == trace.post_state_root == chain.blocks[n].header.state_root
        for r, receipt in zip(run.txs, trace.receipts):
            assert (r.gas_used, r.success) == (receipt.gas_used, receipt.success)
            assert r.fee == receipt.gas_used * r.tx.gas_price
            statuses.add(receipt.status if r.result is not None else "transfer")
    assert {"transfer", "success", "revert", Outcome.OUT_OF_GAS.value} <= statuses
    vault = chain.state.account(ROLLUP.fee_recipient)
    assert vault.balance == sum(r.gas_used * tx.gas_price for n in PLAN
                                for tx, r in zip(chain.block_trace(n).transactions, chain.block_trace(n).receipts)) + 4


def test_refund_is_capped_at_half_the_gas_used(chain):
    """The clearing call uses 26006 gas before the refund: 15000 is capped to 13003; with a 20000 SSTORE after it
    (46012 gas) the full 15000 comes back; a clear followed by REVERT refunds nothing."""
    clear, = [r for r in chain.block_trace(3).receipts if r.trace and r.trace[-1].name == "STOP"]
    assert clear.gas_used == 26_006 - 13_003
    mixed, void = chain.block_trace(4).receipts[:2]
    assert mixed.gas_used == 46_012 - 15_000
    assert void.status == "revert" and void.gas_used == 21_000 + 4 * 3 + 5_000   # four PUSH1, the SSTORE, a free REVERT


def test_one_state_two_rules_per_transaction():
    """Directly on an L2State: chapter 09's apply_transaction and chapter 08's apply_block agree transaction by
    transaction, also for a sender that is the fee recipient."""
    state = genesis_state(ROLLUP, replace(GENESIS, balances={**GENESIS.balances, ROLLUP.fee_recipient: 0}))
    ctx = BlockContext(1, 0)
    nonce = 0
    for to, value, gas, price in [(CONTRACTS["clearer"], 0, 50_000, 11), (PEOPLE[1], 7, 21_000, 1),
                                  (CONTRACTS["counter"], 1, 21_100, 13)]:
        pre = state.circuit_state()
        receipt = apply_transaction(state, sign_transaction(KEYS[0], nonce=nonce, to=to, value=value, gas=gas,
                                                            gas_price=price), ctx)
        run = apply_block(pre, [Tx(as_int(PEOPLE[0]), as_int(to), value, nonce, gas, b"", price)])
        assert run.post_state_root.to_bytes(32, "big") == state.state_root
        assert run.txs[0].gas_used == receipt.gas_used
        nonce += 1


def test_native_refusals():
    """An uncovered gas limit is InvalidTransaction; a gas price of 2^64 or more is outside the circuit."""
    state = State(2, 2)
    set_account(state, 0xA1, Account(balance=21_000 * 5 + 9))
    apply_block(state, [Tx(0xA1, 0xB2, value=9, gas=21_000, gas_price=5)], fee_recipient=0xF3)
    with pytest.raises(InvalidTransaction, match="value \\+ gas limit × gas price"):
        apply_block(state, [Tx(0xA1, 0xB2, value=10, gas=21_000, gas_price=5)], fee_recipient=0xF3)
    with pytest.raises(UnsupportedTransaction, match="2\\^64"):
        apply_block(state, [Tx(0xA1, 0xB2, gas=21_000, gas_price=2**64)], fee_recipient=0xF3)
    assert tx_commitment([Tx(1, 2, gas_price=1)]) != tx_commitment([Tx(1, 2, gas_price=2)])


# --- the circuit --------------------------------------------------------------------------------------------

VAULT = 0xF3   # the fee recipient of these shapes (tree index 3)
FEES = CircuitConfig(max_txs=3, max_calls=1, max_steps=7, stack_depth=5, code_size=16, calldata_words=1,
                     account_slots=4, storage_slots=2, account_depth=2, storage_depth=1, fee_recipient=VAULT)
A, C, B = 0xA0, 0xC1, 0xB2   # tree indices 0, 1, 2


def fees_state(code: bytes = CLEAR_AND_SET, vault_balance: int = 0, sender_balance: int = 10**9) -> State:
    state = State(FEES.account_depth, FEES.storage_depth)
    set_account(state, A, Account(balance=sender_balance))
    deploy_code(state, C, code); set_storage(state, C, 0, 5)
    if vault_balance: set_account(state, VAULT, Account(balance=vault_balance))
    return state


def fees_block(state: State, prices=(5, 3)):
    txs = [Tx(A, C, value=1, gas=90_000, gas_price=prices[0]), Tx(A, B, value=7, nonce=1, gas=30_000, gas_price=prices[1])]
    return apply_block(state, txs, fee_recipient=VAULT)


@pytest.fixture(scope="module")
def fee_circuit():
    state = fees_state()
    run = fees_block(state)
    assert run.txs[0].result.outcome is Outcome.SUCCESS and run.txs[0].gas_used == 46_012 - 15_000
    circuit = build_block_circuit(FEES, state, run, binding=99)
    circuit.r1cs.check(circuit.witness)
    return state, run, circuit


def value_of(circuit, name: str) -> int:
    return circuit.witness[circuit.r1cs.wire_names.index(name)]


def test_fee_block_is_satisfied_with_the_fee_wires(fee_circuit):
    """The circuit's gas used, refund and fee wires hold chapter 09's numbers; the vault gets both fees."""
    state, run, circuit = fee_circuit
    assert value_of(circuit, "call0.refund") == 15_000
    assert [value_of(circuit, f"tx{i}.fee") for i in range(3)] == [r.fee for r in run.txs] + [0]
    assert run.post_state.account(VAULT).balance == (46_012 - 15_000) * 5 + 21_000 * 3
    assert circuit.public_inputs == block_public_inputs(state.root, run.post_state_root, [r.tx for r in run.txs], 99)


def test_fee_block_proves_and_verifies(fee_circuit):
    """Setup from the empty block's shape, a proof of the fee block, verified; another post root is refused."""
    state, run, circuit = fee_circuit
    pk, vk = setup_block_circuit(FEES, seed=5)
    proof = prove_block(pk, circuit, rng=random.Random(6))
    public = block_public_inputs(state.root, run.post_state_root, [r.tx for r in run.txs], 99)
    assert verify_block(vk, public, proof)
    assert not verify_block(vk, (public[0], public[1] + 1, *public[2:]), proof)


def test_mutated_fee_wires_are_unsatisfied(fee_circuit):
    """±1 on any fee-related value (gas price, gas used, refund, halving, fee, carries, inverse, balances) breaks it."""
    _, _, circuit = fee_circuit
    names = circuit.r1cs.wire_names
    targets = ["tx0.gas_price", "tx1.gas_price", "tx0.fee", "tx1.fee", "call0.refund", "call0.gas used.half",
               "call0.gas used.odd", "tx0.sender pays the fee.carry", "tx0.fee recipient is paid.carry",
               "tx0.fee recipient is paid.inv", "tx1.fee recipient is paid.inv", "tx0.gas × gas price",
               "time1.account3.balance.lo", "time2.account3.balance.lo", "time2.account0.balance.lo"]
    for name in targets:
        for delta in (1, -1):
            forged = list(circuit.witness)
            forged[names.index(name)] = (forged[names.index(name)] + delta) % R
            assert not circuit.r1cs.is_satisfied(forged), name


def test_a_smaller_fee_with_a_consistent_root_is_refused(fee_circuit):
    """Claim the call left one more unit of gas (5 wei less fee) and a post root that agrees with that: the
    roots and Merkle paths then hold, and only the balance constraints of the fee refuse it."""
    state, run, _ = fee_circuit
    first = run.txs[0]
    lie = replace(first, result=replace(first.result, gas_left=first.result.gas_left + 1))
    post = state.copy()
    for r in (lie, *run.txs[1:]): commit_transaction(post, r.tx, r.result, r.storage_before, VAULT)
    assert post.account(VAULT).balance == run.post_state.account(VAULT).balance - 5
    circuit = build_block_circuit(FEES, state, BlockRun(state.root, post.root, (lie, *run.txs[1:]), post, VAULT), binding=99)
    witness, r1cs = circuit.witness, circuit.r1cs
    ev = lambda terms: sum(c * witness[i] for i, c in terms.items()) % R
    failing = [r1cs.labels[j] for j, (x, y, z) in enumerate(r1cs.constraints) if ev(x) * ev(y) % R != ev(z)]
    assert failing and all("balance" in label for label in failing), failing


def test_rejects_the_post_state_root_without_the_fee(fee_circuit):
    """The same block at gas price 0 ends at another root; claiming it for the fee-paying block fails by name."""
    state, run, _ = fee_circuit
    free = fees_block(state, prices=(0, 0))
    assert free.post_state_root != run.post_state_root
    lie = build_block_circuit(FEES, state, run, binding=99, claimed_post_state_root=free.post_state_root)
    with pytest.raises(Exception, match="post-state root matches"):
        lie.r1cs.check(lie.witness)


def test_uncovered_gas_limit_is_unprovable():
    """Balance covers value + fee but not value + gas limit × price: refused natively, and the replayed witness
    fails at the named coverage constraint."""
    txs = [Tx(A, C, value=1, gas=90_000, gas_price=5)]
    rich = fees_state()
    run = apply_block(rich, txs, fee_recipient=VAULT)
    poor = fees_state(sender_balance=1 + 90_000 * 5 - 1)
    assert poor.account(A).balance >= 1 + run.txs[0].fee
    with pytest.raises(InvalidTransaction, match="needs"):
        apply_block(poor, txs, fee_recipient=VAULT)
    post = poor.copy()
    for r in run.txs: commit_transaction(post, r.tx, r.result, r.storage_before, VAULT)
    forged = BlockRun(poor.root, post.root, run.txs, post, VAULT)
    circuit = build_block_circuit(FEES, poor, forged)
    with pytest.raises(Exception, match="balance covers value \\+ gas × gas price"):
        circuit.r1cs.check(circuit.witness)


def test_vault_as_sender_and_recipient():
    """The fee recipient sends and receives in a fee-paying block: updated in chapter 09's order."""
    state = fees_state(vault_balance=10**8)
    txs = [Tx(VAULT, A, value=5, gas=21_000, gas_price=2), Tx(A, VAULT, value=9, gas=25_000, gas_price=3),
           Tx(A, C, value=0, nonce=1, gas=90_000, gas_price=1)]
    run = apply_block(state, txs, fee_recipient=VAULT)
    assert run.post_state.account(VAULT).balance == 10**8 - 5 + 9 + 21_000 * 3 + run.txs[2].fee
    circuit = build_block_circuit(FEES, state, run)
    circuit.r1cs.check(circuit.witness)


@pytest.mark.parametrize("program", [["PUSH1", 9, "PUSH1", 0, "SSTORE", "PUSH1", 32, "PUSH1", 0, "REVERT"],
                                     ["PUSH1", 9, "PUSH1", 0, "SSTORE", "PUSH1", 64, "PUSH1", 0, "RETURN"],
                                     ["PUSH1", 1, "ADD"], ["PUSH1", 0, "PUSH1", 0, "SSTORE", 0xEF],
                                     ["PUSH1", 0, "PUSH1", 0, "SSTORE"]])
def test_every_ending_pays_its_gas(program):
    """REVERT and RETURN with memory expansion, underflow, an invalid opcode after a clear, running off the end."""
    state = fees_state(assemble(program))
    run = apply_block(state, [Tx(A, C, value=2, gas=90_000, gas_price=7)], fee_recipient=VAULT)
    circuit = build_block_circuit(FEES, state, run)
    circuit.r1cs.check(circuit.witness)
    assert value_of(circuit, "tx0.fee") == run.txs[0].fee == run.txs[0].gas_used * 7


def test_price_zero_needs_no_vault_slot_and_an_empty_vault_stays_empty():
    """At gas price 0 the vault takes no account slot (two slots suffice for a transfer) and a zero-value transfer to
    an empty vault leaves it the empty leaf; a fee needs the vault's slot."""
    tight = replace(FEES, account_slots=2)
    state = fees_state()
    free = apply_block(state, [Tx(A, B, value=3, gas=21_000)], fee_recipient=VAULT)
    build_block_circuit(tight, state, free).r1cs.check(build_block_circuit(tight, state, free).witness)
    paid = apply_block(state, [Tx(A, B, value=3, gas=21_000, gas_price=1)], fee_recipient=VAULT)
    with pytest.raises(CircuitLimitExceeded, match="accounts touched"):
        build_block_circuit(tight, state, paid)
    to_vault = apply_block(state, [Tx(A, VAULT, value=0, gas=21_000)], fee_recipient=VAULT)
    assert to_vault.post_state.is_empty(to_vault.post_state.account(VAULT))
    circuit = build_block_circuit(tight, state, to_vault)
    circuit.r1cs.check(circuit.witness)
    assert value_of(circuit, "account1.new.leaf") == 0   # the vault's entry (index 3 > A's 0) writes the empty leaf


def test_fee_recipient_must_match_the_config():
    """A block that paid another fee recipient than the circuit's is refused by the witness builder."""
    state = fees_state()
    run = apply_block(state, [Tx(A, B, value=3, gas=21_000, gas_price=1)], fee_recipient=0xE3)   # another vault
    with pytest.raises(ConfigError, match="fee"):
        build_block_circuit(FEES, state, run)
