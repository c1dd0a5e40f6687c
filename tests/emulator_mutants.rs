//! One witness per mutant of the emulator: a short scenario where the mutant answers
//! differently from the reference.

mod common;

use common::*;

mod mutant {
    use super::*;

    #[test]
    fn every_mutant_is_found_by_name_and_unknown_names_get_suggestions() {
        assert!(mutants().len() >= 22);
        for m in mutants() {
            assert_eq!(find_mutant(m.name).unwrap().name, m.name);
        }
        let err = find_mutant("limit-of-by-one-high").unwrap_err();
        assert!(err.contains("did you mean limit-off-by-one-high"), "{err}");
        let err = find_mutant("no-such-bug").unwrap_err();
        assert!(err.contains("--list-mutants"), "{err}");
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
                            ("BackupId" | "BackupArn" | "S3LogUrl" | "id" | "created_at", _) => {
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

    /// A short scenario on which `mutant` answers differently from the reference.
    async fn witness(mutant: &str, c: &Client) -> Vec<Value> {
        let healthy = json!({"Status": "HEALTHY"});
        let create = |input: Value| c.call("CreateBackup", input);
        let mut seen = Vec::new();
        match mutant {
            "limit-off-by-one-high" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 50}))
                    .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "limit-off-by-one-low" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 49}))
                    .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "counts-automated" => {
                c.put_server(
                    "web",
                    json!({"Status": "HEALTHY", "ManualBackups": 45, "AutomatedBackups": 5}),
                )
                .await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "delete-keeps-slot" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 50}))
                    .await;
                let listing = c
                    .call("DescribeBackups", json!({"ServerName": "web"}))
                    .await;
                let id = listing.body["Backups"][0]["BackupId"].clone();
                seen.push(c.call("DeleteBackup", json!({"BackupId": id})).await);
                seen.push(
                    c.call("DescribeBackups", json!({"ServerName": "web"}))
                        .await,
                );
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "backing-up-allows-backup" => {
                c.put_server("web", json!({"Status": "BACKING_UP"})).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "backup-from-any-state" => {
                c.put_server("web", json!({"Status": "SETUP"})).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "update-while-backing-up" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                seen.push(
                    c.call(
                        "UpdateServer",
                        json!({"ServerName": "web", "BackupRetentionCount": 2}),
                    )
                    .await,
                );
            }
            "no-backing-up-status" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                seen.push(
                    c.call("DescribeServers", json!({"ServerName": "web"}))
                        .await,
                );
            }
            "case-insensitive-names" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "WEB"})).await);
            }
            "description-off-by-one" => {
                c.put_server("web", healthy).await;
                seen.push(
                    create(json!({"ServerName": "web", "Description": "d".repeat(10_000)})).await,
                );
            }
            "tags-unchecked" => {
                c.put_server("web", healthy).await;
                seen.push(
                    create(json!({"ServerName": "web", "Tags": [{"Key": "", "Value": "v"}]})).await,
                );
            }
            "server-name-41" => {
                seen.push(create(json!({"ServerName": "a".repeat(41)})).await);
            }
            "listing-oldest-first" => {
                c.put_server("web", json!({"Status": "HEALTHY", "ManualBackups": 3}))
                    .await;
                seen.push(c.call("DescribeBackups", json!({})).await);
            }
            "settle-keeps-backing-up" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
                c.settle(json!({})).await;
                seen.push(c.call("DescribeServers", json!({})).await);
            }
            "created-at-millis" | "status-lowercase" | "missing-backup-id" => {
                c.put_server("web", healthy).await;
                seen.push(create(json!({"ServerName": "web"})).await);
            }
            "error-http-500" | "error-type-missing" => {
                seen.push(create(json!({"ServerName": "nope"})).await);
            }
            "not-found-before-validation" => {
                seen.push(
                    create(json!({"ServerName": "nope", "Description": "d".repeat(10_001)})).await,
                );
            }
            "racy-create" | "racy-create-yield" => {
                c.put_server("web", healthy).await;
                let (a, b) = tokio::join!(
                    create(json!({"ServerName": "web"})),
                    create(json!({"ServerName": "web"}))
                );
                let mut statuses = [a.status.as_u16(), b.status.as_u16()];
                statuses.sort();
                return vec![json!(statuses)];
            }
            other => panic!("no witness scenario for mutant {other}"),
        }
        seen.iter().map(digest).collect()
    }

    #[tokio::test]
    async fn every_mutant_answers_differently_from_the_reference_somewhere() {
        for m in mutants().iter().filter(|m| m.dialect.is_none()) {
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
        for m in mutants().iter().filter(|m| m.dialect.is_none()) {
            let c = Client::new(EmulatorConfig {
                mutant: Some(m.name.to_string()),
                ..config()
            });
            let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
            assert_eq!(caps.body["maxManualBackups"], 50, "{}", m.name);
        }
    }
}
