//! Backends build, observe and destroy clusters, and may offer more by capability: scaling,
//! suspend and resume, health looks. Every call is idempotent: the reconciler may repeat any
//! of them after a crash.

pub mod local;
pub mod openstack;

use crate::cluster::event::NewEvent;
use crate::cluster::{NodeInfo, Outputs, Progress};
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
        nodes: Vec<NodeInfo>,
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

/// How far an operation on a built cluster (scale, suspend, resume) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Still going; `activity` says what is happening now. Call again.
    InProgress {
        activity: String,
        events: Vec<NewEvent>,
    },
    /// Finished: the cluster's nodes now, and its outputs if they changed.
    Done {
        nodes: Vec<NodeInfo>,
        outputs: Option<Outputs>,
        events: Vec<NewEvent>,
    },
    /// Failed; the cluster stays as it is, and the operation may be asked for again.
    Failed { reason: String },
}

/// What a health look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// A problem: where and with what, in words a user understands.
    Unhealthy {
        node: Option<String>,
        service: String,
        problem: String,
    },
}

impl Health {
    /// One sentence naming the node and the service.
    pub fn describe(&self) -> String {
        match self {
            Health::Healthy => "healthy".into(),
            Health::Unhealthy {
                node,
                service,
                problem,
            } => match node {
                Some(node) => format!("{service} on {node}: {problem}"),
                None => format!("{service}: {problem}"),
            },
        }
    }
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
    /// The spec generation this call works toward: a new generation is a new attempt (after
    /// a failure, the operation is tried again rather than its failure reported again).
    pub generation: i64,
    /// Slaves that are members of the cluster now (built with it, or joined).
    pub members: u32,
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Refuses, before anything is stored, a plan this backend cannot build. Async so that
    /// slow checks (the local backend runs scripts) never hold an HTTP worker.
    async fn check(&self, plan: &ClusterPlan) -> Result<(), BackendError>;

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

    /// How long a changing cluster's state takes to be worth another look (the reconciler
    /// never looks sooner than its tick). The openstack backend asks Heat at most this often.
    fn look_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

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

    /// Adding and removing slaves, if this backend can.
    fn scaling(&self) -> Option<&dyn Scaling> {
        None
    }

    /// Suspend and resume, if this backend can.
    fn power(&self) -> Option<&dyn PowerControl> {
        None
    }

    /// Looks at a built cluster's health, if this backend can.
    fn health(&self) -> Option<&dyn HealthCheck> {
        None
    }

    /// Where disco's UI gateway reaches the web UIs of `node` of a built cluster (a host name
    /// or address), or `None` when disco cannot reach that node's UIs.
    fn ui_host(&self, outputs: &Outputs, node: &NodeInfo) -> Option<String> {
        let _ = (outputs, node);
        None
    }
}

/// Scaling: brings a built cluster to the plan's nodes.
#[async_trait]
pub trait Scaling: Send + Sync {
    /// Moves toward `request.plan`'s nodes: new slaves are built and join, slaves beyond the
    /// plan leave (highest index first) and are removed. Safe to call again at any time.
    async fn scale(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError>;
}

/// Suspend and resume.
#[async_trait]
pub trait PowerControl: Send + Sync {
    /// Stops every process of every node, keeping files, addresses and keys.
    async fn suspend(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError>;

    /// Starts a suspended cluster again, as it was.
    async fn resume(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError>;
}

/// Health looks at built clusters.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn check_health(
        &self,
        plan: &ClusterPlan,
        data: Option<&serde_json::Value>,
    ) -> Result<Health, BackendError>;
}
