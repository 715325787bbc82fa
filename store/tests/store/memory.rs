//! The memory backend: the shared suite.

use decision_matrix_store::{Store, StoreOptions};

use crate::suite::{Backend, Fixture, behaviour_suite, on_manual_clock};

struct Memory;

impl Backend for Memory {
    async fn open(options: StoreOptions) -> Fixture {
        let (options, clock) = on_manual_clock(options);
        let store = Store::open("memory", options).await.expect("open memory");
        assert!(matches!(store, Store::Memory(_)));
        Fixture {
            store,
            clock: Some(clock),
            _keep: Box::new(()),
        }
    }
}

behaviour_suite!(Memory);

#[tokio::test]
async fn describes_itself() {
    let store = Memory::open(StoreOptions::default()).await;
    assert_eq!(store.describe(), "memory");
}

#[tokio::test]
async fn the_cache_drops_the_least_recently_used_beyond_its_capacity() {
    let store = Memory::open(StoreOptions {
        cache_capacity: 2,
        ..StoreOptions::default()
    })
    .await;
    let ttl = std::time::Duration::from_secs(60);
    store.cache_put(&[1; 32], b"one", ttl).await.expect("put");
    store.cache_put(&[2; 32], b"two", ttl).await.expect("put");
    store
        .cache_get(&[1; 32])
        .await
        .expect("get")
        .expect("present");
    store.cache_put(&[3; 32], b"three", ttl).await.expect("put");
    assert!(store.cache_get(&[2; 32]).await.expect("get").is_none());
    assert!(store.cache_get(&[1; 32]).await.expect("get").is_some());
    assert!(store.cache_get(&[3; 32]).await.expect("get").is_some());
}
