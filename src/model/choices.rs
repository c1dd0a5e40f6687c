//! The readings of the ambiguous rules: the endpoint-wide ones a checker starts from (limit
//! scope, status after a backup) and the [`Choice`]s an answer settles for the rest of a run.

use super::*;

/// Where the manual-backup limit applies (ambiguity A1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitScope {
    PerServer,
    PerAccount,
}

/// The status a server takes when a backup finishes by itself (ambiguity A5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterBackup {
    /// The status before the backup began.
    Previous,
    /// A fresh health status: HEALTHY or UNHEALTHY.
    FreshHealth,
}

/// A question the documents leave open whose answer is a property of the endpoint: once an
/// endpoint has answered it one way, it must keep to that answer for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    /// A3: whether an IN_PROGRESS manual backup counts toward the limit (1) or not (0).
    CountsInProgress,
    /// A3: the same for a FAILED one.
    CountsFailed,
    /// A3: the same for a DELETING one.
    CountsDeleting,
    /// A4: at the limit and refused by the state gate: InvalidStateException (0) or
    /// LimitExceededException (1).
    LimitBeforeState,
    /// A7: BackupId `Name-yyyyMMddHHmmssSSS` (0) or `Name-yyyy-MM-ddTHH:mm:ss.SSSZ` (1).
    IdForm,
    /// A10: DeleteServer during an operation: InvalidStateException (0) or ValidationException (1).
    DeleteServerError,
    /// A13: DescribeBackups of an unknown server: ResourceNotFoundException (0) or an empty list (1).
    DescribeUnknownServer,
    /// A15: a wrong JSON type: ValidationException (0) or SerializationException (1).
    TypeErrorKind,
    /// A16: UpdateServer BackupRetentionCount below 1: ValidationException (0) or accepted (1).
    RetentionZero,
    /// A17: DeleteBackup of the backup in progress: the server leaves BACKING_UP at once (0) or
    /// stays BACKING_UP until the job ends (1).
    DeleteInProgressKeepsBackingUp,
}

impl Choice {
    pub const ALL: [Choice; 10] = [
        Choice::CountsInProgress,
        Choice::CountsFailed,
        Choice::CountsDeleting,
        Choice::LimitBeforeState,
        Choice::IdForm,
        Choice::DeleteServerError,
        Choice::DescribeUnknownServer,
        Choice::TypeErrorKind,
        Choice::RetentionZero,
        Choice::DeleteInProgressKeepsBackingUp,
    ];

    /// The ambiguity this choice answers (a rule id).
    pub fn rule(self) -> RuleId {
        match self {
            Choice::CountsInProgress | Choice::CountsFailed | Choice::CountsDeleting => {
                rules::AMBIGUITY_COUNTED_STATUSES
            }
            Choice::LimitBeforeState => rules::AMBIGUITY_ERROR_PRECEDENCE,
            Choice::IdForm => rules::AMBIGUITY_BACKUP_ID_FORMAT,
            Choice::DeleteServerError => rules::AMBIGUITY_DELETE_SERVER_IN_PROGRESS,
            Choice::DescribeUnknownServer => rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
            Choice::TypeErrorKind => rules::AMBIGUITY_TYPE_ERROR_KIND,
            Choice::RetentionZero => rules::AMBIGUITY_RETENTION_ZERO,
            Choice::DeleteInProgressKeepsBackingUp => rules::AMBIGUITY_DELETE_IN_PROGRESS_BACKUP,
        }
    }

    /// The reading each answer stands for, in words.
    pub fn reading(self, pick: u8) -> &'static str {
        let (no, yes) = match self {
            Choice::CountsInProgress => (
                "IN_PROGRESS backups do not count",
                "IN_PROGRESS backups count",
            ),
            Choice::CountsFailed => ("FAILED backups do not count", "FAILED backups count"),
            Choice::CountsDeleting => ("DELETING backups do not count", "DELETING backups count"),
            Choice::LimitBeforeState => (
                "the state gate before the limit",
                "the limit before the state gate",
            ),
            Choice::IdForm => (
                "BackupId Name-yyyyMMddHHmmssSSS",
                "BackupId Name-yyyy-MM-ddTHH:mm:ss.SSSZ",
            ),
            Choice::DeleteServerError => (
                "DeleteServer during an operation: InvalidStateException",
                "DeleteServer during an operation: ValidationException",
            ),
            Choice::DescribeUnknownServer => (
                "unknown server listing: ResourceNotFoundException",
                "unknown server listing: empty list",
            ),
            Choice::TypeErrorKind => (
                "wrong JSON type: ValidationException",
                "wrong JSON type: SerializationException",
            ),
            Choice::RetentionZero => (
                "BackupRetentionCount 0 refused",
                "BackupRetentionCount 0 accepted",
            ),
            Choice::DeleteInProgressKeepsBackingUp => (
                "deleting the backup in progress ends BACKING_UP",
                "deleting the backup in progress keeps BACKING_UP until the job ends",
            ),
        };
        if pick == 0 {
            no
        } else {
            yes
        }
    }
}

/// The endpoint-wide readings of the ambiguous rules. A checker starts with one world per
/// combination of the two readings that change what happens by itself (limit scope, status
/// after a backup); every other [`Choice`] is open until an answer settles it, and then holds
/// for the rest of the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Readings {
    pub limit_scope: LimitScope,
    pub after_backup: AfterBackup,
    /// The choices an answer has settled (absent: still open).
    pub picks: Picks,
}

impl Readings {
    /// The bundled emulator's readings (its other choices are the first reading of each).
    pub const REFERENCE: Readings = Readings {
        limit_scope: LimitScope::PerServer,
        after_backup: AfterBackup::Previous,
        picks: Picks::new(),
    };

    pub fn all() -> Vec<Readings> {
        let mut out = Vec::new();
        for limit_scope in [LimitScope::PerServer, LimitScope::PerAccount] {
            for after_backup in [AfterBackup::Previous, AfterBackup::FreshHealth] {
                out.push(Readings {
                    limit_scope,
                    after_backup,
                    picks: Picks::new(),
                });
            }
        }
        out
    }

    /// The answer the endpoint gave to `choice`, if it has.
    pub fn pick(&self, choice: Choice) -> Option<u8> {
        self.picks.get(&choice)
    }

    /// Whether answering `choice` with `pick` keeps to what the endpoint did before.
    pub fn allows(&self, choice: Choice, pick: u8) -> bool {
        self.pick(choice).is_none_or(|p| p == pick)
    }
}

/// The answers an endpoint has given to the [`Choice`]s, one slot per choice: copied with a
/// world without allocating (a checker clones worlds for every possibility). It behaves as the
/// map from choice to answer it stands for: iterated, compared, printed and serialized in the
/// choices' order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Picks {
    slots: [Option<u8>; Choice::ALL.len()],
}

impl Picks {
    pub const fn new() -> Picks {
        Picks {
            slots: [None; Choice::ALL.len()],
        }
    }

    pub fn get(&self, choice: &Choice) -> Option<u8> {
        self.slots[*choice as usize]
    }

    /// Answers `choice` with `pick`; the earlier answer, if any.
    pub fn insert(&mut self, choice: Choice, pick: u8) -> Option<u8> {
        self.slots[choice as usize].replace(pick)
    }

    /// Opens `choice` again; its answer, if it had one.
    pub fn remove(&mut self, choice: &Choice) -> Option<u8> {
        self.slots[*choice as usize].take()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The answered choices with their answers, in the choices' order.
    pub fn iter(&self) -> impl Iterator<Item = (Choice, u8)> + '_ {
        Choice::ALL
            .into_iter()
            .zip(self.slots)
            .filter_map(|(c, p)| Some((c, p?)))
    }
}

impl Ord for Picks {
    /// As the map it stands for: its entries compared in order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Picks {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Picks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Picks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Picks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Picks, D::Error> {
        let map = BTreeMap::<Choice, u8>::deserialize(d)?;
        let mut picks = Picks::new();
        for (c, p) in map {
            picks.insert(c, p);
        }
        Ok(picks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of answering up to three choices, as picks and as the map they stand for.
    fn samples() -> Vec<(Picks, BTreeMap<Choice, u8>)> {
        let mut out = vec![(Picks::new(), BTreeMap::new())];
        for (i, a) in Choice::ALL.into_iter().enumerate() {
            for b in Choice::ALL.into_iter().skip(i + 3).take(2) {
                for (pa, pb) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let mut picks = Picks::new();
                    picks.insert(a, pa);
                    picks.insert(b, pb);
                    out.push((picks, BTreeMap::from([(a, pa), (b, pb)])));
                }
            }
        }
        out
    }

    #[test]
    fn choices_are_listed_in_their_order() {
        for (i, c) in Choice::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i);
        }
    }

    #[test]
    fn picks_behave_as_the_map_they_stand_for() {
        let samples = samples();
        for (picks, map) in &samples {
            assert_eq!(
                picks.iter().collect::<Vec<_>>(),
                map.clone().into_iter().collect::<Vec<_>>()
            );
            assert_eq!(format!("{picks:?}"), format!("{map:?}"));
            let json = serde_json::to_string(picks).unwrap();
            assert_eq!(json, serde_json::to_string(map).unwrap());
            assert_eq!(serde_json::from_str::<Picks>(&json).unwrap(), *picks);
            for (other, other_map) in &samples {
                assert_eq!(picks.cmp(other), map.cmp(other_map));
            }
        }
        let mut picks = samples[1].0;
        let c = picks.iter().next().unwrap().0;
        assert!(picks.remove(&c).is_some());
        assert_eq!(picks.get(&c), None);
    }
}
