//! Tests against real OpenStack code from PyPI: Heat's own template validation (offline), and
//! real Keystone + real Heat services started on this machine (online).
//!
//! They need the virtualenv `tests/openstack/install.sh` makes (and, online, the services
//! `tests/openstack/cloud.sh start` runs), so `cargo test` lists them as ignored;
//! `tests/openstack/run.sh` sets everything up and runs them (`.ci/run` does).

mod heat_validation;
mod real_cloud;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;
