//! Capacity: how many clusters and nodes are live, and whether a new cluster or a scale stays
//! within the limits. The store checks inside the transaction that writes the change, so two
//! requests at once cannot both take the last place.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

/// The limits a change must stay within (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Clusters one tenant may have (`limits.max_clusters_per_tenant`).
    pub clusters_per_tenant: u32,
    /// Clusters of all tenants together (`limits.max_clusters`).
    pub clusters: u32,
    /// Nodes of all clusters together (`limits.max_nodes`).
    pub nodes: u32,
}

impl Capacity {
    /// No limit at all (for tests and tools).
    pub const UNLIMITED: Capacity = Capacity {
        clusters_per_tenant: u32::MAX,
        clusters: u32::MAX,
        nodes: u32::MAX,
    };
}

/// Which limit a change would pass, in words that say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    #[error(
        "tenant {tenant} already has {limit} clusters (limits.max_clusters_per_tenant); delete one first"
    )]
    Tenant { tenant: String, limit: u32 },
    #[error(
        "disco already has {limit} clusters, its limit for all tenants together \
         (limits.max_clusters); try again once clusters are deleted, or ask the operator to \
         raise the limit"
    )]
    Clusters { limit: u32 },
    #[error(
        "this needs {wanted} more node(s), but disco's clusters already use {in_use} of \
         {limit} nodes, its limit for all tenants together (limits.max_nodes); ask for fewer \
         slaves, try again once clusters are deleted or scaled down, or ask the operator to \
         raise the limit"
    )]
    Nodes {
        limit: u32,
        in_use: u32,
        wanted: u32,
    },
}

/// Nodes a cluster holds: its master and its slaves, as asked for or as built, whichever is
/// more (a cluster scaling down holds its slaves until they are gone).
pub fn nodes_held(slave_count: u32, built_slaves: u32) -> u32 {
    1 + slave_count.max(built_slaves)
}

/// Whether a new cluster of `wanted` nodes fits, given what is live now.
pub fn check_new(
    capacity: &Capacity,
    tenant: &str,
    tenant_clusters: u32,
    clusters: u32,
    nodes_in_use: u32,
    wanted: u32,
) -> Result<(), LimitReached> {
    if tenant_clusters >= capacity.clusters_per_tenant {
        return Err(LimitReached::Tenant {
            tenant: tenant.to_string(),
            limit: capacity.clusters_per_tenant,
        });
    }
    if clusters >= capacity.clusters {
        return Err(LimitReached::Clusters {
            limit: capacity.clusters,
        });
    }
    check_nodes(capacity.nodes, nodes_in_use, wanted)
}

/// Whether `wanted` more nodes fit when `in_use` are held.
pub fn check_nodes(limit: u32, in_use: u32, wanted: u32) -> Result<(), LimitReached> {
    if u64::from(in_use) + u64::from(wanted) > u64::from(limit) {
        return Err(LimitReached::Nodes {
            limit,
            in_use,
            wanted,
        });
    }
    Ok(())
}

/// Clusters that are not deleted, of every tenant.
pub(super) fn live_clusters(connection: &Connection) -> rusqlite::Result<u32> {
    connection
        .prepare_cached("SELECT COUNT(*) FROM clusters WHERE state != 'deleted'")?
        .query_row([], |row| row.get(0))
}

/// Nodes held by every cluster that is not deleted (see [`nodes_held`]), but `except`.
/// Nodes held by the clusters that are not deleted, from the `clusters_held` index alone.
pub(super) const NODES_IN_USE: &str =
    "SELECT COALESCE(SUM(nodes_held), 0) FROM clusters WHERE state != 'deleted'";

pub(super) fn nodes_in_use(connection: &Connection, except: Option<Uuid>) -> rusqlite::Result<u32> {
    let all: i64 = connection
        .prepare_cached(NODES_IN_USE)?
        .query_row([], |row| row.get(0))?;
    let excepted: i64 = match except {
        Some(id) => connection
            .prepare_cached("SELECT nodes_held FROM clusters WHERE id = ?1 AND state != 'deleted'")?
            .query_row(params![id.to_string()], |row| row.get(0))
            .optional()?
            .unwrap_or(0),
        None => 0,
    };
    Ok(u32::try_from(all - excepted).unwrap_or(u32::MAX))
}

/// Sets the cluster's `nodes_held` from its spec and nodes, in the transaction that changed
/// either: [`nodes_held`] of the wanted and the built slaves.
pub(super) fn refresh_nodes_held(connection: &Connection, id: Uuid) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "UPDATE clusters SET nodes_held = 1 + MAX(COALESCE(json_extract(spec, '$.slave_count'), 0),
                 json_array_length(nodes) - 1) WHERE id = ?1",
        )?
        .execute(params![id.to_string()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Capacity = Capacity {
        clusters_per_tenant: 2,
        clusters: 3,
        nodes: 10,
    };

    #[test]
    fn each_limit_is_named_when_it_is_reached() {
        assert_eq!(check_new(&LIMITS, "a", 1, 2, 5, 5), Ok(()));
        assert_eq!(
            check_new(&LIMITS, "a", 2, 2, 0, 1),
            Err(LimitReached::Tenant {
                tenant: "a".into(),
                limit: 2
            })
        );
        let clusters = check_new(&LIMITS, "a", 0, 3, 0, 1).unwrap_err();
        assert!(
            clusters.to_string().contains("limits.max_clusters)"),
            "{clusters}"
        );
        let nodes = check_new(&LIMITS, "a", 0, 1, 7, 4).unwrap_err();
        assert_eq!(
            nodes,
            LimitReached::Nodes {
                limit: 10,
                in_use: 7,
                wanted: 4
            }
        );
        assert!(nodes.to_string().contains("use 7 of 10 nodes"), "{nodes}");
    }

    #[test]
    fn a_cluster_holds_what_it_asks_for_or_has_whichever_is_more() {
        assert_eq!(nodes_held(0, 0), 1);
        assert_eq!(nodes_held(4, 1), 5);
        assert_eq!(nodes_held(1, 4), 5);
        assert!(check_nodes(u32::MAX, u32::MAX, 1).is_err());
        assert!(check_nodes(5, 4, 1).is_ok());
    }
}
