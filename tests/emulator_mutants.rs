//! One witness per mutant of the emulator: a short scenario where the mutant answers
//! differently from the reference.

use crate::common::*;

mod mutant {
    use super::*;

    #[test]
    fn every_mutant_is_found_by_name_and_unknown_names_get_suggestions() {
        assert!(mutants().len() >= 32);
        for m in mutants() {
            assert_eq!(find_mutant(m.name).unwrap().name, m.name);
        }
        let err = find_mutant("limit-of-by-one-high").unwrap_err();
        assert!(
            err.message.contains("did you mean limit-off-by-one-high"),
            "{err}"
        );
        let err = find_mutant("no-such-bug").unwrap_err();
        assert!(err.hint.contains("--list-mutants"), "{err}");
        let err = Emulator::new(&EmulatorConfig {
            mutant: Some("status-lowercas".into()),
            ..config()
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("status-lowercase"), "{err}");
    }

    /// What a scenario showed, with ids and times reduced to their form so the reference and a
    /// mutant can be compared.
    fn digest(a: &Answer) -> Value {
        fn norm(v: &Value) -> Value {
            match v {
                Value::Object(o) => {
                    let mut out = serde_json::Map::new();
                    for (k, v) in o {
                        let v = match (k.as_str(), v) {
                            ("BackupArn", Value::String(arn)) => {
                                // What the ARN names (backup/... or server/...), not the id.
                                json!(arn.rsplit_once('/').map_or("", |(kind, _)| kind))
                            }
                            ("BackupId" | "S3LogUrl" | "id" | "created_at", _) => {
                                json!("<id>")
                            }
                            ("CreatedAt", v) if v.as_f64().is_some_and(|x| x < 1e11) => {
                                json!("<seconds>")
                            }
                            ("CreatedAt", _) => json!("<not seconds>"),
                            ("Backups", Value::Array(items)) => {
                                let times: Vec<f64> = items
                                    .iter()
                                    .filter_map(|b| b["CreatedAt"].as_f64())
                                    .collect();
                                let order = if times.windows(2).all(|w| w[0] >= w[1]) {
                                    "newest-first"
                                } else {
                                    "not newest-first"
                                };
                                json!({"order": order, "items": items.iter().map(norm).collect::<Vec<_>>()})
                            }
                            (_, v) => norm(v),
                        };
                        out.insert(k.clone(), v);
                    }
                    Value::Object(out)
                }
                Value::Array(items) => Value::Array(items.iter().map(norm).collect()),
                other => other.clone(),
            }
        }
        json!({"status": a.status.as_u16(), "body": norm(&a.body), "errortype": a.headers.get("x-amzn-errortype").map(|v| v.to_str().unwrap())})
    }

    /// The witnesses that are one CreateBackup: how `web` is put first (None: not at all), and
    /// the input.
    fn one_create(mutant: &str) -> Option<(Option<Value>, Value)> {
        let healthy = || Some(json!({"Status": "HEALTHY"}));
        let web = json!({"ServerName": "web"});
        Some(match mutant {
            "limit-off-by-one-high" => {
                (Some(json!({"Status": "HEALTHY", "ManualBackups": 50})), web)
            }
            "limit-off-by-one-low" => {
                (Some(json!({"Status": "HEALTHY", "ManualBackups": 49})), web)
            }
            "counts-automated" => (
                Some(json!({"Status": "HEALTHY", "ManualBackups": 45, "AutomatedBackups": 5})),
                web,
            ),
            "backing-up-allows-backup" => (Some(json!({"Status": "BACKING_UP"})), web),
            "backup-from-any-state" => (Some(json!({"Status": "SETUP"})), web),
            "case-insensitive-names" => (healthy(), json!({"ServerName": "WEB"})),
            "description-off-by-one" => (
                healthy(),
                json!({"ServerName": "web", "Description": "d".repeat(10_000)}),
            ),
            "tags-unchecked" => (
                healthy(),
                json!({"ServerName": "web", "Tags": [{"Key": "", "Value": "v"}]}),
            ),
            "server-name-41" => (None, json!({"ServerName": "a".repeat(41)})),
            "created-at-millis"
            | "status-lowercase"
            | "missing-backup-id"
            | "arn-names-server"
            | "description-invented"
            | "created-http-201" => (healthy(), web),
            "error-http-500" | "error-type-missing" => (None, json!({"ServerName": "nope"})),
            "not-found-before-validation" => (
                None,
                json!({"ServerName": "nope", "Description": "d".repeat(10_001)}),
            ),
            "backup-engine-default" => {
                (Some(json!({"Status": "HEALTHY", "Engine": "Puppet"})), web)
            }
            _ => return None,
        })
    }

    /// A short scenario on which `mutant` answers differently from the reference.
    async fn witness(mutant: &str, c: &Client) -> Vec<Value> {
        let create = |input: Value| c.call("CreateBackup", input);
        if let Some((put, input)) = one_create(mutant) {
            if let Some(put) = put {
                c.put_server("web", put).await;
            }
            return vec![digest(&create(input).await)];
        }
        match mutant {
            "created-at-listing-time" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                let created = create(json!({"ServerName": "web"})).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let listing = c.call("DescribeBackups", json!({})).await;
                let same =
                    created.body["Backup"]["CreatedAt"] == listing.body["Backups"][0]["CreatedAt"];
                vec![json!({ "same CreatedAt": same })]
            }
            "racy-create" | "racy-create-yield" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                let (a, b) = tokio::join!(
                    create(json!({"ServerName": "web"})),
                    create(json!({"ServerName": "web"}))
                );
                let mut statuses = [a.status.as_u16(), b.status.as_u16()];
                statuses.sort();
                vec![json!(statuses)]
            }
            _ => {
                let seen = match deleting_witness(mutant, c).await {
                    Some(seen) => seen,
                    None => state_witness(mutant, c).await,
                };
                seen.iter().map(digest).collect()
            }
        }
    }

    /// The id of the newest backup `filter` lists.
    async fn first_backup_id(c: &Client, filter: Value) -> Value {
        let listing = c.call("DescribeBackups", filter).await;
        listing.body["Backups"][0]["BackupId"].clone()
    }

    /// The witnesses that delete or restore a backup, or delete a server.
    async fn deleting_witness(mutant: &str, c: &Client) -> Option<Vec<Answer>> {
        let mut seen = Vec::new();
        let web = json!({"ServerName": "web"});
        match mutant {
            "delete-keeps-slot" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 50}))
                    .await;
                let id = first_backup_id(c, web.clone()).await;
                seen.push(c.call("DeleteBackup", json!({"BackupId": id})).await);
                seen.push(c.call("DescribeBackups", web.clone()).await);
                seen.push(c.call("CreateBackup", web).await);
            }
            "deleted-backup-reappears" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 1}))
                    .await;
                let id = first_backup_id(c, json!({})).await;
                seen.push(c.call("DeleteBackup", json!({"BackupId": id})).await);
                for _ in 0..3 {
                    seen.push(c.call("DescribeBackups", json!({})).await);
                }
            }
            "delete-in-progress-refused" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                let created = c.call("CreateBackup", web).await;
                let id = created.body["Backup"]["BackupId"].clone();
                seen.push(c.call("DeleteBackup", json!({"BackupId": id})).await);
            }
            "restore-any-backup" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                c.put_server("db", json!({"Status": "HEALTHY", "ManualBackups": 1}))
                    .await;
                let id = first_backup_id(c, json!({"ServerName": "db"})).await;
                let restore = json!({"ServerName": "web", "BackupId": id});
                seen.push(c.call("RestoreServer", restore).await);
            }
            "delete-server-while-busy" => {
                c.put_server("web", json!({"Status": "UNDER_MAINTENANCE"}))
                    .await;
                seen.push(c.call("DeleteServer", web).await);
            }
            _ => return None,
        }
        Some(seen)
    }

    /// The witnesses that look at a server's state or its listing after a change.
    async fn state_witness(mutant: &str, c: &Client) -> Vec<Answer> {
        let mut seen = Vec::new();
        let web = json!({"ServerName": "web"});
        match mutant {
            "update-while-backing-up" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                seen.push(c.call("CreateBackup", web).await);
                let update = json!({"ServerName": "web", "BackupRetentionCount": 2});
                seen.push(c.call("UpdateServer", update).await);
            }
            "no-backing-up-status" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                seen.push(c.call("CreateBackup", web.clone()).await);
                seen.push(c.call("DescribeServers", web).await);
            }
            "listing-oldest-first" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 3}))
                    .await;
                seen.push(c.call("DescribeBackups", json!({})).await);
            }
            "settle-keeps-backing-up" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                seen.push(c.call("CreateBackup", web).await);
                c.settle(json!({})).await;
                seen.push(c.call("DescribeServers", json!({})).await);
            }
            "update-ignores-retention" => {
                c.put_server("web", json!({"Status": "HEALTHY"})).await;
                let update = json!({"ServerName": "web", "BackupRetentionCount": 7});
                seen.push(c.call("UpdateServer", update).await);
                seen.push(c.call("DescribeServers", web).await);
            }
            other => panic!("no witness scenario for mutant {other}"),
        }
        seen
    }

    #[tokio::test]
    async fn every_mutant_answers_differently_from_the_reference_somewhere() {
        for m in mutants()
            .iter()
            .filter(|m| m.dialect != Some(Dialect::Envelope))
        {
            let reference = witness(m.name, &Client::new(config())).await;
            let mutated = witness(
                m.name,
                &Client::new(EmulatorConfig {
                    mutant: Some(m.name.to_string()),
                    ..config()
                }),
            )
            .await;
            assert_ne!(reference, mutated, "mutant {} is indistinguishable", m.name);
        }
    }

    #[tokio::test]
    async fn the_capabilities_call_reports_the_configured_limit_under_every_mutant() {
        for m in mutants()
            .iter()
            .filter(|m| m.dialect != Some(Dialect::Envelope))
        {
            let c = Client::new(EmulatorConfig {
                mutant: Some(m.name.to_string()),
                ..config()
            });
            let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
            assert_eq!(caps.body["maxManualBackups"], 50, "{}", m.name);
        }
    }
}
