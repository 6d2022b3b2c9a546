pragma circom 2.0.0;
// Two public outputs, two public inputs, a private input and a hint computed with <-- (an inverse):
// is_zero = (x == 0), selected = is_zero ? y0 : y1 * x.
include "circomlib/circuits/comparators.circom";

template ZeroSelect() {
    signal input y0;
    signal input y1;
    signal input x;
    signal output is_zero;
    signal output selected;

    component z = IsZero();
    z.in <== x;
    is_zero <== z.out;

    signal scaled;
    scaled <== y1 * x;
    // selected = is_zero * y0 + (1 - is_zero) * scaled
    signal pick;
    pick <== is_zero * (y0 - scaled);
    selected <== pick + scaled;
}

component main {public [y0, y1]} = ZeroSelect();
