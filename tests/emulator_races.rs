//! Calls at once through a real socket on 127.0.0.1: one CreateBackup wins, and the
//! racy-create mutant lets parallel calls through.

use crate::common::*;

/// 32 CreateBackup calls at once on one server through a real socket: (successes, errors seen,
/// backups listed afterwards).
async fn race(mutant: Option<&str>) -> (usize, Vec<String>, usize) {
    let running = emulator::start(EmulatorConfig {
        mutant: mutant.map(str::to_string),
        ..config()
    })
    .await
    .expect("emulator starts");
    assert!(running.url.starts_with("http://127.0.0.1:"));
    let http = opsworkscm_conformance::target::http_client();
    let put = http
        .put(format!("{}/_conformance/v1/servers/web", running.url))
        .body(r#"{"Status": "HEALTHY"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let calls = (0..32).map(|_| {
        let http = http.clone();
        let url = running.url.clone();
        tokio::spawn(async move {
            let r = http
                .post(&url)
                .header("x-amz-target", format!("{TARGET}.CreateBackup"))
                .header("content-type", wire::AWS_JSON_CONTENT_TYPE)
                .body(r#"{"ServerName": "web"}"#)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        })
    });
    let mut successes = 0;
    let mut errors = Vec::new();
    for call in futures_join(calls.collect()).await {
        match call {
            (200, _) => successes += 1,
            (_, body) => errors.push(body["__type"].as_str().unwrap_or("?").to_string()),
        }
    }
    let listing: Value = http
        .post(&running.url)
        .header("x-amz-target", format!("{TARGET}.DescribeBackups"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    running.shutdown().await;
    (
        successes,
        errors,
        listing["Backups"].as_array().unwrap().len(),
    )
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_create_backup_on_one_server_succeeds_exactly_once() {
    let (successes, errors, listed) = race(None).await;
    assert_eq!(successes, 1, "errors: {errors:?}");
    assert_eq!(errors.len(), 31);
    assert!(
        errors.iter().all(|e| e == "InvalidStateException"),
        "{errors:?}"
    );
    assert_eq!(listed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_racy_create_mutant_lets_parallel_calls_through() {
    // Whether two of 32 parallel calls meet inside the 5 ms window depends on scheduling; on a
    // loaded 2-core machine one round may serialize them. So up to 20 rounds (bounded), and
    // every round must list exactly the backups it answered with success.
    let mut most = 0;
    for _ in 0..20 {
        let (successes, _, listed) = race(Some("racy-create")).await;
        assert_eq!(listed, successes);
        most = most.max(successes);
        if most > 1 {
            break;
        }
    }
    assert!(
        most > 1,
        "the race is real: at most {most} success per round"
    );
}
