//! A `Var` carries the step it was recorded in: using one after `Graph::reset` is an
//! error at the next op (and a panic naming the steps when read), even when the new step
//! has put another node in the same slot.

use mtrec::autograd::Graph;
use mtrec::tensor::Tensor;
use mtrec::Error;

#[test]
fn a_stale_handle_whose_slot_was_refilled_is_an_error() {
    let mut g = Graph::new(0);
    let stale = g.input(&Tensor::from_vec(1, 2, vec![-1.0, 2.0]).unwrap());
    g.reset();
    // The new step's first node takes slot 0, the slot `stale` names.
    let fresh = g.input(&Tensor::from_vec(1, 2, vec![3.0, -4.0]).unwrap());
    assert_eq!(stale.index(), fresh.index());
    let e = g.relu(stale).unwrap_err();
    assert!(matches!(e, Error::Handle { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("step 0") && msg.contains("step 1"), "{msg}");
    assert!(g.add(fresh, stale).is_err());
    // The fresh handle works.
    let r = g.relu(fresh).unwrap();
    assert_eq!(g.value(r), &[3.0, 0.0]);
}

#[test]
#[should_panic(expected = "stale Var")]
fn reading_through_a_stale_handle_panics_with_the_steps() {
    let mut g = Graph::new(0);
    let stale = g.input(&Tensor::zeros(1, 1));
    g.reset();
    let _ = g.input(&Tensor::zeros(1, 1));
    let _ = g.value(stale);
}

#[test]
fn handles_of_the_same_slot_in_different_steps_compare_equal() {
    // Equality is the slot's, so a device plan recorded at one step matches the next.
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::zeros(1, 1));
    g.reset();
    let b = g.input(&Tensor::zeros(1, 1));
    assert_eq!(a, b);
}
