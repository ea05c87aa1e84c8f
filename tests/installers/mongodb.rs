use crate::sandbox::*;
use disco::frameworks::HookEvent;
use disco::frameworks::RawParam;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A password built to break whatever splices it into shell, YAML or JavaScript.
const HOSTILE: &str = "p4ss'\"$(touch /tmp/disco-pwned)`id`'); db.dropDatabase(); ('\\ ${HOME} %s";
const FINGERPRINT: &str = "4B0752C1BCA238C0B4EE14DC41DE058A4E7DCA05";

/// Commands that must never see the admin password in their environment.
const NO_PASSWORD: &[&str] = &[
    "apt-get", "curl", "gpg", "gpgconf", "chown", "mongod", "openssl",
];

/// A MongoDB sandbox: curl "downloads" a key, gpg exports it (or nothing when `key_matches` is
/// false), mongosh records the environment it was given, and every other stub records whether
/// it saw the password.
struct Mongo {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
}

impl Mongo {
    fn new(slaves: usize) -> Mongo {
        Mongo::with_key(slaves, true)
    }

    fn with_key(slaves: usize, key_matches: bool) -> Mongo {
        let mut sandbox = Sandbox::new(slaves);
        let dir = tempfile::tempdir().unwrap();
        let leaks = dir.path().join("leaks");
        let leak_check = format!(
            r#"[ -z "${{DISCO_MONGODB_ADMIN_PASSWORD+set}}" ] || echo "$DISCO_FRAMEWORK: ${{0##*/}}" >> "{}""#,
            leaks.display()
        );
        for program in NO_PASSWORD {
            sandbox.stub(program, &leak_check);
        }
        sandbox.stub(
            "systemctl",
            &format!("{leak_check}\n[ \"$1\" = is-active ] && exit 3; exit 0"),
        );
        sandbox.stub(
            "curl",
            &format!(
                "{leak_check}\nout=\"\"; prev=\"\"; for a in \"$@\"; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n\
                 [ -z \"$out\" ] || echo 'an armored key' > \"$out\""
            ),
        );
        let export = if key_matches {
            r#"for a in "$@"; do [ "$a" = --export ] && printf 'a binary keyring'; done; exit 0"#
        } else {
            "exit 0"
        };
        sandbox.stub("gpg", &format!("{leak_check}\n{export}"));
        let record = dir.path().join("mongosh");
        std::fs::create_dir_all(&record).unwrap();
        sandbox.stub(
            "mongosh",
            &format!(
                r#"printf '%s' "${{DISCO_MONGODB_ADMIN_PASSWORD-<unset>}}" > "{r}/password"
printf '%s' "${{DISCO_MONGODB_MEMBERS-<unset>}}" > "{r}/members"
printf '%s' "${{DISCO_MONGODB_REPLICA_SET-<unset>}}" > "{r}/replica_set"
for v in ADD REMOVE MEMBER_TIMEOUT; do
    var=DISCO_MONGODB_$v
    [ -z "${{!var+set}}" ] || printf '%s' "${{!var}}" > "{r}/$v"
done
[ ! -e "{r}/fail" ] || exit 1"#,
                r = record.display()
            ),
        );
        for node in 0..=slaves {
            sandbox.listen(node, 27017);
        }
        sandbox.listen(0, 8084);
        Mongo { sandbox, dir }
    }

    fn deploy(&self, node: usize, params: &[(&str, &str)], password: &str) -> Run {
        self.sandbox.deploy_with(
            node,
            &[("mongodb", params)],
            &[("DISCO_MONGODB_ADMIN_PASSWORD", password)],
        )
    }

    /// Runs the hook driver for `event` on node `node`, about the slaves `nodes`.
    fn hook(&self, node: usize, event: HookEvent, nodes: &[usize], params: &[(&str, &str)]) -> Run {
        let frameworks: &[(&str, &[(&str, &str)])] = &[("mongodb", params)];
        let password = [("DISCO_MONGODB_ADMIN_PASSWORD", HOSTILE)];
        self.sandbox.hook(node, frameworks, event, nodes, &password)
    }

    /// What the mongosh stub saw in its environment, if it ran.
    fn mongosh_saw(&self, variable: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("mongosh").join(variable)).ok()
    }

    /// The stubs the mongodb installers ran that saw the password in their environment. (The
    /// deploy driver gives every installer the cluster's generated secrets: base's commands
    /// see it too, which is not the mongodb installers' doing.)
    fn leaks(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("leaks"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("mongodb:"))
            .map(str::to_string)
            .collect()
    }
}

const NOBLE: &[(&str, &str)] = &[("ubuntu_codename", "noble")];

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The password is in no argument, no file under the node root, no log; no stub but mongosh had
/// it in its environment.
fn assert_password_kept(mongo: &Mongo, run: &Run, password: &str) {
    let fragments = [password, "dropDatabase", "disco-pwned"];
    for call in &run.calls {
        for fragment in fragments {
            assert!(
                !call.line().contains(fragment),
                "`{fragment}` is on a command line: {}",
                call.line()
            );
        }
    }
    for file in files_under(&run.root) {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for fragment in fragments {
            assert!(
                !content.contains(fragment),
                "`{fragment}` is in {}:\n{content}",
                file.display()
            );
        }
    }
    for fragment in fragments {
        assert!(!run.output.contains(fragment), "{}", run.output);
    }
    assert_eq!(
        mongo.leaks(),
        Vec::<String>::new(),
        "these commands saw the password"
    );
    assert!(!Path::new("/tmp/disco-pwned").exists());
}

#[test]
fn the_master_configures_mongod_and_initiates_the_replica_set_with_every_node() {
    let mongo = Mongo::new(2);
    let run = mongo.deploy(0, NOBLE, HOSTILE);
    assert!(run.success, "{}", run.output);
    let [master, slave1, slave2] = [0, 1, 2].map(|i| mongo.sandbox.addresses[i].to_string());
    let root = run.root.display().to_string();

    // MongoDB's repository, trusting only the key with the pinned fingerprint.
    run.assert_called("curl", &["https://pgp.mongodb.com/server-8.0.asc"]);
    run.assert_called("gpg", &["--export", FINGERPRINT]);
    let keyring = format!("{root}/etc/apt/keyrings/mongodb-server-8.0.gpg");
    assert_eq!(
        run.file("etc/apt/keyrings/mongodb-server-8.0.gpg"),
        "a binary keyring"
    );
    assert_eq!(
        run.file("etc/apt/sources.list.d/mongodb-org-8.0.list"),
        format!(
            "deb [ arch=amd64,arm64 signed-by={keyring} ] https://repo.mongodb.org/apt/ubuntu \
             noble/mongodb-org/8.0 multiverse\n"
        )
    );
    run.assert_called("apt-get", &["update"]);
    run.assert_called("apt-get", &["install", "mongodb-org"]);

    // mongod's configuration: its own address and loopback, the set, access control, keyfile.
    let conf = run.file("etc/mongod.conf");
    for part in [
        "  port: 27017\n".to_string(),
        format!("  bindIp: \"{master},127.0.0.1\"\n"),
        "replication:\n  replSetName: \"rs0\"\n".to_string(),
        "security:\n  authorization: enabled\n".to_string(),
        format!("  keyFile: \"{root}/etc/mongodb/keyfile\"\n"),
        format!("  dbPath: \"{root}/var/lib/mongodb\"\n"),
    ] {
        assert!(conf.contains(&part), "{part:?} not in\n{conf}");
    }
    let keyfile = run.root.join("etc/mongodb/keyfile");
    assert_eq!(mode(&keyfile), 0o400);
    let key = run.file("etc/mongodb/keyfile");
    assert!(
        key.trim().len() == 64 && key.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    run.assert_called("chown", &["mongodb:mongodb", "etc/mongodb/keyfile"]);
    run.assert_called("systemctl", &["enable", "--now", "mongod"]);

    // The replica set: every node, initiated by mongosh from a fixed script on the loopback.
    let setup = run.assert_called("mongosh", &["--file"]);
    assert!(
        setup
            .args
            .contains(&"mongodb://127.0.0.1:27017/admin?directConnection=true".to_string()),
        "{}",
        setup.line()
    );
    let script = setup.args.last().unwrap();
    assert!(
        script.ends_with("frameworks/mongodb/setup-replica-set.js"),
        "{script}"
    );
    assert_eq!(
        mongo.mongosh_saw("members").unwrap(),
        format!("{master}:27017 {slave1}:27017 {slave2}:27017")
    );
    assert_eq!(mongo.mongosh_saw("replica_set").unwrap(), "rs0");
    // The password arrived intact, through the environment only.
    assert_eq!(mongo.mongosh_saw("password").unwrap(), HOSTILE);
    assert_password_kept(&mongo, &run, HOSTILE);
}

#[test]
fn the_setup_script_reads_the_password_from_its_environment() {
    let script =
        std::fs::read_to_string(repo_root().join("frameworks/mongodb/setup-replica-set.js"))
            .unwrap();
    assert!(
        script.contains("const password = process.env.DISCO_MONGODB_ADMIN_PASSWORD"),
        "{script}"
    );
    assert!(script.contains("pwd: password"), "{script}");
    assert!(
        script.contains("process.env.DISCO_MONGODB_MEMBERS"),
        "{script}"
    );
    assert!(script.contains("rs.initiate(config)"), "{script}");
    assert!(script.contains("createUser("), "{script}");
}

#[test]
fn a_slave_runs_its_member_with_the_same_keyfile_and_leaves_the_set_to_the_master() {
    let mongo = Mongo::new(2);
    let master = mongo.deploy(0, NOBLE, HOSTILE);
    assert!(master.success, "{}", master.output);
    let run = mongo.deploy(1, NOBLE, HOSTILE);
    assert!(run.success, "{}", run.output);
    let me = mongo.sandbox.addresses[1].to_string();
    let conf = run.file("etc/mongod.conf");
    assert!(
        conf.contains(&format!("  bindIp: \"{me},127.0.0.1\"\n")),
        "{conf}"
    );
    assert!(conf.contains("  replSetName: \"rs0\"\n"), "{conf}");
    assert!(conf.contains("  authorization: enabled\n"), "{conf}");
    assert_eq!(
        run.file("etc/mongodb/keyfile"),
        master.file("etc/mongodb/keyfile"),
        "members need the same keyfile"
    );
    assert_eq!(mode(&run.root.join("etc/mongodb/keyfile")), 0o400);
    run.assert_called("systemctl", &["enable", "--now", "mongod"]);
    assert!(run.calls_to("mongosh").is_empty(), "{:?}", run.calls);
    assert_password_kept(&mongo, &run, HOSTILE);
}

#[test]
fn without_slaves_the_replica_set_has_the_master_alone() {
    let mongo = Mongo::new(0);
    let run = mongo.deploy(0, NOBLE, "s3cret");
    assert!(run.success, "{}", run.output);
    let master = mongo.sandbox.addresses[0];
    assert_eq!(
        mongo.mongosh_saw("members").unwrap(),
        format!("{master}:27017")
    );
}

#[test]
fn parameters_reach_the_configuration_and_the_setup() {
    let mongo = Mongo::new(1);
    let run = mongo.deploy(
        0,
        &[("ubuntu_codename", "jammy"), ("replica_set", "analytics-1")],
        "s3cret",
    );
    assert!(run.success, "{}", run.output);
    assert!(run
        .file("etc/mongod.conf")
        .contains("  replSetName: \"analytics-1\"\n"));
    assert!(run
        .file("etc/apt/sources.list.d/mongodb-org-8.0.list")
        .contains(" jammy/mongodb-org/8.0 "));
    assert_eq!(mongo.mongosh_saw("replica_set").unwrap(), "analytics-1");
}

#[test]
fn a_second_run_changes_nothing() {
    let mongo = Mongo::new(1);
    let first = mongo.deploy(0, NOBLE, HOSTILE);
    assert!(first.success, "{}", first.output);
    let conf = first.file("etc/mongod.conf");
    let key = first.file("etc/mongodb/keyfile");
    let modified = |run: &Run, f: &str| {
        std::fs::metadata(run.root.join(f))
            .unwrap()
            .modified()
            .unwrap()
    };
    let conf_time = modified(&first, "etc/mongod.conf");
    // Forget that the step finished, so the installer itself runs again.
    std::fs::remove_file(first.root.join("run/disco/done/mongodb")).unwrap();
    let second = mongo.deploy(0, NOBLE, HOSTILE);
    assert!(second.success, "{}", second.output);
    assert_eq!(second.file("etc/mongod.conf"), conf);
    assert_eq!(second.file("etc/mongodb/keyfile"), key);
    assert_eq!(modified(&second, "etc/mongod.conf"), conf_time);
    assert!(second.find("apt-get", &["update"]).is_none());
    assert!(second.calls_to("curl").is_empty(), "{:?}", second.calls);
    assert!(second.calls_to("gpg").is_empty(), "{:?}", second.calls);
    assert!(second.find("systemctl", &["restart"]).is_none());
    assert!(second.find("chown", &["keyfile"]).is_none());
    // The setup script runs again and finds the set and the user in place (its own check).
    second.assert_called("mongosh", &["--file"]);
}

#[test]
fn a_repository_key_with_another_fingerprint_is_refused() {
    let mongo = Mongo::with_key(1, false);
    let run = mongo.deploy(0, NOBLE, "s3cret");
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("is not the one with fingerprint {FINGERPRINT}")),
        "{reason}"
    );
    assert!(!run
        .root
        .join("etc/apt/sources.list.d/mongodb-org-8.0.list")
        .exists());
    assert!(run.find("apt-get", &["install", "mongodb-org"]).is_none());
}

#[test]
fn the_ubuntu_release_comes_from_the_nodes_os_release() {
    let mongo = Mongo::new(0);
    let run = mongo.deploy(0, &[], "s3cret");
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.contains("set the mongodb parameter ubuntu_codename"),
        "{reason}"
    );
    std::fs::create_dir_all(run.root.join("etc")).unwrap();
    std::fs::write(
        run.root.join("etc/os-release"),
        "NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n",
    )
    .unwrap();
    let run = mongo.deploy(0, &[], "s3cret");
    assert!(run.success, "{}", run.output);
    assert!(run
        .file("etc/apt/sources.list.d/mongodb-org-8.0.list")
        .contains(" noble/mongodb-org/8.0 "));
}

#[test]
fn on_debian_the_repository_is_mongodbs_debian_one() {
    let mongo = Mongo::new(0);
    let root_probe = mongo.deploy(0, &[], "s3cret");
    std::fs::create_dir_all(root_probe.root.join("etc")).unwrap();
    std::fs::write(
        root_probe.root.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    )
    .unwrap();
    let run = mongo.deploy(0, &[], "s3cret");
    assert!(run.success, "{}", run.output);
    let list = run.file("etc/apt/sources.list.d/mongodb-org-8.0.list");
    assert!(
        list.ends_with(" https://repo.mongodb.org/apt/debian bookworm/mongodb-org/8.0 main\n"),
        "{list}"
    );
}

#[test]
fn without_the_generated_password_the_installer_says_what_is_missing() {
    let mongo = Mongo::new(0);
    let run = mongo.deploy(0, NOBLE, "");
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(reason.contains("admin password"), "{reason}");
}

#[test]
fn hostile_replica_set_names_are_rejected_by_the_manifest() {
    let catalog = catalog();
    let mongodb = catalog.find("mongodb").unwrap();
    let declared = &mongodb.manifest.parameters["replica_set"];
    for good in ["rs0", "analytics_2024-a"] {
        assert!(declared.parse(RawParam::Text(good)).is_ok(), "{good}");
    }
    for hostile in [
        "rs0\"; db.dropDatabase(); \"",
        "rs0'); db.dropDatabase(); ('",
        "rs0\nsecurity:\n  authorization: disabled",
        "$(reboot)",
        "`id`",
        "rs 0",
        "",
        &"r".repeat(65),
    ] {
        let error = declared.parse(RawParam::Text(hostile)).unwrap_err();
        assert!(error.contains("must match"), "{hostile:?}: {error}");
    }
    assert!(mongodb.manifest.generated.contains_key("admin_password"));
    assert_eq!(
        mongodb.parameter_env("admin_password"),
        "DISCO_MONGODB_ADMIN_PASSWORD"
    );
    let port = &mongodb.manifest.parameters["port"];
    assert!(port.parse(RawParam::Text("27017; rm -rf /")).is_err());
    assert!(mongodb.manifest.ports.iter().any(|p| p.port == 27017));
}

/// Runs the local check with only `tools` (stubs) on PATH.
fn local_check(tools: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for tool in tools {
        let path = dir.path().join(tool);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let output = Command::new("/bin/bash")
        .arg(repo_root().join("frameworks/mongodb/local-check.sh"))
        .env_clear()
        .env("PATH", dir.path())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

#[test]
fn the_local_backend_refuses_mongodb_without_mongod_and_mongosh() {
    let declared = catalog();
    let mongodb = declared.find("mongodb").unwrap();
    assert_eq!(
        mongodb.manifest.local.check.as_deref(),
        Some("local-check.sh")
    );
    assert_eq!(
        local_check(&[]),
        (
            false,
            "mongod is not installed on this machine; the local backend cannot run MongoDB"
                .to_string()
        )
    );
    let (ok, said) = local_check(&["mongod"]);
    assert!(!ok);
    assert!(said.starts_with("mongosh is not installed"), "{said}");
    assert_eq!(local_check(&["mongod", "mongosh"]), (true, String::new()));
}

#[test]
fn joining_slaves_are_added_by_a_fixed_script_that_gets_every_value_as_data() {
    let mongo = Mongo::new(3);
    let [master, s2, s3] = [0, 2, 3].map(|i| mongo.sandbox.addresses[i].to_string());
    let run = mongo.hook(0, HookEvent::Join, &[2, 3], &[]);
    assert!(run.success, "{}", run.output);
    let change = run.assert_called("mongosh", &["--file"]);
    let script = repo_root().join("frameworks/mongodb/hooks/change-members.js");
    assert_eq!(
        change.args,
        [
            "--quiet",
            "--norc",
            &format!("mongodb://{master}:27017/admin?replicaSet=rs0"),
            "--file",
            &script.display().to_string()
        ]
    );
    assert_eq!(
        mongo.mongosh_saw("ADD").unwrap(),
        format!("{s2}:27017 {s3}:27017")
    );
    assert_eq!(mongo.mongosh_saw("REMOVE").unwrap(), "");
    assert_eq!(mongo.mongosh_saw("MEMBER_TIMEOUT").unwrap(), "3600");
    assert_eq!(mongo.mongosh_saw("password").unwrap(), HOSTILE);
    assert_password_kept(&mongo, &run, HOSTILE);
}

#[test]
fn leaving_slaves_are_removed_from_the_replica_set_with_the_chosen_port_and_set() {
    let mongo = Mongo::new(3);
    let [master, s2, s3] = [0, 2, 3].map(|i| mongo.sandbox.addresses[i].to_string());
    let params = [
        ("port", "27018"),
        ("replica_set", "analytics_2"),
        ("member_timeout", "60"),
    ];
    let run = mongo.hook(0, HookEvent::Leave, &[3, 2], &params);
    assert!(run.success, "{}", run.output);
    run.assert_called(
        "mongosh",
        &[&format!(
            "mongodb://{master}:27018/admin?replicaSet=analytics_2"
        )],
    );
    assert_eq!(
        mongo.mongosh_saw("REMOVE").unwrap(),
        format!("{s3}:27018 {s2}:27018")
    );
    assert_eq!(mongo.mongosh_saw("ADD").unwrap(), "");
    assert_eq!(mongo.mongosh_saw("MEMBER_TIMEOUT").unwrap(), "60");
    assert_password_kept(&mongo, &run, HOSTILE);
}

#[test]
fn a_change_mongosh_refuses_fails_the_hook_with_a_reason() {
    let mongo = Mongo::new(1);
    std::fs::write(mongo.dir.path().join("mongosh/fail"), "").unwrap();
    let run = mongo.hook(0, HookEvent::Join, &[1], &[]);
    assert!(!run.success);
    assert_eq!(run.status["state"], "failed");
    assert_eq!(
        run.status["reason"],
        "changing the members of replica set rs0 failed (mongosh's output is in mongodb.log)"
    );
}

#[test]
fn a_leaving_slave_stops_mongod_for_good() {
    let mongo = Mongo::new(2);
    let run = mongo.hook(2, HookEvent::Leave, &[2], &[]);
    assert!(run.success, "{}", run.output);
    let stop = run.assert_called("systemctl", &["disable"]);
    assert_eq!(stop.args, ["disable", "--now", "mongod"]);
    assert!(run.calls_to("mongosh").is_empty());
}

/// Runs change-members.js with Node.js (mongosh is a Node.js shell) against a simulated
/// replica set: `scenario` gives its members, the primary, the password and the environment.
/// Returns what the script did and the members at the end.
fn simulate(scenario: serde_json::Value) -> serde_json::Value {
    const HARNESS: &str = r#"
const vm = require('vm');
const fs = require('fs');
const sc = JSON.parse(process.argv[2]);
let members = sc.members.map((m) => Object.assign({ votes: 1, looks: 0 }, m));
let primary = sc.primary;
let failures = sc.failures || 0;
const calls = [];
const rs = {
  conf: () => ({ members: members.map((m) => ({ host: m.host, votes: m.votes, priority: m.priority })) }),
  status: () => {
    for (const m of members) {
      if (m.state === 'STARTUP2' && !m.stuck && ++m.looks > 2) m.state = 'SECONDARY';
    }
    return { members: members.map((m) => ({ name: m.host, stateStr: m.state })) };
  },
  add: (m) => {
    calls.push(['add', m]);
    if (failures > 0) { failures--; throw new Error('ConfigurationInProgress'); }
    members.push(Object.assign({ votes: 1, state: 'STARTUP2', looks: 0, stuck: sc.stuck === m.host }, m));
  },
  remove: (host) => {
    calls.push(['remove', host]);
    if (host === primary) throw new Error('a primary cannot remove itself');
    members = members.filter((m) => m.host !== host);
  },
};
const db = {
  getSiblingDB: (name) => ({
    auth: (user, pwd) => {
      calls.push(['auth', name, user]);
      if (pwd !== sc.password) throw new Error('Authentication failed.');
      return { ok: 1 };
    },
  }),
  hello: () => ({ primary: primary }),
  adminCommand: (command) => {
    calls.push(['adminCommand', command]);
    if (command.replSetStepDown) primary = members.find((m) => m.host !== primary).host;
    return { ok: 1 };
  },
};
const context = vm.createContext({
  db, rs, print: (line) => calls.push(['print', line]), sleep: () => {}, process: { env: sc.env },
});
let error = null;
try {
  vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
} catch (e) {
  error = e.message;
}
console.log(JSON.stringify({ error, calls, primary,
  members: members.map((m) => ({ host: m.host, votes: m.votes, priority: m.priority, state: m.state })) }));
"#;
    let script = repo_root().join("frameworks/mongodb/hooks/change-members.js");
    let output = Command::new("node")
        .args(["-e", HARNESS, "--"])
        .arg(&script)
        .arg(scenario.to_string())
        .output()
        .expect("these tests need Node.js (`node`), the runtime mongosh is built on");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn set_of(hosts: &[&str]) -> serde_json::Value {
    serde_json::Value::Array(
        hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let state = if i == 0 { "PRIMARY" } else { "SECONDARY" };
                serde_json::json!({"host": h, "state": state})
            })
            .collect(),
    )
}

fn calls_named(result: &serde_json::Value, name: &str) -> Vec<serde_json::Value> {
    result["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c[0] == name)
        .map(|c| c[1].clone())
        .collect()
}

#[test]
fn change_members_js_adds_each_member_until_it_is_secondary_and_only_once() {
    let scenario = |members: serde_json::Value| {
        serde_json::json!({
            "members": members, "primary": "m:27017", "password": HOSTILE, "failures": 1,
            "env": {"DISCO_MONGODB_ADMIN_PASSWORD": HOSTILE,
                    "DISCO_MONGODB_ADD": "s2:27017 s3:27017", "DISCO_MONGODB_MEMBER_TIMEOUT": "5"}
        })
    };
    let result = simulate(scenario(set_of(&["m:27017", "s1:27017"])));
    assert_eq!(result["error"], serde_json::Value::Null, "{result}");
    assert_eq!(calls_named(&result, "auth"), ["admin"]);
    // The first add is refused once (a reconfiguration in progress) and tried again.
    assert_eq!(
        calls_named(&result, "add"),
        [
            serde_json::json!({"host": "s2:27017"}),
            serde_json::json!({"host": "s2:27017"}),
            serde_json::json!({"host": "s3:27017"})
        ]
    );
    let members = result["members"].as_array().unwrap();
    assert_eq!(members.len(), 4);
    assert!(members[2..]
        .iter()
        .all(|m| m["state"] == "SECONDARY" && m["votes"] == 1));

    // Run again (after a crash): nothing is added twice.
    let again = simulate(scenario(result["members"].clone()));
    assert_eq!(again["error"], serde_json::Value::Null, "{again}");
    assert!(calls_named(&again, "add").is_empty());
}

#[test]
fn change_members_js_adds_members_beyond_seven_voters_without_a_vote() {
    let hosts: Vec<String> = (0..7).map(|i| format!("n{i}:27017")).collect();
    let refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let result = simulate(serde_json::json!({
        "members": set_of(&refs), "primary": "n0:27017", "password": "pw",
        "env": {"DISCO_MONGODB_ADMIN_PASSWORD": "pw", "DISCO_MONGODB_ADD": "n7:27017",
                "DISCO_MONGODB_MEMBER_TIMEOUT": "5"}
    }));
    assert_eq!(result["error"], serde_json::Value::Null, "{result}");
    assert_eq!(
        calls_named(&result, "add"),
        [serde_json::json!({"host": "n7:27017", "priority": 0, "votes": 0})]
    );
}

#[test]
fn change_members_js_removes_members_and_a_leaving_primary_steps_down_first() {
    let result = simulate(serde_json::json!({
        "members": set_of(&["s2:27017", "m:27017", "s1:27017"]), "primary": "s2:27017",
        "password": "pw",
        "env": {"DISCO_MONGODB_ADMIN_PASSWORD": "pw",
                "DISCO_MONGODB_REMOVE": "s2:27017 gone:27017", "DISCO_MONGODB_MEMBER_TIMEOUT": "5"}
    }));
    assert_eq!(result["error"], serde_json::Value::Null, "{result}");
    assert_eq!(
        calls_named(&result, "adminCommand"),
        [serde_json::json!({"replSetStepDown": 60})]
    );
    // Not a member (any more): nothing to remove.
    assert_eq!(calls_named(&result, "remove"), ["s2:27017"]);
    let left: Vec<&str> = result["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["host"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["m:27017", "s1:27017"]);
}

#[test]
fn change_members_js_gives_up_after_the_timeout_and_says_on_what() {
    let result = simulate(serde_json::json!({
        "members": set_of(&["m:27017"]), "primary": "m:27017", "password": "pw",
        "stuck": "s1:27017",
        "env": {"DISCO_MONGODB_ADMIN_PASSWORD": "pw", "DISCO_MONGODB_ADD": "s1:27017",
                "DISCO_MONGODB_MEMBER_TIMEOUT": "1"}
    }));
    assert_eq!(
        result["error"],
        "timed out after 1 s waiting for s1:27017 to be SECONDARY (its initial sync)"
    );
    let wrong = simulate(serde_json::json!({
        "members": set_of(&["m:27017"]), "primary": "m:27017", "password": "pw",
        "env": {"DISCO_MONGODB_ADMIN_PASSWORD": "not-pw", "DISCO_MONGODB_ADD": "s1:27017"}
    }));
    assert_eq!(wrong["error"], "Authentication failed.");
    assert!(calls_named(&wrong, "add").is_empty());
}
