//! The reference model agrees with the emulator: a tour whose every answer the model accepts,
//! and that catches the mutants.

use crate::common::*;

/// The model as a checker: folds each answer over the worlds the model allows (any reading,
/// anything an endpoint may do by itself between calls) and keeps those that explain it.
mod model_agrees {
    use super::*;
    use opsworkscm_conformance::model::{
        self, spontaneous, Action, BackupStatus, CallWindow, Observation, ServerSpec, ServerStatus,
        World,
    };
    use opsworkscm_conformance::wire::{decode_response, Answer as Decoded};

    struct Checked {
        client: Client,
        worlds: Vec<World>,
        /// The first rule a divergence broke, if one was seen.
        divergence: Option<String>,
    }

    impl Checked {
        fn new(config: EmulatorConfig) -> Checked {
            Checked {
                client: Client::new(config),
                worlds: World::all_readings(50),
                divergence: None,
            }
        }

        fn fixture(&mut self, action: Action) {
            let mut next: Vec<World> = self
                .worlds
                .iter()
                .flat_map(|w| model::step(w, &action))
                .map(|p| p.world)
                .collect();
            next.sort();
            next.dedup();
            self.worlds = next;
        }

        async fn put(&mut self, name: &str, status: ServerStatus, manual: u32, automated: u32) {
            self.put_spec(ServerSpec {
                name: name.into(),
                status,
                engine: "ChefAutomate".into(),
                manual_backups: manual,
                automated_backups: automated,
            })
            .await;
        }

        async fn put_spec(&mut self, spec: ServerSpec) {
            self.client
                .put_server(
                    &spec.name,
                    json!({"Status": spec.status.as_str(), "Engine": spec.engine, "ManualBackups": spec.manual_backups, "AutomatedBackups": spec.automated_backups}),
                )
                .await;
            self.fixture(Action::PutServer(spec));
        }

        async fn settle(&mut self) {
            self.client.settle(json!({})).await;
            self.fixture(Action::Settle(BackupStatus::Ok));
        }

        async fn call(&mut self, op: Operation, input: Value) -> Answer {
            let sent_ms = chrono::Utc::now().timestamp_millis();
            let a = self.client.call(op.name(), input.clone()).await;
            let window = CallWindow {
                sent_ms,
                answered_ms: chrono::Utc::now().timestamp_millis(),
            };
            if self.divergence.is_some() {
                return a;
            }
            let body = serde_json::to_vec(&a.body).unwrap();
            let header = a
                .headers
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_string());
            let observation = match decode_response(
                Dialect::AwsJson,
                op,
                a.status.as_u16(),
                header.as_deref(),
                &body,
            ) {
                Decoded::Observed(o) => o,
                Decoded::Protocol(m) => {
                    self.divergence = Some(m.rule.to_string());
                    return a;
                }
                other => panic!("{op}: {other:?}"),
            };
            if let Observation::Success(out) = &observation {
                let problems = check_output(op, out);
                if !problems.is_empty() {
                    self.divergence = Some(format!("shape: {problems:?}"));
                    return a;
                }
            }
            let action = Action::Call { op, input };
            let mut next = Vec::new();
            let mut broken = Vec::new();
            for w in &self.worlds {
                for w in spontaneous(w) {
                    for p in model::step(&w, &action) {
                        match p.explain(&observation, Some(window)) {
                            Ok(w) => next.push(w),
                            Err(m) => broken.push(m.rule.to_string()),
                        }
                    }
                }
            }
            next.sort();
            next.dedup();
            if next.is_empty() {
                self.divergence = Some(broken.first().cloned().unwrap_or_default());
            } else {
                self.worlds = next;
            }
            a
        }
    }

    /// A tour of every operation; returns the first divergence the model saw.
    async fn tour(config: EmulatorConfig) -> Option<String> {
        let mut c = Checked::new(config);
        let create = Operation::CreateBackup;
        c.put("web", ServerStatus::Healthy, 49, 3).await;
        c.put("db", ServerStatus::BackingUp, 0, 0).await;
        c.put("old", ServerStatus::Setup, 0, 0).await;
        c.call(Operation::DescribeBackups, json!({})).await;
        c.call(
            create,
            json!({"ServerName": "web", "Description": "d".repeat(10_000)}),
        )
        .await;
        c.call(create, json!({"ServerName": "WEB"})).await;
        c.call(create, json!({"ServerName": "web"})).await;
        c.call(create, json!({"ServerName": "db"})).await;
        c.call(create, json!({"ServerName": "db"})).await;
        c.call(create, json!({"ServerName": "old"})).await;
        c.call(create, json!({"ServerName": "a".repeat(41)})).await;
        c.call(
            create,
            json!({"ServerName": "ghost", "Description": "d".repeat(10_001)}),
        )
        .await;
        c.call(
            create,
            json!({"ServerName": "web", "Tags": [{"Key": "", "Value": "v"}]}),
        )
        .await;
        c.call(
            Operation::UpdateServer,
            json!({"ServerName": "web", "BackupRetentionCount": 2}),
        )
        .await;
        c.call(Operation::DescribeServers, json!({})).await;
        // Backups may finish by themselves between calls, so only a listing shows that a
        // server's status and its backups disagree.
        c.call(Operation::DescribeBackups, json!({})).await;
        c.settle().await;
        c.call(Operation::DescribeServers, json!({})).await;
        c.call(create, json!({"ServerName": "web"})).await;
        let listing = c
            .call(Operation::DescribeBackups, json!({"ServerName": "web"}))
            .await;
        let id = listing.body["Backups"][0]["BackupId"].clone();
        c.call(Operation::DeleteBackup, json!({"BackupId": id}))
            .await;
        c.call(Operation::DescribeBackups, json!({"ServerName": "web"}))
            .await;
        c.call(Operation::DescribeAccountAttributes, json!({}))
            .await;
        c.call(create, json!({"ServerName": "web"})).await;
        c.call(Operation::DescribeBackups, json!({})).await;
        c.call(Operation::StartMaintenance, json!({"ServerName": "web"}))
            .await;
        c.call(Operation::DeleteServer, json!({"ServerName": "old"}))
            .await;
        c.call(Operation::DescribeServers, json!({})).await;
        c.call(Operation::DeleteServer, json!({"ServerName": "web"}))
            .await;
        other_servers(&mut c).await;
        c.divergence
    }

    /// The rest of the tour: UpdateServer on a HEALTHY server, a Puppet server's backup, a
    /// backup in progress deleted, and a restore from another server's backup.
    async fn other_servers(c: &mut Checked) {
        c.put_spec(ServerSpec {
            name: "pup".into(),
            status: ServerStatus::Healthy,
            engine: "Puppet".into(),
            manual_backups: 1,
            automated_backups: 0,
        })
        .await;
        c.put("app", ServerStatus::Healthy, 0, 0).await;
        c.call(
            Operation::UpdateServer,
            json!({"ServerName": "app", "BackupRetentionCount": 3}),
        )
        .await;
        c.call(Operation::DescribeServers, json!({})).await;
        let made = c
            .call(Operation::CreateBackup, json!({"ServerName": "pup"}))
            .await;
        let id = made.body["Backup"]["BackupId"].clone();
        c.call(Operation::DeleteBackup, json!({"BackupId": id}))
            .await;
        let listing = c
            .call(Operation::DescribeBackups, json!({"ServerName": "pup"}))
            .await;
        let foreign = listing.body["Backups"][0]["BackupId"].clone();
        c.call(
            Operation::RestoreServer,
            json!({"ServerName": "app", "BackupId": foreign}),
        )
        .await;
    }

    #[tokio::test]
    async fn the_model_accepts_every_answer_of_the_emulator() {
        assert_eq!(tour(config()).await, None);
        let timed = EmulatorConfig {
            backup_duration: Some(Duration::ZERO),
            ..config()
        };
        assert_eq!(tour(timed).await, None);
    }

    #[tokio::test]
    async fn the_model_catches_the_mutants_on_the_tour() {
        let mut survivors = Vec::new();
        for m in mutants()
            .iter()
            .filter(|m| m.dialect != Some(Dialect::Envelope))
        {
            let found = tour(EmulatorConfig {
                mutant: Some(m.name.to_string()),
                ..config()
            })
            .await;
            if found.is_none() {
                survivors.push(m.name);
            }
        }
        // The races need concurrency, which a sequential tour does not have.
        assert_eq!(survivors, ["racy-create", "racy-create-yield"]);
    }
}
