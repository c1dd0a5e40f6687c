//! Worlds without repeats, in the order they were first met, sharing what they have in common.
//! The checker folds thousands of worlds per step. A set ordered by whole worlds compares many
//! pairs field by field; hashing whole worlds walks every backup of each (slower still). Here a
//! world is hashed by a cheap fingerprint (its readings, limit, server statuses and its
//! backups' statuses), and only worlds with the same fingerprint are compared (equal backup
//! lists are usually one shared list, which compares at once). Worlds that differ only in how
//! the work in progress ended must not share a fingerprint: a block of calls sent at once to an
//! endpoint that finishes backups at once yields thousands of them. The first-met order keeps
//! the reference reading's world first.
//!
//! Worlds that differ only in a reading hold equal servers and backups, each computed apart by
//! the model: the set keeps one copy of each (interned), so that such worlds share them again.
//! Then comparing them is at once, and what reads only the backups (a listing's check) can be
//! done once for all of them (see `ExplainMemo`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use super::{Backup, Server, World};

/// An insertion-ordered set of worlds.
#[derive(Debug, Default)]
pub struct WorldSet {
    worlds: Vec<World>,
    /// A world's hash to the indices of the worlds with that hash.
    index: HashMap<u64, Vec<usize>, BuildHasherDefault<FxHasher>>,
    servers: Pool<BTreeMap<String, Server>>,
    backups: Pool<Vec<Backup>>,
    gone: Pool<BTreeSet<String>>,
    /// The part hashes of the servers and backups lists met, by address: worlds that differ
    /// only in a reading share them, and are hashed once (the entries hold the lists alive, so
    /// an address is not reused for another list while the set lives).
    hashed: FxHashMap<(usize, usize), HashedParts>,
}

/// The servers and backups lists a part hash was computed from.
#[derive(Debug)]
struct HashedParts {
    _servers: Arc<BTreeMap<String, Server>>,
    _backups: Arc<Vec<Backup>>,
    servers: u64,
    backups: u64,
}

/// One shared copy of each distinct value the set's worlds hold, by a cheap hash.
#[derive(Debug)]
struct Pool<T> {
    by_hash: FxHashMap<u64, Vec<Arc<T>>>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            by_hash: FxHashMap::default(),
        }
    }
}

impl<T: PartialEq> Pool<T> {
    /// Makes `value` the pool's copy of an equal value (keeping it when it is the first).
    fn intern(&mut self, hash: u64, value: &mut Arc<T>) {
        let same = self.by_hash.entry(hash).or_default();
        match same
            .iter()
            .find(|known| Arc::ptr_eq(known, value) || ***known == **value)
        {
            Some(known) => {
                if !Arc::ptr_eq(known, value) {
                    *value = known.clone();
                }
            }
            None => same.push(value.clone()),
        }
    }
}

/// Cheap hashes of a world's parts: its servers (statuses), its backups (statuses, kinds and
/// order) and its gone list (length).
struct PartHashes {
    servers: u64,
    backups: u64,
    gone: u64,
}

impl PartHashes {
    /// `world`'s part hashes, its servers and backups hashed once per distinct lists.
    fn of(world: &World, hashed: &mut FxHashMap<(usize, usize), HashedParts>) -> PartHashes {
        let key = (
            Arc::as_ptr(&world.servers) as usize,
            Arc::as_ptr(&world.backups) as usize,
        );
        let known = hashed.entry(key).or_insert_with(|| {
            let mut h = FxHasher::default();
            for s in world.servers.values() {
                (s.status, &s.pending, s.backup_retention_count).hash(&mut h);
            }
            let servers = h.finish();
            let mut h = FxHasher::default();
            for b in world.backups.iter() {
                (b.status, b.kind, b.seq).hash(&mut h);
            }
            HashedParts {
                _servers: world.servers.clone(),
                _backups: world.backups.clone(),
                servers,
                backups: h.finish(),
            }
        });
        PartHashes {
            servers: known.servers,
            backups: known.backups,
            gone: world.gone.len() as u64,
        }
    }
}

impl WorldSet {
    pub fn new() -> WorldSet {
        WorldSet::default()
    }

    /// An empty set with room for `n` worlds (a step's possibilities bound the worlds after it).
    pub fn with_capacity(n: usize) -> WorldSet {
        let mut set = WorldSet::default();
        set.worlds.reserve(n);
        set.index.reserve(n);
        set
    }

    /// Adds `world` unless an equal one is in; says whether it was added.
    pub fn insert(&mut self, world: World) -> bool {
        let Some(hashes) = self.absent(&world) else {
            return false;
        };
        self.push(hashes, world);
        true
    }

    /// Adds a copy of `world` unless an equal one is in (no copy is made then).
    pub fn insert_ref(&mut self, world: &World) -> bool {
        let Some(hashes) = self.absent(world) else {
            return false;
        };
        self.push(hashes, world.clone());
        true
    }

    /// `world`'s fingerprint and part hashes when no equal world is in yet.
    fn absent(&mut self, world: &World) -> Option<(u64, PartHashes)> {
        let parts = PartHashes::of(world, &mut self.hashed);
        let hash = Self::fingerprint(world, &parts);
        let same = self.index.get(&hash).map_or(&[][..], Vec::as_slice);
        (!same.iter().any(|&i| self.worlds[i] == *world)).then_some((hash, parts))
    }

    fn push(&mut self, (hash, parts): (u64, PartHashes), mut world: World) {
        self.servers.intern(parts.servers, &mut world.servers);
        self.backups.intern(parts.backups, &mut world.backups);
        self.gone.intern(parts.gone, &mut world.gone);
        self.index.entry(hash).or_default().push(self.worlds.len());
        self.worlds.push(world);
    }

    /// A hash of the parts of `world` that are cheap to read; equal worlds have equal ones.
    fn fingerprint(world: &World, parts: &PartHashes) -> u64 {
        let mut h = FxHasher::default();
        world.limit.hash(&mut h);
        world.readings.hash(&mut h);
        world.next_seq.hash(&mut h);
        (parts.servers, parts.backups, parts.gone).hash(&mut h);
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

    #[test]
    fn worlds_that_differ_in_a_reading_share_equal_backups_once_in() {
        use crate::model::{LimitScope, ServerSpec, ServerStatus};
        let spec = ServerSpec {
            name: "web".into(),
            status: ServerStatus::Healthy,
            engine: "ChefAutomate".into(),
            manual_backups: 3,
            automated_backups: 1,
        };
        let mut a = World::new(50, Readings::REFERENCE);
        let mut b = World::new(50, Readings::REFERENCE);
        b.readings.limit_scope = LimitScope::PerAccount;
        a.put_server(&spec, None);
        b.put_server(&spec, None);
        assert!(!Arc::ptr_eq(&a.backups, &b.backups));
        let worlds = [a.clone(), b.clone()]
            .into_iter()
            .collect::<WorldSet>()
            .into_vec();
        assert_eq!(worlds, vec![a, b], "the worlds are kept as they were");
        assert!(Arc::ptr_eq(&worlds[0].backups, &worlds[1].backups));
        assert!(Arc::ptr_eq(&worlds[0].servers, &worlds[1].servers));
    }
}
