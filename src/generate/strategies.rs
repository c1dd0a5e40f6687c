//! The proptest strategies for each choice: weighted towards what finds bugs, with the
//! choices only a control plane allows, and parallel blocks.

use super::*;

pub(super) fn weighted<T: fmt::Debug + 'static>(
    arms: Vec<(u32, BoxedStrategy<T>)>,
) -> BoxedStrategy<T> {
    Union::new_weighted(arms).boxed()
}

pub(super) fn target() -> BoxedStrategy<Target> {
    weighted(vec![
        (12, Just(Target::Recent).boxed()),
        (5, (0..8usize).prop_map(Target::Slot).boxed()),
        (
            2,
            (0..UNKNOWN_NAMES.len()).prop_map(Target::Unknown).boxed(),
        ),
        (
            2,
            (0..8usize, 0..4usize)
                .prop_map(|(s, v)| Target::CaseChanged(s, v))
                .boxed(),
        ),
        (
            2,
            (0..INVALID_NAMES.len()).prop_map(Target::Invalid).boxed(),
        ),
    ])
}

pub(super) fn backup_ref_strategy() -> BoxedStrategy<BackupRef> {
    weighted(vec![
        (4, (0..4usize).prop_map(BackupRef::Created).boxed()),
        (
            4,
            (0..8usize, 0..64usize)
                .prop_map(|(s, n)| BackupRef::Fixture(s, n))
                .boxed(),
        ),
        (
            1,
            (0..UNKNOWN_BACKUP_IDS.len())
                .prop_map(BackupRef::Unknown)
                .boxed(),
        ),
        (
            1,
            (0..MALFORMED_BACKUP_IDS.len())
                .prop_map(BackupRef::Malformed)
                .boxed(),
        ),
    ])
}

pub(super) fn create_input() -> BoxedStrategy<CreateInput> {
    let description = weighted(vec![
        (12, Just(Description::Absent).boxed()),
        (
            4,
            (0..SHORT_DESCRIPTIONS.len())
                .prop_map(Description::Short)
                .boxed(),
        ),
        (1, Just(Description::Empty).boxed()),
        (1, Just(Description::Max).boxed()),
        (1, Just(Description::MaxMultibyte).boxed()),
        (1, Just(Description::TooLong).boxed()),
    ]);
    let tags = weighted(vec![
        (12, Just(Tags::Absent).boxed()),
        (4, (1..=3usize).prop_map(Tags::Few).boxed()),
        (1, Just(Tags::Empty).boxed()),
        (2, (0..TAG_COUNTS.len()).prop_map(Tags::Count).boxed()),
        (4, (0..ODD_TAGS).prop_map(Tags::Odd).boxed()),
    ]);
    let malformed = weighted(vec![
        (14, Just(None).boxed()),
        (
            2,
            (0..Malformed::ALL.len())
                .prop_map(|i| Some(Malformed::ALL[i]))
                .boxed(),
        ),
    ]);
    (target(), description, tags, malformed)
        .prop_map(|(target, description, tags, malformed)| CreateInput {
            target,
            description,
            tags,
            malformed,
        })
        .boxed()
}

pub(super) fn status() -> BoxedStrategy<ServerStatus> {
    let mut arms: Vec<(u32, BoxedStrategy<ServerStatus>)> = vec![
        (8, Just(ServerStatus::Healthy).boxed()),
        (3, Just(ServerStatus::Running).boxed()),
        (3, Just(ServerStatus::Unhealthy).boxed()),
        (5, Just(ServerStatus::BackingUp).boxed()),
    ];
    for s in ServerStatus::ALL {
        if !s.may_back_up() && s != ServerStatus::BackingUp {
            arms.push((1, Just(s).boxed()));
        }
    }
    weighted(arms)
}

pub(super) fn put_server(limit: u32) -> BoxedStrategy<Choice> {
    let slot = weighted(vec![
        (4, Just(0usize).boxed()),
        (2, Just(1usize).boxed()),
        (1, Just(2usize).boxed()),
    ]);
    let manual = weighted(vec![
        (4, Just(0u32).boxed()),
        (3, Just(limit.saturating_sub(1)).boxed()),
        (3, Just(limit).boxed()),
        (2, (0..=limit).boxed()),
        (1, (1..=3u32).boxed()),
    ]);
    let automated = weighted(vec![(4, Just(0u32).boxed()), (1, (1..=3u32).boxed())]);
    (slot, status(), manual, automated)
        .prop_map(|(slot, status, manual, automated)| Choice::PutServer {
            slot,
            status,
            manual,
            automated,
        })
        .boxed()
}

/// Choices for any position of a plan.
pub(super) fn choice(config: &GenConfig) -> BoxedStrategy<Choice> {
    let describe_servers = weighted(vec![
        (1, Just(Choice::DescribeServers(None)).boxed()),
        (
            2,
            target()
                .prop_map(|t| Choice::DescribeServers(Some(t)))
                .boxed(),
        ),
    ]);
    let describe_backups = weighted(vec![
        (2, Just(BackupsFilter::All).boxed()),
        (3, target().prop_map(BackupsFilter::Server).boxed()),
        (3, backup_ref_strategy().prop_map(BackupsFilter::Id).boxed()),
        (1, (0..4usize).prop_map(BackupsFilter::Paging).boxed()),
    ])
    .prop_map(Choice::DescribeBackups)
    .boxed();
    // Each arm with the operation it calls (None: a fixture step).
    let mut arms: Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> = vec![
        (
            2,
            Some(Operation::DescribeAccountAttributes),
            Just(Choice::DescribeAccountAttributes).boxed(),
        ),
        (6, Some(Operation::DescribeServers), describe_servers),
        (9, Some(Operation::DescribeBackups), describe_backups),
        (
            30,
            None,
            create_input().prop_map(Choice::CreateBackup).boxed(),
        ),
    ];
    if config.control_plane {
        arms.extend(control_plane_arms(config.limit, &config.operations));
    } else {
        // Only backups this plan created are ever deleted (read against the world).
        arms.push((
            4,
            Some(Operation::DeleteBackup),
            (0..4usize)
                .prop_map(|n| Choice::DeleteBackup(BackupRef::Created(n)))
                .boxed(),
        ));
    }
    let served = |op: &Option<Operation>| op.is_none_or(|op| config.operations.contains(&op));
    weighted(
        arms.into_iter()
            .filter(|(_, op, _)| served(op))
            .map(|(w, _, s)| (w, s))
            .collect(),
    )
}

/// The choices only a control plane allows, each with the operation it calls (None: fixture).
pub(super) fn control_plane_arms(
    limit: u32,
    operations: &[Operation],
) -> Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> {
    let call = Some;
    vec![
        (16, None, put_server(limit)),
        (
            7,
            None,
            weighted(vec![
                (3, Just(None).boxed()),
                (1, Just(Some(BackupStatus::Ok)).boxed()),
                (2, Just(Some(BackupStatus::Failed)).boxed()),
            ])
            .prop_map(Choice::Settle)
            .boxed(),
        ),
        (
            8,
            call(Operation::DeleteBackup),
            backup_ref_strategy().prop_map(Choice::DeleteBackup).boxed(),
        ),
        (
            6,
            call(Operation::UpdateServer),
            (target(), 0..10usize)
                .prop_map(|(t, u)| Choice::UpdateServer(t, u))
                .boxed(),
        ),
        (
            2,
            call(Operation::StartMaintenance),
            target().prop_map(Choice::StartMaintenance).boxed(),
        ),
        (
            2,
            call(Operation::DeleteServer),
            target().prop_map(Choice::DeleteServer).boxed(),
        ),
        (
            2,
            call(Operation::RestoreServer),
            (target(), backup_ref_strategy())
                .prop_map(|(t, b)| Choice::RestoreServer(t, b))
                .boxed(),
        ),
        (1, None, Just(Choice::Reset).boxed()),
        (6, None, parallel_block(operations)),
    ]
}

/// A call of a parallel block: mostly plain CreateBackups on the server in use (the calls a
/// check-then-act race lets through together), with calls that read or change the same state;
/// only calls of `operations` (CreateBackup always).
pub(super) fn block_call(operations: &[Operation]) -> BoxedStrategy<Choice> {
    let near = weighted(vec![
        (8, Just(Target::Recent).boxed()),
        (2, (0..8usize).prop_map(Target::Slot).boxed()),
        (
            1,
            (0..UNKNOWN_NAMES.len()).prop_map(Target::Unknown).boxed(),
        ),
    ]);
    let create = near.clone().prop_map(|target| {
        Choice::CreateBackup(CreateInput {
            target,
            description: Description::Absent,
            tags: Tags::Absent,
            malformed: None,
        })
    });
    let arms: Vec<(u32, Option<Operation>, BoxedStrategy<Choice>)> = vec![
        (
            2,
            Some(Operation::DescribeServers),
            Just(Choice::DescribeServers(None)).boxed(),
        ),
        (
            2,
            Some(Operation::DescribeBackups),
            near.clone()
                .prop_map(|t| Choice::DescribeBackups(BackupsFilter::Server(t)))
                .boxed(),
        ),
        (14, None, create.boxed()),
        (
            3,
            Some(Operation::UpdateServer),
            (near.clone(), 0..10usize)
                .prop_map(|(t, u)| Choice::UpdateServer(t, u))
                .boxed(),
        ),
        (
            1,
            Some(Operation::StartMaintenance),
            near.clone().prop_map(Choice::StartMaintenance).boxed(),
        ),
        (
            1,
            Some(Operation::DeleteServer),
            near.prop_map(Choice::DeleteServer).boxed(),
        ),
    ];
    let served = |op: &Option<Operation>| op.is_none_or(|op| operations.contains(&op));
    weighted(
        arms.into_iter()
            .filter(|(_, op, _)| served(op))
            .map(|(w, _, s)| (w, s))
            .collect(),
    )
}

/// The most calls of a generated block. Judging a block visits every set of its calls that
/// real time allows (2^n, each with its worlds): 4 calls catch a check-then-act race as well
/// as 8 and cost 16 sets, not 256. A scenario's block may hold up to
/// [`MAX_PARALLEL`](crate::plan::MAX_PARALLEL).
pub(super) const GENERATED_BLOCK_MAX: usize = 4;

/// A parallel block of 2 to [`GENERATED_BLOCK_MAX`] calls of `operations`.
pub(super) fn parallel_block(operations: &[Operation]) -> BoxedStrategy<Choice> {
    let call = block_call(operations);
    ChoiceList {
        head: call.clone(),
        head_len: Just(0usize).boxed(),
        body: call,
        min_len: 2,
        max_len: GENERATED_BLOCK_MAX,
    }
    .prop_map(Choice::Parallel)
    .boxed()
}
