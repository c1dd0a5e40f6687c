//! The choice list and its shrinking: a list of choice trees that shrinks to a fixpoint.

use super::*;

/// Draws a list of choices; the first few come from `head` (put-servers, with a control plane,
/// so most plans have servers to call).
#[derive(Debug)]
pub(super) struct ChoiceList {
    pub(super) head: BoxedStrategy<Choice>,
    pub(super) head_len: BoxedStrategy<usize>,
    pub(super) body: BoxedStrategy<Choice>,
    pub(super) min_len: usize,
    pub(super) max_len: usize,
}

impl Strategy for ChoiceList {
    type Tree = ChoiceListTree;
    type Value = Vec<Choice>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let len = (self.min_len..=self.max_len).new_tree(runner)?.current();
        let head = self.head_len.new_tree(runner)?.current().min(len);
        let mut elements = Vec::with_capacity(len);
        for i in 0..len {
            let strategy = if i < head { &self.head } else { &self.body };
            elements.push(strategy.new_tree(runner)?);
        }
        Ok(ChoiceListTree::new(elements))
    }
}

/// What the last `simplify` (or `complicate`) changed, not yet known to keep the failure.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    Deleted(usize),
    Shrunk(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Deleting choices, trying this index next.
    Delete(usize),
    /// Simplifying this choice.
    Shrink(usize),
    Done,
}

/// A list of choice trees that shrinks to a fixpoint: deletion passes until none keeps the
/// failure, then a pass simplifying each choice, and deletion again after any kept
/// simplification.
///
/// `simplify` after a change means the runner kept it (the case still failed); `complicate`
/// means it did not. `complicate` undoes the change and at once proposes the next one, so no
/// run is spent re-checking a case already known to fail; it returns false only when nothing
/// is left to try, with `current()` back at the last failing list.
pub(crate) struct ChoiceListTree {
    pub(super) elements: Vec<Box<dyn ValueTree<Value = Choice>>>,
    pub(super) included: Vec<bool>,
    pub(super) phase: Phase,
    pub(super) pending: Option<Change>,
    /// The last list known to fail, to tell whether a kept change changed anything.
    pub(super) accepted: Vec<Choice>,
    /// Whether the current pass kept a change.
    pub(super) progress: bool,
}

impl ChoiceListTree {
    pub(super) fn new(elements: Vec<Box<dyn ValueTree<Value = Choice>>>) -> ChoiceListTree {
        let included = vec![true; elements.len()];
        let mut tree = ChoiceListTree {
            elements,
            included,
            phase: Phase::Delete(0),
            pending: None,
            accepted: Vec::new(),
            progress: false,
        };
        tree.accepted = tree.current();
        tree
    }

    pub(super) fn len(&self) -> usize {
        self.included.iter().filter(|&&b| b).count()
    }

    /// Proposes the next change from the last failing list.
    pub(super) fn advance(&mut self) -> bool {
        loop {
            match self.phase {
                Phase::Done => return false,
                Phase::Delete(ix) if ix >= self.elements.len() => {
                    self.phase = if self.progress {
                        Phase::Delete(0)
                    } else {
                        Phase::Shrink(0)
                    };
                    self.progress = false;
                }
                Phase::Delete(ix) => {
                    self.phase = Phase::Delete(ix + 1);
                    if self.included[ix] && self.len() > 1 {
                        self.included[ix] = false;
                        self.pending = Some(Change::Deleted(ix));
                        return true;
                    }
                }
                Phase::Shrink(ix) if ix >= self.elements.len() => {
                    if self.progress {
                        self.progress = false;
                        self.phase = Phase::Delete(0);
                    } else {
                        self.phase = Phase::Done;
                        return false;
                    }
                }
                Phase::Shrink(ix) => {
                    if self.included[ix] && self.elements[ix].simplify() {
                        self.pending = Some(Change::Shrunk(ix));
                        return true;
                    }
                    self.phase = Phase::Shrink(ix + 1);
                }
            }
        }
    }
}

impl ValueTree for ChoiceListTree {
    type Value = Vec<Choice>;

    fn current(&self) -> Vec<Choice> {
        self.elements
            .iter()
            .zip(&self.included)
            .filter(|(_, &inc)| inc)
            .map(|(e, _)| e.current())
            .collect()
    }

    fn simplify(&mut self) -> bool {
        if self.pending.take().is_some() {
            // The runner kept the last change: it still fails.
            let now = self.current();
            if now != self.accepted {
                self.progress = true;
                self.accepted = now;
            }
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        match self.pending {
            None => false,
            Some(Change::Deleted(ix)) => {
                self.included[ix] = true;
                self.pending = None;
                self.advance()
            }
            Some(Change::Shrunk(ix)) => {
                if self.elements[ix].complicate() {
                    true
                } else {
                    // Back at its last failing value. It may still simplify another way (a
                    // union tries earlier alternatives once its current one is exhausted), so
                    // `advance` asks it again before moving on.
                    self.pending = None;
                    self.advance()
                }
            }
        }
    }
}
