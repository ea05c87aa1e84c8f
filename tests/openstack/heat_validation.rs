//! Every stack disco renders for a matrix of requests, checked by real Heat's validation.

use std::path::{Path, PathBuf};
use std::process::Command;

const INJECT: &str = "icclab.disco.dependencies.inject";
const FRAMEWORKS: [&str; 7] = [
    "shell",
    "spark",
    "hadoop",
    "jupyter",
    "zeppelin",
    "docker-swarm",
    "mongodb",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("DISCO_OPENSTACK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/disco/openstack-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/openstack/install.sh (or tests/openstack/run.sh)",
        python.display()
    );
    python
}

/// `disco plan --output json` for the attributes; panics with disco's message on failure.
fn plan(attributes: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_disco"));
    // Every network the security group can name, so that each rule kind is validated.
    command
        .current_dir(repo())
        .env("DISCO_OPENSTACK__GATEWAY_CIDR", "198.51.100.7/32")
        .env("DISCO_OPENSTACK__LOG_CIDR", "192.0.2.0/24")
        .env("DISCO_OPENSTACK__SERVICE_CIDR", "203.0.113.0/24")
        .args(["plan", "--output", "json"]);
    for (name, value) in attributes {
        command.arg("--attribute").arg(format!("{name}={value}"));
    }
    let output = command.output().expect("run disco plan");
    assert!(
        output.status.success(),
        "disco plan {attributes:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// Runs the validator over the files; returns (file name, verdict line) pairs.
fn validate(files: &[PathBuf]) -> Vec<(String, String)> {
    let output = Command::new(venv_python())
        .arg(repo().join("tests/openstack/validate_template.py"))
        .args(files)
        .output()
        .expect("run the validator");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&format!("{name}: ")))
                .unwrap_or_else(|| {
                    panic!(
                        "no verdict for {name}; validator said:\n{stdout}\n{}",
                        String::from_utf8_lossy(&output.stderr)
                    )
                })
                .to_string();
            (name, line)
        })
        .collect()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write plan");
    path
}

const HOSTILE: [(&str, &str); 8] = [
    (
        "icclab.disco.components.heat.masterimage",
        "ubuntu\"}, \"evil\": {\"type\": \"OS::Nova::Server\"} #",
    ),
    (
        "icclab.disco.components.heat.slaveimage",
        "!!python/object/apply:os.system [\"touch /tmp/pwned\"]",
    ),
    (
        "icclab.disco.components.heat.masterflavor",
        "m1: {{ 7*7 }} {% raw %}",
    ),
    (
        "icclab.disco.components.heat.slaveflavor",
        "$(touch /tmp/pwned) `id`",
    ),
    (
        "icclab.disco.components.heat.networkname",
        "net %index% INDEX &a *a",
    ),
    (
        "icclab.disco.components.heat.externalnetworkname",
        "ext'; DROP TABLE stacks; -- { get_param: key_name }",
    ),
    ("occi.core.title", "{\"get_file\": \"/etc/passwd\"}"),
    (
        "icclab.disco.components.shell.command",
        "echo \"$(id)\" '{{x}}' ; true",
    ),
];

#[test]
#[ignore = "needs real Heat from PyPI: tests/openstack/run.sh"]
fn every_rendered_stack_passes_real_heat_validation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for slaves in ["0", "1", "5"] {
        for framework in FRAMEWORKS {
            let inject = format!("{{'{framework}': ''}}");
            let name = format!("{framework}-{slaves}.json");
            let json = plan(&[
                (INJECT, &inject),
                ("icclab.disco.components.heat.slavecount", slaves),
            ]);
            files.push(write(dir.path(), &name, &json));
        }
        let all = format!(
            "{{{}}}",
            FRAMEWORKS
                .iter()
                .map(|f| format!("'{f}': ''"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let json = plan(&[
            (INJECT, &all),
            ("icclab.disco.components.heat.slavecount", slaves),
        ]);
        files.push(write(dir.path(), &format!("all-{slaves}.json"), &json));
        let mut hostile = HOSTILE.to_vec();
        hostile.push(("icclab.disco.components.heat.slavecount", slaves));
        let json = plan(&hostile);
        files.push(write(dir.path(), &format!("hostile-{slaves}.json"), &json));
    }
    let verdicts = validate(&files);
    let invalid: Vec<&String> = verdicts
        .iter()
        .map(|(_, line)| line)
        .filter(|line| !line.ends_with(": valid"))
        .collect();
    assert!(
        invalid.is_empty(),
        "Heat rejects disco's stacks:\n{invalid:#?}"
    );
    assert_eq!(verdicts.len(), 27);
}

#[test]
#[ignore = "needs real Heat from PyPI: tests/openstack/run.sh"]
fn hostile_values_stay_parameter_values_and_never_shape_the_template() {
    let benign = plan(&[
        (INJECT, "{'shell': ''}"),
        ("icclab.disco.components.heat.slavecount", "2"),
    ]);
    let mut attributes = HOSTILE.to_vec();
    attributes.push(("icclab.disco.components.heat.slavecount", "2"));
    let hostile = plan(&attributes);
    let benign: serde_json::Value = serde_json::from_str(&benign).expect("JSON");
    let hostile: serde_json::Value = serde_json::from_str(&hostile).expect("JSON");
    assert_eq!(benign["template"], hostile["template"]);
    assert_eq!(benign["files"], hostile["files"]);
    assert_eq!(
        hostile["parameters"]["master_image"],
        serde_json::json!(HOSTILE[0].1)
    );
    assert_eq!(
        hostile["parameters"]["slave_flavor"],
        serde_json::json!(HOSTILE[3].1)
    );
}

#[test]
#[ignore = "needs real Heat from PyPI: tests/openstack/run.sh"]
fn the_validator_rejects_a_broken_stack_so_its_verdicts_mean_something() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = plan(&[(INJECT, "{'spark': ''}")]);
    let mut document: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    // A master pointing at a port that does not exist, and a slave count out of range.
    document["template"]["resources"]["master"]["properties"]["networks"][0]["port"] =
        serde_json::json!({"get_resource": "no_such_port"});
    let broken = write(dir.path(), "broken.json", &document.to_string());
    let mut document: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    document["parameters"]["slave_count"] = serde_json::json!(100000);
    let out_of_range = write(dir.path(), "range.json", &document.to_string());
    let verdicts = validate(&[broken, out_of_range]);
    assert!(
        verdicts[0].1.contains("INVALID") && verdicts[0].1.contains("no_such_port"),
        "{verdicts:?}"
    );
    assert!(verdicts[1].1.contains("INVALID"), "{verdicts:?}");
}

#[test]
#[ignore = "needs real Heat from PyPI: tests/openstack/run.sh"]
fn the_master_and_the_slaves_wait_for_the_router_interface_in_heats_dependency_graph() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for slaves in ["0", "2"] {
        let json = plan(&[
            (INJECT, "{'spark': ''}"),
            ("icclab.disco.components.heat.slavecount", slaves),
        ]);
        files.push(write(dir.path(), &format!("spark-{slaves}.json"), &json));
    }
    let output = Command::new(venv_python())
        .arg(repo().join("tests/openstack/validate_template.py"))
        .arg("--graph")
        .args(&files)
        .output()
        .expect("run the validator");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    for file in &files {
        let prefix = format!("{}: graph: ", file.display());
        let graph: serde_json::Value = stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_else(|| panic!("no graph for {}:\n{stdout}", file.display()));
        // Each server's boot starts its installers, which need a route out (apt, downloads,
        // the wait condition's URL): nothing may boot before the router has its interface.
        for node in ["master", "slaves"] {
            let requires = graph[node].as_array().expect("a list of resource names");
            assert!(
                requires.iter().any(|r| r == "router_interface"),
                "{}: {node} does not wait for router_interface: {requires:?}",
                file.display()
            );
        }
        assert_eq!(
            graph["router_interface"],
            serde_json::json!(["router", "subnet"])
        );
    }
}
