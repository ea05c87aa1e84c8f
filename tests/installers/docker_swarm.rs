use crate::sandbox::*;
use disco::frameworks::HookEvent;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What `docker swarm join-token -q worker` prints in the sandbox.
const TOKEN: &str =
    "SWMTKN-1-49nj1cmql0jkz5s954yi3oex3nedyz0fb0xx14ie39trti4wxv-8vxv8rssmk743ojnwacrr2e7c";
const SECRET: &str = "cluster-secret-0123456789abcdef";

/// A swarm sandbox: `docker info` reports `state`, the master's join-token prints TOKEN,
/// curl plays the master's share server (only for the secret header file) and the Docker
/// daemon's API (recording the join request's body).
struct Swarm {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
}

impl Swarm {
    fn new(slaves: usize, state: &str) -> Swarm {
        Swarm::sharing(slaves, state, TOKEN)
    }

    /// As `new`, but the master's share server answers `shared` for the token.
    fn sharing(slaves: usize, state: &str, shared: &str) -> Swarm {
        let mut sandbox = Sandbox::new(slaves);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), format!("{SECRET}\n")).unwrap();
        std::fs::write(
            dir.path().join("secret-header"),
            format!("X-Disco-Secret: {SECRET}\n"),
        )
        .unwrap();
        sandbox.stub(
            "docker",
            &format!(
                r#"case "$1" in
    info) for a in "$@"; do case "$a" in *LocalNodeState*) echo '{state}';; esac; done ;;
    swarm) [ "$2" != join-token ] || printf '%s\n' '{TOKEN}' ;;
esac
exit 0"#
            ),
        );
        let master = sandbox.addresses[0];
        let header_file = dir.path().join("secret-header");
        let join_body = dir.path().join("join-body.json");
        sandbox.stub(
            "curl",
            &format!(
                r#"header=""; prev=""
for a in "$@"; do [ "$prev" = -H ] && header=$a; prev=$a; done
for a in "$@"; do case "$a" in
    http://{master}:8085/swarm-worker-token)
        [ "$header" = "@{header}" ] || exit 22
        printf '%s' '{shared}'; exit 0;;
    http://localhost/swarm/join)
        cat > "{body}"; printf '\n200'; exit 0;;
esac; done
exit 0"#,
                header = header_file.display(),
                body = join_body.display(),
            ),
        );
        sandbox.listen(0, 8084);
        sandbox.listen(0, 2377);
        Swarm { sandbox, dir }
    }

    fn secret_file(&self) -> PathBuf {
        self.dir.path().join("secret")
    }

    fn header_file(&self) -> PathBuf {
        self.dir.path().join("secret-header")
    }

    fn deploy(&self, node: usize) -> Run {
        let secret = self.secret_file().display().to_string();
        let header = self.header_file().display().to_string();
        self.sandbox.deploy_with(
            node,
            &[("docker-swarm", &[])],
            &[
                ("DISCO_CLUSTER_SECRET_FILE", &secret),
                ("DISCO_CLUSTER_SECRET_HEADER_FILE", &header),
            ],
        )
    }

    fn join_body(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("join-body.json")).ok()?;
        Some(serde_json::from_str(&text).expect("the join request is JSON"))
    }
}

/// Every file below `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn assert_not_logged(run: &Run, needle: &str) {
    let logs = run.root.join("var/log/disco");
    let files = files_under(&logs);
    assert!(!files.is_empty(), "no logs under {}", logs.display());
    for file in files {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !content.contains(needle),
            "{} contains the join token:\n{content}",
            file.display()
        );
    }
    assert!(!run.output.contains(needle), "{}", run.output);
}

fn assert_on_no_command_line(run: &Run, needle: &str) {
    for call in &run.calls {
        assert!(
            !call.line().contains(needle),
            "the join token is on a command line: {}",
            call.line()
        );
    }
}

#[test]
fn the_master_initialises_the_swarm_on_its_address_and_shares_the_worker_token() {
    let swarm = Swarm::new(2, "inactive false");
    let run = swarm.deploy(0);
    assert!(run.success, "{}", run.output);
    let master = swarm.sandbox.addresses[0].to_string();
    run.assert_called("apt-get", &["install", "docker.io"]);
    run.assert_called("systemctl", &["enable", "--now", "docker"]);
    let init = run.assert_called("docker", &["swarm", "init"]);
    assert_eq!(init.args, ["swarm", "init", "--advertise-addr", &master]);
    run.assert_called("docker", &["swarm", "join-token", "-q", "worker"]);

    // The node's agent serves shared values: the master's address, port 8085; the secret
    // is read from its file, never part of the unit.
    let unit = run.unit("agent");
    for part in ["agent.py\"".to_string(), format!("\"{master}\" \"8085\"")] {
        assert!(unit.contains(&part), "{part} not in {unit}");
    }
    assert!(!unit.contains(SECRET), "{unit}");
    run.assert_called("systemctl", &["enable", "--now", "disco-agent"]);

    // The token is shared in a file only root can read, and nowhere else.
    let shared = run.root.join("var/lib/disco/share/swarm-worker-token");
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), TOKEN);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&shared), 0o600);
    assert_eq!(mode(shared.parent().unwrap()), 0o700);
    assert_not_logged(&run, TOKEN);
    assert_on_no_command_line(&run, TOKEN);
}

#[test]
fn a_slave_joins_the_masters_swarm_with_exactly_the_shared_token() {
    let swarm = Swarm::new(2, "inactive false");
    let run = swarm.deploy(2);
    assert!(run.success, "{}", run.output);
    let master = swarm.sandbox.addresses[0].to_string();
    let me = swarm.sandbox.addresses[2].to_string();
    run.assert_called("apt-get", &["install", "docker.io"]);

    // The token came from the master's share server, the secret only as a header file.
    let header = format!("@{}", swarm.header_file().display());
    let fetch = run.assert_called(
        "curl",
        &[&format!("http://{master}:8085/swarm-worker-token")],
    );
    let headers: Vec<&String> = fetch
        .args
        .iter()
        .zip(fetch.args.iter().skip(1))
        .filter(|(flag, _)| *flag == "-H")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(headers, [&header], "{}", fetch.line());
    for call in &run.calls {
        assert!(
            !call.line().contains(SECRET),
            "the cluster secret is on a command line: {}",
            call.line()
        );
    }

    // It joined MASTER:2377 through the Docker daemon's API, the token in the request body.
    let join = run.assert_called("curl", &["http://localhost/swarm/join", "--data-binary"]);
    assert!(join.args.iter().any(|a| a == "@-"), "{}", join.line());
    let socket = run.root.join("var/run/docker.sock").display().to_string();
    assert!(join.args.contains(&socket), "{}", join.line());
    let body = swarm.join_body().expect("a join request");
    assert_eq!(body["JoinToken"], TOKEN);
    assert_eq!(
        body["RemoteAddrs"],
        serde_json::json!([format!("{master}:2377")])
    );
    assert_eq!(body["AdvertiseAddr"], me.as_str());
    assert!(
        run.find("docker", &["swarm", "join"]).is_none(),
        "docker swarm join puts the token on its command line"
    );
    assert_on_no_command_line(&run, TOKEN);
    assert_not_logged(&run, TOKEN);
}

#[test]
fn a_second_run_neither_initialises_nor_joins_again() {
    let swarm = Swarm::new(1, "active true");
    let run = swarm.deploy(0);
    assert!(run.success, "{}", run.output);
    assert!(run.find("docker", &["swarm", "init"]).is_none());
    assert!(
        run.output.contains("already manages a swarm"),
        "{}",
        run.output
    );
    // The token is shared again (the share server may have to start again after a reboot).
    run.assert_called("docker", &["swarm", "join-token", "-q", "worker"]);

    let swarm = Swarm::new(1, "active false");
    let run = swarm.deploy(1);
    assert!(run.success, "{}", run.output);
    assert!(run.calls_to("curl").is_empty(), "{:?}", run.calls);
    assert!(swarm.join_body().is_none());
    assert!(
        run.output.contains("already part of the swarm"),
        "{}",
        run.output
    );
}

#[test]
fn a_master_that_is_a_worker_elsewhere_fails_and_says_why() {
    let swarm = Swarm::new(1, "active false");
    let run = swarm.deploy(0);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.contains("already a worker of another swarm"),
        "{reason}"
    );
    assert!(run.find("docker", &["swarm", "init"]).is_none());
}

#[test]
fn a_slave_refuses_what_is_not_a_join_token_without_repeating_it() {
    let garbage = "not-a-token; touch /tmp/pwned";
    let swarm = Swarm::sharing(1, "inactive false", garbage);
    let run = swarm.deploy(1);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(reason.contains("is not a swarm join token"), "{reason}");
    assert!(swarm.join_body().is_none());
    assert_not_logged(&run, garbage);
}

#[test]
fn the_manifest_declares_every_port_and_refuses_the_local_backend() {
    let catalog = catalog();
    let swarm = catalog.find("docker-swarm").unwrap();
    let ports: Vec<(u16, &str)> = swarm
        .manifest
        .ports
        .iter()
        .map(|p| (p.port, p.protocol.as_str()))
        .collect();
    for port in [(2377, "tcp"), (7946, "tcp"), (7946, "udp"), (4789, "udp")] {
        assert!(ports.contains(&port), "{port:?} not in {ports:?}");
    }
    let refusal = swarm.manifest.local.unsupported.as_deref().unwrap();
    assert!(refusal.contains("Docker engine per node"), "{refusal}");
    assert_eq!(
        swarm.parameter_env("join_timeout"),
        "DISCO_DOCKER_SWARM_JOIN_TIMEOUT"
    );
}

/// The manager's view of the swarm for the leave hooks: `docker node ls/inspect` list `nodes`
/// (id, address); `docker node ps id-b` shows a task still running on its first call (on every
/// call once the test created `<log>.stuck`), then only shut-down tasks; other nodes run none.
fn swarm_of(swarm: &Swarm, nodes: &[(&str, String)]) {
    let listing: String = nodes.iter().map(|(id, a)| format!("{id} {a}\n")).collect();
    std::fs::write(
        format!("{}.nodes", swarm.sandbox.log_file().display()),
        listing,
    )
    .unwrap();
    swarm.sandbox.stub(
        "docker",
        r#"case "$1 $2" in
    "node ls") while read -r id _; do printf '%s\n' "$id"; done < "$DISCO_STUB_LOG.nodes" ;;
    "node inspect") cat "$DISCO_STUB_LOG.nodes" ;;
    "node ps")
        [ "${!#}" = id-b ] || exit 0
        if [ -e "$DISCO_STUB_LOG.stuck" ] || [ ! -e "$DISCO_STUB_LOG.looked" ]; then
            touch "$DISCO_STUB_LOG.looked"
            printf 'Shutdown Running 2 seconds ago\nShutdown Shutdown 1 minute ago\n'
        else
            printf 'Shutdown Shutdown 1 second ago\nShutdown Shutdown 1 minute ago\n'
        fi ;;
    "info "*) for a in "$@"; do case "$a" in *LocalNodeState*) cat "$DISCO_STUB_LOG.state";; esac; done ;;
esac
exit 0"#,
    );
}

fn leave_hook(swarm: &Swarm, node: usize, leaving: &[usize], params: &[(&str, &str)]) -> Run {
    let frameworks: &[(&str, &[(&str, &str)])] = &[("docker-swarm", params)];
    swarm
        .sandbox
        .hook(node, frameworks, HookEvent::Leave, leaving, &[])
}

fn docker_calls<'a>(run: &'a Run, subcommand: &str) -> Vec<&'a Call> {
    run.calls_to("docker")
        .into_iter()
        .filter(|c| c.args.len() > 1 && c.args[..2].join(" ") == subcommand)
        .collect()
}

#[test]
fn a_leaving_worker_is_drained_until_its_tasks_moved_then_removed() {
    let swarm = Swarm::new(2, "active true");
    let [master, s1, s2] = [0, 1, 2].map(|i| swarm.sandbox.addresses[i].to_string());
    // A node that left before with the same address, under a name that is not code.
    let stale = "$(touch${IFS}pwned)";
    swarm_of(
        &swarm,
        &[
            ("id-m", master),
            ("id-a", s1),
            ("id-b", s2.clone()),
            (stale, s2),
        ],
    );
    let run = leave_hook(&swarm, 0, &[2], &[]);
    assert!(run.success, "{}", run.output);
    let updates: Vec<Vec<String>> = docker_calls(&run, "node update")
        .iter()
        .map(|c| c.args.clone())
        .collect();
    assert_eq!(
        updates,
        [
            ["node", "update", "--availability", "drain", "id-b"],
            ["node", "update", "--availability", "drain", stale]
        ]
    );
    let removals: Vec<Vec<String>> = docker_calls(&run, "node rm")
        .iter()
        .map(|c| c.args.clone())
        .collect();
    assert_eq!(
        removals,
        [
            ["node", "rm", "--force", "id-b"],
            ["node", "rm", "--force", stale]
        ]
    );
    // id-b was removed only once no task ran there any more: on the second look.
    let looks: Vec<usize> = run
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.program == "docker"
                && c.line().starts_with("docker node ps")
                && c.args.last().map(String::as_str) == Some("id-b")
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(looks.len(), 2, "{}", run.output);
    let drain = run
        .calls
        .iter()
        .position(|c| c.line().contains("drain id-b"))
        .unwrap();
    let remove = run
        .calls
        .iter()
        .position(|c| c.line().contains("rm --force id-b"))
        .unwrap();
    assert!(drain < looks[0] && looks[1] < remove);
    assert!(!run.root.join("pwned").exists());
    assert_eq!(run.status["state"], "done");
}

#[test]
fn a_worker_no_longer_in_the_swarm_is_not_looked_for_again() {
    let swarm = Swarm::new(2, "active true");
    let [master, s1] = [0, 1].map(|i| swarm.sandbox.addresses[i].to_string());
    swarm_of(&swarm, &[("id-m", master), ("id-a", s1)]);
    let run = leave_hook(&swarm, 0, &[2], &[]);
    assert!(run.success, "{}", run.output);
    assert!(docker_calls(&run, "node update").is_empty());
    assert!(docker_calls(&run, "node rm").is_empty());
    assert!(run.output.contains("nothing to remove"), "{}", run.output);
}

#[test]
fn tasks_that_do_not_move_fail_the_leave_with_a_reason_and_the_node_stays() {
    let swarm = Swarm::new(2, "active true");
    let [master, s2] = [0, 2].map(|i| swarm.sandbox.addresses[i].to_string());
    swarm_of(&swarm, &[("id-m", master), ("id-b", s2.clone())]);
    std::fs::write(format!("{}.stuck", swarm.sandbox.log_file().display()), "").unwrap();
    let run = leave_hook(&swarm, 0, &[2], &[("drain_timeout", "10")]);
    assert!(!run.success);
    assert_eq!(run.status["state"], "failed");
    assert_eq!(run.status["current"], "docker-swarm");
    let reason = run.status["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!(
            "tasks still run on swarm node id-b ({s2}) after 10 s of draining (the docker-swarm \
             parameter drain_timeout): Shutdown Running 2 seconds ago"
        )
    );
    assert!(docker_calls(&run, "node rm").is_empty());
}

#[test]
fn a_leaving_worker_leaves_the_swarm_unless_it_is_in_none() {
    for (state, leaves) in [
        ("active false", true),
        ("pending false", true),
        ("inactive false", false),
    ] {
        let swarm = Swarm::new(2, state);
        swarm_of(&swarm, &[]);
        std::fs::write(
            format!("{}.state", swarm.sandbox.log_file().display()),
            format!("{state}\n"),
        )
        .unwrap();
        let run = leave_hook(&swarm, 2, &[2], &[]);
        assert!(run.success, "{}", run.output);
        let left = docker_calls(&run, "swarm leave");
        assert_eq!(left.len(), usize::from(leaves), "{state}");
        if leaves {
            assert_eq!(left[0].args, ["swarm", "leave", "--force"]);
        }
        assert!(docker_calls(&run, "node rm").is_empty());
    }
}
