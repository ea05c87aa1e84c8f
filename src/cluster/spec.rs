//! `ClusterSpec`: a create request turned into typed, validated values, once, at the edge.

use super::attributes::{
    is_output, COMPONENTS_PREFIX, DEPLOYER_PASSWORD, DEPLOYER_REGION, DEPLOYER_USERNAME,
    INFRASTRUCTURE, INJECT, LIFETIME, SLAVECOUNT, SSH_PUBLIC_KEY, SUMMARY, TITLE,
};
use super::inject::parse_literal;
use super::lifetime::Lifetime;
use super::state::Power;
use crate::frameworks::{Catalog, ParamValue, RawParam};
use crate::occi::AttrValue;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Longest accepted value of a free-text attribute (names, titles).
const MAX_TEXT: usize = 1024;

/// The validated request for a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub slave_count: u32,
    /// Images, flavors and network names by DISCO's short names (`masterimage`, …).
    pub infrastructure: BTreeMap<String, String>,
    pub region: Option<String>,
    pub deployer_username: Option<String>,
    /// The caller's own public key (OpenSSH format, normalised), if they brought one.
    #[serde(default)]
    pub ssh_public_key: Option<String>,
    /// Requested frameworks with the parameters the user gave (defaults are not stored).
    pub frameworks: BTreeMap<String, BTreeMap<String, ParamValue>>,
    /// How long the cluster may live, from its creation; none: until it is deleted.
    #[serde(default)]
    pub lifetime: Option<Lifetime>,
    /// Whether its processes should run (suspend and resume change this).
    #[serde(default)]
    pub power: Power,
}

/// Limits the operator configures.
#[derive(Debug, Clone, Copy)]
pub struct SpecLimits {
    pub max_slave_count: u32,
}

/// A request that cannot become a cluster; the message names the attribute and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn fail<T>(message: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(message.into()))
}

fn text(name: &str, value: &AttrValue) -> Result<String, SpecError> {
    let AttrValue::String(s) = value else {
        return fail(format!("{name} must be a string"));
    };
    if s.len() > MAX_TEXT {
        return fail(format!("{name} is longer than {MAX_TEXT} bytes"));
    }
    if s.chars().any(char::is_control) {
        return fail(format!(
            "{name} must not contain control characters (newlines, tabs, …)"
        ));
    }
    Ok(s.clone())
}

fn raw_param(value: &AttrValue) -> Option<RawParam<'_>> {
    match value {
        AttrValue::String(s) => Some(RawParam::Text(s)),
        AttrValue::Integer(i) => Some(RawParam::Integer(*i)),
        AttrValue::Bool(b) => Some(RawParam::Bool(*b)),
        AttrValue::Float(_) | AttrValue::Json(_) => None,
    }
}

fn json_to_attr(value: &serde_json::Value) -> AttrValue {
    match value {
        serde_json::Value::String(s) => AttrValue::String(s.clone()),
        serde_json::Value::Bool(b) => AttrValue::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Integer(i),
            None => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => AttrValue::Json(other.clone()),
    }
}

impl ClusterSpec {
    /// Builds a spec from a create request's attributes.
    pub fn parse(
        attributes: &[(String, AttrValue)],
        catalog: &Catalog,
        limits: SpecLimits,
    ) -> Result<ClusterSpec, SpecError> {
        let mut spec = ClusterSpec {
            title: None,
            summary: None,
            slave_count: 0,
            infrastructure: BTreeMap::new(),
            region: None,
            deployer_username: None,
            ssh_public_key: None,
            frameworks: BTreeMap::new(),
            lifetime: None,
            power: Power::Running,
        };
        let mut unknown = Vec::new();
        // (framework, parameter, value, attribute name) gathered before typing.
        let mut parameters: Vec<(String, String, AttrValue, String)> = Vec::new();
        for (name, value) in attributes {
            match name.as_str() {
                TITLE => spec.title = Some(text(name, value)?),
                SUMMARY => spec.summary = Some(text(name, value)?),
                SLAVECOUNT => spec.slave_count = parse_slave_count(value, limits)?,
                LIFETIME => spec.lifetime = Some(parse_lifetime(value)?),
                DEPLOYER_USERNAME => spec.deployer_username = Some(text(name, value)?),
                DEPLOYER_REGION => spec.region = Some(text(name, value)?),
                SSH_PUBLIC_KEY => spec.ssh_public_key = Some(parse_public_key(value)?),
                DEPLOYER_PASSWORD => {
                    // Accepted for DISCO compatibility, used only for authentication, never kept.
                    if !matches!(value, AttrValue::String(_)) {
                        return fail(format!("{name} must be a string"));
                    }
                }
                INJECT => {
                    for (framework, params) in parse_inject(value)? {
                        spec.frameworks.entry(framework.clone()).or_default();
                        for (param, value) in params {
                            let attribute = format!("{COMPONENTS_PREFIX}{framework}.{param}");
                            parameters.push((framework.clone(), param, value, attribute));
                        }
                    }
                }
                _ if is_output(name) => {
                    return fail(format!(
                        "{name} is reported by disco and cannot be set by a request"
                    ))
                }
                _ => {
                    let Some(rest) = name.strip_prefix(COMPONENTS_PREFIX) else {
                        unknown.push(name.clone());
                        continue;
                    };
                    let Some((component, param)) = rest.split_once('.') else {
                        unknown.push(name.clone());
                        continue;
                    };
                    if component == "heat" {
                        if INFRASTRUCTURE.iter().any(|(short, _)| *short == param) {
                            spec.infrastructure
                                .insert(param.to_string(), text(name, value)?);
                        } else {
                            unknown.push(name.clone());
                        }
                        continue;
                    }
                    if catalog.get(component).is_none() {
                        let error = catalog.find(component).unwrap_err();
                        return fail(format!("{name}: {error}"));
                    }
                    parameters.push((
                        component.to_string(),
                        param.to_string(),
                        value.clone(),
                        name.clone(),
                    ));
                }
            }
        }
        if !unknown.is_empty() {
            return fail(format!(
                "unknown attribute{} {} (GET /-/ lists the accepted ones)",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ));
        }
        let requested: BTreeSet<String> = spec.frameworks.keys().cloned().collect();
        catalog
            .resolve_install_order(&requested)
            .map_err(|e| SpecError(format!("{INJECT}: {e}")))?;
        for (framework_name, param, value, attribute) in parameters {
            let framework = catalog
                .find(&framework_name)
                .map_err(|e| SpecError(format!("{attribute}: {e}")))?;
            let Some(declared) = framework.manifest.parameters.get(&param) else {
                let known: Vec<&str> = framework
                    .manifest
                    .parameters
                    .keys()
                    .map(String::as_str)
                    .collect();
                return fail(format!(
                    "unknown attribute {attribute}: {framework_name} has {}",
                    if known.is_empty() {
                        "no parameters".to_string()
                    } else {
                        format!("parameters {}", known.join(", "))
                    }
                ));
            };
            let typed = raw_param(&value)
                .ok_or_else(|| "has a value of the wrong kind".to_string())
                .and_then(|raw| declared.parse(raw))
                .map_err(|e| SpecError(format!("{attribute} {e}")))?;
            let params = spec.frameworks.entry(framework_name).or_default();
            if params.insert(param, typed).is_some() {
                return fail(format!(
                    "{attribute} is given twice (in inject and as an attribute)"
                ));
            }
        }
        Ok(spec)
    }

    /// The inject attribute as disco shows it back: JSON of frameworks → non-secret params.
    pub fn inject_json(&self, catalog: &Catalog) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (framework, params) in &self.frameworks {
            let mut shown = serde_json::Map::new();
            for (name, value) in params {
                let secret = catalog
                    .get(framework)
                    .and_then(|f| f.manifest.parameters.get(name))
                    .is_some_and(|p| p.secret);
                if !secret {
                    shown.insert(
                        name.clone(),
                        serde_json::to_value(value).unwrap_or_default(),
                    );
                }
            }
            map.insert(framework.clone(), serde_json::Value::Object(shown));
        }
        serde_json::Value::Object(map)
    }
}

/// An OpenSSH public key line (`ssh-ed25519 AAAA… comment`), re-encoded so that nothing but
/// the key reaches a node.
fn parse_public_key(value: &AttrValue) -> Result<String, SpecError> {
    let text = text(SSH_PUBLIC_KEY, value)?;
    let key = ssh_key::PublicKey::from_openssh(text.trim()).map_err(|e| {
        SpecError(format!(
            "{SSH_PUBLIC_KEY} is not an OpenSSH public key such as `ssh-ed25519 AAAA… you@host` ({e})"
        ))
    })?;
    key.to_openssh()
        .map_err(|e| SpecError(format!("{SSH_PUBLIC_KEY}: {e}")))
}

/// `icclab.disco.lifetime`: seconds as a number, or text such as `2h`.
pub fn parse_lifetime(value: &AttrValue) -> Result<Lifetime, SpecError> {
    let parsed = match value {
        AttrValue::Integer(i) if *i > 0 => Ok(Lifetime::from_secs(*i as u64)),
        AttrValue::Integer(_) => Err("a lifetime must be longer than 0 s".to_string()),
        AttrValue::String(s) => Lifetime::parse(s),
        _ => Err("a lifetime is seconds or text such as 2h".to_string()),
    };
    parsed.map_err(|e| SpecError(format!("{LIFETIME}: {e}")))
}

pub fn parse_slave_count(value: &AttrValue, limits: SpecLimits) -> Result<u32, SpecError> {
    let number = match value {
        AttrValue::Integer(i) => *i,
        AttrValue::String(s) => s.trim().parse::<i64>().map_err(|_| {
            SpecError(format!(
                "{SLAVECOUNT} must be a whole number, not `{}`",
                s.chars().take(40).collect::<String>()
            ))
        })?,
        _ => return fail(format!("{SLAVECOUNT} must be a whole number")),
    };
    if number < 0 {
        return fail(format!("{SLAVECOUNT} must not be negative (got {number})"));
    }
    if number > i64::from(limits.max_slave_count) {
        return fail(format!(
            "{SLAVECOUNT} is {number}, above this service's maximum of {}",
            limits.max_slave_count
        ));
    }
    Ok(number as u32)
}

type InjectedParams = Vec<(String, AttrValue)>;

/// The inject attribute: a dictionary of framework names to `''`, `{}`, `None` or parameters.
fn parse_inject(value: &AttrValue) -> Result<Vec<(String, InjectedParams)>, SpecError> {
    let parsed = match value {
        AttrValue::String(s) => parse_literal(s)
            .map_err(|e| SpecError(format!("{INJECT} is not a dictionary literal: {e}")))?,
        AttrValue::Json(v) => v.clone(),
        _ => {
            return fail(format!(
                "{INJECT} must be a dictionary like {{'spark': ''}}"
            ))
        }
    };
    let serde_json::Value::Object(map) = parsed else {
        return fail(format!(
            "{INJECT} must be a dictionary of frameworks like {{'spark': ''}}, not a {}",
            match parsed {
                serde_json::Value::Array(_) => "list",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::Bool(_) => "boolean",
                _ => "null",
            }
        ));
    };
    let mut frameworks = Vec::new();
    for (name, params) in map {
        let params = match params {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(s) if s.is_empty() => Vec::new(),
            serde_json::Value::Object(params) => params
                .iter()
                .map(|(k, v)| (k.clone(), json_to_attr(v)))
                .collect(),
            _ => {
                return fail(format!(
                    "{INJECT}: the value for `{}` must be '' or a dictionary of parameters",
                    name.chars().take(40).collect::<String>()
                ))
            }
        };
        frameworks.push((name, params));
    }
    Ok(frameworks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frameworks::repository_catalog as catalog;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, AttrValue)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), AttrValue::String(v.to_string())))
            .collect()
    }

    const LIMITS: SpecLimits = SpecLimits { max_slave_count: 8 };

    fn parse(pairs: &[(&str, &str)]) -> Result<ClusterSpec, SpecError> {
        ClusterSpec::parse(&attrs(pairs), &catalog(), LIMITS)
    }

    #[test]
    fn quoted_slavecount_becomes_a_number() {
        assert_eq!(parse(&[(SLAVECOUNT, "2")]).unwrap().slave_count, 2);
    }

    #[test]
    fn slavecount_that_is_not_a_number_is_rejected_naming_it() {
        let e = parse(&[(SLAVECOUNT, "two")]).unwrap_err();
        assert!(
            e.0.contains(SLAVECOUNT) && e.0.contains("whole number"),
            "{e}"
        );
    }

    #[test]
    fn negative_slavecount_is_rejected() {
        assert!(parse(&[(SLAVECOUNT, "-1")])
            .unwrap_err()
            .0
            .contains("negative"));
    }

    #[test]
    fn slavecount_above_the_limit_is_rejected() {
        assert!(parse(&[(SLAVECOUNT, "9")])
            .unwrap_err()
            .0
            .contains("maximum of 8"));
    }

    #[test]
    fn unknown_attributes_are_all_named() {
        let e = parse(&[
            ("foo.bar", "1"),
            ("icclab.disco.components.heat.colour", "x"),
        ])
        .unwrap_err();
        assert!(
            e.0.contains("foo.bar") && e.0.contains("heat.colour"),
            "{e}"
        );
    }

    #[test]
    fn inject_in_python_form_selects_frameworks() {
        let spec = parse(&[(INJECT, "{'shell': ''}")]).unwrap();
        assert!(spec.frameworks.contains_key("shell"));
    }

    #[test]
    fn inject_that_is_not_a_dict_is_rejected() {
        for bad in ["['shell']", "'shell'", "42", "{'shell': 3}"] {
            assert!(parse(&[(INJECT, bad)]).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn unknown_framework_is_rejected_with_the_available_ones() {
        let e = parse(&[(INJECT, "{'sparkle': ''}")]).unwrap_err();
        assert!(
            e.0.contains("unknown framework `sparkle`") && e.0.contains("shell"),
            "{e}"
        );
    }

    #[test]
    fn framework_parameters_are_typed_and_unknown_ones_rejected() {
        let spec = parse(&[("icclab.disco.components.shell.command", "echo hi")]).unwrap();
        assert_eq!(
            spec.frameworks["shell"]["command"],
            ParamValue::String("echo hi".into())
        );
        let e = parse(&[("icclab.disco.components.shell.colour", "x")]).unwrap_err();
        assert!(
            e.0.contains("unknown attribute icclab.disco.components.shell.colour"),
            "{e}"
        );
    }

    #[test]
    fn a_secret_parameter_is_typed_secret_and_debug_never_shows_it() {
        let spec = parse(&[("icclab.disco.components.jupyter.password", "hunter2")]).unwrap();
        assert!(matches!(
            &spec.frameworks["jupyter"]["password"],
            ParamValue::Secret(s) if s.expose() == "hunter2"
        ));
        assert!(!format!("{spec:?}").contains("hunter2"));
        assert!(!spec.inject_json(&catalog()).to_string().contains("hunter2"));
    }

    #[test]
    fn the_password_is_accepted_but_never_kept() {
        let spec = parse(&[(DEPLOYER_PASSWORD, "hunter2")]).unwrap();
        assert!(!serde_json::to_string(&spec).unwrap().contains("hunter2"));
    }

    #[test]
    fn a_password_that_is_not_text_is_refused() {
        for value in [
            AttrValue::Integer(42),
            AttrValue::Json(serde_json::json!({"a": 1})),
        ] {
            let e = ClusterSpec::parse(
                &[(DEPLOYER_PASSWORD.to_string(), value)],
                &catalog(),
                LIMITS,
            )
            .unwrap_err();
            assert!(e.0.contains("must be a string"), "{e}");
        }
    }

    #[test]
    fn a_lifetime_is_parsed_and_a_bad_one_named() {
        assert_eq!(
            parse(&[(LIFETIME, "2h")]).unwrap().lifetime,
            Some(Lifetime::from_secs(7200))
        );
        assert!(parse(&[(LIFETIME, "soon")])
            .unwrap_err()
            .0
            .contains(LIFETIME));
    }

    #[test]
    fn outputs_cannot_be_set() {
        assert!(parse(&[("external_ip", "1.2.3.4")])
            .unwrap_err()
            .0
            .contains("reported by disco"));
    }

    #[test]
    fn names_with_newlines_are_rejected() {
        assert!(parse(&[("icclab.disco.components.heat.masterimage", "a\nb")]).is_err());
    }
}
