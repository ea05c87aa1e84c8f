//! disco against real Keystone and real Heat (tests/openstack/cloud.sh): real users, a real
//! stack whose Nova/Neutron types are mapped to engine-only provider templates, and this test
//! playing the VMs by signalling the wait conditions with what their user data carries.

use crate::support::{self, ServerOptions, TestServer, KIND};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The test cloud's settings, from the env.sh `cloud.sh start` wrote.
struct Cloud {
    vars: HashMap<String, String>,
}

impl Cloud {
    fn load() -> Cloud {
        let state = std::env::var("DISCO_OPENSTACK_STATE")
            .unwrap_or_else(|_| "/tmp/disco-openstack".into());
        let path = PathBuf::from(state).join("env.sh");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; start the test cloud with tests/openstack/cloud.sh start",
                path.display()
            )
        });
        let vars = text
            .lines()
            .filter_map(|line| line.strip_prefix("export "))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Cloud { vars }
    }

    fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from env.sh"))
    }

    /// disco with the openstack backend, its own identity (the trustee) from OS_* variables.
    /// Health looks (Heat's stack check, which changes the stack's status) are an hour apart,
    /// so that tests can read the status their own steps left.
    fn disco(&self) -> TestServer {
        self.disco_looking_every(3600)
    }

    /// The same disco, with a health look every `health_interval` seconds.
    fn disco_looking_every(&self, health_interval: u32) -> TestServer {
        self.disco_configured(health_interval, &[])
    }

    /// The same disco, with more `DISCO_…` settings.
    fn disco_with_env(&self, settings: &[(&str, &str)]) -> TestServer {
        self.disco_configured(3600, settings)
    }

    fn disco_configured(&self, health_interval: u32, settings: &[(&str, &str)]) -> TestServer {
        let repo = support::repo_root();
        TestServer::start_with(ServerOptions {
            extra_config: format!(
                "[backend]\nkind = openstack\n[auth]\nmode = keystone\n\
                 [openstack]\nauth_url = {auth}\nregion = RegionOne\ngateway_cidr = 127.0.0.1/32\n\
                 templates_dir = {repo}/templates/heat\n\
                 environment = {repo}/tests/openstack/fake-infrastructure.yaml\n\
                 poll_min_secs = 1\npoll_max_secs = 2\n",
                auth = self.get("OS_AUTH_URL"),
                repo = repo.display(),
            ),
            env: vec![
                ("OS_AUTH_URL".into(), self.get("OS_AUTH_URL").into()),
                (
                    "OS_USERNAME".into(),
                    self.get("DISCO_TEST_DISCO_USER").into(),
                ),
                (
                    "OS_PASSWORD".into(),
                    self.get("DISCO_TEST_DISCO_PASSWORD").into(),
                ),
                (
                    "OS_PROJECT_NAME".into(),
                    self.get("DISCO_TEST_DISCO_PROJECT").into(),
                ),
                ("OS_USER_DOMAIN_NAME".into(), "Default".into()),
                ("OS_PROJECT_DOMAIN_NAME".into(), "Default".into()),
                ("OS_REGION_NAME".into(), "RegionOne".into()),
                ("DISCO_LOGGING__LEVEL".into(), "info,disco=debug".into()),
                (
                    "DISCO_LIFECYCLE__HEALTH_INTERVAL_SECS".into(),
                    health_interval.to_string(),
                ),
            ]
            .into_iter()
            .chain(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect(),
            ..ServerOptions::default()
        })
    }

    fn demo(&self) -> Vec<(&'static str, String)> {
        vec![
            ("X-User-Name", self.get("DISCO_TEST_DEMO_USER").into()),
            ("X-Password", self.get("DISCO_TEST_DEMO_PASSWORD").into()),
            ("X-Tenant-Name", self.get("DISCO_TEST_DEMO_PROJECT").into()),
            ("X-Region-Name", "RegionOne".into()),
        ]
    }

    /// A token for the demo user straight from Keystone.
    fn demo_token(&self) -> String {
        demo_heat(self).0
    }

    /// `openstack …` as the demo user; returns stdout.
    fn openstack(&self, args: &[&str]) -> String {
        self.openstack_as("demo", args)
    }

    /// `openstack …` as a user of the test cloud's clouds.yaml (admin, demo, other, disco).
    fn openstack_as(&self, user: &str, args: &[&str]) -> String {
        let venv = std::env::var("DISCO_OPENSTACK_VENV").unwrap_or_else(|_| {
            format!(
                "{}/.cache/disco/openstack-venv",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let output = Command::new(format!("{venv}/bin/openstack"))
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", self.get("OS_CLIENT_CONFIG_FILE"))
            .env("OS_CLOUD", user)
            .output()
            .expect("openstack CLI");
        assert!(
            output.status.success(),
            "openstack {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    }

    /// Plays the stack's VMs: signals every server's wait condition (see play_vms.py).
    fn play_vms(
        &self,
        stack: &str,
        servers: usize,
        status: &str,
        reason: &str,
        role: &str,
    ) -> String {
        let venv = std::env::var("DISCO_OPENSTACK_VENV").unwrap_or_else(|_| {
            format!(
                "{}/.cache/disco/openstack-venv",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let output = Command::new(format!("{venv}/bin/python"))
            .arg(support::repo_root().join("tests/openstack/play_vms.py"))
            .args([stack, &servers.to_string(), status, reason, role])
            .env("OS_AUTH_URL", self.get("OS_AUTH_URL"))
            .env("OS_USERNAME", self.get("DISCO_TEST_DEMO_USER"))
            .env("OS_PASSWORD", self.get("DISCO_TEST_DEMO_PASSWORD"))
            .env("OS_PROJECT_NAME", self.get("DISCO_TEST_DEMO_PROJECT"))
            .output()
            .expect("play_vms.py");
        assert!(
            output.status.success(),
            "play_vms.py: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    }
}

fn wait_for(
    server: &TestServer,
    credentials: &[(&str, String)],
    id: &str,
    what: &str,
    done: impl Fn(Option<&serde_json::Value>) -> bool,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let current = support::attributes_as(server, credentials, id);
        if done(current.as_ref()) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "waited 120 s for {what}; the cluster is {current:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn state(attributes: Option<&serde_json::Value>) -> &str {
    attributes
        .and_then(|a| a["icclab.disco.state"].as_str())
        .unwrap_or("")
}

/// Creates a cluster as `credentials` with an X-OCCI-Attribute header; returns its id and
/// its stack's name.
fn create(
    server: &TestServer,
    credentials: &[(&str, String)],
    attributes: &str,
) -> (String, String) {
    let created = support::send_as(
        server,
        "POST",
        "/disco/",
        credentials,
        &[
            ("Category", KIND),
            ("Content-Type", "text/occi"),
            ("X-OCCI-Attribute", attributes),
        ],
    );
    assert_eq!(created.status, 201, "{}\n{}", created.body, server.log());
    let id = created
        .header("Location")
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .expect("Location names the cluster");
    let stack = format!("disco-{}", id.replace('-', ""));
    (id, stack)
}

/// What `disco plan` estimates each role's user data at, for these attribute flags.
fn user_data_estimate(flags: &[&str]) -> serde_json::Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_disco"));
    command
        .current_dir(support::repo_root())
        .args(["plan", "--output", "json"]);
    for flag in flags {
        command.args(["-a", flag]);
    }
    let output = command.output().expect("disco plan");
    assert!(output.status.success(), "{output:?}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    document["user_data_bytes"].clone()
}

/// Each signalled node's real user data (as Nova would get it) is within disco's estimate.
fn assert_user_data_within_estimate(played: &str, estimate: &serde_json::Value) {
    for line in played.lines() {
        let node: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let role = node["node"]["DISCO_ROLE"].as_str().expect("role");
        let real = node["user_data_bytes"].as_u64().expect("size");
        let estimated = estimate[role].as_u64().expect("estimate");
        assert!(
            real <= estimated && estimated < 65536,
            "{role}: Heat made {real} bytes of user data, disco estimated {estimated}"
        );
    }
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn keystone_decides_who_may_call() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let ok = support::send_as(&server, "GET", "/disco/", &cloud.demo(), &[]);
    assert_eq!(ok.status, 200, "{}", ok.body);

    let mut wrong = cloud.demo();
    wrong[1].1 = "not-the-password".into();
    let refused = support::send_as(&server, "GET", "/disco/", &wrong, &[]);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.body.contains("Keystone refused user demo"),
        "{}",
        refused.body
    );

    let token = cloud.demo_token();
    let by_token = vec![
        ("X-Auth-Token", token.clone()),
        (
            "X-Tenant-Name",
            cloud.get("DISCO_TEST_DEMO_PROJECT").to_string(),
        ),
    ];
    assert_eq!(
        support::send_as(&server, "GET", "/disco/", &by_token, &[]).status,
        200
    );

    // A token Keystone no longer honours (revoked, as an expired one is refused).
    let revoke = reqwest::blocking::Client::new()
        .delete(format!("{}/auth/tokens", cloud.get("OS_AUTH_URL")))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .expect("revoke");
    assert_eq!(revoke.status().as_u16(), 204);
    // disco reuses a verified login for auth.cache_secs (300 s here, as by default); a
    // server that checks every request refuses the revoked token at once.
    let cached = support::send_as(&server, "GET", "/disco/", &by_token, &[]);
    assert_eq!(cached.status, 200, "{}", cached.body);
    let uncached = cloud.disco_with_env(&[("DISCO_AUTH__CACHE_SECS", "0")]);
    let stale = support::send_as(&uncached, "GET", "/disco/", &by_token, &[]);
    assert_eq!(stale.status, 401, "{}", stale.body);

    let nothing = support::send_as(&server, "GET", "/disco/", &[], &[]);
    assert_eq!(nothing.status, 401, "{}", nothing.body);
    assert!(!server.log().contains(cloud.get("DISCO_TEST_DEMO_PASSWORD")));
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_cluster_is_a_real_heat_stack_from_create_to_delete() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let demo = cloud.demo();
    // `%index%` and `INDEX` are what Heat's ResourceGroup and str_replace rewrite.
    let command = "echo %index% INDEX @disco-index@ on $DISCO_NODE_NAME";
    let attributes_header = format!(
        "icclab.disco.components.heat.slavecount=\"2\", \
         icclab.disco.dependencies.inject=\"{{'shell': ''}}\", \
         icclab.disco.components.shell.command=\"{command}\""
    );
    let (id, stack) = create(&server, &demo, &attributes_header);

    // The stack exists in the owner's project, as the OpenStack client shows it.
    wait_for(&server, &demo, &id, "building", |a| state(a) == "building");
    let listed = cloud.openstack(&["stack", "list", "-f", "value", "-c", "Stack Name"]);
    assert!(listed.lines().any(|l| l == stack), "{listed}");

    // The VMs report in; the stack completes and the cluster is ready with the outputs.
    // The master reports first: progress counts it, as Heat's wait conditions show it.
    let mut played = cloud.play_vms(&stack, 3, "SUCCESS", "installed", "master");
    wait_for(&server, &demo, &id, "one node's progress", |a| {
        a.and_then(|a| a["icclab.disco.progress"].as_str())
            .is_some_and(|p| p.contains("1 of 3 nodes finished"))
    });
    played.push_str(&cloud.play_vms(&stack, 3, "SUCCESS", "installed", "slave"));
    let nodes: Vec<serde_json::Value> = played
        .lines()
        .map(|line| serde_json::from_str(line).expect("play_vms.py prints JSON lines"))
        .collect();
    assert_eq!(nodes.len(), 3, "{played}");
    let estimate = user_data_estimate(&[
        "icclab.disco.components.heat.slavecount=2",
        "icclab.disco.dependencies.inject={'shell': ''}",
        &format!("icclab.disco.components.shell.command={command}"),
    ]);
    assert_user_data_within_estimate(&played, &estimate);
    // What Heat wrote for each server: the slaves know their index, and every node got the
    // user's command byte for byte.
    let mut indices: Vec<&str> = nodes
        .iter()
        .filter(|n| n["node"]["DISCO_ROLE"] == "slave")
        .map(|n| n["node"]["DISCO_NODE_INDEX"].as_str().unwrap_or("missing"))
        .collect();
    indices.sort();
    assert_eq!(indices, ["0", "1"], "{played}");
    for node in &nodes {
        let environment: serde_json::Value =
            serde_json::from_str(node["environment"].as_str().expect("environment.json"))
                .expect("environment.json is JSON");
        assert_eq!(environment["DISCO_SHELL_COMMAND"], command, "{node}");
    }
    let ready = wait_for(&server, &demo, &id, "ready", |a| state(a) == "ready").expect("ready");
    assert_eq!(ready["external_ip"], "203.0.113.10", "{ready}");
    assert_eq!(ready["stack_status"], "CREATE_COMPLETE", "{ready}");
    assert!(ready["ssh_private_key"]
        .as_str()
        .unwrap_or("")
        .contains("PRIVATE KEY"));
    let shown = cloud.openstack(&["stack", "show", &stack, "-f", "value", "-c", "stack_status"]);
    assert_eq!(shown.trim(), "CREATE_COMPLETE");

    // Delete: the stack goes, then the cluster.
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
    let listed = cloud.openstack(&[
        "stack",
        "list",
        "-f",
        "value",
        "-c",
        "Stack Name",
        "-c",
        "Stack Status",
    ]);
    assert!(!listed.contains(&stack), "{listed}\n{}", server.log());
    assert!(!server.log().contains(cloud.get("DISCO_TEST_DEMO_PASSWORD")));
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_failing_installer_fails_the_cluster_with_its_reason() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let demo = cloud.demo();
    // Every framework: the largest user data a node gets.
    let all = "{'shell': '', 'spark': '', 'hadoop': '', 'jupyter': '', 'zeppelin': '', \
               'docker-swarm': '', 'mongodb': ''}";
    let (id, stack) = create(
        &server,
        &demo,
        &format!("icclab.disco.dependencies.inject=\"{all}\""),
    );
    wait_for(&server, &demo, &id, "building", |a| state(a) == "building");
    let played = cloud.play_vms(
        &stack,
        1,
        "FAILURE",
        "shell failed on master: exit 3",
        "all",
    );
    let estimate = user_data_estimate(&[&format!("icclab.disco.dependencies.inject={all}")]);
    assert_user_data_within_estimate(&played, &estimate);
    let failed = wait_for(&server, &demo, &id, "failed", |a| state(a) == "failed").expect("failed");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("shell failed on master: exit 3"),
        "{failed}"
    );
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_hostile_image_name_stays_a_name_and_heat_says_it_does_not_exist() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let demo = cloud.demo();
    let hostile = r#"img\" }, {{ x }} $(id): !!python/object"#;
    let attribute = format!(
        "icclab.disco.components.heat.masterimage=\"{hostile}\", \
         icclab.disco.dependencies.inject=\"{{'shell': ''}}\""
    );
    let (id, _) = create(&server, &demo, &attribute);
    let failed = wait_for(&server, &demo, &id, "failed", |a| state(a) == "failed").expect("failed");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("master_image") && reason.contains("No images matching"),
        "{failed}"
    );
    // The whole name reached Heat as one parameter value.
    assert!(
        reason.contains(r#"img" }, {{ x }} $(id): !!python/object"#),
        "{reason}"
    );
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
}

/// Runs an action on a cluster as `credentials`; asserts it is accepted.
fn act(
    server: &TestServer,
    credentials: &[(&str, String)],
    id: &str,
    term: &str,
    attributes: &str,
) {
    let response = support::act_as(server, credentials, id, term, attributes);
    assert_eq!(
        response.status,
        202,
        "{term}: {}\n{}",
        response.body,
        server.log()
    );
}

/// The names (indexes) of the slave group's members as real Heat has them.
fn slave_members(cloud: &Cloud, stack: &str) -> Vec<String> {
    let listed = cloud.openstack(&["stack", "resource", "list", stack, "-n", "1", "-f", "json"]);
    let resources: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("JSON");
    let mut members: Vec<String> = resources
        .iter()
        .filter(|r| r["resource_type"] == "slave.yaml")
        .map(|r| r["resource_name"].as_str().unwrap_or_default().to_string())
        .collect();
    members.sort();
    members
}

fn stack_status(cloud: &Cloud, stack: &str) -> String {
    cloud
        .openstack(&["stack", "show", stack, "-c", "stack_status", "-f", "value"])
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_real_stack_scales_by_stack_updates_and_suspends_and_resumes_by_heat_actions() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let demo = cloud.demo();
    let (id, stack) = create(
        &server,
        &demo,
        "icclab.disco.components.heat.slavecount=\"1\", icclab.disco.dependencies.inject=\"{'shell': ''}\"",
    );
    wait_for(&server, &demo, &id, "building", |a| state(a) == "building");
    cloud.play_vms(&stack, 2, "SUCCESS", "ready", "all");
    wait_for(&server, &demo, &id, "ready", |a| state(a) == "ready");
    assert_eq!(slave_members(&cloud, &stack), ["0"]);

    // 1 -> 2: a stack update; the new slave's wait condition is played like its VM would.
    act(
        &server,
        &demo,
        &id,
        "scale",
        "icclab.disco.components.heat.slavecount=\"2\"",
    );
    wait_for(&server, &demo, &id, "scaling", |a| state(a) == "scaling");
    let played = cloud.play_vms(&stack, 3, "SUCCESS", "ready", "slave-2");
    let new_node: serde_json::Value = serde_json::from_str(played.trim()).expect("one node");
    let environment: serde_json::Value =
        serde_json::from_str(new_node["environment"].as_str().unwrap()).expect("environment");
    assert_eq!(environment["DISCO_SLAVE_ADDRS"], "10.20.1.0 10.20.1.1");
    let ready = wait_for(&server, &demo, &id, "two slaves", |a| {
        state(a) == "ready" && a.is_some_and(|a| a["icclab.disco.observed_generation"] == 2)
    })
    .expect("ready");
    assert_eq!(ready["stack_status"], "UPDATE_COMPLETE");
    assert_eq!(
        support::node_names(&ready),
        ["master", "slave-1", "slave-2"]
    );
    assert_eq!(slave_members(&cloud, &stack), ["0", "1"]);
    assert_eq!(stack_status(&cloud, &stack), "UPDATE_COMPLETE");

    // 2 -> 1: Heat removes the highest index.
    act(
        &server,
        &demo,
        &id,
        "scale",
        "icclab.disco.components.heat.slavecount=\"1\"",
    );
    let ready = wait_for(&server, &demo, &id, "one slave", |a| {
        state(a) == "ready" && a.is_some_and(|a| a["icclab.disco.observed_generation"] == 3)
    })
    .expect("ready");
    assert_eq!(support::node_names(&ready), ["master", "slave-1"]);
    assert_eq!(slave_members(&cloud, &stack), ["0"]);

    // Suspend and resume: Heat's stack actions.
    act(&server, &demo, &id, "suspend", "");
    wait_for(&server, &demo, &id, "suspended", |a| {
        state(a) == "suspended"
    });
    assert_eq!(stack_status(&cloud, &stack), "SUSPEND_COMPLETE");
    act(&server, &demo, &id, "resume", "");
    let resumed = wait_for(&server, &demo, &id, "ready", |a| state(a) == "ready").expect("ready");
    assert_eq!(stack_status(&cloud, &stack), "RESUME_COMPLETE");
    assert_eq!(resumed["external_ip"], ready["external_ip"]);

    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_health_look_is_heats_stack_check_and_a_healthy_stack_keeps_the_cluster_ready() {
    let cloud = Cloud::load();
    let server = cloud.disco_looking_every(1);
    let demo = cloud.demo();
    let (id, stack) = create(
        &server,
        &demo,
        "icclab.disco.components.heat.slavecount=\"0\", icclab.disco.dependencies.inject=\"{'shell': ''}\"",
    );
    wait_for(&server, &demo, &id, "building", |a| state(a) == "building");
    cloud.play_vms(&stack, 1, "SUCCESS", "ready", "all");
    wait_for(&server, &demo, &id, "ready", |a| state(a) == "ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack_status(&cloud, &stack) != "CHECK_COMPLETE" {
        assert!(
            Instant::now() < deadline,
            "no stack check in 60 s\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(3));
    let attributes = support::attributes_as(&server, &demo, &id).expect("cluster");
    assert_eq!(attributes["icclab.disco.state"], "ready", "{attributes}");
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn with_the_defaults_the_security_group_heat_creates_opens_only_ssh_to_the_world() {
    let cloud = Cloud::load();
    let server = cloud.disco();
    let demo = cloud.demo();
    let all = "{'shell': '', 'spark': '', 'hadoop': '', 'jupyter': '', 'zeppelin': '', \
               'docker-swarm': '', 'mongodb': ''}";
    let (id, stack) = create(
        &server,
        &demo,
        &format!(
            "icclab.disco.components.heat.slavecount=\"1\", \
             icclab.disco.dependencies.inject=\"{all}\""
        ),
    );
    wait_for(&server, &demo, &id, "building", |a| state(a) == "building");
    // The security group's rules as real Heat resolved them (parameters filled in) and
    // handed them to the resource: the test cloud's provider (a nested stack) shows what it
    // was given as its output `show`.
    let deadline = Instant::now() + Duration::from_secs(120);
    let nested = loop {
        let shown = cloud.openstack(&[
            "stack",
            "resource",
            "show",
            &stack,
            "security_group",
            "-f",
            "json",
        ]);
        let shown: serde_json::Value = serde_json::from_str(&shown).expect("JSON");
        if shown["resource_status"] == "CREATE_COMPLETE" {
            break shown["physical_resource_id"]
                .as_str()
                .expect("the group's nested stack")
                .to_string();
        }
        assert!(Instant::now() < deadline, "{shown}");
        std::thread::sleep(Duration::from_secs(1));
    };
    let output = cloud.openstack(&["stack", "output", "show", &nested, "show", "-f", "json"]);
    let output: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    let rules = output["output_value"]["security_group_rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules in {output}"))
        .clone();
    let field = |rule: &serde_json::Value, key: &str| rule[key].as_str().unwrap_or("").to_string();
    let world: Vec<String> = rules
        .iter()
        .filter(|r| field(r, "remote_ip_prefix") == "0.0.0.0/0")
        .map(|r| format!("{}/{}", field(r, "protocol"), field(r, "port_range_min")))
        .collect();
    assert_eq!(world, ["tcp/22"], "{rules:?}");
    // Everything else is the gateway's or the cluster's own.
    for rule in &rules {
        let prefix = field(rule, "remote_ip_prefix");
        assert!(
            prefix == "0.0.0.0/0"
                || prefix == "127.0.0.1/32"
                || field(rule, "remote_mode") == "remote_group_id",
            "{rule}"
        );
    }
    let gateway: Vec<String> = rules
        .iter()
        .filter(|r| field(r, "remote_ip_prefix") == "127.0.0.1/32")
        .map(|r| format!("{}/{}", field(r, "protocol"), field(r, "port_range_min")))
        .collect();
    for port in [
        "tcp/8084", "tcp/8085", "tcp/8080", "tcp/8070", "tcp/8888", "tcp/9870",
    ] {
        assert!(gateway.iter().any(|g| g == port), "{port}: {gateway:?}");
    }
    // Swarm's ports are the cluster's own only.
    for port in ["tcp/2377", "tcp/7946", "udp/7946", "udp/4789"] {
        assert!(!gateway.iter().any(|g| g == port), "{port}: {gateway:?}");
    }
    assert!(
        rules
            .iter()
            .any(|r| field(r, "remote_mode") == "remote_group_id"
                && field(r, "remote_group_id").is_empty()),
        "{rules:?}"
    );
    // The VMs report in (Heat deletes a finished stack promptly), then delete.
    cloud.play_vms(&stack, 2, "SUCCESS", "installed", "all");
    wait_for(&server, &demo, &id, "ready", |a| state(a) == "ready");
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &demo, &[]);
    assert_eq!(deleted.status, 200);
    wait_for(&server, &demo, &id, "gone", |a| a.is_none());
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn a_delete_after_the_owner_revoked_the_trust_stays_deleting_and_says_how_to_end_it() {
    let cloud = Cloud::load();
    let mut server = cloud.disco();
    // A user of its own in the demo project, so that revoking its trusts touches no other
    // test's cluster.
    let name = format!("revoker-{}", std::process::id());
    let password = format!(
        "pw-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let project = cloud.get("DISCO_TEST_DEMO_PROJECT").to_string();
    let user_id = cloud
        .openstack_as(
            "admin",
            &[
                "user",
                "create",
                "--domain",
                "Default",
                "--project",
                &project,
                "--project-domain",
                "Default",
                "--password",
                &password,
                "-f",
                "value",
                "-c",
                "id",
                &name,
            ],
        )
        .trim()
        .to_string();
    cloud.openstack_as(
        "admin",
        &[
            "role",
            "add",
            "--user",
            &user_id,
            "--project",
            &project,
            "--project-domain",
            "Default",
            "member",
        ],
    );
    let owner = vec![
        ("X-User-Name", name.clone()),
        ("X-Password", password.clone()),
        ("X-Tenant-Name", project.clone()),
        ("X-Region-Name", "RegionOne".to_string()),
    ];
    let (id, stack) = create(
        &server,
        &owner,
        "icclab.disco.components.heat.slavecount=\"0\", \
         icclab.disco.dependencies.inject=\"{'shell': ''}\", \
         icclab.disco.components.shell.command=\"true\"",
    );
    wait_for(&server, &owner, &id, "building", |a| state(a) == "building");
    cloud.play_vms(&stack, 1, "SUCCESS", "installed", "master");
    wait_for(&server, &owner, &id, "ready", |a| state(a) == "ready");

    // The owner's trust in disco goes (as `openstack trust delete` by the owner would).
    let trusts: Vec<serde_json::Value> =
        serde_json::from_str(&cloud.openstack_as("admin", &["trust", "list", "-f", "json"]))
            .expect("trust list is JSON");
    let disco_user = cloud.get("DISCO_TEST_DISCO_USER_ID");
    let revoked: Vec<&str> = trusts
        .iter()
        .filter(|t| t["Trustor User ID"] == user_id.as_str() && t["Trustee User ID"] == disco_user)
        .filter_map(|t| t["ID"].as_str())
        .collect();
    assert_eq!(revoked.len(), 1, "{trusts:?}");
    cloud.openstack_as("admin", &["trust", "delete", revoked[0]]);
    // A token disco got through the trust before may still pass Heat's token cache for a few
    // minutes; a restarted disco has none and must ask Keystone for one.
    server.restart();

    // Delete: disco cannot act for the owner any more, and says so instead of pretending.
    let deleted = support::send_as(&server, "DELETE", &format!("/disco/{id}"), &owner, &[]);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let deleting = wait_for(&server, &owner, &id, "the reason", |a| {
        state(a) == "deleting"
            && a.and_then(|a| a["icclab.disco.state_reason"].as_str())
                .is_some_and(|r| r.contains("no longer act"))
    })
    .expect("still listed");
    let reason = deleting["icclab.disco.state_reason"].as_str().unwrap_or("");
    for part in [
        "disco can no longer act for the cluster's owner",
        &format!("`openstack stack delete {stack}`"),
        &format!("then `disco forget {id}`"),
    ] {
        assert!(reason.contains(part), "{part} not in {reason}");
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        state(support::attributes_as(&server, &owner, &id).as_ref()),
        "deleting"
    );
    let listed = cloud.openstack(&["stack", "list", "-f", "value", "-c", "Stack Name"]);
    assert!(listed.lines().any(|l| l == stack), "{listed}");

    // The operator's way out, as the reason says.
    cloud.openstack(&["stack", "delete", "--yes", "--wait", &stack]);
    let forgotten = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args(["forget", "--config"])
        .arg(&server.config_path)
        .arg(&id)
        .output()
        .expect("disco forget");
    assert!(forgotten.status.success(), "{forgotten:?}");
    wait_for(&server, &owner, &id, "gone", |a| a.is_none());
    cloud.openstack_as("admin", &["user", "delete", &user_id]);
}

/// A token for the demo user straight from Keystone, and Heat's public address from its
/// catalog.
fn demo_heat(cloud: &Cloud) -> (String, String) {
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password":
        {"user": {"name": cloud.get("DISCO_TEST_DEMO_USER"), "password":
        cloud.get("DISCO_TEST_DEMO_PASSWORD"), "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": cloud.get("DISCO_TEST_DEMO_PROJECT"),
        "domain": {"name": "Default"}}}}});
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/auth/tokens", cloud.get("OS_AUTH_URL")))
        .json(&body)
        .send()
        .expect("Keystone");
    assert_eq!(response.status().as_u16(), 201);
    let token = response.headers()["X-Subject-Token"]
        .to_str()
        .expect("token")
        .to_string();
    let issued: serde_json::Value = response.json().expect("a token body");
    let heat = issued["token"]["catalog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|service| service["type"] == "orchestration")
        .flat_map(|service| service["endpoints"].as_array().cloned().unwrap_or_default())
        .find(|endpoint| endpoint["interface"] == "public")
        .and_then(|endpoint| endpoint["url"].as_str().map(str::to_string))
        .expect("Heat in the catalog");
    (token, heat)
}

#[test]
#[ignore = "needs real Keystone and Heat: tests/openstack/run.sh"]
fn heat_lists_the_stacks_of_several_names_in_one_call() {
    // disco's looks at building stacks go out as one list naming up to 50 stacks (the name
    // filter repeated); real Heat must answer with exactly the stacks named.
    let cloud = Cloud::load();
    let dir = tempfile::tempdir().expect("temp dir");
    let template = dir.path().join("empty.yaml");
    std::fs::write(
        &template,
        "heat_template_version: 2018-08-31\nresources: {}\n",
    )
    .expect("write a template");
    let names: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| format!("disco-batch-{n}-{}", std::process::id()))
        .collect();
    for name in &names {
        let template = template.display().to_string();
        cloud.openstack(&["stack", "create", "--wait", "-t", &template, name]);
    }
    let (token, url) = demo_heat(&cloud);
    let heat = disco::backend::openstack::heat::Heat {
        http: disco::backend::openstack::heat::client(Duration::from_secs(30)).expect("a client"),
        url,
        token,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let listed = |wanted: &[&str]| -> Vec<String> {
        let mut found: Vec<String> = runtime
            .block_on(heat.find_many(wanted))
            .expect("Heat lists stacks")
            .into_iter()
            .map(|stack| stack.stack_name)
            .collect();
        found.sort();
        found
    };
    assert_eq!(
        listed(&[&names[0], &names[1]]),
        [names[0].clone(), names[1].clone()]
    );
    assert_eq!(listed(&[&names[2]]), [names[2].clone()]);
    assert_eq!(
        listed(&[&names[2], "disco-batch-no-such-stack"]),
        [names[2].clone()]
    );
    for name in &names {
        cloud.openstack(&["stack", "delete", "--yes", "--wait", name]);
    }
}
