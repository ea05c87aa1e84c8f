//! Every installer, executed for each role with the `cloud` profile in a sandbox where the
//! commands that would change a VM are stubs that record their arguments: what a VM would run.

mod sandbox;

mod agent;
mod base;
mod boot;
mod docker_swarm;
mod hadoop;
mod hooks;
mod jupyter;
mod mongodb;
mod runtime;
mod secrets;
mod shell;
mod spark;
mod zeppelin;
