//! The Redis backend against a real `redis-server`: the shared suite, two instances sharing
//! one Redis, key expiry, an unreachable server and passwords kept out of every message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use decision_matrix_store::{Store, StoreError, StoreOptions, WhenFull};

use crate::suite::{Backend, Fixture, behaviour_suite};
use decision_matrix_testkit::redis_server::{RedisServer, free_port, namespace};

struct Redis;

impl Backend for Redis {
    async fn open(options: StoreOptions) -> Fixture {
        let server = RedisServer::shared();
        let options = StoreOptions {
            namespace: namespace("suite"),
            ..options
        };
        let store = Store::open(&server.url(), options)
            .await
            .expect("open redis");
        assert!(matches!(store, Store::Redis(_)));
        Fixture {
            store,
            clock: None,
            _keep: Box::new(server),
        }
    }
}

behaviour_suite!(Redis);

/// Two stores (two "instances") on one server and namespace.
async fn two_instances(options: StoreOptions) -> (Store, Store, Arc<RedisServer>) {
    let server = RedisServer::shared();
    let options = StoreOptions {
        namespace: namespace("pair"),
        ..options
    };
    let first = Store::open(&server.url(), options.clone())
        .await
        .expect("open the first instance");
    let second = Store::open(&server.url(), options)
        .await
        .expect("open the second instance");
    (first, second, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions() {
    let (first, second, _server) = two_instances(StoreOptions::default()).await;
    first
        .create("a", b"from first")
        .await
        .expect("create on first");
    second
        .create("b", b"from second")
        .await
        .expect("create on second");

    let loaded = second
        .load("a")
        .await
        .expect("load")
        .expect("seen by second");
    assert_eq!(loaded.body, b"from first");
    assert_eq!(
        second
            .update("a", 1, b"changed by second")
            .await
            .expect("update"),
        2
    );
    assert!(matches!(
        first.update("a", 1, b"stale").await,
        Err(StoreError::Conflict { current: 2, .. })
    ));
    first
        .put_cell("b", "k", b"cell")
        .await
        .expect("cell on first");
    let cells = second
        .load("b")
        .await
        .expect("load")
        .expect("present")
        .cells;
    assert_eq!(cells, [("k".to_owned(), b"cell".to_vec())]);

    let listed: Vec<String> = first
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|summary| summary.id)
        .collect();
    assert_eq!(listed, ["b", "a"]);
    assert!(
        first
            .try_lease("a", "first", Duration::from_secs(60))
            .await
            .expect("lease")
    );
    assert!(
        !second
            .try_lease("a", "second", Duration::from_secs(60))
            .await
            .expect("lease")
    );

    first.add_counter("evaluations", 2).await.expect("counter");
    second.add_counter("evaluations", 3).await.expect("counter");
    assert_eq!(first.counters().await.expect("counters")["evaluations"], 5);
    second
        .cache_put(&[5u8; 32], b"shared answer", Duration::from_secs(60))
        .await
        .expect("cache");
    assert_eq!(
        first.cache_get(&[5u8; 32]).await.expect("cache"),
        Some(b"shared answer".to_vec())
    );

    assert_eq!(second.clear().await.expect("clear"), 2);
    assert_eq!(first.count().await.expect("count"), 0);
    assert!(first.list().await.expect("list").is_empty());
    assert!(
        second
            .try_lease("a", "second", Duration::from_secs(60))
            .await
            .expect("lease gone")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_across_instances() {
    let limited = StoreOptions {
        max_sessions: 2,
        when_full: WhenFull::EvictLeastRecent,
        ..StoreOptions::default()
    };
    let (first, second, _server) = two_instances(limited).await;
    first.create("a", b"a").await.expect("create");
    second.create("b", b"b").await.expect("create");
    let created = first.create("c", b"c").await.expect("create");
    assert_eq!(created.evicted, ["a"]);
    assert_eq!(second.count().await.expect("count"), 2);

    // Concurrent creations from both instances never exceed the limit.
    let first = Arc::new(first);
    let second = Arc::new(second);
    let mut tasks = Vec::new();
    for number in 0..20 {
        let store = Arc::clone(if number % 2 == 0 { &first } else { &second });
        tasks.push(tokio::spawn(async move {
            store
                .create(&format!("n{number}"), b"n")
                .await
                .expect("create");
            store.count().await.expect("count")
        }));
    }
    for task in tasks {
        assert!(task.await.expect("task") <= 2);
    }
    assert_eq!(first.count().await.expect("count"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_isolated() {
    let server = RedisServer::shared();
    let open = |namespace: String| {
        let url = server.url();
        async move {
            Store::open(
                &url,
                StoreOptions {
                    namespace,
                    ..StoreOptions::default()
                },
            )
            .await
            .expect("open")
        }
    };
    let one = open(namespace("one")).await;
    let two = open(namespace("two")).await;
    one.create("s", b"one").await.expect("create");
    two.create("s", b"two")
        .await
        .expect("same id, other namespace");
    assert_eq!(one.clear().await.expect("clear"), 1);
    assert_eq!(
        two.load("s").await.expect("load").expect("kept").body,
        b"two"
    );
    assert!(one.describe().contains("namespace t"), "{}", one.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_keys_expire_in_redis() {
    let server = RedisServer::shared();
    let ns = namespace("expiry");
    let store = Store::open(
        &server.url(),
        StoreOptions {
            namespace: ns.clone(),
            ttl: Duration::from_secs(60),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open");
    store.create("s", b"body").await.expect("create");
    store.put_cell("s", "k", b"cell").await.expect("cell");

    let client = ::redis::Client::open(server.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    for key in [format!("{ns}:session:s"), format!("{ns}:cells:s")] {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("PTTL");
        assert!(
            (50_000..=60_000).contains(&ttl),
            "{key} expires in {ttl} ms"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_quickly() {
    let port = free_port();
    let url = format!("redis://:hunter2-secret@127.0.0.1:{port}/0");
    let started = Instant::now();
    let result = Store::open(&url, StoreOptions::default()).await;
    let elapsed = started.elapsed();
    match result {
        Err(error @ StoreError::Unavailable { .. }) => {
            let message = format!("{error} {error:?}");
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            assert!(!message.contains("hunter2"), "password leaked: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
}

#[tokio::test]
async fn passwords_never_show() {
    let server = RedisServer::start(Some("s3cret-Pa55"));
    let options = || StoreOptions {
        namespace: namespace("auth"),
        ..StoreOptions::default()
    };
    let store = Store::open(&server.url(), options())
        .await
        .expect("open with the password");
    store.create("s", b"body").await.expect("create");
    let describe = store.describe();
    assert_eq!(
        describe,
        format!(
            "redis 127.0.0.1:{}/0 namespace {}",
            server.port(),
            store.options().namespace
        )
    );
    assert!(!format!("{store:?}").contains("s3cret"), "{store:?}");

    let wrong = format!("redis://:wrong-Pa55word@127.0.0.1:{}", server.port());
    match Store::open(&wrong, options()).await {
        Err(error) => {
            let message = format!("{error} {error:?}");
            assert!(
                !message.contains("wrong-Pa55word"),
                "password leaked: {message}"
            );
            assert!(
                message.contains(&format!("127.0.0.1:{}", server.port())),
                "{message}"
            );
        }
        Ok(store) => panic!("a wrong password was accepted: {}", store.describe()),
    }
    let invalid = format!("redis://:p4ss@127.0.0.1:{}/notanumber", server.port());
    match Store::open(&invalid, options()).await {
        Err(error) => {
            let message = format!("{error} {error:?}");
            assert!(!message.contains("p4ss"), "password leaked: {message}");
        }
        Ok(_) => panic!("an invalid database number was accepted"),
    }
}

#[tokio::test]
async fn a_tls_handshake_failure_is_unavailable() {
    // A plain server does not speak TLS: the rediss:// handshake fails, and says so.
    let server = RedisServer::shared();
    let url = format!("rediss://:tls-Pa55@127.0.0.1:{}", server.port());
    // The plain server waits for the end of a line that never comes, so the handshake
    // ends at the connect timeout.
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let started = Instant::now();
    match Store::open(&url, options).await {
        Err(error @ StoreError::Unavailable { .. }) => {
            let message = format!("{error} {error:?}");
            assert!(!message.contains("tls-Pa55"), "password leaked: {message}");
            assert!(
                message.contains("(TLS)") || message.contains("rediss://"),
                "{message}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_lost_mid_use_is_unavailable_then_recovered() {
    let server = RedisServer::start(None);
    let port = server.port();
    let store = Store::open(
        &server.url(),
        StoreOptions {
            namespace: namespace("lost"),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open");
    store.create("s", b"body").await.expect("create");
    drop(server);

    let started = Instant::now();
    match store.load("s").await {
        Err(StoreError::Unavailable { url, .. }) => {
            assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    match store.count().await {
        Err(StoreError::Unavailable { .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }

    // A server back on the same address is reconnected to (its data is gone: no
    // persistence in the tests).
    let _back = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.create("t", b"after").await {
            Ok(_) => break,
            Err(StoreError::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("no reconnection: {other:?}"),
        }
    }
    assert_eq!(
        store.load("t").await.expect("load").expect("present").body,
        b"after"
    );
}
