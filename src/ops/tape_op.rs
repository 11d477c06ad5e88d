//! What every tape op provides ([`TapeOp`]) and the macro that turns the one list of
//! ops in [`super::registry`] into the tape's vocabulary.
//!
//! Adding an op is one folder under `src/ops/` (its `impl TapeOp`) and one line in
//! `src/ops/registry.rs`; the macro generates the rest (docs/adding_an_op.md):
//!
//! ```text
//! registry line  MatMul { a: Var, b: Var, ta: bool, tb: bool } => [MatMul],
//! generates      Op::MatMul { a, b, ta, tb }       the tape's node variant
//!                struct registry::MatMul { .. }    the same fields, `impl TapeOp` in the folder
//!                OpKind::MatMul, OpKind::ALL       the gradient-check registry
//!                Op::kind, Op::each_input, Op::backward,
//!                Op::lower_forward, Op::lower_backward    one dispatch arm each
//! ```
//!
//! An op that does not implement every method of [`TapeOp`] does not compile, and every
//! name in `OpKind::ALL` must have a gradient check (`tests/h16ops_registry.rs`,
//! `tests/gradcheck.rs`).

use crate::autograd::{Node, ParamStore, Var};
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;

/// The CPU backward pass of one node: its value and complete gradient (`node`), the
/// nodes before it (`head`, whose gradients it adds to), a scratch buffer and the
/// parameter store (for ops whose gradient goes to a table).
pub(crate) struct BackwardCx<'a> {
    pub node: &'a Node,
    pub head: &'a mut [Node],
    pub scratch: &'a mut Vec<f32>,
    pub store: &'a mut ParamStore,
}

/// One differentiable op of the tape. `Self` is the op's registry struct (its input
/// handles and scalars, as in its `Op` variant).
pub(crate) trait TapeOp: Copy {
    /// Its name in the gradient-check registry.
    fn kind(&self) -> super::registry::OpKind;

    /// Calls `f` with every node whose gradient this op's backward pass adds to (what
    /// goes elsewhere, such as a table's gradient into the store, is not listed).
    fn each_input(&self, node: &Node, f: &mut dyn FnMut(Var));

    /// The CPU backward pass (the reference the device lowering reproduces).
    fn backward(&self, cx: BackwardCx<'_>);

    /// The forward launches of node `i` (and the data it feeds per batch); returns the
    /// buffers they save for the backward launches.
    fn lower_forward<B: Backend + ?Sized>(
        &self,
        lw: &mut Lowering<'_, B>,
        i: usize,
        out: &mut Vec<Launch>,
        feeds: &mut Vec<Feed>,
    ) -> Result<Saved>;

    /// The backward launches of node `i`, whose gradient buffer exists: each adds into
    /// the gradients of the inputs that have one, as [`TapeOp::backward`] does.
    fn lower_backward<B: Backend + ?Sized>(
        &self,
        lw: &mut Lowering<'_, B>,
        i: usize,
        out: &mut Vec<Launch>,
    ) -> Result<()>;
}

/// The two lowering methods of an op whose launches are written in its `lower.rs`:
/// `device_lowering!(lower::forward, lower::backward);` inside the op's `impl TapeOp`
/// hands `lower_forward` and `lower_backward` to those two functions (same arguments,
/// `self` first).
macro_rules! device_lowering {
    ($forward:path, $backward:path) => {
        fn lower_forward<B: $crate::device::Backend + ?Sized>(
            &self,
            lw: &mut $crate::device::program::Lowering<'_, B>,
            i: usize,
            out: &mut Vec<$crate::device::Launch>,
            feeds: &mut Vec<$crate::device::program::Feed>,
        ) -> $crate::error::Result<$crate::device::program::Saved> {
            $forward(self, lw, i, out, feeds)
        }
        fn lower_backward<B: $crate::device::Backend + ?Sized>(
            &self,
            lw: &mut $crate::device::program::Lowering<'_, B>,
            i: usize,
            out: &mut Vec<$crate::device::Launch>,
        ) -> $crate::error::Result<()> {
            $backward(self, lw, i, out)
        }
    };
}
pub(crate) use device_lowering;

/// The two lowering methods of an op that has no device kernels yet: both refuse with
/// the error that names the op (`device::program::unsupported`), so a device run stops
/// before its first step and says which op it cannot lower. Write it inside the op's
/// `impl TapeOp` in place of `lower_forward` and `lower_backward`.
macro_rules! no_device_lowering {
    () => {
        fn lower_forward<B: $crate::device::Backend + ?Sized>(
            &self,
            lw: &mut $crate::device::program::Lowering<'_, B>,
            i: usize,
            _out: &mut Vec<$crate::device::Launch>,
            _feeds: &mut Vec<$crate::device::program::Feed>,
        ) -> $crate::error::Result<$crate::device::program::Saved> {
            Err($crate::device::program::unsupported(&lw.nodes[i].op))
        }
        fn lower_backward<B: $crate::device::Backend + ?Sized>(
            &self,
            lw: &mut $crate::device::program::Lowering<'_, B>,
            i: usize,
            _out: &mut Vec<$crate::device::Launch>,
        ) -> $crate::error::Result<()> {
            Err($crate::device::program::unsupported(&lw.nodes[i].op))
        }
    };
}
pub(crate) use no_device_lowering;

/// Generates the tape's vocabulary from the list of ops; see the module documentation.
/// Each entry: doc comments, the variant with its fields (none for ops whose inputs are
/// listed in the node's `idx`), then the registry names it records under.
macro_rules! tape_ops {
    (
        ops {$(
            $(#[$meta:meta])*
            $name:ident $({ $($field:ident : $ty:ty),* $(,)? })? => [$($kind:ident),+ $(,)?]
        ),+ $(,)?}
        examples {$(
            $(#[$xmeta:meta])*
            $xname:ident $({ $($xfield:ident : $xty:ty),* $(,)? })? => [$($xkind:ident),+ $(,)?]
        ),* $(,)?}
    ) => {
        /// How a node was made. Inputs always precede their consumers on the tape.
        ///
        /// `Op` is small and `Copy`: input handles and scalars only. Larger saved state
        /// lives in the node's reusable buffers (`aux` for f32, `idx` for integers).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub(crate) enum Op {
            /// Data fed in (features, labels); never needs a gradient.
            Input,
            /// A copy of a dense parameter; its gradient is added to the store.
            Param($crate::autograd::ParamId),
            $(
                $(#[$meta])*
                $name $({ $($field: $ty),* })?,
            )+
            $(
                $(#[$xmeta])*
                #[cfg(test)]
                $xname $({ $($xfield: $xty),* })?,
            )*
        }

        $(
            $(#[$meta])*
            ///
            /// The fields of its [`Op`] variant; `impl TapeOp` is in the op's folder.
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub(crate) struct $name { $($(pub(crate) $field: $ty),*)? }
        )+
        $(
            $(#[$xmeta])*
            #[cfg(test)]
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub(crate) struct $xname { $($(pub(crate) $xfield: $xty),*)? }
        )*

        /// The name of every differentiable op and loss, for the gradient-check registry
        /// (`tests/gradcheck.rs` and `tests/h16ops_registry.rs` fail if any has no check).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpKind {
            $($($kind,)+)+
            $($(#[cfg(test)] $xkind,)+)*
        }

        impl OpKind {
            /// Every op and loss the engine offers.
            pub const ALL: [OpKind; [$($(OpKind::$kind,)+)+ $($(#[cfg(test)] OpKind::$xkind,)+)*].len()] =
                [$($(OpKind::$kind,)+)+ $($(#[cfg(test)] OpKind::$xkind,)+)*];
        }

        impl Op {
            /// The registry name of this op (`None` for leaves).
            pub(crate) fn kind(&self) -> Option<OpKind> {
                use $crate::ops::tape_op::TapeOp;
                match *self {
                    Op::Input | Op::Param(_) => None,
                    $(Op::$name $({ $($field),* })? => Some($name { $($($field),*)? }.kind()),)+
                    $(#[cfg(test)] Op::$xname $({ $($xfield),* })? => Some($xname { $($($xfield),*)? }.kind()),)*
                }
            }

            /// Calls `f` with every node whose gradient `node`'s backward pass adds to
            /// (nothing for leaves).
            pub(crate) fn each_input(&self, node: &$crate::autograd::Node, f: &mut dyn FnMut($crate::autograd::Var)) {
                use $crate::ops::tape_op::TapeOp;
                match *self {
                    Op::Input | Op::Param(_) => {}
                    $(Op::$name $({ $($field),* })? => $name { $($($field),*)? }.each_input(node, f),)+
                    $(#[cfg(test)] Op::$xname $({ $($xfield),* })? => $xname { $($($xfield),*)? }.each_input(node, f),)*
                }
            }

            /// The CPU backward pass of a non-leaf node; `false` for leaves.
            pub(crate) fn backward(&self, cx: $crate::ops::tape_op::BackwardCx<'_>) -> bool {
                use $crate::ops::tape_op::TapeOp;
                match *self {
                    Op::Input | Op::Param(_) => return false,
                    $(Op::$name $({ $($field),* })? => $name { $($($field),*)? }.backward(cx),)+
                    $(#[cfg(test)] Op::$xname $({ $($xfield),* })? => $xname { $($($xfield),*)? }.backward(cx),)*
                }
                true
            }

            /// The forward lowering of a non-leaf node (`None` for leaves).
            pub(crate) fn lower_forward<B: $crate::device::Backend + ?Sized>(
                &self,
                lw: &mut $crate::device::program::Lowering<'_, B>,
                i: usize,
                out: &mut Vec<$crate::device::Launch>,
                feeds: &mut Vec<$crate::device::program::Feed>,
            ) -> Option<$crate::error::Result<$crate::device::program::Saved>> {
                use $crate::ops::tape_op::TapeOp;
                match *self {
                    Op::Input | Op::Param(_) => None,
                    $(Op::$name $({ $($field),* })? => Some($name { $($($field),*)? }.lower_forward(lw, i, out, feeds)),)+
                    $(#[cfg(test)] Op::$xname $({ $($xfield),* })? => Some($xname { $($($xfield),*)? }.lower_forward(lw, i, out, feeds)),)*
                }
            }

            /// The backward lowering of a non-leaf node (`None` for leaves).
            pub(crate) fn lower_backward<B: $crate::device::Backend + ?Sized>(
                &self,
                lw: &mut $crate::device::program::Lowering<'_, B>,
                i: usize,
                out: &mut Vec<$crate::device::Launch>,
            ) -> Option<$crate::error::Result<()>> {
                use $crate::ops::tape_op::TapeOp;
                match *self {
                    Op::Input | Op::Param(_) => None,
                    $(Op::$name $({ $($field),* })? => Some($name { $($($field),*)? }.lower_backward(lw, i, out)),)+
                    $(#[cfg(test)] Op::$xname $({ $($xfield),* })? => Some($xname { $($($xfield),*)? }.lower_backward(lw, i, out)),)*
                }
            }
        }
    };
}

pub(crate) use tape_ops;
