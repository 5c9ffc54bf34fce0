//! Write-confirmation tokens on SQLite (file and memory) and the real PostgreSQL: issue,
//! consume once, refusals with their reasons (including a changed plan), and concurrent
//! confirms of one token.

// Test helpers may unwrap/expect/panic: clippy.toml only covers #[test] fns and #[cfg(test)].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::with_postgres;
use zebrunner_storage::Storage;
use zebrunner_storage::confirm::{ConfirmAttempt, Consumed, NewConfirmation};

fn token(hash: &str, user: &str, expires_at: i64) -> NewConfirmation {
    NewConfirmation {
        token_hash: hash.into(),
        user_key: user.into(),
        tool: "create_test_suite".into(),
        arguments_hash: "args-1".into(),
        plan_hash: "plan-1".into(),
        created_at: 1_000,
        expires_at,
    }
}

fn attempt<'a>(hash: &'a str, user: &'a str, args: &'a str, now: i64) -> ConfirmAttempt<'a> {
    ConfirmAttempt {
        token_hash: hash,
        user_key: user,
        tool: "create_test_suite",
        arguments_hash: args,
        plan_hash: "plan-1",
        now,
    }
}

async fn single_use_and_reasons(storage: &Storage) {
    storage
        .issue_confirmation(&token("h1", "ann", 1_600))
        .await
        .unwrap();
    storage
        .issue_confirmation(&token("h2", "ann", 1_600))
        .await
        .unwrap();
    // Refusals leave the token usable.
    let c = |a| async move { storage.consume_confirmation(&a).await.unwrap() };
    assert_eq!(
        c(attempt("nope", "ann", "args-1", 1_100)).await,
        Consumed::Unknown
    );
    assert_eq!(
        c(attempt("h1", "bob", "args-1", 1_100)).await,
        Consumed::OtherUser
    );
    assert_eq!(
        c(attempt("h1", "ann", "args-2", 1_100)).await,
        Consumed::DifferentArguments
    );
    let mut other_tool = attempt("h1", "ann", "args-1", 1_100);
    other_tool.tool = "update_test_suite";
    assert_eq!(c(other_tool).await, Consumed::DifferentArguments);
    assert_eq!(
        c(attempt("h1", "ann", "args-1", 1_600)).await,
        Consumed::Expired
    );
    // The right one succeeds once.
    assert_eq!(c(attempt("h1", "ann", "args-1", 1_599)).await, Consumed::Ok);
    assert_eq!(
        c(attempt("h1", "ann", "args-1", 1_100)).await,
        Consumed::AlreadyUsed
    );
    assert_eq!(c(attempt("h2", "ann", "args-1", 1_100)).await, Consumed::Ok);
    // The same hash cannot be issued twice.
    assert!(
        storage
            .issue_confirmation(&token("h1", "ann", 9_999))
            .await
            .is_err()
    );
    // Long-expired tokens are purged when new ones are issued.
    let mut later = token("h3", "ann", 200_000);
    later.created_at = 100_000;
    storage.issue_confirmation(&later).await.unwrap();
    assert_eq!(
        c(attempt("h1", "ann", "args-1", 100_000)).await,
        Consumed::Unknown
    );
}

/// A token whose planned request changed since the preview is refused and stays unused; every
/// other reason is reported first, so `PlanChanged` means only the plan differs.
async fn plan_changed(storage: &Storage) {
    storage
        .issue_confirmation(&token("p1", "ann", 1_600))
        .await
        .unwrap();
    let c = |a| async move { storage.consume_confirmation(&a).await.unwrap() };
    let planned = |plan: &'static str, a: ConfirmAttempt<'static>| ConfirmAttempt {
        plan_hash: plan,
        ..a
    };
    assert_eq!(
        c(planned("plan-2", attempt("p1", "ann", "args-1", 1_100))).await,
        Consumed::PlanChanged
    );
    // Other reasons come first.
    assert_eq!(
        c(planned("plan-2", attempt("p1", "bob", "args-1", 1_100))).await,
        Consumed::OtherUser
    );
    assert_eq!(
        c(planned("plan-2", attempt("p1", "ann", "args-2", 1_100))).await,
        Consumed::DifferentArguments
    );
    assert_eq!(
        c(planned("plan-2", attempt("p1", "ann", "args-1", 1_600))).await,
        Consumed::Expired
    );
    assert_eq!(
        c(planned("", attempt("p1", "ann", "args-1", 1_100))).await,
        Consumed::PlanChanged
    );
    // Not consumed: the preview's plan still confirms, once.
    assert_eq!(c(attempt("p1", "ann", "args-1", 1_100)).await, Consumed::Ok);
    assert_eq!(
        c(planned("plan-2", attempt("p1", "ann", "args-1", 1_100))).await,
        Consumed::AlreadyUsed
    );
    // A token stored without a plan (issued before migration 4) confirms only without one.
    let mut old = token("p0", "ann", 1_600);
    old.plan_hash = String::new();
    storage.issue_confirmation(&old).await.unwrap();
    assert_eq!(
        c(attempt("p0", "ann", "args-1", 1_100)).await,
        Consumed::PlanChanged
    );
    assert_eq!(
        c(planned("", attempt("p0", "ann", "args-1", 1_100))).await,
        Consumed::Ok
    );
}

async fn concurrent_confirms(storage: &Storage) {
    storage
        .issue_confirmation(&token("race", "ann", 5_000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = storage.clone();
            tokio::spawn(async move {
                s.consume_confirmation(&attempt("race", "ann", "args-1", 1_100))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Consumed::Ok => ok += 1,
            other => assert_eq!(other, Consumed::AlreadyUsed),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent confirm may succeed");

    // Racing confirms with the right and a changed plan: still exactly one write, and a
    // changed plan never wins.
    storage
        .issue_confirmation(&token("race-plan", "ann", 5_000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = storage.clone();
            tokio::spawn(async move {
                let plan = if i % 2 == 0 { "plan-1" } else { "plan-2" };
                let a = ConfirmAttempt {
                    plan_hash: plan,
                    ..attempt("race-plan", "ann", "args-1", 1_100)
                };
                (plan, s.consume_confirmation(&a).await.unwrap())
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            ("plan-1", Consumed::Ok) => ok += 1,
            ("plan-1", other) => assert_eq!(other, Consumed::AlreadyUsed),
            (_, other) => assert!(
                matches!(other, Consumed::PlanChanged | Consumed::AlreadyUsed),
                "{other:?}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent confirm may succeed");
}

async fn two_replicas(url: &str) {
    let (a, b) = (
        Storage::connect(url).await.unwrap(),
        Storage::connect(url).await.unwrap(),
    );
    a.issue_confirmation(&token("shared", "ann", 5_000))
        .await
        .unwrap();
    assert_eq!(
        b.consume_confirmation(&attempt("shared", "ann", "args-1", 1_100))
            .await
            .unwrap(),
        Consumed::Ok
    );
    assert_eq!(
        a.consume_confirmation(&attempt("shared", "ann", "args-1", 1_100))
            .await
            .unwrap(),
        Consumed::AlreadyUsed
    );
}

#[tokio::test]
async fn sqlite_memory_tokens() {
    let storage = Storage::connect("sqlite::memory:").await.unwrap();
    single_use_and_reasons(&storage).await;
    plan_changed(&storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_tokens_concurrent_and_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let url = Storage::default_sqlite_url(dir.path());
    let storage = Storage::connect(&url).await.unwrap();
    single_use_and_reasons(&storage).await;
    plan_changed(&storage).await;
    concurrent_confirms(&storage).await;
    two_replicas(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_tokens() {
    with_postgres("confirmations", |url| async move {
        let storage = Storage::connect(&url).await.unwrap();
        single_use_and_reasons(&storage).await;
        plan_changed(&storage).await;
        concurrent_confirms(&storage).await;
        two_replicas(&url).await;
        storage.close().await;
    })
    .await;
}
