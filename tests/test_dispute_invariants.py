"""The ZK dispute game's invariants iZKG-001 … iZKG-012 (zk-dispute-game.md, "Invariants") as properties of
random event orders: games created on random parents, challenged, proven (honestly, with a stolen proof, with
a proof replayed from another game), resolved, closed and claimed in any order, interleaved with time passing
and Guardian actions. After every step the invariants are checked against the contracts' state.

Proofs are real Groth16 proofs of the binding circuit (about 50 ms each); a program proves at most five
times, so a hundred programs take a few seconds.
"""
from __future__ import annotations

import random

import pytest
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumoz_ref.dispute import (BindingProofSystem, BondDistributionMode, DisputeError, GameNotFinalized, GamePaused,
                               ParentGameNotResolved, ProposalStatus, build_world, propose, submit_proof)
from lumoz_ref.l1 import (NO_PARENT, ZERO_ADDRESS, GameStatus, IncorrectBondAmount, InvalidProof, OutputRootAnchor,
                          Revert, Unauthorized, actor_address, ether)

CHALLENGE_WINDOW, PROVE_WINDOW, DELAY = 600, 300, 120
INIT_BOND, CHALLENGER_BOND = ether("0.08"), ether(1)
ACTORS = tuple(actor_address(f"actor {i}") for i in range(4))
MAX_PROOFS = 5

_PROOF_SYSTEM: BindingProofSystem | None = None


def proof_system() -> BindingProofSystem:
    global _PROOF_SYSTEM
    if _PROOF_SYSTEM is None:
        _PROOF_SYSTEM = BindingProofSystem(seed=77)
    return _PROOF_SYSTEM


_create = st.tuples(st.just("create"), st.integers(0, 8), st.integers(0, 3))                 # parent pick, proposer
_challenge = st.tuples(st.just("challenge"), st.integers(0, 8), st.integers(0, 3), st.sampled_from([True, True, True, False]))   # game, actor, right bond
_prove = st.tuples(st.just("prove"), st.integers(0, 8), st.integers(0, 3), st.sampled_from(["own", "stolen", "replayed"]))
_resolve = st.tuples(st.just("resolve"), st.integers(0, 8), st.integers(0, 3))
_close = st.tuples(st.just("close"), st.integers(0, 8))
_claim = st.tuples(st.just("claim"), st.integers(0, 8), st.integers(0, 4))                      # recipient 4 = address(0)
_guardian = st.tuples(st.just("guardian"), st.integers(0, 8), st.sampled_from(["blacklist", "retire", "pause", "unpause"]))
_settle = st.tuples(st.just("settle"), st.integers(0, 3))      # everyone tries everything, parents first
actions = st.one_of(_create, _challenge, _challenge, _prove, _prove, _resolve, _close, _claim, _guardian, _settle)
# A program is a list of rounds: a few actions in one L1 block, then time passes. Every program ends by letting
# all windows and delays expire while everyone settles, so each game is driven through its whole life.
rounds = st.lists(st.tuples(st.lists(actions, max_size=5), st.sampled_from([0, 12, 12, 150, 310, 700, 1300])),
                  min_size=1, max_size=10)
FINALE = [("advance", 1300), ("settle", 0), ("advance", 1300), ("settle", 1), ("advance", 1300), ("settle", 2)]


def program_of(rounds_: list) -> list[tuple]:
    "Flatten rounds into actions, then append the finale."
    return [a for acts, wait in rounds_ for a in [*acts, ("advance", wait)]] + FINALE


class Harness:
    "Runs one random program against a fresh world and checks every invariant after every step."

    def __init__(self):
        self.world = build_world(proof_system(), OutputRootAnchor(keccak(b"anchor"), 0), keccak(b"config"),
                                 init_bond=INIT_BOND, challenger_bond=CHALLENGER_BOND,
                                 max_challenge_duration=CHALLENGE_WINDOW, max_prove_duration=PROVE_WINDOW,
                                 finality_delay=DELAY, weth_delay=DELAY, proof_maturity_delay=DELAY)
        self.chain = self.world.chain
        for a in ACTORS:
            self.chain.fund(a, ether(100))
        self.games: list[str] = []
        self.proofs = 0
        self.seen_status: dict[str, tuple[int, int]] = {}      # game -> (proposal status, game status) last seen
        self.challenger: dict[str, str] = {}                    # game -> first challenger seen
        self.proved_in_time: set[str] = set()
        self.improper_before_close: set[str] = set()
        self.paid: dict[str, int] = {}

    def game(self, pick: int):
        return self.chain.at(self.games[pick % len(self.games)]) if self.games else None

    # --- actions -------------------------------------------------------------------------------------------
    def do(self, action: tuple) -> None:
        kind = action[0]
        if kind == "advance":
            self.chain.advance(action[1]) if action[1] else self.chain.mine()
            return
        if kind == "create":
            self.create(*action[1:])
        elif self.games:
            getattr(self, kind)(*action[1:])

    def create(self, parent_pick: int, who: int) -> None:
        if len(self.games) >= 6:
            return
        parent = self.game(parent_pick) if self.games and parent_pick < 6 else None
        block = (max((self.chain.at(g).l2_block_number for g in self.games), default=0) + 1 + parent_pick)
        try:
            game = propose(self.chain, self.world.config, ACTORS[who], block, keccak(b"claim %d" % len(self.games)),
                           parent.index if parent else NO_PARENT)
        except Unauthorized:  # iZKG-004
            pytest.fail("create() refused a caller: participation must be permissionless")
        except DisputeError:
            return
        self.games.append(game)

    def challenge(self, pick: int, who: int, right_bond: bool) -> None:
        g = self.game(pick)
        try:
            self.chain.transact(ACTORS[who], g.address, "challenge", value=CHALLENGER_BOND if right_bond else CHALLENGER_BOND + 1)
        except Unauthorized:  # iZKG-004
            pytest.fail("challenge() refused a caller: participation must be permissionless")
        except IncorrectBondAmount:
            assert not right_bond
        except DisputeError:
            pass

    def prove(self, pick: int, who: int, mode: str) -> None:
        g = self.game(pick)
        if self.proofs >= MAX_PROOFS or g.status != GameStatus.IN_PROGRESS or g.claim_data.prover != ZERO_ADDRESS:
            return
        self.proofs += 1
        sender = ACTORS[who]
        if mode == "own":
            binding = g.proof_binding(sender)
        elif mode == "stolen":
            binding = g.proof_binding(ACTORS[(who + 1) % len(ACTORS)])
        else:
            other = self.game(pick + 1)
            binding = other.proof_binding(sender)
        proof = self.world.proof_system.prove(binding, rng=random.Random(self.proofs))
        in_time = g.claim_data.deadline >= self.chain.timestamp
        try:
            submit_proof(self.chain, g.address, sender, proof)
        except Unauthorized:  # iZKG-004
            pytest.fail("prove() refused a caller: participation must be permissionless")
        except InvalidProof:
            assert binding != g.proof_binding(sender), "a valid, bound proof was rejected"
            return
        except DisputeError:
            assert not in_time, "a proof submitted in time was refused"
            return
        assert binding == g.proof_binding(sender), "a proof bound to another game or prover was accepted"
        assert in_time
        self.proved_in_time.add(g.address)

    def resolve(self, pick: int, who: int) -> None:
        g = self.game(pick)
        parent = g._parent()
        parent_status = GameStatus.DEFENDER_WINS if parent is None else parent.status
        try:
            status = self.chain.transact(ACTORS[who], g.address, "resolve")
        except Unauthorized:  # iZKG-004
            pytest.fail("resolve() refused a caller: participation must be permissionless")
        except ParentGameNotResolved:
            assert parent_status == GameStatus.IN_PROGRESS
            return
        except DisputeError:
            return
        # iZKG-009: a child never resolves while its parent is in progress
        assert parent_status != GameStatus.IN_PROGRESS, "iZKG-009: resolved before its parent"
        if parent_status == GameStatus.CHALLENGER_WINS:
            assert status == GameStatus.CHALLENGER_WINS, "iZKG-005: a lost parent must take its child down"
        elif g.address in self.proved_in_time:
            assert status == GameStatus.DEFENDER_WINS, "iZKG-001: a valid proof in time must win"
        elif g.claim_data.countered_by != ZERO_ADDRESS:
            assert status == GameStatus.CHALLENGER_WINS, "iZKG-002: challenged without a proof must lose"
        else:
            assert status == GameStatus.DEFENDER_WINS

    def settle(self, who: int) -> None:
        for i in range(len(self.games)):
            self.resolve(i, who)
        for i in range(len(self.games)):
            self.close(i)
            g = self.game(i)
            for recipient in set(g.normal_mode_credit) | set(g.refund_mode_credit):
                self.claim(i, 4 if recipient == ZERO_ADDRESS else ACTORS.index(recipient))

    def close(self, pick: int) -> None:
        g = self.game(pick)
        registry = self.chain.at(self.world.system.anchor_state_registry)
        undecided = g.bond_distribution_mode == BondDistributionMode.UNDECIDED
        paused = registry.paused
        improper = registry.is_game_blacklisted(g.address) or registry.is_game_retired(g.address)
        try:
            mode = self.chain.transact(ACTORS[0], g.address, "close_game")
        except GamePaused:
            assert paused
            return
        except GameNotFinalized:
            assert not registry.is_game_finalized(g.address)
            return
        except DisputeError:
            return
        if undecided:
            assert not paused, "iZKG-006: closeGame succeeded while paused"
            assert g.resolved_at and self.chain.timestamp - g.resolved_at > DELAY, "iZKG-007: closed before final"
            if improper:
                assert mode == BondDistributionMode.REFUND, "iZKG-008: blacklisted/retired game must refund"

    def claim(self, pick: int, recipient: int) -> None:
        g = self.game(pick)
        who = ZERO_ADDRESS if recipient == 4 else ACTORS[recipient]
        try:
            paid = self.chain.transact(ACTORS[0], g.address, "claim_credit", who)
        except Revert:
            return
        self.paid[g.address] = self.paid.get(g.address, 0) + paid

    def guardian(self, pick: int, what: str) -> None:
        system, g = self.world.system, self.game(pick)
        registry = system.anchor_state_registry
        if what == "blacklist":
            self.chain.transact(system.guardian, registry, "blacklist_game", g.address)
        elif what == "retire":
            self.chain.transact(system.guardian, registry, "update_retirement_timestamp")
        else:
            self.chain.transact(system.guardian, registry, "set_paused", what == "pause")

    # --- invariants after every step ----------------------------------------------------------------------
    def check(self) -> None:
        chain, system = self.chain, self.world.system
        weth = chain.at(system.weth)
        outstanding = 0
        for address in self.games:
            g = chain.at(address)
            # iZKG-003: bonds live in DelayedWETH, never as raw ETH in the game
            assert chain.balance_of(address) == 0, "iZKG-003: a game holds ETH"
            # iZKG-010: at most one challenge; the first challenger is never replaced
            if g.claim_data.countered_by != ZERO_ADDRESS:
                assert self.challenger.setdefault(address, g.claim_data.countered_by) == g.claim_data.countered_by
            # iZKG-011: bonds conserved
            expected = INIT_BOND + (CHALLENGER_BOND if g.claim_data.countered_by != ZERO_ADDRESS else 0)
            assert g.total_bonds == expected, "iZKG-011: bonds taken differ from initBond (+ challengerBond)"
            if g.status != GameStatus.IN_PROGRESS:
                credited = sum(g.normal_mode_credit.values()) if g.bond_distribution_mode != BondDistributionMode.REFUND \
                    else sum(g.refund_mode_credit.values())
                assert credited + self.paid.get(address, 0) == expected, "iZKG-011: distributed + burned != bonds"
            outstanding += expected - self.paid.get(address, 0)
            # iZKG-012: statuses only move forward
            now = (int(g.claim_data.status), int(g.status))
            before = self.seen_status.get(address, (0, 0))
            assert now[0] >= before[0], "iZKG-012: proposal status went back"
            assert before[1] == 0 or now[1] == before[1], "iZKG-012: game status left its terminal state"
            assert not (g.claim_data.status == ProposalStatus.RESOLVED) or g.status != GameStatus.IN_PROGRESS
            self.seen_status[address] = now
        assert chain.balance_of(system.weth) == outstanding, "iZKG-003/011: DelayedWETH does not hold exactly the unpaid bonds"
        assert sum(weth.balance_of_weth.values()) == outstanding
        total = sum(chain.balance_of(a) for a in ACTORS) + chain.balance_of(system.weth) + chain.burned
        assert total == chain.minted, "ETH created or destroyed"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_invariants_hold_over_random_event_orders(rounds_):
    h = Harness()
    for action in program_of(rounds_):
        h.do(action)
        h.check()


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_invariants_hold_over_many_random_event_orders(rounds_):
    h = Harness()
    for action in program_of(rounds_):
        h.do(action)
        h.check()
