//! Renders a cluster plan into what Heat's stack-create call takes: the HOT template as a JSON
//! object, its parameters, and the `files` map: the slaves' nested template and, per role, one
//! bundle of the framework files its nodes need (JSON, gzip+base64: compressed as one stream,
//! so that a node's user data stays well under Nova's 64 KiB).
//!
//! Pure: templates and installer files are read once by [`HeatTemplates::load`]. Tera only ever
//! sees values disco controls (catalog names, ports, file names); everything a user chose is
//! a Heat parameter, so no user value can change the template's structure.

use crate::frameworks::{manifest::Port, Role};
use crate::plan::{steps_value, ClusterPlan};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;

/// Name of the slaves' nested template in `files` (the ResourceGroup's member type). Heat
/// treats a type as a template only if it ends in `.yaml` or `.template`; the content is JSON,
/// which is YAML too.
pub const SLAVE_TEMPLATE: &str = "slave.yaml";
const CLUSTER_TEMPLATE: &str = "cluster.json.tera";
const SLAVE_TEMPLATE_SOURCE: &str = "slave.json.tera";
const BOOT_SCRIPT: &str = "boot.sh.tera";
/// A framework's manifest: read by disco, not by the nodes.
const MANIFEST: &str = "manifest.toml";
/// Where cloud-init writes a node's bundle of framework files; the boot script unpacks it
/// into `/opt/disco/frameworks/`.
const NODE_BUNDLE: &str = "/opt/disco/frameworks.json";
/// A framework's hook scripts and their helpers (they ship with the installers).
const HOOKS_DIR: &str = "hooks";
/// The slaves group's `index_var`. A ResourceGroup replaces it in every string of its members'
/// resolved properties, user values included, so it must be text no such value can hold:
/// text attributes refuse control characters, and JSON (installer_environment) escapes them.
const GROUP_INDEX_VAR: &str = "\u{1f}disco-index\u{1f}";
/// Stands for the member's index in a slave's node.json until Heat's `str_replace` fills it
/// in. `str_replace` rewrites every occurrence, so no key or catalog value may contain it.
const NODE_INDEX_PLACEHOLDER: &str = "@disco-index@";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("template {name}: {message}")]
    Render { name: String, message: String },
    /// The request's values make a node's user data larger than Nova accepts.
    #[error("{0}")]
    TooLarge(String),
}

/// Stands in for the public key disco generates when a cluster is created.
pub const PLACEHOLDER_PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderGeneratedAtCreateTime0000000 disco-plan";
/// Stands in for secrets disco generates when a cluster is created (longer than they are).
const PLACEHOLDER_SECRET: &str = "<generated when the cluster is created>";

/// Nova's limit on a server's user data, which it takes base64-encoded.
const NOVA_USER_DATA_MAX: usize = 65535;

/// The cluster's private network: a /16 whose layout disco computes (master at .0.10, slave N
/// at .1.(N-1), DHCP pool from .2.1), so every address is known before any server exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterNetwork {
    base: [u8; 2],
}

impl ClusterNetwork {
    /// Parses `a.b.0.0/16`.
    pub fn parse(cidr: &str) -> Result<ClusterNetwork, String> {
        let message = || format!("`{cidr}` is not an IPv4 network of the form a.b.0.0/16");
        let (address, prefix) = cidr.split_once('/').ok_or_else(message)?;
        let address: Ipv4Addr = address.parse().map_err(|_| message())?;
        let octets = address.octets();
        if prefix != "16" || octets[2] != 0 || octets[3] != 0 {
            return Err(message());
        }
        Ok(ClusterNetwork {
            base: [octets[0], octets[1]],
        })
    }

    /// Most slaves the layout has addresses for.
    pub const MAX_SLAVES: u32 = 256;

    fn cidr(&self) -> String {
        format!("{}.{}.0.0/16", self.base[0], self.base[1])
    }

    /// The master's cluster-internal address.
    pub fn master(&self) -> String {
        format!("{}.{}.0.10", self.base[0], self.base[1])
    }

    fn slave_prefix(&self) -> String {
        format!("{}.{}.1.", self.base[0], self.base[1])
    }

    /// Slave `index + 1`'s cluster-internal address (`index` counts from 0, as in Heat).
    pub fn slave(&self, index: usize) -> String {
        format!("{}{index}", self.slave_prefix())
    }
}

/// Operator settings that shape every stack.
#[derive(Debug, Clone)]
pub struct StackSettings {
    pub network: ClusterNetwork,
    pub dns_nameservers: Vec<String>,
    /// Who may reach SSH: the only port open to the world by default.
    pub ssh_cidr: String,
    /// Who else may reach the deployment log (besides the gateway); `None`: nobody.
    pub log_cidr: Option<String>,
    /// Who else may reach the frameworks' non-internal ports; `None`: nobody.
    pub service_cidr: Option<String>,
    /// The address disco talks from: it reaches the agent, the deployment log and the
    /// frameworks' non-internal ports. `None` only for `disco plan` without one configured
    /// (then the stack has no gateway rules).
    pub gateway_cidr: Option<String>,
    pub agent_port: u16,
    /// The image's cloud-init user (`openstack.ssh_user`): who logs in and submits jobs, so
    /// installers give it the files that hold what it needs (e.g. Spark's secret).
    pub login_user: String,
    pub wait_timeout_secs: u64,
    pub max_slave_count: u32,
    pub log_port: u16,
    pub mirror: Option<String>,
    /// Infrastructure values used when a request names none (`masterimage`, …).
    pub defaults: BTreeMap<String, String>,
}

/// What only exists once a cluster is created: its key, name and secrets.
pub struct StackInputs<'a> {
    pub cluster_name: &'a str,
    pub key_name: &'a str,
    pub ssh_public_key: &'a str,
    pub cluster_secret: &'a str,
    /// Generated secrets as installer variables.
    pub secrets: &'a [(String, String)],
}

/// A stack-create request's content (and, for `disco plan`, the installers each role runs).
#[derive(Debug, Clone, Serialize)]
pub struct StackDocument {
    pub template: Value,
    pub parameters: Map<String, Value>,
    pub files: BTreeMap<String, String>,
    /// The operator's Heat environment (YAML text), if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Role → the script cloud-init runs on that role's nodes.
    pub installers: BTreeMap<String, String>,
    /// Role → about how large its nodes' user data is as Nova takes it (at most 65535).
    pub user_data_bytes: BTreeMap<String, usize>,
}

impl StackDocument {
    /// About how large a `role` node's user data is as Nova receives it (base64), an upper
    /// estimate: Heat writes the node's files into a cloud-config (YAML) and joins it with the
    /// boot script in a MIME multipart message.
    pub fn user_data_size(&self, role: Role) -> usize {
        let (template, files_resource, boot) = self.node_template(role);
        let resources = &template["resources"];
        let entries = resources[files_resource]["properties"]["cloud_config"]["write_files"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let text = |value: &Value| -> usize {
            if let Some(name) = value["get_file"].as_str() {
                self.files.get(name).map_or(0, String::len)
            } else if let Some(name) = value["get_param"].as_str() {
                // YAML may fold a long line and quote it: a tenth more is plenty.
                self.parameters
                    .get(name)
                    .and_then(Value::as_str)
                    .map_or(64, |v| v.len() + v.len() / 10 + v.matches('\'').count())
            } else {
                // list_join of a parameter or a wait condition's URL or token.
                self.parameters["cluster_secret"]
                    .as_str()
                    .map_or(0, str::len)
                    + 512
            }
        };
        let cloud_config: usize = entries
            .iter()
            .map(|entry| entry["path"].as_str().map_or(0, str::len) + 64 + text(&entry["content"]))
            .sum();
        let boot_script = resources[boot]["properties"]["config"]
            .as_str()
            .map_or(0, str::len);
        // "#cloud-config", MIME headers and boundaries.
        let raw = cloud_config + boot_script + 1024;
        raw.div_ceil(3) * 4
    }

    /// The template a `role` node is defined in (the stack's, or the slaves' nested one), and
    /// the names of its files (CloudConfig) and boot script resources there.
    fn node_template(&self, role: Role) -> (Cow<'_, Value>, &'static str, &'static str) {
        match role {
            Role::Master => (Cow::Borrowed(&self.template), "master_files", "master_boot"),
            Role::Slave => (
                Cow::Owned(
                    self.files
                        .get(SLAVE_TEMPLATE)
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or(Value::Null),
                ),
                "files",
                "boot",
            ),
        }
    }
}

/// The Heat templates and every framework file, loaded once.
#[derive(Debug)]
pub struct HeatTemplates {
    tera: tera::Tera,
    /// `<dir>/<file>` (and `<dir>/hooks/<file>`) → content, for the shared runtime (`lib`) and
    /// every framework.
    framework_files: BTreeMap<String, String>,
    environment: Option<Environment>,
    /// Compressed bundles by the names of the files in them: a bundle depends on nothing else,
    /// and compressing it is most of a create's CPU time.
    bundles: std::sync::Mutex<HashMap<String, String>>,
}

/// Distinct bundles kept compressed (one per role and choice of frameworks in use).
const BUNDLES_KEPT: usize = 256;

/// An operator's Heat environment and the templates next to it that it may name.
#[derive(Debug)]
struct Environment {
    text: String,
    /// `*.yaml` files under the environment's directory, by path relative to it.
    files: BTreeMap<String, String>,
}

impl Environment {
    fn load(path: &Path) -> Result<Environment, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files = BTreeMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in std::fs::read_dir(&current).map_err(|e| read_error(&current, e))? {
                let entry = entry.map_err(|e| read_error(&current, e))?;
                let file = entry.path();
                if file.is_dir() {
                    pending.push(file);
                } else if file != path && file.extension().is_some_and(|e| e == "yaml") {
                    let name = file
                        .strip_prefix(dir)
                        .map(|p| p.to_string_lossy().to_string())
                        .unwrap_or_default();
                    let content =
                        std::fs::read_to_string(&file).map_err(|e| read_error(&file, e))?;
                    files.insert(name, content);
                }
            }
        }
        Ok(Environment { text, files })
    }
}

/// One ingress rule of the cluster's security group: a port, opened to the network a Heat
/// parameter names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Rule {
    protocol: String,
    port: u16,
    /// The Heat parameter holding the network (`ssh_cidr`, `gateway_cidr`, …).
    source: &'static str,
}

/// The security group's rules beyond "everything between the cluster's own nodes" (which the
/// template always has): SSH from `ssh_cidr`; the agent, the deployment log and each
/// non-internal framework port from the gateway; the log from `log_cidr` and those framework
/// ports from `service_cidr` only where an operator set them. Internal ports get no rule.
fn security_rules(plan_ports: &[Port], settings: &StackSettings) -> Vec<Rule> {
    let tcp = |port: u16, source: &'static str| Rule {
        protocol: "tcp".into(),
        port,
        source,
    };
    let gateway = settings.gateway_cidr.is_some();
    let mut rules = vec![tcp(22, "ssh_cidr")];
    if gateway {
        rules.push(tcp(settings.agent_port, "gateway_cidr"));
        rules.push(tcp(settings.log_port, "gateway_cidr"));
    }
    if settings.log_cidr.is_some() {
        rules.push(tcp(settings.log_port, "log_cidr"));
    }
    let fixed = [22, settings.agent_port, settings.log_port];
    let mut sources = Vec::new();
    if gateway {
        sources.push("gateway_cidr");
    }
    if settings.service_cidr.is_some() {
        sources.push("service_cidr");
    }
    for port in plan_ports {
        if port.internal || port.protocol == "tcp" && fixed.contains(&port.port) {
            continue;
        }
        for source in &sources {
            let rule = Rule {
                protocol: port.protocol.clone(),
                port: port.port,
                source,
            };
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    rules
}

#[derive(Serialize)]
struct NodeFile {
    name: String,
    path: String,
    mode: &'static str,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> TemplateError {
    TemplateError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl HeatTemplates {
    /// Reads `templates_dir` (the `.tera` files), every file of `frameworks_dir`'s
    /// subdirectories, and the operator's Heat environment with the `*.yaml` templates beside
    /// it (sent in `files` under their paths relative to it).
    pub fn load(
        templates_dir: &Path,
        frameworks_dir: &Path,
        environment: Option<&Path>,
    ) -> Result<HeatTemplates, TemplateError> {
        let mut tera = tera::Tera::default();
        for name in [CLUSTER_TEMPLATE, SLAVE_TEMPLATE_SOURCE, BOOT_SCRIPT] {
            let path = templates_dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
            tera.add_raw_template(name, &text)
                .map_err(|e| TemplateError::Render {
                    name: name.into(),
                    message: tera_message(&e),
                })?;
        }
        let mut framework_files = BTreeMap::new();
        let entries =
            std::fs::read_dir(frameworks_dir).map_err(|e| read_error(frameworks_dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| read_error(frameworks_dir, e))?;
            if !entry.path().is_dir() {
                continue;
            }
            let dir_name = entry.file_name().to_string_lossy().to_string();
            for (sub, dir) in [
                ("", entry.path()),
                (HOOKS_DIR, entry.path().join(HOOKS_DIR)),
            ] {
                if !dir.is_dir() {
                    continue;
                }
                for file in std::fs::read_dir(&dir).map_err(|e| read_error(&dir, e))? {
                    let file = file.map_err(|e| read_error(&dir, e))?;
                    let path = file.path();
                    if !path.is_file() {
                        continue;
                    }
                    let mut content =
                        std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
                    let file_name = file.file_name().to_string_lossy().to_string();
                    if file_name.ends_with(".sh") {
                        content = without_comment_lines(&content);
                    }
                    let name = match sub {
                        "" => format!("{dir_name}/{file_name}"),
                        sub => format!("{dir_name}/{sub}/{file_name}"),
                    };
                    framework_files.insert(name, content);
                }
            }
        }
        Ok(HeatTemplates {
            tera,
            framework_files,
            environment: environment.map(Environment::load).transpose()?,
            bundles: Default::default(),
        })
    }

    /// Renders the stack for `plan`.
    pub fn render(
        &self,
        plan: &ClusterPlan,
        settings: &StackSettings,
        inputs: &StackInputs<'_>,
    ) -> Result<StackDocument, TemplateError> {
        let net = &settings.network;
        let slave_count = plan.nodes.len().saturating_sub(1);
        let slave_addresses: Vec<String> = (0..slave_count).map(|i| net.slave(i)).collect();

        // What each role's nodes get, as one bundle: the shared runtime, and of each chosen
        // framework its own installer, helper files and hooks, not the manifest, the local
        // backend's check or the other role's installer. Then the boot script and node.json
        // that run the role's steps.
        let mut files = BTreeMap::new();
        let mut node_files: BTreeMap<Role, Vec<NodeFile>> = BTreeMap::new();
        let mut installers = BTreeMap::new();
        let mut nodes = BTreeMap::new();
        for role in [Role::Master, Role::Slave] {
            let role_steps = plan.role_steps.get(&role).map(Vec::as_slice).unwrap_or(&[]);
            let mut bundle = Vec::new();
            for (name, content) in &self.framework_files {
                let Some((dir, file)) = name.split_once('/') else {
                    continue;
                };
                let wanted = if dir == "lib" {
                    true
                } else if !plan.frameworks.iter().any(|f| f == dir) {
                    false
                } else if is_installer(file) {
                    role_steps
                        .iter()
                        .any(|s| s.framework == dir && s.installer == file)
                } else {
                    file != MANIFEST && !is_local_check(plan, dir, file)
                };
                if !wanted {
                    continue;
                }
                let mode = if file.ends_with(".sh") || file.ends_with(".py") {
                    "0755"
                } else {
                    "0644"
                };
                bundle.push((name, mode, content));
            }
            let key = format!("frameworks/{}.json", role.as_str());
            files.insert(key.clone(), self.compressed_bundle(&bundle));
            node_files.entry(role).or_default().push(NodeFile {
                name: key,
                path: NODE_BUNDLE.to_string(),
                mode: "0600",
            });

            let steps = steps_value(role_steps);
            let mut context = tera::Context::new();
            context.insert("role", role.as_str());
            context.insert("steps", if steps.is_empty() { "none" } else { &steps });
            installers.insert(
                role.as_str().to_string(),
                self.render_one(BOOT_SCRIPT, &context)?,
            );
            let mut node = json!({"DISCO_ROLE": role.as_str(), "DISCO_STEPS": steps});
            if role == Role::Slave {
                node["DISCO_NODE_INDEX"] = json!(NODE_INDEX_PLACEHOLDER);
            }
            let node = node.to_string();
            if role == Role::Slave && node.matches(NODE_INDEX_PLACEHOLDER).count() != 1 {
                return Err(TemplateError::Render {
                    name: SLAVE_TEMPLATE_SOURCE.into(),
                    message: format!(
                        "a step name contains {NODE_INDEX_PLACEHOLDER}, which Heat would rewrite"
                    ),
                });
            }
            nodes.insert(role, node);
        }

        let rules = security_rules(&plan.ports, settings);
        // The networks the rules name, each declared as a parameter once.
        let mut cidr_parameters: Vec<&str> = Vec::new();
        for rule in &rules {
            if !cidr_parameters.contains(&rule.source) {
                cidr_parameters.push(rule.source);
            }
        }

        let mut context = tera::Context::new();
        context.insert("max_slave_count", &settings.max_slave_count);
        context.insert("index_var", GROUP_INDEX_VAR);
        context.insert("index_placeholder", NODE_INDEX_PLACEHOLDER);
        context.insert("rules", &rules);
        context.insert("cidr_parameters", &cidr_parameters);
        context.insert("files", &node_files[&Role::Master]);
        context.insert("boot_script", &installers["master"]);
        context.insert("master_node", &nodes[&Role::Master]);
        let template = self.render_json(CLUSTER_TEMPLATE, &context)?;
        context.insert("files", &node_files[&Role::Slave]);
        context.insert("boot_script", &installers["slave"]);
        context.insert("slave_node", &nodes[&Role::Slave]);
        let slave = self.render_json(SLAVE_TEMPLATE_SOURCE, &context)?;
        files.insert(SLAVE_TEMPLATE.into(), slave.to_string());
        if let Some(environment) = &self.environment {
            files.extend(environment.files.clone());
        }

        let mut environment: BTreeMap<String, String> = plan.environment.iter().cloned().collect();
        environment.extend(
            plan.secret_environment
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string())),
        );
        environment.extend(inputs.secrets.iter().cloned());
        environment.insert("DISCO_CLUSTER_ID".into(), plan.cluster_id.to_string());
        environment.insert("DISCO_FRAMEWORKS".into(), plan.frameworks_value());
        environment.insert("DISCO_SECRET_VARS".into(), plan.secret_vars.clone());
        environment.insert("DISCO_MASTER_ADDR".into(), net.master());
        environment.insert("DISCO_SLAVE_ADDRS".into(), slave_addresses.join(" "));
        environment.insert("DISCO_NODE_COUNT".into(), plan.nodes.len().to_string());
        environment.insert("DISCO_LOG_PORT".into(), settings.log_port.to_string());
        environment.insert("DISCO_AGENT_PORT".into(), settings.agent_port.to_string());
        environment.insert("DISCO_LOGIN_USER".into(), settings.login_user.clone());
        if let Some(mirror) = &settings.mirror {
            environment.insert("DISCO_MIRROR".into(), mirror.clone());
        }

        let infrastructure = |name: &str| -> String {
            plan.infrastructure
                .get(name)
                .or_else(|| settings.defaults.get(name))
                .cloned()
                .unwrap_or_default()
        };
        let third = |octet: u8| format!("{}.{}.{octet}", net.base[0], net.base[1]);
        let mut parameters = Map::new();
        for (name, value) in [
            ("cluster_name", json!(inputs.cluster_name)),
            ("key_name", json!(inputs.key_name)),
            ("ssh_public_key", json!(inputs.ssh_public_key)),
            ("master_image", json!(infrastructure("masterimage"))),
            ("slave_image", json!(infrastructure("slaveimage"))),
            ("master_flavor", json!(infrastructure("masterflavor"))),
            ("slave_flavor", json!(infrastructure("slaveflavor"))),
            (
                "network_name",
                json!(Some(infrastructure("networkname"))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| inputs.cluster_name.to_string())),
            ),
            (
                "external_network",
                json!(infrastructure("externalnetworkname")),
            ),
            ("slave_count", json!(slave_count)),
            ("subnet_cidr", json!(net.cidr())),
            ("dns_nameservers", json!(settings.dns_nameservers.join(","))),
            ("allocation_pool_start", json!(format!("{}.1", third(2)))),
            ("allocation_pool_end", json!(format!("{}.254", third(255)))),
            ("master_address", json!(net.master())),
            ("slave_address_prefix", json!(net.slave_prefix())),
            (
                "installer_environment",
                json!(ascii_json(&json!(environment))),
            ),
            ("cluster_secret", json!(inputs.cluster_secret)),
            ("wait_timeout", json!(settings.wait_timeout_secs)),
        ] {
            parameters.insert(name.into(), value);
        }
        for name in cidr_parameters {
            let value = match name {
                "ssh_cidr" => Some(&settings.ssh_cidr),
                "log_cidr" => settings.log_cidr.as_ref(),
                "service_cidr" => settings.service_cidr.as_ref(),
                _ => settings.gateway_cidr.as_ref(),
            };
            parameters.insert(name.into(), json!(value));
        }
        let mut document = StackDocument {
            template,
            parameters,
            files,
            environment: self.environment.as_ref().map(|e| e.text.clone()),
            installers,
            user_data_bytes: BTreeMap::new(),
        };
        for role in [Role::Master, Role::Slave] {
            let size = document.user_data_size(role);
            document
                .user_data_bytes
                .insert(role.as_str().to_string(), size);
            if size > NOVA_USER_DATA_MAX {
                return Err(TemplateError::TooLarge(format!(
                    "a {} node's user data would be about {} KiB, more than the 64 KiB Nova \
                     accepts; the installers' parameters take {} KiB of it: shorten the \
                     longest ones (e.g. shell.command) or choose fewer frameworks",
                    role.as_str(),
                    size / 1024,
                    document.parameters["installer_environment"]
                        .as_str()
                        .map_or(0, str::len)
                        / 1024,
                )));
            }
        }
        Ok(document)
    }

    /// A bundle of framework files (name, mode, content) as JSON, gzip+base64, compressed once
    /// per distinct set of files.
    fn compressed_bundle(&self, files: &[(&String, &str, &String)]) -> String {
        let key: String = files
            .iter()
            .map(|(name, _, _)| format!("{name}\n"))
            .collect();
        let lock = || self.bundles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = lock().get(&key) {
            return kept.clone();
        }
        let bundle: Map<String, Value> = files
            .iter()
            .map(|(name, mode, content)| {
                ((*name).clone(), json!({"mode": mode, "content": content}))
            })
            .collect();
        let compressed = gzip_base64(Value::Object(bundle).to_string().as_bytes());
        let mut kept = lock();
        if kept.len() >= BUNDLES_KEPT {
            kept.clear();
        }
        kept.insert(key, compressed.clone());
        compressed
    }

    /// Renders the stack for `plan` before the cluster exists: placeholders stand in for its
    /// name, key and secrets (to refuse a request Heat or Nova would).
    pub fn render_preview(
        &self,
        plan: &ClusterPlan,
        settings: &StackSettings,
    ) -> Result<StackDocument, TemplateError> {
        self.render_preview_with_key(plan, settings, None)
    }

    /// As `render_preview`, with the user's own public key where the request brings one
    /// (`disco plan`: that key is exactly what a create sends; only a generated one is
    /// unknown before the cluster exists).
    pub fn render_preview_with_key(
        &self,
        plan: &ClusterPlan,
        settings: &StackSettings,
        own_public_key: Option<&str>,
    ) -> Result<StackDocument, TemplateError> {
        let secrets: Vec<(String, String)> = plan
            .generated
            .iter()
            .map(|g| (g.env.clone(), PLACEHOLDER_SECRET.to_string()))
            .collect();
        self.render(
            plan,
            settings,
            &StackInputs {
                cluster_name: "disco-plan",
                key_name: "disco-plan",
                ssh_public_key: own_public_key.unwrap_or(PLACEHOLDER_PUBLIC_KEY),
                cluster_secret: PLACEHOLDER_SECRET,
                secrets: &secrets,
            },
        )
    }

    fn render_one(&self, name: &str, context: &tera::Context) -> Result<String, TemplateError> {
        self.tera
            .render(name, context)
            .map_err(|e| TemplateError::Render {
                name: name.into(),
                message: tera_message(&e),
            })
    }

    fn render_json(&self, name: &str, context: &tera::Context) -> Result<Value, TemplateError> {
        let text = self.render_one(name, context)?;
        serde_json::from_str(&text).map_err(|e| TemplateError::Render {
            name: name.into(),
            message: format!("does not render to JSON: {e}"),
        })
    }
}

/// The catalog's installer names (`install.sh`, `install-<role>.sh`).
fn is_installer(file: &str) -> bool {
    file == "install.sh" || file.starts_with("install-") && file.ends_with(".sh")
}

/// Whether `file` is the local backend's check script of `framework`.
fn is_local_check(plan: &ClusterPlan, framework: &str, file: &str) -> bool {
    plan.local_needs.iter().any(|need| {
        need.framework == framework
            && need
                .check
                .as_ref()
                .and_then(|c| c.file_name())
                .is_some_and(|c| c == file)
    })
}

/// JSON text with every non-ASCII character escaped (`\uXXXX`): Heat puts a node's files in a
/// MIME part, and non-ASCII text there is base64-encoded, a third more user data.
fn ascii_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Tera's error and its causes in one line.
fn tera_message(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// A shell script without its comment lines (a third of the frameworks' scripts, and room
/// in a node's user data): lines whose first word starts with `#`, outside quotes, except
/// the `#!` line. Everything else is kept byte for byte, so the script means the same. After
/// a here-document (`<<`), nothing more is removed.
fn without_comment_lines(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    // Quoting carried from line to line: a string may span lines.
    let (mut single, mut double) = (false, false);
    let mut heredoc = false;
    for line in script.split_inclusive('\n') {
        let comment = line.trim_start().starts_with('#') && !line.starts_with("#!");
        if comment && !single && !double && !heredoc {
            continue;
        }
        out.push_str(line);
        if line.contains("<<") && !line.contains("<<<") {
            heredoc = true;
        }
        let mut escaped = false;
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if !single => escaped = true,
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double => break,
                _ => {}
            }
        }
    }
    out
}

/// gzip (no timestamp, so output is deterministic) then base64: cloud-init's `gz+b64`.
fn gzip_base64(content: &[u8]) -> String {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(content);
    let compressed = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterSpec, SpecLimits};
    use crate::frameworks::Catalog;
    use crate::occi::AttrValue;
    use std::io::Read;
    use uuid::Uuid;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn settings() -> StackSettings {
        StackSettings {
            network: ClusterNetwork::parse("10.20.0.0/16").unwrap(),
            dns_nameservers: vec!["192.0.2.53".into()],
            ssh_cidr: "0.0.0.0/0".into(),
            log_cidr: None,
            service_cidr: None,
            gateway_cidr: Some("198.51.100.7/32".into()),
            agent_port: 8085,
            login_user: "debian".into(),
            wait_timeout_secs: 1800,
            max_slave_count: 16,
            log_port: 8084,
            mirror: None,
            defaults: BTreeMap::from([("masterimage".into(), "ubuntu-24.04".into())]),
        }
    }

    fn render(attributes: &[(&str, &str)]) -> StackDocument {
        try_render(attributes).unwrap()
    }

    fn try_render(attributes: &[(&str, &str)]) -> Result<StackDocument, TemplateError> {
        render_with(&settings(), attributes)
    }

    fn render_with(
        settings: &StackSettings,
        attributes: &[(&str, &str)],
    ) -> Result<StackDocument, TemplateError> {
        let catalog = Catalog::load(&root().join("frameworks")).unwrap();
        let attributes: Vec<(String, AttrValue)> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), AttrValue::String(v.to_string())))
            .collect();
        let spec = ClusterSpec::parse(
            &attributes,
            &catalog,
            SpecLimits {
                max_slave_count: 16,
            },
        )
        .unwrap();
        let plan = ClusterPlan::build(Uuid::nil(), &spec, &catalog).unwrap();
        let templates = HeatTemplates::load(
            &root().join("templates/heat"),
            &root().join("frameworks"),
            None,
        )
        .unwrap();
        templates.render(
            &plan,
            settings,
            &StackInputs {
                cluster_name: "disco-000000000000",
                key_name: "disco-000000000000",
                ssh_public_key: "ssh-ed25519 AAAA test",
                cluster_secret: "s3cret",
                secrets: &[],
            },
        )
    }

    /// The framework files a role's nodes get: path under /opt/disco/frameworks → content,
    /// from the bundle cloud-init writes, decoded as the boot script does.
    fn bundle(document: &StackDocument, role: Role) -> BTreeMap<String, String> {
        let (template, resource, _) = document.node_template(role);
        let entries = template["resources"][resource]["properties"]["cloud_config"]["write_files"]
            .as_array()
            .unwrap()
            .clone();
        let entry = entries
            .iter()
            .find(|f| f["path"] == NODE_BUNDLE)
            .expect("the bundle is written");
        assert_eq!(entry["encoding"], "gz+b64");
        let name = entry["content"]["get_file"].as_str().unwrap();
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(&document.files[name])
            .unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut text)
            .unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        value
            .as_object()
            .unwrap()
            .iter()
            .map(|(path, file)| {
                (
                    format!("/opt/disco/frameworks/{path}"),
                    file["content"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The paths a role's nodes get framework files at.
    fn paths(document: &StackDocument, role: Role) -> Vec<String> {
        bundle(document, role).into_keys().collect()
    }

    const ALL: &str = "{'shell': '', 'spark': '', 'hadoop': '', 'jupyter': '', 'zeppelin': '', 'docker-swarm': '', 'mongodb': ''}";

    #[test]
    fn each_role_gets_its_own_installers_and_no_manifest_or_local_check() {
        let document = render(&[
            ("icclab.disco.dependencies.inject", "{'spark': ''}"),
            ("icclab.disco.components.heat.slavecount", "0"),
        ]);
        let master = paths(&document, Role::Master);
        let slave = paths(&document, Role::Slave);
        assert!(master.contains(&"/opt/disco/frameworks/spark/install-master.sh".to_string()));
        assert!(master.contains(&"/opt/disco/frameworks/spark/common.sh".to_string()));
        assert!(master.contains(&"/opt/disco/frameworks/lib/runtime.sh".to_string()));
        assert!(!master.iter().any(|p| p.ends_with("install-slave.sh")));
        // No slave now, but a slave added later gets its installer and steps.
        assert!(slave.contains(&"/opt/disco/frameworks/spark/install-slave.sh".to_string()));
        assert!(!slave.iter().any(|p| p.ends_with("install-master.sh")));
        for path in master.iter().chain(&slave) {
            assert!(
                !path.ends_with("manifest.toml") && !path.ends_with("local-check.sh"),
                "{path}"
            );
        }
        assert!(document.files[SLAVE_TEMPLATE].contains("spark:install-slave.sh"));
    }

    #[test]
    fn every_framework_at_the_most_slaves_fits_novas_user_data_limit() {
        let document = render(&[
            ("icclab.disco.dependencies.inject", ALL),
            ("icclab.disco.components.heat.slavecount", "16"),
        ]);
        for role in [Role::Master, Role::Slave] {
            let size = document.user_data_size(role);
            assert!(size < NOVA_USER_DATA_MAX, "{role:?}: {size}");
        }
    }

    #[test]
    fn parameters_too_large_for_nova_are_refused_saying_which_part_is_large() {
        let command = "echo hello; ".repeat(5000);
        let refused = try_render(&[
            ("icclab.disco.dependencies.inject", "{'shell': ''}"),
            ("icclab.disco.components.shell.command", &command),
        ])
        .unwrap_err();
        let message = refused.to_string();
        assert!(matches!(refused, TemplateError::TooLarge(_)));
        assert!(
            message.contains("more than the 64 KiB Nova accepts")
                && message.contains("parameters take 58 KiB"),
            "{message}"
        );
    }

    #[test]
    fn the_installers_environment_is_ascii_json_of_the_same_values() {
        let value = json!({"DISCO_SHELL_COMMAND": "ü 日本 🚀 \"q\" \\ \u{7f}"});
        let text = ascii_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains("\\ud83d\\ude80"), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn user_values_are_parameters_and_never_in_the_template() {
        let hostile = "x\" }, \"evil\": {\"type\": \"OS::Nova::Server";
        let document = render(&[
            ("icclab.disco.components.heat.masterimage", hostile),
            ("icclab.disco.components.heat.slavecount", "2"),
            ("icclab.disco.dependencies.inject", "{'shell': ''}"),
            ("icclab.disco.components.shell.command", "{{ 7*7 }} $(id)"),
        ]);
        assert_eq!(document.parameters["master_image"], json!(hostile));
        assert_eq!(document.parameters["slave_count"], json!(2));
        // A network the user did not name is named after the cluster.
        assert_eq!(
            document.parameters["network_name"],
            json!("disco-000000000000")
        );
        let template = document.template.to_string();
        assert!(!template.contains("evil"));
        assert!(!template.contains("$(id)"));
        let environment: Value = serde_json::from_str(
            document.parameters["installer_environment"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(environment["DISCO_SHELL_COMMAND"], json!("{{ 7*7 }} $(id)"));
        assert_eq!(
            environment["DISCO_SLAVE_ADDRS"],
            json!("10.20.1.0 10.20.1.1")
        );
        assert_eq!(
            document.template["resources"].as_object().unwrap().len(),
            15
        );
    }

    /// The security group's rules as Heat resolves them: (protocol, port, network), the
    /// rule between the cluster's own nodes as ("any", 0, "cluster").
    fn opened(document: &StackDocument) -> Vec<(String, u64, String)> {
        let rules = document.template["resources"]["security_group"]["properties"]["rules"]
            .as_array()
            .unwrap()
            .clone();
        rules
            .iter()
            .map(|r| {
                if r["remote_mode"] == "remote_group_id" {
                    assert!(r.get("remote_group_id").is_none(), "{r}");
                    return ("any".into(), 0, "cluster".into());
                }
                let parameter = r["remote_ip_prefix"]["get_param"].as_str().unwrap();
                assert_eq!(r["port_range_min"], r["port_range_max"]);
                (
                    r["protocol"].as_str().unwrap().to_string(),
                    r["port_range_min"].as_u64().unwrap(),
                    document.parameters[parameter].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    const GATEWAY: &str = "198.51.100.7/32";

    #[test]
    fn by_default_the_world_reaches_only_ssh_and_the_frameworks_only_the_gateway() {
        let document = render(&[("icclab.disco.dependencies.inject", ALL)]);
        let opened = opened(&document);
        let tcp = |port: u64, net: &str| ("tcp".to_string(), port, net.to_string());
        assert_eq!(opened[0], ("any".into(), 0, "cluster".into()));
        assert_eq!(opened[1], tcp(22, "0.0.0.0/0"));
        let world: Vec<_> = opened.iter().filter(|r| r.2 == "0.0.0.0/0").collect();
        assert_eq!(world, vec![&tcp(22, "0.0.0.0/0")]);
        // The agent, the log and every framework port a client uses: from the gateway only.
        for port in [8085, 8084, 7077, 8080, 8088, 9870, 8070, 8888, 27017] {
            assert!(opened.contains(&tcp(port, GATEWAY)), "{port}: {opened:?}");
        }
        assert!(opened[2..].iter().all(|r| r.2 == GATEWAY), "{opened:?}");
        // Neither log_cidr nor service_cidr is a parameter when unset.
        for name in ["log_cidr", "service_cidr"] {
            assert!(!document.parameters.contains_key(name));
            assert!(document.template["parameters"].get(name).is_none());
        }
    }

    #[test]
    fn internal_ports_are_open_only_between_the_nodes_even_with_a_service_cidr() {
        let mut settings = settings();
        settings.service_cidr = Some("203.0.113.0/24".into());
        let document = render_with(
            &settings,
            &[(
                "icclab.disco.dependencies.inject",
                "{'docker-swarm': '', 'hadoop': ''}",
            )],
        )
        .unwrap();
        let opened = opened(&document);
        for (protocol, port) in [
            ("tcp", 2377),
            ("tcp", 7946),
            ("udp", 7946),
            ("udp", 4789),
            ("tcp", 8031),
            ("tcp", 13562),
        ] {
            assert!(
                !opened.iter().any(|r| r.0 == protocol && r.1 == port),
                "{protocol}/{port}: {opened:?}"
            );
        }
        assert!(opened.contains(&("tcp".into(), 9870, "203.0.113.0/24".into())));
        assert!(opened.contains(&("tcp".into(), 9870, GATEWAY.into())));
        assert!(opened.contains(&("any".into(), 0, "cluster".into())));
    }

    #[test]
    fn an_operators_log_and_service_networks_open_the_log_and_the_frameworks_ports_to_them() {
        let mut settings = settings();
        settings.log_cidr = Some("192.0.2.0/24".into());
        settings.service_cidr = Some("203.0.113.0/24".into());
        let document = render_with(
            &settings,
            &[("icclab.disco.dependencies.inject", "{'spark': ''}")],
        )
        .unwrap();
        let opened = opened(&document);
        let tcp = |port: u64, net: &str| ("tcp".to_string(), port, net.to_string());
        assert!(opened.contains(&tcp(8084, "192.0.2.0/24")));
        assert!(!opened.contains(&tcp(8084, "203.0.113.0/24")));
        assert!(!opened.contains(&tcp(8085, "203.0.113.0/24")));
        for port in [7077, 8080, 8081, 18080, 4040] {
            assert!(opened.contains(&tcp(port, "203.0.113.0/24")), "{port}");
            assert!(opened.contains(&tcp(port, GATEWAY)), "{port}");
        }
        assert!(!opened.iter().any(|r| r.2 == "0.0.0.0/0" && r.1 != 22));
    }

    #[test]
    fn only_the_chosen_frameworks_files_are_shipped_and_they_unpack_to_the_sources() {
        let document = render(&[("icclab.disco.dependencies.inject", "{'spark': ''}")]);
        let master = bundle(&document, Role::Master);
        for (path, source) in [
            (
                "spark/install-master.sh",
                "frameworks/spark/install-master.sh",
            ),
            ("lib/deploy.sh", "frameworks/lib/deploy.sh"),
            ("lib/hooks/driver.sh", "frameworks/lib/hooks/driver.sh"),
            ("spark/hooks/resume.sh", "frameworks/spark/hooks/resume.sh"),
            (
                "base/install-master.sh",
                "frameworks/base/install-master.sh",
            ),
            ("lib/agent.py", "frameworks/lib/agent.py"),
        ] {
            let shipped = master
                .get(&format!("/opt/disco/frameworks/{path}"))
                .unwrap_or_else(|| panic!("{path} is not shipped"));
            let source = std::fs::read_to_string(root().join(source)).unwrap();
            // Scripts travel without their comment lines; other files as they are.
            let expected = if path.ends_with(".sh") {
                without_comment_lines(&source)
            } else {
                source
            };
            assert_eq!(*shipped, expected);
        }
        assert!(!master.keys().any(|p| p.contains("/shell/")));
        assert!(document.files.contains_key(SLAVE_TEMPLATE));
        assert!(document.installers["master"]
            .contains("base:install-master.sh spark:install-master.sh"));
    }

    #[test]
    fn comment_lines_go_and_everything_else_stays_as_it_was() {
        let script = "#!/usr/bin/env bash\n# a comment\n  # indented\necho hi # kept\npython3 -c '\n# python keeps this\nprint(1)\n'\necho \"a\n# inside a string\n\"\nx='it'\\''s' # quotes\n# gone again\ncat <<EOF\n# data\nEOF\n# after a here-document: kept\n";
        assert_eq!(
            without_comment_lines(script),
            "#!/usr/bin/env bash\necho hi # kept\npython3 -c '\n# python keeps this\nprint(1)\n'\necho \"a\n# inside a string\n\"\nx='it'\\''s' # quotes\ncat <<EOF\n# data\nEOF\n# after a here-document: kept\n"
        );
    }

    #[test]
    fn every_framework_script_without_its_comments_is_still_valid_bash() {
        for file in glob_scripts(&root().join("frameworks")) {
            let stripped = without_comment_lines(&std::fs::read_to_string(&file).unwrap());
            let output = std::process::Command::new("bash")
                .args(["-n", "-c", &stripped])
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Every `.sh` under `dir`, two levels deep (frameworks and their hooks).
    fn glob_scripts(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(glob_scripts(&path));
            } else if path.extension().is_some_and(|e| e == "sh") {
                found.push(path);
            }
        }
        found
    }

    #[test]
    fn the_network_must_be_a_slash_16() {
        assert!(ClusterNetwork::parse("10.20.0.0/16").is_ok());
        for bad in ["10.20.0.0/24", "10.20.1.0/16", "10.20.0.0", "x/16"] {
            assert!(ClusterNetwork::parse(bad).is_err(), "{bad}");
        }
    }
}
