"""ZKDisputeGame (chapter 11): every revert named by its reason, the bond table, and the proof binding."""
from __future__ import annotations

import dataclasses
import inspect
import random

import pytest
from eth_hash.auto import keccak

from lumoz_ref.dispute import (AlreadyChallenged, AlreadyProven, BindingProofSystem, BondDistributionMode,
                               ChallengeWindowClosed, GameNotFinalized, GameNotInProgress, GameNotOver, GamePaused,
                               InvalidParentGame, NoCreditToClaim, ParentGameNotResolved, ProofBinding, ProofTooLate,
                               UnexpectedRootClaim, ZKDisputeGame, binding_circuit, binding_digest, binding_public_inputs, build_world,
                               propose, submit_proof)
from lumoz_ref.l1 import (ZERO_ADDRESS, GameStatus, IncorrectBondAmount, InvalidDisputeGame, InvalidProof,
                          OutputRootAnchor, OutputRootProof, WithdrawalDelayNotMet, WithdrawalsPaused, actor_address, ether,
                          l1_address)
from lumoz_ref.rollup import (L2_TO_L1_MESSAGE_PASSER, Devnet, Genesis, RollupConfig, initiate_withdrawal_calldata,
                              prove_withdrawal, sign_transaction)
from lumoz_ref.rollup import address_of as l2_address_of

CHALLENGE_WINDOW, PROVE_WINDOW, DELAY = 3600, 1800, 600
INIT_BOND, CHALLENGER_BOND = ether("0.08"), ether(1)
NAMES = ("proposer", "challenger", "prover", "mallory", "guardian")
A = {n: actor_address(n) for n in NAMES}


@pytest.fixture(scope="module")
def proof_system() -> BindingProofSystem:
    return BindingProofSystem(seed=5)


@pytest.fixture
def world(proof_system):
    w = build_world(proof_system, OutputRootAnchor(keccak(b"anchor"), 0), keccak(b"rollup config"),
                    init_bond=INIT_BOND, challenger_bond=CHALLENGER_BOND, max_challenge_duration=CHALLENGE_WINDOW,
                    max_prove_duration=PROVE_WINDOW, finality_delay=DELAY, weth_delay=DELAY, proof_maturity_delay=DELAY)
    for n in NAMES:
        w.chain.fund(A[n], ether(10))
    return w


def new_game(world, block=10, parent=None, claim=None):
    parent_index = world.chain.at(parent).index if parent else 2**32 - 1
    return propose(world.chain, world.config, A["proposer"], block, claim or keccak(b"claim %d" % block), parent_index)


def proof_for(world, game, who="prover"):
    return world.proof_system.prove(world.chain.at(game).proof_binding(A[who]), rng=random.Random(1))


def send(world, who, game, method, *args, **kw):
    return world.chain.transact(A[who], game, method, *args, **kw)


# --- challenge --------------------------------------------------------------------------------------------

def test_duplicate_challenge(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    with pytest.raises(AlreadyChallenged):
        send(world, "mallory", game, "challenge", value=CHALLENGER_BOND)
    assert world.chain.at(game).claim_data.countered_by == A["challenger"]
    assert world.chain.balance_of(A["mallory"]) == ether(10)          # the reverted bond came back


def test_challenge_after_window(world):
    game = new_game(world)
    world.chain.advance(CHALLENGE_WINDOW + 1)
    with pytest.raises(ChallengeWindowClosed):
        send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)


def test_challenge_at_the_deadline_is_still_allowed(world):
    game = new_game(world)
    world.chain.advance_to(world.chain.at(game).claim_data.deadline)
    assert world.chain.timestamp == world.chain.at(game).claim_data.deadline
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)


def test_challenge_with_wrong_bond(world):
    game = new_game(world)
    with pytest.raises(IncorrectBondAmount):
        send(world, "challenger", game, "challenge", value=CHALLENGER_BOND - 1)


def test_challenge_after_proof(world):
    game = new_game(world)
    submit_proof(world.chain, game, A["prover"], proof_for(world, game))
    with pytest.raises(AlreadyProven):
        send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)


def test_challenge_after_resolution(world):
    game = new_game(world)
    world.chain.advance(CHALLENGE_WINDOW + 1)
    send(world, "mallory", game, "resolve")
    with pytest.raises(GameNotInProgress):
        send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)


# --- prove ------------------------------------------------------------------------------------------------

def test_invalid_proof_after_deadline(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    proof = proof_for(world, game)
    world.chain.advance(PROVE_WINDOW + 1)
    with pytest.raises(ProofTooLate):
        submit_proof(world.chain, game, A["prover"], proof)


def test_proof_of_another_claim_rejected(world):
    game = new_game(world)
    g = world.chain.at(game)
    other = dataclasses.replace(g.proof_binding(A["prover"]), root_claim=keccak(b"not the claim"))
    with pytest.raises(InvalidProof):
        submit_proof(world.chain, game, A["prover"], world.proof_system.prove(other))
    assert g.claim_data.prover == ZERO_ADDRESS


def test_proof_replayed_in_other_game(world):
    first = new_game(world, 10)
    proof = proof_for(world, first)
    second = new_game(world, 11, claim=world.chain.at(first).root_claim)    # same claim, another block
    with pytest.raises(InvalidProof):
        submit_proof(world.chain, second, A["prover"], proof)


def test_front_runner_cannot_steal_proof(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    proof = proof_for(world, game, "prover")
    with pytest.raises(InvalidProof):
        submit_proof(world.chain, game, A["mallory"], proof)      # copied from the mempool, sent first
    submit_proof(world.chain, game, A["prover"], proof)            # the real prover still lands it
    world.chain.advance(12)
    send(world, "mallory", game, "resolve")
    assert world.chain.at(game).normal_mode_credit.get(A["mallory"], 0) == 0
    assert world.chain.at(game).normal_mode_credit[A["prover"]] == CHALLENGER_BOND


def test_second_proof_rejected(world):
    game = new_game(world)
    submit_proof(world.chain, game, A["prover"], proof_for(world, game))
    with pytest.raises(AlreadyProven):
        submit_proof(world.chain, game, A["mallory"], proof_for(world, game, "mallory"))


def test_prove_takes_only_the_proof_from_the_caller():
    params = list(inspect.signature(ZKDisputeGame.prove).parameters)
    assert params == ["self", "msg", "proof"]


def test_binding_changes_with_every_field():
    base = ProofBinding(keccak(b"a"), keccak(b"b"), keccak(b"c"), 7, keccak(b"d"), actor_address("p"))
    x = binding_public_inputs(base)
    changed = {"l1_head": keccak(b"a'"), "starting_output_root": keccak(b"b'"), "root_claim": keccak(b"c'"),
               "l2_block_number": 8, "rollup_config_hash": keccak(b"d'"), "prover": actor_address("q")}
    for name, value in changed.items():
        assert binding_public_inputs(dataclasses.replace(base, **{name: value})) != x, name


def test_binding_circuit_constrains_every_public_input(proof_system):
    r1cs = binding_circuit()
    public_wires = set(range(1, r1cs.n_public + 1))
    used = {w for a, b, c in r1cs.constraints for row in (a, b, c) for w in row}
    assert public_wires <= used
    assert all(point is not None for point in proof_system.vk.ic)       # no IC point at infinity


# --- resolve ----------------------------------------------------------------------------------------------

def test_resolve_before_deadline(world):
    game = new_game(world)
    with pytest.raises(GameNotOver):
        send(world, "mallory", game, "resolve")


def test_resolve_before_parent(world):
    parent = new_game(world, 10)
    child = new_game(world, 20, parent)
    submit_proof(world.chain, child, A["prover"], proof_for(world, child))
    with pytest.raises(ParentGameNotResolved):
        send(world, "mallory", child, "resolve")


def test_resolve_twice(world):
    game = new_game(world)
    world.chain.advance(CHALLENGE_WINDOW + 1)
    assert send(world, "mallory", game, "resolve") == GameStatus.DEFENDER_WINS
    with pytest.raises(GameNotInProgress):
        send(world, "mallory", game, "resolve")


def test_valid_proof_in_time_challenger_loses(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    submit_proof(world.chain, game, A["prover"], proof_for(world, game))
    assert send(world, "mallory", game, "resolve") == GameStatus.DEFENDER_WINS
    g = world.chain.at(game)
    assert g.normal_mode_credit == {A["prover"]: CHALLENGER_BOND, A["proposer"]: INIT_BOND}


def test_prover_who_is_proposer_takes_both_bonds(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    submit_proof(world.chain, game, A["proposer"], proof_for(world, game, "proposer"))
    send(world, "mallory", game, "resolve")
    assert world.chain.at(game).normal_mode_credit == {A["proposer"]: INIT_BOND + CHALLENGER_BOND}


def test_no_proof_by_deadline_challenger_wins(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    world.chain.advance(PROVE_WINDOW + 1)
    assert send(world, "mallory", game, "resolve") == GameStatus.CHALLENGER_WINS
    assert world.chain.at(game).normal_mode_credit == {A["challenger"]: INIT_BOND + CHALLENGER_BOND}


def test_parent_invalidity_propagates_even_with_proof(world):
    parent = new_game(world, 10)
    child = new_game(world, 20, parent)
    send(world, "challenger", parent, "challenge", value=CHALLENGER_BOND)
    send(world, "challenger", child, "challenge", value=CHALLENGER_BOND)
    submit_proof(world.chain, child, A["prover"], proof_for(world, child))
    world.chain.advance(PROVE_WINDOW + 1)
    send(world, "mallory", parent, "resolve")
    assert send(world, "mallory", child, "resolve") == GameStatus.CHALLENGER_WINS
    assert world.chain.at(child).normal_mode_credit == {A["challenger"]: INIT_BOND + CHALLENGER_BOND}


def test_unchallenged_child_of_lost_parent_burns_its_bond(world):
    parent = new_game(world, 10)
    child = new_game(world, 20, parent)
    send(world, "challenger", parent, "challenge", value=CHALLENGER_BOND)
    world.chain.advance(PROVE_WINDOW + 1)
    send(world, "mallory", parent, "resolve")
    send(world, "mallory", child, "resolve")
    assert world.chain.at(child).normal_mode_credit == {ZERO_ADDRESS: INIT_BOND}
    world.chain.advance(DELAY + 1)
    send(world, "mallory", child, "claim_credit", ZERO_ADDRESS)
    world.chain.advance(DELAY + 1)
    burned = world.chain.burned
    send(world, "mallory", child, "claim_credit", ZERO_ADDRESS)
    assert world.chain.burned - burned == INIT_BOND


def test_child_of_lost_parent_cannot_be_created(world):
    parent = new_game(world, 10)
    send(world, "challenger", parent, "challenge", value=CHALLENGER_BOND)
    world.chain.advance(PROVE_WINDOW + 1)
    send(world, "mallory", parent, "resolve")
    with pytest.raises(InvalidParentGame):
        new_game(world, 20, parent)


def test_child_claim_not_after_parent(world):
    parent = new_game(world, 10)
    with pytest.raises(UnexpectedRootClaim):
        new_game(world, 10, parent, claim=keccak(b"same block again"))


def test_create_with_wrong_bond(world):
    with pytest.raises(IncorrectBondAmount):
        world.chain.transact(A["proposer"], world.config.factory, "create", 10, keccak(b"c"),
                             (10).to_bytes(32, "big") + (2**32 - 1).to_bytes(4, "big"), value=INIT_BOND + 1)


# --- close and claim --------------------------------------------------------------------------------------

def resolved_game(world):
    game = new_game(world)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    submit_proof(world.chain, game, A["prover"], proof_for(world, game))
    send(world, "mallory", game, "resolve")
    return game


def test_claim_credit_before_finality(world):
    game = resolved_game(world)
    with pytest.raises(GameNotFinalized):
        send(world, "prover", game, "claim_credit", A["prover"])


def test_claim_credit_while_paused(world):
    game = resolved_game(world)
    world.chain.advance(DELAY + 1)
    world.chain.transact(world.system.guardian, world.system.anchor_state_registry, "set_paused", True)
    with pytest.raises(GamePaused):
        send(world, "prover", game, "close_game")


def test_bonds_stay_frozen_while_paused_even_after_close(world):
    game = resolved_game(world)
    world.chain.advance(DELAY + 1)
    send(world, "prover", game, "claim_credit", A["prover"])          # closes the game and unlocks
    world.chain.advance(DELAY + 1)
    world.chain.transact(world.system.guardian, world.system.anchor_state_registry, "set_paused", True)
    with pytest.raises(WithdrawalsPaused):
        send(world, "prover", game, "claim_credit", A["prover"])
    world.chain.transact(world.system.guardian, world.system.anchor_state_registry, "set_paused", False)
    assert send(world, "prover", game, "claim_credit", A["prover"]) == CHALLENGER_BOND


def test_binding_digest_is_a_field_element_bound_to_every_field():
    base = ProofBinding(keccak(b"a"), keccak(b"b"), keccak(b"c"), 7, keccak(b"d"), actor_address("p"))
    digests = {binding_digest(base)} | {binding_digest(dataclasses.replace(base, **{k: v})) for k, v in
                                        {"l1_head": keccak(b"x"), "l2_block_number": 8, "prover": actor_address("q")}.items()}
    assert len(digests) == 4 and all(d < 2**253 for d in digests)


def test_claim_credit_without_credit(world):
    game = resolved_game(world)
    world.chain.advance(DELAY + 1)
    with pytest.raises(NoCreditToClaim):
        send(world, "challenger", game, "claim_credit", A["challenger"])


def test_withdraw_before_weth_delay(world):
    game = resolved_game(world)
    world.chain.advance(DELAY + 1)
    send(world, "prover", game, "claim_credit", A["prover"])
    with pytest.raises(WithdrawalDelayNotMet):
        send(world, "prover", game, "claim_credit", A["prover"])
    world.chain.advance(DELAY + 1)
    before = world.chain.balance_of(A["prover"])
    send(world, "prover", game, "claim_credit", A["prover"])
    assert world.chain.balance_of(A["prover"]) - before == CHALLENGER_BOND


@pytest.mark.parametrize("guardian_action", ["blacklist", "retire"])
def test_blacklisted_or_retired_game_refunds_bonds(world, guardian_action):
    game = resolved_game(world)
    registry = world.system.anchor_state_registry
    if guardian_action == "blacklist":
        world.chain.transact(world.system.guardian, registry, "blacklist_game", game)
    else:
        world.chain.transact(world.system.guardian, registry, "update_retirement_timestamp")
    world.chain.advance(DELAY + 1)
    assert send(world, "mallory", game, "close_game") == BondDistributionMode.REFUND
    for who, amount in (("proposer", INIT_BOND), ("challenger", CHALLENGER_BOND)):
        send(world, who, game, "claim_credit", A[who])
    world.chain.advance(DELAY + 1)
    for who, amount in (("proposer", INIT_BOND), ("challenger", CHALLENGER_BOND)):
        assert send(world, who, game, "claim_credit", A[who]) == amount
    with pytest.raises(NoCreditToClaim):
        send(world, "prover", game, "claim_credit", A["prover"])


def test_game_never_holds_eth(world):
    game = resolved_game(world)
    assert world.chain.balance_of(game) == 0
    assert world.chain.balance_of(world.system.weth) == INIT_BOND + CHALLENGER_BOND


def test_winning_game_becomes_the_anchor(world):
    game = resolved_game(world)
    world.chain.advance(DELAY + 1)
    send(world, "mallory", game, "close_game")
    anchor = world.chain.at(world.system.anchor_state_registry).anchor
    assert (anchor.root, anchor.l2_block_number) == (world.chain.at(game).root_claim, 10)


# --- the portal with the real game --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def l2_withdrawal():
    "An L2 block with one 1-ETH withdrawal to mallory's L1 address: (withdrawal, output preimage, record openings)."
    from coincurve import PrivateKey
    key = keccak(b"test_dispute: l2 user")
    user = l2_address_of(PrivateKey(key).public_key.format(compressed=False))
    devnet = Devnet(RollupConfig(), Genesis(balances={user: ether(10)}))
    devnet.step([sign_transaction(key, nonce=0, to=L2_TO_L1_MESSAGE_PASSER, value=ether(1), gas=150_000,
                                  data=initiate_withdrawal_calldata(bytes.fromhex(A["mallory"][2:]), 100_000))])
    w = devnet.node.block_trace(1).receipts[0].withdrawal
    out = devnet.node.output_at(1)
    preimage = OutputRootProof(out.version, out.state_root, out.message_passer_storage_root, out.block_hash)
    return w, preimage, prove_withdrawal(devnet.node.state_at(1), w)


def test_withdrawal_finalizes_only_after_the_game_is_won_and_final(world, l2_withdrawal):
    w, preimage, opening = l2_withdrawal
    bob = l1_address(w.target)
    world.chain.fund(world.system.portal, ether(5))
    game = new_game(world, 10, claim=preimage.root())
    world.chain.transact(A["prover"], world.system.portal, "prove_withdrawal_transaction", w, game, preimage, opening)
    finalize = lambda: world.chain.transact(A["prover"], world.system.portal, "finalize_withdrawal_transaction", w)  # noqa: E731
    world.chain.advance(DELAY + 1)
    with pytest.raises(InvalidDisputeGame, match="in progress"):
        finalize()
    world.chain.advance(CHALLENGE_WINDOW)
    send(world, "mallory", game, "resolve")
    with pytest.raises(InvalidDisputeGame, match="finality delay"):
        finalize()
    world.chain.advance(DELAY + 1)
    before = world.chain.balance_of(bob)
    finalize()
    assert world.chain.balance_of(bob) - before == ether(1)


def test_withdrawal_against_lost_game_never_finalizes(world, l2_withdrawal):
    w, preimage, opening = l2_withdrawal
    world.chain.fund(world.system.portal, ether(5))
    forged = OutputRootProof(preimage.version, keccak(b"forged"), preimage.message_passer_storage_root,
                             preimage.latest_blockhash)
    game = new_game(world, 10, claim=forged.root())
    world.chain.transact(A["prover"], world.system.portal, "prove_withdrawal_transaction", w, game, forged, opening)
    send(world, "challenger", game, "challenge", value=CHALLENGER_BOND)
    world.chain.advance(PROVE_WINDOW + 1)
    send(world, "mallory", game, "resolve")
    world.chain.advance(10 * DELAY)
    with pytest.raises(InvalidDisputeGame, match="challenger won"):
        world.chain.transact(A["prover"], world.system.portal, "finalize_withdrawal_transaction", w)
