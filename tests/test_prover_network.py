"""Chapter 12: the prover market's token accounting (property test over random populations and event orders),
the quorum oracle's refusals, the commit/reveal windows, the simulation's target, and an end-to-end run with real
Groth16 proofs on chapter 10's L1 and chapter 11's game."""
from __future__ import annotations

import inspect
import json
import random

import pytest
from coincurve import PrivateKey
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumoz_ref.dispute import BindingProofSystem, ProposalStatus, build_world, propose
from lumoz_ref.l1 import GameStatus, L1Chain, OutputRootAnchor, ZERO_ADDRESS, actor_address
from lumoz_ref.prover_network import (
    NO_REVEAL_SLASH, TASK_REWARD, WRONG_PROOF_SLASH, AlreadyCommitted, BadSignature, Behaviour, CommitWindowClosed,
    Groth16Checker, GrothProofSource, InsufficientStake, MarketParams, Miner, NetworkConfigError, NetworkParams,
    NoQuorum, NodeBehaviour, NotAVerifyNode, NotCommitted, ProverNetwork, ProvingPool, RevealWindowNotOpen,
    SettleTooEarly, SimulatedGame, StakeLocked, TaskStatus, TooManyCommitments, UnknownSigner, UnrevealedProof,
    WindowsDoNotFit, _play_dispute, binding_prover, commitment_of, make_verify_nodes, proof_hash, quorum_size,
    sign_confirmation, simulate_network, token_checker, token_proof)


def binding_system(seed: int) -> BindingProofSystem:
    params = inspect.signature(BindingProofSystem).parameters
    return BindingProofSystem(insecure_seed=seed) if "insecure_seed" in params else BindingProofSystem(seed=seed)


class ShuffledNetwork(ProverNetwork):
    "The same network, with the actors' order inside each block drawn at random (other event orders)."
    def step(self) -> None:
        actors = [*self.nodes, *self.miners]
        self.order_rng.shuffle(actors)
        for actor in actors: actor.act(self)
        self.chain.mine()


def network(behaviours, node_behaviours=(), params=MarketParams(), window=1200, seed=0, stakes=None, shuffled=None):
    chain = L1Chain()
    game = chain.register(SimulatedGame(prove_window=window), "t:game")
    stakes = stakes or [100_000] * len(behaviours)
    miners = [Miner(f"m{i}", b, stake=s, seed=seed, speed=0.5 + (i % 4) / 2) for i, (b, s) in enumerate(zip(behaviours, stakes))]
    nodes = make_verify_nodes(4, token_checker, node_behaviours, seed)
    cls = ShuffledNetwork if shuffled is not None else ProverNetwork
    net = cls.__new__(cls)
    net.order_rng = random.Random(shuffled)
    ProverNetwork.__init__(net, chain, nodes, miners, {game}, params, 1_000_000, bytes, name="t")
    return net, game


# --- (1) token accounting, copiers, quorum: a property over random populations and event orders -------------------

behaviours = st.lists(st.sampled_from(list(Behaviour)), min_size=1, max_size=7)
node_faults = st.lists(st.sampled_from([NodeBehaviour.OFFLINE, NodeBehaviour.ALWAYS_REJECT, NodeBehaviour.ALWAYS_ACCEPT]), max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=behaviours, faults=node_faults, stakes=st.lists(st.integers(10_000, 60_000), min_size=7, max_size=7),
       max_commitments=st.integers(1, 8), wrong=st.integers(0, 30_000), no_reveal=st.integers(0, 30_000),
       disputes=st.integers(1, 2), order=st.integers(0, 2**32))
def test_tokens_conserved_copiers_unpaid_and_quorum_enforced(kinds, faults, stakes, max_commitments, wrong, no_reveal,
                                                            disputes, order):
    params = MarketParams(max_commitments=max_commitments, wrong_proof_slash=wrong, no_reveal_slash=no_reveal)
    net, game = network(kinds, faults, params, window=600, seed=order % 97, stakes=stakes[:len(kinds)], shuffled=order)
    market, oracle = net.chain.at(net.market), net.chain.at(net.oracle)
    supply = market.supply
    for _ in range(disputes):
        _play_dispute(net, game, actor_address("challenger"))
        assert market.token_total() == supply                       # stake + balances + pool + burned is constant
    assert sum(market.earned.values()) + market.reward_pool == 1_000_000
    assert sum(market.slashed.values()) == market.burned
    accepting = sum(n.behaviour == NodeBehaviour.ALWAYS_ACCEPT for n in net.nodes)
    never_paid = [Behaviour.COPIER, Behaviour.WITHHOLDING] + ([Behaviour.INVALID] if accepting < quorum_size(4) else [])
    for m in net.miners:       # an invalid proof is paid only if a dishonest quorum (the trust assumption broken) signs it
        if m.behaviour in never_paid:
            assert market.earned.get(m.address, 0) == 0, f"a {m.behaviour.value} miner was paid"
    # every proof that reached the game came through the oracle, each after a relay that a quorum signed
    proved = [e for e in net.chain.events if e.name == "Proved"]
    relayed = [e for e in net.chain.events if e.name == "ProofRelayed"]
    assert len(proved) == len(relayed) and all(e.args["prover"] == net.oracle for e in proved)
    assert all(e.args["signers"] >= oracle.quorum() for e in relayed)
    signing = sum(n.behaviour in (NodeBehaviour.HONEST, NodeBehaviour.ALWAYS_ACCEPT) for n in net.nodes)
    if signing < quorum_size(4): assert not proved, "a proof reached L1 with fewer signers than the quorum"
    # each proof is relayed at most once: a node that reads it confirmed on L1 does not pay for a second relay
    relays = [(e.args["task"], e.args["proofHash"]) for e in net.chain.events
              if e.emitter == net.oracle and e.name in ("ProofRelayed", "DuplicateRelay")]
    assert len(relays) == len(set(relays)), "the same proof was relayed twice"


# --- (2) the quorum oracle ------------------------------------------------------------------------------------------

@pytest.fixture()
def round_ready():
    "One honest miner has revealed; the oracle has four verify nodes."
    net, game = network([Behaviour.HONEST])
    chain, miner = net.chain, net.miners[0]
    chain.transact(actor_address("challenger"), game, "challenge")
    task = chain.transact(net.nodes[0].address, net.market, "open_task", game, chain.block_number, chain.block_number + 100)
    proof = token_proof(game, True, b"p")
    chain.transact(miner.address, net.market, "commit", task, commitment_of(proof, miner.address))
    chain.advance(12 * 11)
    chain.transact(miner.address, net.market, "reveal", task, proof)
    sigs = [sign_confirmation(n.private_key, net.oracle, task, proof_hash(proof)) for n in net.nodes]
    return net, game, task, proof, sigs


def test_relay_without_quorum_is_refused(round_ready):
    net, game, task, proof, sigs = round_ready
    with pytest.raises(NoQuorum, match="2 of 4 verify nodes signed, the quorum is 3"):
        net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, proof, sigs[:2])
    with pytest.raises(NoQuorum):       # the same signature three times is one signer
        net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, proof, [sigs[0]] * 3)
    assert net.chain.at(game).claim_data.prover == ZERO_ADDRESS


def test_relay_with_unregistered_signer_is_refused(round_ready):
    net, game, task, proof, sigs = round_ready
    stranger = sign_confirmation(keccak(b"not a verify node"), net.oracle, task, proof_hash(proof))
    with pytest.raises(UnknownSigner, match="not a registered verify node"):
        net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, proof, sigs[:2] + [stranger])


def test_relay_with_signature_for_another_proof_is_refused(round_ready):
    net, game, task, proof, sigs = round_ready
    other = token_proof(game, True, b"other")        # signatures over `proof` recover to strangers for `other`
    with pytest.raises((UnknownSigner, UnrevealedProof)):
        net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, other, sigs)
    with pytest.raises(BadSignature):
        net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, proof, [b"\x00" * 65] * 3)


def test_duplicate_relay_is_harmless(round_ready):
    net, game, task, proof, sigs = round_ready
    assert net.chain.transact(net.nodes[0].address, net.oracle, "relay", task, proof, sigs[:3]) is True
    assert net.chain.transact(net.nodes[1].address, net.oracle, "relay", task, proof, sigs[1:]) is False
    assert net.chain.at(game).claim_data.prover == net.oracle


# --- (1) market rules ---------------------------------------------------------------------------------------------

def test_market_windows_and_stake_rules(round_ready):
    net, game, task, proof, sigs = round_ready
    chain, market, miner = net.chain, net.market, net.miners[0].address
    with pytest.raises(NotAVerifyNode): chain.transact(miner, market, "open_task", game, 1, 500)
    with pytest.raises(StakeLocked): chain.transact(miner, market, "unstake", 1)
    with pytest.raises(AlreadyCommitted): chain.transact(miner, market, "commit", task, b"\x00" * 32)
    with pytest.raises(InsufficientStake): chain.transact(net.owner, market, "commit", task, b"\x00" * 32)
    with pytest.raises(NotCommitted): chain.transact(net.owner, market, "reveal", task, proof)
    with pytest.raises(SettleTooEarly): chain.transact(miner, market, "settle", task)
    chain.advance(12 * 10)
    assert chain.transact(miner, market, "settle", task) == TaskStatus.OPEN       # unconfirmed: slashed, task reopens
    assert chain.at(market).slashed[miner] == WRONG_PROOF_SLASH


def test_commit_rules_before_reveal():
    net, game = network([Behaviour.HONEST, Behaviour.HONEST], params=MarketParams(max_commitments=1))
    chain, (a, b) = net.chain, [m.address for m in net.miners]
    chain.transact(actor_address("challenger"), game, "challenge")
    task = chain.transact(net.nodes[0].address, net.market, "open_task", game, chain.block_number, chain.block_number + 100)
    poor = actor_address("poor")
    with pytest.raises(InsufficientStake): chain.transact(poor, net.market, "commit", task, b"\x01" * 32)
    chain.transact(a, net.market, "commit", task, b"\x01" * 32)
    with pytest.raises(TooManyCommitments): chain.transact(b, net.market, "commit", task, b"\x02" * 32)
    with pytest.raises(RevealWindowNotOpen): chain.transact(a, net.market, "reveal", task, b"x")
    chain.advance(12 * 25)
    with pytest.raises(RevealWindowNotOpen): chain.transact(a, net.market, "reveal", task, b"x")
    with pytest.raises(CommitWindowClosed): chain.transact(b, net.market, "commit", task, b"\x02" * 32)
    m = chain.at(net.market)
    assert chain.transact(a, net.market, "settle", task) == TaskStatus.OPEN      # reopened: room before the deadline
    assert m.slashed[a] == NO_REVEAL_SLASH and m.token_total() == m.supply


def test_windows_that_do_not_fit_are_refused():
    with pytest.raises(WindowsDoNotFit, match="prove window is 240 s"):
        NetworkParams(prove_window_s=240)
    with pytest.raises(NetworkConfigError, match="0 < C < R"):
        MarketParams(commit_window=25)
    net, game = network([Behaviour.HONEST])
    with pytest.raises(WindowsDoNotFit, match="ends after the task's deadline"):
        net.chain.transact(net.nodes[0].address, net.market, "open_task", game, 1, net.chain.block_number + 5)


def test_copier_slashed_when_bound_paid_when_unbound():
    for bind, copier_paid in ((True, False), (False, True)):
        net, game = network([Behaviour.HONEST, Behaviour.COPIER], params=MarketParams(bind_miner=bind))
        assert _play_dispute(net, game, actor_address("challenger"))[0]
        m = net.chain.at(net.market)
        honest, copier = (m.earned.get(x.address, 0) for x in net.miners)
        assert (copier > 0) == copier_paid
        assert m.slashed.get(net.miners[1].address, 0) == (0 if copier_paid else WRONG_PROOF_SLASH)
        assert honest == (TASK_REWARD if bind else TASK_REWARD // 2)


def test_redispatch_after_a_failed_round():
    """Withholders fill the only slot; the slash prices them out and the task reopens until the honest proof lands."""
    params = MarketParams(max_commitments=1, no_reveal_slash=60_000)
    net, game = network([Behaviour.WITHHOLDING, Behaviour.HONEST], params=params, window=3600)
    ok, latency = _play_dispute(net, game, actor_address("challenger"))
    reopened = [e for e in net.chain.events if e.name == "TaskReopened"]
    assert ok and len(reopened) == 2 and latency > 2 * 20 * 12


# --- (3) the simulation's target ----------------------------------------------------------------------------------

def test_simulate_network_meets_target_with_a_third_faulty():
    result = simulate_network(1000, 1 / 3, seed=0)
    json.dumps(result)
    assert set(result) >= {"success_rate", "latency_s", "tokens", "miners"}
    assert result["success_rate"] >= 0.99
    assert set(result["latency_s"]) == {"p50", "p95", "p99"} and 0 < result["latency_s"]["p50"] <= result["latency_s"]["p99"]
    t = result["tokens"]
    assert t["start"] == t["end"] + t["burned"] and t["burned"] > 0
    kinds = {v["behaviour"] for v in result["miners"].values()}
    assert {"honest", "invalid", "withholding", "copier"} <= kinds
    assert all(v["earned"] == 0 for v in result["miners"].values() if v["behaviour"] != "honest" and v["behaviour"] != "slow")


def test_simulate_network_breaks_without_honest_quorum():
    result = simulate_network(5, 0.5, seed=1, params=NetworkParams(prove_window_s=600))
    assert result["success_rate"] == 0.0 and result["latency_s"]["p50"] is None
    with pytest.raises(NetworkConfigError): simulate_network(3, 1.5, seed=0)
    with pytest.raises(NetworkConfigError): simulate_network(0, 0.1, seed=0)


# --- (4) end to end: chapter 10 L1, chapter 11 game, real Groth16 --------------------------------------------------

@pytest.mark.parametrize("executor", [None, "processes"])
def test_end_to_end_real_proofs_defend_the_game(executor):
    ps = binding_system(5)
    world = build_world(ps, OutputRootAnchor(keccak(b"anchor output"), 0), keccak(b"rollup config"),
                        init_bond=0, challenger_bond=0, max_prove_duration=3600)
    chain = world.chain
    pool = ProvingPool(binding_prover(ps), executor)
    try:
        source = GrothProofSource(pool, ps.public_inputs)
        miners = [Miner(f"e{i}", b, source=source, seed=5) for i, b in enumerate([Behaviour.INVALID, Behaviour.HONEST, Behaviour.COPIER])]
        nodes = make_verify_nodes(4, Groth16Checker(ps.vk, ps.public_inputs), [NodeBehaviour.ALWAYS_ACCEPT], 5)
        net = ProverNetwork(chain, nodes, miners, factory=world.system.factory, name="e2e")
        game = propose(chain, world.config, actor_address("proposer"), 4, keccak(b"claim"))
        chain.mine()
        chain.transact(actor_address("challenger"), game, "challenge")
        g = chain.at(game)
        net.run_until(lambda: g.claim_data.prover != ZERO_ADDRESS and not chain.at(net.market).tasks, 120)
    finally:
        pool.close()
    assert (g.claim_data.prover, g.claim_data.status) == (net.oracle, ProposalStatus.CHALLENGED_AND_VALID_PROOF_PROVIDED)
    assert chain.transact(actor_address("resolver"), game, "resolve") == GameStatus.DEFENDER_WINS
    m = chain.at(net.market)
    assert m.earned.get(miners[1].address) == TASK_REWARD
    assert m.slashed.get(miners[0].address) == WRONG_PROOF_SLASH and m.slashed.get(miners[2].address) == WRONG_PROOF_SLASH
    assert any("NoQuorum" in what for _, _, what in net.notes)      # the always-accept node tried, the oracle refused
