//! The cluster domain: the validated request, its state and its key material.

pub mod attributes;
pub mod event;
pub mod inject;
pub mod keys;
pub mod lifetime;
pub mod spec;
pub mod state;
pub mod update;

pub use lifetime::Lifetime;
pub use spec::{ClusterSpec, SpecError, SpecLimits};
pub use state::{ClusterState, Desired, NodeInfo, Operation, Outputs, Power, Progress};
