//! A node built from what `disco plan` would send to Heat, end to end: every free-text
//! attribute of the request is hostile, the node's files are written the way Heat and
//! cloud-init would write them (templates' `write_files`, resolved like Heat resolves them),
//! and the node runs the real boot script and installers with the sandbox's recording stubs.
//!
//! What this proves: no attribute value is ever code. Markers that any hostile value would
//! create if a shell, Tera, Jinja or YAML ever evaluated it stay absent; the values reach the
//! installers byte for byte; images, flavors and network names are Heat parameters for Nova
//! and Neutron only; the `shell` framework's command (a command by design) runs exactly once,
//! exactly as given; and the template's structure is the same for every request.

use crate::sandbox::*;
use base64::Engine;
use disco::cluster::attributes::{COMPONENTS_PREFIX, INFRASTRUCTURE};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const INJECT: &str = "icclab.disco.dependencies.inject";
const SLAVECOUNT: &str = "icclab.disco.components.heat.slavecount";
/// The frameworks of every request here: free-text parameters (shell's command, jupyter's
/// password), a pattern that admits shell metacharacters (spark's download URL), and both roles.
const FRAMEWORKS: &str = "{'shell': '', 'spark': '', 'jupyter': ''}";
/// What the download stub serves; the request's spark.sha256 is its checksum.
const TARBALL: &[u8] = b"a stand-in for a Spark release";
/// Heat's wait condition handles as cloud-init would see them.
const MASTER_SIGNAL: &str =
    "https://heat.example.org:8004/v1/tenant/stacks/disco-plan/master_wait_handle/signal";
const SLAVE_SIGNAL: &str =
    "https://heat.example.org:8004/v1/tenant/stacks/disco-plan-slaves-0/wait_handle/signal";
const SIGNAL_TOKEN: &str = "gAAAAA-heat-wait-handle-token";
/// Ports a master's installers wait for: base's log server, Spark's master and history
/// server, JupyterLab.
const MASTER_PORTS: [u16; 4] = [8084, 7077, 18080, 8888];
/// Longest a node's boot may take before the test gives up on it.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

/// A value built to do harm wherever it is evaluated instead of kept as data: quotes, command
/// substitution, backticks, command separators, Tera/Jinja, YAML tags, anchors and merge keys,
/// Heat's `%index%` and disco's `INDEX` placeholder, an environment reference, a backslash,
/// an option-like word and non-ASCII text. Every command in it would create `marker`, or
/// `pwned` in the current directory. `tag` makes each value findable on its own.
fn hostile(tag: &str, marker: &Path) -> String {
    let m = marker.display();
    format!(
        "{tag} q' dq\" $(touch {m}) `touch {m}` ; touch {m} && touch pwned | touch {m} \
         {{{{ 7*7 }}}} {{% raw %}}{{% endraw %}} !!python/object/apply:os.system [\"touch {m}\"] \
         &anchor *alias <<: *alias %index% INDEX ${{HOME}} $HOME \\ \\n -- --help ü 日本 🚀"
    )
}

/// `value` as one single-quoted bash word.
fn bash_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The Heat parameter each infrastructure attribute becomes.
fn heat_parameter(short: &str) -> &'static str {
    match short {
        "masterimage" => "master_image",
        "slaveimage" => "slave_image",
        "masterflavor" => "master_flavor",
        "slaveflavor" => "slave_flavor",
        "networkname" => "network_name",
        "externalnetworkname" => "external_network",
        other => {
            panic!("infrastructure attribute {other} is new: say which Heat parameter it becomes")
        }
    }
}

/// A create request, as `disco plan -a NAME=VALUE` flags.
struct Request {
    /// Where the hostile values' commands would create their markers.
    markers: tempfile::TempDir,
    attributes: Vec<(String, String)>,
    /// Free-text attributes that must never reach a node: title, summary, images, flavors,
    /// network names, the deployer's credentials and region.
    not_for_nodes: BTreeMap<String, String>,
    shell_payload: String,
    shell_command: String,
    jupyter_password: String,
    spark_url: String,
}

impl Request {
    fn hostile(slaves: u32) -> Request {
        let markers = tempfile::tempdir().unwrap();
        let dir = markers.path().to_path_buf();
        let value = |tag: &str| hostile(&format!("HOSTILE-{tag}"), &dir.join(tag));
        let mut not_for_nodes = BTreeMap::new();
        for name in [
            "occi.core.title",
            "occi.core.summary",
            "icclab.disco.deployer.username",
            "icclab.disco.deployer.password",
            "icclab.disco.deployer.region",
        ] {
            not_for_nodes.insert(name.to_string(), value(name));
        }
        for (short, _) in INFRASTRUCTURE {
            not_for_nodes.insert(format!("{COMPONENTS_PREFIX}heat.{short}"), value(short));
        }
        let shell_payload = value("shell");
        // A command by design: it records the words it was given and the variable it came in.
        let shell_command = format!(
            "printf '%s\\n' {} >> shell-ran; printf '%s' \"$DISCO_SHELL_COMMAND\" > shell-saw",
            bash_quote(&shell_payload)
        );
        // Newlines and tabs are fine in a password (and in a command); only text attributes
        // refuse control characters.
        let jupyter_password = format!("{}\n\tsecond line", value("jupyter"));
        // Everything spark.download_url's pattern admits that a shell would act on.
        let m = dir.join("spark");
        let m = m.display();
        let spark_url = format!(
            "https://mirror.example.org/HOSTILE-spark/q'$(touch${{IFS}}{m})'/;touch${{IFS}}{m};\
             /&touch${{IFS}}{m}&/*/{{{{7*7}}}}/{{%raw%}}/!!python/object/apply:os.system/\
             %index%/INDEX/$HOME/spark-{{version}}/spark-{{version}}-bin.tgz?x=1&y=(2)#z"
        );
        let mut attributes: Vec<(String, String)> = not_for_nodes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        attributes.extend(
            [
                (INJECT, FRAMEWORKS.to_string()),
                (SLAVECOUNT, slaves.to_string()),
                (
                    "icclab.disco.components.shell.command",
                    shell_command.clone(),
                ),
                (
                    "icclab.disco.components.jupyter.password",
                    jupyter_password.clone(),
                ),
                (
                    "icclab.disco.components.spark.download_url",
                    spark_url.clone(),
                ),
                ("icclab.disco.components.spark.sha256", sha256_hex(TARBALL)),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        Request {
            markers,
            attributes,
            not_for_nodes,
            shell_payload,
            shell_command,
            jupyter_password,
            spark_url,
        }
    }

    /// The same attributes with harmless values.
    fn benign(slaves: u32) -> Vec<(String, String)> {
        let hostile = Request::hostile(slaves);
        hostile
            .attributes
            .iter()
            .map(|(name, value)| {
                let value = match name.as_str() {
                    INJECT | SLAVECOUNT => value.clone(),
                    "icclab.disco.components.spark.sha256" => value.clone(),
                    "icclab.disco.components.spark.download_url" => {
                        "https://mirror.example.org/spark-{version}.tgz".to_string()
                    }
                    "icclab.disco.components.shell.command" => "true".to_string(),
                    _ => "plain".to_string(),
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// Fails unless no hostile value's command ran: no marker, no `pwned` anywhere under `dirs`.
    fn assert_no_marker(&self, dirs: &[&Path]) {
        let made: Vec<_> = std::fs::read_dir(self.markers.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(made.is_empty(), "hostile values ran commands: {made:?}");
        for dir in dirs {
            let pwned = files_under(dir)
                .into_iter()
                .filter(|p| p.file_name().is_some_and(|n| n == "pwned"))
                .collect::<Vec<_>>();
            assert!(
                pwned.is_empty(),
                "a hostile value ran `touch pwned`: {pwned:?}"
            );
        }
    }
}

/// Runs `disco plan --output json` with these attributes; the cluster network is
/// 127.<octet>.0.0/16, so the nodes' addresses are loopback addresses the test can serve.
fn plan(octet: u8, attributes: &[(String, String)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sm.cfg");
    let root = repo_root();
    std::fs::write(
        &config,
        format!(
            "[frameworks]\ndir = {}\n\n[openstack]\ntemplates_dir = {}\nnetwork_cidr = 127.{octet}.0.0/16\n",
            root.join("frameworks").display(),
            root.join("templates/heat").display()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_disco"));
    command
        .args(["plan", "--output", "json", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .env_clear();
    for (name, value) in attributes {
        command.arg("-a").arg(format!("{name}={value}"));
    }
    command.output().expect("run disco plan")
}

/// The stack document of an accepted request.
fn document(octet: u8, attributes: &[(String, String)]) -> Value {
    let output = plan(octet, attributes);
    assert!(
        output.status.success(),
        "disco plan refused the request: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("disco plan prints JSON")
}

/// The message of a refused request.
fn refusal(attributes: &[(String, String)]) -> String {
    let output = plan(20, attributes);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "disco plan accepted {attributes:?}: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "a refused request printed a plan");
    stderr
}

fn pairs(attributes: &[(&str, &str)]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A cluster network whose master address this test owns: listeners on the ports installers
/// wait for. 127.250-255 is outside the sandbox's 127.200-249.
struct Network {
    octet: u8,
    _listeners: Vec<TcpListener>,
}

impl Network {
    fn claim() -> Network {
        for octet in 250..=255u8 {
            let master = Ipv4Addr::new(127, octet, 0, 10);
            let listeners: Result<Vec<_>, _> = MASTER_PORTS
                .iter()
                .map(|port| TcpListener::bind((master, *port)))
                .collect();
            if let Ok(listeners) = listeners {
                return Network {
                    octet,
                    _listeners: listeners,
                };
            }
        }
        panic!("no free network among 127.250-255.0.10 for a master's ports {MASTER_PORTS:?}");
    }

    fn master(&self) -> String {
        format!("127.{}.0.10", self.octet)
    }

    fn slave(&self, index: usize) -> String {
        format!("127.{}.1.{index}", self.octet)
    }
}

/// What Heat resolves intrinsic functions against, for one stack, rewriting strings the way
/// OpenStack Heat does: `str_replace` replaces every occurrence of a key anywhere in the
/// template string, and a ResourceGroup replaces its `index_var` in every string of the
/// member's properties *after* resolving them, user values included.
struct Scope<'a> {
    parameters: &'a Map<String, Value>,
    files: &'a Map<String, Value>,
    signal_url: &'a str,
}

impl Scope<'_> {
    fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (function, argument) = map.iter().next().unwrap();
                match function.as_str() {
                    "get_param" => {
                        let name = argument.as_str().expect("get_param of a name");
                        self.parameters
                            .get(name)
                            .unwrap_or_else(|| panic!("no parameter {name}"))
                            .clone()
                    }
                    "get_file" => {
                        let name = argument.as_str().expect("get_file of a name");
                        self.files
                            .get(name)
                            .unwrap_or_else(|| panic!("get_file {name}: not in files"))
                            .clone()
                    }
                    "get_resource" => json!(format!("{}-id", argument.as_str().unwrap())),
                    "get_attr" => match argument[1].as_str() {
                        Some("endpoint") => json!(self.signal_url),
                        Some("token") => json!(SIGNAL_TOKEN),
                        _ => panic!("get_attr {argument} is not something a node's files use"),
                    },
                    "list_join" => {
                        let delimiter = argument[0].as_str().unwrap();
                        let items = self.resolve(&argument[1]);
                        let items: Vec<String> =
                            items.as_array().unwrap().iter().map(text).collect();
                        json!(items.join(delimiter))
                    }
                    "str_replace" => {
                        let template = text(&self.resolve(&argument["template"]));
                        let params: BTreeMap<String, String> = self
                            .resolve(&argument["params"])
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), text(v)))
                            .collect();
                        json!(str_replace(&template, &params))
                    }
                    _ => Value::Object(
                        map.iter()
                            .map(|(k, v)| (k.clone(), self.resolve(v)))
                            .collect(),
                    ),
                }
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

/// A resolved value as Heat turns it into a string.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a string: {other}"),
    }
}

/// Heat's `str_replace`: one pass over the template; at each position the longest matching
/// key wins (equal lengths: the lexicographically smaller), anywhere in the text.
fn str_replace(template: &str, params: &BTreeMap<String, String>) -> String {
    let mut keys: Vec<&String> = params.keys().filter(|k| !k.is_empty()).collect();
    keys.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut out = String::new();
    let mut rest = template;
    'scan: while !rest.is_empty() {
        for key in &keys {
            if let Some(after) = rest.strip_prefix(key.as_str()) {
                out.push_str(&params[*key]);
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Replaces `var` with `index` in every string of `value` (a ResourceGroup's index_var).
fn replace_index(value: &Value, var: &str, index: &str) -> Value {
    match value {
        Value::String(s) => json!(s.replace(var, index)),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), replace_index(v, var, index)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| replace_index(v, var, index)).collect())
        }
        other => other.clone(),
    }
}

/// What cloud-init gets on one node: the files to write and the boot script.
struct NodeData {
    name: &'static str,
    /// The resolved `write_files` list.
    write_files: Vec<Value>,
    boot_script: String,
    signal_url: &'static str,
    /// The parameters of the node's stack (the member's properties for a slave).
    parameters: Map<String, Value>,
}

/// The master's user data: the cluster template's `master_init` parts.
fn master_data(document: &Value) -> NodeData {
    let template = &document["template"];
    let resources = &template["resources"];
    let (files, boot) = user_data_parts(resources, "master");
    let parameters = document["parameters"].as_object().unwrap().clone();
    let scope = Scope {
        parameters: &parameters,
        files: document["files"].as_object().unwrap(),
        signal_url: MASTER_SIGNAL,
    };
    NodeData {
        name: "master",
        write_files: scope
            .resolve(&files["properties"]["cloud_config"]["write_files"])
            .as_array()
            .unwrap()
            .clone(),
        boot_script: boot["properties"]["config"].as_str().unwrap().to_string(),
        signal_url: MASTER_SIGNAL,
        parameters,
    }
}

/// The user data of the slaves group's member 0, through the ResourceGroup and the nested
/// slave template as Heat builds them.
fn slave_data(document: &Value) -> NodeData {
    let template = &document["template"];
    let parent_parameters = document["parameters"].as_object().unwrap();
    let files = document["files"].as_object().unwrap();
    let group = &template["resources"]["slaves"]["properties"];
    let definition = &group["resource_def"];
    let index_var = group["index_var"].as_str().unwrap_or("%index%");
    let parent = Scope {
        parameters: parent_parameters,
        files,
        signal_url: MASTER_SIGNAL,
    };
    let properties = replace_index(&parent.resolve(&definition["properties"]), index_var, "0");
    let member_type = definition["type"].as_str().unwrap();
    let nested: Value = serde_json::from_str(
        files[member_type]
            .as_str()
            .unwrap_or_else(|| panic!("{member_type} is not in files")),
    )
    .unwrap();
    let mut parameters = Map::new();
    for (name, declared) in nested["parameters"].as_object().unwrap() {
        let value = properties
            .get(name)
            .or_else(|| declared.get("default"))
            .unwrap_or_else(|| panic!("the slave template's parameter {name} gets no value"));
        parameters.insert(name.clone(), value.clone());
    }
    let (node_files, boot) = user_data_parts(&nested["resources"], "server");
    let scope = Scope {
        parameters: &parameters,
        files,
        signal_url: SLAVE_SIGNAL,
    };
    NodeData {
        name: "slave-1",
        write_files: scope
            .resolve(&node_files["properties"]["cloud_config"]["write_files"])
            .as_array()
            .unwrap()
            .clone(),
        boot_script: boot["properties"]["config"].as_str().unwrap().to_string(),
        signal_url: SLAVE_SIGNAL,
        parameters,
    }
}

/// The CloudConfig and the boot SoftwareConfig a server's user data is made of, checked to be
/// exactly what the server gets: `user_data` is a MultipartMime of these two, in this order.
fn user_data_parts<'a>(resources: &'a Value, server: &str) -> (&'a Value, &'a Value) {
    let properties = &resources[server]["properties"];
    assert_eq!(properties["user_data_format"], "RAW");
    let init = properties["user_data"]["get_resource"].as_str().unwrap();
    assert_eq!(resources[init]["type"], "OS::Heat::MultipartMime");
    let parts: Vec<&str> = resources[init]["properties"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["config"]["get_resource"].as_str().unwrap())
        .collect();
    let [files, boot] = parts[..] else {
        panic!("{server}'s user data has parts {parts:?}")
    };
    assert_eq!(resources[files]["type"], "OS::Heat::CloudConfig");
    assert_eq!(resources[boot]["type"], "OS::Heat::SoftwareConfig");
    assert_eq!(resources[boot]["properties"]["group"], "ungrouped");
    (&resources[files], &resources[boot])
}

impl NodeData {
    /// The content cloud-init writes at `path`.
    fn file(&self, path: &str) -> Vec<u8> {
        let entry = self
            .write_files
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{} gets no {path}", self.name));
        decode(entry)
    }

    /// Writes every file under `root` as cloud-init's write_files module would.
    fn write(&self, root: &Path) {
        use std::os::unix::fs::PermissionsExt;
        for entry in &self.write_files {
            let path = entry["path"].as_str().unwrap();
            let target = root.join(path.strip_prefix('/').expect("absolute path"));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, decode(entry)).unwrap();
            let mode = u32::from_str_radix(entry["permissions"].as_str().unwrap(), 8).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// A write_files entry's bytes, decoded per its `encoding`.
fn decode(entry: &Value) -> Vec<u8> {
    let content = entry["content"]
        .as_str()
        .unwrap_or_else(|| panic!("unresolved content in {entry}"));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    match entry["encoding"].as_str() {
        None => content.as_bytes().to_vec(),
        Some("b64" | "base64") => b64(content),
        Some("gz+b64" | "gzip+base64" | "gz+base64") => {
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(&b64(content)[..])
                .read_to_end(&mut bytes)
                .unwrap();
            bytes
        }
        Some(other) => panic!("cloud-init encoding {other}?"),
    }
}

/// A node that ran its boot script: the sandbox's `Run`, plus the environment the installers
/// saw (dumped by the first `apt-get`).
struct Booted {
    run: Run,
    seen: BTreeMap<String, String>,
    _sandbox: Sandbox,
}

/// The sandbox's stubs, and: `curl` serves TARBALL for downloads and lists the calling node
/// as an alive Spark worker; `python3 -m venv` makes a venv of stubs, other `python3` calls
/// run the machine's; the first `apt-get` dumps the environment it was started with.
fn node_sandbox() -> (Sandbox, PathBuf) {
    let sandbox = Sandbox::new(0);
    let bin = sandbox.log_file().with_file_name("bin");
    assert!(
        bin.join("apt-get").exists(),
        "the sandbox's stubs are no longer in {}",
        bin.display()
    );
    sandbox.stub(
        "curl",
        &format!(
            r#"for a in "$@"; do case "$a" in */json/) printf '{{"workers":[{{"host":"%s","state":"ALIVE"}}]}}' "$DISCO_NODE_ADDR"; exit 0;; esac; done
out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
[ -z "$out" ] || printf '%s' {} > "$out""#,
            bash_quote(std::str::from_utf8(TARBALL).unwrap())
        ),
    );
    let python = ["/usr/local/bin/python3", "/usr/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("python3 on this machine");
    sandbox.stub(
        "python3",
        &format!(
            r#"if [ "${{1:-}}" = -m ] && [ "${{2:-}}" = venv ]; then
    dir="${{*: -1}}"; stubs=$(dirname "$0")
    mkdir -p "$dir/bin"
    ln -sf "$stubs/pip3" "$dir/bin/pip"
    ln -sf "$stubs/jupyter" "$dir/bin/jupyter"
    exit 0
fi
exec {python} "$@""#
        ),
    );
    sandbox.stub(
        "apt-get",
        r#"[ -e "$DISCO_STUB_LOG.env" ] || env -0 > "$DISCO_STUB_LOG.env""#,
    );
    (sandbox, bin)
}

/// Writes the node's files under a fresh root and runs its boot script with `bash -c`, with
/// DISCO_BOOT_ROOT at that root, as cloud-init would run it (but on the sandbox's PATH).
fn boot(node: &NodeData) -> Booted {
    let (sandbox, bin) = node_sandbox();
    let root = sandbox
        .log_file()
        .with_file_name(format!("root-{}", node.name));
    std::fs::create_dir_all(&root).unwrap();
    node.write(&root);
    let log = sandbox.log_file();
    let console = std::fs::File::create(log.with_file_name("console")).unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&node.boot_script)
        .current_dir(&root)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .env("HOME", &root)
        .env("LANG", "C.UTF-8")
        .env("DISCO_STUB_LOG", &log)
        .env("DISCO_BOOT_ROOT", &root)
        .stdin(Stdio::null())
        .stdout(console.try_clone().unwrap())
        .stderr(console)
        .spawn()
        .expect("run the boot script");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOOT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish booting within {BOOT_TIMEOUT:?}:\n{}",
                node.name,
                logs(&root)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = std::fs::read_to_string(log.with_file_name("console")).unwrap_or_default();
    output.push_str(&logs(&root));
    let status_json: Value = std::fs::read_to_string(root.join("var/log/disco/status.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let seen = std::fs::read(format!("{}.env", log.display()))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (k, v) = entry.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    Booted {
        run: Run {
            success: status.success() && status_json["state"] == "ready",
            output,
            calls: read_calls(&log),
            root,
            status: status_json,
        },
        seen,
        _sandbox: sandbox,
    }
}

/// The node's boot and deployment logs, for failure messages.
fn logs(root: &Path) -> String {
    let mut text = String::new();
    let dir = root.join("var/log/disco");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            text.push_str(&format!("--- {}\n", path.display()));
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            found.push(entry.path());
        }
    }
    found
}

/// Files under `root` whose bytes contain `needle`, relative to root.
fn files_containing(root: &Path, needle: &str) -> Vec<String> {
    let needle = needle.as_bytes();
    files_under(root)
        .into_iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .map(|path| path.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

/// The first word of each hostile value: what finds it in any file, escaped or not.
fn tag(value: &str) -> &str {
    value.split(' ').next().unwrap()
}

/// The environment variables in installer_environment.
fn installer_environment(parameters: &Map<String, Value>) -> BTreeMap<String, String> {
    serde_json::from_str(parameters["installer_environment"].as_str().unwrap()).unwrap()
}

/// Checks shared by the master and the slave.
fn assert_node_is_safe_and_ready(
    request: &Request,
    node: &NodeData,
    booted: &Booted,
    address: &str,
) {
    let run = &booted.run;
    let root = &run.root;
    assert!(run.success, "{} did not deploy:\n{}", node.name, run.output);
    request.assert_no_marker(&[root, request.markers.path()]);

    // The boot script ran once, through python3 reading it from standard input.
    let pythons: Vec<&Call> = run
        .calls_to("python3")
        .into_iter()
        .filter(|c| c.args == ["-"])
        .collect();
    assert_eq!(pythons.len(), 1, "{:?}", run.calls);

    // Every framework of the node's steps is installed, in order.
    let node_json: Value = serde_json::from_slice(&node.file("/etc/disco/node.json")).unwrap();
    let steps: Vec<&str> = node_json["DISCO_STEPS"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(|s| s.split(':').next().unwrap())
        .collect();
    assert_eq!(run.status["state"], "ready");
    assert_eq!(run.status["node"], node.name);
    assert_eq!(run.status["done"], json!(steps));
    let deployment = run.file("var/log/disco/deployment.log");
    assert!(
        deployment.contains(&format!(
            "[{}] [deploy] deployment finished: the node is ready",
            node.name
        )),
        "{deployment}"
    );

    // Heat's wait condition got one SUCCESS naming the node, with its token from the file.
    let signals: Vec<&Call> = run
        .calls_to("curl")
        .into_iter()
        .filter(|c| c.args.iter().any(|a| a == node.signal_url))
        .collect();
    assert_eq!(signals.len(), 1, "{:?}", run.calls_to("curl"));
    let args = &signals[0].args;
    assert_eq!(args.last().map(String::as_str), Some(node.signal_url));
    let header = format!("@{}", root.join("etc/disco/signal.header").display());
    assert!(
        args.windows(2).any(|w| w[0] == "-H" && w[1] == header),
        "{args:?}"
    );
    assert_eq!(
        run.file("etc/disco/signal.header"),
        format!("X-Auth-Token: {SIGNAL_TOKEN}\n")
    );
    let body = &args[args.iter().position(|a| a == "--data-binary").unwrap() + 1];
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        json!({"status": "SUCCESS", "reason": format!("{} is ready", node.name), "id": node.name})
    );

    // The installers saw installer_environment byte for byte (except other frameworks'
    // secrets), and the node's own identity.
    let environment = installer_environment(&node.parameters);
    let seen = &booted.seen;
    assert!(
        !seen.is_empty(),
        "no apt-get call dumped the environment:\n{}",
        run.output
    );
    // The first apt-get belongs to base on the master and to spark on a slave (shell, first
    // there, installs no package): it sees its own framework's secrets, and no other's.
    let first = if node.name == "master" {
        "base"
    } else {
        "spark"
    };
    assert!(steps.contains(&first), "{steps:?}");
    let secrets: BTreeSet<&str> = environment["DISCO_SECRET_VARS"]
        .split(' ')
        .filter_map(|entry| entry.split_once(':'))
        .filter(|(_, framework)| *framework != first)
        .map(|(name, _)| name)
        .collect();
    for (name, value) in &environment {
        if secrets.contains(name.as_str()) {
            assert_eq!(
                seen.get(name),
                None,
                "{name} reached another framework's installer"
            );
        } else {
            assert_eq!(
                seen.get(name),
                Some(value),
                "{name} did not reach the installers as sent"
            );
        }
    }
    assert_eq!(seen["DISCO_NODE_NAME"], node.name);
    assert_eq!(seen["DISCO_NODE_ADDR"], address);
    assert_eq!(seen["DISCO_PROFILE"], "cloud");
    assert_eq!(seen["DISCO_SHELL_COMMAND"], request.shell_command);
    assert_eq!(seen["DISCO_SPARK_DOWNLOAD_URL"], request.spark_url);

    // The shell framework ran the command once, exactly as given.
    assert_eq!(run.file("shell-saw"), request.shell_command);
    assert_eq!(
        run.file("shell-ran"),
        format!("{}\n", request.shell_payload)
    );

    // Spark's download URL reached curl as one argument, byte for byte, {version} filled in.
    run.assert_curl_got(&request.spark_url.replace("{version}", "3.5.5"));

    // Images, flavors, network names, title, summary and the deployer's credentials are
    // nowhere on the node: not in a file, not in an installer's environment or arguments.
    for value in request.not_for_nodes.values() {
        let tag = tag(value);
        assert_eq!(
            files_containing(root, tag),
            Vec::<String>::new(),
            "{tag} reached the node"
        );
        assert!(
            !seen.iter().any(|(k, v)| k.contains(tag) || v.contains(tag)),
            "{tag} is in the installers' environment"
        );
        assert!(
            !run.calls.iter().any(|c| c.line().contains(tag)),
            "{tag} is on a command line"
        );
    }
    // The shell command is in the node's environment files (0600; the second is what the
    // agent starts hook runs with) and what the command wrote, only.
    let mut holders = files_containing(root, tag(&request.shell_payload));
    holders.sort();
    assert_eq!(
        holders,
        [
            "etc/disco/environment.json",
            "etc/disco/node-environment.json",
            "shell-ran",
            "shell-saw"
        ]
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(root.join("etc/disco/node-environment.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_master_built_from_hostile_attributes_runs_only_its_own_commands_and_gets_the_values_verbatim()
{
    let network = Network::claim();
    let request = Request::hostile(1);
    let document = document(network.octet, &request.attributes);
    request.assert_no_marker(&[]);
    let master = master_data(&document);
    assert_eq!(
        master.boot_script,
        document["installers"]["master"].as_str().unwrap()
    );
    let booted = boot(&master);
    assert_node_is_safe_and_ready(&request, &master, &booted, &network.master());
    let run = &booted.run;

    // JupyterLab's password arrived byte for byte: the stored hash is of exactly it.
    let config: Value =
        serde_json::from_str(&run.file("etc/jupyter/jupyter_server_config.json")).unwrap();
    let hashed = config["PasswordIdentityProvider"]["hashed_password"]
        .as_str()
        .unwrap();
    let [algorithm, salt, digest] = hashed.splitn(3, ':').collect::<Vec<_>>()[..] else {
        panic!("{hashed}")
    };
    assert_eq!(algorithm, "sha256");
    assert_eq!(
        digest,
        sha256_hex(format!("{}{salt}", request.jupyter_password).as_bytes())
    );
    assert_eq!(
        config["PasswordIdentityProvider"]["password_required"],
        true
    );
    assert_eq!(config["ServerApp"]["ip"], network.master());
    // The password is in the node's environment files (0600; the agent's copy lets hooks
    // get their own framework's secrets) and nowhere else, and on no command line.
    let password = tag(&request.jupyter_password);
    assert_eq!(
        files_containing(&run.root, password),
        [
            "etc/disco/environment.json",
            "etc/disco/node-environment.json"
        ]
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(run.root.join("etc/disco/environment.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(!run.calls.iter().any(|c| c.line().contains(password)));

    // The services are the frameworks' own commands.
    run.assert_called("systemctl", &["enable", "--now", "disco-logserver"]);
    run.assert_called("systemctl", &["enable", "--now", "disco-spark-master"]);
    run.assert_called("systemctl", &["enable", "--now", "disco-jupyter"]);
    run.assert_called("pip", &["install", "jupyterlab==4.6.6"]);
    let unit = run.unit("spark-master");
    assert!(
        unit.contains(&format!("\"--host\" \"{}\"", network.master())),
        "{unit}"
    );
}

#[test]
fn a_slave_built_from_hostile_attributes_runs_only_its_own_commands_and_gets_the_values_verbatim() {
    let network = Network::claim();
    let request = Request::hostile(1);
    let document = document(network.octet, &request.attributes);
    let slave = slave_data(&document);
    assert_eq!(
        slave.boot_script,
        document["installers"]["slave"].as_str().unwrap()
    );
    let booted = boot(&slave);
    assert_node_is_safe_and_ready(&request, &slave, &booted, &network.slave(0));
    let run = &booted.run;
    // A slave runs no master step, and JupyterLab's password is no business of its installers.
    assert!(run.find("systemctl", &["disco-logserver"]).is_none());
    assert!(!booted.seen.contains_key("DISCO_JUPYTER_PASSWORD"));
    let unit = run.unit("spark-worker");
    assert!(
        unit.contains(&format!("\"spark://{}:7077\"", network.master())),
        "{unit}"
    );
}

#[test]
fn images_flavors_and_network_names_are_heat_parameters_for_nova_and_neutron_only() {
    let request = Request::hostile(2);
    let document = document(20, &request.attributes);
    let parameters = document["parameters"].as_object().unwrap();
    let environment = parameters["installer_environment"].as_str().unwrap();
    for (short, _) in INFRASTRUCTURE {
        let value = &request.not_for_nodes[&format!("{COMPONENTS_PREFIX}heat.{short}")];
        assert_eq!(parameters[heat_parameter(short)], json!(value), "{short}");
        assert!(
            !environment.contains(tag(value)),
            "{short} is in installer_environment"
        );
    }
    // Title, summary and the deployer's credentials are not part of the stack at all.
    let stack = document.to_string();
    for name in [
        "occi.core.title",
        "occi.core.summary",
        "icclab.disco.deployer.username",
        "icclab.disco.deployer.password",
        "icclab.disco.deployer.region",
    ] {
        assert!(
            !stack.contains(tag(&request.not_for_nodes[name])),
            "{name} is in the stack"
        );
    }
    // No user value is in the template, the files or the boot scripts: only in parameters.
    let mut structure = document.clone();
    structure.as_object_mut().unwrap().remove("parameters");
    let structure = structure.to_string();
    for value in request.not_for_nodes.values().chain([
        &request.shell_payload,
        &request.jupyter_password,
        &request.spark_url,
    ]) {
        assert!(
            !structure.contains(tag(value)),
            "{} is outside the parameters",
            tag(value)
        );
    }
    request.assert_no_marker(&[]);
}

#[test]
fn the_template_files_and_boot_scripts_are_byte_identical_for_benign_and_hostile_requests() {
    for slaves in [0, 2] {
        let hostile = Request::hostile(slaves);
        let hostile = document(20, &hostile.attributes);
        let benign = document(20, &Request::benign(slaves));
        assert_eq!(
            hostile["template"].to_string(),
            benign["template"].to_string()
        );
        assert_eq!(hostile["files"].to_string(), benign["files"].to_string());
        assert_eq!(
            hostile["installers"].to_string(),
            benign["installers"].to_string()
        );
        let names = |d: &Value| {
            d["parameters"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&hostile), names(&benign));
        let differing: Vec<&String> = hostile["parameters"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| benign["parameters"][k.as_str()] != **v)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            differing,
            [
                "external_network",
                "installer_environment",
                "master_flavor",
                "master_image",
                "network_name",
                "slave_flavor",
                "slave_image"
            ]
        );
    }
}

#[test]
fn a_control_character_in_a_free_text_attribute_is_refused_naming_the_attribute() {
    let markers = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = [
        "occi.core.title",
        "occi.core.summary",
        "icclab.disco.deployer.username",
        "icclab.disco.deployer.region",
    ]
    .map(String::from)
    .to_vec();
    names.extend(
        INFRASTRUCTURE
            .iter()
            .map(|(short, _)| format!("{COMPONENTS_PREFIX}heat.{short}")),
    );
    for name in &names {
        for control in ["\n", "\r", "\t", "\u{1b}", "\u{7f}"] {
            let value = format!(
                "x{control}$(touch {})",
                markers.path().join("control").display()
            );
            let message = refusal(&[
                (INJECT.to_string(), FRAMEWORKS.to_string()),
                (name.clone(), value),
            ]);
            assert_eq!(
                message.trim_end(),
                format!(
                    "disco plan: {name} must not contain control characters (newlines, tabs, …)"
                ),
                "{control:?}"
            );
        }
    }
    assert_eq!(std::fs::read_dir(markers.path()).unwrap().count(), 0);
}

#[test]
fn values_outside_a_parameters_pattern_or_type_are_refused_with_what_it_accepts() {
    let markers = tempfile::tempdir().unwrap();
    let m = markers.path().join("pattern");
    let m = m.display();
    let evil = format!("$(touch {m})");
    let cases: Vec<(&str, String, String)> = vec![
        (
            "icclab.disco.components.spark.download_url",
            format!("https://example.org/`touch {m}`/spark.tgz"),
            r"must match https://[A-Za-z0-9._~:/?#@!$&'()*+,;=%{}-]+".to_string(),
        ),
        (
            "icclab.disco.components.spark.download_url",
            format!("file:///etc/passwd;{evil}"),
            r"must match https://[A-Za-z0-9._~:/?#@!$&'()*+,;=%{}-]+".to_string(),
        ),
        (
            "icclab.disco.components.spark.version",
            format!("3.5.5;touch {m}"),
            r"must match [0-9]+\.[0-9]+\.[0-9]+".to_string(),
        ),
        (
            "icclab.disco.components.spark.sha256",
            evil.clone(),
            "must match [0-9a-f]{64}".to_string(),
        ),
        (
            "icclab.disco.components.spark.worker_memory",
            format!("1g {evil}"),
            "must match [0-9]{1,6}[mg]".to_string(),
        ),
        (
            "icclab.disco.components.spark.worker_cores",
            format!("1;{evil}"),
            format!("must be a whole number, not `1;{evil}`"),
        ),
        (
            "icclab.disco.components.spark.history_server",
            format!("true;{evil}"),
            "must be true or false".to_string(),
        ),
        (
            "icclab.disco.components.jupyter.version",
            format!("4.6.6 {{{{ 7*7 }}}} {evil}"),
            r"must match [0-9]+\.[0-9]+\.[0-9]+".to_string(),
        ),
        (
            "icclab.disco.components.jupyter.port",
            format!("8888{evil}"),
            format!("must be a whole number, not `8888{evil}`"),
        ),
        (
            "icclab.disco.components.shell.roles",
            format!("all;{evil}"),
            "must be one of all, master, slaves".to_string(),
        ),
    ];
    for (name, value, expected) in cases {
        let message = refusal(&[
            (INJECT.to_string(), FRAMEWORKS.to_string()),
            (name.to_string(), value.clone()),
        ]);
        assert_eq!(
            message.trim_end(),
            format!("disco plan: {name} {expected}"),
            "{value}"
        );
    }
    // The slave count, a framework name and an attribute name are no way in either.
    let message = refusal(&pairs(&[(SLAVECOUNT, &format!("1;{evil}"))]));
    assert_eq!(
        message.trim_end(),
        format!("disco plan: {SLAVECOUNT} must be a whole number, not `1;{evil}`")
    );
    let message = refusal(&pairs(&[(
        INJECT,
        &format!("{{'spark': '', '{evil}': ''}}"),
    )]));
    assert!(
        message.starts_with(&format!("disco plan: {INJECT}: unknown framework `{evil}`")),
        "{message}"
    );
    let name = format!("{COMPONENTS_PREFIX}heat.{evil}");
    let message = refusal(&pairs(&[(&name, "x")]));
    assert!(
        message.starts_with(&format!("disco plan: unknown attribute {name}")),
        "{message}"
    );
    assert_eq!(std::fs::read_dir(markers.path()).unwrap().count(), 0);
}

/// Heat's str_replace replaces every occurrence of a key, so the placeholder for the member's
/// index in a slave's node.json must occur nowhere else (a placeholder `INDEX` once turned the
/// key DISCO_NODE_INDEX into DISCO_NODE_0, and the slave's boot script stopped).
#[test]
fn heats_str_replace_leaves_the_slaves_node_json_keys_intact() {
    let document = document(20, &pairs(&[(INJECT, FRAMEWORKS), (SLAVECOUNT, "1")]));
    let slave = slave_data(&document);
    let node: Map<String, Value> =
        serde_json::from_slice(&slave.file("/etc/disco/node.json")).unwrap();
    assert_eq!(
        node.keys().map(String::as_str).collect::<Vec<_>>(),
        ["DISCO_NODE_INDEX", "DISCO_ROLE", "DISCO_STEPS"],
        "{node:?}"
    );
    assert_eq!(node["DISCO_NODE_INDEX"], "0");
}

/// A ResourceGroup resolves its resource_def's properties and then replaces its index_var in
/// every string of them: with the default `%index%`, a user's `%index%` (in the shell command,
/// a password, a download URL, the slave image or flavor) became the member's index on the
/// slaves only. The group's index_var holds control characters, which no text attribute and no
/// JSON text (installer_environment) can contain.
#[test]
fn heats_resource_group_gives_a_slave_the_users_values_unchanged() {
    let request = Request::hostile(1);
    let document = document(20, &request.attributes);
    let slave = slave_data(&document);
    let parameters = document["parameters"].as_object().unwrap();
    assert_eq!(
        String::from_utf8(slave.file("/etc/disco/environment.json")).unwrap(),
        parameters["installer_environment"].as_str().unwrap()
    );
    assert_eq!(slave.parameters["image"], parameters["slave_image"]);
    assert_eq!(slave.parameters["flavor"], parameters["slave_flavor"]);
    assert_eq!(slave.parameters["index"], "0");
}
