//! The cluster domain: the validated request, its state and its key material.

pub mod attributes;
pub mod inject;
pub mod keys;
pub mod spec;
pub mod state;

pub use spec::{ClusterSpec, SpecError, SpecLimits};
pub use state::{ClusterState, Desired, Outputs, Progress};
