use crate::sandbox::*;
use std::collections::BTreeSet;
use std::process::Command;

/// Plays the network: a download writes the URL's file name (so its checksum is known); the
/// cluster's masters list the asking node as registered.
const CURL: &str = r#"url=""; out=""; prev=""
for a in "$@"; do
    [ "$prev" = -o ] && out=$a
    case "$a" in http://* | https://*) url=$a ;; esac
    prev=$a
done
case "$url" in
    */json/) printf '{"workers":[{"host":"%s","state":"ALIVE"}]}' "$DISCO_NODE_ADDR"; exit 0 ;;
esac
[ -z "$out" ] || printf '%s' "${url##*/}" > "$out""#;

const ZEPPELIN_TARBALL: &str = "zeppelin-0.12.0-bin-all.tgz";
const SPARK_TARBALL: &str = "spark-3.5.5-bin-hadoop3.tgz";
const HADOOP_TARBALL: &str = "hadoop-3.4.3.tar.gz";

fn zeppelin_sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new(1);
    sandbox.stub("curl", CURL);
    for port in [8084, 7077, 18080, 8070] {
        sandbox.listen(0, port);
    }
    sandbox
}

fn sha512(text: &str) -> String {
    let output = Command::new("bash")
        .args(["-c", "printf '%s' \"$1\" | sha512sum", "-", text])
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    format!("sha512:{hex}")
}

/// The variables zeppelin-env.sh sets, as Zeppelin's scripts see them after sourcing it.
fn sourced(run: &Run, names: &[&str]) -> Vec<String> {
    let script = names
        .iter()
        .map(|n| format!("printf '%s\\0' \"${n}\";"))
        .collect::<String>();
    let output = Command::new("bash")
        .args([
            "-c",
            &format!("set -eu; . \"$1\"; {script}"),
            "-",
            run.root
                .join("etc/zeppelin/zeppelin-env.sh")
                .to_str()
                .unwrap(),
        ])
        .current_dir(&run.root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn zeppelin_serves_port_8070_of_the_master_and_submits_to_the_spark_master() {
    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let frameworks: &[(&str, &[(&str, &str)])] = &[
        ("spark", &[("sha256", &spark_sha)]),
        ("zeppelin", &[("checksum", &zeppelin_sha)]),
    ];
    let run = sandbox.deploy(0, frameworks);
    assert!(run.success, "{}", run.output);
    assert_eq!(
        run.status["done"],
        serde_json::json!(["base", "spark", "zeppelin"])
    );
    let master = sandbox.addresses[0].to_string();
    run.assert_called("useradd", &["--system", "zeppelin"]);
    run.assert_called(
        "curl",
        &["https://archive.apache.org/dist/zeppelin/zeppelin-0.12.0/zeppelin-0.12.0-bin-all.tgz"],
    );
    run.assert_called("tar", &["-xzf", "zeppelin-0.12.0.tgz", "--no-same-owner"]);
    run.assert_called("chown", &["-R", "zeppelin:zeppelin", "opt/zeppelin-0.12.0"]);

    let spark_home = run.root.join("opt/spark-3.5.5").display().to_string();
    let values = sourced(
        &run,
        &[
            "ZEPPELIN_ADDR",
            "ZEPPELIN_PORT",
            "SPARK_HOME",
            "MASTER",
            "SPARK_MASTER",
        ],
    );
    assert_eq!(
        values,
        vec![
            master.clone(),
            "8070".to_string(),
            spark_home.clone(),
            format!("spark://{master}:7077"),
            format!("spark://{master}:7077"),
        ]
    );
    // The same Spark the spark installer exported to users.
    let profile = run.file("etc/profile.d/disco.sh");
    assert!(
        profile.contains(&format!("export SPARK_HOME={spark_home}\n")),
        "{profile}"
    );
    let env = run.file("etc/zeppelin/zeppelin-env.sh");
    assert!(!env.contains("HADOOP_CONF_DIR"), "{env}");

    let site = run.file("etc/zeppelin/zeppelin-site.xml");
    for part in [
        format!("<name>zeppelin.server.addr</name>\n    <value>{master}</value>"),
        "<name>zeppelin.server.port</name>\n    <value>8070</value>".to_string(),
    ] {
        assert!(site.contains(&part), "{part} not in {site}");
    }
    // Zeppelin serves below the gateway's path for it, /disco/<id>/ui/zeppelin.
    let context = site
        .split("<name>zeppelin.server.context.path</name>\n    <value>")
        .nth(1)
        .and_then(|rest| rest.split("</value>").next())
        .unwrap_or_else(|| panic!("no context path in {site}"));
    assert!(
        context.starts_with("/disco/") && context.ends_with("/ui/zeppelin"),
        "{context}"
    );
    // The release's defaults are kept next to disco's files.
    assert!(run.root.join("etc/zeppelin/log4j2.properties").exists());

    let unit = run.unit("zeppelin");
    assert!(unit.contains("User=zeppelin"), "{unit}");
    assert!(unit.contains("/bin/zeppelin.sh\""), "{unit}");
    assert!(unit.contains("\"ZEPPELIN_CONF_DIR="), "{unit}");
    run.assert_called("systemctl", &["enable", "--now", "disco-zeppelin"]);
    assert!(run
        .file("etc/profile.d/disco.sh")
        .contains("export ZEPPELIN_HOME="));
}

#[test]
fn with_hadoop_zeppelin_submits_to_yarn() {
    let mut sandbox = zeppelin_sandbox();
    for port in [9000, 8031, 8032] {
        sandbox.listen(0, port);
    }
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let hadoop_sha = sha256_hex(HADOOP_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let run = sandbox.deploy(
        0,
        &[
            ("zeppelin", &[("checksum", &zeppelin_sha)]),
            ("spark", &[("sha256", &spark_sha)]),
            ("hadoop", &[("checksum", &hadoop_sha)]),
        ],
    );
    assert!(run.success, "{}", run.output);
    assert_eq!(
        run.status["done"],
        serde_json::json!(["base", "hadoop", "spark", "zeppelin"])
    );
    let values = sourced(&run, &["MASTER", "SPARK_MASTER", "HADOOP_CONF_DIR"]);
    assert_eq!(
        values,
        vec![
            "yarn".to_string(),
            "yarn".to_string(),
            run.root.join("etc/hadoop").display().to_string(),
        ]
    );
}

#[test]
fn zeppelin_brings_spark_and_runs_on_the_master_only() {
    let catalog = catalog();
    let order: Vec<&str> = catalog
        .resolve_install_order(&BTreeSet::from(["zeppelin".to_string()]))
        .unwrap()
        .into_iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(order, vec!["base", "spark", "zeppelin"]);

    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let frameworks: &[(&str, &[(&str, &str)])] = &[
        ("spark", &[("sha256", &spark_sha)]),
        ("zeppelin", &[("checksum", &zeppelin_sha)]),
    ];
    let slave = sandbox.deploy(1, frameworks);
    assert!(slave.success, "{}", slave.output);
    assert_eq!(slave.status["done"], serde_json::json!(["spark"]));
    assert!(slave.find("curl", &["zeppelin"]).is_none());
}

#[test]
fn a_second_run_downloads_nothing_and_writes_the_same_configuration() {
    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let frameworks: &[(&str, &[(&str, &str)])] = &[
        ("spark", &[("sha256", &spark_sha)]),
        ("zeppelin", &[("checksum", &zeppelin_sha)]),
    ];
    let first = sandbox.deploy(0, frameworks);
    assert!(first.success, "{}", first.output);
    let env = first.file("etc/zeppelin/zeppelin-env.sh");
    let site = first.file("etc/zeppelin/zeppelin-site.xml");
    std::fs::remove_file(first.root.join("run/disco/done/zeppelin")).unwrap();
    let second = sandbox.deploy(0, frameworks);
    assert!(second.success, "{}", second.output);
    assert!(second.calls_to("tar").is_empty());
    assert!(second.find("curl", &["-o"]).is_none());
    assert_eq!(second.file("etc/zeppelin/zeppelin-env.sh"), env);
    assert_eq!(second.file("etc/zeppelin/zeppelin-site.xml"), site);
}

#[test]
fn a_tarball_with_the_wrong_checksum_fails_the_node_and_says_why() {
    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let wrong = format!("sha512:{}", "0".repeat(128));
    let frameworks: &[(&str, &[(&str, &str)])] = &[
        ("spark", &[("sha256", &spark_sha)]),
        ("zeppelin", &[("checksum", &wrong)]),
    ];
    let run = sandbox.deploy(0, frameworks);
    run.assert_download_refused("zeppelin");
    assert!(!run
        .root
        .join("etc/systemd/system/disco-zeppelin.service")
        .exists());
}

#[test]
fn a_hostile_download_url_reaches_curl_as_one_inert_argument() {
    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let url = "https://example.org/$(touch${IFS}pwned);rm${IFS}-rf${IFS}/&'x'/zeppelin-{version}-bin-all.tgz";
    let run = sandbox.deploy(
        0,
        &[
            ("spark", &[("sha256", &spark_sha)]),
            (
                "zeppelin",
                &[("checksum", &zeppelin_sha), ("download_url", url)],
            ),
        ],
    );
    assert!(run.success, "{}", run.output);
    let expected = url.replace("{version}", "0.12.0");
    run.assert_curl_got(&expected);
    assert!(!run.root.join("pwned").exists());
    // Nothing of the URL reaches the files Zeppelin's scripts source.
    assert!(!run.file("etc/zeppelin/zeppelin-env.sh").contains("pwned"));
}

#[test]
fn parameters_refuse_values_that_are_not_plain_data() {
    let catalog = catalog();
    let zeppelin = catalog.find("zeppelin").unwrap();
    for (name, value) in [
        ("version", "0.12.0\nexport MASTER=local"),
        ("version", "$(id)"),
        ("download_url", "https://example.org/`id`"),
        ("download_url", "https://example.org/a b"),
        ("checksum", "sha512:0123"),
        ("checksum", "sha1:0123"),
    ] {
        let spec = &zeppelin.manifest.parameters[name];
        assert!(
            spec.parse(disco::frameworks::RawParam::Text(value))
                .is_err(),
            "{name} accepted {value:?}"
        );
    }
}

#[test]
fn zeppelin_asks_for_the_generated_password_and_its_spark_interpreter_has_sparks_secret() {
    let sandbox = zeppelin_sandbox();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let zeppelin_sha = sha512(ZEPPELIN_TARBALL);
    let (password, secret) = ("ZeppelinPassw0rdGen", "SparkSecretGen42");
    let run = sandbox.deploy_with(
        0,
        &[
            ("spark", &[("sha256", &spark_sha)]),
            ("zeppelin", &[("checksum", &zeppelin_sha)]),
        ],
        &[
            ("DISCO_ZEPPELIN_PASSWORD", password),
            ("DISCO_SPARK_SECRET", secret),
            (
                "DISCO_SECRET_VARS",
                "DISCO_ZEPPELIN_PASSWORD:zeppelin DISCO_SPARK_SECRET:spark",
            ),
        ],
    );
    assert!(run.success, "{}", run.output);
    let shiro = run.file("etc/zeppelin/shiro.ini");
    assert!(
        shiro.contains(&format!("[users]\nadmin = {password}, admin\n")),
        "{shiro}"
    );
    assert!(shiro.contains("/** = authc"), "{shiro}");
    // Zeppelin's Spark interpreter reads its own copy of Spark's configuration, secret included.
    let values = sourced(&run, &["SPARK_CONF_DIR"]);
    assert_eq!(
        values,
        vec![run.root.join("etc/zeppelin/spark").display().to_string()]
    );
    let copy = run.file("etc/zeppelin/spark/spark-defaults.conf");
    assert!(copy.contains(&format!("spark.authenticate.secret       {secret}")));
    for file in [
        "etc/zeppelin/shiro.ini",
        "etc/zeppelin/spark/spark-defaults.conf",
    ] {
        let mode = std::fs::metadata(run.root.join(file))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600,
            "{file}"
        );
    }
    // Both directories become the zeppelin user's.
    run.assert_called("chown", &["-R", "zeppelin:zeppelin", "etc/zeppelin"]);
    for call in &run.calls {
        assert!(
            !call.line().contains(password) && !call.line().contains(secret),
            "{}",
            call.line()
        );
    }
    for log in ["deployment.log", "zeppelin.log", "spark.log"] {
        let text =
            std::fs::read_to_string(run.root.join("var/log/disco").join(log)).unwrap_or_default();
        assert!(!text.contains(password) && !text.contains(secret), "{log}");
    }
}
