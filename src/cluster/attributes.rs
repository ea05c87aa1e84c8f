//! The `disco` kind: every attribute it accepts or reports, under DISCO's names.

use crate::frameworks::{Catalog, ParamType, Role};
use crate::occi::{ActionDef, AttrType, AttributeDef, KindDef, CORE_SCHEME};

/// Scheme of the `disco` kind, as DISCO published it.
pub const SM_SCHEME: &str = "http://schemas.cloudcomplab.ch/occi/sm#";
/// Where clusters live.
pub const LOCATION: &str = "/disco/";

pub const SLAVECOUNT: &str = "icclab.disco.components.heat.slavecount";
pub const INJECT: &str = "icclab.disco.dependencies.inject";
pub const COMPONENTS_PREFIX: &str = "icclab.disco.components.";
pub const DEPLOYER_USERNAME: &str = "icclab.disco.deployer.username";
pub const DEPLOYER_PASSWORD: &str = "icclab.disco.deployer.password";
pub const DEPLOYER_REGION: &str = "icclab.disco.deployer.region";
pub const TITLE: &str = "occi.core.title";
/// Bring-your-own public key: installed instead of a key disco generates.
pub const SSH_PUBLIC_KEY: &str = "icclab.disco.components.heat.sshpublickey";
pub const SUMMARY: &str = "occi.core.summary";
/// How long the cluster may live from its creation (`3600`, `30m`, `2h`, `7d`).
pub const LIFETIME: &str = "icclab.disco.lifetime";
/// Scheme of the disco kind's actions.
pub const ACTION_SCHEME: &str = "http://schemas.cloudcomplab.ch/occi/sm/disco/action#";
/// The attributes an update may change; every other given attribute must be unchanged.
pub const MUTABLE: [&str; 4] = [SLAVECOUNT, LIFETIME, TITLE, SUMMARY];

/// Infrastructure attributes under `icclab.disco.components.heat.`: short name and meaning.
pub const INFRASTRUCTURE: [(&str, &str); 6] = [
    ("masterimage", "Image (name or ID) of the master node"),
    ("slaveimage", "Image (name or ID) of the slave nodes"),
    ("masterflavor", "Flavor (name or ID) of the master node"),
    ("slaveflavor", "Flavor (name or ID) of the slave nodes"),
    ("networkname", "Name of the network created for the cluster"),
    (
        "externalnetworkname",
        "External network for the router and the floating IP",
    ),
];

/// Attributes disco reports and a client may not set: name and meaning.
pub const OUTPUTS: [(&str, &str); 24] = [
    ("occi.core.id", "Identifier of the cluster"),
    ("mcn.service.state", "State, DISCO-compatible"),
    (
        "icclab.disco.state",
        "State: pending, building, ready, scaling, suspending, suspended, resuming, degraded, failed, deleting",
    ),
    (
        "icclab.disco.state_reason",
        "Why the cluster is in its state (the failure or health problem)",
    ),
    (
        "icclab.disco.generation",
        "Grows with every accepted change of what the cluster should be",
    ),
    (
        "icclab.disco.observed_generation",
        "The generation the reported state reflects",
    ),
    (
        "icclab.disco.nodes",
        "The nodes: name, role and address of each",
    ),
    (
        "icclab.disco.expires_at",
        "When the lifetime runs out and the cluster is deleted (RFC 3339)",
    ),
    (
        "icclab.disco.events",
        "Where the cluster's history is (JSON, text or a live event stream)",
    ),
    (
        "icclab.disco.progress",
        "What is being installed and how much is done",
    ),
    ("icclab.disco.frameworks", "Frameworks in install order"),
    (
        "icclab.disco.frameworks.done",
        "Frameworks installed on every node",
    ),
    (
        "icclab.disco.created_at",
        "When the cluster was requested (RFC 3339)",
    ),
    (
        "icclab.disco.updated_at",
        "When the cluster last changed (RFC 3339)",
    ),
    (
        "stack_status",
        "Heat-style status (CREATE_IN_PROGRESS, CREATE_COMPLETE, …)",
    ),
    ("stack_status_reason", "Heat-style status reason"),
    ("external_ip", "Address of the master node"),
    ("ssh_key_name", "Name of the cluster's SSH key pair"),
    ("ssh_public_key", "Public key installed on the nodes"),
    (
        "ssh_private_key",
        "Private key to log in to the master (shown once the cluster is ready)",
    ),
    ("icclab.disco.ssh_user", "User to log in as"),
    ("icclab.disco.ssh_port", "SSH port of the master"),
    (
        "icclab.disco.log_url",
        "Deployment log server on the master",
    ),
    (
        "icclab.disco.ssh_known_hosts",
        "known_hosts line with the master's SSH host key",
    ),
];

/// The family of attributes giving each web UI's gateway URL: `icclab.disco.ui.<name>`.
pub const UI_ATTRIBUTE_PREFIX: &str = "icclab.disco.ui.";

/// Whether `name` is reported by disco rather than given by clients.
pub fn is_output(name: &str) -> bool {
    OUTPUTS.iter().any(|(output, _)| *output == name) || name.starts_with(UI_ATTRIBUTE_PREFIX)
}

fn attribute(name: &str, attr_type: AttrType, description: &str) -> AttributeDef {
    AttributeDef {
        name: name.to_string(),
        attr_type,
        required: false,
        immutable: false,
        description: description.to_string(),
        default: None,
    }
}

/// The `disco` kind with all attributes, including each framework's parameters.
pub fn disco_kind(catalog: &Catalog, max_slave_count: u32) -> KindDef {
    let mut attributes = vec![
        attribute(TITLE, AttrType::String, "Title of the cluster"),
        attribute(SUMMARY, AttrType::String, "Summary of the cluster"),
        AttributeDef {
            default: Some("0".into()),
            ..attribute(
                SLAVECOUNT,
                AttrType::Integer,
                &format!("Number of slave nodes (0 to {max_slave_count}); changing it scales the cluster"),
            )
        },
        attribute(
            LIFETIME,
            AttrType::String,
            "How long the cluster may live from its creation (3600, 30m, 2h, 7d); then it is deleted",
        ),
    ];
    for (short, description) in INFRASTRUCTURE {
        attributes.push(attribute(
            &format!("{COMPONENTS_PREFIX}heat.{short}"),
            AttrType::String,
            description,
        ));
    }
    attributes.push(attribute(
        SSH_PUBLIC_KEY,
        AttrType::String,
        "Your own OpenSSH public key for the nodes; then disco generates none and reports no private key",
    ));
    attributes.push(attribute(
        DEPLOYER_USERNAME,
        AttrType::String,
        "OpenStack user name (instead of X-User-Name)",
    ));
    attributes.push(attribute(
        DEPLOYER_PASSWORD,
        AttrType::String,
        "OpenStack password (instead of X-Password); never stored or shown",
    ));
    attributes.push(attribute(
        DEPLOYER_REGION,
        AttrType::String,
        "OpenStack region (instead of X-Region-Name)",
    ));
    attributes.push(attribute(
        INJECT,
        AttrType::Object,
        "Frameworks to install, as a Python dictionary literal or JSON object, e.g. {'spark': ''}",
    ));
    for framework in catalog.iter().filter(|f| !f.manifest.always) {
        for (name, spec) in &framework.manifest.parameters {
            let attr_type = match spec.param_type {
                ParamType::Integer => AttrType::Integer,
                ParamType::Boolean => AttrType::Boolean,
                ParamType::String | ParamType::Enum => AttrType::String,
            };
            let mut description = format!("{}: {}", framework.name(), spec.description);
            if !spec.values.is_empty() {
                description.push_str(&format!(" (one of {})", spec.values.join(", ")));
            }
            attributes.push(AttributeDef {
                default: spec.default_value().map(|v| v.to_string()),
                ..attribute(
                    &format!("{COMPONENTS_PREFIX}{}.{name}", framework.name()),
                    attr_type,
                    &description,
                )
            });
        }
    }
    for framework in catalog.iter() {
        for (name, secret) in &framework.manifest.generated {
            attributes.push(AttributeDef {
                immutable: true,
                ..attribute(
                    &format!("{COMPONENTS_PREFIX}{}.{name}", framework.name()),
                    AttrType::String,
                    &format!(
                        "{}: {} (generated by disco, shown once the cluster is ready)",
                        framework.name(),
                        secret.description
                    ),
                )
            });
        }
    }
    for framework in catalog.iter() {
        for ui in &framework.manifest.ui {
            let (name, per_slave) = match ui.role {
                Role::Master => (format!("{UI_ATTRIBUTE_PREFIX}{}", ui.name), ""),
                Role::Slave => (
                    format!("{UI_ATTRIBUTE_PREFIX}{}-N", ui.name),
                    ", one per slave N",
                ),
            };
            attributes.push(AttributeDef {
                immutable: true,
                ..attribute(
                    &name,
                    AttrType::String,
                    &format!(
                        "{}: URL of {} through disco's UI gateway{per_slave} (once the cluster is ready)",
                        framework.name(),
                        ui.description
                    ),
                )
            });
        }
    }
    for (name, description) in OUTPUTS {
        attributes.push(AttributeDef {
            immutable: true,
            ..attribute(name, AttrType::String, description)
        });
    }
    KindDef {
        term: "disco".into(),
        scheme: SM_SCHEME.into(),
        title: "DISCO distributed computing cluster".into(),
        rel: Some(format!("{CORE_SCHEME}resource")),
        location: Some(LOCATION.into()),
        attributes,
        actions: actions(),
    }
}

/// The disco kind's actions (`POST /disco/<id>?action=<term>`).
pub fn actions() -> Vec<ActionDef> {
    let action = |term: &str, title: &str, attributes: &[&str]| ActionDef {
        term: term.into(),
        scheme: ACTION_SCHEME.into(),
        title: title.into(),
        attributes: attributes.iter().map(|a| a.to_string()).collect(),
    };
    vec![
        action(
            "scale",
            "Add or remove slaves (highest index first)",
            &[SLAVECOUNT],
        ),
        action(
            "suspend",
            "Stop every process of every node; keep files, addresses and keys",
            &[],
        ),
        action("resume", "Start a suspended cluster again", &[]),
    ]
}
