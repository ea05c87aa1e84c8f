//! Durable state in SQLite (WAL, synchronous=FULL): clusters, events, secrets (sealed) and the
//! local backend's address allocations. Every write is a transaction that is on disk when the
//! call returns, so `kill -9` at any moment loses nothing that was acknowledged.

pub mod migrations;
pub mod secrets;

use crate::cluster::{ClusterSpec, ClusterState, Desired, Outputs, Progress};
use crate::plan::GeneratedSecret;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
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

/// A cluster as stored.
#[derive(Debug, Clone)]
pub struct ClusterRecord {
    pub id: Uuid,
    pub tenant: String,
    pub spec: ClusterSpec,
    pub desired: Desired,
    pub state: ClusterState,
    pub reason: Option<String>,
    pub progress: Progress,
    pub outputs: Outputs,
    pub ssh_key_name: String,
    pub ssh_public_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the reconciler learned about a cluster.
#[derive(Debug, Clone)]
pub struct Observed {
    pub state: ClusterState,
    pub reason: Option<String>,
    pub progress: Progress,
    pub outputs: Outputs,
}

/// The SQLite store. One connection writes; readers use their own connections (WAL).
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    secrets: SecretBox,
}

macro_rules! select_clusters {
    ($where:literal) => {
        concat!(
            "SELECT id, tenant, spec, desired, state, reason, progress, outputs, ssh_key_name, ",
            "ssh_public_key, created_at, updated_at FROM clusters WHERE ",
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

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp `{text}`: {e}")))
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ClusterRecord, StoreError>> {
    let id: String = row.get(0)?;
    let spec: String = row.get(2)?;
    let desired: String = row.get(3)?;
    let state: String = row.get(4)?;
    let progress: String = row.get(6)?;
    let outputs: String = row.get(7)?;
    let created_at: String = row.get(10)?;
    let updated_at: String = row.get(11)?;
    let tenant: String = row.get(1)?;
    let reason: Option<String> = row.get(5)?;
    let ssh_key_name: String = row.get(8)?;
    let ssh_public_key: String = row.get(9)?;
    Ok((|| {
        let corrupt =
            |what: &str, e: String| StoreError::Corrupt(format!("cluster {id} {what}: {e}"));
        Ok(ClusterRecord {
            id: Uuid::parse_str(&id).map_err(|e| corrupt("id", e.to_string()))?,
            tenant,
            spec: serde_json::from_str(&spec).map_err(|e| corrupt("spec", e.to_string()))?,
            desired: Desired::parse(&desired).ok_or_else(|| corrupt("desired", desired.clone()))?,
            state: ClusterState::parse(&state).ok_or_else(|| corrupt("state", state.clone()))?,
            reason,
            progress: serde_json::from_str(&progress)
                .map_err(|e| corrupt("progress", e.to_string()))?,
            outputs: serde_json::from_str(&outputs)
                .map_err(|e| corrupt("outputs", e.to_string()))?,
            ssh_key_name,
            ssh_public_key,
            created_at: parse_time(&created_at)?,
            updated_at: parse_time(&updated_at)?,
        })
    })())
}

/// A new cluster to store.
pub struct NewCluster<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub spec: &'a ClusterSpec,
    pub ssh_key_name: &'a str,
    pub ssh_public_key: &'a str,
    pub ssh_private_key: &'a str,
    /// Secrets generated for the cluster's frameworks, with their values.
    pub generated: &'a [(GeneratedSecret, String)],
    /// What the backend keeps to act for the owner (sealed).
    pub backend_data: Option<&'a serde_json::Value>,
}

/// Number of a tenant's clusters that are not deleted.
fn count_active(connection: &Connection, tenant: &str) -> Result<u32, StoreError> {
    Ok(connection
        .prepare_cached("SELECT COUNT(*) FROM clusters WHERE tenant = ?1 AND state != 'deleted'")?
        .query_row(params![tenant], |row| row.get::<_, u32>(0))?)
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
        Ok(Store {
            writer: Mutex::new(writer),
            readers,
            secrets,
        })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut connection)
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

    /// Stores a new cluster (private key sealed) in state `pending`, unless its tenant already
    /// has `limit` clusters that are not deleted (then `false`). Counting and inserting are one
    /// transaction, so concurrent creates cannot both take the last place.
    pub fn insert(&self, new: &NewCluster<'_>, limit: u32) -> Result<bool, StoreError> {
        let id = new.id.to_string();
        let spec =
            serde_json::to_string(new.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self.secrets.seal(new.ssh_private_key.as_bytes(), &id);
        let generated =
            serde_json::to_vec(new.generated).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let generated = self.secrets.seal(&generated, &id);
        let backend_data = new
            .backend_data
            .map(|data| self.secrets.seal(data.to_string().as_bytes(), &id));
        let at = now();
        self.write(|c| {
            let t = c.transaction()?;
            if count_active(&t, new.tenant)? >= limit {
                return Ok(false);
            }
            t.execute(
                "INSERT INTO clusters (id, tenant, spec, desired, state, ssh_key_name, ssh_public_key,
                 ssh_private_key, generated, backend_data, created_at, updated_at) VALUES (?1, ?2,
                 ?3, 'running', 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                params![id, new.tenant, spec, new.ssh_key_name, new.ssh_public_key, sealed, generated,
                    backend_data, at],
            )?;
            t.execute(
                "INSERT INTO events (cluster_id, at, message) VALUES (?1, ?2, 'requested')",
                params![id, at],
            )?;
            t.commit()?;
            Ok(true)
        })
    }

    /// A tenant's cluster, unless deleted.
    pub fn get(&self, tenant: &str, id: Uuid) -> Result<Option<ClusterRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(select_clusters!(
                "id = ?1 AND tenant = ?2 AND state != 'deleted'"
            ))?
            .query_row(params![id.to_string(), tenant], row_to_record)
            .optional()?
            .transpose()
        })
    }

    /// Any cluster by id, including deleted ones (for the reconciler and tests).
    pub fn get_any(&self, id: Uuid) -> Result<Option<ClusterRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(select_clusters!("id = ?1"))?
                .query_row(params![id.to_string()], row_to_record)
                .optional()?
                .transpose()
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
            let mut statement = c.prepare_cached(
                "SELECT id FROM clusters WHERE tenant = ?1 AND state != 'deleted' ORDER BY created_at, id",
            )?;
            let ids = statement
                .query_map(params![tenant], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.iter()
                .map(|id| Uuid::parse_str(id).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect()
        })
    }

    /// Asks for deletion of the given clusters of `tenant`, all or none: returns the ids that are
    /// not the tenant's (nothing is changed then).
    pub fn request_delete(&self, tenant: &str, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        let at = now();
        self.write(|c| {
            let t = c.transaction()?;
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
                    "UPDATE clusters SET desired = 'deleted', state = 'deleting', updated_at = ?2
                     WHERE id = ?1 AND desired != 'deleted'",
                    params![id.to_string(), at],
                )?;
                if changed > 0 {
                    t.execute(
                        "INSERT INTO events (cluster_id, at, message) VALUES (?1, ?2, 'delete requested')",
                        params![id.to_string(), at],
                    )?;
                }
            }
            t.commit()?;
            Ok(Vec::new())
        })
    }

    /// Clusters the reconciler must work on: not yet built, or being deleted.
    pub fn unsettled(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(select_clusters!(
                "state IN ('pending', 'building', 'deleting')"
            ))?;
            let rows = statement
                .query_map([], row_to_record)?
                .collect::<Result<Vec<_>, _>>()?;
            // One unreadable row must not stop work on every other cluster.
            Ok(rows
                .into_iter()
                .filter_map(|row| {
                    row.map_err(|e| tracing::error!(error = %e, "skipping an unreadable cluster"))
                        .ok()
                })
                .collect())
        })
    }

    /// Number of a tenant's clusters that are not deleted.
    pub fn count_for_tenant(&self, tenant: &str) -> Result<u32, StoreError> {
        self.read(|c| count_active(c, tenant))
    }

    /// Records what the reconciler saw, unless the user changed the desired state meanwhile
    /// (then the observation is stale and dropped). Returns whether it was recorded.
    pub fn record(
        &self,
        id: Uuid,
        expected: Desired,
        observed: &Observed,
    ) -> Result<bool, StoreError> {
        let progress = serde_json::to_string(&observed.progress)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let outputs = serde_json::to_string(&observed.outputs)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at = now();
        self.write(|c| {
            let t = c.transaction()?;
            let previous: Option<String> = t
                .query_row(
                    "SELECT state FROM clusters WHERE id = ?1 AND desired = ?2",
                    params![id.to_string(), expected.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(previous) = previous else {
                return Ok(false);
            };
            t.execute(
                "UPDATE clusters SET state = ?2, reason = ?3, progress = ?4, outputs = ?5, updated_at = ?6
                 WHERE id = ?1",
                params![
                    id.to_string(),
                    observed.state.as_str(),
                    observed.reason,
                    progress,
                    outputs,
                    at
                ],
            )?;
            if previous != observed.state.as_str() {
                let message = match &observed.reason {
                    Some(reason) => format!("{} -> {}: {reason}", previous, observed.state.as_str()),
                    None => format!("{} -> {}", previous, observed.state.as_str()),
                };
                t.execute(
                    "INSERT INTO events (cluster_id, at, message) VALUES (?1, ?2, ?3)",
                    params![id.to_string(), at, message],
                )?;
            }
            t.commit()?;
            Ok(true)
        })
    }

    /// The cluster's event messages, oldest first.
    pub fn events(&self, id: Uuid) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT at, message FROM events WHERE cluster_id = ?1 ORDER BY id",
            )?;
            let rows = statement
                .query_map(params![id.to_string()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
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
        self.write(|c| {
            let t = c.transaction()?;
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
            t.commit()?;
            mine.sort();
            mine.into_iter()
                .take(count)
                .map(|(_, a)| a.parse().map_err(|_| StoreError::Corrupt(format!("address {a}"))))
                .collect()
        })
    }

    /// Addresses held by a cluster (any node index).
    pub fn addresses(&self, id: Uuid) -> Result<Vec<Ipv4Addr>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT address FROM local_addresses WHERE cluster_id = ?1 ORDER BY node_index",
            )?;
            let rows = statement
                .query_map(params![id.to_string()], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|a| {
                    a.parse()
                        .map_err(|_| StoreError::Corrupt(format!("address {a}")))
                })
                .collect()
        })
    }

    /// Frees the local addresses a cluster held.
    pub fn release_addresses(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "DELETE FROM local_addresses WHERE cluster_id = ?1",
                params![id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Marks a cluster deleted once its backend reported everything gone.
    pub fn mark_deleted(&self, id: Uuid) -> Result<(), StoreError> {
        let at = now();
        self.write(|c| {
            let t = c.transaction()?;
            t.execute(
                "UPDATE clusters SET state = 'deleted', updated_at = ?2 WHERE id = ?1",
                params![id.to_string(), at],
            )?;
            t.execute(
                "INSERT INTO events (cluster_id, at, message) VALUES (?1, ?2, 'deleting -> deleted')",
                params![id.to_string(), at],
            )?;
            t.commit()?;
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
        }
    }

    fn store(dir: &Path) -> Store {
        Store::open(dir).unwrap()
    }

    fn insert(store: &Store, tenant: &str) -> Uuid {
        let id = Uuid::new_v4();
        store
            .insert(
                &NewCluster {
                    id,
                    tenant,
                    spec: &spec(),
                    ssh_key_name: "k",
                    ssh_public_key: "ssh-ed25519 AAAA",
                    ssh_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n",
                    generated: &[],
                    backend_data: None,
                },
                u32::MAX,
            )
            .unwrap();
        id
    }

    #[test]
    fn a_tenant_at_its_limit_gets_no_new_cluster_but_others_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        insert(&store, "a");
        let spec = spec();
        let new = |tenant| NewCluster {
            id: Uuid::new_v4(),
            tenant,
            spec: &spec,
            ssh_key_name: "k",
            ssh_public_key: "ssh-ed25519 AAAA",
            ssh_private_key: "",
            generated: &[],
            backend_data: None,
        };
        assert!(!store.insert(&new("a"), 1).unwrap());
        assert!(store.insert(&new("b"), 1).unwrap());
        assert_eq!(store.count_for_tenant("a").unwrap(), 1);
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
            assert!(!bytes.windows(6).any(|w| w == b"secret"));
        }
        assert!(store(dir.path())
            .owner_secrets(id)
            .unwrap()
            .0
            .contains("secret"));
    }

    #[test]
    fn deleting_another_tenants_cluster_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mine = insert(&s, "a");
        let theirs = insert(&s, "b");
        assert_eq!(
            s.request_delete("a", &[mine, theirs]).unwrap(),
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
        s.request_delete("a", &[id]).unwrap();
        let observed = Observed {
            state: ClusterState::Ready,
            reason: None,
            progress: Progress::default(),
            outputs: Outputs::default(),
        };
        assert!(!s.record(id, Desired::Running, &observed).unwrap());
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
        s.release_addresses(a).unwrap();
        assert!(s.addresses(a).unwrap().is_empty());
    }
}
