//! disco: a DISCO-compatible OCCI service manager that builds distributed-computing clusters
//! on demand.

pub mod api;
pub mod auth;
pub mod backend;
pub mod cluster;
pub mod config;
pub mod frameworks;
pub mod lifecycle;
pub mod occi;
pub mod plan;
pub mod preview;
pub mod secret;
pub mod startup;
pub mod store;
pub mod telemetry;
