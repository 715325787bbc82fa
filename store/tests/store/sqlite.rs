//! The SQLite backend: the shared suite, durability across reopen and `kill -9`, and the
//! refusal of files it must not touch (newer schema, not a database, another program's).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use decision_matrix_store::{Durability, Store, StoreError, StoreOptions};

use crate::suite::{Backend, Fixture, behaviour_suite, on_manual_clock};

struct Sqlite;

impl Backend for Sqlite {
    async fn open(options: StoreOptions) -> Fixture {
        let (options, clock) = on_manual_clock(options);
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
        let store = Store::open(&url, options).await.expect("open sqlite");
        assert!(matches!(store, Store::Sqlite(_)));
        Fixture {
            store,
            clock: Some(clock),
            _keep: Box::new(dir),
        }
    }
}

behaviour_suite!(Sqlite);

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open the file directly")
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sessions.db");
    let store = Store::open(&url(&path), StoreOptions::default())
        .await
        .expect("open");
    store.create("s", b"v1").await.expect("create");
    store.update("s", 1, b"v2").await.expect("update");
    store.put_cell("s", "o:c", b"cell").await.expect("cell");
    store
        .cache_put(&[3u8; 32], b"answer", Duration::from_secs(60))
        .await
        .expect("cache");
    store.add_counter("created", 1).await.expect("counter");
    drop(store);

    let store = Store::open(&url(&path), StoreOptions::default())
        .await
        .expect("reopen");
    let loaded = store.load("s").await.expect("load").expect("survived");
    assert_eq!((loaded.version, loaded.body.as_slice()), (2, &b"v2"[..]));
    assert_eq!(loaded.cells, [("o:c".to_owned(), b"cell".to_vec())]);
    assert_eq!(
        store.cache_get(&[3u8; 32]).await.expect("cache"),
        Some(b"answer".to_vec())
    );
    assert_eq!(store.counters().await.expect("counters")["created"], 1);
}

#[tokio::test]
async fn data_survives_a_store_that_was_never_closed() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sessions.db");
    let store = Store::open(&url(&path), StoreOptions::default())
        .await
        .expect("open");
    store.create("s", b"body").await.expect("create");
    store.put_cell("s", "k", b"cell").await.expect("cell");
    // No clean shutdown: the connection is never closed, the WAL never checkpointed.
    std::mem::forget(store);

    let store = Store::open(&url(&path), StoreOptions::default())
        .await
        .expect("reopen beside the leaked connection");
    let loaded = store.load("s").await.expect("load").expect("committed");
    assert_eq!(loaded.body, b"body");
    assert_eq!(loaded.cells, [("k".to_owned(), b"cell".to_vec())]);
}

/// Set in the child process of [`survives_sigkill_mid_writes`]: the database it writes to.
const CHILD_ENV: &str = "DMM_STORE_TEST_KILL_CHILD_DB";

/// A child process writes sessions and reports each one once its call returned; it is killed
/// with SIGKILL mid-stream. Every reported session must be there, whole, after reopening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_sigkill_mid_writes() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        write_until_killed(PathBuf::from(path)).await;
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sessions.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "sqlite::survives_sigkill_mid_writes",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, reported) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(number) = line.strip_prefix("committed ")
                && lines.send(number.trim().parse::<u32>().ok()).is_err()
            {
                return;
            }
        }
    });
    let mut last = None;
    while last.is_none_or(|last| last < 40) {
        match reported.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(number)) => last = Some(number),
            Ok(None) => panic!("the writer printed an unreadable line"),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the writer stopped reporting: {error}");
            }
        }
    }
    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reap the writer");
    // Anything it reported after our last read committed too.
    while let Ok(Some(number)) = reported.try_recv() {
        last = Some(number);
    }
    let last = last.expect("reports");

    let store = Store::open(&url(&path), child_options())
        .await
        .expect("reopen after SIGKILL");
    for number in 0..=last {
        let id = format!("s{number}");
        let loaded = store
            .load(&id)
            .await
            .expect("load")
            .unwrap_or_else(|| panic!("{id} was reported committed but is missing"));
        assert_eq!(loaded.body, id.as_bytes());
        assert_eq!(loaded.cells, [("k".to_owned(), id.clone().into_bytes())]);
    }
    let check: String = raw(&path)
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .expect("quick_check");
    assert_eq!(check, "ok");
}

fn child_options() -> StoreOptions {
    StoreOptions {
        max_sessions: 100_000,
        ..StoreOptions::default()
    }
}

/// The child's part: write sessions as fast as it can, reporting each, until killed (or
/// 20 000 sessions, so a lost parent does not leave it running for long).
async fn write_until_killed(path: PathBuf) {
    use std::io::Write;
    let store = Store::open(&url(&path), child_options())
        .await
        .expect("child: open");
    let mut stdout = std::io::stdout();
    for number in 0..20_000u32 {
        let id = format!("s{number}");
        store
            .create(&id, id.as_bytes())
            .await
            .expect("child: create");
        store
            .put_cell(&id, "k", id.as_bytes())
            .await
            .expect("child: cell");
        writeln!(stdout, "committed {number}").expect("child: report");
        stdout.flush().expect("child: flush");
    }
}

#[tokio::test]
async fn newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sessions.db");
    drop(
        Store::open(&url(&path), StoreOptions::default())
            .await
            .expect("create the file"),
    );
    raw(&path)
        .pragma_update(None, "user_version", 99)
        .expect("pretend a newer build wrote it");
    let before = std::fs::read(&path).expect("read");

    match Store::open(&url(&path), StoreOptions::default()).await {
        Err(
            error @ StoreError::NewerSchema {
                found: 99,
                supported: 1,
                ..
            },
        ) => {
            let message = error.to_string();
            assert!(message.contains("upgrade"), "{message}");
            assert!(message.contains("another file"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "the file changed"
    );
}

#[tokio::test]
async fn garbage_is_reported_corrupt_and_left_untouched() {
    for garbage in [
        b"this is not a database\n".repeat(200),
        b"tiny".to_vec(),
        vec![0xAB; 4096],
    ] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("sessions.db");
        std::fs::write(&path, &garbage).expect("write garbage");

        match Store::open(&url(&path), StoreOptions::default()).await {
            Err(error @ StoreError::Corrupt { .. }) => {
                let message = error.to_string();
                assert!(message.contains("left untouched"), "{message}");
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            other => panic!(
                "expected Corrupt for {} bytes, got {other:?}",
                garbage.len()
            ),
        }
        assert_eq!(
            std::fs::read(&path).expect("read"),
            garbage,
            "the file changed"
        );
        assert_eq!(entries(dir.path()), ["sessions.db"], "files were added");
    }
}

#[tokio::test]
async fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("other.db");
    raw(&path)
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("another program's database");
    let before = std::fs::read(&path).expect("read");
    assert!(matches!(
        Store::open(&url(&path), StoreOptions::default()).await,
        Err(StoreError::Corrupt { detail, .. }) if detail.contains("another program")
    ));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "the file changed"
    );
}

#[tokio::test]
async fn wal_mode_private_files_and_default_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir
        .path()
        .join("data")
        .join("decision-matrix")
        .join("sessions.db");
    let options = StoreOptions {
        sqlite_default_path: Some(path.clone()),
        durability: Durability::Full,
        ..StoreOptions::default()
    };
    let store = Store::open("sqlite", options)
        .await
        .expect("open the default file");
    assert_eq!(store.describe(), format!("sqlite {} (WAL)", path.display()));
    store.create("s", b"body").await.expect("create");

    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode_of = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(path.parent().expect("parent")), 0o700);
        assert_eq!(mode_of(&dir.path().join("data")), 0o700);
    }

    assert!(matches!(
        Store::open("sqlite", StoreOptions::default()).await,
        Err(StoreError::InvalidOptions { .. })
    ));
    assert!(matches!(
        Store::open("sqlite://somehost/x.db", StoreOptions::default()).await,
        Err(StoreError::InvalidUrl { .. })
    ));
}

/// Files and directories found with wider permissions than the store gives new ones are
/// tightened (the database and its WAL, the default data directory) or refused (a directory
/// others can write, a file of another user's).
#[cfg(unix)]
#[tokio::test]
async fn files_found_with_wider_permissions_are_tightened_or_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode_of = |path: &Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o7777
    };
    let chmod = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    let temp = tempfile::tempdir().expect("temporary directory");

    // The default data directory and a database left readable by everyone, with its WAL.
    let data = temp.path().join("data");
    let path = data.join("sessions.db");
    {
        let store = Store::open(&url(&path), StoreOptions::default())
            .await
            .expect("create");
        store.create("s", b"body").await.expect("create");
    }
    std::fs::write(data.join("sessions.db-wal"), b"").expect("a WAL file");
    chmod(&data, 0o755);
    chmod(&path, 0o644);
    chmod(&data.join("sessions.db-wal"), 0o666);
    let options = StoreOptions {
        sqlite_default_path: Some(path.clone()),
        ..StoreOptions::default()
    };
    let store = Store::open("sqlite", options).await.expect("reopen");
    assert_eq!(
        store.load("s").await.expect("load").map(|l| l.body),
        Some(b"body".to_vec())
    );
    assert_eq!(mode_of(&data), 0o700);
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&data.join("sessions.db-wal")), 0o600);
    drop(store);

    // A directory named in the URL is left as it is, unless others can write to it.
    let shared = temp.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    chmod(&shared, 0o777);
    let refused = Store::open(&url(&shared.join("s.db")), StoreOptions::default())
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains("is writable by other users"),
        "{refused}"
    );
    assert!(!shared.join("s.db").exists(), "nothing was created");
    chmod(&shared, 0o1777);
    Store::open(&url(&shared.join("s.db")), StoreOptions::default())
        .await
        .expect("a sticky directory, like /tmp, is fine");
    assert_eq!(mode_of(&shared), 0o1777, "left as it was");
    assert_eq!(mode_of(&shared.join("s.db")), 0o600);

    // A file of another user's (root can make one; others have none to try).
    if rustix::process::geteuid().is_root() {
        let theirs = temp.path().join("theirs.db");
        std::fs::write(&theirs, b"").expect("a file");
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
        let refused = Store::open(&url(&theirs), StoreOptions::default())
            .await
            .expect_err("refused");
        assert!(
            refused.to_string().contains("belongs to another user"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_sweep_bounds_the_cache() {
    let store = Sqlite::open(StoreOptions {
        cache_capacity: 2,
        ..StoreOptions::default()
    })
    .await;
    let ttl = Duration::from_secs(60);
    for key in 1..=3u8 {
        store.cache_put(&[key; 32], &[key], ttl).await.expect("put");
        store.pass(Duration::from_millis(5)).await;
    }
    store
        .cache_put(&[4; 32], b"short", Duration::from_millis(1))
        .await
        .expect("put");
    store.pass(Duration::from_millis(20)).await;
    assert!(store.sweep_expired().await.expect("sweep").is_empty());
    // The expired entry went, then the oldest beyond the capacity.
    assert!(store.cache_get(&[1; 32]).await.expect("get").is_none());
    assert_eq!(store.cache_get(&[2; 32]).await.expect("get"), Some(vec![2]));
    assert_eq!(store.cache_get(&[3; 32]).await.expect("get"), Some(vec![3]));
    let rows: i64 = {
        let Store::Sqlite(sqlite) = &store.store else {
            panic!("an SQLite store");
        };
        raw(sqlite.path())
            .query_row("SELECT count(*) FROM cache", [], |row| row.get(0))
            .expect("count")
    };
    assert_eq!(rows, 2);
}
