//! `ClusterPlan`: everything a backend needs to build a cluster, derived from a spec and the
//! catalog without side effects.

use crate::cluster::{ClusterSpec, SpecError};
use crate::frameworks::manifest::{Port, PrefixMode, UiName};
use crate::frameworks::{Catalog, HookEvent, ParamValue, Role};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One installer (or hook script) run on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallStep {
    pub framework: String,
    /// File name inside `frameworks/<framework>/`.
    pub installer: String,
}

/// A node of the cluster: `master` or `slave-N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    pub index: usize,
    pub name: String,
    pub role: Role,
    pub steps: Vec<InstallStep>,
}

/// Steps as the deploy driver reads them: `framework:installer` separated by spaces. Names
/// come from the validated catalog and contain no spaces.
pub fn steps_value(steps: &[InstallStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{}:{}", s.framework, s.installer))
        .collect::<Vec<_>>()
        .join(" ")
}

impl NodePlan {
    /// This node's steps as the deploy driver reads them (see [`steps_value`]).
    pub fn steps_value(&self) -> String {
        steps_value(&self.steps)
    }
}

/// A framework's tool needs on the local backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalNeed {
    pub framework: String,
    pub tools: Vec<String>,
    pub unsupported: Option<String>,
    /// The framework's local check script, if it has one.
    pub check: Option<std::path::PathBuf>,
}

/// A secret disco generates for the cluster (declared by a framework's manifest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GeneratedSecret {
    pub framework: String,
    pub name: String,
    /// Environment variable the installers read it from.
    pub env: String,
    /// The attribute its owner reads it from once the cluster is ready.
    pub attribute: String,
}

/// Everything a backend needs to build a cluster. Resolved once, when the cluster is admitted,
/// and stored with it: later edits of the catalog never change an existing cluster. Only the
/// nodes follow the slave count (see [`ClusterPlan::with_slaves`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterPlan {
    pub cluster_id: Uuid,
    /// Images, flavors and network names the request chose (DISCO's short names).
    pub infrastructure: BTreeMap<String, String>,
    pub nodes: Vec<NodePlan>,
    /// The steps every node of a role runs, also for a role the cluster has no node of yet
    /// (slaves added later by scaling run these).
    pub role_steps: BTreeMap<Role, Vec<InstallStep>>,
    /// The frameworks' hook scripts by event and role, in install order.
    #[serde(default)]
    pub hooks: BTreeMap<HookEvent, BTreeMap<Role, Vec<InstallStep>>>,
    /// Install order.
    pub frameworks: Vec<String>,
    /// Ports the chosen frameworks listen on, without duplicates.
    pub ports: Vec<Port>,
    /// Parameters as installer environment variables (defaults filled in), but secrets.
    pub environment: Vec<(String, String)>,
    /// `secret = true` parameters as installer environment variables (sealed at rest).
    #[serde(default)]
    pub secret_environment: Vec<(String, Secret)>,
    pub local_needs: Vec<LocalNeed>,
    /// Secrets to generate when the cluster is created.
    pub generated: Vec<GeneratedSecret>,
    /// `DISCO_SECRET_VARS`: `VARIABLE:framework` for every secret (generated, or a `secret`
    /// parameter), so the deploy driver gives each installer only its own framework's secrets.
    pub secret_vars: String,
    /// The web UIs the cluster serves through disco's gateway (none for plans made before
    /// there was one).
    #[serde(default)]
    pub uis: Vec<PlannedUi>,
}

/// A web UI of the cluster, as its manifest declared it and the cluster's parameters resolved
/// it: a master UI runs once, a slave UI on every slave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUi {
    pub name: UiName,
    pub framework: String,
    pub role: Role,
    pub port: u16,
    pub websocket: bool,
    pub prefix: PrefixMode,
    /// The gateway puts the prefix on root-relative links of its HTML pages.
    #[serde(default)]
    pub rewrite_links: bool,
}

/// `DISCO_UI_PREFIX`: the gateway's path for the cluster's UIs, without the UI name
/// (`/disco/<id>/ui`); a UI lives at `$DISCO_UI_PREFIX/<name>/`.
pub const UI_PREFIX_ENV: &str = "DISCO_UI_PREFIX";

/// The gateway path of a cluster's UIs, `/disco/<id>/ui`.
pub fn ui_prefix(id: Uuid) -> String {
    format!("{}{id}/ui", crate::cluster::attributes::LOCATION)
}

impl ClusterPlan {
    /// The install order as installers see it (`DISCO_FRAMEWORKS`), e.g. to adapt to a
    /// framework chosen alongside (Spark on YARN when Hadoop is there).
    pub fn frameworks_value(&self) -> String {
        self.frameworks.join(" ")
    }

    /// The same plan for `slaves` slaves: slave N is `slave-N` and runs the slave steps.
    pub fn with_slaves(&self, slaves: u32) -> ClusterPlan {
        let mut plan = self.clone();
        plan.nodes = nodes(slaves, &self.role_steps);
        plan
    }

    /// The hook steps of `event` for nodes of `role`, in the order they run: install order,
    /// except for `leave`, which undoes in reverse.
    pub fn hook_steps(&self, event: HookEvent, role: Role) -> Vec<InstallStep> {
        let mut steps = self
            .hooks
            .get(&event)
            .and_then(|roles| roles.get(&role))
            .cloned()
            .unwrap_or_default();
        if event == HookEvent::Leave {
            steps.reverse();
        }
        steps
    }
}

/// A master and `slaves` slaves, each with its role's steps.
fn nodes(slaves: u32, role_steps: &BTreeMap<Role, Vec<InstallStep>>) -> Vec<NodePlan> {
    let node = |index: usize, name: String, role: Role| NodePlan {
        index,
        name,
        role,
        steps: role_steps.get(&role).cloned().unwrap_or_default(),
    };
    std::iter::once(node(0, "master".into(), Role::Master))
        .chain((1..=slaves as usize).map(|i| node(i, format!("slave-{i}"), Role::Slave)))
        .collect()
}

impl ClusterPlan {
    pub fn build(
        id: Uuid,
        spec: &ClusterSpec,
        catalog: &Catalog,
    ) -> Result<ClusterPlan, SpecError> {
        let requested: BTreeSet<String> = spec.frameworks.keys().cloned().collect();
        let order = catalog
            .resolve_install_order(&requested)
            .map_err(|e| SpecError(e.to_string()))?;
        let mut environment = vec![(UI_PREFIX_ENV.to_string(), ui_prefix(id))];
        let mut secret_environment = Vec::new();
        let mut ports: Vec<Port> = Vec::new();
        let mut local_needs = Vec::new();
        let mut generated = Vec::new();
        let mut secret_vars = Vec::new();
        let mut uis = Vec::new();
        let mut role_steps: BTreeMap<Role, Vec<InstallStep>> = BTreeMap::new();
        let mut hooks: BTreeMap<HookEvent, BTreeMap<Role, Vec<InstallStep>>> = BTreeMap::new();
        for framework in &order {
            for name in framework.manifest.generated.keys() {
                secret_vars.push(format!(
                    "{}:{}",
                    framework.parameter_env(name),
                    framework.name()
                ));
                generated.push(GeneratedSecret {
                    framework: framework.name().to_string(),
                    name: name.clone(),
                    env: framework.parameter_env(name),
                    attribute: format!(
                        "{}{}.{name}",
                        crate::cluster::attributes::COMPONENTS_PREFIX,
                        framework.name()
                    ),
                });
            }
            for (role, installer) in &framework.installers {
                role_steps.entry(*role).or_default().push(InstallStep {
                    framework: framework.name().to_string(),
                    installer: installer.clone(),
                });
            }
            for (event, scripts) in &framework.manifest.hooks {
                for (role, script) in scripts {
                    hooks
                        .entry(*event)
                        .or_default()
                        .entry(*role)
                        .or_default()
                        .push(InstallStep {
                            framework: framework.name().to_string(),
                            installer: script.clone(),
                        });
                }
            }
            let given = spec.frameworks.get(framework.name());
            for (name, declared) in &framework.manifest.parameters {
                if declared.secret {
                    secret_vars.push(format!(
                        "{}:{}",
                        framework.parameter_env(name),
                        framework.name()
                    ));
                }
                let value = given
                    .and_then(|g| g.get(name).cloned())
                    .or_else(|| declared.default_value());
                match value {
                    Some(ParamValue::Secret(secret)) => {
                        secret_environment.push((framework.parameter_env(name), secret))
                    }
                    Some(value) => {
                        environment.push((framework.parameter_env(name), value.env_text()))
                    }
                    None => {}
                }
            }
            for port in &framework.manifest.ports {
                if !ports
                    .iter()
                    .any(|p| p.port == port.port && p.protocol == port.protocol)
                {
                    ports.push(port.clone());
                }
            }
            for ui in &framework.manifest.ui {
                let chosen = |name: &String| order.iter().any(|f| f.name() == name);
                let parameter = |name: &str| {
                    given.and_then(|g| g.get(name).cloned()).or_else(|| {
                        framework
                            .manifest
                            .parameters
                            .get(name)
                            .and_then(|p| p.default_value())
                    })
                };
                if ui.unless.iter().any(chosen)
                    || ui
                        .when
                        .as_deref()
                        .is_some_and(|w| parameter(w) != Some(ParamValue::Bool(true)))
                {
                    continue;
                }
                let port = match ui.port_parameter.as_deref().and_then(parameter) {
                    Some(ParamValue::Integer(port)) => u16::try_from(port).unwrap_or(ui.port),
                    _ => ui.port,
                };
                uis.push(PlannedUi {
                    name: ui.name.clone(),
                    framework: framework.name().to_string(),
                    role: ui.role,
                    port,
                    websocket: ui.websocket,
                    prefix: ui.prefix,
                    rewrite_links: ui.rewrite_links,
                });
            }
            local_needs.push(LocalNeed {
                framework: framework.name().to_string(),
                tools: framework.manifest.local.tools.clone(),
                unsupported: framework.manifest.local.unsupported.clone(),
                check: framework
                    .manifest
                    .local
                    .check
                    .as_ref()
                    .map(|c| catalog.root().join(framework.name()).join(c)),
            });
        }
        Ok(ClusterPlan {
            nodes: nodes(spec.slave_count, &role_steps),
            role_steps,
            hooks,
            cluster_id: id,
            infrastructure: spec.infrastructure.clone(),
            frameworks: order.iter().map(|f| f.name().to_string()).collect(),
            ports,
            environment,
            secret_environment,
            local_needs,
            generated,
            secret_vars: secret_vars.join(" "),
            uis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frameworks::repository_catalog as catalog;
    use crate::frameworks::ParamValue;
    use std::collections::BTreeMap;

    fn spec(slaves: u32, frameworks: &[(&str, &[(&str, &str)])]) -> ClusterSpec {
        ClusterSpec {
            title: None,
            summary: None,
            slave_count: slaves,
            infrastructure: BTreeMap::new(),
            region: None,
            deployer_username: None,
            ssh_public_key: None,
            lifetime: None,
            power: Default::default(),
            frameworks: frameworks
                .iter()
                .map(|(name, params)| {
                    (
                        name.to_string(),
                        params
                            .iter()
                            .map(|(k, v)| (k.to_string(), ParamValue::String(v.to_string())))
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_master_and_two_slaves_get_their_role_steps_in_order() {
        let plan =
            ClusterPlan::build(Uuid::nil(), &spec(2, &[("shell", &[])]), &catalog()).unwrap();
        let names: Vec<_> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, vec!["master", "slave-1", "slave-2"]);
        assert_eq!(
            plan.nodes[0].steps_value(),
            "base:install-master.sh shell:install.sh"
        );
        assert_eq!(plan.nodes[1].steps_value(), "shell:install.sh");
        assert_eq!(plan.frameworks, vec!["base", "shell"]);
    }

    #[test]
    fn parameters_become_environment_variables_with_defaults() {
        let plan = ClusterPlan::build(
            Uuid::nil(),
            &spec(0, &[("shell", &[("command", "echo '$(rm -rf /)'")])]),
            &catalog(),
        )
        .unwrap();
        assert!(plan
            .environment
            .contains(&("DISCO_SHELL_COMMAND".into(), "echo '$(rm -rf /)'".into())));
        assert!(plan
            .environment
            .contains(&("DISCO_SHELL_ROLES".into(), "all".into())));
    }

    fn ui_names(plan: &ClusterPlan) -> Vec<(&str, u16)> {
        plan.uis.iter().map(|u| (u.name.as_str(), u.port)).collect()
    }

    #[test]
    fn the_uis_follow_the_chosen_frameworks_and_their_parameters() {
        let plan =
            ClusterPlan::build(Uuid::nil(), &spec(1, &[("spark", &[])]), &catalog()).unwrap();
        assert_eq!(
            ui_names(&plan),
            [
                ("log", 8084),
                ("spark-master", 8080),
                ("spark-worker", 8081),
                ("spark-history", 18080)
            ]
        );
        let mut no_history = spec(1, &[("spark", &[])]);
        no_history
            .frameworks
            .get_mut("spark")
            .unwrap()
            .insert("history_server".into(), ParamValue::Bool(false));
        let plan = ClusterPlan::build(Uuid::nil(), &no_history, &catalog()).unwrap();
        assert!(!ui_names(&plan).contains(&("spark-history", 18080)));
        let on_yarn = ClusterPlan::build(
            Uuid::nil(),
            &spec(1, &[("spark", &[]), ("hadoop", &[])]),
            &catalog(),
        )
        .unwrap();
        let names: Vec<_> = ui_names(&on_yarn).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["log", "yarn", "hdfs", "spark-history"]);
    }

    #[test]
    fn a_ui_moved_by_its_port_parameter_is_planned_on_that_port() {
        let mut jupyter = spec(0, &[("jupyter", &[])]);
        jupyter
            .frameworks
            .get_mut("jupyter")
            .unwrap()
            .insert("port".into(), ParamValue::Integer(9999));
        let plan = ClusterPlan::build(Uuid::nil(), &jupyter, &catalog()).unwrap();
        assert_eq!(ui_names(&plan), [("log", 8084), ("jupyter", 9999)]);
        assert!(plan.environment.contains(&(
            "DISCO_UI_PREFIX".into(),
            format!("/disco/{}/ui", Uuid::nil())
        )));
    }

    #[test]
    fn ports_of_the_chosen_frameworks_are_collected_once() {
        let plan = ClusterPlan::build(Uuid::nil(), &spec(0, &[]), &catalog()).unwrap();
        let ports: Vec<u16> = plan.ports.iter().map(|p| p.port).collect();
        assert_eq!(ports, vec![22, 8084]);
    }
}
