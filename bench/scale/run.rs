//! The scale bench: disco's real openstack backend and keystone auth against the FAKE
//! Keystone + Heat of `bench/fake_cloud.rs`, which answers every call after a set latency and
//! completes stacks after a set delay. `bench/scale.sh` runs it with 10,000 stored clusters and
//! 1,000 in flight; `tests/api/scale_smoke.rs` with 100, so that it keeps working.
//!
//! It checks its answers before it reports speed: every cluster must become `ready`, with the
//! address the fake gave, never before the fake completed its stack; any other outcome is an
//! error and is counted.

use crate::fake_openstack::{FakeCloud, DEMO, DISCO};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const KIND: &str = r#"disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";"#;
/// The address the fake gives every completed stack.
const EXTERNAL_IP: &str = "192.0.2.10";

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `disco` binary.
    pub disco: PathBuf,
    /// The repository (for `templates/heat` and `frameworks`).
    pub repo: PathBuf,
    /// Clusters created and left ready before the measurements of the store.
    pub stored: usize,
    /// Clusters then created at once, whose stacks stay in progress for `stack_delay`.
    pub in_flight: usize,
    /// Every answer of the fake comes this long after its request.
    pub latency: Duration,
    /// How long the fake's stacks of the in-flight phase take (the stored ones take 1 s).
    pub stack_delay: Duration,
    /// How long the idle CPU use is measured.
    pub idle: Duration,
    /// How long `wrk` measures `GET /disco/<id>`.
    pub get: Duration,
    /// Requests the driver keeps open at once while creating and polling.
    pub concurrency: usize,
    /// Where disco's data, configuration and log go.
    pub work_dir: PathBuf,
}

/// What the bench measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub stored: usize,
    pub in_flight: usize,
    /// Median of `GET /disco/` (uri-list) with every stored cluster.
    pub list_ms: f64,
    /// p99 of `GET /disco/<id>` at 64 connections (wrk -t1 -c64 --latency).
    pub get_p99_ms: f64,
    /// The server's resident memory with every stored cluster ready.
    pub rss_mb: f64,
    /// The server's threads then.
    pub threads: usize,
    /// The server's CPU use, in % of one core, with every cluster ready and no requests.
    pub idle_cpu_percent: f64,
    /// p99 of the time from the fake's `CREATE_COMPLETE` to disco's `ready` event.
    pub ready_seen_p99_s: f64,
    pub ready_seen_median_s: f64,
    /// Heat calls about the in-flight clusters' stacks, per cluster and minute of building.
    pub heat_calls_per_cluster_min: f64,
    /// Failed requests, failed clusters, wrong answers and the fake's 5xx answers.
    pub errors: usize,
    /// The first few errors, said.
    pub error_samples: Vec<String>,
    /// Time to create and build the stored clusters, and the in-flight ones.
    pub store_build_s: f64,
    pub in_flight_build_s: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} clusters: list {:.1} ms, get p99 {:.2} ms, rss {:.0} MB, idle cpu {:.1} %; \
             {} in flight: ready-seen p99 {:.2} s, heat calls/cluster/min {:.1}, errors {}",
            self.stored,
            self.list_ms,
            self.get_p99_ms,
            self.rss_mb,
            self.idle_cpu_percent,
            self.in_flight,
            self.ready_seen_p99_s,
            self.heat_calls_per_cluster_min,
            self.errors
        )
    }
}

impl Report {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.error_samples.len() < 10 {
            self.error_samples.push(what);
        }
    }
}

/// A running disco, killed when dropped.
struct Disco {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Disco {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Disco {
    fn start(settings: &Settings, fake: &FakeCloud) -> Result<Disco, String> {
        let n = settings.stored + settings.in_flight + 10;
        let config = format!(
            "[server]\nbind = 127.0.0.1:0\nworkers = 1\n\
             [store]\ndata_dir = {data}\n\
             [backend]\nkind = openstack\n\
             [auth]\nmode = keystone\n\
             [limits]\nmax_clusters_per_tenant = {n}\nmax_clusters = {n}\nmax_nodes = {nodes}\n\
             [openstack]\nauth_url = {auth}\nregion = RegionOne\ngateway_cidr = 127.0.0.1/32\n\
             templates_dir = {templates}\n\
             [frameworks]\ndir = {frameworks}\n\
             [logging]\nlevel = warn\n",
            data = settings.work_dir.join("var").display(),
            nodes = 2 * n,
            auth = fake.auth_url(),
            templates = settings.repo.join("templates/heat").display(),
            frameworks = settings.repo.join("frameworks").display(),
        );
        std::fs::create_dir_all(&settings.work_dir).map_err(|e| e.to_string())?;
        let config_path = settings.work_dir.join("sm.cfg");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log = settings.work_dir.join("disco.log");
        let mut child = Command::new(&settings.disco)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .envs([
                ("OS_AUTH_URL", fake.auth_url()),
                ("OS_USERNAME", DISCO.name.into()),
                ("OS_PASSWORD", DISCO.password.into()),
                ("OS_PROJECT_NAME", DISCO.project.into()),
                ("OS_USER_DOMAIN_NAME", "Default".into()),
                ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", settings.disco.display()))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
        }
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        let mut disco = Disco {
            child,
            url: String::new(),
            log,
        };
        match address {
            Some(address) => {
                disco.url = format!("http://{address}");
                Ok(disco)
            }
            None => Err(format!(
                "disco did not start (`{line}`): {}",
                std::fs::read_to_string(&disco.log).unwrap_or_default()
            )),
        }
    }

    /// The server's threads, from /proc.
    fn threads(&self) -> usize {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// (resident memory in MB, CPU time used so far in s) from /proc.
    fn usage(&self) -> Result<(f64, f64), String> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read disco's memory use: {e}"))?;
        let rss_kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or("no VmRSS in /proc/<pid>/status")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("cannot read disco's CPU use: {e}"))?;
        // Fields after the command name (which ends with the last ')'): utime is the 12th,
        // stime the 13th, in clock ticks (100 per second on Linux).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let cpu = ticks(11)
            .zip(ticks(12))
            .map(|(u, s)| (u + s) / 100.0)
            .ok_or("unreadable /proc/<pid>/stat")?;
        Ok((rss_kb / 1024.0, cpu))
    }
}

/// The driver's HTTP side: the demo user's token and disco's address.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .header("X-Tenant-Name", DEMO.project)
            .header("X-Auth-Token", &self.token)
    }

    /// Creates a shell cluster of one master and one slave; its id.
    async fn create(&self, n: usize) -> Result<String, String> {
        let response = self
            .http
            .post(format!("{}/disco/", self.url))
            .header("X-Tenant-Name", DEMO.project)
            .header("X-Auth-Token", &self.token)
            .header("Category", KIND)
            .header("Content-Type", "text/occi")
            .header(
                "X-OCCI-Attribute",
                format!(
                    "icclab.disco.components.heat.slavecount=\"1\", \
                     icclab.disco.dependencies.inject=\"{{'shell': ''}}\", occi.core.title=\"scale {n}\""
                ),
            )
            .send()
            .await
            .map_err(|e| format!("create: {e}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get("Location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_string);
        match (status.as_u16(), location) {
            (201, Some(id)) => Ok(id),
            (code, _) => Err(format!(
                "create answered {code}: {}",
                response.text().await.unwrap_or_default()
            )),
        }
    }

    /// `GET path` as JSON; a failed request or a non-2xx answer is an error naming `what`.
    async fn json(&self, path: &str, what: &str) -> Result<serde_json::Value, String> {
        let response = self
            .get(path)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{what} answered {}", response.status()));
        }
        response.json().await.map_err(|e| format!("{what}: {e}"))
    }

    /// The cluster's state and external IP.
    async fn state(&self, id: &str) -> Result<(String, Option<String>), String> {
        let body = self
            .json(&format!("/disco/{id}"), &format!("get {id}"))
            .await?;
        let attributes = &body["attributes"];
        let text = |name: &str| attributes[name].as_str().map(str::to_string);
        Ok((
            text("icclab.disco.state").unwrap_or_default(),
            text("external_ip"),
        ))
    }

    /// When disco recorded the cluster's move to `ready`.
    async fn ready_at(&self, id: &str) -> Result<SystemTime, String> {
        let body = self
            .json(&format!("/disco/{id}/events"), &format!("events of {id}"))
            .await?;
        let events = body.as_array().cloned().unwrap_or_default();
        events
            .iter()
            .find(|e| {
                e["kind"] == "state"
                    && e["message"]
                        .as_str()
                        .is_some_and(|m| m.ends_with("-> ready"))
            })
            .and_then(|e| e["at"].as_str())
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(SystemTime::from)
            .ok_or_else(|| format!("no ready event for {id}: {body}"))
    }
}

/// Runs `task` over `items` with at most `concurrency` at once; results in order.
async fn each<T, R, F, Fut>(items: Vec<T>, concurrency: usize, task: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    use futures_util::stream::StreamExt;
    futures_util::stream::iter(items.into_iter().map(task))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Creates `count` clusters; their ids (failed creates are counted as errors).
async fn create_all(
    client: &Client,
    count: usize,
    from: usize,
    settings: &Settings,
    report: &mut Report,
) -> Vec<String> {
    let results = each((from..from + count).collect(), settings.concurrency, |n| {
        let client = client.clone();
        async move { client.create(n).await }
    })
    .await;
    let mut ids = Vec::new();
    for result in results {
        match result {
            Ok(id) => ids.push(id),
            Err(e) => report.error(e),
        }
    }
    ids
}

/// Polls until every cluster is `ready`; a failed one, a wrong address or a timeout is an
/// error.
async fn wait_ready(
    client: &Client,
    ids: &[String],
    settings: &Settings,
    timeout: Duration,
    report: &mut Report,
) {
    let deadline = Instant::now() + timeout;
    let mut waiting: Vec<String> = ids.to_vec();
    while !waiting.is_empty() {
        if Instant::now() > deadline {
            report.error(format!(
                "{} clusters not ready after {timeout:?}",
                waiting.len()
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let looks = each(waiting.clone(), settings.concurrency, |id| {
            let client = client.clone();
            async move {
                let state = client.state(&id).await;
                (id, state)
            }
        })
        .await;
        waiting.clear();
        for (id, look) in looks {
            match look {
                Ok((state, ip)) if state == "ready" => {
                    if ip.as_deref() != Some(EXTERNAL_IP) {
                        report.error(format!(
                            "{id} is ready with address {ip:?}, not {EXTERNAL_IP}"
                        ));
                    }
                }
                Ok((state, _)) if state == "failed" => report.error(format!("{id} failed")),
                Ok(_) => waiting.push(id),
                Err(e) => {
                    report.error(e);
                    waiting.push(id);
                }
            }
        }
    }
}

/// The `p` quantile (0 to 1) of `values`, nearest rank.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The CPUs this process may use (1 when unknown).
fn cpus_here() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `command` with `taskset -c cpus` where the machine has 2 CPUs or more and taskset.
fn pinned(cpus: &str, command: &str) -> Command {
    let can_pin = cpus_here() >= 2 && Command::new("taskset").arg("-V").output().is_ok();
    if can_pin {
        let mut pinned = Command::new("taskset");
        pinned.args(["-c", cpus, command]);
        pinned
    } else {
        Command::new(command)
    }
}

/// `wrk -t1 -c64 --latency` on one cluster; its p99 in ms. As in bench/run.sh, disco (one
/// HTTP worker) is on CPU 0 and wrk on CPU 1 meanwhile, so that they do not time-share.
fn wrk_p99(client: &Client, disco: u32, id: &str, duration: Duration) -> Result<f64, String> {
    let pin = |cpus: &str| {
        Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &disco.to_string()])
            .stdout(Stdio::null())
            .status()
    };
    let all = format!("0-{}", cpus_here() - 1);
    let _ = pin("0");
    let output = pinned("1", "wrk")
        .args(["-t1", "-c64", "--latency"])
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["-H", &format!("X-Tenant-Name: {}", DEMO.project)])
        .args(["-H", &format!("X-Auth-Token: {}", client.token)])
        .arg(format!("{}/disco/{id}", client.url))
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"));
    let _ = pin(&all);
    let output = output?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw failed requests: {text}"));
    }
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .ok_or_else(|| format!("no p99 in wrk's output: {text}"))?;
    let (number, unit) = p99.split_at(p99.find(|c: char| c.is_alphabetic()).unwrap_or(p99.len()));
    let number: f64 = number.parse().map_err(|_| format!("wrk's p99 `{p99}`"))?;
    Ok(match unit {
        "us" => number / 1000.0,
        "s" => number * 1000.0,
        _ => number,
    })
}

/// Runs the bench; `Err` when it could not run at all.
pub fn run(settings: &Settings) -> Result<Report, String> {
    let (fake, disco, runtime) = start(settings)?;
    let result = runtime.block_on(measure(settings, &fake, &disco));
    if result.is_err() {
        eprintln!("disco's log: {}", disco.log.display());
    }
    result
}

/// The fake cloud, disco against it, and the driver's runtime.
fn start(settings: &Settings) -> Result<(FakeCloud, Disco, tokio::runtime::Runtime), String> {
    let fake = FakeCloud::start();
    let disco = Disco::start(settings, &fake)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((fake, disco, runtime))
}

/// The driver's client of disco, as the demo user.
async fn client(settings: &Settings, fake: &FakeCloud, disco: &Disco) -> Result<Client, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let token = demo_token(&http, fake).await?;
    Ok(Client {
        http,
        url: disco.url.clone(),
        token,
    })
}

async fn measure(settings: &Settings, fake: &FakeCloud, disco: &Disco) -> Result<Report, String> {
    let client = client(settings, fake, disco).await?;
    fake.set_latency(settings.latency);
    let mut report = Report {
        stored: settings.stored,
        in_flight: settings.in_flight,
        ..Report::default()
    };

    // The store: every cluster created, then ready.
    fake.complete_stacks_after(Duration::from_secs(1), EXTERNAL_IP);
    let started = Instant::now();
    let stored = create_all(&client, settings.stored, 0, settings, &mut report).await;
    let patience = Duration::from_secs(120) + Duration::from_millis(100 * settings.stored as u64);
    wait_ready(&client, &stored, settings, patience, &mut report).await;
    report.store_build_s = started.elapsed().as_secs_f64();

    let mut lists = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let response = client
            .get("/disco/")
            .header("Accept", "text/uri-list")
            .send()
            .await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        match response {
            Ok(r) if r.status().is_success() => {
                let body = r.text().await.unwrap_or_default();
                let listed = body.lines().filter(|l| !l.trim().is_empty()).count();
                if listed != stored.len() {
                    report.error(format!(
                        "the list has {listed} clusters, not {}",
                        stored.len()
                    ));
                }
                lists.push(elapsed);
            }
            Ok(r) => report.error(format!("GET /disco/ answered {}", r.status())),
            Err(e) => report.error(format!("GET /disco/: {e}")),
        }
    }
    report.list_ms = percentile(&mut lists, 0.5);

    let (before_rss, before_cpu) = disco.usage()?;
    tokio::time::sleep(settings.idle).await;
    let (rss, after_cpu) = disco.usage()?;
    report.rss_mb = before_rss.max(rss);
    report.threads = disco.threads();
    report.idle_cpu_percent = (after_cpu - before_cpu) / settings.idle.as_secs_f64() * 100.0;

    if let Some(id) = stored.first() {
        let (client, id, duration) = (client.clone(), id.clone(), settings.get);
        let pid = disco.child.id();
        report.get_p99_ms =
            tokio::task::spawn_blocking(move || wrk_p99(&client, pid, &id, duration))
                .await
                .map_err(|e| e.to_string())??;
    }

    // In flight: every create at once, stacks that take `stack_delay`.
    fake.complete_stacks_after(settings.stack_delay, EXTERNAL_IP);
    let calls_before = fake.heat_calls();
    let started = Instant::now();
    let flying = create_all(
        &client,
        settings.in_flight,
        settings.stored,
        settings,
        &mut report,
    )
    .await;
    let patience = settings.stack_delay
        + Duration::from_secs(120)
        + Duration::from_millis(100 * settings.in_flight as u64);
    wait_ready(&client, &flying, settings, patience, &mut report).await;
    let building = started.elapsed();
    report.in_flight_build_s = building.as_secs_f64();
    let calls_after = fake.heat_calls();
    let completions = fake.completions();
    let calls = |name: &str| {
        calls_after.get(name).copied().unwrap_or(0.0)
            - calls_before.get(name).copied().unwrap_or(0.0)
    };
    let mut total_calls = calls("");
    let mut seen = Vec::new();
    for id in &flying {
        let Ok(uuid) = uuid::Uuid::parse_str(id) else {
            report.error(format!("disco named a cluster `{id}`, not a UUID"));
            continue;
        };
        let stack = format!("disco-{}", uuid.simple());
        total_calls += calls(&stack);
        let Some(completed) = completions.get(&stack) else {
            report.error(format!("the fake never completed {stack}"));
            continue;
        };
        match client.ready_at(id).await {
            Ok(ready) => match ready.duration_since(*completed) {
                Ok(after) => seen.push(after.as_secs_f64()),
                // Events keep milliseconds: up to 1 ms early is rounding.
                Err(e) if e.duration() < Duration::from_millis(1) => seen.push(0.0),
                Err(e) => report.error(format!(
                    "{id} was ready {:?} before its stack completed",
                    e.duration()
                )),
            },
            Err(e) => report.error(e),
        }
    }
    report.ready_seen_p99_s = percentile(&mut seen, 0.99);
    report.ready_seen_median_s = percentile(&mut seen, 0.5);
    if !flying.is_empty() {
        report.heat_calls_per_cluster_min =
            total_calls / flying.len() as f64 / (building.as_secs_f64() / 60.0);
    }
    let server_errors = fake.server_errors();
    for _ in 0..server_errors {
        report.error("the fake cloud answered 5xx".into());
    }
    Ok(report)
}

/// Accept latencies (ms) of `count` creates sent one after the other, each answered `201`,
/// against the fake cloud with no added latency: disco's own work (Keystone's and Heat's time
/// is the fake's, a few hundred microseconds). Failed creates are errors.
pub fn post_latencies(settings: &Settings, count: usize) -> Result<(Vec<f64>, Report), String> {
    let (fake, disco, runtime) = start(settings)?;
    runtime.block_on(async {
        let client = client(settings, &fake, &disco).await?;
        fake.complete_stacks_after(Duration::from_secs(1), EXTERNAL_IP);
        let mut report = Report::default();
        let mut latencies = Vec::new();
        for n in 0..count {
            let started = Instant::now();
            match client.create(n).await {
                Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1000.0),
                Err(e) => report.error(e),
            }
        }
        Ok((latencies, report))
    })
}

/// The demo user's project-scoped token, from the fake Keystone.
async fn demo_token(http: &reqwest::Client, fake: &FakeCloud) -> Result<String, String> {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": DEMO.name, "domain": {"name": "Default"}, "password": DEMO.password}}},
        "scope": {"project": {"name": DEMO.project, "domain": {"name": "Default"}}}}});
    let response = http
        .post(format!("{}/v3/auth/tokens", fake.url))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("the fake Keystone: {e}"))?;
    response
        .headers()
        .get("X-Subject-Token")
        .and_then(|t| t.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("the fake Keystone gave no token ({})", response.status()))
}
