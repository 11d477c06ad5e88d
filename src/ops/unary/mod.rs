//! Elementwise functions as `f` / `df` pairs (dfdx): exp, log, relu, sigmoid, tanh, gelu.
//!
//! ```text
//! forward:  y_ij = f(x_ij)          x, y: (R, C)
//! backward: ∂L/∂x_ij += ∂L/∂y_ij · f′(x_ij)
//! ```
//!
//! # Derivation
//!
//! Each output depends on one input, so the chain rule is a product with the local
//! derivative, which is written with whichever of x and y makes it cheapest:
//!
//! ```text
//! exp      y = eˣ                    f′ = eˣ = y
//! log      y = ln x   (x > 0)        f′ = 1/x
//! relu     y = max(0, x)             f′ = 1 if x > 0 else 0   (0 at the kink x = 0)
//! sigmoid  y = 1/(1 + e⁻ˣ)           f′ = e⁻ˣ/(1 + e⁻ˣ)² = y·(1 − y)
//! tanh     y = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ) f′ = 1 − tanh²x = 1 − y²
//! gelu     y = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))
//!          f′ = Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π)   (product rule; Φ′ = φ)
//! ```
//! GELU is the exact (erf) form used by BERT-style encoders, not the tanh approximation.

use crate::autograd::{one, Graph, Node, Op, UnaryFn, Var};
use crate::error::{Error, Result};

/// erf(x) in f64 to ~1e-14: the Maclaurin series for |x| < 2, a continued fraction
/// for erfc beyond (Abramowitz & Stegun 7.1.26, accurate to only 1.5e-7, is too
/// coarse to reproduce a reference encoder).
pub fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 2.0 {
        // Maclaurin: erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
        let x2 = ax * ax;
        let (mut term, mut sum) = (ax, ax);
        for n in 1..80 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc_pos(ax)
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// erfc(x) for x ≥ 2 by a continued fraction (Lentz), accurate to ~1e-15.
fn erfc_pos(x: f64) -> f64 {
    // erfc x = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...)))))
    let tiny = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (x, 0.0);
    for n in 1..200 {
        let an = n as f64 / 2.0;
        d = x + an * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + an / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}

/// f(x).
#[inline]
pub fn f(kind: UnaryFn, x: f32) -> f32 {
    match kind {
        UnaryFn::Exp => x.exp(),
        UnaryFn::Log => x.ln(),
        UnaryFn::Relu => x.max(0.0),
        UnaryFn::Sigmoid => {
            // Stable on both sides: never exponentiates a large positive number.
            if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                let e = x.exp();
                e / (1.0 + e)
            }
        }
        UnaryFn::Tanh => x.tanh(),
        UnaryFn::Gelu => {
            let x = x as f64;
            (x * 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))) as f32
        }
    }
}

/// f′(x), given x and y = f(x).
#[inline]
pub fn df(kind: UnaryFn, x: f32, y: f32) -> f32 {
    match kind {
        UnaryFn::Exp => y,
        UnaryFn::Log => 1.0 / x,
        UnaryFn::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        UnaryFn::Sigmoid => y * (1.0 - y),
        UnaryFn::Tanh => 1.0 - y * y,
        UnaryFn::Gelu => {
            let x = x as f64;
            let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (cdf + x * pdf) as f32
        }
    }
}

/// `out = f(inp)` elementwise.
pub fn unary_forward(out: &mut [f32], inp: &[f32], kind: UnaryFn) {
    out.iter_mut().zip(inp).for_each(|(y, &x)| *y = f(kind, x));
}

/// `dinp += dout ⊙ f′(inp)`.
pub fn unary_backward(dinp: &mut [f32], dout: &[f32], inp: &[f32], out: &[f32], kind: UnaryFn) {
    for i in 0..dinp.len() {
        dinp[i] += dout[i] * df(kind, inp[i], out[i]);
    }
}

fn name(kind: UnaryFn) -> &'static str {
    match kind {
        UnaryFn::Exp => "exp",
        UnaryFn::Log => "log",
        UnaryFn::Relu => "relu",
        UnaryFn::Sigmoid => "sigmoid",
        UnaryFn::Tanh => "tanh",
        UnaryFn::Gelu => "gelu",
    }
}

impl Graph {
    /// Applies an elementwise function.
    pub fn unary(&mut self, a: Var, kind: UnaryFn) -> Result<Var> {
        let op = name(kind);
        self.check(op, a)?;
        if kind == UnaryFn::Log && self.computes() {
            if let Some(i) = self.value(a).iter().position(|&x| x.is_nan() || x <= 0.0) {
                return Err(Error::Value {
                    op,
                    what: "input".into(),
                    position: i,
                    value: self.value(a)[i] as f64,
                    expected: "a positive number (log is defined for x > 0)".into(),
                });
            }
        }
        let dims = self.dims(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::Unary { a, f: kind }, dims.0, dims.1, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        unary_forward(&mut node.value, &inputs[a.index()].value, kind);
        Ok(out)
    }

    /// `eˣ` elementwise.
    pub fn exp(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Exp)
    }

    /// `ln x` elementwise; every input must be positive.
    pub fn log(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Log)
    }

    /// `max(0, x)` elementwise.
    pub fn relu(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Relu)
    }

    /// `1/(1 + e⁻ˣ)` elementwise.
    pub fn sigmoid(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Sigmoid)
    }

    /// `tanh x` elementwise.
    pub fn tanh(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Tanh)
    }

    /// `x·Φ(x)` elementwise (exact GELU).
    pub fn gelu(&mut self, a: Var) -> Result<Var> {
        self.unary(a, UnaryFn::Gelu)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], a: Var, kind: UnaryFn) {
    let ia = one(head, a);
    if let Some(da) = ia.grad {
        unary_backward(da, &node.grad, ia.value, &node.value, kind);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `unary_fwd_f32`, `unary_bwd_f32` (kernels/elementwise.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{OpKind, Unary};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Unary {
    fn kind(&self) -> OpKind {
        match self.f {
            UnaryFn::Exp => OpKind::Exp,
            UnaryFn::Log => OpKind::Log,
            UnaryFn::Relu => OpKind::Relu,
            UnaryFn::Sigmoid => OpKind::Sigmoid,
            UnaryFn::Tanh => OpKind::Tanh,
            UnaryFn::Gelu => OpKind::Gelu,
        }
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.a, self.f)
    }
    device_lowering!(lower::forward, lower::backward);
}
