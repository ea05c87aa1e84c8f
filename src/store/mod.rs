//! Durable state in SQLite (WAL, synchronous=FULL): clusters (spec, status, frozen plan and
//! the reconciler's schedule), their events, secrets (sealed), keys of retried creates and the
//! local backend's address allocations. Every write is a transaction that is on disk when the
//! call returns, so `kill -9` at any moment loses nothing that was acknowledged.

pub mod capacity;
pub mod migrations;
pub mod secrets;

use crate::cluster::event::{Event, EventKind, NewEvent};
use crate::cluster::{ClusterSpec, ClusterState, Desired, NodeInfo, Operation, Outputs, Progress};
use crate::plan::{ClusterPlan, GeneratedSecret};
use base64::Engine;
use capacity::{Capacity, LimitReached};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use secrets::{SecretBox, SecretError};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Setup(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("no free address left in the local address range")]
    AddressesExhausted,
}

/// The clusters due for the reconciler at `?1`, from a range of the `next_look_at` index.
const DUE: &str = "SELECT id, generation FROM clusters WHERE next_look_at <= ?1 AND state != 'deleted' ORDER BY next_look_at";

/// A tenant's clusters, oldest first, from the `clusters_by_tenant` index alone.
const LIST: &str =
    "SELECT id FROM clusters WHERE tenant = ?1 AND state != 'deleted' ORDER BY created_at, id";

/// `next_look_at` of a cluster nothing is due for.
pub const NEVER: i64 = i64::MAX;

/// A cluster as stored: what the user wants (spec, generation) and what disco saw (status).
#[derive(Debug, Clone)]
pub struct ClusterRecord {
    pub id: Uuid,
    pub tenant: String,
    pub spec: ClusterSpec,
    pub desired: Desired,
    /// Grows with every accepted change of the spec (and with delete).
    pub generation: i64,
    /// The generation the state reflects.
    pub observed_generation: i64,
    pub state: ClusterState,
    /// The last operation (what `failed` failed at).
    pub operation: Operation,
    pub reason: Option<String>,
    pub progress: Progress,
    pub outputs: Outputs,
    pub nodes: Vec<NodeInfo>,
    pub ssh_key_name: String,
    pub ssh_public_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Failed reconciler steps in a row (backoff grows with them).
    pub failures: u32,
}

impl ClusterRecord {
    /// Slaves the cluster has, as far as disco has seen.
    pub fn built_slaves(&self) -> u32 {
        self.nodes.iter().filter(|n| n.role != "master").count() as u32
    }
}

/// What the reconciler learned about a cluster.
#[derive(Debug, Clone)]
pub struct Observed {
    pub state: ClusterState,
    pub operation: Operation,
    pub reason: Option<String>,
    pub progress: Progress,
    pub outputs: Outputs,
    pub nodes: Vec<NodeInfo>,
    /// Steps to add to the history along with the state.
    pub events: Vec<NewEvent>,
}

impl Observed {
    /// The record's current status, to be changed by the caller.
    pub fn of(record: &ClusterRecord) -> Observed {
        Observed {
            state: record.state,
            operation: record.operation,
            reason: record.reason.clone(),
            progress: record.progress.clone(),
            outputs: record.outputs.clone(),
            nodes: record.nodes.clone(),
            events: Vec::new(),
        }
    }

    /// Whether recording this would change nothing.
    pub fn same_as(&self, record: &ClusterRecord) -> bool {
        self.events.is_empty()
            && self.state == record.state
            && self.operation == record.operation
            && self.reason == record.reason
            && self.progress == record.progress
            && self.outputs == record.outputs
            && self.nodes == record.nodes
    }
}

/// The result of storing a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    Created,
    /// A limit (the tenant's clusters, all clusters, all nodes) would be passed.
    Refused(LimitReached),
    /// The idempotency key was used before (within a day) for this cluster.
    Existing(Uuid),
}

/// How long an idempotency key maps to its cluster.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The SQLite store. One connection writes; readers use their own connections (WAL).
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    secrets: SecretBox,
    /// The newest event id, for live event streams.
    events: tokio::sync::watch::Sender<i64>,
    changes: Mutex<Changes>,
}

/// What a write changed, for [`Store::version`].
#[derive(Debug, Clone, Copy)]
pub enum Touches<'a> {
    One(Uuid),
    These(&'a [Uuid]),
    /// Any cluster (a purge).
    All,
}

/// Counters of committed changes: per cluster, and of changes to any cluster.
#[derive(Default)]
struct Changes {
    next: u64,
    all: u64,
    clusters: std::collections::HashMap<Uuid, u64>,
    /// SQLite's `data_version` of the writer connection when last looked at: it changes when
    /// another process (`disco forget`) commits.
    outside: Option<i64>,
}

/// A cluster's version: it differs after any later committed write that touched the cluster.
pub type Version = (u64, u64);

macro_rules! select_clusters {
    ($where:literal) => {
        concat!(
            "SELECT id, tenant, spec, desired, state, reason, progress, outputs, ssh_key_name, ",
            "ssh_public_key, created_at, updated_at, generation, observed_generation, operation, ",
            "nodes, expires_at, failures FROM clusters WHERE ",
            $where
        )
    };
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(connection)
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn now() -> String {
    timestamp(Utc::now())
}

/// Milliseconds since the epoch, the reconciler's clock.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp `{text}`: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// JSON of `value` with every [`crate::secret::Secret`] in it sealed for `owner`.
fn sealed_json<T: serde::Serialize>(
    secrets: &SecretBox,
    value: &T,
    owner: &str,
) -> Result<String, StoreError> {
    let mut tree = serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    crate::secret::seal_marked(&mut tree, &|text| {
        base64::engine::general_purpose::STANDARD.encode(secrets.seal(text.as_bytes(), owner))
    });
    to_json(&tree)
}

/// Reads what [`sealed_json`] wrote (or plain JSON, which has nothing sealed in it).
fn from_sealed_json<T: serde::de::DeserializeOwned>(
    secrets: &SecretBox,
    text: &str,
    owner: &str,
) -> Result<T, String> {
    if !text.contains("\"sealed\"") {
        return serde_json::from_str(text).map_err(|e| e.to_string());
    }
    let mut tree: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    crate::secret::open_marked(&mut tree, &|sealed| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| e.to_string())?;
        let plain = secrets.open(&bytes, owner).map_err(|e| e.to_string())?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    })?;
    serde_json::from_value(tree).map_err(|e| e.to_string())
}

fn row_to_record(
    row: &rusqlite::Row<'_>,
    secrets: &SecretBox,
) -> rusqlite::Result<Result<ClusterRecord, StoreError>> {
    let id: String = row.get(0)?;
    let tenant: String = row.get(1)?;
    let spec: String = row.get(2)?;
    let desired: String = row.get(3)?;
    let state: String = row.get(4)?;
    let reason: Option<String> = row.get(5)?;
    let progress: String = row.get(6)?;
    let outputs: String = row.get(7)?;
    let ssh_key_name: String = row.get(8)?;
    let ssh_public_key: String = row.get(9)?;
    let created_at: String = row.get(10)?;
    let updated_at: String = row.get(11)?;
    let generation: i64 = row.get(12)?;
    let observed_generation: i64 = row.get(13)?;
    let operation: String = row.get(14)?;
    let nodes: String = row.get(15)?;
    let expires_at: Option<String> = row.get(16)?;
    let failures: i64 = row.get(17)?;
    Ok((|| {
        let corrupt =
            |what: &str, e: String| StoreError::Corrupt(format!("cluster {id} {what}: {e}"));
        Ok(ClusterRecord {
            id: Uuid::parse_str(&id).map_err(|e| corrupt("id", e.to_string()))?,
            tenant,
            spec: from_sealed_json(secrets, &spec, &id).map_err(|e| corrupt("spec", e))?,
            desired: Desired::parse(&desired).ok_or_else(|| corrupt("desired", desired.clone()))?,
            generation,
            observed_generation,
            state: ClusterState::parse(&state).ok_or_else(|| corrupt("state", state.clone()))?,
            operation: Operation::parse(&operation)
                .ok_or_else(|| corrupt("operation", operation.clone()))?,
            reason,
            progress: serde_json::from_str(&progress)
                .map_err(|e| corrupt("progress", e.to_string()))?,
            outputs: serde_json::from_str(&outputs)
                .map_err(|e| corrupt("outputs", e.to_string()))?,
            nodes: serde_json::from_str(&nodes).map_err(|e| corrupt("nodes", e.to_string()))?,
            ssh_key_name,
            ssh_public_key,
            created_at: parse_time(&created_at)?,
            updated_at: parse_time(&updated_at)?,
            expires_at: expires_at.as_deref().map(parse_time).transpose()?,
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
        })
    })())
}

fn row_to_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Event, StoreError>> {
    let id: i64 = row.get(0)?;
    let at: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let node: Option<String> = row.get(3)?;
    let message: String = row.get(4)?;
    Ok((|| {
        Ok(Event {
            id,
            at: parse_time(&at)?,
            kind: EventKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("event {id} kind `{kind}`")))?,
            node,
            message,
        })
    })())
}

/// Records the records that could be read; one unreadable row must not stop work on every
/// other cluster.
/// A new cluster to store.
pub struct NewCluster<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub spec: &'a ClusterSpec,
    /// The plan resolved now, kept for the cluster's whole life.
    pub plan: &'a ClusterPlan,
    pub ssh_key_name: &'a str,
    pub ssh_public_key: &'a str,
    pub ssh_private_key: &'a str,
    /// Secrets generated for the cluster's frameworks, with their values.
    pub generated: &'a [(GeneratedSecret, String)],
    /// What the backend keeps to act for the owner (sealed).
    pub backend_data: Option<&'a serde_json::Value>,
    /// `Idempotency-Key`: a retry with the same key finds this cluster.
    pub idempotency_key: Option<&'a str>,
}

/// Whether a new cluster of `tenant` with `slaves` slaves fits within `capacity`.
fn admissible(
    connection: &Connection,
    tenant: &str,
    slaves: u32,
    capacity: &Capacity,
) -> Result<Result<(), LimitReached>, StoreError> {
    Ok(capacity::check_new(
        capacity,
        tenant,
        count_active(connection, tenant)?,
        capacity::live_clusters(connection)?,
        capacity::nodes_in_use(connection, None)?,
        capacity::nodes_held(slaves, 0),
    ))
}

/// Number of a tenant's clusters that are not deleted.
fn count_active(connection: &Connection, tenant: &str) -> Result<u32, StoreError> {
    Ok(connection
        .prepare_cached("SELECT COUNT(*) FROM clusters WHERE tenant = ?1 AND state != 'deleted'")?
        .query_row(params![tenant], |row| row.get::<_, u32>(0))?)
}

/// A cluster id as the store keeps it (text).
fn stored_id(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("cluster id {text}: {e}")))
}

fn expires_at(created_at: DateTime<Utc>, spec: &ClusterSpec) -> Option<DateTime<Utc>> {
    spec.lifetime
        .and_then(|lifetime| created_at.checked_add_signed(lifetime.duration()))
}

/// When a settled cluster is next due: its expiry, or never.
fn settled_look(expires: Option<DateTime<Utc>>) -> i64 {
    expires.map_or(NEVER, |at| at.timestamp_millis())
}

fn insert_event(
    t: &Transaction<'_>,
    id: Uuid,
    at: &str,
    event: &NewEvent,
) -> Result<i64, StoreError> {
    t.prepare_cached(
        "INSERT INTO events (cluster_id, at, kind, node, message) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id.to_string(),
        at,
        event.kind.as_str(),
        event.node,
        event.message
    ])?;
    Ok(t.last_insert_rowid())
}

impl Store {
    /// Opens (creating if needed) `data_dir/disco.db` and `data_dir/secret.key`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Setup(format!(
                "cannot create store.data_dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("disco.db");
        let mut writer = open_connection(&path)?;
        migrations::migrate(&mut writer)?.map_err(StoreError::Setup)?;
        let readers = (0..4)
            .map(|_| open_connection(&path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let secrets = SecretBox::load_or_create(&data_dir.join("secret.key"))?;
        let last: i64 =
            writer.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?;
        Ok(Store {
            writer: Mutex::new(writer),
            readers,
            secrets,
            events: tokio::sync::watch::channel(last).0,
            changes: Mutex::new(Changes::default()),
        })
    }

    /// The newest event id; changes whenever an event is recorded.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.events.subscribe()
    }

    /// The cluster's version: read it before reading the cluster, and what was read is
    /// current as long as the version stays the same (caches of renderings use this).
    pub fn version(&self, id: Uuid) -> Version {
        let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        (changes.all, changes.clusters.get(&id).copied().unwrap_or(0))
    }

    /// Notices changes another process committed (`disco forget` on a running server's data):
    /// they change every cluster's version. The reconciler calls this every tick.
    pub fn notice_outside_writes(&self) -> Result<(), StoreError> {
        let version: i64 = {
            let connection = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            connection.query_row("PRAGMA data_version", [], |row| row.get(0))?
        };
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if changes.outside.is_some_and(|seen| seen != version) {
            changes.next += 1;
            changes.all = changes.next;
            changes.clusters.clear();
        }
        changes.outside = Some(version);
        Ok(())
    }

    /// Runs a write transaction that changes the clusters `touches` says; events it recorded
    /// are announced, and the versions of the clusters changed, once it committed.
    fn write<T>(
        &self,
        touches: Touches<'_>,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = connection.transaction()?;
        let value = f(&mut t)?;
        t.commit()?;
        let last = connection.last_insert_rowid();
        drop(connection);
        {
            let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
            changes.next += 1;
            let next = changes.next;
            match touches {
                Touches::One(id) => {
                    changes.clusters.insert(id, next);
                }
                Touches::These(ids) => {
                    for id in ids {
                        changes.clusters.insert(*id, next);
                    }
                }
                Touches::All => {
                    changes.all = next;
                    changes.clusters.clear();
                }
            }
        }
        self.events.send_if_modified(|newest| {
            if last > *newest {
                *newest = last;
                true
            } else {
                false
            }
        });
        Ok(value)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        for reader in &self.readers {
            if let Ok(connection) = reader.try_lock() {
                return f(&connection);
            }
        }
        let connection = self.readers[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&connection)
    }

    /// The cluster a tenant's idempotency key stands for, if it was used within a day.
    pub fn idempotent_cluster(&self, tenant: &str, key: &str) -> Result<Option<Uuid>, StoreError> {
        let since = now_ms() - IDEMPOTENCY_WINDOW_MS;
        let found: Option<String> = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT cluster_id FROM idempotency_keys WHERE tenant = ?1 AND key = ?2 AND created_at > ?3",
            )?
            .query_row(params![tenant, key, since], |row| row.get(0))
            .optional()?)
        })?;
        found.as_deref().map(stored_id).transpose()
    }

    /// Stores a new cluster (private key sealed, plan frozen) in state `pending`, unless it
    /// would pass a limit of `capacity`, or its idempotency key already stands for a cluster.
    /// Checking and inserting are one transaction, so concurrent creates cannot both take the
    /// last place or both use one key.
    pub fn insert(
        &self,
        new: &NewCluster<'_>,
        capacity: &Capacity,
    ) -> Result<Inserted, StoreError> {
        let id = new.id.to_string();
        let spec = sealed_json(&self.secrets, new.spec, &id)?;
        let plan = sealed_json(&self.secrets, new.plan, &id)?;
        let progress = to_json(&Progress {
            frameworks: new.plan.frameworks.clone(),
            ..Progress::default()
        })?;
        let sealed = self.secrets.seal(new.ssh_private_key.as_bytes(), &id);
        let generated = to_json(&new.generated)?;
        let generated = self.secrets.seal(generated.as_bytes(), &id);
        let backend_data = new
            .backend_data
            .map(|data| self.secrets.seal(data.to_string().as_bytes(), &id));
        let created = Utc::now();
        let at = timestamp(created);
        let expires = expires_at(created, new.spec).map(timestamp);
        self.write(Touches::One(new.id), |t| {
            if let Some(key) = new.idempotency_key {
                let since = now_ms() - IDEMPOTENCY_WINDOW_MS;
                let existing: Option<String> = t
                    .query_row(
                        "SELECT cluster_id FROM idempotency_keys WHERE tenant = ?1 AND key = ?2 AND created_at > ?3",
                        params![new.tenant, key, since],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(existing) = existing {
                    let existing = Uuid::parse_str(&existing)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    return Ok(Inserted::Existing(existing));
                }
            }
            if let Err(limit) = admissible(t, new.tenant, new.spec.slave_count, capacity)? {
                return Ok(Inserted::Refused(limit));
            }
            t.execute(
                "INSERT INTO clusters (id, tenant, spec, desired, state, progress, ssh_key_name,
                 ssh_public_key, ssh_private_key, generated, backend_data, created_at, updated_at,
                 plan, expires_at, generation, observed_generation, next_look_at)
                 VALUES (?1, ?2, ?3, 'running', 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11,
                 ?12, 1, 0, 0)",
                params![id, new.tenant, spec, progress, new.ssh_key_name, new.ssh_public_key,
                    sealed, generated, backend_data, at, plan, expires],
            )?;
            if let Some(key) = new.idempotency_key {
                t.execute(
                    "INSERT OR REPLACE INTO idempotency_keys (tenant, key, cluster_id, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![new.tenant, key, id, created.timestamp_millis()],
                )?;
            }
            capacity::refresh_nodes_held(t, new.id)?;
            insert_event(t, new.id, &at, &NewEvent::new(EventKind::Action, "create requested"))?;
            Ok(Inserted::Created)
        })
    }

    /// A tenant's cluster, unless deleted.
    pub fn get(&self, tenant: &str, id: Uuid) -> Result<Option<ClusterRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(select_clusters!(
                "id = ?1 AND tenant = ?2 AND state != 'deleted'"
            ))?
            .query_row(params![id.to_string(), tenant], |row| {
                row_to_record(row, &self.secrets)
            })
            .optional()?
            .transpose()
        })
    }

    /// Any cluster by id, including deleted ones (for the reconciler and tests).
    pub fn get_any(&self, id: Uuid) -> Result<Option<ClusterRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(select_clusters!("id = ?1"))?
                .query_row(params![id.to_string()], |row| {
                    row_to_record(row, &self.secrets)
                })
                .optional()?
                .transpose()
        })
    }

    /// A tenant's cluster whose history may still be read: not deleted, or deleted less than
    /// `keep_deleted_secs` ago.
    pub fn get_with_history(
        &self,
        tenant: &str,
        id: Uuid,
        keep_deleted_secs: u64,
    ) -> Result<Option<ClusterRecord>, StoreError> {
        let record = self.get_any(id)?.filter(|r| r.tenant == tenant);
        let cutoff = Utc::now() - chrono::Duration::seconds(keep_deleted_secs as i64);
        Ok(record.filter(|r| r.state != ClusterState::Deleted || r.updated_at > cutoff))
    }

    /// The plan frozen when the cluster was admitted (`None` for clusters stored before plans
    /// were kept).
    pub fn plan(&self, id: Uuid) -> Result<Option<ClusterPlan>, StoreError> {
        let text: Option<String> = self.read(|c| {
            Ok(c.prepare_cached("SELECT plan FROM clusters WHERE id = ?1")?
                .query_row(params![id.to_string()], |row| row.get(0))
                .optional()?
                .flatten())
        })?;
        text.map(|t| {
            from_sealed_json(&self.secrets, &t, &id.to_string())
                .map_err(|e| StoreError::Corrupt(format!("cluster {id} plan: {e}")))
        })
        .transpose()
    }

    /// Freezes a plan for a cluster that has none yet.
    pub fn keep_plan(&self, id: Uuid, plan: &ClusterPlan) -> Result<(), StoreError> {
        let text = sealed_json(&self.secrets, plan, &id.to_string())?;
        self.write(Touches::One(id), |t| {
            t.execute(
                "UPDATE clusters SET plan = ?2 WHERE id = ?1 AND plan IS NULL",
                params![id.to_string(), text],
            )?;
            Ok(())
        })
    }

    /// The secrets generated for the cluster's frameworks, decrypted.
    pub fn generated_secrets(
        &self,
        id: Uuid,
    ) -> Result<Vec<(GeneratedSecret, String)>, StoreError> {
        Ok(self.owner_secrets(id)?.1)
    }

    /// What the backend keeps for the cluster, decrypted.
    pub fn backend_data(&self, id: Uuid) -> Result<Option<serde_json::Value>, StoreError> {
        let key = id.to_string();
        let sealed: Option<Vec<u8>> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT backend_data FROM clusters WHERE id = ?1")?
                    .query_row(params![key], |row| row.get(0))
                    .optional()?
                    .flatten(),
            )
        })?;
        sealed
            .map(|sealed| {
                serde_json::from_slice(&self.secrets.open(&sealed, &key)?)
                    .map_err(|e| StoreError::Corrupt(format!("cluster {id} backend data: {e}")))
            })
            .transpose()
    }

    /// What the owner of a ready cluster is shown: its private key and generated secrets, read
    /// in one query.
    pub fn owner_secrets(
        &self,
        id: Uuid,
    ) -> Result<(String, Vec<(GeneratedSecret, String)>), StoreError> {
        let key = id.to_string();
        let (private_key, generated): (Vec<u8>, Option<Vec<u8>>) = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT ssh_private_key, generated FROM clusters WHERE id = ?1")?
                    .query_row(params![key], |row| Ok((row.get(0)?, row.get(1)?)))?,
            )
        })?;
        let private_key = String::from_utf8(self.secrets.open(&private_key, &key)?)
            .map_err(|_| StoreError::Corrupt(format!("cluster {id} private key")))?;
        let generated = match generated {
            Some(sealed) => serde_json::from_slice(&self.secrets.open(&sealed, &key)?)
                .map_err(|e| StoreError::Corrupt(format!("cluster {id} generated secrets: {e}")))?,
            None => Vec::new(),
        };
        Ok((private_key, generated))
    }

    /// Ids of a tenant's clusters that are not deleted, oldest first.
    pub fn list(&self, tenant: &str) -> Result<Vec<Uuid>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(LIST)?;
            let ids = statement
                .query_map(params![tenant], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.iter().map(|id| stored_id(id)).collect()
        })
    }

    /// Changes a tenant's cluster: `change` sees the current record and returns the new spec
    /// with the event that records the request, or its own error (nothing is written then).
    /// A spec that needs more nodes than the cluster holds must fit within `max_nodes` for all
    /// clusters together. The generation grows and the cluster is due at once; no other
    /// cluster's schedule changes. `None`: no such cluster.
    pub fn update_spec<E: From<LimitReached>>(
        &self,
        tenant: &str,
        id: Uuid,
        max_nodes: u32,
        change: impl FnOnce(&ClusterRecord) -> Result<(ClusterSpec, NewEvent), E>,
    ) -> Result<Option<Result<ClusterRecord, E>>, StoreError> {
        let at = Utc::now();
        self.write(Touches::One(id), |t| {
            let record = t
                .prepare_cached(select_clusters!(
                    "id = ?1 AND tenant = ?2 AND state != 'deleted'"
                ))?
                .query_row(params![id.to_string(), tenant], |row| {
                    row_to_record(row, &self.secrets)
                })
                .optional()?
                .transpose()?;
            let Some(mut record) = record else {
                return Ok(None);
            };
            let (spec, event) = match change(&record) {
                Ok(change) => change,
                Err(e) => return Ok(Some(Err(e))),
            };
            let built = record.built_slaves();
            let held = capacity::nodes_held(record.spec.slave_count, built);
            let wanted = capacity::nodes_held(spec.slave_count, built);
            if wanted > held {
                let others = capacity::nodes_in_use(t, Some(id))?;
                if let Err(limit) = capacity::check_nodes(max_nodes, others + held, wanted - held) {
                    return Ok(Some(Err(E::from(limit))));
                }
            }
            record.expires_at = expires_at(record.created_at, &spec);
            record.spec = spec;
            record.generation += 1;
            record.updated_at = at;
            t.execute(
                "UPDATE clusters SET spec = ?2, generation = ?3, expires_at = ?4, updated_at = ?5,
                 next_look_at = 0, failures = 0 WHERE id = ?1",
                params![
                    id.to_string(),
                    sealed_json(&self.secrets, &record.spec, &id.to_string())?,
                    record.generation,
                    record.expires_at.map(timestamp),
                    timestamp(at)
                ],
            )?;
            capacity::refresh_nodes_held(t, id)?;
            insert_event(t, id, &timestamp(at), &event)?;
            Ok(Some(Ok(record)))
        })
    }

    /// Asks for deletion of the given clusters of `tenant`, all or none: returns the ids that are
    /// not the tenant's (nothing is changed then). `why` is the event recorded.
    pub fn request_delete(
        &self,
        tenant: &str,
        ids: &[Uuid],
        why: &str,
    ) -> Result<Vec<Uuid>, StoreError> {
        let at = now();
        self.write(Touches::These(ids), |t| {
            let mut missing = Vec::new();
            for id in ids {
                let found: Option<String> = t
                    .query_row(
                        "SELECT state FROM clusters WHERE id = ?1 AND tenant = ?2 AND state != 'deleted'",
                        params![id.to_string(), tenant],
                        |row| row.get(0),
                    )
                    .optional()?;
                if found.is_none() {
                    missing.push(*id);
                }
            }
            if !missing.is_empty() {
                return Ok(missing);
            }
            for id in ids {
                let changed = t.execute(
                    "UPDATE clusters SET desired = 'deleted', state = 'deleting', reason = NULL,
                     generation = generation + 1, updated_at = ?2, next_look_at = 0, failures = 0
                     WHERE id = ?1 AND desired != 'deleted'",
                    params![id.to_string(), at],
                )?;
                if changed > 0 {
                    insert_event(t, *id, &at, &NewEvent::new(EventKind::Action, why))?;
                    insert_event(t, *id, &at, &NewEvent::new(EventKind::State, "-> deleting"))?;
                }
            }
            Ok(Vec::new())
        })
    }

    /// Clusters the reconciler must look at now (changing ones, settled ones whose expiry
    /// came, and failed steps whose pause is over), as ids with their generation. Uses an
    /// index, so the cost grows with what is due, not with all clusters; the reconciler
    /// reads whole records only of those it then looks at.
    pub fn due_ids(&self, now_ms: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(DUE)?;
            let rows = statement
                .query_map(params![now_ms], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, generation)| Ok((stored_id(&id)?, generation)))
                .collect()
        })
    }

    /// When the next cluster is due (milliseconds since the epoch), if any is.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            Ok(
                c.prepare_cached(
                    "SELECT MIN(next_look_at) FROM clusters WHERE state != 'deleted'",
                )?
                .query_row([], |row| row.get::<_, Option<i64>>(0))?
                .filter(|at| *at < NEVER),
            )
        })
    }

    /// Ids of the clusters that are up (ready or degraded), for health looks.
    pub fn up(&self) -> Result<Vec<Uuid>, StoreError> {
        self.read(|c| {
            let mut statement =
                c.prepare_cached("SELECT id FROM clusters WHERE state IN ('ready', 'degraded')")?;
            let ids = statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids
                .iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect())
        })
    }

    /// Number of a tenant's clusters that are not deleted.
    pub fn count_for_tenant(&self, tenant: &str) -> Result<u32, StoreError> {
        self.read(|c| count_active(c, tenant))
    }

    /// Whether a new cluster of `tenant` with `slaves` slaves would fit within `capacity` now
    /// (`insert` checks again as it stores).
    pub fn admissible(
        &self,
        tenant: &str,
        slaves: u32,
        capacity: &Capacity,
    ) -> Result<Result<(), LimitReached>, StoreError> {
        self.read(|c| admissible(c, tenant, slaves, capacity))
    }

    /// Records what the reconciler saw, unless the spec changed since it read the cluster at
    /// `generation` (then the observation is stale and dropped). A settled state records the
    /// generation as observed and schedules the next look (expiry); an active one keeps the
    /// cluster due. Returns whether it was recorded.
    pub fn record(
        &self,
        id: Uuid,
        generation: i64,
        observed: &Observed,
    ) -> Result<bool, StoreError> {
        let progress = to_json(&observed.progress)?;
        let outputs = to_json(&observed.outputs)?;
        let nodes = to_json(&observed.nodes)?;
        let at = now();
        self.write(Touches::One(id), |t| {
            let previous: Option<(String, Option<String>)> = t
                .prepare_cached(
                    "SELECT state, expires_at FROM clusters WHERE id = ?1 AND generation = ?2",
                )?
                .query_row(params![id.to_string(), generation], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            let Some((previous, expires)) = previous else {
                return Ok(false);
            };
            let settled = !observed.state.is_active();
            let expires = expires.as_deref().map(parse_time).transpose()?;
            t.prepare_cached(
                "UPDATE clusters SET state = ?2, reason = ?3, progress = ?4, outputs = ?5,
                 nodes = ?6, operation = ?7, updated_at = ?8,
                 observed_generation = CASE WHEN ?9 THEN generation ELSE observed_generation END,
                 next_look_at = CASE WHEN ?9 THEN ?10 ELSE 0 END
                 WHERE id = ?1",
            )?
            .execute(params![
                id.to_string(),
                observed.state.as_str(),
                observed.reason,
                progress,
                outputs,
                nodes,
                observed.operation.as_str(),
                at,
                settled,
                settled_look(expires),
            ])?;
            capacity::refresh_nodes_held(t, id)?;
            for event in &observed.events {
                insert_event(t, id, &at, event)?;
            }
            if previous != observed.state.as_str() {
                let (kind, message) = match &observed.reason {
                    Some(reason) if observed.state == ClusterState::Failed => (
                        EventKind::Failure,
                        format!("{previous} -> failed: {reason}"),
                    ),
                    Some(reason) => (
                        EventKind::State,
                        format!("{previous} -> {}: {reason}", observed.state.as_str()),
                    ),
                    None => (
                        EventKind::State,
                        format!("{previous} -> {}", observed.state.as_str()),
                    ),
                };
                insert_event(t, id, &at, &NewEvent::new(kind, message))?;
            }
            Ok(true)
        })
    }

    /// Records a failed step: the next look waits `retry_at`. Durable, so a restart keeps the
    /// pause; ignored if the spec changed meanwhile (then the cluster is due at once).
    pub fn record_failure(
        &self,
        id: Uuid,
        generation: i64,
        failures: u32,
        retry_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.write(Touches::One(id), |t| {
            t.prepare_cached(
                "UPDATE clusters SET failures = ?3, next_look_at = ?4 WHERE id = ?1 AND generation = ?2",
            )?
            .execute(params![id.to_string(), generation, failures, retry_at_ms])?;
            Ok(())
        })
    }

    /// Forgets failed steps once one got through; an active cluster is due again at once.
    pub fn clear_failures(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(Touches::One(id), |t| {
            t.prepare_cached(
                "UPDATE clusters SET failures = 0,
                 next_look_at = CASE WHEN state IN ('pending', 'building', 'scaling', 'suspending',
                 'resuming', 'deleting') THEN 0 ELSE next_look_at END
                 WHERE id = ?1 AND failures > 0",
            )?
            .execute(params![id.to_string()])?;
            Ok(())
        })
    }

    /// Adds events to a cluster's history.
    pub fn add_events(&self, id: Uuid, events: &[NewEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let at = now();
        self.write(Touches::One(id), |t| {
            for event in events {
                insert_event(t, id, &at, event)?;
            }
            Ok(())
        })
    }

    /// The cluster's events newer than `since`, oldest first.
    pub fn events(&self, id: Uuid, since: i64) -> Result<Vec<Event>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, at, kind, node, message FROM events WHERE cluster_id = ?1 AND id > ?2 ORDER BY id",
            )?;
            let rows = statement
                .query_map(params![id.to_string(), since], row_to_event)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })
    }

    /// Forgets clusters deleted before `cutoff` with their history, and idempotency keys
    /// older than a day. Returns how many clusters were forgotten.
    pub fn purge(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = timestamp(cutoff);
        let keys_before = now_ms() - IDEMPOTENCY_WINDOW_MS;
        self.write(Touches::All, |t| {
            t.execute(
                "DELETE FROM events WHERE cluster_id IN
                 (SELECT id FROM clusters WHERE state = 'deleted' AND updated_at < ?1)",
                params![cutoff],
            )?;
            let forgotten = t.execute(
                "DELETE FROM clusters WHERE state = 'deleted' AND updated_at < ?1",
                params![cutoff],
            )?;
            t.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                params![keys_before],
            )?;
            Ok(forgotten)
        })
    }

    /// Addresses of a cluster's nodes, by node index, allocating free ones from `candidates`
    /// the first time. Idempotent: the same cluster always gets the same addresses.
    pub fn allocate_addresses(
        &self,
        id: Uuid,
        count: usize,
        candidates: impl Iterator<Item = Ipv4Addr>,
    ) -> Result<Vec<Ipv4Addr>, StoreError> {
        self.write(Touches::One(id), |t| {
            let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
            let mut mine: Vec<(usize, String)> = Vec::new();
            {
                let mut statement = t.prepare("SELECT address, cluster_id, node_index FROM local_addresses")?;
                let rows = statement.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
                })?;
                for row in rows {
                    let (address, cluster, index) = row?;
                    if cluster == id.to_string() {
                        mine.push((index as usize, address.clone()));
                    }
                    taken.insert(address);
                }
            }
            let mut candidates = candidates.filter(|a| !taken.contains(&a.to_string()));
            for index in 0..count {
                if mine.iter().any(|(i, _)| *i == index) {
                    continue;
                }
                let address = candidates.next().ok_or(StoreError::AddressesExhausted)?;
                t.execute(
                    "INSERT INTO local_addresses (address, cluster_id, node_index) VALUES (?1, ?2, ?3)",
                    params![address.to_string(), id.to_string(), index as i64],
                )?;
                mine.push((index, address.to_string()));
            }
            mine.sort();
            mine.into_iter()
                .take(count)
                .map(|(_, a)| a.parse().map_err(|_| StoreError::Corrupt(format!("address {a}"))))
                .collect()
        })
    }

    /// Addresses held by a cluster, by node index.
    pub fn addresses(&self, id: Uuid) -> Result<Vec<(usize, Ipv4Addr)>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT node_index, address FROM local_addresses WHERE cluster_id = ?1 ORDER BY node_index",
            )?;
            let rows = statement
                .query_map(params![id.to_string()], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|(index, a)| {
                    a.parse()
                        .map(|address| (*index as usize, address))
                        .map_err(|_| StoreError::Corrupt(format!("address {a}")))
                })
                .collect()
        })
    }

    /// Frees the local addresses a cluster held: all of them, or those from node `from` up.
    pub fn release_addresses(&self, id: Uuid, from: usize) -> Result<(), StoreError> {
        self.write(Touches::One(id), |t| {
            t.execute(
                "DELETE FROM local_addresses WHERE cluster_id = ?1 AND node_index >= ?2",
                params![id.to_string(), from as i64],
            )?;
            Ok(())
        })
    }

    /// Marks a `deleting` cluster deleted without its backend: an operator's way out when
    /// disco can no longer act for the owner and what was left was removed by hand. False
    /// when no cluster with this id is `deleting`.
    pub fn forget(&self, id: Uuid) -> Result<bool, StoreError> {
        let at = now();
        self.write(Touches::One(id), |t| {
            let changed = t.execute(
                "UPDATE clusters SET state = 'deleted', reason = NULL, updated_at = ?2,
                 next_look_at = ?3 WHERE id = ?1 AND state = 'deleting'",
                params![id.to_string(), at, NEVER],
            )?;
            if changed == 1 {
                insert_event(
                    t,
                    id,
                    &at,
                    &NewEvent::new(
                        EventKind::State,
                        "deleting -> deleted (an operator removed what was left: disco forget)",
                    ),
                )?;
            }
            Ok(changed == 1)
        })
    }

    /// Marks a cluster deleted once its backend reported everything gone.
    pub fn mark_deleted(&self, id: Uuid) -> Result<(), StoreError> {
        let at = now();
        self.write(Touches::One(id), |t| {
            t.execute(
                "UPDATE clusters SET state = 'deleted', reason = NULL, updated_at = ?2,
                 next_look_at = ?3 WHERE id = ?1",
                params![id.to_string(), at, NEVER],
            )?;
            insert_event(
                t,
                id,
                &at,
                &NewEvent::new(EventKind::State, "deleting -> deleted"),
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn spec() -> ClusterSpec {
        ClusterSpec {
            title: None,
            summary: None,
            slave_count: 1,
            infrastructure: BTreeMap::new(),
            region: None,
            deployer_username: None,
            ssh_public_key: None,
            frameworks: BTreeMap::new(),
            lifetime: None,
            power: Default::default(),
        }
    }

    fn plan() -> ClusterPlan {
        let catalog = crate::frameworks::Catalog::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("frameworks"),
        )
        .unwrap();
        ClusterPlan::build(Uuid::nil(), &spec(), &catalog).unwrap()
    }

    fn store(dir: &Path) -> Store {
        Store::open(dir).unwrap()
    }

    fn insert(store: &Store, tenant: &str) -> Uuid {
        let id = Uuid::new_v4();
        let inserted = store
            .insert(
                &NewCluster {
                    id,
                    tenant,
                    spec: &spec(),
                    plan: &plan(),
                    ssh_key_name: "k",
                    ssh_public_key: "ssh-ed25519 AAAA",
                    ssh_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-x7\n",
                    generated: &[],
                    backend_data: None,
                    idempotency_key: None,
                },
                &Capacity::UNLIMITED,
            )
            .unwrap();
        assert_eq!(inserted, Inserted::Created);
        id
    }

    #[test]
    fn a_tenant_at_its_limit_gets_no_new_cluster_but_others_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        insert(&store, "a");
        let spec = spec();
        let plan = plan();
        let new = |tenant, key| NewCluster {
            id: Uuid::new_v4(),
            tenant,
            spec: &spec,
            plan: &plan,
            ssh_key_name: "k",
            ssh_public_key: "ssh-ed25519 AAAA",
            ssh_private_key: "",
            generated: &[],
            backend_data: None,
            idempotency_key: key,
        };
        let one = Capacity {
            clusters_per_tenant: 1,
            ..Capacity::UNLIMITED
        };
        assert_eq!(
            store.insert(&new("a", None), &one).unwrap(),
            Inserted::Refused(LimitReached::Tenant {
                tenant: "a".into(),
                limit: 1
            })
        );
        assert_eq!(
            store.insert(&new("b", None), &one).unwrap(),
            Inserted::Created
        );
        assert_eq!(store.count_for_tenant("a").unwrap(), 1);
        // A key stands for the first cluster made with it, for its tenant only.
        let first = new("c", Some("k1"));
        let five = Capacity {
            clusters_per_tenant: 5,
            ..Capacity::UNLIMITED
        };
        assert_eq!(store.insert(&first, &five).unwrap(), Inserted::Created);
        assert_eq!(
            store.insert(&new("c", Some("k1")), &five).unwrap(),
            Inserted::Existing(first.id)
        );
        assert_eq!(store.idempotent_cluster("c", "k1").unwrap(), Some(first.id));
        assert_eq!(store.idempotent_cluster("d", "k1").unwrap(), None);
        assert_eq!(store.count_for_tenant("c").unwrap(), 1);
    }

    #[test]
    fn nodes_count_across_tenants_and_a_scale_beyond_max_nodes_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let a = insert(&store, "a");
        insert(&store, "b");
        let five = Capacity {
            nodes: 5,
            ..Capacity::UNLIMITED
        };
        assert_eq!(
            store.admissible("c", 1, &five).unwrap(),
            Err(LimitReached::Nodes {
                limit: 5,
                in_use: 4,
                wanted: 2
            })
        );
        assert_eq!(store.admissible("c", 0, &five).unwrap(), Ok(()));
        let slaves = |n: u32| {
            move |r: &ClusterRecord| {
                let mut spec = r.spec.clone();
                spec.slave_count = n;
                Ok::<_, LimitReached>((spec, NewEvent::new(EventKind::Action, "scale")))
            }
        };
        let grown = store.update_spec("a", a, 5, slaves(3)).unwrap().unwrap();
        assert_eq!(
            grown.unwrap_err(),
            LimitReached::Nodes {
                limit: 5,
                in_use: 4,
                wanted: 2
            }
        );
        assert_eq!(store.get("a", a).unwrap().unwrap().generation, 1);
        // Shrinking always fits, even below what is in use.
        let shrunk = store.update_spec("a", a, 3, slaves(0)).unwrap().unwrap();
        assert_eq!(shrunk.unwrap().generation, 2);
        let clusters = Capacity {
            clusters: 2,
            ..Capacity::UNLIMITED
        };
        assert_eq!(
            store.admissible("c", 0, &clusters).unwrap(),
            Err(LimitReached::Clusters { limit: 2 })
        );
    }

    #[test]
    fn clusters_survive_reopening_and_tenants_are_separate() {
        let dir = tempfile::tempdir().unwrap();
        let id = insert(&store(dir.path()), "a");
        let reopened = store(dir.path());
        assert_eq!(
            reopened.get("a", id).unwrap().unwrap().state,
            ClusterState::Pending
        );
        assert!(reopened.get("b", id).unwrap().is_none());
        assert_eq!(reopened.list("a").unwrap(), vec![id]);
        assert!(reopened.list("b").unwrap().is_empty());
    }

    #[test]
    fn the_private_key_is_not_stored_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let id = insert(&s, "a");
        drop(s);
        let raw = std::fs::read(dir.path().join("disco.db")).unwrap();
        let wal = std::fs::read(dir.path().join("disco.db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(15).any(|w| w == b"key-material-x7"));
        }
        assert!(store(dir.path())
            .owner_secrets(id)
            .unwrap()
            .0
            .contains("key-material-x7"));
    }

    #[test]
    fn deleting_another_tenants_cluster_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mine = insert(&s, "a");
        let theirs = insert(&s, "b");
        assert_eq!(
            s.request_delete("a", &[mine, theirs], "delete requested")
                .unwrap(),
            vec![theirs]
        );
        assert_eq!(
            s.get("a", mine).unwrap().unwrap().state,
            ClusterState::Pending
        );
    }

    #[test]
    fn a_stale_observation_does_not_undo_a_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let id = insert(&s, "a");
        let before = s.get("a", id).unwrap().unwrap();
        s.request_delete("a", &[id], "delete requested").unwrap();
        let mut observed = Observed::of(&before);
        observed.state = ClusterState::Ready;
        assert!(!s.record(id, before.generation, &observed).unwrap());
        assert_eq!(
            s.get("a", id).unwrap().unwrap().state,
            ClusterState::Deleting
        );
    }

    #[test]
    fn addresses_are_stable_per_cluster_and_never_shared() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let range = || (1..=10).map(|i| Ipv4Addr::new(127, 9, 0, i));
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let first = s.allocate_addresses(a, 3, range()).unwrap();
        assert_eq!(s.allocate_addresses(a, 3, range()).unwrap(), first);
        let second = s.allocate_addresses(b, 3, range()).unwrap();
        assert!(second.iter().all(|x| !first.contains(x)));
        assert!(matches!(
            s.allocate_addresses(Uuid::new_v4(), 5, range()),
            Err(StoreError::AddressesExhausted)
        ));
        s.release_addresses(a, 2).unwrap();
        assert_eq!(s.addresses(a).unwrap().len(), 2);
        s.release_addresses(a, 0).unwrap();
        assert!(s.addresses(a).unwrap().is_empty());
    }

    #[test]
    fn the_reconcilers_query_reads_the_index_not_every_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let connection = s.readers[0].lock().unwrap();
        let plan: Vec<String> = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {DUE}"))
            .unwrap()
            .query_map([0], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH clusters USING INDEX clusters_by_next_look (next_look_at<?)"],
            "the due clusters come from a range of the index, in its order"
        );
    }

    /// The ids of the clusters due now.
    fn due_now(s: &Store) -> Vec<Uuid> {
        s.due_ids(now_ms())
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// SQLite's plan for `sql`, one line per step.
    fn query_plan(s: &Store, sql: &str) -> Vec<String> {
        let connection = s.readers[0].lock().unwrap();
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let count = statement.parameter_count();
        let parameters: Vec<String> = (0..count).map(|_| "x".to_string()).collect();
        statement
            .query_map(rusqlite::params_from_iter(parameters), |row| {
                row.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn capacity_checks_and_a_tenants_list_read_indexes_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for sql in [
            capacity::NODES_IN_USE,
            "SELECT COUNT(*) FROM clusters WHERE tenant = ?1 AND state != 'deleted'",
            "SELECT COUNT(*) FROM clusters WHERE state != 'deleted'",
            LIST,
        ] {
            let plan = query_plan(&s, sql);
            assert!(
                plan.iter().all(|step| step.contains("COVERING INDEX")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn a_write_changes_the_version_of_the_clusters_it_touched_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (a, b) = (insert(&s, "t"), insert(&s, "t"));
        let (before_a, before_b) = (s.version(a), s.version(b));
        s.clear_failures(a).unwrap();
        assert_ne!(s.version(a), before_a);
        assert_eq!(s.version(b), before_b);
        s.purge(Utc::now() - chrono::Duration::days(1)).unwrap();
        assert_ne!(s.version(b), before_b, "a purge may touch any cluster");

        let before = s.version(a);
        s.notice_outside_writes().unwrap();
        assert_eq!(s.version(a), before, "nothing changed outside");
        let other = store(dir.path());
        other
            .request_delete("t", &[b], "deleted by another process")
            .unwrap();
        s.notice_outside_writes().unwrap();
        assert_ne!(s.version(a), before, "another process wrote");
    }

    #[test]
    fn a_settled_cluster_is_due_only_at_its_expiry_and_a_change_makes_it_due_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let id = insert(&s, "a");
        let other = insert(&s, "a");
        let now = now_ms();
        assert_eq!(s.due_ids(now).unwrap().len(), 2, "new clusters are due");
        let record = s.get("a", id).unwrap().unwrap();
        let mut ready = Observed::of(&record);
        ready.state = ClusterState::Ready;
        assert!(s.record(id, record.generation, &ready).unwrap());
        let due = due_now(&s);
        assert_eq!(due, vec![other]);
        assert_eq!(s.get("a", id).unwrap().unwrap().observed_generation, 1);
        // A failed step of the other cluster pauses it durably; a change to the first does
        // not end that pause.
        s.record_failure(other, 1, 3, now + 60_000).unwrap();
        let updated = s
            .update_spec("a", id, u32::MAX, |r| {
                let mut spec = r.spec.clone();
                spec.lifetime = Some(crate::cluster::Lifetime::from_secs(3600));
                Ok::<_, LimitReached>((spec, NewEvent::new(EventKind::Action, "update requested")))
            })
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(updated.generation, 2);
        assert!(updated.expires_at.is_some());
        let due = due_now(&s);
        assert_eq!(due, vec![id]);
        assert_eq!(
            store(dir.path()).get("a", other).unwrap().unwrap().failures,
            3
        );
    }

    #[test]
    fn events_are_kept_in_order_and_read_since_an_id() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut newest = s.subscribe();
        let id = insert(&s, "a");
        assert!(newest.has_changed().unwrap());
        s.add_events(
            id,
            &[NewEvent::new(EventKind::Step, "slave-1 joined").on("slave-1")],
        )
        .unwrap();
        let all = s.events(id, 0).unwrap();
        assert_eq!(
            all.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            vec!["create requested", "slave-1 joined"]
        );
        assert_eq!(all[1].node.as_deref(), Some("slave-1"));
        assert_eq!(s.events(id, all[0].id).unwrap(), all[1..].to_vec());
        assert_eq!(*newest.borrow_and_update(), all[1].id);
    }
}
