pragma circom 2.0.0;
// Knowledge of a private preimage (a, b) of a Poseidon hash with a public salt: hash = Poseidon(a, b, salt).
// Exercises circomlib's Poseidon (x^5 S-boxes, about 250 constraints for three inputs).
include "circomlib/circuits/poseidon.circom";

template PoseidonPreimage() {
    signal input a;
    signal input b;
    signal input salt;
    signal output hash;

    component h = Poseidon(3);
    h.inputs[0] <== a;
    h.inputs[1] <== b;
    h.inputs[2] <== salt;
    hash <== h.out;
}

component main {public [salt]} = PoseidonPreimage();
