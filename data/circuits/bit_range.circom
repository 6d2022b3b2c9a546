pragma circom 2.0.0;
// A private value x that fits in 16 bits and lies below a public bound; the output is bound - x.
// Exercises circomlib's Num2Bits (booleanity + a linear recomposition) and LessThan.
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

template BitRange(n) {
    signal input x;
    signal input bound;
    signal output slack;

    component bits = Num2Bits(n);
    bits.in <== x;

    component lt = LessThan(n);
    lt.in[0] <== x;
    lt.in[1] <== bound;
    lt.out === 1;

    slack <== bound - x;
}

component main {public [bound]} = BitRange(16);
