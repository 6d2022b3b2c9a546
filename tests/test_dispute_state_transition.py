"""Chapter 11 with chapter 08's block circuit behind the game: real state-transition proofs of chapter 09's
L2 blocks, public inputs read from the output-root oracle and the batch inbox on L1."""
from __future__ import annotations

import dataclasses
import random

import pytest
from coincurve import PrivateKey
from eth_hash.auto import keccak

from lumoz_ref.dispute import (DISPUTE_CIRCUIT, DISPUTE_ROLLUP, L2_GAS_PRICE, InvalidOutputPreimage, MissingL1Data, ProposalStatus,
                               ProverStateMismatch, RollupMismatch, StateTransitionError, StateTransitionProofSystem,
                               binding_digest, build_world, output_preimage, post_output, propose, submit_proof)
from lumoz_ref.evm_circuit import block_public_inputs, tx_commitment, verify_block
from lumoz_ref.l1 import L1_BLOCK_TIME, GameStatus, InvalidProof, OutputRootAnchor, actor_address, ether
from lumoz_ref.r1cs import UnsatisfiedConstraint
from lumoz_ref.rollup import (L2_TO_L1_MESSAGE_PASSER, SEQUENCER_FEE_VAULT, Devnet, Genesis, RollupConfig,
                              address_of, circuit_transactions, derive_chain, initiate_withdrawal_calldata,
                              set_account, sign_transaction)

PROVE_WINDOW = 1800
A = {n: actor_address(n) for n in ("proposer", "challenger", "prover", "resolver", "batcher", "mallory")}
KEYS = {n: keccak(f"test_dispute_state_transition: {n}".encode()) for n in ("alice", "bob")}
L2 = {n: address_of(PrivateKey(k).public_key.format(compressed=False)) for n, k in KEYS.items()}


@pytest.fixture(scope="module")
def chain_and_keys():
    "One seeded setup of DISPUTE_CIRCUIT and a two-block L2 chain (a transfer; a withdrawal and a transfer)."
    genesis = Genesis(balances={L2["alice"]: ether(10)})
    devnet = Devnet(DISPUTE_ROLLUP, genesis)
    devnet.step([sign_transaction(KEYS["alice"], nonce=0, to=L2["bob"], value=ether("0.1"), gas_price=L2_GAS_PRICE)])
    devnet.step([sign_transaction(KEYS["alice"], nonce=1, to=L2_TO_L1_MESSAGE_PASSER, value=ether(1), gas=150_000,
                                  gas_price=L2_GAS_PRICE, data=initiate_withdrawal_calldata(L2["alice"], 100_000)),
                 sign_transaction(KEYS["alice"], nonce=2, to=L2["bob"], value=ether("0.2"), gas_price=L2_GAS_PRICE)])
    devnet.flush()
    return dict(st=StateTransitionProofSystem(DISPUTE_ROLLUP, genesis), genesis=genesis, devnet=devnet, proofs={})


@pytest.fixture
def setup(chain_and_keys):
    "A fresh L1 per test: batches posted, the anchor and three outputs of block 2 posted and challenged."
    s = dict(chain_and_keys)
    st, devnet = s["st"], s["devnet"]
    world = build_world(st, OutputRootAnchor(devnet.node.output_at(0).root, 0), DISPUTE_ROLLUP.hash(),
                        max_challenge_duration=3600, max_prove_duration=PROVE_WINDOW, batcher=A["batcher"])
    chain = world.chain
    for a in A.values():
        chain.fund(a, ether(10))
    for l1_block, data in devnet.inbox.entries:
        chain.advance_to(chain.blocks[0].timestamp + L1_BLOCK_TIME * l1_block)
        chain.transact(A["batcher"], world.system.batch_inbox, "submit", data)
    chain.mine()                      # the batches are in a sealed L1 block before any game records its L1 head
    node = derive_chain(DISPUTE_ROLLUP, s["genesis"], [(t.block_number, t.data) for t in
                        chain.at(world.system.batch_inbox).batcher_transactions()])
    st.sync(node)
    minted = node.state_at(2)
    vault = minted.account(SEQUENCER_FEE_VAULT)
    set_account(minted, SEQUENCER_FEE_VAULT, dataclasses.replace(vault, balance=vault.balance + ether(1000)))
    post = lambda state, block_hash: post_output(chain, world.oracle, A["proposer"], state, block_hash)
    post(node.state_at(0), node.output_at(0).block_hash)
    claims = {"good": post(node.state_at(2), node.output_at(2).block_hash),
              "other": post(node.state_at(2), keccak(b"another block 2")),
              "minted": post(minted, node.output_at(2).block_hash)}
    games = {}
    for name, claim in claims.items():
        games[name] = propose(chain, world.config, A["proposer"], 2, claim)
        chain.transact(A["challenger"], games[name], "challenge", value=world.config.challenger_bond)
        chain.mine()
    s.update(world=world, games=games, node=node, claims=claims)
    binding = chain.at(games["good"]).proof_binding(A["prover"])
    if binding not in s["proofs"]:
        s["proofs"][binding] = st.prove(binding, rng=random.Random(3))
    s["proof"] = s["proofs"][binding]
    return s


def binding_of(s, name, who="prover"):
    return s["world"].chain.at(s["games"][name]).proof_binding(A[who])


def test_the_claim_is_the_l2_nodes_output(setup):
    assert setup["claims"]["good"] == setup["devnet"].node.output_at(2).root
    assert setup["node"].head.hash == setup["devnet"].node.head.hash


def test_public_inputs_come_from_game_state_and_l1_data(setup):
    s = setup
    binding = binding_of(s, "good")
    txs = circuit_transactions(s["node"], 0, 2)
    assert [t.sender for t in txs] == [int.from_bytes(L2["alice"], "big")] * 3
    pre, post = (int.from_bytes(s["node"].blocks[n].header.state_root, "big") for n in (0, 2))
    expected = block_public_inputs(pre, post, txs, binding_digest(binding))
    assert s["st"].public_inputs(binding) == list(expected)
    assert expected[2] == tx_commitment(txs)
    assert verify_block(s["st"].vk, expected, s["proof"])       # chapter 08's verifier agrees with the game's inputs


def test_correct_claim_is_proven_and_defender_wins(setup):
    s = setup
    world, game = s["world"], s["games"]["good"]
    assert submit_proof(world.chain, game, A["prover"], s["proof"]) == ProposalStatus.CHALLENGED_AND_VALID_PROOF_PROVIDED
    world.chain.transact(A["resolver"], game, "resolve")
    assert world.chain.at(game).status == GameStatus.DEFENDER_WINS


def test_minted_state_cannot_be_proven_and_challenger_wins(setup):
    s = setup
    world, game = s["world"], s["games"]["minted"]
    with pytest.raises(UnsatisfiedConstraint, match="post-state root matches"):
        s["st"].prove(binding_of(s, "minted"), rng=random.Random(3))
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
    with pytest.raises(InvalidProof):
        submit_proof(s["world"].chain, s["games"]["good"], A["mallory"], s["proof"])
    assert not verify_block(s["st"].vk, s["st"].public_inputs(binding_of(s, "good", who="challenger")), s["proof"])


def test_rejects_roots_without_posted_preimage(setup):
    s = setup
    with pytest.raises(MissingL1Data, match="no preimage of output root"):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), root_claim=keccak(b"never posted")))
    with pytest.raises(MissingL1Data, match="no preimage of output root"):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), starting_output_root=keccak(b"other start")))


def test_rejects_block_beyond_the_inbox(setup):
    s = setup
    with pytest.raises(MissingL1Data, match="derives L2 blocks up to 2"):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), l2_block_number=3))


def test_inbox_spam_from_others_changes_nothing(setup):
    s = setup
    world = s["world"]
    before = s["st"].public_inputs(binding_of(s, "good"))
    junk = sign_transaction(KEYS["alice"], nonce=3, to=L2["bob"], value=1, gas_price=L2_GAS_PRICE)
    world.chain.transact(A["mallory"], world.system.batch_inbox, "submit", b"\x00" + junk.encode())
    assert s["st"].public_inputs(binding_of(s, "good")) == before


def test_rejects_another_rollup_configuration(setup):
    s = setup
    binding = dataclasses.replace(binding_of(s, "good"), rollup_config_hash=RollupConfig().hash())
    with pytest.raises(RollupMismatch):
        s["st"].public_inputs(binding)


def test_oracle_refuses_inconsistent_preimages(setup):
    s = setup
    world, node = s["world"], s["node"]
    preimage, account, opening = output_preimage(node.state_at(2), node.output_at(2).block_hash)
    post = lambda *args: world.chain.transact(A["mallory"], world.oracle, "post", *args)
    with pytest.raises(InvalidOutputPreimage, match="message-passer root"):
        post(dataclasses.replace(preimage, message_passer_storage_root=keccak(b"withdrawals nobody made")), account, opening)
    with pytest.raises(InvalidOutputPreimage, match="does not show"):
        post(dataclasses.replace(preimage, state_root=keccak(b"another state")[:1] + bytes(31)), account, opening)
    with pytest.raises(InvalidOutputPreimage, match="does not show"):
        post(preimage, dataclasses.replace(account, balance=account.balance + 1), opening)
    with pytest.raises(InvalidOutputPreimage, match="not a field element"):
        post(dataclasses.replace(preimage, state_root=b"\xff" * 32), account, opening)


def test_prover_without_the_pre_state_refuses(setup):
    s = setup
    st = s["st"]
    try:
        st.sync(Devnet(DISPUTE_ROLLUP, s["genesis"]).node)       # a node that has not seen block 1 or 2
        with pytest.raises(ProverStateMismatch):
            st.prove(dataclasses.replace(binding_of(s, "good"), starting_block_number=1))
        st.sync(Devnet(DISPUTE_ROLLUP, Genesis(balances={L2["bob"]: 1})).node)   # another genesis
        with pytest.raises(ProverStateMismatch, match="has root"):
            st.prove(binding_of(s, "good"))
    finally:
        st.sync(s["node"])


def test_fees_are_part_of_the_proven_transition(setup):
    node = setup["node"]
    vault = node.state.account(SEQUENCER_FEE_VAULT).balance
    assert vault == L2_GAS_PRICE * sum(r.gas_used for n in (1, 2) for r in node.block_trace(n).receipts) > 0
    assert [t.gas_price for t in circuit_transactions(node, 0, 2)] == [L2_GAS_PRICE] * 3


def test_circuit_and_rollup_must_share_fee_recipient():
    with pytest.raises(StateTransitionError, match="pays fees to"):
        StateTransitionProofSystem(dataclasses.replace(DISPUTE_ROLLUP, fee_recipient=b"\x11" * 20), Genesis(), DISPUTE_CIRCUIT)


def test_circuit_and_rollup_must_share_tree_depths():
    with pytest.raises(StateTransitionError, match="depths"):
        StateTransitionProofSystem(RollupConfig(), Genesis(), DISPUTE_CIRCUIT)   # depths 32, circuit 8
