//! The framework manifest (`frameworks/<name>/manifest.toml`) and typed parameters.

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
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::String(s) => f.write_str(s),
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

    /// Types and validates a user-supplied value. The error says what is accepted.
    pub fn parse(&self, raw: RawParam<'_>) -> Result<ParamValue, String> {
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

    #[test]
    fn enum_without_values_is_a_declaration_error() {
        let p = spec("type = \"enum\"\ndescription = \"r\"");
        assert!(p.check_declaration().is_err());
    }
}
