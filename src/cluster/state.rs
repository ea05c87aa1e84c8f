//! Cluster lifecycle states, progress, nodes and the outputs a ready cluster reports.

use serde::{Deserialize, Serialize};

/// Where a cluster is in its life.
///
/// `pending → building → ready ⇄ scaling | suspending → suspended → resuming → ready`,
/// `ready ⇄ degraded`, any → `deleting → deleted`; a failed build, scale, suspend or resume
/// is `failed` with a reason (only a failed build is final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    /// Accepted, nothing built yet.
    Pending,
    /// Nodes are being provisioned and frameworks installed.
    Building,
    Ready,
    /// Slaves are being added or removed.
    Scaling,
    /// Every process is being stopped; files, addresses and keys stay.
    Suspending,
    Suspended,
    /// Processes are being started again.
    Resuming,
    /// Ready once, but a health look found a problem (named in the reason).
    Degraded,
    /// An operation failed; the reason is recorded.
    Failed,
    /// Teardown in progress.
    Deleting,
    /// Everything released; the cluster is no longer shown.
    Deleted,
}

impl ClusterState {
    pub const ALL: [ClusterState; 11] = [
        ClusterState::Pending,
        ClusterState::Building,
        ClusterState::Ready,
        ClusterState::Scaling,
        ClusterState::Suspending,
        ClusterState::Suspended,
        ClusterState::Resuming,
        ClusterState::Degraded,
        ClusterState::Failed,
        ClusterState::Deleting,
        ClusterState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Pending => "pending",
            ClusterState::Building => "building",
            ClusterState::Ready => "ready",
            ClusterState::Scaling => "scaling",
            ClusterState::Suspending => "suspending",
            ClusterState::Suspended => "suspended",
            ClusterState::Resuming => "resuming",
            ClusterState::Degraded => "degraded",
            ClusterState::Failed => "failed",
            ClusterState::Deleting => "deleting",
            ClusterState::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<ClusterState> {
        ClusterState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the reconciler is working on the cluster (it is looked at again soon), as
    /// opposed to settled states that wait for a change, a health look or expiry.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ClusterState::Pending
                | ClusterState::Building
                | ClusterState::Scaling
                | ClusterState::Suspending
                | ClusterState::Resuming
                | ClusterState::Deleting
        )
    }

    /// Whether the cluster is built and running (what health looks and the UI gateway serve).
    pub fn is_up(self) -> bool {
        matches!(self, ClusterState::Ready | ClusterState::Degraded)
    }

    /// The `mcn.service.state` value DISCO clients know.
    pub fn mcn_state(self) -> &'static str {
        match self {
            ClusterState::Pending => "initialise",
            ClusterState::Building => "deploying",
            ClusterState::Ready => "ready",
            ClusterState::Scaling => "updating",
            ClusterState::Suspending => "suspending",
            ClusterState::Suspended => "suspended",
            ClusterState::Resuming => "resuming",
            ClusterState::Degraded => "degraded",
            ClusterState::Failed => "failed",
            ClusterState::Deleting | ClusterState::Deleted => "destroying",
        }
    }

    /// Heat-style stack status, as DISCO reported it, for the last operation.
    pub fn stack_status(self, operation: Operation) -> &'static str {
        use ClusterState as S;
        use Operation as O;
        match (self, operation) {
            (S::Deleting, _) => "DELETE_IN_PROGRESS",
            (S::Deleted, _) => "DELETE_COMPLETE",
            (S::Pending | S::Building, _) => "CREATE_IN_PROGRESS",
            (S::Scaling, _) => "UPDATE_IN_PROGRESS",
            (S::Suspending, _) => "SUSPEND_IN_PROGRESS",
            (S::Suspended, _) => "SUSPEND_COMPLETE",
            (S::Resuming, _) => "RESUME_IN_PROGRESS",
            (S::Failed, O::Create) => "CREATE_FAILED",
            (S::Failed, O::Update) => "UPDATE_FAILED",
            (S::Failed, O::Suspend) => "SUSPEND_FAILED",
            (S::Failed, O::Resume) => "RESUME_FAILED",
            (S::Ready | S::Degraded, O::Create) => "CREATE_COMPLETE",
            (S::Ready | S::Degraded, O::Update) => "UPDATE_COMPLETE",
            (S::Ready | S::Degraded, O::Suspend | O::Resume) => "RESUME_COMPLETE",
        }
    }
}

/// The last operation the cluster went through (what a failure failed at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    /// Scaling (DISCO's and Heat's "update").
    Update,
    Suspend,
    Resume,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Suspend => "suspend",
            Operation::Resume => "resume",
        }
    }

    pub fn parse(text: &str) -> Option<Operation> {
        [
            Operation::Create,
            Operation::Update,
            Operation::Suspend,
            Operation::Resume,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// Whether the user wants the cluster to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired {
    Running,
    Deleted,
}

impl Desired {
    pub fn as_str(self) -> &'static str {
        match self {
            Desired::Running => "running",
            Desired::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Desired> {
        match text {
            "running" => Some(Desired::Running),
            "deleted" => Some(Desired::Deleted),
            _ => None,
        }
    }
}

/// Whether the user wants the cluster's processes running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    #[default]
    Running,
    Suspended,
}

/// Installation progress across all nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// Frameworks in install order.
    pub frameworks: Vec<String>,
    /// Frameworks finished on every node that runs them.
    pub done: Vec<String>,
    /// `framework on node` entries currently installing.
    pub installing: Vec<String>,
    /// What an operation after the build is doing (scaling, suspending, resuming).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
}

impl Progress {
    /// One line for humans: `1/2 frameworks installed; installing shell on master`, or the
    /// current activity.
    pub fn describe(&self) -> String {
        if let Some(activity) = &self.activity {
            return activity.clone();
        }
        let mut text = format!(
            "{}/{} frameworks installed",
            self.done.len(),
            self.frameworks.len()
        );
        if !self.installing.is_empty() {
            text.push_str("; installing ");
            text.push_str(&self.installing.join(", "));
        }
        text
    }

    /// The same frameworks, with `activity` as what is going on.
    pub fn with_activity(&self, activity: impl Into<String>) -> Progress {
        Progress {
            activity: Some(activity.into()),
            ..self.clone()
        }
    }

    /// Every framework installed, nothing going on.
    pub fn complete(frameworks: &[String]) -> Progress {
        Progress {
            frameworks: frameworks.to_vec(),
            done: frameworks.to_vec(),
            installing: Vec::new(),
            activity: None,
        }
    }
}

/// One node as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    pub role: String,
    pub address: String,
}

/// What a built cluster reports to its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outputs {
    pub external_ip: Option<String>,
    pub ssh_user: Option<String>,
    pub ssh_port: Option<u16>,
    pub log_url: Option<String>,
    /// A `known_hosts` line for the master's host key, so clients can verify it.
    pub ssh_known_hosts: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in ClusterState::ALL {
            assert_eq!(ClusterState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ClusterState::parse("sleeping"), None);
    }

    #[test]
    fn progress_reads_as_a_sentence() {
        let progress = Progress {
            frameworks: vec!["base".into(), "shell".into()],
            done: vec!["base".into()],
            installing: vec!["shell on master".into()],
            activity: None,
        };
        assert_eq!(
            progress.describe(),
            "1/2 frameworks installed; installing shell on master"
        );
        assert_eq!(
            progress.with_activity("adding slave-2").describe(),
            "adding slave-2"
        );
    }

    #[test]
    fn stack_status_follows_the_last_operation() {
        assert_eq!(
            ClusterState::Ready.stack_status(Operation::Create),
            "CREATE_COMPLETE"
        );
        assert_eq!(
            ClusterState::Ready.stack_status(Operation::Update),
            "UPDATE_COMPLETE"
        );
        assert_eq!(
            ClusterState::Failed.stack_status(Operation::Update),
            "UPDATE_FAILED"
        );
        assert_eq!(
            ClusterState::Scaling.stack_status(Operation::Update),
            "UPDATE_IN_PROGRESS"
        );
    }
}
