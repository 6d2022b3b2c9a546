"""The dispute circuit's keys are made once per machine: a fresh setup is written to the key cache, keyed by the
circuit's hash, and later processes load it instead of setting up again."""
from __future__ import annotations

import pytest

import lumoz_ref.dispute as dispute
from lumoz_ref.evm_circuit import CircuitConfig

SMALL = CircuitConfig(max_txs=1, max_calls=1, max_steps=2, stack_depth=5, code_size=4, calldata_words=1,
                      account_slots=2, storage_slots=1, account_depth=2, storage_depth=2)


def test_keys_are_set_up_once_then_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv(dispute.KEY_CACHE_ENV, str(tmp_path))
    dispute.dispute_circuit_keys.cache_clear()
    pk, vk = dispute.dispute_circuit_keys(SMALL)
    entry, = tmp_path.glob("block-*.pk")
    assert entry.name == f"block-{dispute.circuit_key_id(SMALL)}.pk"
    dispute.dispute_circuit_keys.cache_clear()
    monkeypatch.setattr(dispute, "setup_block_circuit", lambda *a: pytest.fail("set up again despite the cache"))
    assert dispute.dispute_circuit_keys(SMALL) == (pk, vk)
    dispute.dispute_circuit_keys.cache_clear()


def test_a_damaged_entry_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv(dispute.KEY_CACHE_ENV, str(tmp_path))
    dispute.dispute_circuit_keys.cache_clear()
    (tmp_path / f"block-{dispute.circuit_key_id(SMALL)}.pk").write_bytes(b"lzpk" + bytes(10))
    pk, vk = dispute.dispute_circuit_keys(SMALL)
    assert pk.vk == vk and (tmp_path / f"block-{dispute.circuit_key_id(SMALL)}.pk").stat().st_size > 1000
    dispute.dispute_circuit_keys.cache_clear()


def test_another_shape_has_another_key_and_off_writes_nothing(tmp_path, monkeypatch):
    assert dispute.circuit_key_id(SMALL) != dispute.circuit_key_id(CircuitConfig())
    monkeypatch.setenv(dispute.KEY_CACHE_ENV, "off")
    assert dispute.key_cache_dir() is None
