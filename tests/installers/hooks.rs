//! The hook driver (`frameworks/lib/hooks/driver.sh`) and the runtime's services, with frameworks
//! written for the test: steps run in order, each with its own secrets, resumably, a failure
//! says why, node names stay data; and on the `local` profile, with real processes, a resume
//! restarts the recorded services in order, exactly as they were first started.

use crate::sandbox::repo_root;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The hook driver, in `frameworks/lib`.
const DRIVER: &str = "hooks/driver.sh";

/// A node with its own frameworks directory: the real `lib/` and frameworks written by a test.
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let node = Node {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(node.frameworks()).unwrap();
        std::os::unix::fs::symlink(
            repo_root().join("frameworks/lib"),
            node.frameworks().join("lib"),
        )
        .unwrap();
        std::fs::create_dir_all(node.root()).unwrap();
        node
    }

    fn frameworks(&self) -> PathBuf {
        self.dir.path().join("frameworks")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("node")
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_default()
    }

    /// A script of a framework (`hooks/…` for a hook): bash with the runtime (the hooks' for a
    /// hook) sourced, then `body`.
    fn script(&self, framework: &str, name: &str, body: &str) {
        let path = self.frameworks().join(framework).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let runtime = if name.starts_with("hooks/") {
            "hooks/runtime.sh"
        } else {
            "runtime.sh"
        };
        let text = format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nsource \"$DISCO_LIB/{runtime}\"\n{body}\n"
        );
        std::fs::write(path, text).unwrap();
    }

    /// A file next to the framework's scripts.
    fn file(&self, framework: &str, name: &str, content: &str) -> PathBuf {
        let dir = self.frameworks().join(framework);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn command(&self, driver: &str, profile: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(self.frameworks().join("lib").join(driver))
            .current_dir(self.root())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.root())
            .env("LANG", "C.UTF-8")
            .env("DISCO_PROFILE", profile)
            .env("DISCO_NODE_ROOT", self.root())
            .env("DISCO_NODE_NAME", "slave-1")
            .env("DISCO_ROLE", "slave")
            .env("DISCO_NODE_ADDR", "127.0.0.2")
            .env("DISCO_MASTER_ADDR", "127.0.0.1")
            .env("DISCO_FRAMEWORKS_DIR", self.frameworks())
            .env("DISCO_LIB", self.frameworks().join("lib"))
            .envs(env.iter().copied());
        command
    }

    /// Runs deploy.sh with these steps.
    fn deploy(&self, profile: &str, steps: &str, env: &[(&str, &str)]) -> Output {
        let output = self
            .command("deploy.sh", profile, env)
            .env("DISCO_STEPS", steps)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", self.logs(&output));
        output
    }

    /// Runs the hook driver for `event` with these steps and nodes.
    fn hook(&self, event: &str, run: &str, steps: &str, env: &[(&str, &str)]) -> Output {
        self.command(DRIVER, "cloud", &[])
            .env("DISCO_HOOK", event)
            .env("DISCO_HOOK_RUN", run)
            .env("DISCO_HOOK_STEPS", steps)
            .env("DISCO_HOOK_NODES", "slave-3=127.0.0.4")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn status(&self, run: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(&format!("run/disco/hooks/{run}.json")))
            .unwrap_or(serde_json::Value::Null)
    }

    fn logs(&self, output: &Output) -> String {
        format!(
            "{}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.read("var/log/disco/deployment.log")
        )
    }
}

/// A hook script that appends a line about itself to `record` in the node's root.
const RECORDING: &str = r#"printf '%s %s %s own=%s other=%s\n' "$DISCO_FRAMEWORK" "$DISCO_HOOK" "$DISCO_HOOK_NODES" "${DISCO_ALPHA_KEY-unset}" "${DISCO_BETA_KEY-unset}" >> "$DISCO_NODE_ROOT/record""#;

const SECRETS: &[(&str, &str)] = &[
    ("DISCO_ALPHA_KEY", "alpha-secret"),
    ("DISCO_BETA_KEY", "beta-secret"),
    (
        "DISCO_SECRET_VARS",
        "DISCO_ALPHA_KEY:alpha DISCO_BETA_KEY:beta",
    ),
];

#[test]
fn steps_run_in_the_given_order_each_with_only_its_own_frameworks_secrets() {
    let node = Node::new();
    node.script("alpha", "hooks/leave-slave.sh", RECORDING);
    node.script("beta", "hooks/leave-slave.sh", RECORDING);
    let output = node.hook(
        "leave",
        "leave-slave-3",
        "beta:leave-slave.sh alpha:leave-slave.sh",
        SECRETS,
    );
    assert!(output.status.success(), "{}", node.logs(&output));
    assert_eq!(
        node.read("record"),
        "beta leave slave-3=127.0.0.4 own=unset other=beta-secret\n\
         alpha leave slave-3=127.0.0.4 own=alpha-secret other=unset\n"
    );
    let status = node.status("leave-slave-3");
    assert_eq!(status["state"], "done");
    assert_eq!(status["current"], "");
    assert_eq!(status["reason"], "");
    assert_eq!(status["done"], serde_json::json!(["beta", "alpha"]));
    assert_eq!(status["node"], "slave-1");
    // Logged like deploy.sh's steps: the framework's log and deployment.log.
    assert!(node
        .read("var/log/disco/alpha.log")
        .contains("[alpha] running the leave hook of alpha"));
    let deployment = node.read("var/log/disco/deployment.log");
    assert!(
        deployment.contains("[beta] the leave hook of beta finished"),
        "{deployment}"
    );
    assert!(deployment.contains("leave hooks (leave-slave-3) finished"));
    let pid = node.read("run/disco/hooks/leave-slave-3.pid");
    assert!(pid.trim().parse::<u32>().is_ok(), "{pid}");
}

#[test]
fn a_failing_step_fails_the_run_with_its_reason_and_a_new_try_resumes_after_the_done_steps() {
    let node = Node::new();
    node.script("alpha", "hooks/join-master.sh", RECORDING);
    node.script("beta", "hooks/join-master.sh",
        &format!(
            "{RECORDING}\n[ -e \"$DISCO_NODE_ROOT/fixed\" ] || disco_fail \"the replica set said no\""
        ),
    );
    let steps = "alpha:join-master.sh beta:join-master.sh";
    let output = node.hook("join", "join-4", steps, SECRETS);
    assert!(!output.status.success());
    let status = node.status("join-4");
    assert_eq!(status["state"], "failed");
    assert_eq!(status["current"], "beta");
    assert_eq!(status["reason"], "the replica set said no");
    assert_eq!(status["done"], serde_json::json!(["alpha"]));
    assert!(node
        .read("var/log/disco/beta.log")
        .contains("FAILED: the replica set said no"));

    // Tried again (after a crash, or by the reconciler): alpha is not run again.
    std::fs::write(node.path("fixed"), "").unwrap();
    let output = node.hook("join", "join-4", steps, SECRETS);
    assert!(output.status.success(), "{}", node.logs(&output));
    let record = node.read("record");
    assert_eq!(record.matches("alpha join").count(), 1, "{record}");
    assert_eq!(record.matches("beta join").count(), 2, "{record}");
    assert_eq!(node.status("join-4")["state"], "done");
    assert_eq!(
        node.status("join-4")["done"],
        serde_json::json!(["alpha", "beta"])
    );
}

#[test]
fn a_step_that_exits_without_a_reason_fails_with_its_status_and_last_words() {
    let node = Node::new();
    node.script(
        "alpha",
        "hooks/leave-master.sh",
        "echo 'cannot reach 127.0.0.4'\nexit 3",
    );
    let output = node.hook("leave", "leave-2", "alpha:leave-master.sh", &[]);
    assert!(!output.status.success());
    let status = node.status("leave-2");
    assert_eq!(status["state"], "failed");
    assert_eq!(
        status["reason"],
        "hook exited with status 3: cannot reach 127.0.0.4"
    );
}

#[test]
fn a_finished_run_does_nothing_again() {
    let node = Node::new();
    node.script("alpha", "hooks/resume.sh", RECORDING);
    let output = node.hook("resume", "resume-7-slave-1", "alpha:resume.sh", &[]);
    assert!(output.status.success(), "{}", node.logs(&output));
    let status = node.read("run/disco/hooks/resume-7-slave-1.json");
    // A service that cannot start: restarting services again would fail the run.
    std::fs::create_dir_all(node.path("run/disco/services")).unwrap();
    std::fs::write(node.path("run/disco/services/order"), "ghost\n").unwrap();
    let again = node.hook("resume", "resume-7-slave-1", "alpha:resume.sh", &[]);
    assert!(again.status.success(), "{}", node.logs(&again));
    assert_eq!(node.read("record").lines().count(), 1);
    assert_eq!(node.read("run/disco/hooks/resume-7-slave-1.json"), status);
    // Another run (another change) runs again.
    std::fs::remove_file(node.path("run/disco/services/order")).unwrap();
    let other = node.hook("resume", "resume-8-slave-1", "alpha:resume.sh", &[]);
    assert!(other.status.success(), "{}", node.logs(&other));
    assert_eq!(node.read("record").lines().count(), 2);
}

#[test]
fn one_run_has_one_driver_at_a_time() {
    let node = Node::new();
    node.script(
        "alpha",
        "hooks/join-master.sh",
        &format!("{RECORDING}\nsleep 2"),
    );
    let mut first = node
        .command(DRIVER, "cloud", &[])
        .env("DISCO_HOOK", "join")
        .env("DISCO_HOOK_RUN", "join-9")
        .env("DISCO_HOOK_STEPS", "alpha:join-master.sh")
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !node.path("record").exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = node.hook("join", "join-9", "alpha:join-master.sh", &[]);
    assert!(second.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the second waited"
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(node.read("record").lines().count(), 1);
    assert_eq!(
        node.read("run/disco/hooks/join-9.pid").trim(),
        first.id().to_string()
    );
}

#[test]
fn node_names_stay_data_and_what_is_not_an_address_is_refused() {
    let node = Node::new();
    let marker = node.path("pwned");
    node.script(
        "alpha",
        "hooks/leave-master.sh",
        r#"disco_hook_nodes
printf '%s\n' "${DISCO_HOOK_NAMES[@]}" > "$DISCO_NODE_ROOT/names"
printf '%s\n' "${DISCO_HOOK_ADDRS[@]}" > "$DISCO_NODE_ROOT/addresses""#,
    );
    let names = [
        format!("$(touch${{IFS}}{})", marker.display()),
        format!("`touch${{IFS}}{}`", marker.display()),
        format!("a;touch${{IFS}}{};b", marker.display()),
        "x=y'\"\\%s*".to_string(),
    ];
    let nodes = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{name}=127.0.0.{}", i + 2))
        .collect::<Vec<_>>()
        // Any white space separates pairs: a node after a newline is not lost.
        .join(" \n\t");
    let output = node.hook(
        "leave",
        "leave-5",
        "alpha:leave-master.sh",
        &[("DISCO_HOOK_NODES", &nodes)],
    );
    assert!(output.status.success(), "{}", node.logs(&output));
    assert_eq!(node.read("names"), format!("{}\n", names.join("\n")));
    assert_eq!(
        node.read("addresses"),
        "127.0.0.2\n127.0.0.3\n127.0.0.4\n127.0.0.5\n"
    );
    assert!(!marker.exists());

    for hostile in [
        "slave-2=127.0.0.3;touch${IFS}pwned",
        "slave-2=$(id)",
        "slave-2",
        "=127.0.0.3/../x",
    ] {
        let output = node.hook(
            "leave",
            "leave-6",
            "alpha:leave-master.sh",
            &[("DISCO_HOOK_NODES", hostile)],
        );
        assert!(!output.status.success(), "{hostile}");
        let status = node.status("leave-6");
        let reason = status["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("which is not name=address"), "{reason}");
        assert!(reason.contains(hostile), "{reason}");
    }
}

#[test]
fn a_run_name_or_event_that_is_not_one_is_refused_before_anything_runs() {
    let node = Node::new();
    node.script("alpha", "hooks/join-master.sh", RECORDING);
    for (event, run) in [
        ("join", "../../etc/x"),
        ("join", "Join-1"),
        ("join", ""),
        ("delete", "join-1"),
    ] {
        let output = node.hook(event, run, "alpha:join-master.sh", &[]);
        assert_eq!(output.status.code(), Some(2), "{event} {run}");
    }
    assert!(!node.path("record").exists());
    assert!(!node.path("etc").exists());
}

/// A tiny service: on start it writes its argv, environment and working directory to
/// `<node>/seen/<name>.<n>.json` and appends its name to `<node>/started`, then waits (deaf to
/// SIGTERM when IGNORE_TERM is set).
const SERVICE: &str = r#"import json, os, signal, sys, time
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
name = sys.argv[1]
seen = os.path.join(os.environ["SERVICE_OUT"], "seen")
os.makedirs(seen, exist_ok=True)
n = len([f for f in os.listdir(seen) if f.startswith(name + ".")])
with open(os.path.join(seen, "%s.%d.json" % (name, n)), "w") as f:
    json.dump({"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd(), "nice": os.nice(0)}, f)
with open(os.path.join(os.environ["SERVICE_OUT"], "started"), "a") as f:
    f.write(name + "\n")
time.sleep(3600)
"#;

/// The local profile, with real processes: a framework `svc` starting three services.
struct LocalServices {
    node: Node,
    pids: BTreeMap<String, i32>,
}

impl LocalServices {
    fn deploy() -> LocalServices {
        let node = Node::new();
        let service = node.file("svc", "service.py", SERVICE);
        node.script(
            "svc",
            "install.sh",
            &format!(
                r#"export SERVICE_OUT="$DISCO_NODE_ROOT"
cd "$DISCO_NODE_ROOT"
disco_start_service first python3 {service} first
mkdir -p "$DISCO_NODE_ROOT/elsewhere" && cd "$DISCO_NODE_ROOT/elsewhere"
ONLY_SECOND='x  y' IGNORE_TERM=1 disco_start_service second python3 {service} second 'two words' 'q"uote' '' $'new\nline'
# The installer runs nicer from here on: so does `third`.
python3 -c 'import os, sys; os.setpriority(os.PRIO_PROCESS, int(sys.argv[1]), os.nice(0) + 6)' "$$"
disco_start_service third python3 {service} third"#,
                service = service.display()
            ),
        );
        node.deploy(
            "local",
            "svc:install.sh",
            &[
                ("DISCO_SVC_TOKEN", "s3cret"),
                ("DISCO_OTHER_TOKEN", "not-for-svc"),
                (
                    "DISCO_SECRET_VARS",
                    "DISCO_SVC_TOKEN:svc DISCO_OTHER_TOKEN:other",
                ),
            ],
        );
        let mut services = LocalServices {
            node,
            pids: BTreeMap::new(),
        };
        services.wait_started(3);
        services.read_pids();
        services
    }

    fn read_pids(&mut self) {
        self.pids.clear();
        for name in ["first", "second", "third"] {
            if let Ok(pid) =
                std::fs::read_to_string(self.node.path(&format!("run/disco/{name}.pid")))
            {
                self.pids.insert(name.into(), pid.trim().parse().unwrap());
            }
        }
    }

    fn started(&self) -> Vec<String> {
        self.node
            .read("started")
            .lines()
            .map(String::from)
            .collect()
    }

    fn wait_started(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.started().len() < count {
            assert!(Instant::now() < deadline, "started: {:?}", self.started());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What a suspend does: every process of the node is killed.
    fn kill_all(&self) {
        for pid in self.pids.values() {
            // SAFETY: kill(2) on a process group this test started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        for pid in self.pids.values() {
            wait_gone(*pid);
        }
    }

    fn seen(&self, name: &str, n: usize) -> serde_json::Value {
        serde_json::from_str(&self.node.read(&format!("seen/{name}.{n}.json"))).unwrap()
    }

    fn resume(&self, run: &str, extra: &[(&str, &str)]) -> Output {
        self.node
            .command(DRIVER, "local", extra)
            .env("DISCO_HOOK", "resume")
            .env("DISCO_HOOK_RUN", run)
            .env("DISCO_HOOK_STEPS", "svc:resume.sh")
            .env("DISCO_HOOK_NODES", "slave-1=127.0.0.2")
            .output()
            .unwrap()
    }
}

impl Drop for LocalServices {
    fn drop(&mut self) {
        self.read_pids();
        for pid in self.pids.values() {
            // SAFETY: kill(2) on a process group this test started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
}

fn alive(pid: i32) -> bool {
    // A zombie has no stat line with state Z once reaped; treat Z as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(") ").next().unwrap_or("").chars().next();
            state != Some('Z')
        })
        .unwrap_or(false)
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        assert!(Instant::now() < deadline, "{pid} is still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn local_services_are_recorded_privately_in_their_start_order() {
    let services = LocalServices::deploy();
    let node = &services.node;
    assert_eq!(
        node.read("run/disco/services/order"),
        "first\nsecond\nthird\n"
    );
    for name in ["first", "second", "third"] {
        for file in ["argv", "env", "cwd", "nice"] {
            let path = node.path(&format!("run/disco/services/{name}/{file}"));
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
        assert_eq!(
            mode(&node.path(&format!("run/disco/services/{name}"))),
            0o700
        );
    }
    let argv = std::fs::read(node.path("run/disco/services/second/argv")).unwrap();
    let fields: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
    assert_eq!(
        &fields[fields.len() - 6..fields.len() - 1],
        &[
            b"second".as_slice(),
            b"two words",
            b"q\"uote",
            b"",
            b"new\nline"
        ]
    );
    // The service's environment is its framework's: its secret, not another's.
    let seen = services.seen("second", 0);
    assert_eq!(seen["env"]["DISCO_SVC_TOKEN"], "s3cret");
    assert!(seen["env"].get("DISCO_OTHER_TOKEN").is_none());
    assert_eq!(seen["env"]["ONLY_SECOND"], "x  y");
    assert!(services.seen("first", 0)["env"]
        .get("ONLY_SECOND")
        .is_none());
}

#[test]
fn resume_restarts_every_recorded_service_in_order_exactly_as_first_started() {
    let mut services = LocalServices::deploy();
    services.node.script(
        "svc",
        "hooks/resume.sh",
        r#"for name in first second third; do
    disco_service_running "$name" && echo "$name running" >> "$DISCO_NODE_ROOT/at-resume"
done"#,
    );
    let before: Vec<serde_json::Value> = ["first", "second", "third"]
        .iter()
        .map(|name| services.seen(name, 0))
        .collect();
    services.kill_all();

    // The hook driver's own environment differs: the services must not get it.
    let output = services.resume(
        "resume-1-slave-1",
        &[("DISCO_SVC_TOKEN", "s3cret"), ("NOT_RECORDED", "1")],
    );
    assert!(output.status.success(), "{}", services.node.logs(&output));
    services.wait_started(6);
    assert_eq!(
        services.started()[3..],
        ["first", "second", "third"],
        "restarted out of order"
    );
    // The services were back before the framework's resume hook ran.
    assert_eq!(
        services.node.read("at-resume"),
        "first running\nsecond running\nthird running\n"
    );
    for (i, name) in ["first", "second", "third"].iter().enumerate() {
        let after = services.seen(name, 1);
        assert_eq!(after["argv"], before[i]["argv"], "{name}");
        assert_eq!(after["cwd"], before[i]["cwd"], "{name}");
        assert_eq!(after["env"], before[i]["env"], "{name}");
        assert_eq!(after["nice"], before[i]["nice"], "{name}");
    }
    let nice = |i: usize| before[i]["nice"].as_i64().unwrap();
    assert_eq!(nice(2), (nice(0) + 6).min(19));
    assert!(services.seen("second", 1)["env"]
        .get("NOT_RECORDED")
        .is_none());
    assert_eq!(services.node.status("resume-1-slave-1")["state"], "done");

    // Each is a live session leader again, under the PID in its PID file.
    let old = services.pids.clone();
    services.read_pids();
    for (name, pid) in &services.pids {
        assert_ne!(old[name], *pid);
        assert!(alive(*pid), "{name}");
    }
}

#[test]
fn resume_leaves_running_services_alone() {
    let mut services = LocalServices::deploy();
    services.node.script("svc", "hooks/resume.sh", "true");
    // SAFETY: kill(2) on a process group this test started.
    unsafe { libc::kill(-services.pids["second"], libc::SIGKILL) };
    wait_gone(services.pids["second"]);
    let output = services.resume("resume-2-slave-1", &[]);
    assert!(output.status.success(), "{}", services.node.logs(&output));
    services.wait_started(4);
    assert_eq!(services.started()[3..], ["second"]);
    let old = services.pids.clone();
    services.read_pids();
    assert_eq!(services.pids["first"], old["first"]);
    assert_eq!(services.pids["third"], old["third"]);
}

#[test]
fn a_stopped_service_is_gone_for_good_and_no_resume_starts_it_again() {
    let mut services = LocalServices::deploy();
    let node = &services.node;
    // `second` ignores SIGTERM: it is killed after the grace.
    node.script(
        "svc",
        "hooks/leave-slave.sh",
        "disco_stop_service second\ndisco_stop_service never-started",
    );
    let pid = services.pids["second"];
    let output = node
        .command(DRIVER, "local", &[("DISCO_STOP_GRACE", "1")])
        .env("DISCO_HOOK", "leave")
        .env("DISCO_HOOK_RUN", "leave-slave-1")
        .env("DISCO_HOOK_STEPS", "svc:leave-slave.sh")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", node.logs(&output));
    assert!(!alive(pid));
    assert!(node
        .read("var/log/disco/svc.log")
        .contains("second did not stop within 1 s: killing it"));
    assert!(alive(services.pids["first"]));
    assert_eq!(node.read("run/disco/services/order"), "first\nthird\n");
    assert!(!node.path("run/disco/services/second").exists());
    assert!(!node.path("run/disco/second.pid").exists());

    services.kill_all();
    node.script("svc", "hooks/resume.sh", "true");
    let output = services.resume("resume-3-slave-1", &[]);
    assert!(output.status.success(), "{}", services.node.logs(&output));
    services.wait_started(5);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(services.started()[3..], ["first", "third"]);
    services.read_pids();
    assert!(!services.pids.contains_key("second"));
}

#[test]
fn a_service_that_cannot_restart_fails_the_resume_with_a_reason() {
    let services = LocalServices::deploy();
    services.node.script("svc", "hooks/resume.sh", "true");
    services.kill_all();
    std::fs::remove_dir_all(services.node.path("run/disco/services/second")).unwrap();
    let output = services.resume("resume-4-slave-1", &[]);
    assert!(!output.status.success());
    let status = services.node.status("resume-4-slave-1");
    assert_eq!(status["state"], "failed");
    let reason = status["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot restart second: its record"),
        "{reason}"
    );
}

#[test]
fn a_pid_file_naming_another_process_is_not_taken_for_the_service() {
    let mut services = LocalServices::deploy();
    services.node.script("svc", "hooks/resume.sh", "true");
    services.kill_all();
    // A live process under the old PID file's name, as when the PID was reused.
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(
        services.node.path("run/disco/second.pid"),
        other.id().to_string(),
    )
    .unwrap();
    let output = services.resume("resume-5-slave-1", &[]);
    other.kill().ok();
    other.wait().ok();
    assert!(output.status.success(), "{}", services.node.logs(&output));
    services.wait_started(6);
    services.read_pids();
    assert_ne!(services.pids["second"], other.id() as i32);
}
