//! Cluster lifecycle states, progress and the outputs a ready cluster reports.

use serde::{Deserialize, Serialize};

/// Where a cluster is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    /// Accepted, nothing built yet.
    Pending,
    /// Nodes are being provisioned and frameworks installed.
    Building,
    Ready,
    /// Building failed; the reason is recorded.
    Failed,
    /// Teardown in progress.
    Deleting,
    /// Everything released; the cluster is no longer shown.
    Deleted,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Pending => "pending",
            ClusterState::Building => "building",
            ClusterState::Ready => "ready",
            ClusterState::Failed => "failed",
            ClusterState::Deleting => "deleting",
            ClusterState::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<ClusterState> {
        Some(match text {
            "pending" => ClusterState::Pending,
            "building" => ClusterState::Building,
            "ready" => ClusterState::Ready,
            "failed" => ClusterState::Failed,
            "deleting" => ClusterState::Deleting,
            "deleted" => ClusterState::Deleted,
            _ => return None,
        })
    }

    /// The `mcn.service.state` value DISCO clients know.
    pub fn mcn_state(self) -> &'static str {
        match self {
            ClusterState::Pending => "initialise",
            ClusterState::Building => "deploying",
            ClusterState::Ready => "ready",
            ClusterState::Failed => "failed",
            ClusterState::Deleting | ClusterState::Deleted => "destroying",
        }
    }

    /// Heat-style stack status, as DISCO reported it.
    pub fn stack_status(self) -> &'static str {
        match self {
            ClusterState::Pending | ClusterState::Building => "CREATE_IN_PROGRESS",
            ClusterState::Ready => "CREATE_COMPLETE",
            ClusterState::Failed => "CREATE_FAILED",
            ClusterState::Deleting => "DELETE_IN_PROGRESS",
            ClusterState::Deleted => "DELETE_COMPLETE",
        }
    }
}

/// What the user wants the cluster to be.
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
}

impl Progress {
    /// One line for humans: `1/2 frameworks installed; installing shell on master`.
    pub fn describe(&self) -> String {
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
        for state in [
            ClusterState::Pending,
            ClusterState::Building,
            ClusterState::Ready,
            ClusterState::Failed,
            ClusterState::Deleting,
            ClusterState::Deleted,
        ] {
            assert_eq!(ClusterState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn progress_reads_as_a_sentence() {
        let progress = Progress {
            frameworks: vec!["base".into(), "shell".into()],
            done: vec!["base".into()],
            installing: vec!["shell on master".into()],
        };
        assert_eq!(
            progress.describe(),
            "1/2 frameworks installed; installing shell on master"
        );
    }
}
