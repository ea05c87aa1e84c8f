//! The framework manifest (`frameworks/<name>/manifest.toml`) and typed parameters.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where in the cluster an installer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Master,
    Slave,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Slave => "slave",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A manifest as written on disk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Installed in every cluster, whether requested or not (the base layer).
    #[serde(default)]
    pub always: bool,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Installed after these when they are chosen too, without requiring them.
    #[serde(default)]
    pub after: Vec<String>,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub local: LocalRequirements,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
    /// Secrets disco generates for each cluster (e.g. an admin password): passed to the
    /// installers as `DISCO_<FRAMEWORK>_<NAME>` and shown to the owner once the cluster is ready.
    #[serde(default)]
    pub generated: BTreeMap<String, GeneratedSecret>,
    /// Scripts run when a built cluster changes, by event and by the role of the node they
    /// run on (see [`HookEvent`]). Scripts live in the framework's `hooks/` directory
    /// ([`super::HOOKS_DIR`]).
    #[serde(default)]
    pub hooks: BTreeMap<HookEvent, BTreeMap<Role, String>>,
    /// Web UIs the framework serves, reached through disco's gateway (`[[ui]]` entries).
    #[serde(default)]
    pub ui: Vec<UiDecl>,
}

impl Manifest {
    /// Checks the `[[ui]]` entries against the rest of the manifest: roles it runs on, the
    /// parameters they name, and names unique within the framework.
    pub fn check_uis(&self) -> Result<(), String> {
        for (i, ui) in self.ui.iter().enumerate() {
            let name = ui.name.as_str();
            if self.ui[..i].iter().any(|other| other.name == ui.name) {
                return Err(format!("ui `{name}` is declared twice"));
            }
            if !self.roles.contains(&ui.role) {
                return Err(format!(
                    "ui `{name}` runs on {}, but {} does not run there",
                    ui.role, self.name
                ));
            }
            let typed = |parameter: &str, wanted: ParamType, what: &str| match self
                .parameters
                .get(parameter)
            {
                Some(spec) if spec.param_type == wanted => Ok(()),
                _ => Err(format!(
                    "ui `{name}` names `{parameter}`, which is not {what} parameter of {}",
                    self.name
                )),
            };
            if let Some(parameter) = &ui.port_parameter {
                typed(parameter, ParamType::Integer, "an integer")?;
            }
            if let Some(parameter) = &ui.when {
                typed(parameter, ParamType::Boolean, "a boolean")?;
            }
            if ui.rewrite_links && ui.prefix != PrefixMode::Strip {
                return Err(format!(
                    "ui `{name}` has rewrite_links, which needs prefix = \"strip\" (a UI that \
                     keeps the prefix writes its own links)"
                ));
            }
        }
        Ok(())
    }
}

/// A web UI a framework serves, declared in its manifest as a `[[ui]]` entry. disco's gateway
/// serves it at `/disco/<id>/ui/<name>/`; a slave UI once per slave, as `<name>-<N>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiDecl {
    pub name: UiName,
    /// The nodes it runs on.
    pub role: Role,
    pub port: u16,
    /// An integer parameter of the framework that moves the UI off `port` (Jupyter's `port`).
    #[serde(default)]
    pub port_parameter: Option<String>,
    /// Whether pages open WebSockets (Jupyter kernels, Zeppelin notebooks).
    #[serde(default)]
    pub websocket: bool,
    /// How the UI lives under its path prefix.
    pub prefix: PrefixMode,
    /// Whether the gateway puts the prefix on its HTML pages' root-relative links (`href`,
    /// `src`, `action` starting with `/`), for a UI that cannot be told its prefix (YARN,
    /// HDFS); only with `prefix = "strip"`.
    #[serde(default)]
    pub rewrite_links: bool,
    /// A boolean parameter of the framework that must be true for the UI to run.
    #[serde(default)]
    pub when: Option<String>,
    /// Frameworks whose presence in the cluster means the UI does not run (Spark's standalone
    /// master is not started when Spark runs on Hadoop's YARN).
    #[serde(default)]
    pub unless: Vec<String>,
    pub description: String,
}

/// How a UI is told its path prefix, `/disco/<id>/ui/<name>/`; installers read the part before
/// `<name>` from `DISCO_UI_PREFIX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefixMode {
    /// The framework serves its pages under the whole prefix (Jupyter's `base_url`, Zeppelin's
    /// context path): requests reach it with their path unchanged.
    Keep,
    /// The framework serves at `/` (it may know the prefix for its links, as Spark's
    /// `spark.ui.reverseProxyUrl`): the gateway strips the prefix from requests and puts it
    /// back on redirects.
    Strip,
}

/// A UI's name: lower-case letters, digits and inner `-`, at most 40 characters, so that it is
/// safe in a URL path and in an attribute name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UiName(String);

impl UiName {
    pub fn parse(text: &str) -> Result<UiName, String> {
        let ok = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && !text.ends_with('-')
            && !text.contains("--");
        if ok {
            Ok(UiName(text.to_string()))
        } else {
            Err(format!(
                "`{}` is not a valid UI name: 1 to 40 lower-case letters, digits and single \
                 inner `-`, starting with a letter",
                text.chars().take(64).collect::<String>()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of this (slave) UI on slave `index`, e.g. `spark-worker-1`.
    pub fn on_slave(&self, index: usize) -> UiName {
        UiName(format!("{}-{index}", self.0))
    }
}

impl TryFrom<String> for UiName {
    type Error = String;
    fn try_from(text: String) -> Result<UiName, String> {
        UiName::parse(&text)
    }
}

impl From<UiName> for String {
    fn from(name: UiName) -> String {
        name.0
    }
}

impl fmt::Display for UiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a framework's hook runs. Every hook gets the installers' environment plus
/// `DISCO_HOOK` (the event) and `DISCO_HOOK_NODES`: the nodes concerned, as space-separated
/// `name=address` pairs. Hooks are idempotent: after a crash they may run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookEvent {
    /// Slaves were added and finished installing. `master` hooks run on the master (e.g. add
    /// the new members to a replica set); `slave` hooks run on each new slave afterwards.
    Join,
    /// Slaves are about to be removed (highest index first). `master` hooks run first, on the
    /// master (e.g. decommission a DataNode and wait until its blocks moved); then `slave`
    /// hooks on each leaving slave (e.g. leave a swarm). Then the slave's processes stop.
    Leave,
    /// The cluster was resumed: each node's services were restarted. `master` hooks run on the
    /// master, then `slave` hooks on every slave (e.g. wait until a worker re-registered).
    Resume,
}

impl HookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Join => "join",
            HookEvent::Leave => "leave",
            HookEvent::Resume => "resume",
        }
    }
}

/// A secret disco generates per cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedSecret {
    pub description: String,
}

/// A port the framework listens on. On a cloud, every port is open between the cluster's own
/// nodes; one that is not `internal` is also open to disco's gateway (and to
/// `openstack.service_cidr` when an operator sets it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub port: u16,
    #[serde(default = "default_protocol")]
    pub protocol: String,
    pub description: String,
    /// Only the cluster's nodes talk to it (e.g. Swarm's gossip): never opened beyond them.
    #[serde(default)]
    pub internal: bool,
}

fn default_protocol() -> String {
    "tcp".to_string()
}

/// What the machine must have for the framework to run on the local backend.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalRequirements {
    /// Executables that must be on `PATH`.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Set when the framework cannot run on the local backend at all, saying why.
    #[serde(default)]
    pub unsupported: Option<String>,
    /// A script in the framework's directory, run at request time: it exits non-zero with a
    /// sentence saying what the machine lacks, or prints `KEY=VALUE` settings (e.g. where
    /// Spark is) that the installers then receive.
    #[serde(default)]
    pub check: Option<String>,
}

/// A typed, validated framework parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    #[serde(rename = "type")]
    pub param_type: ParamType,
    pub description: String,
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// For strings: the longest accepted value in bytes.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// For integers: the accepted range.
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    /// For enums: the accepted values.
    #[serde(default)]
    pub values: Vec<String>,
    /// For strings: a regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Never shown back to users or written to logs (passwords).
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    Enum,
}

/// A parameter value after validation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    String(String),
    /// The value of a `secret = true` parameter: sealed at rest, redacted in `Debug`.
    Secret(Secret),
}

impl ParamValue {
    /// The value as installers get it in their environment (a secret's text included).
    pub fn env_text(&self) -> String {
        match self {
            ParamValue::Secret(secret) => secret.expose().to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::String(s) => f.write_str(s),
            ParamValue::Secret(_) => f.write_str("(secret)"),
        }
    }
}

/// Raw input for a parameter, before typing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawParam<'a> {
    Text(&'a str),
    Integer(i64),
    Bool(bool),
}

impl ParameterSpec {
    /// Checks the manifest's own declaration: a bad one stops start-up.
    pub fn check_declaration(&self) -> Result<(), String> {
        if let Some(pattern) = &self.pattern {
            if self.param_type != ParamType::String {
                return Err("only string parameters take a `pattern`".into());
            }
            regex::Regex::new(pattern).map_err(|e| format!("pattern is invalid: {e}"))?;
        }
        if self.secret && self.param_type != ParamType::String {
            return Err("only string parameters can be `secret`".into());
        }
        match self.param_type {
            ParamType::Enum if self.values.is_empty() => {
                return Err("an enum parameter needs `values`".into())
            }
            ParamType::Integer => {
                if let (Some(min), Some(max)) = (self.min, self.max) {
                    if min > max {
                        return Err(format!("min {min} is above max {max}"));
                    }
                }
            }
            _ => {}
        }
        if let Some(default) = &self.default {
            let raw = match default {
                toml::Value::String(s) => RawParam::Text(s),
                toml::Value::Integer(i) => RawParam::Integer(*i),
                toml::Value::Boolean(b) => RawParam::Bool(*b),
                other => {
                    return Err(format!(
                        "default `{other}` is not a string, integer or boolean"
                    ))
                }
            };
            self.parse(raw)
                .map_err(|e| format!("default is invalid: {e}"))?;
        }
        Ok(())
    }

    /// The default value, typed (declarations are checked at load, so this cannot fail then).
    pub fn default_value(&self) -> Option<ParamValue> {
        let raw = match self.default.as_ref()? {
            toml::Value::String(s) => RawParam::Text(s),
            toml::Value::Integer(i) => RawParam::Integer(*i),
            toml::Value::Boolean(b) => RawParam::Bool(*b),
            _ => return None,
        };
        self.parse(raw).ok()
    }

    /// Types and validates a user-supplied value. The error says what is accepted, never the
    /// value; a `secret` parameter's value becomes a [`ParamValue::Secret`].
    pub fn parse(&self, raw: RawParam<'_>) -> Result<ParamValue, String> {
        let value = self.parse_plain(raw)?;
        Ok(match value {
            ParamValue::String(text) if self.secret => ParamValue::Secret(Secret::new(text)),
            other => other,
        })
    }

    fn parse_plain(&self, raw: RawParam<'_>) -> Result<ParamValue, String> {
        match self.param_type {
            ParamType::String => {
                let RawParam::Text(text) = raw else {
                    return Err("must be a string".into());
                };
                let limit = self.max_length.unwrap_or(4096);
                if text.len() > limit {
                    return Err(format!("is longer than {limit} bytes"));
                }
                if text.contains('\0') {
                    return Err("must not contain NUL characters".into());
                }
                if let Some(pattern) = &self.pattern {
                    let whole = format!("^(?:{pattern})$");
                    if !regex::Regex::new(&whole).is_ok_and(|r| r.is_match(text)) {
                        return Err(format!("must match {pattern}"));
                    }
                }
                Ok(ParamValue::String(text.to_string()))
            }
            ParamType::Integer => {
                let value = match raw {
                    RawParam::Integer(i) => i,
                    RawParam::Text(text) => text
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| format!("must be a whole number, not `{text}`"))?,
                    RawParam::Bool(_) => return Err("must be a whole number".into()),
                };
                if let Some(min) = self.min {
                    if value < min {
                        return Err(format!("must be at least {min}"));
                    }
                }
                if let Some(max) = self.max {
                    if value > max {
                        return Err(format!("must be at most {max}"));
                    }
                }
                Ok(ParamValue::Integer(value))
            }
            ParamType::Boolean => match raw {
                RawParam::Bool(b) => Ok(ParamValue::Bool(b)),
                RawParam::Text("true") => Ok(ParamValue::Bool(true)),
                RawParam::Text("false") => Ok(ParamValue::Bool(false)),
                _ => Err("must be true or false".into()),
            },
            ParamType::Enum => {
                let RawParam::Text(text) = raw else {
                    return Err(format!("must be one of {}", self.values.join(", ")));
                };
                if self.values.iter().any(|v| v == text) {
                    Ok(ParamValue::String(text.to_string()))
                } else {
                    Err(format!("must be one of {}", self.values.join(", ")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ParameterSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn integer_parameters_accept_quoted_numbers_as_disco_clients_send_them() {
        let p = spec("type = \"integer\"\ndescription = \"n\"\nmin = 1\nmax = 4");
        assert_eq!(p.parse(RawParam::Text("3")), Ok(ParamValue::Integer(3)));
        assert_eq!(p.parse(RawParam::Integer(4)), Ok(ParamValue::Integer(4)));
        assert!(p
            .parse(RawParam::Text("5"))
            .unwrap_err()
            .contains("at most 4"));
        assert!(p
            .parse(RawParam::Text("x"))
            .unwrap_err()
            .contains("whole number"));
    }

    #[test]
    fn string_parameters_with_a_pattern_must_match_it_whole() {
        let p = spec("type = \"string\"\ndescription = \"m\"\npattern = \"[0-9]+[mg]\"");
        assert!(p.check_declaration().is_ok());
        assert_eq!(
            p.parse(RawParam::Text("512m")),
            Ok(ParamValue::String("512m".into()))
        );
        assert!(p
            .parse(RawParam::Text("512m; rm -rf /"))
            .unwrap_err()
            .contains("must match"));
    }

    #[test]
    fn enum_parameters_name_the_accepted_values() {
        let p = spec("type = \"enum\"\ndescription = \"r\"\nvalues = [\"a\", \"b\"]");
        assert!(p.parse(RawParam::Text("c")).unwrap_err().contains("a, b"));
    }

    #[test]
    fn default_of_the_wrong_type_is_a_declaration_error() {
        let p = spec("type = \"integer\"\ndescription = \"n\"\ndefault = \"many\"");
        assert!(p.check_declaration().is_err());
    }

    fn manifest(uis: &str) -> Result<Manifest, String> {
        let text = format!(
            "name = \"fw\"\nversion = \"1\"\ndescription = \"d\"\nroles = [\"master\"]\n\
             [parameters.port]\ntype = \"integer\"\ndescription = \"p\"\n{uis}"
        );
        let manifest: Manifest = toml::from_str(&text).map_err(|e| e.to_string())?;
        manifest.check_uis()?;
        Ok(manifest)
    }

    #[test]
    fn a_ui_entry_becomes_a_typed_declaration() {
        let m = manifest(
            "[[ui]]\nname = \"notebook\"\nrole = \"master\"\nport = 8888\n\
             port_parameter = \"port\"\nwebsocket = true\nprefix = \"keep\"\n\
             description = \"n\"",
        )
        .unwrap();
        assert_eq!(m.ui[0].name.as_str(), "notebook");
        assert_eq!(m.ui[0].prefix, PrefixMode::Keep);
        assert!(m.ui[0].websocket);
        assert_eq!(m.ui[0].port_parameter.as_deref(), Some("port"));
    }

    #[test]
    fn link_rewriting_is_only_for_a_ui_whose_prefix_is_stripped() {
        let ui = |prefix: &str| {
            manifest(&format!(
                "[[ui]]\nname = \"rm\"\nrole = \"master\"\nport = 8088\nprefix = \"{prefix}\"\n\
                 rewrite_links = true\ndescription = \"r\""
            ))
        };
        assert!(ui("strip").unwrap().ui[0].rewrite_links);
        let error = ui("keep").unwrap_err();
        assert!(
            error.contains("rewrite_links") && error.contains("strip"),
            "{error}"
        );
    }

    #[test]
    fn ui_names_that_are_not_url_safe_are_refused_with_the_rule() {
        for bad in ["Spark", "a/b", "", "-x", "x-", "a b", "é", "a--b", "1ui"] {
            let error = manifest(&format!(
                "[[ui]]\nname = \"{bad}\"\nrole = \"master\"\nport = 1\nprefix = \"strip\"\n\
                 description = \"n\""
            ))
            .unwrap_err();
            assert!(error.contains("not a valid UI name"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_ui_on_a_role_the_framework_does_not_run_on_is_refused() {
        let error = manifest(
            "[[ui]]\nname = \"w\"\nrole = \"slave\"\nport = 1\nprefix = \"strip\"\n\
             description = \"n\"",
        )
        .unwrap_err();
        assert!(error.contains("does not run there"), "{error}");
    }

    #[test]
    fn a_ui_declared_twice_or_naming_a_missing_parameter_is_refused() {
        let ui = "[[ui]]\nname = \"w\"\nrole = \"master\"\nport = 1\nprefix = \"strip\"\n\
                  description = \"n\"\n";
        assert!(manifest(&format!("{ui}{ui}"))
            .unwrap_err()
            .contains("declared twice"));
        assert!(manifest(&format!("{ui}when = \"port\""))
            .unwrap_err()
            .contains("not a boolean parameter"));
        assert!(manifest(&format!("{ui}port_parameter = \"nope\""))
            .unwrap_err()
            .contains("not an integer parameter"));
        assert!(manifest(&format!("{ui}prefix2 = \"x\""))
            .unwrap_err()
            .contains("unknown field"));
    }

    #[test]
    fn enum_without_values_is_a_declaration_error() {
        let p = spec("type = \"enum\"\ndescription = \"r\"");
        assert!(p.check_declaration().is_err());
    }
}
