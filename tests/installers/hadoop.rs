use crate::sandbox::*;
use disco::frameworks::HookEvent;

/// Plays the network: a download writes the URL's file name (so its checksum is known), the
/// NameNode's JMX and the ResourceManager's REST API list the asking node as registered.
const CURL: &str = r#"url=""; out=""; prev=""
for a in "$@"; do
    [ "$prev" = -o ] && out=$a
    case "$a" in http://* | https://*) url=$a ;; esac
    prev=$a
done
case "$url" in
    */jmx?*) printf '{"beans":[{"LiveNodes":"{\\"%s:9866\\":{\\"xferaddr\\":\\"%s:9866\\"}}"}]}' "$DISCO_NODE_ADDR" "$DISCO_NODE_ADDR"; exit 0 ;;
    */ws/v1/cluster/nodes) printf '{"nodes":{"node":[{"nodeHostName":"%s","state":"RUNNING"}]}}' "$DISCO_NODE_ADDR"; exit 0 ;;
    */json/) printf '{"workers":[{"host":"%s","state":"ALIVE"}]}' "$DISCO_NODE_ADDR"; exit 0 ;;
esac
[ -z "$out" ] || printf '%s' "${url##*/}" > "$out""#;

const HADOOP_TARBALL: &str = "hadoop-3.4.3.tar.gz";
const SPARK_TARBALL: &str = "spark-3.5.5-bin-hadoop3.tgz";

/// Plays Hadoop's client commands (run as the hadoop user): `dfsadmin -report` prints
/// `<log>.report.<n>` on its n-th call (from 0) when the test wrote one, else `<log>.report`;
/// `-refreshNodes` notes what the exclude files held at that moment in `<log>.refreshes`.
const RUNUSER: &str = r#"conf=""; for a in "$@"; do case "$a" in HADOOP_CONF_DIR=*) conf=${a#*=};; esac; done
for a in "$@"; do case "$a" in
    -report)
        n=$(cat "$DISCO_STUB_LOG.reports" 2> /dev/null || echo 0)
        echo $((n + 1)) > "$DISCO_STUB_LOG.reports"
        if [ -e "$DISCO_STUB_LOG.report.$n" ]; then cat "$DISCO_STUB_LOG.report.$n"; else cat "$DISCO_STUB_LOG.report"; fi
        exit 0;;
    -refreshNodes)
        printf '%s dfs=[%s] yarn=[%s]\n' "$2" "$(paste -sd, "$conf/dfs.exclude")" "$(paste -sd, "$conf/yarn.exclude")" >> "$DISCO_STUB_LOG.refreshes"
        exit 0;;
esac; done"#;

fn hadoop_sandbox(slaves: usize) -> Sandbox {
    let mut sandbox = Sandbox::new(slaves);
    sandbox.stub("curl", CURL);
    sandbox.stub("runuser", RUNUSER);
    for port in [8084, 9000, 8031, 8032] {
        sandbox.listen(0, port);
    }
    sandbox
}

fn checksum() -> String {
    sha256_hex(HADOOP_TARBALL.as_bytes())
}

/// The value of a property in a Hadoop *-site.xml.
fn property(xml: &str, name: &str) -> Option<String> {
    let at = xml.find(&format!("<name>{name}</name>"))?;
    let rest = &xml[at..];
    let start = rest.find("<value>")? + "<value>".len();
    let end = rest.find("</value>")?;
    Some(rest[start..end].to_string())
}

fn assert_property(run: &Run, file: &str, name: &str, expected: &str) {
    let xml = run.file(&format!("etc/hadoop/{file}"));
    assert_eq!(
        property(&xml, name).as_deref(),
        Some(expected),
        "{name} in {file}:\n{xml}"
    );
}

fn unit_exists(run: &Run, service: &str) -> bool {
    run.root
        .join(format!("etc/systemd/system/disco-{service}.service"))
        .exists()
}

fn format_calls(run: &Run) -> usize {
    run.calls_to("runuser")
        .iter()
        .filter(|c| c.args.iter().any(|a| a == "-format"))
        .count()
}

#[test]
fn the_master_formats_hdfs_and_runs_namenode_and_resourcemanager_as_hadoop() {
    let sandbox = hadoop_sandbox(2);
    let sha = checksum();
    let run = sandbox.deploy(0, &[("hadoop", &[("checksum", &sha)])]);
    assert!(run.success, "{}", run.output);
    let master = sandbox.addresses[0].to_string();
    run.assert_called("apt-get", &["install", "openjdk-17-jre-headless"]);
    run.assert_called("useradd", &["--system", "hadoop"]);
    run.assert_called(
        "curl",
        &["https://archive.apache.org/dist/hadoop/common/hadoop-3.4.3/hadoop-3.4.3.tar.gz"],
    );
    run.assert_called("tar", &["-xzf", "hadoop-3.4.3.tar.gz", "--no-same-owner"]);
    let format = run.assert_called("runuser", &["-u", "hadoop", "namenode", "-format"]);
    assert!(
        format.line().contains("HADOOP_CONF_DIR="),
        "{}",
        format.line()
    );
    assert_eq!(format_calls(&run), 1);
    // /tmp and /user are open to every user, as the hadoop user.
    run.assert_called(
        "runuser",
        &["hadoop", "dfs", "-chmod", "1777", "/tmp", "/user"],
    );

    let namenode = run.unit("hadoop-namenode");
    assert!(namenode.contains("User=hadoop"), "{namenode}");
    assert!(namenode.contains("/bin/hdfs\" \"namenode\""), "{namenode}");
    assert!(namenode.contains("\"HADOOP_CONF_DIR="), "{namenode}");
    let resourcemanager = run.unit("hadoop-resourcemanager");
    assert!(resourcemanager.contains("User=hadoop"), "{resourcemanager}");
    assert!(
        resourcemanager.contains("/bin/yarn\" \"resourcemanager\""),
        "{resourcemanager}"
    );
    run.assert_called("systemctl", &["enable", "--now", "disco-hadoop-namenode"]);
    run.assert_called(
        "systemctl",
        &["enable", "--now", "disco-hadoop-resourcemanager"],
    );
    // With slaves, the master stores no blocks and runs no containers.
    assert!(!unit_exists(&run, "hadoop-datanode"));
    assert!(!unit_exists(&run, "hadoop-nodemanager"));

    assert_property(
        &run,
        "core-site.xml",
        "fs.defaultFS",
        &format!("hdfs://{master}:9000"),
    );
    assert_property(&run, "hdfs-site.xml", "dfs.replication", "2");
    assert_property(
        &run,
        "hdfs-site.xml",
        "dfs.namenode.datanode.registration.ip-hostname-check",
        "false",
    );
    assert_property(
        &run,
        "hdfs-site.xml",
        "dfs.namenode.http-address",
        &format!("{master}:9870"),
    );
    assert_property(
        &run,
        "yarn-site.xml",
        "yarn.resourcemanager.hostname",
        &master,
    );
    assert_property(&run, "mapred-site.xml", "mapreduce.framework.name", "yarn");
    let slaves: String = sandbox.addresses[1..]
        .iter()
        .map(|a| format!("{a}\n"))
        .collect();
    assert_eq!(run.file("etc/hadoop/workers"), slaves);
    // The release's defaults are kept next to disco's files.
    assert!(run.root.join("etc/hadoop/capacity-scheduler.xml").exists());
    let env = run.file("etc/hadoop/hadoop-env.sh");
    assert!(env.contains("export JAVA_HOME="), "{env}");
    let profile = run.file("etc/profile.d/disco.sh");
    assert!(profile.contains("export HADOOP_HOME="), "{profile}");
    assert!(profile.contains("export HADOOP_CONF_DIR="), "{profile}");
    assert!(profile.contains("hadoop-3.4.3/bin"), "{profile}");
    assert_eq!(run.status["state"], "ready");
}

#[test]
fn a_slave_runs_a_datanode_and_a_nodemanager_on_its_own_address_and_registers() {
    let sandbox = hadoop_sandbox(2);
    let sha = checksum();
    let run = sandbox.deploy(2, &[("hadoop", &[("checksum", &sha)])]);
    assert!(run.success, "{}", run.output);
    let master = sandbox.addresses[0].to_string();
    let me = sandbox.addresses[2].to_string();
    let datanode = run.unit("hadoop-datanode");
    assert!(datanode.contains("User=hadoop"), "{datanode}");
    assert!(datanode.contains("/bin/hdfs\" \"datanode\""), "{datanode}");
    let nodemanager = run.unit("hadoop-nodemanager");
    assert!(nodemanager.contains("User=hadoop"), "{nodemanager}");
    assert!(
        nodemanager.contains("/bin/yarn\" \"nodemanager\""),
        "{nodemanager}"
    );
    assert!(!unit_exists(&run, "hadoop-namenode"));
    assert!(!unit_exists(&run, "hadoop-resourcemanager"));
    assert_eq!(format_calls(&run), 0);

    assert_property(
        &run,
        "core-site.xml",
        "fs.defaultFS",
        &format!("hdfs://{master}:9000"),
    );
    assert_property(
        &run,
        "hdfs-site.xml",
        "dfs.datanode.address",
        &format!("{me}:9866"),
    );
    assert_property(&run, "hdfs-site.xml", "dfs.datanode.hostname", &me);
    assert_property(
        &run,
        "yarn-site.xml",
        "yarn.resourcemanager.hostname",
        &master,
    );
    assert_property(
        &run,
        "yarn-site.xml",
        "yarn.nodemanager.address",
        &format!("{me}:8041"),
    );
    assert_property(&run, "yarn-site.xml", "yarn.nodemanager.hostname", &me);
    // It is ready only once the master lists both daemons.
    run.assert_called("curl", &[&format!("http://{master}:9870/jmx?qry=")]);
    run.assert_called(
        "curl",
        &[&format!("http://{master}:8088/ws/v1/cluster/nodes")],
    );
}

#[test]
fn without_slaves_the_master_runs_a_datanode_and_a_nodemanager_too() {
    let sandbox = hadoop_sandbox(0);
    let sha = checksum();
    let run = sandbox.deploy(0, &[("hadoop", &[("checksum", &sha)])]);
    assert!(run.success, "{}", run.output);
    let master = sandbox.addresses[0].to_string();
    for service in [
        "hadoop-namenode",
        "hadoop-resourcemanager",
        "hadoop-datanode",
        "hadoop-nodemanager",
    ] {
        assert!(unit_exists(&run, service), "no {service} unit");
    }
    assert_eq!(run.file("etc/hadoop/workers"), format!("{master}\n"));
    assert_property(&run, "hdfs-site.xml", "dfs.replication", "1");
    assert_property(
        &run,
        "hdfs-site.xml",
        "dfs.datanode.address",
        &format!("{master}:9866"),
    );
}

#[test]
fn replication_is_the_number_of_datanodes_up_to_three() {
    for (slaves, expected) in [(0, "1"), (1, "1"), (2, "2"), (3, "3"), (5, "3")] {
        let sandbox = hadoop_sandbox(slaves);
        let sha = checksum();
        // Any node writes the same value; a slave's run is the quickest.
        let node = usize::from(slaves > 0);
        let run = sandbox.deploy(node, &[("hadoop", &[("checksum", &sha)])]);
        assert!(run.success, "{}", run.output);
        assert_property(&run, "hdfs-site.xml", "dfs.replication", expected);
        assert_eq!(
            run.file("etc/hadoop/workers").lines().count(),
            slaves.max(1),
            "{slaves} slaves"
        );
    }
}

#[test]
fn a_second_run_formats_nothing_and_downloads_nothing() {
    let sandbox = hadoop_sandbox(1);
    let sha = checksum();
    let first = sandbox.deploy(0, &[("hadoop", &[("checksum", &sha)])]);
    assert!(first.success, "{}", first.output);
    assert_eq!(format_calls(&first), 1);
    let configs: Vec<String> = ["core-site.xml", "hdfs-site.xml", "yarn-site.xml", "workers"]
        .iter()
        .map(|f| first.file(&format!("etc/hadoop/{f}")))
        .collect();
    // The driver skips finished steps: forget that hadoop finished, as after a crash.
    std::fs::remove_dir_all(first.root.join("run/disco/done")).unwrap();
    let second = sandbox.deploy(0, &[("hadoop", &[("checksum", &sha)])]);
    assert!(second.success, "{}", second.output);
    assert_eq!(format_calls(&second), 0, "the NameNode was formatted again");
    assert!(second.find("runuser", &["dfs", "-mkdir"]).is_none());
    assert!(second.calls_to("tar").is_empty());
    assert!(second.find("curl", &["-o"]).is_none());
    for (f, before) in ["core-site.xml", "hdfs-site.xml", "yarn-site.xml", "workers"]
        .iter()
        .zip(&configs)
    {
        assert_eq!(&second.file(&format!("etc/hadoop/{f}")), before, "{f}");
    }
}

#[test]
fn a_tarball_with_the_wrong_checksum_fails_the_node_and_says_why() {
    let sandbox = hadoop_sandbox(1);
    let wrong = "0".repeat(64);
    let run = sandbox.deploy(1, &[("hadoop", &[("checksum", &wrong)])]);
    run.assert_download_refused("hadoop");
    assert!(!unit_exists(&run, "hadoop-datanode"));
}

#[test]
fn a_sha512_checksum_is_accepted_too() {
    let sandbox = hadoop_sandbox(1);
    let output = std::process::Command::new("bash")
        .args(["-c", "printf '%s' \"$1\" | sha512sum", "-", HADOOP_TARBALL])
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let sha = format!("sha512:{hex}");
    let run = sandbox.deploy(1, &[("hadoop", &[("checksum", &sha)])]);
    assert!(run.success, "{}", run.output);
    run.assert_called("tar", &["hadoop-3.4.3.tar.gz"]);
}

#[test]
fn a_hostile_download_url_reaches_curl_as_one_inert_argument() {
    let sandbox = hadoop_sandbox(1);
    let sha = checksum();
    let url =
        "https://example.org/$(touch${IFS}pwned);rm${IFS}-rf${IFS}/&'x'/hadoop-{version}.tar.gz";
    let run = sandbox.deploy(
        1,
        &[("hadoop", &[("checksum", &sha), ("download_url", url)])],
    );
    assert!(run.success, "{}", run.output);
    let expected = url.replace("{version}", "3.4.3");
    run.assert_curl_got(&expected);
    assert!(!run.root.join("pwned").exists());
    assert!(!std::path::Path::new("pwned").exists());
}

#[test]
fn parameters_refuse_values_that_are_not_plain_data() {
    let catalog = catalog();
    let hadoop = catalog.find("hadoop").unwrap();
    for (name, value) in [
        ("version", "3.4.3; rm -rf /"),
        ("version", "$(id)"),
        ("download_url", "https://example.org/a b"),
        ("download_url", "https://example.org/`id`"),
        ("download_url", "https://example.org/x\nrm -rf /"),
        ("checksum", "sha512:abc"),
        ("checksum", "md5:0123"),
        ("nodemanager_memory_mb", "1024; rm -rf /"),
        ("nodemanager_vcores", "-1"),
    ] {
        let spec = &hadoop.manifest.parameters[name];
        assert!(
            spec.parse(disco::frameworks::RawParam::Text(value))
                .is_err(),
            "{name} accepted {value:?}"
        );
    }
}

#[test]
fn nodemanager_resources_are_parameters() {
    let sandbox = hadoop_sandbox(1);
    let sha = checksum();
    let run = sandbox.deploy(
        1,
        &[(
            "hadoop",
            &[
                ("checksum", &sha),
                ("nodemanager_memory_mb", "6144"),
                ("nodemanager_vcores", "4"),
            ],
        )],
    );
    assert!(run.success, "{}", run.output);
    assert_property(
        &run,
        "yarn-site.xml",
        "yarn.nodemanager.resource.memory-mb",
        "6144",
    );
    assert_property(
        &run,
        "yarn-site.xml",
        "yarn.nodemanager.resource.cpu-vcores",
        "4",
    );
    let xml = run.file("etc/hadoop/yarn-site.xml");
    assert!(property(
        &xml,
        "yarn.nodemanager.resource.detect-hardware-capabilities"
    )
    .is_none());
}

#[test]
fn with_spark_chosen_too_spark_installs_after_hadoop_and_submits_to_yarn() {
    let mut sandbox = hadoop_sandbox(1);
    sandbox.listen(0, 18080);
    let hadoop_sha = checksum();
    let spark_sha = sha256_hex(SPARK_TARBALL.as_bytes());
    let frameworks: &[(&str, &[(&str, &str)])] = &[
        ("spark", &[("sha256", &spark_sha)]),
        ("hadoop", &[("checksum", &hadoop_sha)]),
    ];
    let master = sandbox.deploy(0, frameworks);
    assert!(master.success, "{}", master.output);
    assert_eq!(
        master.status["done"],
        serde_json::json!(["base", "hadoop", "spark"])
    );
    let defaults = master.file("etc/spark/spark-defaults.conf");
    let spark_master = defaults
        .lines()
        .find_map(|l| l.strip_prefix("spark.master"))
        .map(str::trim);
    assert_eq!(spark_master, Some("yarn"), "{defaults}");
    assert!(!unit_exists(&master, "spark-master"));
    assert!(unit_exists(&master, "hadoop-namenode"));
    let profile = master.file("etc/profile.d/disco.sh");
    assert!(profile.contains("export HADOOP_CONF_DIR="), "{profile}");

    let slave = sandbox.deploy(1, frameworks);
    assert!(slave.success, "{}", slave.output);
    assert!(!unit_exists(&slave, "spark-worker"));
    assert!(unit_exists(&slave, "hadoop-nodemanager"));
}

/// `hdfs dfsadmin -report` listing these DataNodes with their decommission status.
fn report(datanodes: &[(String, &str)]) -> String {
    let mut text = String::from(
        "Configured Capacity: 1000 (1000 B)\nPresent Capacity: 900 (900 B)\n\
         -------------------------------------------------\nLive datanodes (3):\n\n",
    );
    for (address, status) in datanodes {
        text.push_str(&format!(
            "Name: {address}:9866 ({address})\nHostname: {address}\n\
             Decommission Status : {status}\nConfigured Capacity: 100 (100 B)\n\n"
        ));
    }
    text
}

/// The report the n-th `dfsadmin -report` prints (None: every later one).
fn will_report(sandbox: &Sandbox, n: Option<usize>, datanodes: &[(String, &str)]) {
    let suffix = n.map(|n| format!(".{n}")).unwrap_or_default();
    std::fs::write(
        format!("{}.report{suffix}", sandbox.log_file().display()),
        report(datanodes),
    )
    .unwrap();
}

/// What the exclude files held at each -refreshNodes, in order.
fn refreshes(sandbox: &Sandbox) -> Vec<String> {
    std::fs::read_to_string(format!("{}.refreshes", sandbox.log_file().display()))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.split_once(' ')
                .map(|(_, rest)| rest)
                .unwrap_or(l)
                .to_string()
        })
        .collect()
}

fn address(sandbox: &Sandbox, node: usize) -> String {
    sandbox.addresses[node].to_string()
}

/// Index of the first recorded call to `program` with all of `parts`.
fn position(run: &Run, program: &str, parts: &[&str]) -> usize {
    let call = run.assert_called(program, parts).clone();
    run.calls.iter().position(|c| *c == call).unwrap()
}

#[test]
fn leaving_slaves_are_decommissioned_before_they_leave_the_workers() {
    let sandbox = hadoop_sandbox(3);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("hadoop", &[("checksum", &sha)])];
    let master = sandbox.deploy(0, frameworks);
    assert!(master.success, "{}", master.output);
    let [s1, s2, s3] = [1, 2, 3].map(|i| address(&sandbox, i));
    // The NameNode and the ResourceManager read exclude files, which exist from the start.
    let conf = master.root.join("etc/hadoop").display().to_string();
    assert_property(
        &master,
        "hdfs-site.xml",
        "dfs.hosts.exclude",
        &format!("{conf}/dfs.exclude"),
    );
    assert_property(
        &master,
        "yarn-site.xml",
        "yarn.resourcemanager.nodes.exclude-path",
        &format!("{conf}/yarn.exclude"),
    );
    assert_eq!(master.file("etc/hadoop/dfs.exclude"), "");
    assert_eq!(master.file("etc/hadoop/yarn.exclude"), "");

    will_report(
        &sandbox,
        Some(0),
        &[
            (s1.clone(), "Normal"),
            (s2.clone(), "Decommissioned"),
            (s3.clone(), "Decommission in progress"),
        ],
    );
    will_report(
        &sandbox,
        None,
        &[
            (s1.clone(), "Normal"),
            (s2.clone(), "Decommissioned"),
            (s3.clone(), "Decommissioned"),
        ],
    );
    let run = sandbox.hook(0, frameworks, HookEvent::Leave, &[3, 2], &[]);
    assert!(run.success, "{}", run.output);

    // HDFS first; the NodeManagers only once the DataNodes are decommissioned.
    assert_eq!(
        refreshes(&sandbox),
        [
            format!("dfs=[{s3},{s2}] yarn=[]"),
            format!("dfs=[{s3},{s2}] yarn=[{s3},{s2}]")
        ]
    );
    let setrep = position(&run, "runuser", &["hdfs", "dfs", "-setrep", "-R", "1", "/"]);
    let hdfs = position(&run, "runuser", &["hdfs", "dfsadmin", "-refreshNodes"]);
    let report = position(&run, "runuser", &["hdfs", "dfsadmin", "-report"]);
    let yarn = position(&run, "runuser", &["yarn", "rmadmin", "-refreshNodes"]);
    assert!(setrep < hdfs && hdfs < report && report < yarn);
    assert!(run.find("runuser", &["-u", "hadoop", "dfsadmin"]).is_some());
    // It waited for the second report: s3 was still being decommissioned.
    assert_eq!(
        run.calls_to("runuser")
            .iter()
            .filter(|c| c.args.iter().any(|a| a == "-report"))
            .count(),
        2
    );
    assert!(
        run.output.contains(&format!(
            "waiting for HDFS to decommission: {s3} (Decommission in progress)"
        )),
        "{}",
        run.output
    );
    assert_eq!(run.file("etc/hadoop/workers"), format!("{s1}\n"));
    assert_property(&run, "hdfs-site.xml", "dfs.replication", "1");
    // The NameNode keeps them decommissioned; the ResourceManager forgets them once the leaving
    // slaves refreshed it after stopping their NodeManagers.
    assert_eq!(run.file("etc/hadoop/dfs.exclude"), format!("{s3}\n{s2}\n"));
    assert_eq!(run.file("etc/hadoop/yarn.exclude"), "");
    assert_eq!(run.status["state"], "done");
}

#[test]
fn a_decommission_that_does_not_finish_fails_the_leave_and_names_the_datanode() {
    let sandbox = hadoop_sandbox(2);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[(
        "hadoop",
        &[("checksum", &sha), ("decommission_timeout", "10")],
    )];
    let master = sandbox.deploy(0, frameworks);
    assert!(master.success, "{}", master.output);
    let s2 = address(&sandbox, 2);
    will_report(&sandbox, None, &[(s2.clone(), "Decommission in progress")]);
    let run = sandbox.hook(0, frameworks, HookEvent::Leave, &[2], &[]);
    assert!(!run.success);
    assert_eq!(run.status["state"], "failed");
    assert_eq!(run.status["current"], "hadoop");
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("HDFS did not finish decommissioning within 10 s")
            && reason.ends_with(&format!(": {s2} (Decommission in progress)")),
        "{reason}"
    );
    // The DataNode stays excluded (run again, the hook continues where HDFS is); YARN and the
    // workers list are untouched.
    assert_eq!(run.file("etc/hadoop/dfs.exclude"), format!("{s2}\n"));
    assert_eq!(run.file("etc/hadoop/yarn.exclude"), "");
    assert!(run.find("runuser", &["rmadmin"]).is_none());
    assert!(run.file("etc/hadoop/workers").contains(&s2));
}

#[test]
fn when_the_last_slaves_leave_the_master_runs_a_datanode_first() {
    let sandbox = hadoop_sandbox(1);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("hadoop", &[("checksum", &sha)])];
    let master = sandbox.deploy(0, frameworks);
    assert!(master.success, "{}", master.output);
    assert!(!unit_exists(&master, "hadoop-datanode"));
    let s1 = address(&sandbox, 1);
    will_report(&sandbox, None, &[(s1.clone(), "Decommissioned")]);
    let run = sandbox.hook(0, frameworks, HookEvent::Leave, &[1], &[]);
    assert!(run.success, "{}", run.output);
    let master_address = address(&sandbox, 0);
    // Its DataNode takes the blocks: it runs before anything is decommissioned.
    let datanode = position(
        &run,
        "systemctl",
        &["enable", "--now", "disco-hadoop-datanode"],
    );
    position(
        &run,
        "systemctl",
        &["enable", "--now", "disco-hadoop-nodemanager"],
    );
    let refresh = position(&run, "runuser", &["dfsadmin", "-refreshNodes"]);
    assert!(datanode < refresh);
    assert_property(
        &run,
        "hdfs-site.xml",
        "dfs.datanode.address",
        &format!("{master_address}:9866"),
    );
    assert_eq!(
        run.file("etc/hadoop/workers"),
        format!("{master_address}\n")
    );
    run.assert_called("runuser", &["-setrep", "-R", "1"]);
}

#[test]
fn a_leaving_slave_stops_its_daemons_then_lets_the_resourcemanager_forget_it() {
    let sandbox = hadoop_sandbox(2);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("hadoop", &[("checksum", &sha)])];
    let run = sandbox.deploy_then_hook(2, frameworks, HookEvent::Leave, &[2]);
    assert!(run.success, "{}", run.output);
    let nodemanager = position(
        &run,
        "systemctl",
        &["disable", "--now", "disco-hadoop-nodemanager"],
    );
    let datanode = position(
        &run,
        "systemctl",
        &["disable", "--now", "disco-hadoop-datanode"],
    );
    let refresh = position(&run, "runuser", &["yarn", "rmadmin", "-refreshNodes"]);
    assert!(nodemanager < datanode && datanode < refresh);
    assert!(run.find("runuser", &["dfsadmin"]).is_none());
    let order = std::fs::read_to_string(run.root.join("run/disco/services/order")).unwrap();
    assert!(!order.contains("hadoop"), "{order}");
}

#[test]
fn joining_slaves_leave_the_exclude_files_and_join_the_workers() {
    let sandbox = hadoop_sandbox(2);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("hadoop", &[("checksum", &sha)])];
    let [s1, s2] = [1, 2].map(|i| address(&sandbox, i));
    // Built with one slave; slave-2 had the address of a slave that left.
    let master = sandbox.deploy_with(0, frameworks, &[("DISCO_SLAVE_ADDRS", &s1)]);
    assert!(master.success, "{}", master.output);
    assert_property(&master, "hdfs-site.xml", "dfs.replication", "1");
    std::fs::write(
        master.root.join("etc/hadoop/dfs.exclude"),
        format!("10.9.9.9\n{s2}\n"),
    )
    .unwrap();
    std::fs::write(
        master.root.join("etc/hadoop/yarn.exclude"),
        format!("{s2}\n"),
    )
    .unwrap();
    let run = sandbox.hook(0, frameworks, HookEvent::Join, &[2], &[]);
    assert!(run.success, "{}", run.output);
    let back = "dfs=[10.9.9.9] yarn=[]".to_string();
    assert_eq!(refreshes(&sandbox), [back.clone(), back]);
    assert_eq!(run.file("etc/hadoop/workers"), format!("{s1}\n{s2}\n"));
    assert_property(&run, "hdfs-site.xml", "dfs.replication", "2");

    // Joining again (the hook ran before a crash) changes nothing.
    let again = sandbox.hook(0, frameworks, HookEvent::Join, &[2], &[]);
    assert!(again.success, "{}", again.output);
    assert_eq!(again.file("etc/hadoop/workers"), format!("{s1}\n{s2}\n"));
    assert_eq!(again.file("etc/hadoop/dfs.exclude"), "10.9.9.9\n");
}

#[test]
fn resume_restarts_a_slaves_daemons_in_order_and_waits_until_they_registered() {
    let sandbox = hadoop_sandbox(1);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("hadoop", &[("checksum", &sha)])];
    let run = sandbox.deploy_then_hook(1, frameworks, HookEvent::Resume, &[]);
    assert!(run.success, "{}", run.output);
    let datanode = position(&run, "systemctl", &["start", "disco-hadoop-datanode"]);
    let nodemanager = position(&run, "systemctl", &["start", "disco-hadoop-nodemanager"]);
    let jmx = position(&run, "curl", &["/jmx?qry="]);
    let nodes = position(&run, "curl", &["/ws/v1/cluster/nodes"]);
    assert!(datanode < nodemanager && nodemanager < jmx && jmx < nodes);
}
