//! The behaviours every backend must share, written once.
//!
//! Each function takes a [`Backend`] that opens a fresh, empty store of its kind (its own
//! file or Redis namespace); [`behaviour_suite!`] turns the list into one `#[tokio::test]`
//! per behaviour in each backend's module, so a failure names both the behaviour and the
//! backend.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use decision_matrix_store::{ManualClock, Store, StoreError, StoreOptions, WhenFull};

/// A store and whatever must live as long as it (a temporary directory, a Redis server).
pub struct Fixture {
    /// The store under test.
    pub store: Store,
    /// The store's manual clock; `None` for Redis, which keeps its server's time.
    pub clock: Option<ManualClock>,
    /// Dropped after the store.
    pub _keep: Box<dyn Any + Send + Sync>,
}

impl Fixture {
    /// Lets `time` pass for the store: its manual clock moves on at once, so expiry tests
    /// neither sleep nor race a busy machine. Redis takes its server's time, so for it the
    /// test waits for real.
    pub async fn pass(&self, time: Duration) {
        match &self.clock {
            Some(clock) => clock.advance(time),
            None => tokio::time::sleep(time).await,
        }
    }
}

/// `options` on a manual clock of their own, and that clock.
pub fn on_manual_clock(options: StoreOptions) -> (StoreOptions, ManualClock) {
    let clock = ManualClock::at_system_time();
    let options = StoreOptions {
        clock: clock.clone().into(),
        ..options
    };
    (options, clock)
}

impl std::ops::Deref for Fixture {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Opens fresh stores of one backend.
pub trait Backend {
    /// A new, empty store with `options` (the backend may change the namespace only).
    fn open(options: StoreOptions) -> impl Future<Output = Fixture> + Send;
}

/// Options for a test: the defaults with a limit and a TTL.
pub fn options(max_sessions: usize, when_full: WhenFull, ttl: Duration) -> StoreOptions {
    StoreOptions {
        max_sessions,
        when_full,
        ttl,
        ..StoreOptions::default()
    }
}

fn roomy() -> StoreOptions {
    options(100, WhenFull::EvictLeastRecent, Duration::from_secs(60))
}

fn ids(list: &[decision_matrix_store::Summary]) -> Vec<&str> {
    list.iter().map(|summary| summary.id.as_str()).collect()
}

/// Generates one test per behaviour for `$backend`.
macro_rules! behaviour_suite {
    ($backend:ty) => {
        behaviour_suite!(@tests $backend;
            round_trip,
            compare_and_swap_conflict,
            concurrent_writers_lose_nothing,
            cells_are_stored_apart_from_the_version,
            cells_of_a_deleted_session_are_refused,
            least_recently_used_is_evicted,
            a_session_under_evaluation_is_never_evicted,
            full_store_refuses,
            expired_sessions_disappear,
            expired_sessions_do_not_count_against_the_limit,
            peek_does_not_renew,
            evict_least_recent_in_order,
            leases_are_exclusive,
            cache_round_trip_and_expiry,
            counters_add_up,
            clear_removes_sessions_cells_and_leases,
        );
    };
    (@tests $backend:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                crate::suite::$name::<$backend>().await;
            }
        )*
    };
}
pub(crate) use behaviour_suite;

pub async fn round_trip<B: Backend>() {
    let store = B::open(roomy()).await;
    let created = store.create("a", b"first").await.expect("create");
    assert!(created.evicted.is_empty() && created.expired.is_empty());
    assert!(matches!(
        store.create("a", b"again").await,
        Err(StoreError::Exists { id }) if id == "a"
    ));

    let loaded = store.load("a").await.expect("load").expect("present");
    assert_eq!((loaded.version, loaded.body.as_slice()), (1, &b"first"[..]));
    assert!(loaded.cells.is_empty());
    assert!(loaded.created_at > 1_600_000_000_000, "unix milliseconds");
    assert!(loaded.last_used >= loaded.created_at);

    assert_eq!(store.update("a", 1, b"second").await.expect("update"), 2);
    let peeked = store.peek("a").await.expect("peek").expect("present");
    assert_eq!(
        (peeked.version, peeked.body.as_slice()),
        (2, &b"second"[..])
    );
    assert_eq!(peeked.created_at, loaded.created_at);

    let list = store.list().await.expect("list");
    assert_eq!(ids(&list), ["a"]);
    assert_eq!(
        (list[0].version, list[0].body.as_slice()),
        (2, &b"second"[..])
    );
    assert_eq!(store.count().await.expect("count"), 1);
    assert!(store.load("missing").await.expect("load").is_none());

    assert!(store.delete("a").await.expect("delete"));
    assert!(!store.delete("a").await.expect("delete again"));
    assert!(store.load("a").await.expect("load").is_none());
    assert!(matches!(
        store.update("a", 2, b"third").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.count().await.expect("count"), 0);
    store
        .create("a", b"reborn")
        .await
        .expect("an id is free again after delete");
    let reborn = store.load("a").await.expect("load").expect("present");
    assert_eq!(
        (reborn.version, reborn.body.as_slice()),
        (1, &b"reborn"[..])
    );
}

pub async fn compare_and_swap_conflict<B: Backend>() {
    let store = B::open(roomy()).await;
    store.create("s", b"v1").await.expect("create");
    assert_eq!(store.update("s", 1, b"v2").await.expect("update"), 2);
    match store.update("s", 1, b"stale").await {
        Err(StoreError::Conflict { current, .. }) => assert_eq!(current, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        store.update("s", 7, b"future").await,
        Err(StoreError::Conflict { current: 2, .. })
    ));
    let loaded = store.load("s").await.expect("load").expect("present");
    assert_eq!((loaded.version, loaded.body.as_slice()), (2, &b"v2"[..]));
}

pub async fn concurrent_writers_lose_nothing<B: Backend>() {
    const TASKS: u64 = 8;
    const INCREMENTS: u64 = 25;
    let store = Arc::new(B::open(roomy()).await);
    store.create("counter", b"0").await.expect("create");
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            for _ in 0..INCREMENTS {
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts < 10_000, "no progress after 10 000 attempts");
                    let loaded = store.load("counter").await.expect("load").expect("present");
                    let value: u64 = std::str::from_utf8(&loaded.body)
                        .expect("utf-8")
                        .parse()
                        .expect("a number");
                    let next = (value + 1).to_string();
                    match store
                        .update("counter", loaded.version, next.as_bytes())
                        .await
                    {
                        Ok(_) => break,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(other) => panic!("update failed: {other}"),
                    }
                }
            }
            conflicts
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let loaded = store.load("counter").await.expect("load").expect("present");
    assert_eq!(loaded.body, (TASKS * INCREMENTS).to_string().into_bytes());
    assert_eq!(loaded.version, TASKS * INCREMENTS + 1);
}

pub async fn cells_are_stored_apart_from_the_version<B: Backend>() {
    let store = B::open(roomy()).await;
    store.create("s", b"session").await.expect("create");
    store
        .put_cell("s", "o1:c1", b"one")
        .await
        .expect("put cell");
    store
        .put_cell("s", "o2:c1", b"two")
        .await
        .expect("put cell");
    store
        .put_cells(
            "s",
            &[
                ("o1:c1".to_owned(), b"one, again".to_vec()),
                ("o1:c2".to_owned(), b"three".to_vec()),
                ("o3:c1".to_owned(), Vec::new()),
            ],
        )
        .await
        .expect("put cells");
    store.put_cells("s", &[]).await.expect("no cells is fine");

    let loaded = store.load("s").await.expect("load").expect("present");
    assert_eq!(loaded.version, 1, "cells do not move the session version");
    let expected: Vec<(String, Vec<u8>)> = vec![
        ("o1:c1".to_owned(), b"one, again".to_vec()),
        ("o1:c2".to_owned(), b"three".to_vec()),
        ("o2:c1".to_owned(), b"two".to_vec()),
        ("o3:c1".to_owned(), Vec::new()),
    ];
    assert_eq!(loaded.cells, expected);

    assert_eq!(store.update("s", 1, b"session 2").await.expect("update"), 2);
    let removed = store
        .remove_cells("s", &["o2:c1".to_owned(), "absent".to_owned()])
        .await
        .expect("remove cells");
    assert_eq!(removed, 1);
    let cells = store.peek("s").await.expect("peek").expect("present").cells;
    let keys: Vec<&str> = cells.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["o1:c1", "o1:c2", "o3:c1"]);
    assert_eq!(store.remove_cells("s", &[]).await.expect("remove none"), 0);
    assert_eq!(
        store
            .remove_cells("never", &["o1:c1".to_owned()])
            .await
            .expect("remove from a missing session"),
        0
    );
}

pub async fn cells_of_a_deleted_session_are_refused<B: Backend>() {
    let store = B::open(roomy()).await;
    store.create("s", b"session").await.expect("create");
    store.put_cell("s", "k", b"cell").await.expect("put cell");
    assert!(store.delete("s").await.expect("delete"));

    assert!(matches!(
        store.put_cell("s", "k2", b"late").await,
        Err(StoreError::NotFound { id }) if id == "s"
    ));
    assert!(matches!(
        store
            .put_cells("s", &[("k3".to_owned(), b"late".to_vec())])
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.put_cell("never", "k", b"orphan").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.load("s").await.expect("load").is_none());
    assert!(store.load("never").await.expect("load").is_none());
    assert_eq!(store.count().await.expect("count"), 0);

    // Nothing was left behind: a new session of the same id starts without cells.
    store.create("s", b"new").await.expect("create again");
    let loaded = store.load("s").await.expect("load").expect("present");
    assert!(
        loaded.cells.is_empty(),
        "cells left behind: {:?}",
        loaded.cells
    );
}

pub async fn least_recently_used_is_evicted<B: Backend>() {
    let store = B::open(options(
        3,
        WhenFull::EvictLeastRecent,
        Duration::from_secs(60),
    ))
    .await;
    for id in ["a", "b", "c"] {
        store.create(id, id.as_bytes()).await.expect("create");
    }
    // A load makes `a` the most recently used; `b` is now the least.
    store.load("a").await.expect("load").expect("present");
    let created = store.create("d", b"d").await.expect("create d");
    assert_eq!(created.evicted, ["b"]);
    assert!(store.load("b").await.expect("load").is_none());
    assert_eq!(ids(&store.list().await.expect("list")), ["d", "a", "c"]);

    // An update and a cell write renew too.
    store.update("c", 1, b"c2").await.expect("update");
    store.put_cell("a", "k", b"cell").await.expect("put cell");
    let created = store.create("e", b"e").await.expect("create e");
    assert_eq!(created.evicted, ["d"]);
    assert_eq!(ids(&store.list().await.expect("list")), ["e", "a", "c"]);
    assert_eq!(store.count().await.expect("count"), 3);
}

/// A session whose evaluation lease is held is in use however long ago it was last loaded:
/// neither a new session nor memory pressure may evict it (its evaluation would lose its
/// cells). With every live session leased, a full store refuses even when set to evict.
pub async fn a_session_under_evaluation_is_never_evicted<B: Backend>() {
    let store = B::open(options(
        2,
        WhenFull::EvictLeastRecent,
        Duration::from_secs(60),
    ))
    .await;
    let lease = Duration::from_secs(30);
    store.create("a", b"a").await.expect("create a");
    store.create("b", b"b").await.expect("create b");
    assert!(
        store
            .try_lease("a", "evaluator", lease)
            .await
            .expect("lease")
    );
    let created = store.create("c", b"c").await.expect("create c");
    assert_eq!(
        created.evicted,
        ["b"],
        "the least recent session not in use"
    );

    assert!(
        store
            .try_lease("c", "evaluator", lease)
            .await
            .expect("lease")
    );
    match store.create("d", b"d").await {
        Err(StoreError::Full { max: 2 }) => {}
        other => panic!("expected Full with every session in use, got {other:?}"),
    }
    assert!(
        store.evict_least_recent(5).await.expect("evict").is_empty(),
        "memory pressure evicted a session under evaluation"
    );
    assert_eq!(ids(&store.list().await.expect("list")), ["c", "a"]);

    // Once its evaluation ends, the session is a candidate again.
    assert!(
        store
            .release_lease("a", "evaluator")
            .await
            .expect("release")
    );
    let created = store.create("d", b"d").await.expect("create d");
    assert_eq!(created.evicted, ["a"]);
    assert!(store.load("c").await.expect("load").is_some());
}

pub async fn full_store_refuses<B: Backend>() {
    let store = B::open(options(2, WhenFull::Refuse, Duration::from_secs(60))).await;
    store.create("a", b"a").await.expect("create a");
    store.create("b", b"b").await.expect("create b");
    match store.create("c", b"c").await {
        Err(error @ StoreError::Full { max: 2 }) => {
            assert!(error.to_string().contains("(2)"), "{error}");
        }
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(store.count().await.expect("count"), 2);
    assert!(store.load("a").await.expect("load").is_some());
    assert!(store.delete("a").await.expect("delete"));
    store
        .create("c", b"c")
        .await
        .expect("room again after a delete");
    assert_eq!(ids(&store.list().await.expect("list")), ["c", "b"]);
}

pub async fn expired_sessions_disappear<B: Backend>() {
    let store = B::open(options(
        10,
        WhenFull::EvictLeastRecent,
        Duration::from_millis(500),
    ))
    .await;
    store.create("kept", b"k").await.expect("create");
    store.create("dropped", b"d").await.expect("create");
    store.put_cell("dropped", "k", b"cell").await.expect("cell");
    store.pass(Duration::from_millis(250)).await;
    store.load("kept").await.expect("load").expect("still live");
    store.pass(Duration::from_millis(350)).await;

    // `dropped` is 600 ms old, `kept` was renewed 350 ms ago: no sweep has run.
    assert!(store.load("dropped").await.expect("load").is_none());
    assert!(store.peek("dropped").await.expect("peek").is_none());
    assert_eq!(ids(&store.list().await.expect("list")), ["kept"]);
    assert_eq!(store.count().await.expect("count"), 1);
    assert!(matches!(
        store.update("dropped", 1, b"late").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.put_cell("dropped", "k2", b"late").await,
        Err(StoreError::NotFound { .. })
    ));

    assert_eq!(store.sweep_expired().await.expect("sweep"), ["dropped"]);
    assert!(store.sweep_expired().await.expect("sweep again").is_empty());
    store
        .create("dropped", b"new")
        .await
        .expect("id free again");
    assert!(
        store
            .load("dropped")
            .await
            .expect("load")
            .expect("present")
            .cells
            .is_empty(),
        "the expired session's cells went with it"
    );

    store.pass(Duration::from_millis(600)).await;
    assert_eq!(store.count().await.expect("count"), 0);
    let mut swept = store.sweep_expired().await.expect("sweep");
    swept.sort();
    assert_eq!(swept, ["dropped", "kept"]);
}

pub async fn expired_sessions_do_not_count_against_the_limit<B: Backend>() {
    let store = B::open(options(1, WhenFull::Refuse, Duration::from_millis(300))).await;
    store.create("old", b"o").await.expect("create");
    assert!(matches!(
        store.create("early", b"e").await,
        Err(StoreError::Full { max: 1 })
    ));
    store.pass(Duration::from_millis(400)).await;
    let created = store
        .create("new", b"n")
        .await
        .expect("the expired one makes room");
    assert!(created.evicted.is_empty());
    assert_eq!(
        created.expired,
        ["old"],
        "removed on the way, reported once"
    );
    assert!(store.sweep_expired().await.expect("sweep").is_empty());
}

pub async fn peek_does_not_renew<B: Backend>() {
    let store = B::open(options(
        2,
        WhenFull::EvictLeastRecent,
        Duration::from_millis(500),
    ))
    .await;
    store.create("a", b"a").await.expect("create");
    store.create("b", b"b").await.expect("create");
    let before = store.peek("a").await.expect("peek").expect("present");
    // Peeking `a` neither renews its TTL nor makes it more recent than `b`.
    let created = store.create("c", b"c").await.expect("create");
    assert_eq!(created.evicted, ["a"]);
    store.pass(Duration::from_millis(250)).await;
    let peeked = store.peek("b").await.expect("peek").expect("present");
    assert!(peeked.last_used >= before.last_used);
    store.pass(Duration::from_millis(350)).await;
    assert!(
        store.peek("b").await.expect("peek").is_none(),
        "peek renewed b"
    );
}

pub async fn evict_least_recent_in_order<B: Backend>() {
    let store = B::open(roomy()).await;
    for id in ["a", "b", "c"] {
        store.create(id, id.as_bytes()).await.expect("create");
    }
    store.load("a").await.expect("load").expect("present");
    assert_eq!(
        store.evict_least_recent(2).await.expect("evict"),
        ["b", "c"]
    );
    assert_eq!(store.count().await.expect("count"), 1);
    assert!(
        store
            .evict_least_recent(0)
            .await
            .expect("evict none")
            .is_empty()
    );
    assert_eq!(store.evict_least_recent(5).await.expect("evict"), ["a"]);
    assert!(store.evict_least_recent(1).await.expect("evict").is_empty());
}

pub async fn leases_are_exclusive<B: Backend>() {
    let store = B::open(roomy()).await;
    let ttl = Duration::from_millis(300);
    assert!(store.try_lease("s", "A", ttl).await.expect("lease"));
    assert!(!store.try_lease("s", "B", ttl).await.expect("lease"));
    assert!(
        !store
            .try_lease("s", "A", ttl)
            .await
            .expect("not re-entrant")
    );
    assert!(
        store
            .try_lease("other", "B", ttl)
            .await
            .expect("another session")
    );

    assert!(!store.renew_lease("s", "B", ttl).await.expect("renew"));
    assert!(!store.release_lease("s", "B").await.expect("release"));
    assert!(!store.try_lease("s", "B", ttl).await.expect("still A's"));

    // A renews for longer; after the first TTL it still holds the lease.
    assert!(
        store
            .renew_lease("s", "A", Duration::from_secs(60))
            .await
            .expect("renew")
    );
    store.pass(Duration::from_millis(400)).await;
    assert!(!store.try_lease("s", "B", ttl).await.expect("renewed"));
    assert!(store.release_lease("s", "A").await.expect("release"));
    assert!(store.try_lease("s", "B", ttl).await.expect("released"));

    // B's lease expires; A takes it over, and B can no longer renew or release it.
    store.pass(Duration::from_millis(400)).await;
    assert!(!store.renew_lease("s", "B", ttl).await.expect("expired"));
    assert!(store.try_lease("s", "A", ttl).await.expect("expired lease"));
    assert!(!store.release_lease("s", "B").await.expect("not B's"));
    assert!(!store.try_lease("s", "C", ttl).await.expect("A's"));
}

pub async fn cache_round_trip_and_expiry<B: Backend>() {
    let store = B::open(roomy()).await;
    let key = [7u8; 32];
    let other = [8u8; 32];
    assert!(store.cache_get(&key).await.expect("get").is_none());
    store
        .cache_put(&key, b"answer", Duration::from_millis(300))
        .await
        .expect("put");
    store
        .cache_put(&other, b"kept", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(
        store.cache_get(&key).await.expect("get"),
        Some(b"answer".to_vec())
    );
    store
        .cache_put(&key, b"better answer", Duration::from_millis(300))
        .await
        .expect("overwrite");
    assert_eq!(
        store.cache_get(&key).await.expect("get"),
        Some(b"better answer".to_vec())
    );
    assert!(store.cache_get(&[9u8; 32]).await.expect("get").is_none());
    store.pass(Duration::from_millis(400)).await;
    assert!(
        store.cache_get(&key).await.expect("get").is_none(),
        "expired"
    );
    assert_eq!(
        store.cache_get(&other).await.expect("get"),
        Some(b"kept".to_vec())
    );
}

pub async fn counters_add_up<B: Backend>() {
    let store = B::open(roomy()).await;
    assert!(store.counters().await.expect("counters").is_empty());
    store.add_counter("sessions_created", 1).await.expect("add");
    store.add_counter("sessions_created", 2).await.expect("add");
    store.add_counter("sessions_evicted", 5).await.expect("add");
    store.add_counter("sessions_expired", 0).await.expect("add");
    let counters = store.counters().await.expect("counters");
    let expected = [
        ("sessions_created".to_owned(), 3),
        ("sessions_evicted".to_owned(), 5),
        ("sessions_expired".to_owned(), 0),
    ];
    assert_eq!(counters, expected.into_iter().collect());
}

pub async fn clear_removes_sessions_cells_and_leases<B: Backend>() {
    let store = B::open(roomy()).await;
    for id in ["a", "b", "c"] {
        store.create(id, id.as_bytes()).await.expect("create");
        store.put_cell(id, "k", b"cell").await.expect("cell");
    }
    assert!(
        store
            .try_lease("a", "A", Duration::from_secs(60))
            .await
            .expect("lease")
    );
    store
        .cache_put(&[1u8; 32], b"cached", Duration::from_secs(60))
        .await
        .expect("cache");
    store
        .add_counter("sessions_created", 3)
        .await
        .expect("counter");

    assert_eq!(store.clear().await.expect("clear"), 3);
    assert_eq!(store.count().await.expect("count"), 0);
    assert!(store.list().await.expect("list").is_empty());
    assert!(store.load("a").await.expect("load").is_none());
    assert!(
        store
            .try_lease("a", "B", Duration::from_secs(60))
            .await
            .expect("the lease went too")
    );
    assert_eq!(
        store.cache_get(&[1u8; 32]).await.expect("cache"),
        Some(b"cached".to_vec()),
        "the cache is not session data"
    );
    assert_eq!(
        store.counters().await.expect("counters")["sessions_created"],
        3
    );

    store.create("a", b"again").await.expect("create again");
    assert!(
        store
            .load("a")
            .await
            .expect("load")
            .expect("present")
            .cells
            .is_empty()
    );
    assert_eq!(store.clear().await.expect("clear"), 1);
    assert_eq!(store.clear().await.expect("clear empty"), 0);
}
