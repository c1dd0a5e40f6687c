//! State transitions: each pair of API calls in succession within a case, with the state of the
//! server the second call names just before it is sent: its status, whether its manual backups
//! are at the limit or below it, and whether it has manual and automated backups.
//!
//! The denominator ([`allowed`]): every pair of the operations a run calls; with a control
//! plane, every context column for a second call whose input (in the service model) names a
//! server (a `ServerName` or `BackupId` member). The control plane puts a server in any status
//! with any number of backups of each type, and a first call the model refuses leaves that state
//! as it was, so after any first call every context is reachable (a unit test checks this
//! against the model). A call that names no server (DescribeAccountAttributes) has no context:
//! only its pair counts. Without a control plane the harness cannot choose a server's state, so
//! only the pairs count.

use serde_json::Value;

use crate::model::service::{ServiceModel, Shape};
use crate::model::{BackupType, Operation, ServerStatus, World};

/// A column of the transition matrix: the pair itself, or the state the second call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// The pair, whatever the state.
    Any,
    Status(ServerStatus),
    /// Fewer manual backups than the limit (in every world the model keeps).
    BelowLimit,
    /// At least the limit of manual backups (in every world the model keeps).
    AtLimit,
    /// The server has a manual backup.
    Manual,
    /// The server has an automated backup.
    Automated,
}

impl Column {
    /// Every column, in the report's order.
    pub fn all() -> Vec<Column> {
        let mut out = vec![Column::Any];
        out.extend(ServerStatus::ALL.into_iter().map(Column::Status));
        out.extend([
            Column::BelowLimit,
            Column::AtLimit,
            Column::Manual,
            Column::Automated,
        ]);
        out
    }

    pub fn label(self) -> String {
        match self {
            Column::Any => "any state".into(),
            Column::Status(s) => s.as_str().into(),
            Column::BelowLimit => "below limit".into(),
            Column::AtLimit => "at limit".into(),
            Column::Manual => "manual backups".into(),
            Column::Automated => "automated backups".into(),
        }
    }
}

/// One cell: `second` called right after `first`, in a state of `column`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub first: Operation,
    pub second: Operation,
    pub column: Column,
}

/// Whether `op`'s input (in the service model) names a server: a `ServerName` or `BackupId`.
pub fn names_server(op: Operation) -> bool {
    let model = ServiceModel::get();
    let input = model.operation(op.name()).and_then(|o| o.input.as_deref());
    match input.map(|name| model.shape(name)) {
        Some(Shape::Structure { members, .. }) => members
            .iter()
            .any(|(m, _)| m == "ServerName" || m == "BackupId"),
        _ => false,
    }
}

/// Every cell the model allows for a run calling `operations` (see the module's comment).
pub fn allowed(operations: &[Operation], control_plane: bool) -> Vec<Cell> {
    let mut out = Vec::new();
    for &first in operations {
        for &second in operations {
            let columns = if control_plane && names_server(second) {
                Column::all()
            } else {
                vec![Column::Any]
            };
            out.extend(columns.into_iter().map(|column| Cell {
                first,
                second,
                column,
            }));
        }
    }
    out
}

/// The server a call names in `world`: its `ServerName` if the world has it, else the server
/// of the backup its `BackupId` names.
fn named_server<'w>(world: &'w World, input: &Value) -> Option<&'w str> {
    if let Some(s) = input.get("ServerName").and_then(Value::as_str) {
        if let Some((name, _)) = world.servers.get_key_value(s) {
            return Some(name);
        }
    }
    let id = input.get("BackupId").and_then(Value::as_str)?;
    let backup = world.backups.iter().find(|b| b.id.as_deref() == Some(id))?;
    world
        .servers
        .get_key_value(&backup.server)
        .map(|(name, _)| name.as_str())
}

/// The columns a call with `input` meets in `world` (the state just before it is sent).
pub fn context(world: &World, input: &Value) -> Vec<Column> {
    let mut out = vec![Column::Any];
    let Some(name) = named_server(world, input) else {
        return out;
    };
    out.push(Column::Status(world.servers[name].status));
    let (low, high) = world.manual_count(name);
    if high < world.limit {
        out.push(Column::BelowLimit);
    } else if low >= world.limit {
        out.push(Column::AtLimit);
    }
    let has = |kind: BackupType| {
        world
            .backups
            .iter()
            .any(|b| b.server == name && b.kind == kind)
    };
    if has(BackupType::Manual) {
        out.push(Column::Manual);
    }
    if has(BackupType::Automated) {
        out.push(Column::Automated);
    }
    out
}
