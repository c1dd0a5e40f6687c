//! Property tests: random action sequences answered as the bundled emulator would, and the
//! invariants of the relation.

use super::*;

// ------------------------------------------------------------------------------------------------
// Property tests
// ------------------------------------------------------------------------------------------------

/// Server names the generator uses: two that get created, a differently cased one and one that
/// never exists.
const NAMES: [&str; 4] = ["web", "db", "Web", "ghost"];

#[derive(Debug, Clone)]
enum Act {
    Put {
        server: usize,
        status: ServerStatus,
        manual: u32,
        automated: u32,
    },
    Create {
        server: usize,
    },
    /// CreateBackup with an invalid input.
    Invalid(usize),
    Settle(BackupStatus),
    /// DeleteBackup of the n-th bound id (an unknown id when there is none).
    Delete(usize),
    Update {
        server: usize,
    },
    Maintenance {
        server: usize,
    },
    DeleteServer {
        server: usize,
    },
    Restore {
        server: usize,
        backup: usize,
    },
    DescribeBackups {
        server: Option<usize>,
    },
    DescribeServers,
    AccountAttributes,
}

fn invalid_input(k: usize) -> Value {
    match k % 6 {
        0 => json!({}),
        1 => json!({"ServerName": ""}),
        2 => json!({"ServerName": "a".repeat(41)}),
        3 => json!({"ServerName": "web", "Description": "x".repeat(10001)}),
        4 => json!({"ServerName": 7}),
        _ => json!({"ServerName": "web_1"}),
    }
}

fn status_strategy() -> impl Strategy<Value = ServerStatus> {
    prop::sample::select(ServerStatus::ALL.to_vec())
}

fn act_strategy() -> impl Strategy<Value = Act> {
    let server = 0..NAMES.len();
    let created = 0..2usize;
    prop_oneof![
        2 => (created.clone(), status_strategy(), 0u32..=6, 0u32..=3).prop_map(
            |(server, status, manual, automated)| Act::Put { server, status, manual, automated }
        ),
        1 => (created.clone(), prop::sample::select(vec![ServerStatus::Healthy, ServerStatus::Running, ServerStatus::Unhealthy]), 0u32..=6)
            .prop_map(|(server, status, manual)| Act::Put { server, status, manual, automated: 0 }),
        5 => server.clone().prop_map(|server| Act::Create { server }),
        1 => (0..6usize).prop_map(Act::Invalid),
        2 => prop::sample::select(vec![BackupStatus::Ok, BackupStatus::Failed]).prop_map(Act::Settle),
        2 => (0..16usize).prop_map(Act::Delete),
        1 => server.clone().prop_map(|server| Act::Update { server }),
        1 => server.clone().prop_map(|server| Act::Maintenance { server }),
        1 => server.clone().prop_map(|server| Act::DeleteServer { server }),
        1 => (server.clone(), 0..16usize).prop_map(|(server, backup)| Act::Restore { server, backup }),
        1 => prop::option::of(server).prop_map(|server| Act::DescribeBackups { server }),
        1 => Just(Act::DescribeServers),
        1 => Just(Act::AccountAttributes),
    ]
}

fn nth_id(w: &World, n: usize) -> String {
    let ids: Vec<&String> = w.backups.iter().filter_map(|b| b.id.as_ref()).collect();
    if ids.is_empty() {
        "web-19990101000000000".to_string()
    } else {
        ids[n % ids.len()].clone()
    }
}

fn to_action(act: &Act, w: &World) -> Action {
    let name = |i: usize| NAMES[i].to_string();
    match act {
        Act::Put {
            server,
            status,
            manual,
            automated,
        } => Action::PutServer(spec(
            NAMES[*server],
            *status,
            (*manual).min(w.limit),
            *automated,
        )),
        Act::Create { server } => create_backup(NAMES[*server]),
        Act::Invalid(k) => call(Operation::CreateBackup, invalid_input(*k)),
        Act::Settle(s) => Action::Settle(*s),
        Act::Delete(n) => call(Operation::DeleteBackup, json!({"BackupId": nth_id(w, *n)})),
        Act::Update { server } => call(
            Operation::UpdateServer,
            json!({"ServerName": name(*server), "BackupRetentionCount": 2}),
        ),
        Act::Maintenance { server } => call(
            Operation::StartMaintenance,
            json!({"ServerName": name(*server)}),
        ),
        Act::DeleteServer { server } => call(
            Operation::DeleteServer,
            json!({"ServerName": name(*server)}),
        ),
        Act::Restore { server, backup } => call(
            Operation::RestoreServer,
            json!({"ServerName": name(*server), "BackupId": nth_id(w, *backup)}),
        ),
        Act::DescribeBackups { server: Some(s) } => {
            call(Operation::DescribeBackups, json!({"ServerName": name(*s)}))
        }
        Act::DescribeBackups { server: None } => call(Operation::DescribeBackups, json!({})),
        Act::DescribeServers => call(Operation::DescribeServers, json!({})),
        Act::AccountAttributes => call(Operation::DescribeAccountAttributes, json!({})),
    }
}

/// The world a possibility leads to once the endpoint's answer is seen, as the emulator answers:
/// CreateBackup's id bound from a synthetic answer, fixture ids learned, DELETING backups gone.
fn answered(before: &World, p: &Possible, emulator: bool) -> World {
    let mut w = match &p.expected {
        Expected::CreatedBackup {
            server,
            description,
            finished,
        } => {
            let id = new_id(before, server);
            let status = if *finished { "OK" } else { "IN_PROGRESS" };
            let body = backup_body(server, &id, status, description.as_deref());
            p.explain(&Observation::Success(body), None)
                .expect("the emulator's answer fits its own possibility")
        }
        _ => p.world.clone(),
    };
    bind_fixture_ids(&mut w);
    if emulator {
        w.forget_deleting();
    }
    w
}

fn initial(limit: u32, reading: usize) -> World {
    let readings = Readings::all()[reading % 4].clone();
    World::new(limit, readings)
}

/// Servers that reached BACKING_UP through CreateBackup: BACKING_UP exactly while an
/// IN_PROGRESS backup of theirs exists. Servers the control plane put straight into BACKING_UP
/// (`Pending::Backup { previous: None }`) have no backup in progress and are left out.
fn check_backing_up_invariant(w: &World) -> Result<(), TestCaseError> {
    for (name, s) in w.servers.iter() {
        if s.pending == Some(Pending::Backup { previous: None }) {
            prop_assert_eq!(s.status, ServerStatus::BackingUp);
            continue;
        }
        let in_progress = w
            .backups
            .iter()
            .filter(|b| &b.server == name && b.status == BackupStatus::InProgress)
            .count();
        prop_assert!(
            in_progress <= 1,
            "{} has {} backups in progress",
            name,
            in_progress
        );
        // A17: a server whose backup in progress was deleted may stay BACKING_UP until the job
        // ends, with no IN_PROGRESS backup left.
        let kept = w.readings.pick(Choice::DeleteInProgressKeepsBackingUp) == Some(1)
            && matches!(s.pending, Some(Pending::Backup { .. }));
        prop_assert_eq!(
            s.status == ServerStatus::BackingUp,
            in_progress == 1 || kept,
            "server {} is {} with {} backups in progress",
            name,
            s.status,
            in_progress
        );
    }
    for b in w
        .backups
        .iter()
        .filter(|b| b.status == BackupStatus::InProgress)
    {
        prop_assert!(
            w.servers
                .get(&b.server)
                .is_some_and(|s| s.status == ServerStatus::BackingUp),
            "an IN_PROGRESS backup of {} without a BACKING_UP server",
            b.server
        );
    }
    Ok(())
}

/// (c): an error leaves the world unchanged. The one exception is documented: DeleteBackup of a
/// backup already DELETING may answer ResourceNotFoundException because the deletion completed,
/// and then the world is the one without that backup.
fn check_errors_change_nothing(
    w: &World,
    a: &Action,
    ps: &[Possible],
) -> Result<(), TestCaseError> {
    for p in ps.iter().filter(|p| p.expected.error().is_some()) {
        // An error may settle one of the endpoint's choices (a reading), nothing else.
        let mut unchosen = p.world.clone();
        unchosen.readings = w.readings.clone();
        if unchosen == *w {
            continue;
        }
        // A backup being deleted may turn out gone (DeleteBackup again, or RestoreServer from it).
        let completed_deletion = match a {
            Action::Call {
                op: Operation::DeleteBackup | Operation::RestoreServer,
                input,
            } => {
                let id = input["BackupId"].as_str().unwrap_or_default();
                let mut gone = w.clone();
                let found = gone.backup_index(id);
                if let Some(i) = found {
                    std::sync::Arc::make_mut(&mut gone.backups).remove(i);
                    std::sync::Arc::make_mut(&mut gone.gone).insert(id.to_string());
                }
                p.expected == Expected::Error(ErrorKind::ResourceNotFoundException)
                    && found.is_some_and(|i| w.backups[i].status == BackupStatus::Deleting)
                    && unchosen == gone
            }
            _ => false,
        };
        prop_assert!(
            completed_deletion,
            "{:?} ({}) changed the world for {:?}",
            p.expected,
            p.rule,
            a
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Following the reference reading (the emulator's), with ids bound as the emulator binds
    /// them: (a) the limit, (b) BACKING_UP iff a backup is in progress, (c) errors change
    /// nothing, (d) spontaneous keeps the world first.
    #[test]
    fn reference_runs_keep_the_invariants(
        limit in 1u32..=5,
        reading in 0usize..4,
        acts in prop::collection::vec(act_strategy(), 1..30),
    ) {
        let mut w = initial(limit, reading);
        for act in &acts {
            let a = to_action(act, &w);
            prop_assert_eq!(&spontaneous(&w)[0], &w, "(d) spontaneous(w)[0] == w");
            let ps = step(&w, &a);
            prop_assert!(!ps.is_empty(), "no outcome for {:?}", a);
            check_errors_change_nothing(&w, &a, &ps)?;
            let next = answered(&w, &ps[0], true);
            if let (Action::Call { op: Operation::CreateBackup, input }, Expected::CreatedBackup { server, .. }) = (&a, &ps[0].expected) {
                // (a) through CreateBackup the count never passes the limit.
                prop_assert_eq!(input["ServerName"].as_str(), Some(server.as_str()));
                let (_, high) = next.manual_count(server);
                prop_assert!(high <= limit, "{} has {} manual backups, limit {}", server, high, limit);
            }
            // (a) per server: the fixture puts at most `limit`, CreateBackup never passes it.
            for name in next.servers.keys() {
                let n = next.backups.iter().filter(|b| &b.server == name && b.kind == BackupType::Manual).count() as u32;
                prop_assert!(n <= limit, "{} has {} manual backups, limit {}", name, n, limit);
            }
            check_backing_up_invariant(&next)?;
            w = next;
        }
    }

    /// Any reading, any spontaneous ending between calls: (b), (c) and (d) still hold.
    #[test]
    fn every_reading_keeps_the_invariants(
        limit in 1u32..=5,
        reading in 0usize..4,
        acts in prop::collection::vec((act_strategy(), any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..30),
    ) {
        let mut w = initial(limit, reading);
        for (act, pick, ending) in &acts {
            let ends = spontaneous(&w);
            prop_assert_eq!(&ends[0], &w, "(d) spontaneous(w)[0] == w");
            for e in &ends {
                check_backing_up_invariant(e)?;
            }
            let w0 = ends[ending.index(ends.len())].clone();
            let a = to_action(act, &w0);
            let ps = step(&w0, &a);
            prop_assert!(!ps.is_empty(), "no outcome for {:?}", a);
            check_errors_change_nothing(&w0, &a, &ps)?;
            let p = &ps[pick.index(ps.len())];
            let next = answered(&w0, p, false);
            check_backing_up_invariant(&next)?;
            w = next;
        }
    }
}
