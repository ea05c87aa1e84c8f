//! The framework catalog: manifests and installer scripts under `frameworks/`, loaded and
//! validated at start-up, and the resolution of a request's set into an install order.
//!
//! The Rust code knows frameworks only through this catalog.

pub mod manifest;

pub use manifest::{HookEvent, Manifest, ParamType, ParamValue, ParameterSpec, RawParam, Role};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The directory of a framework (and of `lib`) that holds what only runs when a built cluster
/// changes: hook scripts and their helpers. Not needed to build a node, so not part of a VM's
/// boot user data; the hook driver is `lib/hooks/driver.sh`.
pub const HOOKS_DIR: &str = "hooks";

/// A framework: its manifest and one installer script per role it runs on.
#[derive(Debug, Clone)]
pub struct Framework {
    pub manifest: Manifest,
    /// Role → installer file name inside the framework's directory.
    pub installers: BTreeMap<Role, String>,
}

impl Framework {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The environment variable an installer reads a parameter from, e.g. `DISCO_SHELL_COMMAND`.
    pub fn parameter_env(&self, parameter: &str) -> String {
        format!(
            "DISCO_{}_{}",
            env_fragment(&self.manifest.name),
            env_fragment(parameter)
        )
    }
}

fn env_fragment(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A catalog that cannot be used; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the framework catalog at {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("framework {framework} depends on {dependency}, which is not in the catalog")]
    UnknownDependency {
        framework: String,
        dependency: String,
    },
    #[error("frameworks depend on each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// A requested framework that the catalog does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown framework `{name}`; available: {available}")]
pub struct UnknownFramework {
    pub name: String,
    pub available: String,
}

/// All frameworks, validated.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
    frameworks: BTreeMap<String, Framework>,
}

impl Catalog {
    /// Loads every `*/manifest.toml` below `root` (the `lib` directory is the shared runtime).
    pub fn load(root: &Path) -> Result<Catalog, CatalogError> {
        let io_error = |message: String| CatalogError::Io {
            path: root.to_path_buf(),
            message,
        };
        let entries = std::fs::read_dir(root).map_err(|e| io_error(e.to_string()))?;
        let mut frameworks = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(e.to_string()))?;
            let dir = entry.path();
            let manifest_path = dir.join("manifest.toml");
            if !dir.is_dir() || !manifest_path.is_file() {
                continue;
            }
            let text =
                std::fs::read_to_string(&manifest_path).map_err(|e| CatalogError::Manifest {
                    path: manifest_path.clone(),
                    message: e.to_string(),
                })?;
            let manifest: Manifest = toml::from_str(&text).map_err(|e| CatalogError::Manifest {
                path: manifest_path.clone(),
                message: e.to_string(),
            })?;
            let dir_name = entry.file_name().to_string_lossy().into_owned();
            if manifest.name != dir_name {
                return Err(CatalogError::Manifest {
                    path: manifest_path,
                    message: format!(
                        "name `{}` differs from its directory `{dir_name}`",
                        manifest.name
                    ),
                });
            }
            if let Some(check) = &manifest.local.check {
                if check.contains('/') || !dir.join(check).is_file() {
                    return Err(CatalogError::Manifest {
                        path: manifest_path,
                        message: format!("local.check `{check}` is not a file in {dir_name}/"),
                    });
                }
            }
            for (event, scripts) in &manifest.hooks {
                for (role, script) in scripts {
                    if !manifest.roles.contains(role) {
                        return Err(CatalogError::Manifest {
                            path: manifest_path,
                            message: format!(
                                "hooks.{} has a {role} script, but {dir_name} does not run on {role}",
                                event.as_str()
                            ),
                        });
                    }
                    if script.contains('/') || !dir.join(HOOKS_DIR).join(script).is_file() {
                        return Err(CatalogError::Manifest {
                            path: manifest_path,
                            message: format!(
                                "hooks.{}.{role} `{script}` is not a file in {dir_name}/{HOOKS_DIR}/",
                                event.as_str()
                            ),
                        });
                    }
                }
            }
            let mut installers = BTreeMap::new();
            for role in &manifest.roles {
                let specific = format!("install-{role}.sh");
                let file = if dir.join(&specific).is_file() {
                    specific
                } else if dir.join("install.sh").is_file() {
                    "install.sh".to_string()
                } else {
                    return Err(CatalogError::Manifest {
                        path: manifest_path,
                        message: format!(
                            "runs on {role} but has neither {specific} nor install.sh"
                        ),
                    });
                };
                installers.insert(*role, file);
            }
            frameworks.push(Framework {
                manifest,
                installers,
            });
        }
        Catalog::from_frameworks(root.to_path_buf(), frameworks).map_err(|e| match e {
            CatalogError::Manifest { path, message } => CatalogError::Manifest {
                path: root.join(path),
                message,
            },
            other => other,
        })
    }

    /// Validates a set of frameworks: names, parameters, dependencies and cycles.
    pub fn from_frameworks(root: PathBuf, list: Vec<Framework>) -> Result<Catalog, CatalogError> {
        let mut frameworks = BTreeMap::new();
        for framework in list {
            let manifest = &framework.manifest;
            let here = PathBuf::from(&manifest.name).join("manifest.toml");
            let fail = |message: String| CatalogError::Manifest {
                path: here.clone(),
                message,
            };
            if !is_name(&manifest.name, '-') {
                return Err(fail(format!(
                    "`{}` is not a valid framework name (lower-case letters, digits, `-`)",
                    manifest.name
                )));
            }
            if manifest.roles.is_empty() {
                return Err(fail("`roles` must name master and/or slave".into()));
            }
            for (name, spec) in &manifest.parameters {
                if !is_name(name, '_') {
                    return Err(fail(format!(
                        "parameter `{name}` is not a valid name (lower-case letters, digits, `_`)"
                    )));
                }
                spec.check_declaration()
                    .map_err(|message| fail(format!("parameter {name}: {message}")))?;
            }
            manifest.check_uis().map_err(fail)?;
            if frameworks
                .insert(manifest.name.clone(), framework.clone())
                .is_some()
            {
                return Err(fail("defined twice".into()));
            }
        }
        for framework in frameworks.values() {
            for dependency in &framework.manifest.dependencies {
                if !frameworks.contains_key(dependency) {
                    return Err(CatalogError::UnknownDependency {
                        framework: framework.manifest.name.clone(),
                        dependency: dependency.clone(),
                    });
                }
            }
            for earlier in &framework.manifest.after {
                if !frameworks.contains_key(earlier) {
                    return Err(CatalogError::Manifest {
                        path: PathBuf::from(&framework.manifest.name).join("manifest.toml"),
                        message: format!("`after` names {earlier}, which is not in the catalog"),
                    });
                }
            }
        }
        check_ui_names(&frameworks)?;
        let catalog = Catalog { root, frameworks };
        let all: Vec<String> = catalog.frameworks.keys().cloned().collect();
        let everything: BTreeSet<String> = all.iter().cloned().collect();
        catalog.order(&all, &everything)?;
        Ok(catalog)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn get(&self, name: &str) -> Option<&Framework> {
        self.frameworks.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks.values()
    }

    /// Looks a requested framework up, with a message listing what exists.
    pub fn find(&self, name: &str) -> Result<&Framework, UnknownFramework> {
        self.get(name).ok_or_else(|| UnknownFramework {
            name: name.chars().take(64).collect(),
            available: self
                .frameworks
                .values()
                .filter(|f| !f.manifest.always)
                .map(|f| f.manifest.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The requested frameworks plus their dependencies and the always-installed ones, each
    /// after everything it depends on. Deterministic for a given set.
    pub fn resolve_install_order(
        &self,
        requested: &BTreeSet<String>,
    ) -> Result<Vec<&Framework>, UnknownFramework> {
        let mut roots: Vec<String> = self
            .frameworks
            .values()
            .filter(|f| f.manifest.always)
            .map(|f| f.manifest.name.clone())
            .collect();
        for name in requested {
            self.find(name)?;
            if !roots.contains(name) {
                roots.push(name.clone());
            }
        }
        // Everything that will be installed, so that `after` can order among it.
        let mut chosen: BTreeSet<String> = BTreeSet::new();
        let mut pending = roots.clone();
        while let Some(name) = pending.pop() {
            if chosen.insert(name.clone()) {
                if let Some(framework) = self.get(&name) {
                    pending.extend(framework.manifest.dependencies.iter().cloned());
                }
            }
        }
        // Cycles were ruled out when the catalog was built.
        let order = self.order(&roots, &chosen).unwrap_or_default();
        Ok(order.iter().filter_map(|n| self.get(n)).collect())
    }

    /// Depth-first post-order from `roots`: dependencies (and `after` frameworks that are in
    /// `chosen`) first, cycles reported with their path.
    fn order(
        &self,
        roots: &[String],
        chosen: &BTreeSet<String>,
    ) -> Result<Vec<String>, CatalogError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        fn visit(
            catalog: &Catalog,
            name: &str,
            chosen: &BTreeSet<String>,
            marks: &mut BTreeMap<String, Mark>,
            path: &mut Vec<String>,
            out: &mut Vec<String>,
        ) -> Result<(), CatalogError> {
            match marks.get(name) {
                Some(Mark::Done) => return Ok(()),
                Some(Mark::Visiting) => {
                    let start = path.iter().position(|p| p == name).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(name.to_string());
                    return Err(CatalogError::Cycle(cycle));
                }
                None => {}
            }
            marks.insert(name.to_string(), Mark::Visiting);
            path.push(name.to_string());
            if let Some(framework) = catalog.get(name) {
                let mut dependencies = framework.manifest.dependencies.clone();
                dependencies.extend(
                    framework
                        .manifest
                        .after
                        .iter()
                        .filter(|a| chosen.contains(*a))
                        .cloned(),
                );
                dependencies.sort();
                dependencies.dedup();
                for dependency in &dependencies {
                    visit(catalog, dependency, chosen, marks, path, out)?;
                }
            }
            path.pop();
            marks.insert(name.to_string(), Mark::Done);
            out.push(name.to_string());
            Ok(())
        }
        let mut marks = BTreeMap::new();
        let mut out = Vec::new();
        for root in roots {
            visit(self, root, chosen, &mut marks, &mut Vec::new(), &mut out)?;
        }
        Ok(out)
    }
}

/// UI names are unique across the catalog (any frameworks may share a cluster), and no master
/// UI's name looks like a slave UI's name on some slave (`<slave-ui>-<N>`).
fn check_ui_names(frameworks: &BTreeMap<String, Framework>) -> Result<(), CatalogError> {
    let uis: Vec<(&str, &manifest::UiDecl)> = frameworks
        .values()
        .flat_map(|f| f.manifest.ui.iter().map(move |ui| (f.name(), ui)))
        .collect();
    for (i, (framework, ui)) in uis.iter().enumerate() {
        let fail = |message: String| CatalogError::Manifest {
            path: PathBuf::from(framework).join("manifest.toml"),
            message,
        };
        for (other_framework, other) in &uis[..i] {
            if other.name == ui.name {
                return Err(fail(format!(
                    "ui `{}` is also declared by {other_framework}",
                    ui.name
                )));
            }
        }
        for (other_framework, other) in &uis {
            let Some(index) = ui
                .name
                .as_str()
                .strip_prefix(other.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
            else {
                continue;
            };
            if other.role == Role::Slave && index.parse::<usize>().is_ok() {
                return Err(fail(format!(
                    "ui `{}` would clash with {other_framework}'s ui `{}` on slave {index}",
                    ui.name, other.name
                )));
            }
        }
    }
    Ok(())
}

fn is_name(name: &str, separator: char) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == separator)
}

/// The repository's own catalog (`frameworks/`), for tests.
#[cfg(test)]
pub(crate) fn repository_catalog() -> Catalog {
    Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("frameworks"))
        .expect("the repository's catalog")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framework(name: &str, dependencies: &[&str], always: bool) -> Framework {
        let manifest: Manifest = toml::from_str(&format!(
            "name = \"{name}\"\nversion = \"1\"\ndescription = \"d\"\nalways = {always}\nroles = [\"master\"]\ndependencies = [{}]",
            dependencies
                .iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .unwrap();
        Framework {
            manifest,
            installers: BTreeMap::from([(Role::Master, "install.sh".to_string())]),
        }
    }

    fn catalog(list: Vec<Framework>) -> Result<Catalog, CatalogError> {
        Catalog::from_frameworks(PathBuf::from("frameworks"), list)
    }

    fn names(order: Vec<&Framework>) -> Vec<&str> {
        order.into_iter().map(|f| f.name()).collect()
    }

    fn with_ui(name: &str, ui: &str, role: &str) -> Framework {
        let mut f = framework(name, &[], false);
        f.manifest.roles = vec![Role::Master, Role::Slave];
        f.manifest.ui = vec![toml::from_str(&format!(
            "name = \"{ui}\"\nrole = \"{role}\"\nport = 1\nprefix = \"strip\"\ndescription = \"d\""
        ))
        .unwrap()];
        f
    }

    #[test]
    fn two_frameworks_declaring_the_same_ui_name_are_refused() {
        let error = catalog(vec![
            with_ui("a", "web", "master"),
            with_ui("b", "web", "master"),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("ui `web` is also declared by a"), "{error}");
    }

    #[test]
    fn a_master_ui_named_like_a_slave_ui_on_some_slave_is_refused() {
        let error = catalog(vec![
            with_ui("a", "worker", "slave"),
            with_ui("b", "worker-2", "master"),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("clash"), "{error}");
    }

    #[test]
    fn the_shipped_catalog_declares_every_framework_ui() {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("frameworks")).unwrap();
        let mut names: Vec<&str> = catalog
            .iter()
            .flat_map(|f| f.manifest.ui.iter().map(|ui| ui.name.as_str()))
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "hdfs",
                "jupyter",
                "log",
                "spark-history",
                "spark-master",
                "spark-worker",
                "yarn",
                "zeppelin"
            ]
        );
    }

    #[test]
    fn dependencies_come_before_their_dependents_and_base_first() {
        let c = catalog(vec![
            framework("base", &[], true),
            framework("hadoop", &[], false),
            framework("spark", &["hadoop"], false),
            framework("zeppelin", &["spark"], false),
        ])
        .unwrap();
        let order = c
            .resolve_install_order(&BTreeSet::from(["zeppelin".to_string()]))
            .unwrap();
        assert_eq!(names(order), vec!["base", "hadoop", "spark", "zeppelin"]);
    }

    #[test]
    fn a_shared_dependency_is_installed_once() {
        let c = catalog(vec![
            framework("java", &[], false),
            framework("spark", &["java"], false),
            framework("hadoop", &["java"], false),
        ])
        .unwrap();
        let order = c
            .resolve_install_order(&BTreeSet::from(["spark".into(), "hadoop".into()]))
            .unwrap();
        assert_eq!(names(order), vec!["java", "hadoop", "spark"]);
    }

    #[test]
    fn after_orders_only_among_chosen_frameworks() {
        // alpha sorts first, but is installed after beta when both are chosen.
        let mut alpha = framework("alpha", &[], false);
        alpha.manifest.after = vec!["beta".into()];
        let c = catalog(vec![alpha, framework("beta", &[], false)]).unwrap();
        let alone = c
            .resolve_install_order(&BTreeSet::from(["alpha".to_string()]))
            .unwrap();
        assert_eq!(names(alone), vec!["alpha"]);
        let both = c
            .resolve_install_order(&BTreeSet::from(["alpha".into(), "beta".into()]))
            .unwrap();
        assert_eq!(names(both), vec!["beta", "alpha"]);
    }

    #[test]
    fn a_cycle_stops_loading_and_names_its_path() {
        let error = catalog(vec![
            framework("a", &["b"], false),
            framework("b", &["c"], false),
            framework("c", &["a"], false),
        ])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "frameworks depend on each other in a cycle: a -> b -> c -> a"
        );
    }

    #[test]
    fn an_unknown_dependency_stops_loading() {
        let error = catalog(vec![framework("spark", &["hdfs"], false)]).unwrap_err();
        assert!(error.to_string().contains("depends on hdfs"), "{error}");
    }

    #[test]
    fn an_unknown_requested_framework_lists_the_available_ones() {
        let c = catalog(vec![
            framework("base", &[], true),
            framework("spark", &[], false),
        ])
        .unwrap();
        let error = c
            .resolve_install_order(&BTreeSet::from(["sprak".to_string()]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown framework `sprak`; available: spark"
        );
    }

    #[test]
    fn a_bad_parameter_declaration_stops_loading() {
        let mut f = framework("spark", &[], false);
        f.manifest.parameters.insert(
            "workers".into(),
            toml::from_str("type = \"integer\"\ndescription = \"n\"\ndefault = true").unwrap(),
        );
        let error = catalog(vec![f]).unwrap_err();
        assert!(error.to_string().contains("parameter workers"), "{error}");
    }

    #[test]
    fn parameter_environment_names_are_upper_case_with_underscores() {
        let f = framework("docker-swarm", &[], false);
        assert_eq!(
            f.parameter_env("join_timeout"),
            "DISCO_DOCKER_SWARM_JOIN_TIMEOUT"
        );
    }

    #[test]
    fn the_shipped_catalog_loads() {
        let c = Catalog::load(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("frameworks")
                .as_path(),
        )
        .unwrap();
        assert!(c.get("shell").is_some());
    }

    /// A catalog of one framework `f` running on the master, declaring a join hook `script`.
    fn catalog_with_hook(script_at: &str) -> Result<Catalog, CatalogError> {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("f");
        std::fs::create_dir_all(dir.join(HOOKS_DIR)).unwrap();
        std::fs::write(dir.join("install.sh"), "").unwrap();
        std::fs::write(dir.join(script_at), "").unwrap();
        std::fs::write(
            dir.join("manifest.toml"),
            "name = \"f\"\nversion = \"1\"\ndescription = \"d\"\nroles = [\"master\"]\n\
             [hooks.join]\nmaster = \"join.sh\"\n",
        )
        .unwrap();
        Catalog::load(root.path())
    }

    #[test]
    fn hook_scripts_live_in_the_frameworks_hooks_directory() {
        let loaded = catalog_with_hook("hooks/join.sh").unwrap();
        let hooks = &loaded.find("f").unwrap().manifest.hooks;
        assert_eq!(hooks[&HookEvent::Join][&Role::Master], "join.sh");
        // Beside the installers it would be part of a VM's boot user data, which has no room.
        let error = catalog_with_hook("join.sh").unwrap_err().to_string();
        assert!(
            error.contains("hooks.join.master `join.sh` is not a file in f/hooks/"),
            "{error}"
        );
    }
}
