//! [`Var`]: the handle of a node, checked against the step it was recorded in.

/// Handle to a node of a [`Graph`](super::Graph); valid until the next
/// [`Graph::reset`](super::Graph::reset).
///
/// A handle carries the step it was recorded in, so a stale handle (one kept across
/// [`Graph::reset`](super::Graph::reset)) is an error at the next op instead of silently
/// naming whatever node the new step put in its slot. Equality, hashing and order are
/// those of the slot: two handles are the same node when their slots agree (the step is
/// checked, not compared, so a device plan recorded at one step still matches the same
/// ops of the next).
#[derive(Clone, Copy, Debug)]
pub struct Var {
    pub(crate) slot: u32,
    pub(crate) step: u32,
}

impl Var {
    pub fn index(self) -> usize {
        self.slot as usize
    }

    /// A handle to slot `slot` for code that only indexes the tape (node input lists,
    /// the lowering): it is never passed to [`Graph::check`].
    pub(crate) fn slot(slot: u32) -> Var {
        Var {
            slot,
            step: u32::MAX,
        }
    }
}

impl PartialEq for Var {
    fn eq(&self, other: &Var) -> bool {
        self.slot == other.slot
    }
}

impl Eq for Var {}

impl std::hash::Hash for Var {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.slot.hash(h)
    }
}

impl PartialOrd for Var {
    fn partial_cmp(&self, other: &Var) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Var {
    fn cmp(&self, other: &Var) -> std::cmp::Ordering {
        self.slot.cmp(&other.slot)
    }
}
