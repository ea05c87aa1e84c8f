//! Real framework UIs through the gateway on the local backend: Spark's master (and through
//! it a worker), its history server, and JupyterLab's API and a kernel's WebSocket. These
//! clusters take tens of seconds to build, so the tests are few and look at a lot each.

use crate::support::*;
use std::time::Duration;

/// Every `href="..."` of a page.
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn spark_s_master_ui_and_a_worker_s_through_its_link_answer_through_the_gateway() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'spark': ''}", icclab.disco.components.spark.worker_memory="512m""#,
    );
    let attrs = wait_for_state(&server, "research", &id, "ready", Duration::from_secs(300));
    for ui in ["log", "spark-master", "spark-worker-1", "spark-history"] {
        assert_eq!(
            attrs[format!("icclab.disco.ui.{ui}")],
            server.url(&format!("/disco/{id}/ui/{ui}/")),
            "{attrs}"
        );
    }
    let master_url = attrs["icclab.disco.ui.spark-master"].as_str().unwrap();
    let master = get(master_url, "research", "text/html");
    assert_eq!(master.status, 200, "{}", master.body);
    assert!(master.body.contains("Spark Master at spark://"), "{}", master.body);

    // The link to the worker goes through the master's proxy, below the gateway's path.
    let prefix = format!("/disco/{id}/ui/spark-master/");
    let links = hrefs(&master.body);
    let worker_link = links
        .iter()
        .find(|l| l.contains("/proxy/worker-"))
        .unwrap_or_else(|| panic!("no link to a worker in {links:?}"));
    assert!(worker_link.starts_with(&prefix), "{worker_link}");
    let worker = get(&server.url(worker_link), "research", "text/html");
    assert_eq!(worker.status, 200, "{worker_link}: {}", worker.body);
    assert!(worker.body.contains("Spark Worker at"), "{}", worker.body);
    // So do the page's style sheets.
    let style = links
        .iter()
        .find(|l| l.ends_with(".css"))
        .unwrap_or_else(|| panic!("no style sheet in {links:?}"));
    assert!(style.starts_with(&prefix), "{style}");
    assert_eq!(get(&server.url(style), "research", "text/css").status, 200);

    let history = get(
        attrs["icclab.disco.ui.spark-history"].as_str().unwrap(),
        "research",
        "text/html",
    );
    assert_eq!(history.status, 200, "{}", history.body);
    assert!(history.body.contains("History Server"), "{}", history.body);
    assert!(
        hrefs(&history.body)
            .iter()
            .filter(|l| l.starts_with('/'))
            .all(|l| l.starts_with(&format!("/disco/{id}/ui/spark-history/"))),
        "{:?}",
        hrefs(&history.body)
    );

    assert_eq!(get(master_url, "someone-else", "text/html").status, 404);
    let delete = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"research")],
        None,
    );
    assert_eq!(delete.status, 200);
    wait_until_gone(&server, "research", &id, Duration::from_secs(60));
}
