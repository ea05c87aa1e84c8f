//! Updates of an existing cluster's spec (partial update, full update, actions): which
//! attributes may change, and in which states. Pure.

use super::attributes::{
    is_output, COMPONENTS_PREFIX, DEPLOYER_PASSWORD, DEPLOYER_REGION, DEPLOYER_USERNAME, INJECT,
    LIFETIME, MUTABLE, SLAVECOUNT, SSH_PUBLIC_KEY, SUMMARY, TITLE,
};
use super::spec::{parse_lifetime, parse_slave_count, ClusterSpec, SpecError, SpecLimits};
use super::state::{ClusterState, Operation, Power};
use crate::frameworks::Catalog;
use crate::occi::AttrValue;
use std::collections::{BTreeMap, BTreeSet};

/// How the request's attributes relate to the cluster's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// `POST /disco/<id>`: the attributes given change; the others stay.
    Partial,
    /// `PUT /disco/<id>`: the request is the whole cluster; attributes it omits take their
    /// defaults (immutable ones must then already have them).
    Full,
}

/// The value of every attribute that is fixed at creation, with defaults filled in, so that
/// two specs compare by what they mean rather than by how they were written.
fn immutable_values(spec: &ClusterSpec, catalog: &Catalog) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for (short, value) in &spec.infrastructure {
        values.insert(format!("{COMPONENTS_PREFIX}heat.{short}"), value.clone());
    }
    let optional = [
        (SSH_PUBLIC_KEY, &spec.ssh_public_key),
        (DEPLOYER_USERNAME, &spec.deployer_username),
        (DEPLOYER_REGION, &spec.region),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            values.insert(name.to_string(), value.clone());
        }
    }
    let frameworks: Vec<&str> = spec.frameworks.keys().map(String::as_str).collect();
    values.insert(INJECT.to_string(), frameworks.join(", "));
    for (name, given) in &spec.frameworks {
        let Some(framework) = catalog.get(name) else {
            continue;
        };
        for (param, declared) in &framework.manifest.parameters {
            let value = given
                .get(param)
                .cloned()
                .or_else(|| declared.default_value());
            if let Some(value) = value {
                let shown = if declared.secret {
                    "(secret)".to_string()
                } else {
                    value.to_string()
                };
                // A secret is compared by value but never echoed in a message.
                values.insert(
                    format!("{COMPONENTS_PREFIX}{name}.{param}"),
                    format!("{shown}\u{0}{}", value.env_text()),
                );
            }
        }
    }
    values
}

/// The attribute names a partial update's immutable attributes speak about.
fn named_keys(attributes: &[(String, AttrValue)], candidate: &ClusterSpec) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for (name, _) in attributes {
        if name == INJECT {
            keys.insert(INJECT.to_string());
            for (framework, params) in &candidate.frameworks {
                for param in params.keys() {
                    keys.insert(format!("{COMPONENTS_PREFIX}{framework}.{param}"));
                }
            }
        } else {
            keys.insert(name.clone());
        }
    }
    keys
}

fn shown(value: Option<&String>) -> String {
    match value {
        None => "unset".to_string(),
        Some(v) => {
            let visible = v.split('\u{0}').next().unwrap_or_default();
            format!("`{}`", visible.chars().take(80).collect::<String>())
        }
    }
}

/// Applies an update's attributes to `current` and returns the spec the cluster should then
/// have. Every attribute except slave count, lifetime, title and summary is fixed at creation:
/// naming one with another value is an error that names it. Attributes disco reports (state,
/// addresses…) are status, not spec, and are ignored, so a client may send back what it read.
pub fn apply_update(
    current: &ClusterSpec,
    attributes: &[(String, AttrValue)],
    kind: UpdateKind,
    catalog: &Catalog,
    limits: SpecLimits,
) -> Result<ClusterSpec, SpecError> {
    let mut fixed: Vec<(String, AttrValue)> = Vec::new();
    let mut mutable: BTreeMap<&str, &AttrValue> = BTreeMap::new();
    for (name, value) in attributes {
        if let Some(known) = MUTABLE.iter().find(|m| **m == name.as_str()) {
            if mutable.insert(known, value).is_some() {
                return Err(SpecError(format!("{name} is given twice")));
            }
        } else if is_output(name) || is_generated(name, catalog) {
            continue;
        } else if name == DEPLOYER_PASSWORD {
            if !matches!(value, AttrValue::String(_)) {
                return Err(SpecError(format!("{name} must be a string")));
            }
        } else {
            fixed.push((name.clone(), value.clone()));
        }
    }
    // Parsing the fixed attributes like a create request checks and types them.
    let candidate = ClusterSpec::parse(&fixed, catalog, limits)?;
    let before = immutable_values(current, catalog);
    let after = immutable_values(&candidate, catalog);
    let keys: BTreeSet<String> = match kind {
        UpdateKind::Full => before.keys().chain(after.keys()).cloned().collect(),
        UpdateKind::Partial => named_keys(&fixed, &candidate),
    };
    let changed: Vec<String> = keys
        .iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            format!(
                "{key} (it is {}, the request says {})",
                shown(before.get(key)),
                shown(after.get(key))
            )
        })
        .collect();
    if !changed.is_empty() {
        return Err(SpecError(format!(
            "{} cannot change after the cluster was created: {}. Only {} can change; \
             delete the cluster and create a new one to change the others",
            if changed.len() == 1 {
                "this attribute"
            } else {
                "these attributes"
            },
            changed.join("; "),
            MUTABLE.join(", ")
        )));
    }
    let mut next = current.clone();
    if kind == UpdateKind::Full {
        next.title = None;
        next.summary = None;
        next.lifetime = None;
        next.slave_count = 0;
    }
    for (name, value) in mutable {
        match name {
            SLAVECOUNT => next.slave_count = parse_slave_count(value, limits)?,
            LIFETIME => next.lifetime = Some(parse_lifetime(value)?),
            TITLE | SUMMARY => {
                let parsed =
                    ClusterSpec::parse(&[(name.to_string(), value.clone())], catalog, limits)?;
                if name == TITLE {
                    next.title = parsed.title;
                } else {
                    next.summary = parsed.summary;
                }
            }
            _ => {}
        }
    }
    Ok(next)
}

fn is_generated(name: &str, catalog: &Catalog) -> bool {
    let Some(rest) = name.strip_prefix(COMPONENTS_PREFIX) else {
        return false;
    };
    let Some((framework, secret)) = rest.split_once('.') else {
        return false;
    };
    catalog
        .get(framework)
        .is_some_and(|f| f.manifest.generated.contains_key(secret))
}

/// Whether a cluster in `state` (whose last operation was `operation`) may go from `current` to
/// `next` (slave count, lifetime, title, summary); if not, the 409 message: the state and what
/// to do.
pub fn check_transition(
    state: ClusterState,
    operation: Operation,
    current: &ClusterSpec,
    next: &ClusterSpec,
) -> Result<(), String> {
    use ClusterState as S;
    let now = format!("the cluster is {}", state.as_str());
    if matches!(state, S::Deleting | S::Deleted) {
        return Err(format!("{now}: nothing about it can change any more"));
    }
    if state == S::Failed && operation == Operation::Create && next != current {
        return Err(format!(
            "{now}: its build failed, so it cannot change; delete it and create a new one"
        ));
    }
    if next.slave_count != current.slave_count {
        let scalable = match state {
            S::Ready | S::Degraded => true,
            S::Failed => operation == Operation::Update,
            _ => false,
        };
        if !scalable {
            let hint = match state {
                S::Pending | S::Building => "wait until it is ready, then scale it",
                S::Scaling => "it is scaling already; wait until it is ready, then scale it again",
                S::Suspending | S::Suspended | S::Resuming => "resume it first, then scale it",
                _ => "only a ready cluster, or one whose scaling failed, can be scaled",
            };
            return Err(format!("{now}: {hint}"));
        }
    }
    Ok(())
}

/// Whether a cluster in `state` may be suspended (`wanted` = suspended) or resumed; if not,
/// the 409 message.
pub fn check_power(state: ClusterState, operation: Operation, wanted: Power) -> Result<(), String> {
    use ClusterState as S;
    let now = format!("the cluster is {}", state.as_str());
    let failed_after_build = state == S::Failed && operation != Operation::Create;
    match wanted {
        Power::Suspended => match state {
            S::Ready | S::Degraded => Ok(()),
            S::Failed if failed_after_build => Ok(()),
            S::Suspending | S::Suspended => {
                Err(format!("{now} already; resume it to run it again"))
            }
            S::Resuming => Err(format!("{now}: wait until it is ready, then suspend it")),
            S::Deleting | S::Deleted => Err(format!("{now}: nothing about it can change any more")),
            S::Failed => Err(format!(
                "{now}: its build failed; delete it and create a new one"
            )),
            _ => Err(format!("{now}: suspend it once it is ready")),
        },
        Power::Running => match state {
            S::Suspended => Ok(()),
            S::Failed if matches!(operation, Operation::Suspend | Operation::Resume) => Ok(()),
            S::Suspending => Err(format!("{now}: wait until it is suspended, then resume it")),
            S::Resuming => Err(format!("{now} already; wait until it is ready")),
            S::Deleting | S::Deleted => Err(format!("{now}: nothing about it can change any more")),
            _ => Err(format!(
                "{now}, not suspended: resume only starts a suspended cluster"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frameworks::repository_catalog as catalog;

    const LIMITS: SpecLimits = SpecLimits { max_slave_count: 8 };

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, AttrValue)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), AttrValue::String(v.to_string())))
            .collect()
    }

    fn created(pairs: &[(&str, &str)]) -> ClusterSpec {
        ClusterSpec::parse(&attrs(pairs), &catalog(), LIMITS).unwrap()
    }

    fn update(
        current: &ClusterSpec,
        pairs: &[(&str, &str)],
        kind: UpdateKind,
    ) -> Result<ClusterSpec, SpecError> {
        apply_update(current, &attrs(pairs), kind, &catalog(), LIMITS)
    }

    const SHELL: (&str, &str) = (INJECT, "{'shell': ''}");

    #[test]
    fn a_partial_update_changes_only_what_it_names() {
        let current = created(&[SHELL, (SLAVECOUNT, "1"), (TITLE, "mine")]);
        let next = update(&current, &[(SLAVECOUNT, "3")], UpdateKind::Partial).unwrap();
        assert_eq!(next.slave_count, 3);
        assert_eq!(next.title.as_deref(), Some("mine"));
    }

    #[test]
    fn an_immutable_attribute_with_another_value_is_named() {
        let current = created(&[
            SHELL,
            ("icclab.disco.components.heat.masterimage", "debian-12"),
        ]);
        let e = update(
            &current,
            &[("icclab.disco.components.heat.masterimage", "ubuntu")],
            UpdateKind::Partial,
        )
        .unwrap_err();
        assert!(
            e.0.contains("icclab.disco.components.heat.masterimage")
                && e.0.contains("`debian-12`")
                && e.0.contains("`ubuntu`"),
            "{e}"
        );
        let e = update(&current, &[(INJECT, "{'spark': ''}")], UpdateKind::Partial).unwrap_err();
        assert!(e.0.contains(INJECT), "{e}");
    }

    #[test]
    fn the_same_immutable_value_written_differently_is_no_change() {
        let current = created(&[SHELL, ("icclab.disco.components.shell.command", "true")]);
        let same = update(
            &current,
            &[
                (INJECT, r#"{"shell": {"command": "true"}}"#),
                (SLAVECOUNT, "2"),
            ],
            UpdateKind::Partial,
        )
        .unwrap();
        assert_eq!(same.slave_count, 2);
        // A default given explicitly is the value the cluster already has.
        update(
            &current,
            &[("icclab.disco.components.shell.roles", "all")],
            UpdateKind::Partial,
        )
        .unwrap();
    }

    #[test]
    fn a_full_update_must_repeat_every_immutable_attribute_and_resets_omitted_ones() {
        let current = created(&[
            SHELL,
            ("icclab.disco.components.heat.masterimage", "debian-12"),
            (SLAVECOUNT, "2"),
            (TITLE, "old"),
        ]);
        let e = update(&current, &[SHELL, (SLAVECOUNT, "2")], UpdateKind::Full).unwrap_err();
        assert!(e.0.contains("masterimage") && e.0.contains("unset"), "{e}");
        let next = update(
            &current,
            &[
                SHELL,
                ("icclab.disco.components.heat.masterimage", "debian-12"),
                (SLAVECOUNT, "1"),
                ("icclab.disco.state", "ready"),
            ],
            UpdateKind::Full,
        )
        .unwrap();
        assert_eq!((next.slave_count, next.title), (1, None));
    }

    #[test]
    fn a_secret_parameter_is_never_echoed_in_the_message() {
        let current = created(&[
            (INJECT, "{'jupyter': ''}"),
            ("icclab.disco.components.jupyter.password", "hunter2-long"),
        ]);
        let e = update(
            &current,
            &[("icclab.disco.components.jupyter.password", "other-secret")],
            UpdateKind::Partial,
        )
        .unwrap_err();
        assert!(
            !e.0.contains("hunter2") && !e.0.contains("other-secret"),
            "{e}"
        );
    }

    #[test]
    fn states_that_forbid_a_change_say_what_to_do() {
        let current = created(&[SHELL, (SLAVECOUNT, "1")]);
        let mut scaled = current.clone();
        scaled.slave_count = 2;
        let check = |state, op| check_transition(state, op, &current, &scaled);
        assert!(check(ClusterState::Ready, Operation::Create).is_ok());
        assert!(check(ClusterState::Building, Operation::Create)
            .unwrap_err()
            .contains("wait until it is ready"));
        assert!(check(ClusterState::Deleting, Operation::Create)
            .unwrap_err()
            .contains("deleting"));
        assert!(check(ClusterState::Failed, Operation::Update).is_ok());
        assert!(check(ClusterState::Failed, Operation::Create)
            .unwrap_err()
            .contains("build failed"));
        assert!(check(ClusterState::Suspended, Operation::Suspend)
            .unwrap_err()
            .contains("resume it first"));
    }

    #[test]
    fn only_a_running_cluster_suspends_and_only_a_suspended_one_resumes() {
        use ClusterState as S;
        assert!(check_power(S::Ready, Operation::Create, Power::Suspended).is_ok());
        assert!(check_power(S::Suspended, Operation::Suspend, Power::Running).is_ok());
        assert!(check_power(S::Ready, Operation::Create, Power::Running)
            .unwrap_err()
            .contains("not suspended"));
        assert!(
            check_power(S::Suspended, Operation::Suspend, Power::Suspended)
                .unwrap_err()
                .contains("already")
        );
        assert!(
            check_power(S::Building, Operation::Create, Power::Suspended)
                .unwrap_err()
                .contains("once it is ready")
        );
        assert!(check_power(S::Failed, Operation::Resume, Power::Running).is_ok());
    }
}
