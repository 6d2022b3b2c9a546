"""Chapter 11 with chapter 08's block circuit behind the game: real state-transition proofs of chapter 09's
L2 blocks, public inputs read from the output-root oracle and the batch inbox on L1. A correct claim is always
defensible (also over empty blocks forced by the sequencing window); a made-up one (wrong state, made-up block
hash, or a forgery from a known setup) never is, as long as the keys come from a fresh setup."""
from __future__ import annotations

import dataclasses
import random

import pytest
from coincurve import PrivateKey
from eth_hash.auto import keccak

from lumoz_ref.dispute import (DISPUTE_CIRCUIT, DISPUTE_ROLLUP, L2_GAS_PRICE, BlockHashMismatch, InvalidOutputPreimage,
                               MissingL1Data, ProposalStatus, ProverStateMismatch, RollupMismatch, StateTransitionError,
                               StateTransitionProofSystem, binding_digest, build_world, dispute_circuit_keys, forge_proof,
                               insecure_seeded_circuit_keys, insecure_toxic_waste, output_preimage, post_output, propose,
                               submit_proof)
from lumoz_ref.evm_circuit import block_public_inputs, tx_commitment, verify_block
from lumoz_ref.l1 import L1_BLOCK_TIME, GameStatus, InvalidProof, OutputRootAnchor, actor_address, ether
from lumoz_ref.r1cs import UnsatisfiedConstraint
from lumoz_ref.rollup import (L2_TO_L1_MESSAGE_PASSER, SEQUENCER_FEE_VAULT, Devnet, Genesis,
                              RollupConfig, address_of, circuit_transactions, derive_chain, initiate_withdrawal_calldata,
                              set_account, sign_transaction)

PROVE_WINDOW = 1800
A = {n: actor_address(n) for n in ("proposer", "challenger", "prover", "resolver", "batcher", "mallory")}
KEYS = {n: keccak(f"test_dispute_state_transition: {n}".encode()) for n in ("alice", "bob")}
L2 = {n: address_of(PrivateKey(k).public_key.format(compressed=False)) for n, k in KEYS.items()}


pytestmark = pytest.mark.usefixtures("native_backend")   # the module runs on MCL when installed


def two_blocks(rollup, genesis):
    "A devnet with two L2 blocks: a transfer; a withdrawal and a transfer."
    devnet = Devnet(rollup, genesis)
    devnet.step([sign_transaction(KEYS["alice"], nonce=0, to=L2["bob"], value=ether("0.1"), gas_price=L2_GAS_PRICE)])
    devnet.step([sign_transaction(KEYS["alice"], nonce=1, to=L2_TO_L1_MESSAGE_PASSER, value=ether(1), gas=150_000,
                                  gas_price=L2_GAS_PRICE, data=initiate_withdrawal_calldata(L2["alice"], 100_000)),
                 sign_transaction(KEYS["alice"], nonce=2, to=L2["bob"], value=ether("0.2"), gas_price=L2_GAS_PRICE)])
    devnet.flush()
    return devnet


@pytest.fixture(scope="module")
def chain_and_keys(native_backend):
    "The fresh setup of DISPUTE_CIRCUIT (made once per process) and a two-block L2 chain (a transfer; a withdrawal and a transfer)."
    genesis = Genesis(balances={L2["alice"]: ether(10)})
    devnet = two_blocks(DISPUTE_ROLLUP, genesis)
    return dict(st=StateTransitionProofSystem(DISPUTE_ROLLUP, genesis), genesis=genesis, devnet=devnet, proofs={})


@pytest.fixture
def setup(chain_and_keys):
    "A fresh L1 per test: batches posted, the anchor and three outputs of block 2 posted and challenged."
    s = dict(chain_and_keys)
    st, devnet = s["st"], s["devnet"]
    world, node = l1_with_batches(st, devnet, s["genesis"])
    chain = world.chain
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


def l1_with_batches(st, devnet, genesis, idle_l1_blocks=0):
    "A fresh L1 on `st`'s keys with the devnet's batches posted (then `idle_l1_blocks` without any); st synced."
    world = build_world(st, OutputRootAnchor(devnet.node.output_at(0).root, 0), st.rollup.hash(),
                        max_challenge_duration=3600, max_prove_duration=PROVE_WINDOW, batcher=A["batcher"])
    chain = world.chain
    for a in A.values():
        chain.fund(a, ether(10))
    for l1_block, data in devnet.inbox.entries:
        chain.advance_to(chain.blocks[0].timestamp + L1_BLOCK_TIME * l1_block)
        chain.transact(A["batcher"], world.system.batch_inbox, "submit", data)
    chain.advance(L1_BLOCK_TIME * idle_l1_blocks)
    chain.mine()                      # the batches are in a sealed L1 block before any game records its L1 head
    node = derive_chain(st.rollup, genesis, [(t.block_number, t.data) for t in
                        chain.at(world.system.batch_inbox).batcher_transactions()], l1_head=chain.head.number)
    st.sync(node)
    return world, node


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


def test_made_up_block_hash_cannot_be_proven_and_challenger_wins(setup):
    "The true state root with another block hash: another output root for block 2, which must not become final."
    s = setup
    world, game = s["world"], s["games"]["other"]
    with pytest.raises(BlockHashMismatch, match="L2 block 2 carries block hash"):
        s["st"].public_inputs(binding_of(s, "other"))
    with pytest.raises(BlockHashMismatch):
        s["st"].prove(binding_of(s, "other"), rng=random.Random(3))
    with pytest.raises(BlockHashMismatch):                          # whatever proof is sent, the game has no inputs for it
        submit_proof(world.chain, game, A["prover"], s["proof"])
    submit_proof(world.chain, s["games"]["good"], A["prover"], s["proof"])     # the right hash is defended
    world.chain.advance(PROVE_WINDOW + 1)
    statuses = [world.chain.transact(A["resolver"], s["games"][g], "resolve") for g in ("good", "other")]
    assert statuses == [GameStatus.DEFENDER_WINS, GameStatus.CHALLENGER_WINS]


def test_made_up_block_hash_of_the_starting_output_is_refused(setup):
    s = setup
    world, node = s["world"], s["node"]
    wrong_anchor = post_output(world.chain, world.oracle, A["proposer"], node.state_at(0), keccak(b"another genesis"))
    with pytest.raises(BlockHashMismatch, match="L2 block 0"):
        s["st"].public_inputs(dataclasses.replace(binding_of(s, "good"), starting_output_root=wrong_anchor))


def test_rejects_proof_made_for_another_game(setup):
    s = setup
    world, node = s["world"], s["node"]
    # the same claim again, now on top of a game for block 1 (the factory refuses the same claim, block and parent twice)
    parent = propose(world.chain, world.config, A["proposer"], 1,
                     post_output(world.chain, world.oracle, A["proposer"], node.state_at(1), node.output_at(1).block_hash))
    again = propose(world.chain, world.config, A["proposer"], 2, s["claims"]["good"], world.chain.at(parent).index)
    world.chain.transact(A["challenger"], again, "challenge", value=world.config.challenger_bond)
    binding = world.chain.at(again).proof_binding(A["prover"])
    assert binding_digest(binding) != binding_digest(binding_of(s, "good"))
    with pytest.raises(InvalidProof):
        submit_proof(world.chain, again, A["prover"], s["proof"])
    assert world.chain.at(again).claim_data.status == ProposalStatus.CHALLENGED


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
    with pytest.raises(InvalidOutputPreimage, match="version"):      # another version: another root for the same output
        post(dataclasses.replace(preimage, version=(1).to_bytes(32, "big")), account, opening)


def test_prover_without_the_pre_state_refuses(setup):
    s = setup
    st, world, node = s["st"], s["world"], s["node"]
    block_1 = post_output(world.chain, world.oracle, A["proposer"], node.state_at(1), node.output_at(1).block_hash)
    try:
        st.sync(Devnet(DISPUTE_ROLLUP, s["genesis"]).node)       # a node that has not seen block 1 or 2
        with pytest.raises(ProverStateMismatch, match="does not have L2 block 1"):
            st.prove(dataclasses.replace(binding_of(s, "good"), starting_output_root=block_1, starting_block_number=1))
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
        other = dataclasses.replace(DISPUTE_ROLLUP, fee_recipient=b"\x11" * 20,
                                    circuit=dataclasses.replace(DISPUTE_CIRCUIT, fee_recipient=int.from_bytes(b"\x11" * 20, "big")))
        StateTransitionProofSystem(other, Genesis(), DISPUTE_CIRCUIT)


def test_circuit_and_rollup_must_share_tree_depths():
    with pytest.raises(StateTransitionError, match="depths"):
        StateTransitionProofSystem(RollupConfig(), Genesis(), DISPUTE_CIRCUIT)   # depths 32, circuit 8


WINDOW = 24    # L1 blocks of sequencing window (OP Mainnet: SEQUENCING_WINDOW_SIZE = 3600, 12 h)


def test_correct_claim_over_forced_empty_blocks_is_defended(chain_and_keys):
    "No batches for a sequencing window: derivation forces empty blocks, up to the game's L1 head; the claim is proven."
    genesis = chain_and_keys["genesis"]
    rollup = dataclasses.replace(DISPUTE_ROLLUP, seq_window_size=WINDOW)    # a short window: fewer L1 blocks to mine
    st = StateTransitionProofSystem(rollup, genesis)                       # the same circuit, so the same keys
    assert st.vk is chain_and_keys["st"].vk
    world, node = l1_with_batches(st, two_blocks(rollup, genesis), genesis, idle_l1_blocks=WINDOW)
    chain = world.chain
    inbox = [(t.block_number, t.data) for t in chain.at(world.system.batch_inbox).batcher_transactions()]
    assert derive_chain(rollup, genesis, inbox).head.number == 2      # what the inbox alone gives
    n = node.head.number
    assert n > 2 and all(not node.blocks[k].transactions for k in range(3, n + 1))   # forced empty blocks
    post_output(chain, world.oracle, A["proposer"], node.state_at(0), node.output_at(0).block_hash)
    claim = post_output(chain, world.oracle, A["proposer"], node.state_at(n), node.output_at(n).block_hash)
    game = propose(chain, world.config, A["proposer"], n, claim)
    chain.transact(A["challenger"], game, "challenge", value=world.config.challenger_bond)
    proof = st.prove(chain.at(game).proof_binding(A["prover"]), rng=random.Random(4))
    assert submit_proof(chain, game, A["prover"], proof) == ProposalStatus.CHALLENGED_AND_VALID_PROOF_PROVIDED
    chain.transact(A["resolver"], game, "resolve")
    assert chain.at(game).status == GameStatus.DEFENDER_WINS


SMALL_SHAPE = dataclasses.replace(DISPUTE_CIRCUIT, max_txs=1, max_steps=4, code_size=4, calldata_words=1, account_slots=2,
                                  storage_slots=1)   # the forgery never reads the circuit: a small one keeps the setup short


def forged_defence(st, devnet, genesis, seed):
    "Propose the minted claim of block 2, challenge it, 'prove' it with a forgery from `seed`'s toxic waste; resolve."
    world, node = l1_with_batches(st, devnet, genesis)
    chain = world.chain
    minted = node.state_at(2)
    vault = minted.account(SEQUENCER_FEE_VAULT)
    set_account(minted, SEQUENCER_FEE_VAULT, dataclasses.replace(vault, balance=vault.balance + ether(1000)))
    post_output(chain, world.oracle, A["proposer"], node.state_at(0), node.output_at(0).block_hash)
    game = propose(chain, world.config, A["proposer"], 2,
                   post_output(chain, world.oracle, A["proposer"], minted, node.output_at(2).block_hash))
    chain.transact(A["challenger"], game, "challenge", value=world.config.challenger_bond)
    forged = forge_proof(st.vk, insecure_toxic_waste(seed), st.public_inputs(chain.at(game).proof_binding(A["mallory"])))
    try:
        submit_proof(chain, game, A["mallory"], forged)
    except InvalidProof:
        pass
    chain.advance(PROVE_WINDOW + 1)
    return chain.transact(A["resolver"], game, "resolve")


def test_insecure_seeded_keys_let_a_forgery_win(chain_and_keys):
    "The seed is public, so is the toxic waste: a proof of a wrong claim without any witness verifies."
    s = chain_and_keys
    weak = StateTransitionProofSystem(DISPUTE_ROLLUP, s["genesis"], SMALL_SHAPE, insecure_seed=77)
    assert (weak.pk, weak.vk) == insecure_seeded_circuit_keys(SMALL_SHAPE, 77)
    assert forged_defence(weak, s["devnet"], s["genesis"], 77) == GameStatus.DEFENDER_WINS


def test_fresh_keys_reject_the_same_forgery(chain_and_keys):
    s = chain_and_keys
    assert s["st"].insecure_seed is None and s["st"].vk == dispute_circuit_keys(DISPUTE_CIRCUIT)[1]
    assert forged_defence(s["st"], s["devnet"], s["genesis"], 77) == GameStatus.CHALLENGER_WINS


def test_fresh_keys_are_made_once_per_process_and_shape():
    assert dispute_circuit_keys(DISPUTE_CIRCUIT) is dispute_circuit_keys(DISPUTE_CIRCUIT)
    assert StateTransitionProofSystem(DISPUTE_ROLLUP, Genesis()).vk is dispute_circuit_keys(DISPUTE_CIRCUIT)[1]


def test_forgery_needs_one_input_per_public_signal():
    with pytest.raises(ValueError, match="public inputs"):
        forge_proof(dispute_circuit_keys(DISPUTE_CIRCUIT)[1], insecure_toxic_waste(1), [1, 2])
