"""Chapter 09: one definition of a valid block. Random and hostile transaction streams go through sequencer →
batcher → derivation on a chain with a small block circuit: every block either side accepts passes chapter 08's
`check_block_fits` (and, for a few, the built circuit is satisfied), derivation never raises on batch content, and
it reaches the same chain as a node that builds the same transactions."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings, strategies as st

from lumoz_ref.evm_circuit import CircuitConfig, build_block_circuit, check_block_fits
from lumoz_ref.rollup import (
    L2_TO_L1_MESSAGE_PASSER, SEQUENCER_FEE_VAULT, BlockDoesNotFitCircuit, Devnet, Genesis, InMemoryBatchInbox,
    RollupConfig, RollupNode, SingularBatch, StateKeyCollision, TransactionError, address_of_key, circuit_transactions,
    decode_transaction, derive_chain, encode_batcher_tx, encode_channel, initiate_withdrawal_calldata,
    sign_transaction, simulated_l1_block, split_channel,
)

# Depth 8 makes collisions easy to reach and hashing cheap; the message passer (31 steps, 42 bytes, 5 slots) fits.
FUZZ_CIRCUIT = CircuitConfig(max_txs=3, max_calls=1, max_steps=32, stack_depth=5, code_size=64, calldata_words=2,
                             account_slots=5, storage_slots=5, account_depth=8, storage_depth=8,
                             fee_recipient=int.from_bytes(SEQUENCER_FEE_VAULT, "big"))
FUZZ = RollupConfig(account_depth=8, storage_depth=8, circuit=FUZZ_CIRCUIT)
# Small enough to build the R1CS in seconds: the counter fits (7 steps), a withdrawal (31 steps) does not.
PROVE_CIRCUIT = replace(FUZZ_CIRCUIT, max_txs=2, max_steps=8, code_size=16, calldata_words=1, storage_slots=2)
PROVE = replace(FUZZ, circuit=PROVE_CIRCUIT)

KEYS = [(i + 11).to_bytes(32, "big") for i in range(6)]                   # enough senders for about one each a block
ADDRS = [address_of_key(k) for k in KEYS]
COUNTER = bytes.fromhex("00000000000000000000000000000000000c0de1")        # slot 0 += 1
TWO_SLOTS = bytes.fromhex("00000000000000000000000000000000000c0de2")      # slots 1 and 257: one index at depth 8
GENESIS = Genesis(balances={a: 10**18 for a in ADDRS},
                  code={COUNTER: bytes.fromhex("60005460010160005500"),
                        TWO_SLOTS: bytes.fromhex("6001600155" + "600161010155" + "00")})
OCCUPIED = [*ADDRS, COUNTER, TWO_SLOTS, SEQUENCER_FEE_VAULT, L2_TO_L1_MESSAGE_PASSER]
ETHER = 10**18
assert len({a[-1] for a in OCCUPIED}) == len(OCCUPIED)   # the genesis itself is collision-free at depth 8


def _recipient(kind: str, pick: int) -> tuple[bytes, bytes, int]:
    "(to, calldata without the attack bytes, gas) for a kind of transaction."
    if kind == "pay":
        return ADDRS[pick % len(ADDRS)], b"", 60_000
    if kind == "fresh":                                   # a new account; at depth 8 it may well collide
        return bytes([0x77] * 19 + [pick]), b"", 60_000
    if kind == "twin":                                    # shares the low byte of an occupied account
        return bytes([0xab] * 19) + OCCUPIED[pick % len(OCCUPIED)][-1:], b"", 60_000
    if kind in ("counter", "two_slots"):
        return (COUNTER if kind == "counter" else TWO_SLOTS), b"", 80_000
    words = 2 if kind == "withdraw" else 3                # "withdraw3": one calldata word more than the circuit takes
    return L2_TO_L1_MESSAGE_PASSER, initiate_withdrawal_calldata(ADDRS[pick % len(ADDRS)], 50_000) + bytes(32 * (words - 2)), 200_000


tx_spec = st.tuples(
    st.integers(0, len(KEYS) - 1),                                               # sender
    st.sampled_from(["pay"] * 4 + ["fresh"] * 2 + ["twin", "counter", "counter", "two_slots", "withdraw", "withdraw",
                     "withdraw3"]),
    st.integers(0, 255),                                                         # which recipient
    st.sampled_from([0, 1, 1, 10**15, 10**15, 2**255]),                          # value (2^255: unaffordable)
    st.sampled_from([b""] * 6 + [b"\x01", bytes(31) + b"\x01", bytes(64)]),      # calldata, even to accounts without code
    st.sampled_from([0, 7, 7]),                                                  # gas price (0: the vault is not touched)
    st.sampled_from([0] * 8 + [1, -1]))                                          # nonce offset: mostly right
block_specs = st.lists(tx_spec, max_size=5, unique_by=lambda spec: spec[0])      # one per sender: nonces stay right
stream = st.lists(block_specs, min_size=1, max_size=4)                          # up to 5 > max_txs per block


def _sign(spec, nonce):
    "The transaction of `spec`, signed with the sender's `nonce` plus the spec's offset."
    sender, kind, pick, value, calldata, gas_price, offset = spec
    to, data, gas = _recipient(kind, pick)
    data = data or (calldata if kind in ("pay", "fresh", "twin") else b"")
    return sign_transaction(KEYS[sender], nonce=max(0, nonce + offset), to=to, value=value, data=data,
                            gas=gas + 16 * len(data), gas_price=gas_price)


def _sign_block(node, specs):
    "Sign a block's specs against the head's nonces, counting each sender's earlier transactions in the block."
    sent = [0] * len(KEYS)
    txs = []
    for spec in specs:
        txs.append(_sign(spec, node.state.account(ADDRS[spec[0]]).nonce + sent[spec[0]]))
        sent[spec[0]] += 1
    return txs


def _sequence(config, specs_per_block):
    "Sequencer → batcher → inbox for the stream; the devnet and the verifier's re-derived node."
    net = Devnet(config, GENESIS, max_frame_size=400, blocks_per_channel=2)
    for specs in specs_per_block:
        net.step(_sign_block(net.node, specs))
    net.flush()
    return net, derive_chain(config, GENESIS, net.inbox.entries)


def _check_every_block_fits(config, node):
    "Walk the chain with chapter 08's own transition, block by block; return each block's (pre-state, run)."
    pre, runs = node.state_at(0).circuit_state(), []
    for n in range(1, node.head.number + 1):
        run = check_block_fits(config.circuit, pre, circuit_transactions(node, n - 1, n))   # raises if it does not fit
        assert run.post_state_root.to_bytes(32, "big") == node.blocks[n].header.state_root
        runs.append((pre, run))
        pre = run.post_state
    return runs


FAST = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(stream)
def test_every_block_the_sequencer_and_derivation_accept_fits_the_circuit(specs_per_block):
    net, derived = _sequence(FUZZ, specs_per_block)
    assert [b.hash for b in derived.blocks] == [b.hash for b in net.node.blocks]
    assert derived.state.state_root == net.node.state.state_root and derived.log == []
    assert all(len(b.transactions) <= FUZZ_CIRCUIT.max_txs for b in derived.blocks)
    assert all(isinstance(e, TransactionError) for _, e in net.sequencer.rejected)
    _check_every_block_fits(FUZZ, derived)


def test_the_stream_reaches_every_limit_and_collision():
    """The attacks are real: on a fixed stream the sequencer refuses each one, by name, and keeps the honest rest."""
    def tx(sender, kind, nonce, data=b"", pick=1):
        to, base, gas = _recipient(kind, pick)
        return sign_transaction(KEYS[sender], nonce=nonce, to=to, data=base or data, gas=gas + 16 * len(data), gas_price=7)
    blocks = [[tx(0, "pay", 0, b"\x01"), tx(0, "pay", 0, bytes(32)), tx(0, "twin", 0), tx(0, "pay", 0)],
              [tx(0, "withdraw", 1), tx(1, "withdraw", 0)],                 # a second call
              [tx(2, "withdraw3", 0)],                                      # a third calldata word
              [tx(0, "pay", n, pick=n) for n in range(2, 6)],               # 4 transactions, 3 slots
              [tx(1, "two_slots", 0)]]                                      # slots 1 and 257 share an index
    net = Devnet(FUZZ, GENESIS, max_frame_size=400, blocks_per_channel=2)
    for txs in blocks:
        net.step(txs)
    net.flush()
    expected = [(BlockDoesNotFitCircuit, "calldata of 1 bytes"), (BlockDoesNotFitCircuit, "which has no code"),
                (StateKeyCollision, "share tree index"), (BlockDoesNotFitCircuit, "max_calls = 1"),
                (BlockDoesNotFitCircuit, "3 calldata words"), (BlockDoesNotFitCircuit, "4 transactions, max_txs = 3"),
                (StateKeyCollision, "slots of 0x")]
    assert len(net.sequencer.rejected) == len(expected), net.sequencer.rejected
    for (_, error), (cls, needle) in zip(net.sequencer.rejected, expected):
        assert type(error) is cls and needle in str(error), (cls, needle, error)
    assert [len(b.transactions) for b in net.node.blocks[1:]] == [1, 1, 0, 3, 0]
    derived = derive_chain(FUZZ, GENESIS, net.inbox.entries)
    assert derived.head.hash == net.node.head.hash and derived.log == []
    _check_every_block_fits(FUZZ, derived)


raw_tx = st.tuples(st.sampled_from(["signed"] * 16 + ["garbage", "changed byte", "empty", "deposit"]), tx_spec,
                   st.binary(max_size=60), st.integers(0, 200), st.integers(0, 255))


def _hostile_bytes(node, items):
    "Batch content from drawn items: signed against the head's nonces, garbage, a byte changed, empty, deposit-typed."
    encoded = [tx.encode() for tx in _sign_block(node, [spec for _, spec, *_ in items])]
    out = []
    for (how, _, garbage, i, b), e in zip(items, encoded):
        out.append({"signed": e, "garbage": garbage, "empty": b"", "deposit": b"\x7e" + e,
                    "changed byte": e[:i % len(e)] + bytes([b]) + e[i % len(e) + 1:]}[how])
    return out


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.lists(raw_tx, max_size=5, unique_by=lambda item: item[1][0]), min_size=1, max_size=5))
def test_hostile_batches_never_crash_derivation_and_agree_with_a_node_building_them(batches_items):
    """Any batcher may post any batch content: derivation never raises, keeps exactly the batches whose
    transactions a node can build into a block (the sequencer's verdict), and every block it keeps fits."""
    node, origin, batches = RollupNode(FUZZ, GENESIS), simulated_l1_block(0), []
    for items in batches_items:
        head, txs = node.head.header, _hostile_bytes(node, items)
        batches.append(SingularBatch(head.hash, 0, origin.hash, head.timestamp + FUZZ.block_time, tuple(txs)))
        if any(len(t) == 0 or t[0] == 0x7E for t in txs):
            continue                                       # the batch queue drops these before execution
        try:
            node.build_block(head.timestamp + FUZZ.block_time, origin, [decode_transaction(t) for t in txs])
        except TransactionError:
            pass                                           # dropped: the next batch is for the same slot
    inbox = InMemoryBatchInbox()
    inbox.post(encode_batcher_tx(split_channel(b"\x42" * 16, encode_channel(batches), 100_000)), 1)
    derived = derive_chain(FUZZ, GENESIS, inbox.entries)   # must not raise
    assert [b.hash for b in derived.blocks] == [b.hash for b in node.blocks]
    assert len(derived.log) == len(batches) - node.head.number
    _check_every_block_fits(FUZZ, derived)


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.lists(tx_spec, min_size=2, max_size=4, unique_by=lambda spec: spec[0]), min_size=1, max_size=2))
def test_derived_blocks_satisfy_the_built_block_circuit(specs_per_block):
    net, derived = _sequence(PROVE, specs_per_block)
    assert derived.head.hash == net.node.head.hash
    pre, run = max(_check_every_block_fits(PROVE, derived), key=lambda pr: len(pr[1].txs))
    circuit = build_block_circuit(PROVE_CIRCUIT, pre, run)
    assert circuit.r1cs.is_satisfied(circuit.witness)
    assert circuit.public_inputs[1] == run.post_state_root
