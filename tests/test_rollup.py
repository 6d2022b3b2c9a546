"""Chapter 09 wire formats against outside references: OP Stack output roots and frames (vectors), EIP-155
transactions (py-evm with eth-keys' pure-Python backend), and property tests of frames, batches and channels."""
from __future__ import annotations

import json
import random
import zlib

import pytest
import rlp
from hypothesis import given, settings, strategies as st

from lumoz_ref.rollup import (
    FRAME_OVERHEAD, ChannelBank, ChannelError, BatchError, Frame, FrameError, InvalidSignature,
    InvalidTransactionEncoding, OutputRootError, SingularBatch, decode_batch, decode_channel, decode_frames,
    decode_transaction, encode_batch, encode_batcher_tx, encode_channel, encode_frame, output_root,
    recover_sender, sign_transaction, split_channel,
)
from lumoz_ref.rollup import SECP256K1_N

# py-evm (a dev dependency) raises the recursion limit when imported: import it here, not inside a test
from eth.vm.forks.spurious_dragon.transactions import SpuriousDragonTransaction
from eth_keys import keys
from eth_keys.backends import NativeECCBackend

hexb = lambda s: bytes.fromhex(s.removeprefix("0x"))


def _load(vectors, name):
    data = json.loads((vectors / "opstack" / name).read_text())
    assert data["vectors"], f"{name} holds no vectors"
    return data["vectors"]


# --- output roots -------------------------------------------------------------------------------------------

def test_output_roots_match_vectors(vectors):
    cases = _load(vectors, "output_roots_dev.json")
    for v in cases:
        parts = [hexb(v[k]) for k in ("version", "state_root", "message_passer_storage_root", "latest_block_hash")]
        assert b"".join(parts) == hexb(v["preimage"]), v["name"]
        got = output_root(parts[1], parts[2], parts[3], version=parts[0])
        assert got == hexb(v["expected_output_root"]), v["name"]
    assert any(v["origin"]["kind"] == "upstream" for v in cases)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33])
def test_rejects_output_root_component_of_wrong_length(bad):
    with pytest.raises(OutputRootError, match="block_hash must be 32 bytes"):
        output_root(bytes(32), bytes(32), bad)


def test_rejects_unknown_output_root_version():
    with pytest.raises(OutputRootError, match="unknown output root version"):
        output_root(bytes(32), bytes(32), bytes(32), version=b"\x00" * 31 + b"\x01")


# --- frames ---------------------------------------------------------------------------------------------

def test_frames_match_vectors(vectors):
    cases = _load(vectors, "frames_dev.json")
    assert {v["expected_valid"] for v in cases} == {True, False}
    for v in cases:
        data = hexb(v["batcher_tx_data"])
        if v["expected_valid"]:
            want = [Frame(hexb(f["channel_id"]), f["frame_number"], hexb(f["frame_data"]), f["is_last"])
                    for f in v["expected_frames"]]
            assert decode_frames(data) == want, v["name"]
            assert encode_batcher_tx(want) == data, v["name"]
        else:
            with pytest.raises(FrameError, match=OUR_WORDS_FOR[v["expected_error"]]):
                decode_frames(data)


# the vectors' `expected_error` labels, and the words our messages use for the same failure
OUR_WORDS_FOR = {
    "unknown derivation version": "unknown derivation version byte",
    "data too short": "truncated frame header",
    "data too short / length exceeds input": "runs past the end of the data",
    "invalid is_last byte": "must be 0 or 1",
    "empty data": "empty batcher transaction data",
    "trailing data": "truncated frame header",
}


frames_st = st.builds(Frame, st.binary(min_size=16, max_size=16), st.integers(0, 2**16 - 1),
                      st.binary(max_size=300), st.booleans())


@given(st.lists(frames_st, min_size=1, max_size=6))
def test_frames_round_trip(frames):
    data = encode_batcher_tx(frames)
    assert len(data) == 1 + sum(FRAME_OVERHEAD + len(f.frame_data) for f in frames)
    assert decode_frames(data) == frames


@settings(max_examples=300)
@given(st.lists(frames_st, min_size=1, max_size=4), st.data())
def test_truncated_batcher_tx_raises_frame_error_or_is_a_frame_prefix(frames, data):
    encoded = encode_batcher_tx(frames)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    boundaries = {1 + sum(FRAME_OVERHEAD + len(f.frame_data) for f in frames[:k]): k for k in range(1, len(frames))}
    try:
        got = decode_frames(encoded[:cut])
    except FrameError:
        assert cut not in boundaries
    else:
        assert got == frames[:boundaries[cut]]


@settings(max_examples=500)
@given(st.lists(frames_st, min_size=1, max_size=3), st.data())
def test_bit_flips_raise_frame_error_or_decode_consistently(frames, data):
    encoded = bytearray(encode_batcher_tx(frames))
    for _ in range(data.draw(st.integers(1, 4))):
        bit = data.draw(st.integers(0, 8 * len(encoded) - 1))
        encoded[bit // 8] ^= 1 << (bit % 8)
    try:
        got = decode_frames(bytes(encoded))
    except FrameError:
        return
    assert encode_batcher_tx(got) == bytes(encoded)   # whatever parses re-encodes to the same bytes


def test_rejects_frame_data_length_over_cap():
    data = b"\x00" + bytes(16) + b"\x00\x00" + (1_000_001).to_bytes(4, "big") + b"\x00" * 10
    with pytest.raises(FrameError, match="over the cap"):
        decode_frames(data)


# --- batches and channels ----------------------------------------------------------------------------------

batches_st = st.builds(SingularBatch, st.binary(min_size=32, max_size=32), st.integers(0, 2**64 - 1),
                       st.binary(min_size=32, max_size=32), st.integers(0, 2**64 - 1),
                       st.lists(st.binary(min_size=1, max_size=120), max_size=5).map(tuple))


@given(batches_st)
def test_batch_round_trip(batch):
    assert decode_batch(encode_batch(batch)) == batch


@given(st.lists(batches_st, min_size=1, max_size=8), st.integers(FRAME_OVERHEAD + 1, 400),
       st.randoms(use_true_random=False))
def test_channel_round_trip_through_shuffled_frames(batches, max_frame_size, rng):
    channel_id = bytes(range(16))
    frames = split_channel(channel_id, encode_channel(batches), max_frame_size)
    assert all(len(encode_frame(f)) <= max_frame_size for f in frames)
    arrivals = frames + rng.sample(frames, k=min(2, len(frames)))   # out of order, with duplicates
    rng.shuffle(arrivals)
    bank = ChannelBank(channel_timeout=len(arrivals))   # small frames make long channels: no timeout here
    ready = []
    for i, frame in enumerate(arrivals):
        bank.ingest(frame, l1_block=100 + i // 3)
        if (got := bank.read(100 + i // 3)) is not None:
            ready.append(got)
    # a duplicate arriving after the channel was read reopens it (ids are reusable once a channel leaves the
    # bank, derivation.md "Loading frames"); the batch queue later drops its batches as too old
    assert ready and ready[0].channel_id == channel_id
    assert decode_channel(ready[0].data) == batches


def test_channel_decompression_limit_keeps_whole_batches():
    batches = [SingularBatch(bytes(32), i, bytes(32), i, (bytes([i % 256]) * 100,)) for i in range(10)]
    stream_len = len(b"".join(rlp.encode(encode_batch(b)) for b in batches))
    one = len(rlp.encode(encode_batch(batches[0])))
    got = decode_channel(encode_channel(batches), max_rlp_bytes=stream_len - one // 2)
    assert got == batches[:-1]


def test_rejects_channel_that_is_not_zlib():
    with pytest.raises(ChannelError, match="not a zlib stream"):
        decode_channel(b"not zlib at all")


def test_rejects_truncated_channel_stream():
    data = encode_channel([SingularBatch(bytes(32), 1, bytes(32), 2, (b"\x01" * 500,))])
    with pytest.raises(ChannelError, match="ends early"):
        decode_channel(data[: len(data) // 2])


def test_rejects_channel_item_that_is_a_list():
    with pytest.raises(ChannelError, match="is an RLP list"):
        decode_channel(zlib.compress(rlp.encode([b"x"])))


@pytest.mark.parametrize("data, reason", [(b"", "empty batch"), (b"\x01\xc0", "span batch"),
                                          (b"\x07\xc0", "unknown batch version 7"),
                                          (b"\x00\xc5\x80\x80\x80\x80\x80", "parent_hash must be 32 bytes")])
def test_rejects_malformed_batch(data, reason):
    with pytest.raises(BatchError, match=reason):
        decode_batch(data)


def test_channel_bank_drops_frames_after_timeout_and_duplicate_closes():
    bank = ChannelBank(channel_timeout=2)
    cid = b"\x09" * 16
    bank.ingest(Frame(cid, 1, b"b", True), 5)
    bank.ingest(Frame(cid, 2, b"c", True), 5)      # duplicate close
    bank.ingest(Frame(cid, 0, b"a", False), 8)     # 8 > 5 + 2: timed out
    assert bank.read(8) is None
    assert [r for _, _, r in bank.dropped] == ["duplicate close", "channel timed out", "channel timed out"]


def test_channel_bank_prunes_oldest_channel_over_size():
    bank = ChannelBank(max_size=2 * (200 + 10))
    for i in range(3):
        bank.ingest(Frame(bytes([i]) * 16, 0, b"x" * 10, False), 1)
    assert [c.channel_id[0] for c in bank.queue] == [1, 2]


# --- transactions -------------------------------------------------------------------------------------------

def _pyevm_signed(key: bytes, **fields):
    private_key = keys.PrivateKey(key, backend=NativeECCBackend())   # pure Python, independent of coincurve
    unsigned = SpuriousDragonTransaction.create_unsigned_transaction(**fields)
    return unsigned.as_signed_transaction(private_key, chain_id=901)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, SECP256K1_N - 1), st.integers(0, 2**64 - 1), st.integers(0, 10**12),
       st.integers(21_000, 10**7), st.binary(min_size=20, max_size=20), st.integers(0, 2**200),
       st.binary(max_size=64))
def test_transactions_match_py_evm(key_int, nonce, gas_price, gas, to, value, data):
    key = key_int.to_bytes(32, "big")
    ours = sign_transaction(key, nonce=nonce, to=to, value=value, data=data, gas=gas, gas_price=gas_price)
    theirs = _pyevm_signed(key, nonce=nonce, gas_price=gas_price, gas=gas, to=to, value=value, data=data)
    assert ours.encode() == rlp.encode(theirs)          # RFC 6979 nonces on both sides: identical bytes
    assert ours.hash == theirs.hash
    assert recover_sender(ours) == theirs.sender
    assert decode_transaction(ours.encode()) == ours


def test_rejects_signature_for_another_chain():
    tx = sign_transaction((7).to_bytes(32, "big"), nonce=0, to=bytes(20), chain_id=10)
    with pytest.raises(InvalidSignature, match="not an EIP-155 value for chain id 901"):
        recover_sender(tx)


def test_rejects_tampered_signature():
    from dataclasses import replace
    tx = sign_transaction((7).to_bytes(32, "big"), nonce=0, to=bytes(20), value=5)
    tampered = replace(tx, value=6)
    assert recover_sender(tampered) != recover_sender(tx)   # a different (wrong) sender, never the original
    with pytest.raises(InvalidSignature):
        recover_sender(replace(tx, r=0))


@pytest.mark.parametrize("data, reason", [(b"", "not a legacy"), (b"\xc3\x01\x02\x03", "9 byte strings"),
                                          (b"\xc9\x00" + b"\x80" * 8, "nonce is not a canonical")])
def test_rejects_malformed_transaction(data, reason):
    with pytest.raises(InvalidTransactionEncoding, match=reason):
        decode_transaction(data)


@pytest.mark.interop
def test_channel_decodes_with_node_zlib_and_ethers_rlp():
    """An independent reader (Node's zlib, ethers' RLP) finds our batches in our channel: RLP strings of
    version byte 0 followed by the RLP list [parent_hash, epoch_number, epoch_hash, timestamp, transactions]."""
    import shutil
    import subprocess
    from pathlib import Path
    interop = Path(__file__).resolve().parents[1] / "interop"
    if not (interop / "node_modules" / "ethers").is_dir() or shutil.which("node") is None:
        pytest.fail("ethers (a circomlibjs dependency under interop/node_modules) or node is missing")
    rng = random.Random(9)
    batches = [SingularBatch(rng.randbytes(32), 100 + i, rng.randbytes(32), 1_700_000_000 + 2 * i,
                             tuple(rng.randbytes(rng.randint(1, 90)) for _ in range(i % 4))) for i in range(12)]
    # the decompressed channel is a concatenation of RLP items, i.e. the payload of an RLP list: give it a
    # list header and let ethers decode the whole list
    script = """
const { ethers } = require('ethers'); const zlib = require('zlib');
const data = zlib.inflateSync(Buffer.from(process.argv[1], 'hex'));
let len = data.length, lenBytes = [];
while (len > 0) { lenBytes.unshift(len & 0xff); len = Math.floor(len / 256); }
const header = data.length < 56 ? [0xc0 + data.length] : [0xf7 + lenBytes.length, ...lenBytes];
const items = ethers.utils.RLP.decode(Buffer.concat([Buffer.from(header), data]));
const out = items.map(item => {
  const typed = Buffer.from(item.slice(2), 'hex');
  const f = ethers.utils.RLP.decode(typed.slice(1));
  return {version: typed[0], parent: f[0], epoch: ethers.BigNumber.from(f[1]).toString(), epochHash: f[2],
          time: ethers.BigNumber.from(f[3]).toString(), txs: f[4]};
});
console.log(JSON.stringify(out));
"""
    out = subprocess.run(["node", "-e", script, encode_channel(batches).hex()], cwd=interop,
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert len(got) == len(batches)
    for b, g in zip(batches, got):
        assert g["version"] == 0
        assert (hexb(g["parent"]), int(g["epoch"]), hexb(g["epochHash"]), int(g["time"])) == (
            b.parent_hash, b.epoch_number, b.epoch_hash, b.timestamp)
        assert tuple(hexb(t) for t in g["txs"]) == b.transactions
