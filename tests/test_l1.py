"""Chapter 10's L1: conservation and atomic reverts under random transactions, the contracts' named reverts,
the message-passer tree, and the Groth16 verifier contract against the third-party snarkjs vectors."""
from __future__ import annotations

import json

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from lumoz_ref.l1 import (G_TRANSACTION, GROTH16_PAIRS, AddressInUse, BatchInbox, Contract, DelayedWETH, DisputeGame,
                          DisputeGameFactory, GameAlreadyExists, GameStatus, Groth16VerifierContract,
                          InsufficientBalance, InvalidProof, L1Chain, Msg, NoImplementation, OutputRootAnchor,
                          OutputRootProof, ProgramIdMismatch, Revert, Unauthorized, WithdrawalDelayNotMet,
                          WithdrawalNotUnlocked, WithdrawalsPaused, actor_address, calldata_gas,
                          deploy_fault_proof_system, encode_extra_data, ether, groth16_verifier_gas, gwei, payable)

PEOPLE = tuple(actor_address(f"p{i}") for i in range(3))


class Bank(Contract):
    "A test contract: deposits, and a withdraw that pays out then fails on demand (after its effects)."
    def __init__(self):
        self.deposits: dict[str, int] = {}

    @payable
    def deposit(self, msg: Msg) -> None:
        self.deposits[msg.sender] = self.deposits.get(msg.sender, 0) + msg.value

    def withdraw(self, msg: Msg, amount: int, fail_after: bool) -> None:
        self.deposits[msg.sender] = self.deposits.get(msg.sender, 0) - amount
        self.chain.send_eth(self.address, msg.sender, amount)
        if fail_after or self.deposits[msg.sender] < 0:
            raise Unauthorized("refused after the effects: the chain must undo them")


ops = st.lists(st.tuples(st.sampled_from(["deposit", "withdraw", "advance"]), st.integers(0, 2),
                         st.integers(0, 3 * 10**18), st.booleans()), max_size=25)


@settings(max_examples=60, deadline=None)
@given(ops, st.sampled_from([0, 1, gwei(2)]))
def test_random_transactions_conserve_eth_and_revert_atomically(program, gas_price):
    chain = L1Chain(gas_price=gas_price)
    for p in PEOPLE:
        chain.fund(p, ether(5))
    bank = chain.register(Bank(), "bank")
    for op, who, amount, flag in program:
        before = (dict(chain.at(bank).deposits), chain.balance_of(bank))
        try:
            if op == "deposit":
                chain.transact(PEOPLE[who], bank, "deposit", value=amount)
            elif op == "withdraw":
                chain.transact(PEOPLE[who], bank, "withdraw", amount, flag)
            else:
                chain.advance(12 * (who + 1))
        except (Unauthorized, InsufficientBalance):
            assert (chain.at(bank).deposits, chain.balance_of(bank)) == before
        assert sum(chain.balance_of(a) for a in (*PEOPLE, bank)) + chain.burned == chain.minted
        assert chain.balance_of(bank) == sum(chain.at(bank).deposits.values())
    assert all(r.gas_used >= G_TRANSACTION for r in chain.receipts)


class Relay(Contract):
    "Deposits into the bank, then tries a failing withdrawal and catches its revert."
    @payable
    def relay(self, msg: Msg, bank: str) -> int:
        self.call(bank, "deposit", value=msg.value)
        try:
            self.call(bank, "withdraw", msg.value, True)       # pays out, then reverts: must be undone
        except Unauthorized:
            pass
        return self.chain.at(bank).deposits[self.address]


def test_caught_subcall_revert_undoes_only_the_subcall():
    chain = L1Chain()
    chain.fund(PEOPLE[0], ether(1))
    bank, relay = chain.register(Bank(), "bank"), chain.register(Relay(), "relay")
    assert chain.transact(PEOPLE[0], relay, "relay", bank, value=ether("0.5")) == ether("0.5")
    assert (chain.balance_of(bank), chain.balance_of(relay)) == (ether("0.5"), 0)
    assert chain.receipts[-1].success


def test_rejects_a_second_contract_at_the_same_address():
    chain = L1Chain()
    chain.register(Bank(), "bank")
    with pytest.raises(AddressInUse):
        chain.register(Bank(), "bank")


def test_clock_is_simulated_and_deterministic():
    a, b = L1Chain(), L1Chain()
    for c in (a, b):
        c.advance(3600)
    assert (a.head.number, a.head.hash) == (b.head.number, b.head.hash) == (300, b.blocks[300].hash)
    assert a.timestamp - a.blocks[0].timestamp == 301 * 12


def test_rejects_time_travel():
    with pytest.raises(ValueError, match="forward"):
        L1Chain().advance(-1)


def test_calldata_gas_follows_eip2028():
    assert calldata_gas(b"\x00\x01\x00\xff") == 4 + 16 + 4 + 16


def test_inbox_keeps_only_the_batcher_for_derivation():
    chain = L1Chain()
    inbox = chain.register(BatchInbox(PEOPLE[0]), "inbox")
    chain.transact(PEOPLE[1], inbox, "submit", b"\x00spam")
    chain.transact(PEOPLE[0], inbox, "submit", b"\x00frames")
    assert [t.data for t in chain.at(inbox).batcher_transactions()] == [b"\x00frames"]


# --- DelayedWETH --------------------------------------------------------------------------------------------

@pytest.fixture
def weth_chain():
    chain = L1Chain()
    owner, game, guy = PEOPLE
    chain.fund(game, ether(3))
    weth = chain.register(DelayedWETH(owner, delay=100), "weth")
    chain.transact(game, weth, "deposit", value=ether(2))
    chain.transact(game, weth, "unlock", guy, ether(1))
    return chain, weth


def test_weth_withdraw_before_delay(weth_chain):
    chain, weth = weth_chain
    with pytest.raises(WithdrawalDelayNotMet):
        chain.transact(PEOPLE[1], weth, "withdraw", PEOPLE[2], ether(1))


def test_weth_withdraw_more_than_unlocked(weth_chain):
    chain, weth = weth_chain
    chain.advance(101)
    with pytest.raises(WithdrawalNotUnlocked):
        chain.transact(PEOPLE[1], weth, "withdraw", PEOPLE[2], ether(1) + 1)


def test_weth_withdraw_while_paused(weth_chain):
    chain, weth = weth_chain
    chain.advance(101)
    chain.transact(PEOPLE[0], weth, "set_withdrawals_paused", True)
    with pytest.raises(WithdrawalsPaused):
        chain.transact(PEOPLE[1], weth, "withdraw", PEOPLE[2], ether(1))


def test_weth_only_owner_pauses(weth_chain):
    chain, weth = weth_chain
    with pytest.raises(Unauthorized):
        chain.transact(PEOPLE[1], weth, "set_withdrawals_paused", True)


def test_weth_pays_the_caller_after_the_delay(weth_chain):
    chain, weth = weth_chain
    chain.advance(101)
    before = chain.balance_of(PEOPLE[1])
    chain.transact(PEOPLE[1], weth, "withdraw", PEOPLE[2], ether(1))
    assert chain.balance_of(PEOPLE[1]) - before == ether(1)


# --- factory and registry -----------------------------------------------------------------------------------

class PlainGame(DisputeGame):
    def initialize(self, msg: Msg) -> None:
        self.created_at, self.was_respected_game_type_when_created = self.chain.timestamp, True

    def fail(self, msg: Msg) -> None:
        raise Unauthorized("no")


@pytest.fixture
def system():
    chain = L1Chain()
    sys_ = deploy_fault_proof_system(chain, OutputRootAnchor(bytes(32), 0), 7, finality_delay=60)
    chain.transact(sys_.owner, sys_.factory, "set_implementation", 7, PlainGame)
    chain.transact(sys_.owner, sys_.factory, "set_init_bond", 7, ether(1))
    chain.fund(PEOPLE[0], ether(10))
    return chain, sys_


def test_factory_refuses_duplicate_uuid(system):
    chain, s = system
    chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    with pytest.raises(GameAlreadyExists):
        chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    assert chain.at(s.factory).game_count() == 1


def test_factory_refuses_unknown_game_type(system):
    chain, s = system
    with pytest.raises(NoImplementation):
        chain.transact(PEOPLE[0], s.factory, "create", 8, keccak(b"c"), encode_extra_data(5), value=ether(1))


def test_factory_records_l1_head_of_previous_block(system):
    chain, s = system
    chain.mine()
    game = chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    assert chain.at(game).l1_head == chain.head.hash


def test_only_guardian_blacklists(system):
    chain, s = system
    game = chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    with pytest.raises(Unauthorized):
        chain.transact(PEOPLE[0], s.anchor_state_registry, "blacklist_game", game)


def test_registry_needs_the_air_gap_before_a_claim_is_valid(system):
    chain, s = system
    game = chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    g = chain.at(game)
    g.status, g.resolved_at = GameStatus.DEFENDER_WINS, chain.timestamp
    registry = chain.at(s.anchor_state_registry)
    assert not registry.is_game_claim_valid(game)
    chain.advance(61)
    assert registry.is_game_claim_valid(game)
    chain.transact(s.guardian, s.anchor_state_registry, "blacklist_game", game)
    assert not registry.is_game_claim_valid(game)


# --- the Groth16 verifier contract against the snarkjs vectors ----------------------------------------------

CIRCUITS = ["multiplier", "range_check", "square_chain", "multi_public"]


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_verifier_contract_matches_snarkjs_vectors(vectors, circuit):
    from lumoz_ref.groth16 import load_verifying_key, proof_from_json, public_from_json
    folder = vectors / "groth16" / circuit
    vk = load_verifying_key(folder / "verification_key.json")
    chain = L1Chain()
    verifier = chain.register(Groth16VerifierContract(vk), "verifier")
    program = chain.at(verifier).program_id
    for variant in json.loads((folder / "variants.json").read_text())["variants"]:
        try:
            proof, public = proof_from_json(variant["proof"]), public_from_json(variant["public"])
        except ValueError:
            assert not variant["expected_valid"], variant["name"]        # rejected while parsing: fine
            continue
        if variant["expected_valid"]:
            chain.transact(PEOPLE[0], verifier, "verify", program, public, proof)
            assert chain.receipts[-1].gas_used >= G_TRANSACTION + groth16_verifier_gas(len(public))
        else:
            with pytest.raises(InvalidProof):
                chain.transact(PEOPLE[0], verifier, "verify", program, public, proof)


def test_verifier_contract_refuses_another_program(vectors):
    from lumoz_ref.groth16 import load_proof, load_public, load_verifying_key
    folder = vectors / "groth16" / "multiplier"
    chain = L1Chain()
    verifier = chain.register(Groth16VerifierContract(load_verifying_key(folder / "verification_key.json")), "v")
    with pytest.raises(ProgramIdMismatch):
        chain.transact(PEOPLE[0], verifier, "verify", keccak(b"x"), load_public(folder / "public.json"),
                       load_proof(folder / "proof.json"))


def test_verifier_gas_is_the_eip1108_price_of_its_precompile_calls(vectors):
    from lumoz_ref.curve import EC_ADD_GAS, EC_MUL_GAS, ec_pairing_gas
    from lumoz_ref.groth16 import encode_eip197_calldata, load_proof, load_public, load_verifying_key
    folder = vectors / "groth16" / "multi_public"
    vk, proof, public = (load_verifying_key(folder / "verification_key.json"), load_proof(folder / "proof.json"),
                         load_public(folder / "public.json"))
    pairing_input = encode_eip197_calldata(vk, public, proof)
    assert len(pairing_input) == 192 * GROTH16_PAIRS
    assert groth16_verifier_gas(len(public)) == ec_pairing_gas(pairing_input) + len(public) * (EC_MUL_GAS + EC_ADD_GAS)


# --- the portal: invalid withdrawals are never finalized (optimism-portal.md, iOP-001) ---------------------

class SettableGame(DisputeGame):
    "A game whose outcome the test sets: the portal must judge it only through the registry."
    def initialize(self, msg: Msg) -> None:
        self.created_at = self.chain.timestamp
        self.was_respected_game_type_when_created = self.chain.at(self.registry).respected_game_type == self.game_type

    def set_status(self, msg: Msg, status: int) -> None:
        if self.status == GameStatus.IN_PROGRESS:
            self.status, self.resolved_at = GameStatus(status), self.chain.timestamp


@pytest.fixture(scope="module")
def l2_withdrawal():
    from coincurve import PrivateKey
    from lumoz_ref.rollup import (L2_TO_L1_MESSAGE_PASSER, Devnet, Genesis, RollupConfig, initiate_withdrawal_calldata,
                                  prove_withdrawal, sign_transaction)
    from lumoz_ref.rollup import address_of as l2_address_of
    key = keccak(b"test_l1: user")
    user = l2_address_of(PrivateKey(key).public_key.format(compressed=False))
    devnet = Devnet(RollupConfig(), Genesis(balances={user: ether(10)}))
    devnet.step([sign_transaction(key, nonce=0, to=L2_TO_L1_MESSAGE_PASSER, value=ether(1), gas=150_000,
                                  data=initiate_withdrawal_calldata(bytes.fromhex(PEOPLE[2][2:]), 100_000))])
    w, out = devnet.node.block_trace(1).receipts[0].withdrawal, devnet.node.output_at(1)
    preimage = OutputRootProof(out.version, out.state_root, out.message_passer_storage_root, out.block_hash)
    return w, preimage, prove_withdrawal(devnet.node.state_at(1), w)


portal_ops = st.lists(st.one_of(st.tuples(st.just("advance"), st.sampled_from([12, 60, 100, 300])),
                                st.tuples(st.just("status"), st.sampled_from([1, 2])),
                                st.tuples(st.just("guardian"), st.sampled_from(["blacklist", "retire", "pause", "unpause",
                                                                                 "respect-other"])),
                                st.tuples(st.just("finalize"), st.just(0))), max_size=20)


@settings(max_examples=80, deadline=None)
@given(portal_ops)
def test_portal_pays_only_through_valid_games(l2_withdrawal, program):
    w, preimage, opening = l2_withdrawal
    chain = L1Chain()
    s = deploy_fault_proof_system(chain, OutputRootAnchor(bytes(32), 0), 7, finality_delay=100, proof_maturity_delay=150)
    registry = s.anchor_state_registry

    def make():
        game = SettableGame()
        game.registry = registry
        return game
    chain.transact(s.owner, s.factory, "set_implementation", 7, make)
    chain.fund(s.portal, ether(5))
    game = chain.transact(PEOPLE[0], s.factory, "create", 7, preimage.root(), encode_extra_data(1))
    chain.transact(PEOPLE[1], s.portal, "prove_withdrawal_transaction", w, game, preimage, opening)
    proven_at, paid = chain.timestamp, 0
    for op, arg in program:
        if op == "advance":
            chain.advance(arg)
        elif op == "status":
            chain.transact(PEOPLE[0], game, "set_status", arg)
        elif op == "guardian":
            method, args = {"blacklist": ("blacklist_game", (game,)), "retire": ("update_retirement_timestamp", ()),
                            "pause": ("set_paused", (True,)), "unpause": ("set_paused", (False,)),
                            "respect-other": ("set_respected_game_type", (8,))}[arg]
            chain.transact(s.guardian, registry, method, *args)
        else:
            reg, g = chain.at(registry), chain.at(game)
            valid = (g.status == GameStatus.DEFENDER_WINS and chain.timestamp - g.resolved_at > 100
                     and not reg.paused and game not in reg.blacklisted and g.created_at > reg.retirement_timestamp
                     and chain.timestamp - proven_at > 150 and paid == 0)
            try:
                chain.transact(PEOPLE[1], s.portal, "finalize_withdrawal_transaction", w)
            except Revert:
                assert not valid, "a valid withdrawal was refused"
                continue
            assert valid, "iOP-001: a withdrawal was paid through a game without a valid claim"
            paid += 1
    assert chain.balance_of(PEOPLE[2]) == paid * ether(1)


def test_respected_game_type_is_fixed_at_creation(system):
    chain, s = system
    game = chain.transact(PEOPLE[0], s.factory, "create", 7, keccak(b"c"), encode_extra_data(5), value=ether(1))
    chain.transact(s.guardian, s.anchor_state_registry, "set_respected_game_type", 8)
    assert chain.at(s.anchor_state_registry).is_game_respected(game)       # PlainGame says respected at creation
    with pytest.raises(Unauthorized):
        chain.transact(PEOPLE[0], s.anchor_state_registry, "set_respected_game_type", 7)
