"""Chapter 05a: one Groth16 proof split over workers is chapter 05's proof, bit for bit, in-process, on process
pools and on a real dask cluster (two worker processes on loopback), on both curve backends; the key is shipped
once; a worker killed while it runs a chunk costs a re-run, not the proof."""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import random
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from lumoz_ref.curve import InvalidPoint, get_backend, set_backend
from lumoz_ref.field import P, R
from lumoz_ref.groth16 import MalformedKey, _h_scalars, chain_circuit, prove, setup, verify
from lumoz_ref.qap import witness_evaluations
from lumoz_ref.r1cs import UnsatisfiedConstraint, WitnessError
from lumoz_ref.distributed_prover import (ChunkFailed, DistributedProver, InvalidSplit, ProverClosed,
                                          SnarkjsFailed, UnsupportedExecutor, bench_distributed,
                                          bench_snarkjs, coset_evaluations, coset_shift, four_step_ntt,
                                          h_from_cosets, prove_distributed, snarkjs_ptau, split_key,
                                          wire_partial_sums)
from lumoz_ref import distributed_prover
from lumoz_ref.poly import ntt


@pytest.fixture(scope="module")
def circuit():
    "A 40-step chain (42 wires, domain 64), its key and witness, and chapter 05's proofs for seeds 7 and 8."
    r1cs, witness = chain_circuit(40)
    pk, vk = setup(r1cs, seed=3)
    reference = {seed: prove(pk, r1cs, witness, rng=random.Random(seed)) for seed in (7, 8)}
    return pk, vk, r1cs, witness, reference


def test_chunks_cover_every_point_exactly_once(circuit):
    pk = circuit[0]
    for k in (1, 2, 5, pk.n_wires):
        chunks = split_key(pk, k)
        assert [c.index for c in chunks] == list(range(k))
        for name in ("a_query", "b_g1_query", "b_g2_query", "l_query", "h_query"):
            assert sum((getattr(c, name) for c in chunks), ()) == getattr(pk, name), (k, name)
        assert chunks[0].wires[0] == 0 and chunks[-1].wires[1] == pk.n_wires
        assert all(a.wires[1] == b.wires[0] and a.h_range[1] == b.h_range[0] for a, b in zip(chunks, chunks[1:]))


def test_chunk_points_are_checked_once_where_the_chunk_lands(circuit):
    "A chunk travels as its points; the process it lands in checks them (a forged one is refused)."
    pk, _, r1cs, witness, _ = circuit
    chunk = split_key(pk, 2)[1]
    lo, hi = chunk.wires
    assert chunk.bases.a.coords[0] == tuple(chunk.a_query[0])               # made and kept here
    copy = pickle.loads(pickle.dumps(chunk))
    assert "_bases" not in copy.__dict__ and copy == chunk                    # not shipped …
    assert wire_partial_sums(copy, witness[lo:hi]) == wire_partial_sums(chunk, witness[lo:hi])  # … remade
    (x, y), *rest = chunk.a_query
    forged = pickle.loads(pickle.dumps(dataclasses.replace(chunk, a_query=((x, (y + 1) % P), *rest))))
    with pytest.raises(InvalidPoint, match=r"points\[0\] .* is not on y²"):
        wire_partial_sums(forged, witness[lo:hi])


@pytest.mark.parametrize("bad", [0, -1, 10**6, 2.0, True, "4"])
def test_invalid_chunk_counts_refused(circuit, bad):
    with pytest.raises(InvalidSplit, match="chunks must be an int from 1"):
        split_key(circuit[0], bad)


@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_in_process_proof_identical_to_chapter05(circuit, chunks):
    pk, vk, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, chunks=chunks) as prover:
        proof = prover.prove(witness, rng=random.Random(7))
    assert proof == reference[7]
    assert verify(vk, r1cs.public_signals(witness), proof)


def test_blinding_changes_the_proof_so_identity_is_not_vacuous(circuit):
    pk, _, r1cs, witness, reference = circuit
    assert reference[7] != reference[8]
    assert prove_distributed(pk, r1cs, witness, rng=random.Random(8), chunks=2) == reference[8]


def test_odd_coset_basis_of_a_snarkjs_key(circuit):
    "A .zkey's h_basis: A·B − C on the odd coset, as chapter 05 takes it; the distributed proof follows."
    pk, _, r1cs, witness, _ = circuit
    zkey_like = dataclasses.replace(pk, h_basis="odd_coset", h_query=pk.h_query + pk.h_query[:1])  # n points
    w = [x % R for x in witness]
    sides = [coset_evaluations(v, coset_shift(zkey_like)) for v in witness_evaluations(r1cs, w)]
    assert h_from_cosets(zkey_like, *sides) == _h_scalars(zkey_like, r1cs, w)
    with DistributedProver(zkey_like, r1cs, chunks=3) as prover:
        assert prover.prove(witness, rng=random.Random(5)) == prove(zkey_like, r1cs, witness, rng=random.Random(5))


def test_own_process_pool_identical_and_key_shipped_once(circuit):
    pk, _, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, "processes", workers=2, chunks=4) as prover:
        assert (prover.kind, prover.workers) == ("processes", 2)
        assert prover.shipments == 2 * 4                      # the initializer: every chunk into both processes
        for seed in (7, 8):
            assert prover.prove(witness, rng=random.Random(seed)) == reference[seed]
        assert prover.shipments == 2 * 4                      # two proofs later: nothing shipped again
        assert prover.last_run["tasks"] == 3 + 2 * 4
        workers = prover.last_run["worker_cpu_s"]             # the tasks ran in the pool's processes, not here
        assert 1 <= len(workers) <= 2 and os.getpid() not in workers and all(t > 0 for t in workers.values())


def test_callers_pool_fills_its_cache_once_per_process(circuit):
    "One process: after the first proof it holds every chunk, and later proofs ship scalars only."
    pk, _, r1cs, witness, reference = circuit
    with ProcessPoolExecutor(1) as pool:
        with DistributedProver(pk, r1cs, pool, chunks=3) as prover:
            assert prover.shipments == 0                      # nothing installed up front in a pool we do not own
            assert prover.prove(witness, rng=random.Random(7)) == reference[7]
            first = prover.shipments
            assert 3 <= first <= 2 * 3                        # each chunk at least once, at most once per task
            for _ in range(2):
                assert prover.prove(witness, rng=random.Random(8)) == reference[8]
            assert prover.shipments == first
        assert pool.submit(os.getpid).result()                # the caller's pool is left running


def test_callers_pool_of_two_processes_identical(circuit):
    pk, _, r1cs, witness, reference = circuit
    with ProcessPoolExecutor(2) as pool, DistributedProver(pk, r1cs, pool, chunks=3) as prover:
        for seed in (7, 8):
            assert prover.prove(witness, rng=random.Random(seed)) == reference[seed]
        assert prover.shipments <= 2 * 2 * 3                  # at most one shipment per task


def test_thread_pool_is_an_executor_too(circuit):
    pk, _, r1cs, witness, reference = circuit
    with ThreadPoolExecutor(2) as pool, DistributedProver(pk, r1cs, pool, chunks=2) as prover:
        assert prover.prove(witness, rng=random.Random(7)) == reference[7]


def test_native_backend_identical_on_a_pool(circuit):
    pytest.importorskip("mclbn256", reason="optional native backend: `pip install mclbn256` to test it")
    pk, _, r1cs, witness, reference = circuit
    previous = get_backend()
    try:
        set_backend("native")
        with DistributedProver(pk, r1cs, "processes", workers=2) as prover:
            assert prover.prove(witness, rng=random.Random(7)) == reference[7]   # reference: the Python backend
    finally:
        set_backend(previous)


def test_bad_input_is_refused_with_a_named_error(circuit):
    pk, _, r1cs, witness, _ = circuit
    with pytest.raises(MalformedKey):
        DistributedProver(pk, chain_circuit(41)[0])
    with pytest.raises(UnsupportedExecutor, match="executor must be None, 'processes'"):
        DistributedProver(pk, r1cs, executor=42)
    for kwargs in ({"workers": 0}, {"retries": -1}, {"chunks": 0}):
        with pytest.raises(InvalidSplit):
            DistributedProver(pk, r1cs, "processes", **kwargs)
    prover = DistributedProver(pk, r1cs)
    wrong = list(witness); wrong[-1] = (wrong[-1] + 1) % R
    with pytest.raises(UnsatisfiedConstraint) as unsatisfied:
        prover.prove(wrong)
    with pytest.raises(UnsatisfiedConstraint) as chapter02:
        r1cs.check(wrong)
    assert unsatisfied.value.index == chapter02.value.index       # the same constraint is named
    with pytest.raises(WitnessError):
        prover.prove(witness[:-1])
    prover.close()
    with pytest.raises(ProverClosed):
        prover.prove(witness)


def test_four_step_ntt_equals_chapter01_ntt():
    rng = random.Random(11)
    for log_n in (0, 1, 5, 8):
        values = [rng.randrange(R) for _ in range(1 << log_n)]
        for log_columns in range(log_n + 1):
            assert four_step_ntt(values, 1 << log_columns) == ntt(values), (log_n, log_columns)
    with ThreadPoolExecutor(2) as pool:
        assert four_step_ntt(values, 16, pool.map) == ntt(values)
    with pytest.raises(InvalidSplit, match="power of two dividing"):
        four_step_ntt(values, 3)


def test_pool_process_killed_mid_chunk_pool_rebuilt_and_proof_identical(circuit):
    pk, _, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, "processes", workers=2, chunks=2) as prover:
        pids = list(prover._runner.executor._processes)
        killer = threading.Timer(0.6, os.kill, (pids[0], signal.SIGKILL))  # while every wire task holds 1.5 s
        killer.start()
        proof = prover.prove(witness, rng=random.Random(7), hold_s=1.5)
        killer.join()
        assert proof == reference[7]
        assert prover._runner.generation == 1                 # rebuilt once
        assert prover.shipments == 2 * 2 * 2                  # the chunks installed again in the new pool


def test_callers_broken_pool_is_reported_not_rebuilt(circuit):
    pk, _, r1cs, witness, _ = circuit
    pool = ProcessPoolExecutor(2)
    try:
        with DistributedProver(pk, r1cs, pool, chunks=2) as prover:
            prover.prove(witness, rng=random.Random(7))       # starts the processes, fills their caches
            threading.Timer(0.6, os.kill, (next(iter(pool._processes)), signal.SIGKILL)).start()
            with pytest.raises(ChunkFailed, match="only a pool the prover started itself"):
                prover.prove(witness, rng=random.Random(7), hold_s=1.5)
    finally:
        pool.shutdown(cancel_futures=True)


def test_bench_distributed_record_is_json_and_measures_both_sides():
    record = bench_distributed(32, 2, snarkjs=False)
    json.dumps(record)
    assert record["identical"] is True and record["workers"] == 2 and record["executor"] == "processes"
    assert record["constraints"] == 32 and record["target_speedup"] is None
    assert record["prove_s_1"] > 0 and record["prove_s"] > 0
    assert record["speedup"] == pytest.approx(record["prove_s_1"] / record["prove_s"], rel=1e-2)
    assert 0 < record["serial_fraction"] < 1 and 1 <= record["amdahl_bound"] <= 2
    assert record["prove_cpu_s_1"] > 0 and record["worker_cpu_s"] > 0 and record["cpu_speedup_estimate"] > 0
    assert {"cpu_model", "usable_cpus"} <= set(record["machine"]) and record["date"]
    assert {"coset_evaluations", "wire_partial_sums", "h_partial_sum"} == set(record["task_cpu_s"])
    assert record["snarkjs_prove_s"] is None and "snarkjs=False" in record["snarkjs_missing"]
    assert record["prove_s_over_snarkjs"] is None and record["no_slower_than_snarkjs"] is None
    for bad in ({"workers": 0}, {"backend": "gpu"}, {"repeats": 0}):
        with pytest.raises(InvalidSplit):
            bench_distributed(32, **{"workers": 2, **bad})


# ---- snarkjs's CLI on the same circuit: the yardstick of `bench groth16 --workers` ----

def test_snarkjs_missing_is_a_reason_not_a_crash(monkeypatch, tmp_path):
    monkeypatch.setenv("LUMOZ_SNARKJS", str(tmp_path / "no-such-snarkjs"))
    assert bench_snarkjs(*chain_circuit(8)) == {"snarkjs_prove_s": None, "snarkjs_verifies": None,
                                              "snarkjs_missing": f"{tmp_path / 'no-such-snarkjs'} not found "
                                                                 "(npm ci in interop/)"}
    record = bench_distributed(8, 1)                          # snarkjs asked for, and missing
    assert record["snarkjs_prove_s"] is None and "no-such-snarkjs" in record["snarkjs_missing"]
    assert record["prove_s_over_snarkjs"] is None and record["prove_s"] > 0


def test_smallest_cached_ptau_that_fits_is_reused(tmp_path):
    for power in (10, 15):
        (tmp_path / f"pot{power}_final.ptau").write_bytes(b"")
    (tmp_path / "pot20_0.ptau").write_bytes(b"")                # not a prepared file: ignored
    never = tmp_path / "never-run"                              # nothing runs when the cache has one
    assert snarkjs_ptau(never, 9, tmp_path).name == "pot10_final.ptau"
    assert snarkjs_ptau(never, 11, tmp_path).name == "pot15_final.ptau"
    assert snarkjs_ptau(never, 15, tmp_path).name == "pot15_final.ptau"


def test_snarkjs_error_exit_is_a_named_error(tmp_path):
    failing = tmp_path / "snarkjs"
    failing.write_text("#!/bin/sh\necho 'something broke' >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(SnarkjsFailed, match="exited 3: something broke"):
        distributed_prover._snarkjs(failing, "groth16", "prove")


@pytest.mark.slow
def test_snarkjs_proves_the_same_circuit_and_verifies_its_own_proof(monkeypatch, tmp_path, snarkjs):
    "The real snarkjs, a 2^8 ptau made here (seconds): the record compares the two provers' times."
    monkeypatch.setenv("LUMOZ_KEY_CACHE", str(tmp_path))
    record = bench_distributed(32, 2)
    assert record["snarkjs_missing"] is None and record["snarkjs_verifies"] is True
    assert record["snarkjs_prove_s"] > record["snarkjs_start_s"] > 0 and record["snarkjs_setup_s"] > 0
    assert record["prove_s_over_snarkjs"] == pytest.approx(record["prove_s"] / record["snarkjs_prove_s"],
                                                           rel=1e-2)
    assert record["no_slower_than_snarkjs"] is None            # N = 32 is not one of the target sizes
    assert sorted(p.name for p in (tmp_path / "snarkjs").glob("*.ptau")) == ["pot8_final.ptau"]
    again = bench_snarkjs(*chain_circuit(32))                  # the key is cached now
    assert again["snarkjs_setup_s"] is None and again["snarkjs_verifies"] is True


# ---- dask.distributed: a LocalCluster of two worker processes, started and stopped here ----

@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=50) as local:
        with Client(local) as client:
            yield local, client


def test_dask_chunks_on_one_worker_each_scattered_once_and_proofs_identical(cluster, circuit):
    local, client = cluster
    pk, vk, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, client) as prover:
        assert (prover.kind, prover.workers, len(prover.chunks)) == ("dask", 2, 2)
        remote = list(prover.remote_chunks)
        placement = client.who_has(remote)
        assert all(len(where) == 1 for where in placement.values())          # split, not broadcast
        assert len({w for where in placement.values() for w in where}) == 2  # spread over both workers
        for seed in (7, 8):
            assert prover.prove(witness, rng=random.Random(seed)) == reference[seed]
        assert [f.key for f in prover.remote_chunks] == [f.key for f in remote] and prover.shipments == 2


def _kill_worker_running(local, client, prefix: str, timeout: float = 20.0) -> str:
    "Wait until a task whose key starts with `prefix` runs on a worker, then kill that worker's process."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if any(str(k).startswith(prefix) for k in keys)]
        if busy: break
        time.sleep(0.05)
    else:
        pytest.fail(f"no {prefix} task ever started")
    time.sleep(0.3)                                       # inside the task's hold now
    for nanny in local.workers.values():
        if nanny.worker_address == busy[0]:
            nanny.process.process.kill()                  # a crash, not a graceful close
            return busy[0]
    pytest.fail(f"no local worker at {busy[0]}")


def test_dask_worker_killed_mid_chunk_chunk_rerun_elsewhere_and_proof_identical(cluster, circuit):
    local, client = cluster
    pk, vk, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, client, chunks=2) as prover:
        before = {f.key for f in prover.remote_chunks}
        outcome = {}
        def run():
            try: outcome["proof"] = prover.prove(witness, rng=random.Random(7), hold_s=2.0)
            except Exception as e: outcome["error"] = e
        thread = threading.Thread(target=run); thread.start()
        killed = _kill_worker_running(local, client, "wire_partial_sums")
        thread.join(90)
        assert not thread.is_alive(), "the proof never completed"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["proof"] == reference[7]
        after = {f.key for f in prover.remote_chunks}
        assert after != before and prover.shipments > 2       # the dead worker's chunk was scattered again
        assert all(killed not in where for where in client.who_has(list(prover.remote_chunks)).values())
    client.wait_for_workers(2, timeout=60)                # the nanny restarts the killed worker


def test_scheduler_address_connects_its_own_client_and_closes_it(cluster, circuit):
    local, client = cluster
    pk, _, r1cs, witness, reference = circuit
    with DistributedProver(pk, r1cs, local.scheduler_address) as prover:
        own = prover._runner.client
        assert own is not client and prover.kind == "dask" and len(prover.chunks) == 2
        assert prover.prove(witness, rng=random.Random(8)) == reference[8]
    assert own.status == "closed"
    record = bench_distributed(32, 2, scheduler=local.scheduler_address, snarkjs=False)  # `--scheduler`
    assert (record["executor"], record["workers"], record["scheduler"]) == ("dask", 2, local.scheduler_address)
