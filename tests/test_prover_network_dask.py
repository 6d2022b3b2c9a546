"""Chapter 12 on a real dask cluster: two worker processes on loopback; the worker running a miner's proof is
killed mid-proof, the scheduler re-runs the task elsewhere, and the proof still reaches the game before its deadline."""
from __future__ import annotations

import inspect
import time

import pytest
from eth_hash.auto import keccak

from lumoz_ref.dispute import BindingProofSystem, ProposalStatus, build_world, propose
from lumoz_ref.l1 import OutputRootAnchor, ZERO_ADDRESS, actor_address
from lumoz_ref.prover_network import (Behaviour, Groth16Checker, GrothProofSource, Miner, ProverNetwork, ProvingPool,
                                      binding_prover, decode_proof, make_verify_nodes)

distributed = pytest.importorskip("distributed")


def binding_system(seed: int) -> BindingProofSystem:
    params = inspect.signature(BindingProofSystem).parameters
    return BindingProofSystem(insecure_seed=seed) if "insecure_seed" in params else BindingProofSystem(seed=seed)


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=40) as local:
        with Client(local) as client:
            yield local, client


def _kill_worker_running(local, client, future, timeout: float = 20.0) -> str:
    "Wait until `future` runs on a worker, then kill that worker's process; return the worker's address."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if future.key in keys]
        if busy: break
        time.sleep(0.05)
    else:
        pytest.fail("the proof task never started on a worker")
    time.sleep(0.5)                                     # inside prove_on_worker now (it holds 2 s before proving)
    for nanny in local.workers.values():
        if nanny.worker_address == busy[0]:
            nanny.process.process.kill()                # a crash, not a graceful close
            return busy[0]
    pytest.fail(f"no local worker at {busy[0]}")


def test_worker_killed_mid_proof_task_rerun_and_game_defended(cluster):
    local, client = cluster
    ps = binding_system(9)
    world = build_world(ps, OutputRootAnchor(keccak(b"anchor output"), 0), keccak(b"rollup config"),
                        init_bond=0, challenger_bond=0, max_prove_duration=3600)
    chain = world.chain
    pool = ProvingPool(binding_prover(ps), client)         # the key is scattered to both workers once, here
    assert pool.kind == "dask"
    source = GrothProofSource(pool, ps.public_inputs)
    miner = Miner("dask-miner", Behaviour.HONEST, source=source, seed=9)
    nodes = make_verify_nodes(4, Groth16Checker(ps.vk, ps.public_inputs), (), 9)
    net = ProverNetwork(chain, nodes, [miner], factory=world.system.factory, name="dask")
    game = propose(chain, world.config, actor_address("proposer"), 4, keccak(b"claim"))
    chain.mine()
    chain.transact(actor_address("challenger"), game, "challenge")
    g = chain.at(game)

    # the verify nodes open the task; the miner's proof job goes to the cluster (held 2 s so it can be killed)
    net.step()
    binding = g.proof_binding(net.oracle)
    future = pool.submit(ps.public_inputs(binding), seed=1, hold_s=2.0)
    killed = _kill_worker_running(local, client, future)
    proof = future.result(timeout=60)                       # re-run by the scheduler on a live worker
    assert killed not in {w for w, keys in client.has_what().items() if future.key in keys}
    from lumoz_ref.groth16 import verify
    assert verify(ps.vk, ps.public_inputs(binding), decode_proof(proof))

    # the same future's result feeds the miner: the network commits, reveals, reaches quorum and relays
    (task_id, job), = miner.jobs.items()
    job.handle, job.ready_block = (future, time.perf_counter()), chain.block_number
    net.run_until(lambda: g.claim_data.prover != ZERO_ADDRESS and not chain.at(net.market).tasks, 60)
    assert (g.claim_data.prover, g.claim_data.status) == (net.oracle, ProposalStatus.CHALLENGED_AND_VALID_PROOF_PROVIDED)
    proved = next(e for e in chain.events if e.name == "Proved" and e.emitter == game)
    assert proved.timestamp <= g.claim_data.deadline
