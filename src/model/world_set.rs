//! Worlds without repeats, in the order they were first met. The checker folds thousands of
//! worlds per step. A set ordered by whole worlds compares many pairs field by
//! field; hashing whole worlds walks every backup of each (slower still). Here a world is
//! hashed by a cheap fingerprint (its readings, limit, server statuses and its backups'
//! statuses), and only worlds with the same fingerprint are compared (equal backup lists are
//! usually one shared list, which compares at once). Worlds that differ only in how the work in
//! progress ended must not share a fingerprint: a block of calls sent at once to an endpoint
//! that finishes backups at once yields thousands of them. The first-met order keeps the reference
//! reading's world first.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use rustc_hash::FxHasher;

use super::World;

/// An insertion-ordered set of worlds.
#[derive(Debug, Default)]
pub struct WorldSet {
    worlds: Vec<World>,
    /// A world's hash to the indices of the worlds with that hash.
    index: HashMap<u64, Vec<usize>, BuildHasherDefault<FxHasher>>,
}

impl WorldSet {
    pub fn new() -> WorldSet {
        WorldSet::default()
    }

    /// Adds `world` unless an equal one is in; says whether it was added.
    pub fn insert(&mut self, world: World) -> bool {
        let Some(hash) = self.absent(&world) else {
            return false;
        };
        self.push(hash, world);
        true
    }

    /// Adds a copy of `world` unless an equal one is in (no copy is made then).
    pub fn insert_ref(&mut self, world: &World) -> bool {
        let Some(hash) = self.absent(world) else {
            return false;
        };
        self.push(hash, world.clone());
        true
    }

    /// `world`'s fingerprint when no equal world is in yet.
    fn absent(&self, world: &World) -> Option<u64> {
        let hash = Self::fingerprint(world);
        let same = self.index.get(&hash).map_or(&[][..], Vec::as_slice);
        (!same.iter().any(|&i| self.worlds[i] == *world)).then_some(hash)
    }

    fn push(&mut self, hash: u64, world: World) {
        self.index.entry(hash).or_default().push(self.worlds.len());
        self.worlds.push(world);
    }

    /// A hash of the parts of `world` that are cheap to read; equal worlds have equal ones.
    fn fingerprint(world: &World) -> u64 {
        let mut h = FxHasher::default();
        world.limit.hash(&mut h);
        world.readings.hash(&mut h);
        world.next_seq.hash(&mut h);
        for s in world.servers.values() {
            (s.status, &s.pending, s.backup_retention_count).hash(&mut h);
        }
        for b in world.backups.iter() {
            (b.status, b.kind, b.seq).hash(&mut h);
        }
        world.gone.len().hash(&mut h);
        h.finish()
    }

    pub fn len(&self) -> usize {
        self.worlds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.worlds.is_empty()
    }

    /// The worlds, in the order first met.
    pub fn into_vec(self) -> Vec<World> {
        self.worlds
    }
}

impl Extend<World> for WorldSet {
    fn extend<I: IntoIterator<Item = World>>(&mut self, iter: I) {
        for w in iter {
            self.insert(w);
        }
    }
}

impl FromIterator<World> for WorldSet {
    fn from_iter<I: IntoIterator<Item = World>>(iter: I) -> WorldSet {
        let mut set = WorldSet::new();
        set.extend(iter);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Readings;

    #[test]
    fn repeats_are_dropped_and_the_first_met_order_is_kept() {
        let a = World::new(50, Readings::REFERENCE);
        let b = World::new(10, Readings::REFERENCE);
        let set: WorldSet = [a.clone(), b.clone(), a.clone(), b.clone()]
            .into_iter()
            .collect();
        assert_eq!(set.into_vec(), vec![a.clone(), b.clone()]);
        let mut set = WorldSet::new();
        assert!(set.insert_ref(&b));
        assert!(!set.insert_ref(&b));
        assert!(set.insert(a.clone()));
        assert_eq!(set.into_vec(), vec![b, a]);
    }
}
