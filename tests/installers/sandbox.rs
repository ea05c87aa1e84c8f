//! A sandbox that runs a node's real deploy driver and installers with the `cloud` profile, as
//! on a VM, except that the commands a VM would run to change the machine (apt-get, systemctl,
//! curl, docker, …) are stubs that record their arguments. Files land under the sandbox's node
//! root. Ports an installer waits for are real listening sockets on a loopback address.

use disco::cluster::ClusterSpec;
use disco::frameworks::{Catalog, HookEvent, ParamValue};
use disco::plan::{ClusterPlan, NodePlan};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Commands stubbed by default: they record their arguments and succeed.
const STUBS: &[&str] = &[
    "apt-get",
    "systemctl",
    "systemd-run",
    "curl",
    "docker",
    "mongosh",
    "mongod",
    "java",
    "tar",
    "useradd",
    "chown",
    "runuser",
    "su",
    "sudo",
    "pip3",
    "pip",
    "jupyter",
    "hdfs",
    "yarn",
    "ssh-keygen",
    "openssl",
];

/// The `tar` stub: "unpacks" a stand-in Spark, Hadoop or Zeppelin release into `-C DIR`.
const RELEASE_TAR: &str = r#"dir=""; prev=""
for a in "$@"; do [ "$prev" = -C ] && dir=$a; prev=$a; done
case "$dir" in
    */spark-*)
        mkdir -p "$dir/bin"
        printf '#!/bin/sh\n' > "$dir/bin/spark-class"; chmod +x "$dir/bin/spark-class" ;;
    */hadoop-*)
        mkdir -p "$dir/bin" "$dir/etc/hadoop"
        printf '#!/bin/sh\n' > "$dir/bin/hdfs"; printf '#!/bin/sh\n' > "$dir/bin/yarn"
        chmod +x "$dir/bin/hdfs" "$dir/bin/yarn"
        printf '<configuration/>\n' > "$dir/etc/hadoop/capacity-scheduler.xml" ;;
    */zeppelin-*)
        mkdir -p "$dir/bin" "$dir/conf"
        printf '#!/bin/sh\n' > "$dir/bin/zeppelin.sh"; chmod +x "$dir/bin/zeppelin.sh"
        printf 'rootLogger.level = INFO\n' > "$dir/conf/log4j2.properties" ;;
esac"#;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn catalog() -> Catalog {
    Catalog::load(&repo_root().join("frameworks")).expect("the shipped catalog loads")
}

/// One recorded command: its name and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub program: String,
    pub args: Vec<String>,
}

impl Call {
    /// The whole command line, for substring checks.
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The outcome of running one node's deployment.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub output: String,
    pub calls: Vec<Call>,
    pub root: PathBuf,
    pub status: serde_json::Value,
}

impl Run {
    pub fn calls_to(&self, program: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.program == program).collect()
    }

    /// The first call to `program` whose command line contains every one of `parts`.
    pub fn find(&self, program: &str, parts: &[&str]) -> Option<&Call> {
        self.calls_to(program).into_iter().find(|c| {
            parts
                .iter()
                .all(|p| c.args.iter().any(|a| a.contains(p)) || c.line().contains(p))
        })
    }

    pub fn assert_called(&self, program: &str, parts: &[&str]) -> &Call {
        self.find(program, parts).unwrap_or_else(|| {
            panic!(
                "no `{program}` call with {parts:?}; calls were:\n{}\noutput:\n{}",
                self.calls
                    .iter()
                    .map(Call::line)
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.output
            )
        })
    }

    /// The node failed in `framework` because a download did not match its checksum, and the
    /// unverified tarball was never unpacked.
    pub fn assert_download_refused(&self, framework: &str) {
        assert!(!self.success, "{}", self.output);
        assert_eq!(self.status["state"], "failed");
        assert_eq!(self.status["current"], framework);
        let reason = self.status["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("does not have the expected checksum"),
            "{reason}"
        );
        let tarball = format!("/opt/disco/downloads/{framework}-");
        assert!(
            self.find("tar", &[&tarball]).is_none(),
            "an unverified tarball was unpacked"
        );
    }

    /// `curl` received `url` as one argument, byte for byte.
    pub fn assert_curl_got(&self, url: &str) {
        assert!(
            self.calls_to("curl")
                .iter()
                .any(|c| c.args.iter().any(|a| a == url)),
            "curl did not get {url} verbatim: {:?}",
            self.calls_to("curl")
        );
    }

    /// A file the installers wrote, relative to the node root (`etc/...`).
    pub fn file(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root.join(relative))
            .unwrap_or_else(|e| panic!("{relative}: {e}\noutput:\n{}", self.output))
    }

    /// The systemd unit disco wrote for a service.
    pub fn unit(&self, service: &str) -> String {
        self.file(&format!("etc/systemd/system/disco-{service}.service"))
    }
}

pub struct Sandbox {
    dir: tempfile::TempDir,
    /// Loopback addresses of the cluster's nodes: master first.
    pub addresses: Vec<Ipv4Addr>,
    listeners: Vec<TcpListener>,
}

impl Sandbox {
    /// A sandbox for a cluster of one master and `slaves` slaves.
    pub fn new(slaves: usize) -> Sandbox {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = [127, 200 + (std::process::id() % 50) as u8, (n % 250) as u8];
        let addresses = (0..=slaves)
            .map(|i| Ipv4Addr::new(base[0], base[1], base[2], i as u8 + 1))
            .collect();
        let sandbox = Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            addresses,
            listeners: Vec::new(),
        };
        std::fs::create_dir_all(sandbox.bin()).unwrap();
        for stub in STUBS {
            sandbox.stub(stub, "");
        }
        // Unpacking a release tarball yields the files the installers look for.
        sandbox.stub("tar", RELEASE_TAR);
        // A fresh VM: no disco service is active yet.
        sandbox.stub("systemctl", r#"[ "$1" = is-active ] && exit 3; exit 0"#);
        sandbox
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// Replaces a stub: `behaviour` is bash run after the call is recorded (it sees "$@").
    pub fn stub(&self, program: &str, behaviour: &str) {
        let path = self.bin().join(program);
        let script = format!(
            "#!/usr/bin/env bash\n\
             {{ printf '%s' \"${{0##*/}}\"; for a in \"$@\"; do printf '\\x1f%s' \"$a\"; done; printf '\\x1e'; }} >> \"$DISCO_STUB_LOG\"\n\
             {behaviour}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }

    /// Something listening on `address:port`, for installers that wait for a service.
    pub fn listen(&mut self, node: usize, port: u16) {
        let listener = TcpListener::bind((self.addresses[node], port))
            .unwrap_or_else(|e| panic!("cannot listen on {}:{port}: {e}", self.addresses[node]));
        self.listeners.push(listener);
    }

    /// Runs the deployment of node `node` (0 = master) for a cluster with these frameworks and
    /// parameters, exactly as a VM's user data would run it.
    pub fn deploy(&self, node: usize, frameworks: &[(&str, &[(&str, &str)])]) -> Run {
        self.deploy_with(node, frameworks, &[])
    }

    pub fn deploy_with(
        &self,
        node: usize,
        frameworks: &[(&str, &[(&str, &str)])],
        extra_env: &[(&str, &str)],
    ) -> Run {
        self.drive(node, frameworks, extra_env, None)
    }

    /// Runs the hook driver (`lib/hooks/driver.sh`) on node `node` after a cluster change about the
    /// slaves `about` (DISCO_HOOK_NODES), as a new run (its own DISCO_HOOK_RUN), with the steps
    /// disco would give it: each chosen framework's script for this event and the node's role,
    /// in install order (reverse install order for `leave`).
    pub fn hook(
        &self,
        node: usize,
        frameworks: &[(&str, &[(&str, &str)])],
        event: HookEvent,
        about: &[usize],
        extra_env: &[(&str, &str)],
    ) -> Run {
        let nodes = about
            .iter()
            .map(|&i| format!("slave-{i}={}", self.addresses[i]))
            .collect::<Vec<_>>()
            .join(" ");
        let run = format!(
            "{}-{}-node-{node}",
            event.as_str(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let hook = HookRun { event, run, nodes };
        self.drive(node, frameworks, extra_env, Some(&hook))
    }

    /// Deploys node `node`, which must succeed, then runs its hooks like [`Sandbox::hook`].
    pub fn deploy_then_hook(
        &self,
        node: usize,
        frameworks: &[(&str, &[(&str, &str)])],
        event: HookEvent,
        about: &[usize],
    ) -> Run {
        let deployed = self.deploy(node, frameworks);
        assert!(deployed.success, "{}", deployed.output);
        self.hook(node, frameworks, event, about, &[])
    }

    /// The root directory of node `node` (0 = master).
    pub fn root(&self, node: usize) -> PathBuf {
        let name = if node == 0 {
            "master".to_string()
        } else {
            format!("slave-{node}")
        };
        self.dir.path().join(format!("root-{name}"))
    }

    fn drive(
        &self,
        node: usize,
        frameworks: &[(&str, &[(&str, &str)])],
        extra_env: &[(&str, &str)],
        hook: Option<&HookRun>,
    ) -> Run {
        let catalog = catalog();
        let spec = ClusterSpec {
            title: None,
            summary: None,
            slave_count: (self.addresses.len() - 1) as u32,
            infrastructure: BTreeMap::new(),
            region: None,
            deployer_username: None,
            ssh_public_key: None,
            lifetime: None,
            power: Default::default(),
            frameworks: frameworks
                .iter()
                .map(|(name, params)| {
                    let framework = catalog.find(name).expect("framework in catalog");
                    let typed = params
                        .iter()
                        .map(|(k, v)| {
                            let declared =
                                framework.manifest.parameters.get(*k).expect("parameter");
                            let value = declared
                                .parse(disco::frameworks::RawParam::Text(v))
                                .unwrap_or_else(|e| panic!("{name}.{k}: {e}"));
                            (k.to_string(), value)
                        })
                        .collect::<BTreeMap<String, ParamValue>>();
                    (name.to_string(), typed)
                })
                .collect(),
        };
        let plan = ClusterPlan::build(uuid::Uuid::nil(), &spec, &catalog).expect("plan");
        let node_plan = &plan.nodes[node];
        let root = self.dir.path().join(format!("root-{}", node_plan.name));
        assert_eq!(root, self.root(node));
        std::fs::create_dir_all(&root).unwrap();
        let _ = std::fs::remove_file(self.log_file());
        let frameworks_dir = repo_root().join("frameworks");
        let slaves: Vec<String> = self.addresses[1..].iter().map(|a| a.to_string()).collect();
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin().display());
        let driver = if hook.is_some() {
            "hooks/driver.sh"
        } else {
            "deploy.sh"
        };
        let mut command = Command::new("bash");
        command
            .arg(frameworks_dir.join("lib").join(driver))
            .current_dir(&root)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &root)
            .env("LANG", "C.UTF-8")
            .env("DISCO_STUB_LOG", self.log_file())
            .env("DISCO_PROFILE", "cloud")
            .env("DISCO_NODE_ROOT", &root)
            .env("DISCO_NODE_NAME", &node_plan.name)
            .env("DISCO_ROLE", node_plan.role.as_str())
            .env("DISCO_NODE_ADDR", self.addresses[node].to_string())
            .env("DISCO_MASTER_ADDR", self.addresses[0].to_string())
            .env("DISCO_SLAVE_ADDRS", slaves.join(" "))
            .env("DISCO_NODE_COUNT", self.addresses.len().to_string())
            .env("DISCO_FRAMEWORKS_DIR", &frameworks_dir)
            .env("DISCO_LIB", frameworks_dir.join("lib"))
            .env("DISCO_STEPS", node_plan.steps_value())
            .env("DISCO_FRAMEWORKS", plan.frameworks_value())
            .env("DISCO_SECRET_VARS", &plan.secret_vars)
            .envs(plan.environment.iter().map(|(k, v)| (k, v)))
            .envs(plan.secret_environment.iter().map(|(k, v)| (k, v.expose())));
        if let Some(hook) = hook {
            command
                .env("DISCO_HOOK", hook.event.as_str())
                .env("DISCO_HOOK_RUN", &hook.run)
                .env(
                    "DISCO_HOOK_STEPS",
                    hook_steps(&catalog, node_plan, hook.event),
                )
                .env("DISCO_HOOK_NODES", &hook.nodes);
        }
        let output = command
            .envs(extra_env.iter().copied())
            .output()
            .expect("run the driver");
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        for log in ["deployment.log", "deploy.log"] {
            if let Ok(content) = std::fs::read_to_string(root.join("var/log/disco").join(log)) {
                text.push_str(&content);
            }
        }
        for framework in &plan.frameworks {
            if let Ok(content) =
                std::fs::read_to_string(root.join(format!("var/log/disco/{framework}.log")))
            {
                text.push_str(&content);
            }
        }
        let (status_file, finished) = match hook {
            Some(hook) => (format!("run/disco/hooks/{}.json", hook.run), "done"),
            None => ("var/log/disco/status.json".to_string(), "ready"),
        };
        let status = std::fs::read_to_string(root.join(status_file))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null);
        Run {
            success: output.status.success() && status["state"] == finished,
            output: text,
            calls: read_calls(&self.log_file()),
            root,
            status,
        }
    }
}

/// A run of the hook driver.
struct HookRun {
    event: HookEvent,
    /// DISCO_HOOK_RUN.
    run: String,
    /// DISCO_HOOK_NODES.
    nodes: String,
}

/// DISCO_HOOK_STEPS for a node: its frameworks' scripts for `event` and its role, in install
/// order, reversed for `leave`.
pub fn hook_steps(catalog: &Catalog, node: &NodePlan, event: HookEvent) -> String {
    let mut steps: Vec<String> = node
        .steps
        .iter()
        .filter_map(|step| {
            let framework = catalog.find(&step.framework).ok()?;
            let script = framework.manifest.hooks.get(&event)?.get(&node.role)?;
            Some(format!("{}:{script}", step.framework))
        })
        .collect();
    if event == HookEvent::Leave {
        steps.reverse();
    }
    steps.join(" ")
}

/// The stubs' records in `log` (fields 0x1f, records 0x1e).
pub fn read_calls(log: &Path) -> Vec<Call> {
    let bytes = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .split('\u{1e}')
        .filter(|record| !record.is_empty())
        .map(|record| {
            let mut fields = record.split('\u{1f}').map(str::to_string);
            Call {
                program: fields.next().unwrap_or_default(),
                args: fields.collect(),
            }
        })
        .collect()
}

/// SHA-256 of `bytes` as lowercase hex, via the machine's sha256sum.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, bytes).unwrap();
    let output = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
