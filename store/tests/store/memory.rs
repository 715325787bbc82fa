//! The memory backend: the shared suite.

use decision_matrix_store::{Store, StoreOptions};

use crate::suite::{Backend, Fixture, behaviour_suite};

struct Memory;

impl Backend for Memory {
    async fn open(options: StoreOptions) -> Fixture {
        let store = Store::open("memory", options).await.expect("open memory");
        assert!(matches!(store, Store::Memory(_)));
        Fixture {
            store,
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
