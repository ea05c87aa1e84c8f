//! Where a gateway request goes: the path parsed into cluster, UI and the rest, the cluster's
//! UIs on its nodes, the node's path, and redirects turned back into gateway paths. No I/O.

use crate::cluster::NodeInfo;
use crate::frameworks::manifest::{PrefixMode, UiName};
use crate::frameworks::Role;
use crate::plan::{ui_prefix, PlannedUi};
use uuid::Uuid;

/// A request path `/disco/<id>/ui/<name><rest>`, as sent (still percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiPath<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Empty, or `/` and what follows.
    pub rest: &'a str,
}

impl<'a> UiPath<'a> {
    /// Splits a gateway path; `None` when it is not one.
    pub fn parse(path: &'a str) -> Option<UiPath<'a>> {
        let after = path.strip_prefix(crate::cluster::attributes::LOCATION)?;
        let (id, after) = after.split_once('/')?;
        let after = after.strip_prefix("ui/")?;
        let (name, rest) = match after.find('/') {
            Some(slash) => after.split_at(slash),
            None => (after, ""),
        };
        Some(UiPath { id, name, rest })
    }
}

/// One UI of a built cluster on one node: a master UI once, a slave UI per slave
/// (`<name>-<N>` on `slave-N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiInstance {
    pub name: UiName,
    pub ui: PlannedUi,
    pub node: NodeInfo,
}

/// Every UI of a cluster with these nodes.
pub fn instances(uis: &[PlannedUi], nodes: &[NodeInfo]) -> Vec<UiInstance> {
    let mut found = Vec::new();
    for ui in uis {
        for node in nodes {
            let name = match (ui.role, node.role.as_str()) {
                (Role::Master, "master") => ui.name.clone(),
                (Role::Slave, "slave") => {
                    let Some(index) = node
                        .name
                        .strip_prefix("slave-")
                        .and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    ui.name.on_slave(index)
                }
                _ => continue,
            };
            found.push(UiInstance {
                name,
                ui: ui.clone(),
                node: node.clone(),
            });
        }
    }
    found
}

/// The gateway path of a UI, without the final `/`: `/disco/<id>/ui/<name>`.
pub fn gateway_path(id: Uuid, name: &UiName) -> String {
    format!("{}/{name}", ui_prefix(id))
}

/// The path (and query) to ask the node for: the whole gateway path for a UI that lives under
/// it, else what follows the prefix.
pub fn upstream_path(prefix: &str, mode: PrefixMode, rest: &str, query: &str) -> String {
    let mut path = match mode {
        PrefixMode::Keep => format!("{prefix}{rest}"),
        PrefixMode::Strip if rest.is_empty() => "/".to_string(),
        PrefixMode::Strip => rest.to_string(),
    };
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// Turns a redirect of the node into one to the gateway. `upstream` is the node's origin
/// (`http://10.0.0.5:8080`), `public` the origin the client used (`https://disco.example.org`)
/// and `prefix` the UI's gateway path. A URL to the node, or a path of a UI served at `/`,
/// gets the prefix; a URL elsewhere and relative references are left alone.
pub fn rewrite_location(
    location: &str,
    upstream: &str,
    public: &str,
    prefix: &str,
    mode: PrefixMode,
) -> String {
    let under_origin = |origin: &str| {
        let head = location.get(..origin.len())?;
        let rest = &location[origin.len()..];
        (head.eq_ignore_ascii_case(origin) && (rest.is_empty() || rest.starts_with(['/', '?'])))
            .then_some(rest)
    };
    let path = if let Some(rest) = under_origin(upstream).or_else(|| under_origin(public)) {
        rest
    } else if location.starts_with('/') && !location.starts_with("//") {
        location
    } else {
        return location.to_string();
    };
    let already_under = path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(['/', '?']));
    let path = match mode {
        PrefixMode::Strip if !already_under => {
            let path = if path.is_empty() { "/" } else { path };
            format!("{prefix}{path}")
        }
        _ => path.to_string(),
    };
    if location.starts_with('/') {
        path
    } else {
        format!("{public}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str, role: Role, prefix: PrefixMode) -> PlannedUi {
        PlannedUi {
            name: UiName::parse(name).unwrap(),
            framework: "spark".into(),
            role,
            port: 8080,
            websocket: false,
            rewrite_links: false,
            prefix,
        }
    }

    fn node(name: &str, role: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            role: role.into(),
            address: "127.0.0.1".into(),
        }
    }

    #[test]
    fn a_gateway_path_splits_into_cluster_ui_and_rest() {
        assert_eq!(
            UiPath::parse("/disco/abc/ui/spark-master/app/?x=1"),
            Some(UiPath {
                id: "abc",
                name: "spark-master",
                rest: "/app/?x=1"
            })
        );
        assert_eq!(UiPath::parse("/disco/abc/ui/log").unwrap().rest, "");
        assert_eq!(UiPath::parse("/disco/abc/ui/log/").unwrap().rest, "/");
        assert_eq!(UiPath::parse("/disco/abc/events"), None);
    }

    #[test]
    fn slave_uis_are_named_after_their_slave_and_master_uis_once() {
        let uis = [
            planned("spark-master", Role::Master, PrefixMode::Strip),
            planned("spark-worker", Role::Slave, PrefixMode::Strip),
        ];
        let nodes = [
            node("master", "master"),
            node("slave-1", "slave"),
            node("slave-2", "slave"),
        ];
        let names: Vec<String> = instances(&uis, &nodes)
            .iter()
            .map(|i| format!("{}@{}", i.name, i.node.name))
            .collect();
        assert_eq!(
            names,
            [
                "spark-master@master",
                "spark-worker-1@slave-1",
                "spark-worker-2@slave-2"
            ]
        );
    }

    #[test]
    fn a_stripped_ui_is_asked_for_the_rest_and_a_kept_one_for_the_whole_path() {
        let prefix = "/disco/x/ui/jupyter";
        assert_eq!(
            upstream_path(prefix, PrefixMode::Keep, "/api/status", "token=t"),
            "/disco/x/ui/jupyter/api/status?token=t"
        );
        assert_eq!(
            upstream_path(prefix, PrefixMode::Strip, "/json/", ""),
            "/json/"
        );
        assert_eq!(upstream_path(prefix, PrefixMode::Strip, "", "a=b"), "/?a=b");
    }

    #[test]
    fn redirects_to_the_node_come_back_through_the_gateway() {
        let up = "http://127.0.0.5:8080";
        let public = "https://disco.example.org";
        let prefix = "/disco/x/ui/spark-master";
        let strip = PrefixMode::Strip;
        assert_eq!(
            rewrite_location("http://127.0.0.5:8080/jobs/", up, public, prefix, strip),
            "https://disco.example.org/disco/x/ui/spark-master/jobs/"
        );
        assert_eq!(
            rewrite_location("/jobs/", up, public, prefix, strip),
            "/disco/x/ui/spark-master/jobs/"
        );
        assert_eq!(
            rewrite_location("https://disco.example.org/", up, public, prefix, strip),
            "https://disco.example.org/disco/x/ui/spark-master/"
        );
        assert_eq!(
            rewrite_location("/disco/x/ui/spark-master/a", up, public, prefix, strip),
            "/disco/x/ui/spark-master/a"
        );
        assert_eq!(
            rewrite_location("jobs/", up, public, prefix, strip),
            "jobs/"
        );
        assert_eq!(
            rewrite_location("https://elsewhere.org/a", up, public, prefix, strip),
            "https://elsewhere.org/a"
        );
        assert_eq!(
            rewrite_location("http://127.0.0.5:80801/a", up, public, prefix, strip),
            "http://127.0.0.5:80801/a"
        );
        assert_eq!(
            rewrite_location(
                "http://127.0.0.5:8080/disco/x/ui/jupyter/lab",
                up,
                public,
                "/disco/x/ui/jupyter",
                PrefixMode::Keep
            ),
            "https://disco.example.org/disco/x/ui/jupyter/lab"
        );
    }
}
