"""Chapter 10's call discipline, Solidity's: only external methods (those taking `msg`) are entry points, only
`@payable` ones take ETH, and arguments and values that do not decode are refused by name. Then iZKG-003 (games
hold no raw ETH: bonds live in DelayedWETH) as a property of random calls, with random value, to every contract
of chapter 11's world (on the binding circuit's proof system, so that a proof costs milliseconds)."""
from __future__ import annotations

import inspect
import random
import typing

import pytest
from eth_hash.auto import keccak
from fastcore.basics import patch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumoz_ref.dispute import BindingProofSystem, ProofBinding, build_world, propose, submit_proof
from lumoz_ref.groth16 import Proof
from lumoz_ref.l1 import (NO_PARENT, ZERO_ADDRESS, AnchorStateRegistry, BadArguments, BatchInbox, Contract, DelayedWETH,
                          DisputeGame, DisputeGameFactory, GameStatus, Groth16VerifierContract, InvalidValue, L1Chain,
                          L1Error, Msg, NotExternal, NotPayable, OptimismPortal, OutputRootAnchor, UnknownMethod,
                          actor_address, encode_extra_data, entry_points, ether, gwei, is_payable, is_uint256,
                          method_kind, payable)

CHALLENGE_WINDOW, PROVE_WINDOW, DELAY = 600, 300, 120
INIT_BOND, CHALLENGER_BOND = ether("0.08"), ether(1)
ACTORS = tuple(actor_address(f"payable actor {i}") for i in range(3))
ZK_GAME_TYPE = 10


@pytest.fixture(scope="module")
def binding_system() -> BindingProofSystem:
    return BindingProofSystem(seed=11)


@pytest.fixture(scope="module")
def foreign_proof(binding_system) -> Proof:
    "A real proof, but of a binding no game in these tests has."
    binding = ProofBinding(keccak(b"head"), keccak(b"pre"), keccak(b"claim"), 3, keccak(b"config"), ACTORS[0])
    return binding_system.prove(binding, rng=random.Random(1))


def new_world(binding_system, gas_price: int = gwei(1)):
    world = build_world(binding_system, OutputRootAnchor(keccak(b"anchor"), 0), keccak(b"config"),
                        init_bond=INIT_BOND, challenger_bond=CHALLENGER_BOND, max_challenge_duration=CHALLENGE_WINDOW,
                        max_prove_duration=PROVE_WINDOW, finality_delay=DELAY, weth_delay=DELAY,
                        proof_maturity_delay=DELAY, gas_price=gas_price)
    for a in (*ACTORS, world.system.guardian):
        world.chain.fund(a, ether(100))
    return world


def contracts_of(world, games=()) -> dict[str, str]:
    s = world.system
    return {"inbox": s.batch_inbox, "factory": s.factory, "registry": s.anchor_state_registry, "weth": s.weth,
            "portal": s.portal, "verifier": world.config.verifier, **{f"game {i}": g for i, g in enumerate(games)}}


def send(chain: L1Chain, sender: str, to: str, method, args: tuple = (), value=0):
    "Send a transaction; on failure check that nothing but the gas left the sender, and return the exception."
    before, receipts = chain.balance_of(sender), len(chain.receipts)
    try:
        return chain.transact(sender, to, method, *args, value=value)
    except L1Error as exc:
        if len(chain.receipts) == receipts:            # refused before it became a transaction
            assert isinstance(exc, (InvalidValue, UnknownMethod)) and chain.balance_of(sender) == before
            return exc
        receipt = chain.receipts[-1]
        assert len(chain.receipts) == receipts + 1 and not receipt.success
        assert receipt.error.startswith(type(exc).__name__ + ":")
        assert before - chain.balance_of(sender) == receipt.gas_used * chain.gas_price, "the value did not come back"
        return exc


# --- the ABI: which methods are entry points, which take ETH ------------------------------------------------

def test_abi_of_the_chapter_10_contracts():
    assert {c.__name__: entry_points(c) for c in (BatchInbox, DisputeGameFactory, AnchorStateRegistry, DelayedWETH,
                                                  DisputeGame, Groth16VerifierContract, OptimismPortal)} == {
        "BatchInbox": {"submit": False},
        "DisputeGameFactory": {"create": True, "set_implementation": False, "set_init_bond": False},
        "AnchorStateRegistry": {"blacklist_game": False, "set_anchor_state": False, "set_paused": False,
                                "set_respected_game_type": False, "update_retirement_timestamp": False},
        "DelayedWETH": {"deposit": True, "set_withdrawals_paused": False, "unlock": False, "withdraw": False},
        "DisputeGame": {"initialize": True},
        "Groth16VerifierContract": {"verify": False},
        "OptimismPortal": {"deposit_transaction": True, "finalize_withdrawal_transaction": False,
                           "prove_withdrawal_transaction": False}}


def test_value_to_a_non_payable_method_reverts_and_costs_only_gas(binding_system):
    world = new_world(binding_system)
    chain = world.chain
    game = propose(chain, world.config, ACTORS[0], 5, keccak(b"claim"))
    refused = 0
    for name, address in contracts_of(world, [game]).items():
        cls = type(chain.at(address))
        for method, takes_value in entry_points(cls).items():
            if takes_value:
                continue
            balances = {a: chain.balance_of(a) for a in contracts_of(world, [game]).values()}
            exc = send(chain, ACTORS[1], address, method, (), value=gwei(3))   # `send` checks: only the gas is gone
            assert isinstance(exc, NotPayable), (name, method, exc)
            assert f"{cls.__name__}.{method} is not payable" in str(exc)
            assert {a: chain.balance_of(a) for a in balances} == balances
            refused += 1
    assert refused >= 14 + 4   # the 14 non-payable entry points of chapter 10, and the game's own


def test_a_caught_non_payable_sub_call_is_undone_with_its_value(binding_system):
    class Forwarder(Contract):
        @payable
        def forward(self, msg: Msg, weth: str, guy: str) -> bool:
            try:
                self.call(weth, "unlock", guy, 1, value=msg.value)    # unlock is not payable
            except NotPayable:
                return False
            return True

    world = new_world(binding_system)
    chain, weth = world.chain, world.system.weth
    forwarder = chain.register(Forwarder(), "forwarder")
    assert chain.transact(ACTORS[0], forwarder, "forward", weth, ACTORS[1], value=gwei(9)) is False
    assert (chain.balance_of(forwarder), chain.balance_of(weth)) == (gwei(9), 0)
    assert chain.at(weth).withdrawals == {}
    assert chain.receipts[-1].success


def test_internal_helpers_and_views_are_not_entry_points(binding_system):
    world = new_world(binding_system)
    chain = world.chain
    game = propose(chain, world.config, ACTORS[0], 5, keccak(b"claim"))
    checked = 0
    for address in contracts_of(world, [game]).values():
        cls = type(chain.at(address))
        names = {n for n in dir(cls) if not n.startswith("__")} | {"no_such_method"}
        for method in sorted(names - set(entry_points(cls))):
            exc = send(chain, ACTORS[1], address, method)
            expected = UnknownMethod if method_kind(cls, method) == "unknown" else NotExternal
            assert type(exc) is expected, (cls.__name__, method, exc)
            checked += 1
    assert checked > 60
    for framework in ("emit", "call", "balance"):                 # never entry points, whatever the contract
        assert isinstance(send(chain, ACTORS[1], world.system.weth, framework, ("Deposit",)), NotExternal)
    events = len(chain.events)
    assert isinstance(send(chain, ACTORS[1], game, "_credit", (ACTORS[1], ether(1))), NotExternal)
    assert chain.at(game).normal_mode_credit == {} and len(chain.events) == events


def test_views_are_read_with_call_and_leave_no_trace(binding_system):
    world = new_world(binding_system)
    chain, s = world.chain, world.system
    game = propose(chain, world.config, ACTORS[0], 5, keccak(b"claim"))
    receipts, events, balances = len(chain.receipts), len(chain.events), chain.balance_of(ACTORS[0])
    assert chain.call(s.factory, "game_count") == 1
    assert chain.call(game, "l2_block_number") == 5                               # a property
    assert chain.call(s.anchor_state_registry, "is_game_proper", game) is True
    assert chain.call(game, "credit", ACTORS[0]) == 0
    assert isinstance(send(chain, ACTORS[0], s.factory, "game_count"), NotExternal)
    receipts, balance = receipts + 1, balances - chain.receipts[-1].gas_used * chain.gas_price
    # eth_call also simulates an external method: the effects and the value are undone
    assert chain.call(s.weth, "deposit", sender=ACTORS[0], value=ether(2)) is None
    assert (chain.balance_of(s.weth), chain.at(s.weth).balance_of_weth.get(ACTORS[0], 0)) == (INIT_BOND, 0)
    with pytest.raises(NotPayable):
        chain.call(s.weth, "unlock", ACTORS[1], 1, sender=ACTORS[0], value=1)
    with pytest.raises(NotExternal):
        chain.call(game, "_registry")
    with pytest.raises(BadArguments):
        chain.call(s.anchor_state_registry, "is_game_proper")
    assert (len(chain.receipts), len(chain.events)) == (receipts, events)
    assert chain.balance_of(ACTORS[0]) == balance                                  # only the refused transaction's gas


def test_a_view_that_writes_is_undone_by_call():
    class Sloppy(Contract):
        def __init__(self):
            self.reads = 0

        def peek(self) -> int:
            self.reads += 1
            self.emit("Peeked")
            return self.reads

    chain = L1Chain()
    sloppy = chain.register(Sloppy(), "sloppy")
    assert [chain.call(sloppy, "peek") for _ in range(3)] == [1, 1, 1]
    assert chain.at(sloppy).reads == 0 and chain.events == [] and chain.receipts == []


# --- bad input -----------------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("weth", "withdraw", lambda w, p: (ACTORS[1], -1), "must be a uint256"),
    ("weth", "withdraw", lambda w, p: (ACTORS[1],), "missing a required argument"),
    ("weth", "withdraw", lambda w, p: (ACTORS[1], 1, 2), "too many positional arguments"),
    ("weth", "unlock", lambda w, p: (ACTORS[1], True), "must be a uint256, got bool"),
    ("weth", "unlock", lambda w, p: (ACTORS[1], 2**256), "must be a uint256"),
    ("weth", "unlock", lambda w, p: (ACTORS[1], 1.0), "must be a uint256, got float"),
    ("factory", "create", lambda w, p: (ZK_GAME_TYPE, "0x" + "11" * 32, encode_extra_data(5)), "`root_claim` must be bytes"),
    ("registry", "set_paused", lambda w, p: (1,), "`paused` must be bool"),
    ("registry", "blacklist_game", lambda w, p: (b"\x01" * 20,), "`game` must be str"),
    ("verifier", "verify", lambda w, p: (w.config.absolute_prestate, [1, "2"], p), "`public_inputs` must be list"),
    ("verifier", "verify", lambda w, p: (w.config.absolute_prestate, (1, 2), p), "`public_inputs` must be list"),
    ("verifier", "verify", lambda w, p: (w.config.absolute_prestate, [1, 2], p.a), "`proof` must be Proof"),
    ("portal", "finalize_withdrawal_transaction", lambda w, p: (b"a withdrawal",), "`w` must be Withdrawal"),
    ("inbox", "submit", lambda w, p: ("frames as text",), "`data` must be bytes"),
]


@pytest.mark.parametrize("contract, method, make_args, message", BAD_ARGUMENTS,
                         ids=[f"{c}.{m}-{i}" for i, (c, m, _, _) in enumerate(BAD_ARGUMENTS)])
def test_arguments_that_do_not_decode_are_refused_by_name(binding_system, foreign_proof, contract, method, make_args,
                                                          message):
    world = new_world(binding_system)
    chain = world.chain
    state = [(a, chain.balance_of(a)) for a in contracts_of(world).values()]
    exc = send(chain, ACTORS[0], contracts_of(world)[contract], method, make_args(world, foreign_proof))
    assert isinstance(exc, BadArguments) and message in str(exc), exc
    assert [(a, chain.balance_of(a)) for a, _ in state] == state


@pytest.mark.parametrize("value", [-1, 2**256, 1.5, True, "1", None])
def test_a_value_that_is_not_a_uint256_is_no_transaction(binding_system, value):
    world = new_world(binding_system)
    chain = world.chain
    exc = send(chain, ACTORS[0], world.system.weth, "deposit", value=value)
    assert isinstance(exc, InvalidValue) and "uint256" in str(exc)
    with pytest.raises(InvalidValue):
        chain.call(world.system.weth, "deposit", sender=ACTORS[0], value=value)


def test_method_names_that_are_not_strings_are_unknown(binding_system):
    world = new_world(binding_system)
    receipts = len(world.chain.receipts)
    for method in (42, None, b"deposit"):
        with pytest.raises(UnknownMethod, match="named by a string"):
            world.chain.transact(ACTORS[0], world.system.weth, method)
    assert len(world.chain.receipts) == receipts
    assert isinstance(send(world.chain, ACTORS[0], world.system.weth, "de posit"), UnknownMethod)


def test_a_contract_sub_call_with_an_invalid_value_reverts(binding_system):
    class Spender(Contract):
        def spend(self, msg: Msg, weth: str) -> None:
            self.call(weth, "deposit", value=-5)

    world = new_world(binding_system)
    spender = world.chain.register(Spender(), "spender")
    receipts = len(world.chain.receipts)
    assert isinstance(send(world.chain, ACTORS[0], spender, "spend", (world.system.weth,)), InvalidValue)
    assert len(world.chain.receipts) == receipts + 1                     # inside a transaction: it reverts it


# --- the marker itself -----------------------------------------------------------------------------------------

def test_payable_refuses_what_cannot_be_an_entry_point():
    def _private(self, msg): ...
    def view(self, recipient): ...
    def no_context(self): ...
    for fn in (_private, view, no_context, None, property(lambda self: 0)):
        with pytest.raises(TypeError, match="@payable marks an external method"):
            payable(fn)


class Jar(Contract):
    "A contract whose payable method is added with @patch."


@patch
@payable
def fill(self: Jar, msg: Msg) -> int:
    return msg.value


def test_payable_under_patch_and_on_overrides():
    class Game(DisputeGame):
        def initialize(self, msg: Msg) -> None:           # no marker: an override of a payable method stays payable
            self.created_at = self.chain.timestamp

    assert is_payable(Jar, "fill") and is_payable(Game, "initialize") and not is_payable(Game, "l2_block_number")
    chain = L1Chain()
    chain.fund(ACTORS[0], 10)
    jar, game = chain.register(Jar(), "jar"), chain.register(Game(), "game")
    assert chain.transact(ACTORS[0], jar, "fill", value=3) == 3
    chain.transact(ACTORS[0], game, "initialize", value=2)
    assert (chain.balance_of(jar), chain.balance_of(game), chain.balance_of(ACTORS[0])) == (3, 2, 5)


# --- iZKG-003: games hold no raw ETH; bonds live in DelayedWETH --------------------------------------------------

def test_challenge_bond_is_accepted_and_lands_in_delayed_weth(binding_system):
    "The bond path end to end: needs chapter 11's `challenge` to be `@payable`."
    world = new_world(binding_system)
    chain, weth = world.chain, world.system.weth
    game = propose(chain, world.config, ACTORS[0], 5, keccak(b"wrong claim"))
    assert is_payable(type(chain.at(game)), "challenge"), "ZKDisputeGame.challenge takes the challenger bond: mark it @payable"
    chain.transact(ACTORS[1], game, "challenge", value=CHALLENGER_BOND)
    assert (chain.balance_of(game), chain.balance_of(weth)) == (0, INIT_BOND + CHALLENGER_BOND)
    chain.advance(PROVE_WINDOW + 1)
    assert chain.transact(ACTORS[2], game, "resolve") == GameStatus.CHALLENGER_WINS
    chain.advance(DELAY + 1)
    chain.transact(ACTORS[1], game, "claim_credit", ACTORS[1])
    chain.advance(DELAY + 1)
    before = chain.balance_of(ACTORS[1])
    assert chain.transact(ACTORS[1], game, "claim_credit", ACTORS[1]) == INIT_BOND + CHALLENGER_BOND
    fee = chain.receipts[-1].gas_used * chain.gas_price
    assert chain.balance_of(ACTORS[1]) - before == INIT_BOND + CHALLENGER_BOND - fee
    assert (chain.balance_of(game), chain.balance_of(weth)) == (0, 0)


class RandomCalls:
    "One world of chapter 11, random calls with random value to its contracts, and the checks after each step."

    def __init__(self, binding_system, foreign_proof, gas_price: int):
        self.world = new_world(binding_system, gas_price)
        self.chain, self.system = self.world.chain, self.world.system
        self.binding_system, self.foreign_proof = binding_system, foreign_proof
        self.games: list[str] = []
        self.proofs_left = 1
        self.byte_pool = ([keccak(b"claim %d" % i) for i in range(3)] + [b"", self.world.config.absolute_prestate]
                          + [encode_extra_data(k, p) for k in (1, 2, 6) for p in (NO_PARENT, 0, 1)])

    def sync_games(self) -> None:
        "Every game the factory created, whether by `propose` or by a random call to `create`."
        factory = self.chain.at(self.system.factory)
        self.games = [factory.game_at_index(i).proxy for i in range(factory.game_count())]

    def addresses(self) -> list[str]:
        return [*ACTORS, self.system.guardian, self.system.owner, *contracts_of(self.world, self.games).values(), ZERO_ADDRESS]

    def argument(self, hint) -> st.SearchStrategy:
        if hint is int:
            return st.sampled_from([0, 1, 2, 6, ZK_GAME_TYPE, NO_PARENT, INIT_BOND, CHALLENGER_BOND, 2**256 - 1])
        if hint is bool:
            return st.booleans()
        if hint is str:
            return st.sampled_from(self.addresses())
        if hint is bytes:
            return st.sampled_from(self.byte_pool)
        if hint is Proof:
            return st.just(self.foreign_proof)
        if typing.get_origin(hint) is list:
            return st.lists(st.integers(0, 2**64), max_size=10)
        return st.just(None)      # withdrawals, preimages, constructors: built elsewhere; here they must not decode

    def arguments(self, data, contract: Contract, method: str) -> tuple:
        fn = inspect.getattr_static(type(contract), method, None)
        if not inspect.isfunction(fn):
            return ()
        hints, params = typing.get_type_hints(fn), list(inspect.signature(fn).parameters)[1:]
        params = params[1:] if params[:1] == ["msg"] else params
        wrong = data.draw(st.integers(0, 9)) == 0           # now and then, an argument of the wrong type
        return tuple(data.draw(st.just(b"?") if wrong else self.argument(hints.get(p))) for p in params)

    def random_call(self, data) -> None:
        to = data.draw(st.sampled_from(sorted(contracts_of(self.world, self.games).values())))
        cls = type(self.chain.at(to))
        others = sorted(n for n in dir(cls) if not n.startswith("__") and n not in entry_points(cls))
        method = data.draw(st.sampled_from(sorted(entry_points(cls))) | st.sampled_from([*others, "no_such_method"]))
        value = data.draw(st.just(0) | st.sampled_from([1, INIT_BOND, CHALLENGER_BOND]) | st.integers(1, 2**256 - 1)
                          | st.sampled_from([-1, 2**256]))
        sender = data.draw(st.sampled_from([*ACTORS, self.system.guardian]))
        outcome = send(self.chain, sender, to, method, self.arguments(data, self.chain.at(to), method), value)
        kind = method_kind(cls, method)
        if not is_uint256(value):
            assert isinstance(outcome, InvalidValue)
        elif kind != "external":
            assert type(outcome) is (UnknownMethod if kind == "unknown" else NotExternal), (cls.__name__, method, outcome)
        elif value and not is_payable(cls, method):
            assert isinstance(outcome, NotPayable), (cls.__name__, method, outcome)

    def step(self, data) -> None:
        action = data.draw(st.sampled_from(["call"] * 4 + ["propose", "propose", "challenge", "challenge", "advance",
                                                             "advance", "prove"]))
        if action == "call":
            self.random_call(data)
        elif action == "challenge" and self.games:                 # the bond path, with the right bond or not
            game = self.chain.at(data.draw(st.sampled_from(self.games)))
            value = data.draw(st.sampled_from([CHALLENGER_BOND, CHALLENGER_BOND, CHALLENGER_BOND + 1, 0]))
            outcome = send(self.chain, data.draw(st.sampled_from(ACTORS)), game.address, "challenge", (), value)
            if value and not is_payable(type(game), "challenge"):
                assert isinstance(outcome, NotPayable)
        elif action == "propose":
            parent = data.draw(st.sampled_from([NO_PARENT, *range(len(self.games))]))
            block = 1 + max([self.chain.at(g).l2_block_number for g in self.games], default=0)
            try:
                propose(self.chain, self.world.config, data.draw(st.sampled_from(ACTORS)), block,
                        keccak(b"claim at %d" % block), parent)
            except L1Error:
                pass
        elif action == "advance":
            self.chain.advance(data.draw(st.sampled_from([12, 150, PROVE_WINDOW + 1, CHALLENGE_WINDOW + 1])))
        elif self.games and self.proofs_left:
            self.proofs_left -= 1
            g, prover = self.chain.at(data.draw(st.sampled_from(self.games))), data.draw(st.sampled_from(ACTORS))
            if g.status == GameStatus.IN_PROGRESS:
                proof = self.binding_system.prove(g.proof_binding(prover), rng=random.Random(len(self.games)))
                try:
                    submit_proof(self.chain, g.address, prover, proof)
                except L1Error:
                    pass

    def settle(self) -> None:
        "Let every window and delay pass while everyone resolves and claims, checking after every transaction."
        send(self.chain, self.system.guardian, self.system.anchor_state_registry, "set_paused", (False,))
        self.chain.advance(CHALLENGE_WINDOW + PROVE_WINDOW + 1)
        for _ in self.games:                                      # parents before children: until nothing is left
            for g in [g for g in self.games if self.chain.at(g).status == GameStatus.IN_PROGRESS]:
                send(self.chain, ACTORS[0], g, "resolve")
                self.check()
        for _ in range(2):                                        # first claim unlocks, the second pays
            self.chain.advance(DELAY + 1)
            for g in map(self.chain.at, self.games):
                for who in {**g.normal_mode_credit, **g.refund_mode_credit}:
                    send(self.chain, ACTORS[0], g.address, "claim_credit", (who,))
                    self.check()

    def check(self) -> None:
        self.sync_games()
        chain, weth = self.chain, self.chain.at(self.system.weth)
        assert all(chain.balance_of(g) == 0 for g in self.games), "iZKG-003: a game holds raw ETH"
        assert sum(chain.balance_of(a) for a in self.addresses()) + chain.burned == chain.minted, "ETH not conserved"
        assert chain.balance_of(self.system.weth) == sum(weth.balance_of_weth.values()), "WETH not backed 1:1"
        paid: dict[str, int] = {}
        for e in chain.events:
            if e.name == "CreditClaimed":
                paid[e.emitter] = paid.get(e.emitter, 0) + e.args["amount"]
        for g in self.games:                                       # a game's unpaid bonds are its WETH, nothing else
            assert weth.balance_of_weth.get(g, 0) == chain.at(g).total_bonds - paid.get(g, 0)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), gas_price=st.sampled_from([0, gwei(1)]))
def test_games_hold_no_raw_eth_under_random_calls_with_value(binding_system, foreign_proof, data, gas_price):
    "iZKG-003, and conservation of ETH (burned gas included), after every call of a random program."
    run = RandomCalls(binding_system, foreign_proof, gas_price)
    for _ in range(data.draw(st.integers(5, 25))):
        run.step(data)
        run.check()
    run.settle()
