//! Versioned schema migrations, applied in order and recorded in `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema from version `index` to `index + 1`. Never edit a released one:
/// add a new entry.
const MIGRATIONS: &[&str] = &[
    // 1: clusters, their events, and the local backend's address allocations.
    "CREATE TABLE clusters (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        spec TEXT NOT NULL,
        desired TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        progress TEXT NOT NULL DEFAULT '{}',
        outputs TEXT NOT NULL DEFAULT '{}',
        ssh_key_name TEXT NOT NULL,
        ssh_public_key TEXT NOT NULL,
        ssh_private_key BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX clusters_by_tenant ON clusters (tenant, created_at);
    CREATE INDEX clusters_by_state ON clusters (state);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cluster_id TEXT NOT NULL,
        at TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX events_by_cluster ON events (cluster_id, id);
    CREATE TABLE local_addresses (
        address TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        node_index INTEGER NOT NULL,
        UNIQUE (cluster_id, node_index)
    );",
    // 2: secrets generated for the cluster's frameworks (sealed JSON).
    "ALTER TABLE clusters ADD COLUMN generated BLOB;",
    // 3: what the backend keeps to act for the owner, e.g. a Keystone trust (sealed JSON).
    "ALTER TABLE clusters ADD COLUMN backend_data BLOB;",
    // 4: the cluster as a resource: the spec's generation and the one the status reflects, the
    // last operation, the nodes, the plan frozen at admission, the expiry, and the reconciler's
    // durable schedule (next look, failures in a row); events get a kind and a node; keys of
    // retried creates.
    "ALTER TABLE clusters ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE clusters ADD COLUMN observed_generation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE clusters ADD COLUMN operation TEXT NOT NULL DEFAULT 'create';
    ALTER TABLE clusters ADD COLUMN nodes TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE clusters ADD COLUMN plan TEXT;
    ALTER TABLE clusters ADD COLUMN expires_at TEXT;
    ALTER TABLE clusters ADD COLUMN next_look_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE clusters ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    UPDATE clusters SET next_look_at = 9223372036854775807, observed_generation = 1
        WHERE state IN ('ready', 'failed', 'deleted');
    CREATE INDEX clusters_by_next_look ON clusters (next_look_at) WHERE state != 'deleted';
    ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT 'state';
    ALTER TABLE events ADD COLUMN node TEXT;
    UPDATE events SET kind = 'action' WHERE message IN ('requested', 'delete requested');
    CREATE TABLE idempotency_keys (
        tenant TEXT NOT NULL,
        key TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, key)
    );",
    // 5: the nodes each cluster holds against limits.max_nodes, kept with every change of its
    // spec or nodes (capacity::refresh_nodes_held), so that checking a create sums integers
    // instead of parsing every cluster's JSON; and indexes that answer the capacity checks and
    // a tenant's list alone. A cluster's row is large (its plan), so reading rows made both
    // grow with every stored cluster (bench/scale.sh: 10,000 clusters).
    "ALTER TABLE clusters ADD COLUMN nodes_held INTEGER NOT NULL DEFAULT 1;
    UPDATE clusters SET nodes_held = 1 + MAX(COALESCE(json_extract(spec, '$.slave_count'), 0),
        json_array_length(nodes) - 1);
    CREATE INDEX clusters_held ON clusters (nodes_held, state) WHERE state != 'deleted';
    DROP INDEX clusters_by_tenant;
    CREATE INDEX clusters_by_tenant ON clusters (tenant, created_at, id, state);",
];

/// Brings the database up to the newest schema. Refuses a database newer than this build.
pub fn migrate(connection: &mut Connection) -> rusqlite::Result<Result<(), String>> {
    let current: usize =
        connection.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Ok(Err(format!(
            "the database has schema version {current}, newer than this disco ({}); \
             upgrade disco or use another store.data_dir",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", (index + 1) as i64)?;
        transaction.commit()?;
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_harmless_and_sets_the_version() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap().unwrap();
        migrate(&mut connection).unwrap().unwrap();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        assert!(migrate(&mut connection).unwrap().is_err());
    }
}
