"""Chapter 11 with chapter 08's block circuit behind the game: real state-transition proofs decide disputes."""
from __future__ import annotations

import dataclasses
import random

import pytest
from eth_hash.auto import keccak

from lumoz_ref.dispute import (MissingL1Data, OutputPreimageMismatch, ProposalStatus, ProverStateMismatch,
                               StateTransitionProofSystem, binding_digest, build_world, propose, state_output,
                               submit_proof)
from lumoz_ref.evm_circuit import apply_block, block_public_inputs, example_block, tx_commitment, verify_block
from lumoz_ref.l1 import GameStatus, InvalidProof, OutputRootAnchor, actor_address, ether
from lumoz_ref.r1cs import UnsatisfiedConstraint

PROVE_WINDOW = 1800
A = {n: actor_address(n) for n in ("proposer", "challenger", "prover", "resolver")}


@pytest.fixture(scope="module")
def block():
    "One seeded setup of the block circuit and one disputed L2 block (a transfer and a counter call)."
    st = StateTransitionProofSystem(seed=23)
    genesis, txs = example_block(st.config, n_transfers=1)
    run = apply_block(genesis, txs)
    st.sync(0, genesis)
    st.post_transactions(1, txs)
    anchor = st.post_output(0, state_output(genesis.root))
    claims = {"good": st.post_output(1, state_output(run.post_state_root, block_hash=keccak(b"block 1"))),
              "other": st.post_output(1, state_output(run.post_state_root, block_hash=keccak(b"block 1'"))),
              "wrong": st.post_output(1, state_output(run.post_state_root ^ 1, block_hash=keccak(b"block 1")))}
    return dict(st=st, genesis=genesis, txs=txs, run=run, anchor=anchor, claims=claims, proofs={})


@pytest.fixture
def setup(block):
    "A fresh L1 per test with three challenged games for L2 block 1; proofs are cached by binding."
    s = dict(block)
    world = build_world(s["st"], OutputRootAnchor(s["anchor"], 0), keccak(b"rollup config"),
                        max_challenge_duration=3600, max_prove_duration=PROVE_WINDOW)
    for a in A.values():
        world.chain.fund(a, ether(10))
    games = {}
    for name, claim in s["claims"].items():
        games[name] = propose(world.chain, world.config, A["proposer"], 1, claim)
        world.chain.transact(A["challenger"], games[name], "challenge", value=world.config.challenger_bond)
        world.chain.mine()
    s.update(world=world, games=games)
    binding = world.chain.at(games["good"]).proof_binding(A["prover"])
    if binding not in s["proofs"]:
        s["proofs"][binding] = s["st"].prove(binding, rng=random.Random(3))
    s["proof"] = s["proofs"][binding]
    return s


def binding_of(s, name, who="prover"):
    return s["world"].chain.at(s["games"][name]).proof_binding(A[who])


def test_public_inputs_come_from_game_state_and_l1_data(setup):
    s = setup
    binding = binding_of(s, "good")
    expected = block_public_inputs(s["genesis"].root, s["run"].post_state_root, s["txs"], binding_digest(binding))
    assert s["st"].public_inputs(binding) == list(expected)
    assert expected[2] == tx_commitment(s["txs"])
    assert verify_block(s["st"].vk, expected, s["proof"])       # chapter 08's verifier agrees with the game's inputs


def test_correct_claim_is_proven_and_defender_wins(setup):
    s = setup
    world, game = s["world"], s["games"]["good"]
    assert submit_proof(world.chain, game, A["prover"], s["proof"]) == ProposalStatus.CHALLENGED_AND_VALID_PROOF_PROVIDED
    world.chain.transact(A["resolver"], game, "resolve")
    assert world.chain.at(game).status == GameStatus.DEFENDER_WINS


def test_wrong_post_state_root_cannot_be_proven_and_challenger_wins(setup):
    s = setup
    world, game = s["world"], s["games"]["wrong"]
    with pytest.raises(UnsatisfiedConstraint, match="post-state root matches"):
        s["st"].prove(binding_of(s, "wrong"), rng=random.Random(3))
    with pytest.raises(InvalidProof):                                # the proof of the right root does not fit either
        submit_proof(world.chain, game, A["prover"], s["proof"])
    world.chain.advance(PROVE_WINDOW + 1)
    world.chain.transact(A["resolver"], game, "resolve")
    assert world.chain.at(game).status == GameStatus.CHALLENGER_WINS


def test_rejects_proof_made_for_another_game(setup):
    s = setup
    world, game = s["world"], s["games"]["other"]
    assert binding_digest(binding_of(s, "other")) != binding_digest(binding_of(s, "good"))
    # the same state transition, but another game: the binding digest differs, so the verifier refuses
    assert s["st"].public_inputs(binding_of(s, "other"))[:3] == s["st"].public_inputs(binding_of(s, "good"))[:3]
    with pytest.raises(InvalidProof):
        submit_proof(world.chain, game, A["prover"], s["proof"])
    assert world.chain.at(game).claim_data.status == ProposalStatus.CHALLENGED


def test_rejects_proof_stolen_by_another_prover(setup):
    s = setup
    public = s["st"].public_inputs(binding_of(s, "good", who="challenger"))
    assert not verify_block(s["st"].vk, public, s["proof"])


def test_rejects_root_without_matching_preimage(setup):
    s = setup
    binding = dataclasses.replace(binding_of(s, "good"), root_claim=keccak(b"never posted"))
    with pytest.raises(OutputPreimageMismatch, match="hashes to the game's root"):
        s["st"].public_inputs(binding)
    with pytest.raises(OutputPreimageMismatch):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), starting_output_root=keccak(b"other start")))


def test_rejects_block_without_l1_data(setup):
    s = setup
    with pytest.raises(MissingL1Data, match="no transactions posted for L2 block 2"):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), l2_block_number=2))


def test_prover_without_the_pre_state_refuses(setup):
    s = setup
    st = s["st"]
    saved = st.states.pop(0)
    try:
        with pytest.raises(ProverStateMismatch):
            st.prove(binding_of(s, "good"))
    finally:
        st.states[0] = saved
