//! Backends build, observe and destroy clusters. Every call is idempotent: the reconciler may
//! repeat any of them after a crash.

pub mod local;
pub mod openstack;

use crate::cluster::{Outputs, Progress};
use crate::plan::ClusterPlan;
use async_trait::async_trait;
use uuid::Uuid;

/// What a backend saw of a cluster that is being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Still building; `progress` says how far.
    Building {
        progress: Progress,
    },
    Ready {
        progress: Progress,
        outputs: Outputs,
    },
    Failed {
        progress: Progress,
        reason: String,
    },
    /// Work stopped without finishing (e.g. the machine restarted): provision again.
    Stalled {
        progress: Progress,
    },
}

/// How far a teardown is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Teardown {
    /// Something still exists; call again.
    InProgress { remaining: String },
    /// Nothing of the cluster is left.
    Gone,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The request asks for something this backend cannot do here (a 400 at request time).
    #[error("{0}")]
    Unsupported(String),
    /// The backend itself cannot work right now (a 503 at request time).
    #[error("{0}")]
    Unavailable(String),
    /// A step failed; the reconciler retries it.
    #[error("{0}")]
    Transient(String),
    /// A step failed in a way retrying cannot fix; the cluster fails with this reason.
    #[error("{0}")]
    Permanent(String),
}

/// What a backend needs to build a cluster.
pub struct ProvisionRequest<'a> {
    pub plan: &'a ClusterPlan,
    pub ssh_public_key: &'a str,
    pub ssh_key_name: &'a str,
    /// Generated secrets as installer environment (`DISCO_<FRAMEWORK>_<NAME>`, value).
    pub secrets: &'a [(String, String)],
    /// What `admit` returned for the cluster.
    pub data: Option<&'a serde_json::Value>,
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Refuses, before anything is stored, a plan this backend cannot build.
    fn check(&self, plan: &ClusterPlan) -> Result<(), BackendError>;

    /// Prepares, while the request is being answered, what the backend needs to act for the
    /// user later (e.g. a Keystone trust). The value is stored encrypted with the cluster.
    async fn admit(
        &self,
        user: Option<&openstack::UserSession>,
        id: Uuid,
    ) -> Result<Option<serde_json::Value>, BackendError> {
        let _ = (user, id);
        Ok(None)
    }

    /// Starts (or continues) building. Safe to call again at any time.
    async fn provision(&self, request: ProvisionRequest<'_>) -> Result<(), BackendError>;

    /// Looks at a cluster that is being built.
    async fn observe(
        &self,
        plan: &ClusterPlan,
        data: Option<&serde_json::Value>,
    ) -> Result<Observation, BackendError>;

    /// Tears everything of the cluster down, a step at a time.
    async fn destroy(
        &self,
        id: Uuid,
        data: Option<&serde_json::Value>,
    ) -> Result<Teardown, BackendError>;
}
