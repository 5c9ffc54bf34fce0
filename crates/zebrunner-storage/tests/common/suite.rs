//! Test bodies that run unchanged on SQLite (file and memory) and PostgreSQL.

use std::collections::HashSet;

use zebrunner_storage::audit::{AuditFilter, AuditLog, AuditRecord, AuditSink, Outcome};
use zebrunner_storage::migrate::MIGRATIONS;
use zebrunner_storage::{Backend, Storage};

use super::record;

fn ids(records: &[AuditRecord]) -> Vec<i64> {
    records
        .iter()
        .map(|r| r.id.expect("stored records have ids"))
        .collect()
}

fn tools(records: &[AuditRecord]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r.tool.as_deref().unwrap_or("-"))
        .collect()
}

/// Append five records, then query them back every way the CLI does.
pub async fn append_and_query(storage: &Storage) {
    let input = [
        record(
            "2026-05-01T09:00:00.000Z",
            "ann",
            "list_projects",
            Outcome::Ok,
        ),
        record(
            "2026-05-01T10:00:00.000Z",
            "bob",
            "get_test_case",
            Outcome::Error,
        ),
        // Written with an offset and more precision: stored as 2026-05-02T09:30:00.123Z.
        record(
            "2026-05-02T11:30:00.123456+02:00",
            "ann",
            "get_test_case",
            Outcome::Ok,
        ),
        record(
            "2026-05-03T08:00:00.000Z",
            "cyd",
            "search_test_cases",
            Outcome::Denied,
        ),
        record(
            "2026-05-03T08:00:00.000Z",
            "ann",
            "list_suites",
            Outcome::Ok,
        ),
    ];
    for r in &input {
        storage.append_audit(r).await.expect("append");
    }

    // Everything, newest first (ties on `at` broken by id, newest first).
    let all = storage.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        tools(&all),
        [
            "list_suites",
            "search_test_cases",
            "get_test_case",
            "get_test_case",
            "list_projects"
        ]
    );
    let all_ids = ids(&all);
    assert!(
        all_ids.windows(2).all(|w| w[0] > w[1]),
        "ids descend: {all_ids:?}"
    );

    // Round trip: every field comes back as written, `at` in canonical form.
    let oldest = all.last().unwrap();
    assert_eq!(
        AuditRecord {
            id: None,
            ..oldest.clone()
        },
        input[0]
    );
    let bob = &all[3];
    assert_eq!(
        AuditRecord {
            id: None,
            ..bob.clone()
        },
        input[1]
    );
    assert_eq!(all[2].at, "2026-05-02T09:30:00.123Z");

    // Oldest first.
    let asc = storage
        .query_audit(&AuditFilter {
            oldest_first: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&asc), all_ids.iter().rev().copied().collect::<Vec<_>>());

    // Limit.
    let two = storage
        .query_audit(&AuditFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&two), all_ids[..2]);
    let first = storage
        .query_audit(&AuditFilter {
            limit: Some(1),
            oldest_first: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(tools(&first), ["list_projects"]);

    // User: by user key or by e-mail.
    let filter = |f: AuditFilter| async move { storage.query_audit(&f).await.unwrap() };
    let ann = filter(AuditFilter {
        user: Some("uid-ann".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        tools(&ann),
        ["list_suites", "get_test_case", "list_projects"]
    );
    let ann_mail = filter(AuditFilter {
        user: Some("ann@acme.com".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&ann_mail), ids(&ann));
    assert!(
        filter(AuditFilter {
            user: Some("ann".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );

    // Tool, outcome, and both together.
    let gets = filter(AuditFilter {
        tool: Some("get_test_case".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(gets.len(), 2);
    let denied = filter(AuditFilter {
        outcome: Some(Outcome::Denied),
        ..Default::default()
    })
    .await;
    assert_eq!(tools(&denied), ["search_test_cases"]);
    let errors = filter(AuditFilter {
        tool: Some("get_test_case".into()),
        outcome: Some(Outcome::Error),
        ..Default::default()
    })
    .await;
    assert_eq!(
        errors
            .iter()
            .map(|r| r.email.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["bob@acme.com"]
    );

    // Time: since inclusive, until exclusive; dates and offsets accepted.
    let since = filter(AuditFilter {
        since: Some("2026-05-01T10:00:00Z".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(since.len(), 4);
    let until = filter(AuditFilter {
        until: Some("2026-05-01T10:00:00Z".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(tools(&until), ["list_projects"]);
    let day2 = filter(AuditFilter {
        since: Some("2026-05-02".into()),
        until: Some("2026-05-03".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        day2.iter().map(|r| r.at.as_str()).collect::<Vec<_>>(),
        ["2026-05-02T09:30:00.123Z"]
    );
    let offset = filter(AuditFilter {
        since: Some("2026-05-02T11:30:00.123+02:00".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(offset.len(), 3);

    // after_id: what `tail --follow` polls with.
    let after = filter(AuditFilter {
        after_id: Some(all_ids[2]),
        oldest_first: true,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&after), [all_ids[1], all_ids[0]]);
    assert!(
        filter(AuditFilter {
            after_id: Some(all_ids[0]),
            ..Default::default()
        })
        .await
        .is_empty()
    );

    // Bad input is refused, not stored.
    let mut bad = record("yesterday", "ann", "x", Outcome::Ok);
    assert!(storage.append_audit(&bad).await.is_err());
    bad.at = "2026-05-01T09:00:00Z".into();
    bad.arguments = serde_json::json!({"emoji": "🙂", "quote": "'; DROP TABLE audit_log; --"});
    storage
        .append_audit(&bad)
        .await
        .expect("odd strings are just data");
    assert!(
        storage
            .query_audit(&AuditFilter {
                since: Some("last tuesday".into()),
                ..Default::default()
            })
            .await
            .is_err()
    );
    let injected = filter(AuditFilter {
        tool: Some("x' OR '1'='1".into()),
        ..Default::default()
    })
    .await;
    assert!(injected.is_empty());
    assert_eq!(filter(AuditFilter::default()).await.len(), 6);
}

/// Many tasks append at once: nothing is lost, ids are unique.
pub async fn concurrent_appends(storage: &Storage) {
    const TASKS: usize = 16;
    const EACH: usize = 25;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let storage = storage.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..EACH {
                let at = format!("2026-06-01T00:{:02}:{:02}.000Z", task, i);
                let r = record(&at, &format!("user{task}"), "get_test_case", Outcome::Ok);
                storage.append_audit(&r).await.expect("concurrent append");
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let all = storage.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), TASKS * EACH);
    let unique: HashSet<i64> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), TASKS * EACH);
    let one = storage
        .query_audit(&AuditFilter {
            user: Some("user3@acme.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), EACH);
}

/// Two "replicas" open (and migrate) the same database at once, then a third later: each
/// migration is recorded once and data survives.
pub async fn replicas_migrate_concurrently(url: &str, backend: Backend) {
    let (a, b) = tokio::join!(Storage::connect(url), Storage::connect(url));
    let (a, b) = (a.expect("replica a"), b.expect("replica b"));
    assert_eq!(a.backend(), backend);
    assert_eq!(
        a.applied_migrations().await.unwrap(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    a.append_audit(&record("2026-05-01T09:00:00Z", "ann", "t", Outcome::Ok))
        .await
        .unwrap();
    assert_eq!(
        b.query_audit(&AuditFilter::default()).await.unwrap().len(),
        1
    );

    // Migrating again (explicitly, and by connecting again) changes nothing.
    b.migrate().await.unwrap();
    let c = Storage::connect(url).await.expect("replica c");
    c.migrate().await.unwrap();
    assert_eq!(
        c.applied_migrations().await.unwrap(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(
        c.query_audit(&AuditFilter::default()).await.unwrap().len(),
        1
    );

    // Many at once.
    let many = futures_join_all((0..6).map(|_| {
        let url = url.to_string();
        async move { Storage::connect(&url).await }
    }))
    .await;
    for storage in many {
        assert_eq!(
            storage
                .expect("replica")
                .applied_migrations()
                .await
                .unwrap(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
    }
    for s in [a, b, c] {
        s.close().await;
    }
}

/// Join futures without pulling in the `futures` crate.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

/// The audit log's database sink stores what it is given.
pub async fn database_sink(storage: &Storage) {
    let log = AuditLog::new(vec![AuditSink::Database(storage.clone())]);
    let r = record(
        "2026-05-01T09:00:00.000Z",
        "ann",
        "get_test_case",
        Outcome::Ok,
    );
    log.record(&r).await.expect("database sink");
    assert_eq!(log.failures(), 0);
    let stored = storage.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        AuditRecord {
            id: None,
            ..stored[0].clone()
        },
        r
    );

    // A closed pool fails the write, and the failure is counted.
    storage.close().await;
    assert!(log.record(&r).await.is_err());
    assert_eq!(log.failures(), 1);
}

/// Server secrets: two handles on one database (started at once) get the same bytes, a third
/// later too; names are independent; the length is as asked and cannot change afterwards.
pub async fn server_secrets(url: &str) {
    let (a, b) = tokio::join!(Storage::connect(url), Storage::connect(url));
    let (a, b) = (a.expect("replica a"), b.expect("replica b"));
    let (ka, kb) = tokio::join!(
        a.server_secret("cursor_hmac", 32),
        b.server_secret("cursor_hmac", 32)
    );
    let (ka, kb) = (ka.expect("secret via a"), kb.expect("secret via b"));
    assert_eq!(ka.len(), 32);
    assert_eq!(*ka, *kb, "replicas sharing a database share the key");
    assert!(ka.iter().any(|&byte| byte != 0), "random, not zeroed");
    let c = Storage::connect(url).await.expect("replica c");
    assert_eq!(*c.server_secret("cursor_hmac", 32).await.unwrap(), *ka);
    assert_eq!(*a.server_secret("cursor_hmac", 32).await.unwrap(), *ka);

    let other = b.server_secret("other", 32).await.unwrap();
    assert_ne!(*other, *ka, "different names, different keys");
    let short = c.server_secret("short", 16).await.unwrap();
    assert_eq!(short.len(), 16);
    assert_eq!(*a.server_secret("short", 16).await.unwrap(), *short);

    // Refused, and nothing changes.
    let err = a.server_secret("cursor_hmac", 64).await.unwrap_err();
    assert!(err.to_string().contains("32 bytes but 64"), "{err}");
    assert!(
        !err.to_string().contains(&format!("{:?}", &ka[..4])),
        "{err}"
    );
    assert!(a.server_secret("zero", 0).await.is_err());
    assert!(a.server_secret("", 32).await.is_err());
    assert!(a.server_secret(&"n".repeat(129), 32).await.is_err());
    assert!(a.server_secret("huge", 1025).await.is_err());
    assert_eq!(*b.server_secret("cursor_hmac", 32).await.unwrap(), *ka);

    // Many at once on a new name: one value wins everywhere.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let s = [&a, &b, &c][i % 3].clone();
            tokio::spawn(async move { s.server_secret("raced", 32).await.map(|k| k.to_vec()) })
        })
        .collect();
    let mut values = HashSet::new();
    for handle in handles {
        values.insert(handle.await.expect("task").expect("raced secret"));
    }
    assert_eq!(values.len(), 1, "every racer got the same key");
    for s in [a, b, c] {
        s.close().await;
    }
}

/// A record with oversized fields is stored cut to the limits, on every backend.
pub async fn oversized_records_are_bounded(storage: &Storage) {
    use zebrunner_storage::audit::ZebrunnerRequest;
    use zebrunner_storage::audit::bound::{
        MAX_DETAIL_CHARS, MAX_ERROR_CLASS_CHARS, MAX_IDENTITY_CHARS, MAX_JSON_BYTES, MAX_TOOL_CHARS,
    };
    let mut r = record("2026-05-01T09:00:00.000Z", "ann", "t", Outcome::Error);
    r.tool = Some(format!("unknown_{}", "x".repeat(900_000)));
    r.detail = Some("ü".repeat(10_000));
    r.error_class = Some("e".repeat(1_000));
    r.email = Some(format!("{}@acme.com", "m".repeat(1_000)));
    r.user_key = Some("u".repeat(1_000));
    r.client_id = Some("c".repeat(1_000));
    r.arguments = serde_json::json!({"ids": vec!["ABC-1234567"; 5_000]});
    let arguments_bytes = serde_json::to_string(&r.arguments).unwrap().len();
    r.zebrunner_requests = (0..3_000)
        .map(|i| ZebrunnerRequest {
            method: "GET".into(),
            path: format!("/test-cases/{i}"),
            count: 1,
        })
        .collect();
    storage.append_audit(&r).await.expect("append oversized");

    let stored = storage.query_audit(&AuditFilter::default()).await.unwrap();
    let s = &stored[0];
    let chars = |v: &Option<String>| v.as_deref().unwrap().chars().count();
    assert_eq!(chars(&s.tool), MAX_TOOL_CHARS);
    assert!(s.tool.as_deref().unwrap().starts_with("unknown_xxx"));
    assert!(s.tool.as_deref().unwrap().ends_with('…'));
    assert_eq!(chars(&s.detail), MAX_DETAIL_CHARS);
    assert_eq!(chars(&s.error_class), MAX_ERROR_CLASS_CHARS);
    assert_eq!(chars(&s.email), MAX_IDENTITY_CHARS);
    assert_eq!(chars(&s.user_key), MAX_IDENTITY_CHARS);
    assert_eq!(chars(&s.client_id), MAX_IDENTITY_CHARS);
    assert_eq!(
        s.arguments,
        serde_json::json!({"truncated": true, "bytes": arguments_bytes})
    );
    assert!(serde_json::to_string(&s.zebrunner_requests).unwrap().len() <= MAX_JSON_BYTES);
    let marker = s.zebrunner_requests.last().unwrap();
    assert!(marker.path.starts_with("[truncated: "), "{marker:?}");
    assert_eq!(s.zebrunner_requests[0], r.zebrunner_requests[0]);
    assert_eq!(
        AuditRecord {
            id: None,
            ..s.clone()
        },
        r.bounded().into_owned(),
        "what is stored is exactly the bounded record"
    );
}

/// `AuditFilter.user` finds a user's rows from before user keys were namespaced (bare uid or
/// sub) and after (`uid:…`, `sub:…`) with one bare search; a namespaced search finds only its
/// own key; e-mail still works; near misses do not match.
pub async fn user_filter_matches_old_and_namespaced_keys(storage: &Storage) {
    let rows = [
        ("00u1", Some("ann@acme.com"), "old_bare"),
        ("uid:00u1", Some("ann@acme.com"), "new_uid"),
        ("sub:00u1", None, "new_sub"),
        ("uid:00u2", Some("bob@acme.com"), "other_user"),
        ("xuid:00u1", None, "near_miss_prefix"),
        ("00u1x", None, "near_miss_suffix"),
        ("uid:uid:00u1", None, "double_prefix"),
    ];
    for (i, (key, email, tool)) in rows.iter().enumerate() {
        let mut r = record(
            &format!("2026-05-01T09:00:0{i}.000Z"),
            "x",
            tool,
            Outcome::Ok,
        );
        r.user_key = Some(key.to_string());
        r.email = email.map(str::to_string);
        storage.append_audit(&r).await.unwrap();
    }
    let find = |user: &str| {
        let filter = AuditFilter {
            user: Some(user.to_string()),
            oldest_first: true,
            ..Default::default()
        };
        async move {
            let found = storage.query_audit(&filter).await.unwrap();
            tools(&found)
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("00u1").await, ["old_bare", "new_uid", "new_sub"]);
    assert_eq!(find("uid:00u1").await, ["new_uid"]);
    assert_eq!(find("uid:uid:00u1").await, ["double_prefix"]);
    assert_eq!(find("sub:00u1").await, ["new_sub"]);
    assert_eq!(find("ann@acme.com").await, ["old_bare", "new_uid"]);
    assert_eq!(find("00u2").await, ["other_user"]);
    assert!(find("u1").await.is_empty());
    assert!(find("uid:").await.is_empty());
}

/// `Storage::open_existing` and `schema_state` look without changing anything: before the
/// first server an empty database (or none at all, for a SQLite file) stays as it was; after
/// it the schema is current; a version this binary does not know is reported as such.
pub async fn schema_state_is_read_without_changes(url: &str, backend: Backend) {
    let before = Storage::open_existing(url).await.expect("open as it is");
    match (backend, before) {
        // No file yet: nothing to open, and nothing created.
        (Backend::Sqlite, None) => {}
        (Backend::Postgres, Some(storage)) => {
            let state = storage.schema_state().await.unwrap();
            assert!(state.applied.is_empty(), "{state:?}");
            assert_eq!(state.version(), 0);
            assert_eq!(state.pending().len(), MIGRATIONS.len());
            // Looking did not create schema_migrations.
            let again = storage.schema_state().await.unwrap();
            assert!(again.applied.is_empty(), "{again:?}");
            storage.close().await;
        }
        (backend, other) => panic!("{backend}: unexpected {other:?}"),
    }
    if backend == Backend::Sqlite {
        assert!(
            Storage::open_existing(url).await.unwrap().is_none(),
            "open_existing created the file"
        );
    }

    let server = Storage::connect(url).await.expect("the server migrates");
    let storage = Storage::open_existing(url)
        .await
        .unwrap()
        .expect("the database exists now");
    let state = storage.schema_state().await.unwrap();
    let newest = MIGRATIONS.last().map(|m| m.version).unwrap();
    assert_eq!(state.version(), newest);
    assert_eq!(state.known(), newest);
    assert!(state.pending().is_empty(), "{state:?}");
    assert!(state.unknown().is_empty(), "{state:?}");

    // A newer zebrunner-mcp migrated it further.
    record_version(url, backend, 9_999).await;
    let state = storage.schema_state().await.unwrap();
    assert_eq!(state.unknown(), [9_999]);
    assert_eq!(state.version(), 9_999);
    storage.close().await;
    server.close().await;
}

/// Record a migration version as the migrator does, without any DDL.
async fn record_version(url: &str, backend: Backend, version: i64) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', 'now')",
            )
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'x', 'now')",
            )
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }
}

/// Group commit: records from many concurrent calls, some waited for (writes) and most not
/// (reads), all land, in fewer transactions than records.
pub async fn writer_batches_concurrent_records(storage: &Storage) {
    const CALLS: usize = 300;
    let log = AuditLog::new(vec![AuditSink::Database(storage.clone())]);
    let tasks = (0..CALLS).map(|i| {
        let log = log.clone();
        async move {
            let r = record(
                "2026-05-01T09:00:00.000Z",
                &format!("u{i}"),
                "get_test_case",
                Outcome::Ok,
            );
            if i % 10 == 0 {
                log.record(&r).await.expect("a waited-for record is stored");
            } else {
                log.submit(&r).await.expect("queued");
            }
        }
    });
    futures_join_all(tasks).await;
    log.flush().await;
    let stored = storage.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored.len(), CALLS, "every record lands");
    let users: HashSet<_> = stored.iter().filter_map(|r| r.user_key.clone()).collect();
    assert_eq!(users.len(), CALLS, "each exactly once");
    assert_eq!(log.records_written(), CALLS as u64);
    assert!(
        log.batches() < CALLS as u64,
        "{} batches for {CALLS} records: not batched",
        log.batches()
    );
    assert_eq!(log.failures(), 0);
    assert_eq!(log.queue_depth(), 0);
}

/// A waited-for record learns that its batch failed; records nobody waits for are counted.
pub async fn writer_reports_a_failed_batch(storage: &Storage) {
    let log = AuditLog::new(vec![AuditSink::Database(storage.clone())]);
    let r = record("2026-05-01T09:00:00.000Z", "ann", "t", Outcome::Ok);
    log.record(&r)
        .await
        .expect("stored while the database works");
    // The database goes away (its pool is closed): the next batch fails as a whole.
    storage.close().await;
    for _ in 0..5 {
        log.submit(&r)
            .await
            .expect("queued: the failure comes later");
    }
    let error = log
        .record(&r)
        .await
        .expect_err("the waiter sees the failure");
    assert!(error.to_string().contains("database"), "{error}");
    log.flush().await;
    assert_eq!(log.failures(), 6, "every lost record is counted");
    // An invalid record fails on its own, before it could spoil a batch.
    let mut bad = r.clone();
    bad.at = "yesterday".into();
    assert!(log.submit(&bad).await.is_err());
    assert_eq!(log.failures(), 7);
}

/// Shutdown drains the queue: records queued (not waited for) right before `close` are all
/// stored by the time it returns; one queued after it fails and is counted.
pub async fn writer_drains_on_close(url: &str) {
    const RECORDS: usize = 200;
    let storage = Storage::connect(url).await.expect("open");
    let log = AuditLog::new(vec![AuditSink::Database(storage)]);
    for i in 0..RECORDS {
        let r = record(
            "2026-05-01T09:00:00.000Z",
            &format!("u{i}"),
            "list_projects",
            Outcome::Ok,
        );
        log.submit(&r).await.expect("queued");
    }
    log.close().await;
    let after = record("2026-05-01T09:00:01.000Z", "late", "t", Outcome::Ok);
    assert!(log.record(&after).await.is_err(), "closed");
    assert!(log.failures() >= 1);
    let reopened = Storage::connect(url).await.expect("reopen");
    let stored = reopened.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored.len(), RECORDS, "every queued record was stored");
    reopened.close().await;
}
