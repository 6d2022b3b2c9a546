"""Chapter 09 chain: sequencer → batcher → verifier re-derivation, transaction rejections, batch-queue rules,
state openings, and the withdrawal hash against ethers.js."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lumoz_ref.rollup import (
    L2_TO_L1_MESSAGE_PASSER, Batcher, BlockContext, BlockGasLimitReached, Devnet, Genesis, InMemoryBatchInbox,
    InsufficientBalance, IntrinsicGasTooLow, InvalidNonce, InvalidSignature, InvalidTransactionEncoding, RollupConfig,
    SingularBatch, StateKeyCollision, UnknownBlock, Withdrawal, address_of_key, apply_transaction, batch_of,
    check_batch, derive_chain, encode_batcher_tx, encode_channel, genesis_state, initiate_withdrawal_calldata,
    output_root, prove_account, prove_storage, prove_withdrawal, set_account, sign_transaction, simulated_l1_block,
    split_channel, verify_withdrawal_proof,
)

KEYS = [(i + 11).to_bytes(32, "big") for i in range(3)]
ADDRS = [address_of_key(k) for k in KEYS]
COUNTER = bytes.fromhex("00000000000000000000000000000000000c0de1")
REVERTER = bytes.fromhex("00000000000000000000000000000000000c0de2")
COUNTER_CODE = bytes.fromhex("60005460010160005500")     # slot0 += 1
REVERT_CODE = bytes.fromhex("600160005560006000fd")      # SSTORE(0, 1) then REVERT(0, 0)
INVALID_CODE = bytes.fromhex("fe")
ETHER = 10**18


def make_genesis() -> Genesis:
    return Genesis(balances={a: 100 * ETHER for a in ADDRS},
                   code={COUNTER: COUNTER_CODE, REVERTER: REVERT_CODE, INVALID_CODE_ADDR: INVALID_CODE})


INVALID_CODE_ADDR = bytes.fromhex("00000000000000000000000000000000000c0de3")

tx_spec = st.tuples(st.integers(0, 2),                                  # sender
                    st.sampled_from(["key0", "key1", "key2", "counter", "reverter", "withdraw"]),
                    st.integers(0, 3 * ETHER),                          # value
                    st.sampled_from([0, 0, 0, 0, 1, -1]))               # nonce offset: mostly right
workload = st.lists(st.lists(tx_spec, max_size=3), min_size=1, max_size=9)


def _signed(spec, nonces):
    sender, kind, value, offset = spec
    to, data, gas = {"counter": (COUNTER, b"", 60_000), "reverter": (REVERTER, b"", 60_000),
                     "withdraw": (L2_TO_L1_MESSAGE_PASSER, initiate_withdrawal_calldata(ADDRS[sender], 50_000), 150_000)
                     }.get(kind, (ADDRS[int(kind[-1]) if kind.startswith("key") else 0], b"", 21_000))
    nonce = max(0, nonces[sender] + offset)
    if nonce == nonces[sender]:
        nonces[sender] += 1
    return sign_transaction(KEYS[sender], nonce=nonce, to=to, value=value, data=data, gas=gas, gas_price=7)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload, st.integers(60, 400), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3))
def test_verifier_rederives_sequencer_chain(blocks, max_frame_size, blocks_per_channel, frames_per_tx,
                                             txs_per_l1_block):
    config, genesis = RollupConfig(), make_genesis()
    net = Devnet(config, genesis, max_frame_size=max_frame_size, blocks_per_channel=blocks_per_channel,
                 frames_per_tx=frames_per_tx, txs_per_l1_block=txs_per_l1_block)
    nonces = [0, 0, 0]
    for specs in blocks:
        net.step([_signed(s, nonces) for s in specs])
    net.flush()
    verifier = derive_chain(config, genesis, net.inbox.entries)
    assert [b.hash for b in verifier.blocks] == [b.hash for b in net.node.blocks]
    assert verifier.state.state_root == net.node.state.state_root
    assert verifier.log == []
    posted_blocks = {b for b, _ in net.inbox.entries}
    for n in range(1, verifier.head.number + 1):
        info = verifier.batch_info(n)
        assert info.batch == batch_of(net.node.blocks[n])
        assert {b for _, b in info.frames} <= posted_blocks and info.inclusion_l1_block == max(b for _, b in info.frames)
        trace = verifier.block_trace(n)
        assert trace.pre_state_root == verifier.blocks[n - 1].header.state_root
        assert [r.pre_state_root for r in trace.receipts[1:]] == [r.post_state_root for r in trace.receipts[:-1]]
        out = verifier.output_at(n)
        assert out == net.node.output_at(n)
        assert out.root == output_root(out.state_root, out.message_passer_storage_root, out.block_hash)


# --- transaction rejections --------------------------------------------------------------------------------

CTX = BlockContext(number=1, timestamp=2)


def _state():
    return genesis_state(RollupConfig(), make_genesis())


def _snapshot(state):
    """Everything a rejected transaction must leave as it was: the root, the accounts, storage and the index maps."""
    return (state.state_root, state.accounts, {a: state.storage_words(a) for a in state.accounts},
            dict(state._account_index), {a: dict(m) for a, m in state._slot_index.items()})


def _rejects(tx, error, match, gas_available=30_000_000, state=None):
    state = _state() if state is None else state
    before = _snapshot(state)
    with pytest.raises(error, match=match):
        apply_transaction(state, tx, CTX, gas_available)
    assert _snapshot(state) == before         # a rejected transaction changes nothing


def test_rejects_nonce_too_high():
    _rejects(sign_transaction(KEYS[0], nonce=1, to=ADDRS[1]), InvalidNonce, "nonce 1, but sender .* is at nonce 0")


def test_rejects_replayed_transaction():
    state = _state()
    tx = sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], value=5)
    apply_transaction(state, tx, CTX)
    with pytest.raises(InvalidNonce, match="is at nonce 1"):
        apply_transaction(state, tx, CTX)


def test_rejects_insufficient_balance():
    _rejects(sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], value=100 * ETHER), InsufficientBalance,
             "needs 100000000000000021000")


def test_rejects_sender_without_funds():
    _rejects(sign_transaction((99).to_bytes(32, "big"), nonce=0, to=ADDRS[1]), InsufficientBalance, "has 0 wei")


def test_rejects_gas_below_intrinsic():
    _rejects(sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], data=b"\x01\x00", gas=21_019), IntrinsicGasTooLow,
             "below the intrinsic gas 21020")


def test_rejects_signature_for_another_chain():
    _rejects(sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], chain_id=1), InvalidSignature, "chain id 901")


def test_rejects_malleable_signature():
    from lumoz_ref.rollup import SECP256K1_N
    tx = sign_transaction(KEYS[0], nonce=0, to=ADDRS[1])
    flipped_v = 2 * 901 + 35 + (1 - (tx.v - 2 * 901 - 35))    # the other recovery id: same signer, high s
    _rejects(replace(tx, s=SECP256K1_N - tx.s, v=flipped_v), InvalidSignature, "EIP-2")


def test_rejects_contract_creation():
    _rejects(sign_transaction(KEYS[0], nonce=0, to=None), InvalidTransactionEncoding, "contract creation")


def test_rejects_transaction_over_block_gas():
    _rejects(sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], gas=50_000), BlockGasLimitReached, "49999 gas left",
             gas_available=49_999)


def test_transfer_moves_value_and_pays_fee():
    state = _state()
    tx = sign_transaction(KEYS[0], nonce=0, to=ADDRS[1], value=5, gas=30_000, gas_price=3)
    receipt = apply_transaction(state, tx, CTX)
    assert (receipt.status, receipt.gas_used, receipt.sender) == ("success", 21_000, ADDRS[0])
    assert state.account(ADDRS[0]).balance == 100 * ETHER - 5 - 63_000
    assert state.account(ADDRS[1]).balance == 100 * ETHER + 5
    assert state.account(CTX.fee_recipient).balance == 63_000
    assert state.account(ADDRS[0]).nonce == 1


def test_revert_keeps_nonce_and_fee_but_undoes_value_and_storage():
    state = _state()
    receipt = apply_transaction(state, sign_transaction(KEYS[0], nonce=0, to=REVERTER, value=9, gas=60_000), CTX)
    assert receipt.status == "revert" and 21_000 < receipt.gas_used < 60_000
    assert state.get_storage(REVERTER, 0) == 0 and state.account(REVERTER).balance == 0
    assert state.account(ADDRS[0]).nonce == 1
    assert state.account(ADDRS[0]).balance == 100 * ETHER - receipt.gas_used
    assert receipt.trace[-1].name == "REVERT"


def test_exceptional_halt_consumes_all_gas():
    state = _state()
    receipt = apply_transaction(state, sign_transaction(KEYS[0], nonce=0, to=INVALID_CODE_ADDR, gas=40_000), CTX)
    assert receipt.status == "invalid opcode" and receipt.gas_used == 40_000


def test_storage_refund_is_capped_at_half_the_gas_used():
    genesis = replace(make_genesis(), storage={COUNTER: {0: 5}},
                      code={**make_genesis().code, COUNTER: bytes.fromhex("600060005500")})   # SSTORE(0, 0)
    state = genesis_state(RollupConfig(), genesis)
    receipt = apply_transaction(state, sign_transaction(KEYS[0], nonce=0, to=COUNTER, gas=60_000), CTX)
    assert receipt.success and state.get_storage(COUNTER, 0) == 0
    unrefunded = 21_000 + 3 + 3 + 5_000
    assert receipt.gas_used == unrefunded - min(15_000, unrefunded // 2)


# --- derivation rules ---------------------------------------------------------------------------------------

def _head_and_batch(**changes):
    config, genesis = RollupConfig(), make_genesis()
    net = Devnet(config, genesis)
    for _ in range(3):
        net.step()
    head = net.node.head.header
    nxt = net.sequencer.l1_origin(head.timestamp + 2)
    batch = SingularBatch(head.hash, nxt.number, nxt.hash, head.timestamp + 2, ())
    return config, head, replace(batch, **changes)


@pytest.mark.parametrize("changes, inclusion, l1_head, verdict, reason", [
    ({}, 1, 1, "accept", ""),
    ({"timestamp": 1_700_000_010}, 1, 1, "future", "after the next slot"),
    ({"timestamp": 1_700_000_006}, 1, 1, "drop", "before the next slot"),
    ({"parent_hash": b"\x01" * 32}, 1, 1, "drop", "parent hash"),
    ({}, 3601, 3601, "drop", "after the sequencing window"),
    ({"epoch_number": 1, "epoch_hash": simulated_l1_block(1).hash}, 1, 0, "undecided", "not seen yet"),
    ({"epoch_number": 2, "epoch_hash": simulated_l1_block(2).hash}, 3, 3, "drop", "is not the safe head's epoch"),
    ({"epoch_hash": b"\x02" * 32}, 1, 1, "drop", "epoch hash does not match"),
    ({"epoch_number": 1, "epoch_hash": simulated_l1_block(1).hash}, 1, 1, "drop", "before its L1 origin"),
    ({"transactions": (b"",)}, 1, 1, "drop", "empty or deposit-typed"),
    ({"transactions": (b"\x7e\x01",)}, 1, 1, "drop", "empty or deposit-typed"),
])
def test_batch_queue_rules(changes, inclusion, l1_head, verdict, reason):
    config, head, batch = _head_and_batch(**changes)
    got_verdict, got_reason = check_batch(config, batch, head, inclusion, l1_head, simulated_l1_block)
    assert got_verdict == verdict and reason in got_reason


def test_batch_past_sequencer_drift_with_transactions_is_dropped():
    config, head, batch = _head_and_batch(transactions=(b"\xc0",))
    config = replace(config, max_sequencer_drift=5)
    assert check_batch(config, batch, head, 1, 1, simulated_l1_block)[0] == "drop"


def _post_batches(batches, l1_block=1):
    inbox = InMemoryBatchInbox()
    frames = split_channel(b"\x05" * 16, encode_channel(batches), 10_000)
    inbox.post(encode_batcher_tx(frames), l1_block)
    return inbox.entries


def test_verifier_drops_batch_with_invalid_transaction_and_fills_the_slot():
    config, genesis = replace(RollupConfig(), seq_window_size=2), make_genesis()
    origin = simulated_l1_block(0)
    genesis_hash = derive_chain(config, genesis, []).head.hash
    bad = sign_transaction(KEYS[0], nonce=5, to=ADDRS[1])
    batch = SingularBatch(genesis_hash, 0, origin.hash, config.l2_genesis_time + 2, (bad.encode(),))
    node = derive_chain(config, genesis, _post_batches([batch]), l1_head=2)
    assert "batch for t=1700000002 dropped: transaction nonce 5" in node.log[0]
    assert node.head.number >= 1 and node.blocks[1].transactions == ()
    assert node.batch_info(1).channel_id is None


def test_verifier_ignores_channel_whose_frames_arrive_after_the_timeout():
    config, genesis = replace(RollupConfig(), channel_timeout=2), make_genesis()
    net = Devnet(config, genesis, max_frame_size=60, blocks_per_channel=3)
    for _ in range(3):
        net.step([])
    net.batcher.close_channel()
    frames = net.batcher.queue
    assert len(frames) >= 2
    late = [(1, encode_batcher_tx(frames[:1])), (4, encode_batcher_tx(frames[1:]))]   # 4 > 1 + 2
    on_time = [(1, encode_batcher_tx(frames[:1])), (3, encode_batcher_tx(frames[1:]))]
    assert derive_chain(config, genesis, late).head.number == 0
    assert derive_chain(config, genesis, on_time).head.hash == net.node.head.hash


def test_verifier_drops_malformed_batcher_transactions():
    config, genesis = RollupConfig(), make_genesis()
    node = derive_chain(config, genesis, [(1, b"\x00" + b"\x01" * 22), (1, b"")])
    assert node.head.number == 0
    assert "batcher transaction dropped: truncated frame header at byte 1" in node.log[0]
    assert "batcher transaction dropped: empty batcher transaction data" in node.log[1]


# --- node API and state ------------------------------------------------------------------------------------

def test_node_api_rejects_unknown_blocks():
    net = Devnet(RollupConfig(), make_genesis())
    net.step()
    for call in (net.node.block_trace, net.node.output_at, net.node.state_at):
        with pytest.raises(UnknownBlock, match="block 5 is not in this node's chain"):
            call(5)
    with pytest.raises(UnknownBlock, match="was not derived from L1"):
        net.node.batch_info(1)


def test_state_at_replays_to_each_block_and_opens_accounts():
    net = Devnet(RollupConfig(), make_genesis())
    nonces = [0, 0, 0]
    for specs in ([(0, "key1", 5, 0)], [(1, "counter", 0, 0)], [(2, "withdraw", ETHER, 0)]):
        net.step([_signed(s, nonces) for s in specs])
    for n in range(net.node.head.number + 1):
        state = net.node.state_at(n)
        assert state.state_root == net.node.blocks[n].header.state_root
        opening = prove_account(state, ADDRS[0])
        assert opening.verify() and opening.root.to_bytes(32, "big") == state.state_root
    assert not prove_storage(net.node.state_at(1), COUNTER, 0).leaf     # the counter was still 0 after block 1
    assert prove_storage(net.node.state_at(2), COUNTER, 0).verify()


def test_withdrawal_is_provable_against_the_output():
    net = Devnet(RollupConfig(), make_genesis())
    tx = sign_transaction(KEYS[1], nonce=0, to=L2_TO_L1_MESSAGE_PASSER, value=3, gas=150_000,
                          data=initiate_withdrawal_calldata(ADDRS[2], 77))
    net.step([tx])
    receipt = net.node.block_trace(1).receipts[0]
    w = receipt.withdrawal
    assert (w.nonce, w.sender, w.target, w.value, w.gas_limit, w.data) == (1 << 240, ADDRS[1], ADDRS[2], 3, 77, b"")
    assert net.node.state.get_storage(L2_TO_L1_MESSAGE_PASSER, 0) == 1          # the message counter
    out = net.node.output_at(1)
    proof = prove_withdrawal(net.node.state, w)
    assert verify_withdrawal_proof(out.message_passer_storage_root, w, proof)
    assert not verify_withdrawal_proof(bytes(32), w, proof)
    for forged in (replace(w, value=4), replace(w, target=ADDRS[1]), replace(w, sender=ADDRS[0]), replace(w, gas_limit=78),
                   replace(w, nonce=(1 << 240) | 1), replace(w, nonce=2 << 240), replace(w, data=b"\x01")):
        assert not verify_withdrawal_proof(out.message_passer_storage_root, forged, proof), forged
        assert not verify_withdrawal_proof(out.message_passer_storage_root, forged, prove_withdrawal(net.node.state, forged))


def test_second_withdrawal_gets_the_next_record():
    net = Devnet(RollupConfig(), make_genesis())
    net.step([sign_transaction(KEYS[0], nonce=n, to=L2_TO_L1_MESSAGE_PASSER, value=10 + n, gas=150_000,
                               data=initiate_withdrawal_calldata(ADDRS[n], 1000 + n)) for n in range(2)])
    ws = [r.withdrawal for r in net.node.block_trace(1).receipts]
    assert [w.nonce for w in ws] == [1 << 240, (1 << 240) | 1] and [w.target for w in ws] == ADDRS[:2]
    root = net.node.output_at(1).message_passer_storage_root
    assert all(verify_withdrawal_proof(root, w, prove_withdrawal(net.node.state, w)) for w in ws)
    assert len({w.hash for w in ws}) == 2


def test_withdrawal_call_out_of_gas_records_nothing():
    state = _state()
    tx = sign_transaction(KEYS[0], nonce=0, to=L2_TO_L1_MESSAGE_PASSER, value=3, gas=100_000,
                          data=initiate_withdrawal_calldata(ADDRS[1], 5))
    receipt = apply_transaction(state, tx, CTX)
    assert receipt.status == "out of gas" and receipt.withdrawal is None
    assert state.account(L2_TO_L1_MESSAGE_PASSER).balance == 0 and state.get_storage(L2_TO_L1_MESSAGE_PASSER, 0) == 0


def test_withdrawal_to_a_word_that_is_not_an_address_is_unpayable():
    state = _state()
    tx = sign_transaction(KEYS[0], nonce=0, to=L2_TO_L1_MESSAGE_PASSER, value=3, gas=150_000, data=b"\x12\x34")
    receipt = apply_transaction(state, tx, CTX)
    assert receipt.status == "success" and receipt.withdrawal is None       # recorded, but no L1 address to pay
    assert state.account(L2_TO_L1_MESSAGE_PASSER).balance == 3


def test_rejects_addresses_sharing_the_account_tree_index():
    state = _state()
    twin = b"\x99" * 16 + ADDRS[0][-4:]
    with pytest.raises(StateKeyCollision, match="share tree index"):
        set_account(state, twin, state.account(twin).__class__(balance=1))


# --- tree-index collisions are transaction errors, found before any write ----------------------------------

TWO_SLOTS = bytes.fromhex("00000000000000000000000000000000000c0de4")
TWO_SLOTS_CODE = bytes.fromhex("6001600155" + "600164010000000155" + "00")   # SSTORE(1, 1); SSTORE(2^32 + 1, 1)
SLOT_TWIN_CODE = bytes.fromhex("600164010000000055" + "00")                    # SSTORE(2^32, 1): slot 0's index


def test_state_key_collision_is_a_transaction_error():
    from lumoz_ref.rollup import TransactionError
    assert issubclass(StateKeyCollision, TransactionError)


@pytest.mark.parametrize("gas_price", [0, 7])
def test_rejects_transfer_to_address_sharing_the_senders_index(gas_price):
    twin = b"\x99" * 16 + ADDRS[0][-4:]
    _rejects(sign_transaction(KEYS[1], nonce=0, to=twin, value=5, gas_price=gas_price), StateKeyCollision,
             f"0x{twin.hex()} and 0x{ADDRS[0].hex()} share tree index")


def test_rejects_transfer_to_address_sharing_the_fee_recipients_index_when_it_pays_a_fee():
    twin = b"\x77" * 16 + CTX.fee_recipient[-4:]        # the vault is still empty: the two collide with each other
    _rejects(sign_transaction(KEYS[0], nonce=0, to=twin, value=5, gas_price=1), StateKeyCollision, "share tree index")
    state = _state()
    apply_transaction(state, sign_transaction(KEYS[0], nonce=0, to=twin, value=5, gas_price=0), CTX)  # no fee: fine
    assert state.account(twin).balance == 5


def test_rejects_sender_sharing_an_index_even_at_gas_price_zero():
    fresh_key = next(k.to_bytes(32, "big") for k in range(1000, 10**6)
                     if address_of_key(k.to_bytes(32, "big"))[-1:] == ADDRS[1][-1:])   # one byte: found fast
    state = genesis_state(RollupConfig(account_depth=8, storage_depth=8), make_genesis())
    _rejects(sign_transaction(fresh_key, nonce=0, to=ADDRS[2], gas_price=0), StateKeyCollision, "share tree index",
             state=state)


def test_rejects_call_writing_two_slots_that_share_an_index():
    state = genesis_state(RollupConfig(), replace(make_genesis(), code={TWO_SLOTS: TWO_SLOTS_CODE}))
    _rejects(sign_transaction(KEYS[0], nonce=0, to=TWO_SLOTS, gas=100_000), StateKeyCollision,
             "slots of 0x0+c0de4: 0x100000001 and 0x1 share tree index 0x1", state=state)


def test_rejects_call_writing_a_slot_sharing_an_index_with_a_stored_word():
    genesis = replace(make_genesis(), code={COUNTER: SLOT_TWIN_CODE}, storage={COUNTER: {0: 5}})
    state = genesis_state(RollupConfig(), genesis)
    _rejects(sign_transaction(KEYS[0], nonce=0, to=COUNTER, gas=100_000), StateKeyCollision,
             "0x100000000 and 0x0 share tree index", state=state)


def test_emptied_account_gives_its_index_back():
    state = _state()
    twin = b"\x99" * 16 + ADDRS[0][-4:]
    set_account(state, ADDRS[0], replace(state.account(ADDRS[0]), balance=0))
    assert ADDRS[0] not in state._account_index.values()
    set_account(state, twin, replace(state.account(twin), balance=1))
    assert state._account_index[int.from_bytes(twin[-4:], "big")] == twin


def test_sequencer_leaves_out_a_colliding_transaction_and_derivation_follows():
    """The fork this used to cause: a half-applied collision in the sequencer, and every later batch dropped."""
    config, genesis = RollupConfig(), make_genesis()
    net = Devnet(config, genesis)
    twin = b"\x99" * 16 + ADDRS[0][-4:]
    net.step([sign_transaction(KEYS[1], nonce=0, to=twin, value=5, gas_price=7),
              sign_transaction(KEYS[1], nonce=0, to=ADDRS[2], value=5, gas_price=7)])
    net.step([sign_transaction(KEYS[1], nonce=1, to=ADDRS[0], value=5, gas_price=7)])
    net.flush()
    assert [type(e) for _, e in net.sequencer.rejected] == [StateKeyCollision]
    assert [len(b.transactions) for b in net.node.blocks] == [0, 1, 1]
    verifier = derive_chain(config, genesis, net.inbox.entries)
    assert verifier.log == [] and verifier.head.hash == net.node.head.hash


def test_verifier_drops_batch_with_a_colliding_transaction():
    config, genesis = RollupConfig(), make_genesis()
    origin = simulated_l1_block(0)
    genesis_hash = derive_chain(config, genesis, []).head.hash
    twin = b"\x99" * 16 + ADDRS[0][-4:]
    bad = (sign_transaction(KEYS[1], nonce=0, to=ADDRS[2], value=5), sign_transaction(KEYS[1], nonce=1, to=twin, value=5))
    batch = SingularBatch(genesis_hash, 0, origin.hash, config.l2_genesis_time + 2, tuple(t.encode() for t in bad))
    node = derive_chain(config, genesis, _post_batches([batch]))
    assert node.head.number == 0 and "dropped: addresses" in node.log[0] and "share tree index" in node.log[0]
    assert node.state.state_root == node.blocks[0].header.state_root      # nothing of the batch was applied


# --- the rollup config and its circuit -----------------------------------------------------------------------

def test_rollup_config_hash_binds_every_field():
    from lumoz_ref.evm_circuit import PRODUCTION_SHAPE
    base = RollupConfig()
    assert base.hash() == RollupConfig().hash()
    assert base.hash() != replace(base, chain_id=902).hash()
    assert base.hash() != replace(base, seq_window_size=3599).hash()
    for name in ("max_txs", "max_calls", "max_steps", "calldata_words", "account_slots", "storage_slots"):
        other = replace(base, circuit=replace(PRODUCTION_SHAPE, **{name: getattr(PRODUCTION_SHAPE, name) // 2}))
        assert base.hash() != other.hash(), name


def test_rollup_config_default_circuit_is_the_production_shape_at_the_chains_depths():
    from lumoz_ref.evm_circuit import PRODUCTION_SHAPE
    assert RollupConfig().circuit == PRODUCTION_SHAPE
    small = RollupConfig(account_depth=8, storage_depth=7)
    assert (small.circuit.account_depth, small.circuit.storage_depth, small.circuit.max_txs) == (8, 7, PRODUCTION_SHAPE.max_txs)


@pytest.mark.parametrize("changes, match", [
    ({"account_depth": 16}, r"the circuit has \(32, 32, .*the chain \(16, 32"),
    ({"storage_depth": 8}, r"the chain \(32, 8"),
    ({"fee_recipient": b"\x42" * 20}, r"the chain \(32, 32, 0x4242"),
])
def test_rollup_config_refuses_a_circuit_for_other_trees_or_fee_recipient(changes, match):
    from lumoz_ref.rollup import CircuitConfigMismatch
    with pytest.raises(CircuitConfigMismatch, match=match):
        replace(RollupConfig(), **changes)          # keeps the default's circuit: depths 32, the fee vault


def test_rollup_config_refuses_a_circuit_that_is_not_a_circuit_config():
    from lumoz_ref.rollup import CircuitConfigMismatch
    with pytest.raises(CircuitConfigMismatch, match="must be a chapter-08 CircuitConfig"):
        RollupConfig(circuit={"max_txs": 4})


@pytest.mark.interop
def test_withdrawal_hash_matches_ethers():
    from pathlib import Path
    interop = Path(__file__).resolve().parents[1] / "interop"
    if not (interop / "node_modules" / "ethers").is_dir() or shutil.which("node") is None:
        pytest.fail("ethers (a circomlibjs dependency under interop/node_modules) or node is missing")
    w = Withdrawal((1 << 240) | 7, ADDRS[0], ADDRS[1], 12345, 100_000, bytes(range(70)))
    script = f"""
const {{ ethers }} = require('ethers');
const c = ethers.utils.defaultAbiCoder;
const h = ethers.utils.keccak256(c.encode(['uint256','address','address','uint256','uint256','bytes'],
  ['{w.nonce}', '0x{w.sender.hex()}', '0x{w.target.hex()}', '{w.value}', '{w.gas_limit}', '0x{w.data.hex()}']));
console.log(JSON.stringify({{hash: h}}));
"""
    out = subprocess.run(["node", "-e", script], cwd=interop, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["hash"] == "0x" + w.hash.hex()


@pytest.fixture(scope="module")
def honest_devnet():
    net = Devnet(RollupConfig(), make_genesis(), max_frame_size=90, blocks_per_channel=3, frames_per_tx=2)
    nonces = [0, 0, 0]
    for specs in ([(0, "key1", 5, 0)], [(1, "counter", 0, 0), (2, "key0", 7, 0)], [], [(0, "withdraw", 1, 0)], []):
        net.step([_signed(s, nonces) for s in specs])
    net.flush()
    return net


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_inbox_never_crashes_derivation_and_never_forks(honest_devnet, data):
    entries = list(honest_devnet.inbox.entries)
    for _ in range(data.draw(st.integers(1, 4))):
        if not entries:
            break
        i = data.draw(st.integers(0, len(entries) - 1))
        block, tx = entries[i]
        kind = data.draw(st.sampled_from(["flip", "truncate", "garbage", "drop", "duplicate"] if tx else ["drop"]))
        if kind == "flip":
            bit = data.draw(st.integers(0, 8 * len(tx) - 1))
            tx = tx[:bit // 8] + bytes([tx[bit // 8] ^ (1 << bit % 8)]) + tx[bit // 8 + 1:]
            entries[i] = (block, tx)
        elif kind == "truncate":
            entries[i] = (block, tx[:data.draw(st.integers(0, len(tx) - 1))])
        elif kind == "garbage":
            entries.insert(i, (block, data.draw(st.binary(max_size=80))))
        elif kind == "drop":
            del entries[i]
        else:
            entries.insert(i, (block, tx))
    node = derive_chain(RollupConfig(), make_genesis(), entries)   # must not raise
    honest = [b.hash for b in honest_devnet.node.blocks]
    assert [b.hash for b in node.blocks] == honest[:len(node.blocks)]   # a prefix of the honest chain


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_frame_error(data):
    from lumoz_ref.rollup import FrameError, decode_frames
    try:
        decode_frames(data)
    except FrameError:
        pass
