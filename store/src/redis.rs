//! [`RedisStore`]: sessions in Redis, shared by several server instances.
//!
//! For running more than one instance behind a load balancer: any instance can serve any
//! session, evaluation leases keep two instances from evaluating (and billing) one session at
//! once, and the evaluation cache and statistics counters are shared.
//!
//! Keys, all under the namespace `{ns}` so deployments and tests can share one Redis:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{ns}:session:{id}` | hash | `v` version, `c` created ms, `u` last used ms, `b` body |
//! | `{ns}:cells:{id}` | hash | cell key → cell body |
//! | `{ns}:lease:{id}` | string | the lease owner (`SET NX PX`) |
//! | `{ns}:index` | sorted set | id → last-use stamp (µs), for the limit, LRU and listing |
//! | `{ns}:clock` | string | last stamp handed out (keeps stamps strictly increasing) |
//! | `{ns}:cache:{hex}` | string | a cached evaluation answer (`PX` expiry) |
//! | `{ns}:counters` | hash | statistics counters (`HINCRBY`) |
//!
//! Session and cells keys expire by `PEXPIRE`, renewed on every use. Everything that reads
//! and then writes is a Lua script (`src/redis/*.lua`), so it is atomic across instances;
//! scripts take the time from the Redis server, so instance clocks need not agree. The
//! scripts compute some keys themselves (evictions), so the store needs a single Redis
//! (or a primary with replicas), not Redis Cluster.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{ConnectionAddr, RedisError, Script, Value};

use crate::options::duration_ms;
use crate::{Created, Loaded, StoreError, StoreOptions, Summary, WhenFull};
use decision_matrix_core::store_url::Secret;

/// How long one command may wait for its answer before the call fails.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Reconnection attempts per failed call (with backoff from 100 ms), so a call against a
/// Redis that is down fails within about a second instead of hanging.
const RECONNECT_RETRIES: usize = 2;

const COMMON: &str = include_str!("redis/common.lua");

/// The scripts, built and hashed once per process; each runs with `EVALSHA` (loaded into
/// the server on first use).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(Scripts::new);

/// Every script of the store.
struct Scripts {
    create: Script,
    load: Script,
    update: Script,
    put_cells: Script,
    delete: Script,
    list: Script,
    count: Script,
    sweep: Script,
    evict: Script,
    clear: Script,
    renew_lease: Script,
    release_lease: Script,
}

impl Scripts {
    fn new() -> Scripts {
        let with_common = |body: &str| Script::new(&format!("{COMMON}\n{body}"));
        Scripts {
            create: with_common(include_str!("redis/create.lua")),
            load: with_common(include_str!("redis/load.lua")),
            update: with_common(include_str!("redis/update.lua")),
            put_cells: with_common(include_str!("redis/put_cells.lua")),
            delete: with_common(include_str!("redis/delete.lua")),
            list: with_common(include_str!("redis/list.lua")),
            count: with_common(include_str!("redis/count.lua")),
            sweep: with_common(include_str!("redis/sweep.lua")),
            evict: with_common(include_str!("redis/evict.lua")),
            clear: Script::new(include_str!("redis/clear.lua")),
            renew_lease: Script::new(include_str!("redis/renew_lease.lua")),
            release_lease: Script::new(include_str!("redis/release_lease.lua")),
        }
    }
}

/// Sessions in a Redis server.
pub struct RedisStore {
    conn: ConnectionManager,
    options: StoreOptions,
    /// `host:port/db`, with ` (TLS)` for `rediss://`.
    address: String,
    /// The URL without user information.
    shown: String,
    secret: Secret,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Gives rustls a process-wide crypto provider when none is set, so a `rediss://`
/// connection works even if some other dependency enabled a second rustls provider (rustls
/// then refuses to pick one itself).
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

impl RedisStore {
    /// Connects to `url` and checks the server answers, within the connect timeout.
    pub(crate) async fn open(
        url: &str,
        shown: String,
        secret: Secret,
        options: StoreOptions,
    ) -> Result<RedisStore, StoreError> {
        let unavailable = |detail: &str| StoreError::Unavailable {
            url: shown.clone(),
            detail: secret.scrub(detail),
        };
        let client = ::redis::Client::open(url).map_err(|error| StoreError::InvalidUrl {
            url: shown.clone(),
            reason: secret.scrub(&error.to_string()),
        })?;
        let info = client.get_connection_info();
        if matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
            ensure_crypto_provider();
        }
        let tls = if matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
            " (TLS)"
        } else {
            ""
        };
        let address = format!("{}/{}{tls}", info.addr(), info.redis_settings().db());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(Duration::from_secs(1));
        let timeout = options.connect_timeout;
        let connected = tokio::time::timeout(timeout, async {
            let mut conn = ConnectionManager::new_with_config(client, config).await?;
            ::redis::cmd("PING").query_async::<Value>(&mut conn).await?;
            Ok::<_, RedisError>(conn)
        })
        .await;
        let conn = match connected {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return Err(unavailable(&error.to_string())),
            Err(_) => {
                return Err(unavailable(&format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        Ok(RedisStore {
            conn,
            options,
            address,
            shown,
            secret,
        })
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// `redis host:port/db namespace ns` (`redis host:port/db (TLS) namespace ns` for
    /// `rediss://`).
    pub fn describe(&self) -> String {
        format!(
            "redis {} namespace {}",
            self.address, self.options.namespace
        )
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.options.namespace)
    }

    fn index_key(&self) -> String {
        format!("{}:index", self.options.namespace)
    }

    /// The keys of a session that the session scripts take: session, cells, index, clock.
    fn session_keys(&self, id: &str) -> [String; 4] {
        [
            self.key("session", id),
            self.key("cells", id),
            self.index_key(),
            format!("{}:clock", self.options.namespace),
        ]
    }

    /// A connection for one call (a cheap handle onto the shared multiplexed one).
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Maps a Redis failure: lost connections to [`StoreError::Unavailable`], the rest to
    /// [`StoreError::Backend`]; the password never appears.
    fn failure(&self, action: &str, error: &RedisError) -> StoreError {
        let detail = self.secret.scrub(&error.to_string());
        if error.is_io_error()
            || error.is_timeout()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
        {
            StoreError::Unavailable {
                url: self.shown.clone(),
                detail: format!("could not {action}: {detail}"),
            }
        } else {
            self.backend(action, detail)
        }
    }

    fn backend(&self, action: &str, detail: String) -> StoreError {
        StoreError::Backend {
            backend: self.describe(),
            action: action.to_owned(),
            detail,
        }
    }

    /// An answer of a shape the scripts never give.
    fn odd(&self, action: &str, reply: &Value) -> StoreError {
        self.backend(action, format!("unexpected reply {reply:?}"))
    }

    /// Runs a prepared invocation.
    async fn invoke(
        &self,
        action: &str,
        invocation: &::redis::ScriptInvocation<'_>,
    ) -> Result<Value, StoreError> {
        invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(|error| self.failure(action, &error))
    }

    /// Runs a plain command.
    async fn command(&self, action: &str, command: &::redis::Cmd) -> Result<Value, StoreError> {
        command
            .query_async(&mut self.conn())
            .await
            .map_err(|error| self.failure(action, &error))
    }

    /// See [`crate::Store::create`].
    pub(crate) async fn create(&self, id: &str, body: &[u8]) -> Result<Created, StoreError> {
        const ACTION: &str = "create a session";
        let mut invocation = SCRIPTS.create.prepare_invoke();
        for key in self.session_keys(id) {
            invocation.key(key);
        }
        let refuse = self.options.when_full == WhenFull::Refuse;
        invocation
            .arg(&self.options.namespace)
            .arg(id)
            .arg(body)
            .arg(self.options.ttl_ms())
            .arg(u64::try_from(self.options.max_sessions).unwrap_or(u64::MAX))
            .arg(if refuse { "1" } else { "0" });
        let reply = self.invoke(ACTION, &invocation).await?;
        let items = array(&reply).ok_or_else(|| self.odd(ACTION, &reply))?;
        match items.first().and_then(text).as_deref() {
            Some("exists") => Err(StoreError::Exists { id: id.to_owned() }),
            Some("full") => Err(StoreError::Full {
                max: self.options.max_sessions,
            }),
            Some("ok") => {
                let expired_count = items
                    .get(1)
                    .and_then(number)
                    .and_then(|count| usize::try_from(count).ok())
                    .ok_or_else(|| self.odd(ACTION, &reply))?;
                let mut ids = items
                    .iter()
                    .skip(2)
                    .map(text)
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| self.odd(ACTION, &reply))?;
                if expired_count > ids.len() {
                    return Err(self.odd(ACTION, &reply));
                }
                let evicted = ids.split_off(expired_count);
                Ok(Created {
                    evicted,
                    expired: ids,
                })
            }
            _ => Err(self.odd(ACTION, &reply)),
        }
    }

    /// See [`crate::Store::load`] and [`crate::Store::peek`].
    pub(crate) async fn load(&self, id: &str, renew: bool) -> Result<Option<Loaded>, StoreError> {
        const ACTION: &str = "load a session";
        let mut invocation = SCRIPTS.load.prepare_invoke();
        for key in self.session_keys(id) {
            invocation.key(key);
        }
        invocation
            .arg(id)
            .arg(self.options.ttl_ms())
            .arg(if renew { "1" } else { "0" });
        let reply = self.invoke(ACTION, &invocation).await?;
        if matches!(reply, Value::Nil) {
            return Ok(None);
        }
        let parse = || -> Option<Loaded> {
            let items = array(&reply)?;
            let [version, created_at, last_used, body, cells] = items else {
                return None;
            };
            let cells = pairs(cells)?
                .into_iter()
                .map(|(key, body)| Some((text(key)?, bytes(body)?)))
                .collect::<Option<BTreeMap<String, Vec<u8>>>>()?;
            Some(Loaded {
                version: number(version)?,
                created_at: number(created_at)?,
                last_used: number(last_used)?,
                body: bytes(body)?,
                cells: cells.into_iter().collect(),
            })
        };
        parse().map(Some).ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::update`].
    pub(crate) async fn update(
        &self,
        id: &str,
        expected_version: u64,
        body: &[u8],
    ) -> Result<u64, StoreError> {
        const ACTION: &str = "update a session";
        let mut invocation = SCRIPTS.update.prepare_invoke();
        for key in self.session_keys(id) {
            invocation.key(key);
        }
        invocation
            .arg(id)
            .arg(self.options.ttl_ms())
            .arg(expected_version.to_string())
            .arg(body);
        let reply = self.invoke(ACTION, &invocation).await?;
        let items = array(&reply).ok_or_else(|| self.odd(ACTION, &reply))?;
        let version = || {
            items
                .get(1)
                .and_then(number)
                .ok_or_else(|| self.odd(ACTION, &reply))
        };
        match items.first().and_then(text).as_deref() {
            Some("ok") => version(),
            Some("conflict") => Err(StoreError::Conflict {
                id: id.to_owned(),
                current: version()?,
            }),
            Some("notfound") => Err(StoreError::NotFound { id: id.to_owned() }),
            _ => Err(self.odd(ACTION, &reply)),
        }
    }

    /// See [`crate::Store::put_cells`].
    pub(crate) async fn put_cells(
        &self,
        id: &str,
        cells: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        const ACTION: &str = "write cells";
        let mut invocation = SCRIPTS.put_cells.prepare_invoke();
        for key in self.session_keys(id) {
            invocation.key(key);
        }
        invocation.arg(id).arg(self.options.ttl_ms());
        for (key, body) in cells {
            invocation.arg(key.as_str()).arg(body.as_slice());
        }
        let reply = self.invoke(ACTION, &invocation).await?;
        match number(&reply) {
            Some(1) => Ok(()),
            Some(0) => Err(StoreError::NotFound { id: id.to_owned() }),
            _ => Err(self.odd(ACTION, &reply)),
        }
    }

    /// See [`crate::Store::remove_cells`].
    pub(crate) async fn remove_cells(
        &self,
        id: &str,
        keys: &[String],
    ) -> Result<usize, StoreError> {
        const ACTION: &str = "remove cells";
        if keys.is_empty() {
            return Ok(0);
        }
        let mut command = ::redis::cmd("HDEL");
        command.arg(self.key("cells", id)).arg(keys);
        let reply = self.command(ACTION, &command).await?;
        number(&reply)
            .and_then(|removed| usize::try_from(removed).ok())
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::delete`].
    pub(crate) async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        const ACTION: &str = "delete a session";
        let mut invocation = SCRIPTS.delete.prepare_invoke();
        invocation
            .key(self.index_key())
            .arg(&self.options.namespace)
            .arg(id);
        let reply = self.invoke(ACTION, &invocation).await?;
        number(&reply)
            .map(|existed| existed == 1)
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::list`].
    pub(crate) async fn list(&self) -> Result<Vec<Summary>, StoreError> {
        const ACTION: &str = "list sessions";
        let mut invocation = SCRIPTS.list.prepare_invoke();
        invocation
            .key(self.index_key())
            .arg(&self.options.namespace)
            .arg(self.options.ttl_ms());
        let reply = self.invoke(ACTION, &invocation).await?;
        let parse = || -> Option<Vec<Summary>> {
            let items = array(&reply)?;
            if items.len() % 5 != 0 {
                return None;
            }
            items
                .chunks_exact(5)
                .map(|row| {
                    Some(Summary {
                        id: text(&row[0])?,
                        version: number(&row[1])?,
                        created_at: number(&row[2])?,
                        last_used: number(&row[3])?,
                        body: bytes(&row[4])?,
                    })
                })
                .collect()
        };
        parse().ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::count`].
    pub(crate) async fn count(&self) -> Result<usize, StoreError> {
        const ACTION: &str = "count sessions";
        let mut invocation = SCRIPTS.count.prepare_invoke();
        invocation.key(self.index_key()).arg(self.options.ttl_ms());
        let reply = self.invoke(ACTION, &invocation).await?;
        number(&reply)
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::clear`].
    pub(crate) async fn clear(&self) -> Result<usize, StoreError> {
        const ACTION: &str = "clear sessions";
        let mut invocation = SCRIPTS.clear.prepare_invoke();
        invocation
            .key(self.index_key())
            .arg(&self.options.namespace);
        let reply = self.invoke(ACTION, &invocation).await?;
        number(&reply)
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// Runs a script of the index that returns session ids.
    async fn ids(
        &self,
        action: &str,
        script: &Script,
        count: Option<usize>,
    ) -> Result<Vec<String>, StoreError> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.index_key())
            .arg(&self.options.namespace)
            .arg(self.options.ttl_ms());
        if let Some(count) = count {
            invocation.arg(u64::try_from(count).unwrap_or(u64::MAX));
        }
        let reply = self.invoke(action, &invocation).await?;
        array(&reply)
            .and_then(|items| items.iter().map(text).collect::<Option<Vec<String>>>())
            .ok_or_else(|| self.odd(action, &reply))
    }

    /// See [`crate::Store::sweep_expired`].
    pub(crate) async fn sweep_expired(&self) -> Result<Vec<String>, StoreError> {
        self.ids("sweep expired sessions", &SCRIPTS.sweep, None)
            .await
    }

    /// See [`crate::Store::evict_least_recent`].
    pub(crate) async fn evict_least_recent(&self, count: usize) -> Result<Vec<String>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.ids("evict sessions", &SCRIPTS.evict, Some(count))
            .await
    }

    /// See [`crate::Store::try_lease`].
    pub(crate) async fn try_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut command = ::redis::cmd("SET");
        command
            .arg(self.key("lease", id))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(duration_ms(ttl));
        let reply = self.command("take a lease", &command).await?;
        Ok(!matches!(reply, Value::Nil))
    }

    /// See [`crate::Store::renew_lease`].
    pub(crate) async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        const ACTION: &str = "renew a lease";
        let mut invocation = SCRIPTS.renew_lease.prepare_invoke();
        invocation
            .key(self.key("lease", id))
            .arg(owner)
            .arg(duration_ms(ttl));
        let reply = self.invoke(ACTION, &invocation).await?;
        number(&reply)
            .map(|renewed| renewed == 1)
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::release_lease`].
    pub(crate) async fn release_lease(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        const ACTION: &str = "release a lease";
        let mut invocation = SCRIPTS.release_lease.prepare_invoke();
        invocation.key(self.key("lease", id)).arg(owner);
        let reply = self.invoke(ACTION, &invocation).await?;
        number(&reply)
            .map(|released| released == 1)
            .ok_or_else(|| self.odd(ACTION, &reply))
    }

    /// See [`crate::Store::cache_get`].
    pub(crate) async fn cache_get(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        const ACTION: &str = "read the cache";
        let mut command = ::redis::cmd("GET");
        command.arg(self.key("cache", &hex(key)));
        let reply = self.command(ACTION, &command).await?;
        match &reply {
            Value::Nil => Ok(None),
            other => bytes(other)
                .map(Some)
                .ok_or_else(|| self.odd(ACTION, &reply)),
        }
    }

    /// See [`crate::Store::cache_put`].
    pub(crate) async fn cache_put(
        &self,
        key: &[u8; 32],
        body: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut command = ::redis::cmd("SET");
        command
            .arg(self.key("cache", &hex(key)))
            .arg(body)
            .arg("PX")
            .arg(duration_ms(ttl));
        self.command("write the cache", &command).await.map(drop)
    }

    /// See [`crate::Store::add_counter`].
    pub(crate) async fn add_counter(&self, name: &str, delta: u64) -> Result<(), StoreError> {
        let mut command = ::redis::cmd("HINCRBY");
        command
            .arg(format!("{}:counters", self.options.namespace))
            .arg(name)
            .arg(i64::try_from(delta).unwrap_or(i64::MAX));
        self.command("add to a counter", &command).await.map(drop)
    }

    /// See [`crate::Store::counters`].
    pub(crate) async fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        const ACTION: &str = "read counters";
        let mut command = ::redis::cmd("HGETALL");
        command.arg(format!("{}:counters", self.options.namespace));
        let reply = self.command(ACTION, &command).await?;
        pairs(&reply)
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .map(|(name, value)| Some((text(name)?, number(value)?)))
                    .collect()
            })
            .ok_or_else(|| self.odd(ACTION, &reply))
    }
}

/// The elements of an array reply.
fn array(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

/// The field/value pairs of a flat `[k, v, k, v]` array or a map (RESP3).
fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    match value {
        Value::Map(entries) => Some(entries.iter().map(|(key, value)| (key, value)).collect()),
        Value::Array(items) if items.len() % 2 == 0 => Some(
            items
                .chunks_exact(2)
                .map(|pair| (&pair[0], &pair[1]))
                .collect(),
        ),
        _ => None,
    }
}

/// The bytes of a string reply.
fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(data) => Some(data.clone()),
        Value::SimpleString(data) => Some(data.clone().into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        _ => None,
    }
}

/// A string reply as UTF-8 text.
fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|data| String::from_utf8(data).ok())
}

/// A non-negative integer reply, or a string of one.
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Int(number) => u64::try_from(*number).ok(),
        other => text(other)?.parse().ok(),
    }
}

/// `bytes` in lower-case hexadecimal.
fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(64), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
