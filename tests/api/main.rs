//! Black-box tests: the real `disco` binary on a free port, talked to by real clients
//! (reqwest, curl, ssh).

mod bad_input;
mod capacity_limits;
mod changes;
mod cluster_lifecycle;
mod containment;
mod create_forms;
mod dashboard;
mod disco_readme;
mod fake_agent;
#[path = "../../bench/fake_cloud.rs"]
mod fake_openstack;
mod frozen_plan;
mod gateway;
mod gateway_frameworks;
mod generated_secrets;
mod health_local;
mod history;
mod interface_details;
mod kept_renderings;
mod keystone_logins;
mod lifecycle_crashes;
mod local_capacity;
mod local_privacy;
mod local_refusals;
mod login_limits;
mod openstack_faults;
mod oversized_headers;
mod plan_cli;
mod power_local;
mod query_interface;
mod readme_session;
mod restart;
#[path = "../../bench/scale/run.rs"]
mod scale_bench;
mod scale_local;
mod scale_smoke;
mod spark_local;
mod startup_config;
mod support;
mod tenancy;
