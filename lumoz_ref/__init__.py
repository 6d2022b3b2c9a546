"""A literate reference implementation of an OP Stack rollup secured by ZK fraud proofs (Groth16 over BN254), from the prime field up to the L1 dispute game.

Modules:

- `lumoz_ref.dispute`: The OP Stack `ZKDisputeGame` (game type 10) as a state machine on chapter 10's L1: propose, challenge, prove or time out, resolve, claim bonds, with proofs bound to the game they defend.
- `lumoz_ref.distributed_prover`: One Groth16 proof on many workers: the proving key cut into chunks that are shipped to the workers once, partial multi-scalar multiplications summed by the coordinator, the quotient's three coset NTTs run side by side; in-process, on a process pool or on `dask.distributed`, with a worker that dies mid-proof replaced.
- `lumoz_ref.economics`: Optimistic vs ZK vs hybrid rollups: cost per L2 transaction, withdrawal latency, bonds and L1 transactions per dispute, from this project's measured gas and prove times plus cited public figures; and a burden-of-proof lab that plays the same correct and faulty output through an interactive bisection, a one-round ZK dispute and a validity proof.
- `lumoz_ref.groth16`: A zk-SNARK over BN254 that speaks snarkjs: trusted setup, prover with blinding, a verifier that rejects malformed input before any pairing, and the JSON and EVM encodings the rest of the book needs.
- `lumoz_ref.l1`: Ethereum as the dispute game sees it: a 12-second clock, ETH balances, gas, an event log, and the OP Stack contracts (batch inbox, dispute-game factory, anchor-state registry, DelayedWETH, Groth16 verifier, portal) as Python classes with Solidity-shaped interfaces.
- `lumoz_ref.prover_network`: The modular compute layer: verify nodes that watch chapter 10's L1 for challenges, a staked prover market with two-step (commit, then reveal) submission, a ≥ 2/3 verifier quorum that signs what reaches the dispute game, fault injection, and miners that prove through an executor (in-process, a process pool, or `dask.distributed`).
- `lumoz_ref.rollup`: An OP Stack–shaped L2: signed transactions, blocks on a 2 s clock, a batcher that posts them to L1 as compressed channels cut into frames, a verifier that re-derives the chain from that data alone, and the output roots that the dispute game of chapter 11 argues about.
- `lumoz_ref.scenarios`: Scenario files, the L2 chain of a run, and the runner: the sequencer, the challenger, the prover network of chapter 12, the resolver and alice on one L1 clock."""

__version__ = "0.1.0"
