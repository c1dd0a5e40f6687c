//! What the model says about server statuses, for the code that shows or steers by them: the
//! statuses a state rule accepts, listed as the documents list them. The emulator's messages ask
//! these (and the generator steps the model itself), so no status list is written outside the
//! model.

use super::ServerStatus;

impl ServerStatus {
    /// The 13 statuses in the order the documents name them: CreateBackup's RUNNING, HEALTHY and
    /// UNHEALTHY first, then the others in the enum's order.
    pub const LISTED: [ServerStatus; 13] = [
        ServerStatus::Running,
        ServerStatus::Healthy,
        ServerStatus::Unhealthy,
        ServerStatus::BackingUp,
        ServerStatus::ConnectionLost,
        ServerStatus::Creating,
        ServerStatus::Deleting,
        ServerStatus::Modifying,
        ServerStatus::Failed,
        ServerStatus::Restoring,
        ServerStatus::Setup,
        ServerStatus::UnderMaintenance,
        ServerStatus::Terminated,
    ];

    /// The statuses a state rule accepts, in words: `listed(ServerStatus::may_back_up)` is
    /// "RUNNING, HEALTHY or UNHEALTHY".
    pub fn listed(accepts: impl Fn(ServerStatus) -> bool) -> String {
        let names: Vec<&str> = ServerStatus::LISTED
            .into_iter()
            .filter(|s| accepts(*s))
            .map(ServerStatus::as_str)
            .collect();
        match names.split_last() {
            None => "no status".to_string(),
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_holds_every_status_once() {
        let mut listed = ServerStatus::LISTED.to_vec();
        listed.sort();
        assert_eq!(listed, ServerStatus::ALL.to_vec());
    }

    #[test]
    fn each_state_rule_lists_its_statuses_as_the_documents_do() {
        assert_eq!(
            ServerStatus::listed(ServerStatus::may_back_up),
            "RUNNING, HEALTHY or UNHEALTHY"
        );
        assert_eq!(
            ServerStatus::listed(ServerStatus::may_start_maintenance),
            "HEALTHY or UNHEALTHY"
        );
        assert_eq!(
            ServerStatus::listed(ServerStatus::may_restore),
            "RUNNING, HEALTHY, UNHEALTHY, CONNECTION_LOST or TERMINATED"
        );
        assert_eq!(
            ServerStatus::listed(|s| s == ServerStatus::Failed),
            "FAILED"
        );
    }
}
