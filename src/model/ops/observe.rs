//! The operations that only read: DescribeBackups (by id, by server with A13, or all) and
//! DescribeServers.

use std::sync::Arc;

use serde_json::Value;

use super::*;

/// Splits the backups that match `filter` into those that must be listed and those that may be
/// (being deleted, or unbound when a BackupId is asked for).
fn listing(world: &World, filter: impl Fn(&Backup) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut listed = Vec::new();
    let mut maybe = Vec::new();
    for (i, b) in world.backups.iter().enumerate().rev() {
        if !filter(b) {
            continue;
        }
        if b.status == BackupStatus::Deleting {
            maybe.push(i);
        } else {
            listed.push(i);
        }
    }
    (listed, maybe)
}

pub(super) fn describe_backups(o: &mut Outcomes, input: &Value) {
    let w = o.world.clone();
    if w.backups.iter().any(|b| b.id.is_some()) || !w.gone.is_empty() {
        // What was seen of a backup before binds what a listing may show now.
        o.pass(rules::BACKUP_CREATED_AT_STABLE);
        o.pass(rules::BACKUP_STATUS_MONOTONIC);
    }
    if let Some(id) = str_member(input, "BackupId") {
        return backup_by_id(o, w, id);
    }
    if let Some(name) = str_member(input, "ServerName") {
        let (listed, maybe_gone) = listing(&w, |b| b.server == name);
        if !w.servers.contains_key(name) {
            // A13: an unknown server gives ResourceNotFoundException or an empty list, the
            // same way every time.
            let (choice, rule) = (
                Choice::DescribeUnknownServer,
                rules::AMBIGUITY_DESCRIBE_UNKNOWN_SERVER,
            );
            o.error_picking(ErrorKind::ResourceNotFoundException, rule, choice, 0);
            if o.allows(choice, 1) {
                let expected = Expected::Backups { listed, maybe_gone };
                o.success(expected, w.picking(choice, 1), rule);
            }
            return;
        }
        o.pass(rules::DESCRIBE_BACKUPS_ORDER);
        o.pass(rules::DESCRIBE_BACKUPS_FILTER);
        o.success(
            Expected::Backups { listed, maybe_gone },
            w,
            rules::DESCRIBE_BACKUPS_LISTING,
        );
        return;
    }
    let (listed, maybe_gone) = listing(&w, |_| true);
    o.pass(rules::DESCRIBE_BACKUPS_ORDER);
    o.success(
        Expected::Backups { listed, maybe_gone },
        w,
        rules::DESCRIBE_BACKUPS_LISTING,
    );
}

/// DescribeBackups with a BackupId: that backup, or ResourceNotFoundException; an id the model
/// has not seen may be one the endpoint chose for an unbound backup.
fn backup_by_id(o: &mut Outcomes, w: World, id: &str) {
    match w.backup_index(id) {
        Some(i) if w.backups[i].status == BackupStatus::Deleting => {
            let expected = Expected::Backups {
                listed: vec![],
                maybe_gone: vec![i],
            };
            o.success(expected, w.clone(), rules::DESCRIBE_BACKUPS_FILTER);
            o.error(
                ErrorKind::ResourceNotFoundException,
                rules::DESCRIBE_BACKUPS_NOT_FOUND,
            );
        }
        Some(i) => o.success(
            Expected::Backups {
                listed: vec![i],
                maybe_gone: vec![],
            },
            w,
            rules::DESCRIBE_BACKUPS_FILTER,
        ),
        None => {
            o.error(
                ErrorKind::ResourceNotFoundException,
                rules::DESCRIBE_BACKUPS_NOT_FOUND,
            );
            // The id may be one the endpoint chose for a backup not yet observed: one
            // possibility per kind of unbound backup (backups made together are alike), with
            // the id bound, so the answer must list exactly that backup under that id.
            let mut alike = Vec::new();
            for (i, b) in w.backups.iter().enumerate() {
                if o.done() {
                    return;
                }
                let class = (&b.server, b.kind, b.seq, b.status);
                if b.id.is_some() || alike.contains(&class) {
                    continue;
                }
                alike.push(class);
                let mut bound = w.clone();
                Arc::make_mut(&mut bound.backups)[i].id = Some(id.to_string());
                let (listed, maybe_gone) = if b.status == BackupStatus::Deleting {
                    (vec![], vec![i])
                } else {
                    (vec![i], vec![])
                };
                o.success(
                    Expected::Backups { listed, maybe_gone },
                    bound,
                    rules::DESCRIBE_BACKUPS_FILTER,
                );
            }
        }
    }
}

pub(super) fn describe_servers(o: &mut Outcomes, input: &Value) {
    let w = o.world.clone();
    if let Some(name) = str_member(input, "ServerName") {
        if w.servers.contains_key(name) {
            o.pass(rules::DESCRIBE_SERVERS_NOT_FOUND);
            o.success(
                Expected::Servers(vec![name.to_string()]),
                w,
                rules::DESCRIBE_SERVERS_LISTING,
            );
        } else {
            o.error(
                ErrorKind::ResourceNotFoundException,
                rules::DESCRIBE_SERVERS_NOT_FOUND,
            );
        }
        return;
    }
    let names = w.servers.keys().cloned().collect();
    o.success(Expected::Servers(names), w, rules::DESCRIBE_SERVERS_LISTING);
}
