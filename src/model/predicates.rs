//! What the model says about server statuses, for the code that shows or steers by them: the
//! statuses a state rule accepts, listed as the documents list them. The emulator's messages ask
//! these (and the generator steps the model itself), so no status list is written outside the
//! model.

use super::ServerStatus;

impl ServerStatus {
    /// The statuses in the order the documents name them: CreateBackup's documentation names
    /// RUNNING, HEALTHY and UNHEALTHY in that order, so they come first; the others follow in
    /// the enum's order.
    pub fn in_listed_order() -> impl Iterator<Item = ServerStatus> {
        const NAMED_FIRST: [ServerStatus; 3] = [
            ServerStatus::Running,
            ServerStatus::Healthy,
            ServerStatus::Unhealthy,
        ];
        let rest = ServerStatus::ALL
            .into_iter()
            .filter(|s| !NAMED_FIRST.contains(s));
        NAMED_FIRST.into_iter().chain(rest)
    }

    /// The statuses a state rule accepts, in words: `listed(ServerStatus::may_back_up)` is
    /// "RUNNING, HEALTHY or UNHEALTHY".
    pub fn listed(accepts: impl Fn(ServerStatus) -> bool) -> String {
        let names: Vec<&str> = ServerStatus::in_listed_order()
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
        let mut listed: Vec<ServerStatus> = ServerStatus::in_listed_order().collect();
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
