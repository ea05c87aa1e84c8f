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
    assert!(
        master.body.contains("Spark Master at spark://"),
        "{}",
        master.body
    );

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

/// A `PATH` with Jupyter on it: the machine's, or a virtual environment made for this test in
/// `target/jupyter-venv` (`python3 -m venv target/jupyter-venv &&
/// target/jupyter-venv/bin/pip install jupyter_server ipykernel`).
fn path_with_jupyter() -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let venv = repo_root().join("target/jupyter-venv/bin");
    let path = format!("{}:{path}", venv.display());
    std::env::split_paths(&path)
        .any(|dir| dir.join("jupyter").is_file())
        .then_some(path)
}

#[test]
fn jupyter_s_api_and_a_kernel_s_websocket_work_through_the_gateway() {
    let Some(path) = path_with_jupyter() else {
        // .ci/run installs Jupyter and sets this, so that CI cannot pass by skipping.
        assert!(
            std::env::var_os("DISCO_REQUIRE_JUPYTER").is_none(),
            "no jupyter on PATH or in target/jupyter-venv"
        );
        eprintln!("SKIPPED: no jupyter on PATH or in target/jupyter-venv");
        return;
    };
    let server = TestServer::start_with(ServerOptions {
        env: vec![("PATH".into(), path)],
        ..ServerOptions::default()
    });
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="0", icclab.disco.dependencies.inject="{'jupyter': ''}""#,
    );
    let attrs = wait_for_state(&server, "research", &id, "ready", Duration::from_secs(180));
    let base = attrs["icclab.disco.ui.jupyter"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(base, server.url(&format!("/disco/{id}/ui/jupyter/")));
    let token = attrs["icclab.disco.components.jupyter.token"]
        .as_str()
        .unwrap()
        .to_string();

    let status = get(
        &format!("{base}api/status?token={token}"),
        "research",
        "*/*",
    );
    assert_eq!(status.status, 200, "{}", status.body);
    assert!(status.body.contains("\"started\""), "{}", status.body);
    // Without Jupyter's own token, Jupyter itself refuses: disco's credentials are not enough.
    let no_token = get(&format!("{base}api/kernels"), "research", "*/*");
    assert_eq!(no_token.status, 403, "{}", no_token.body);

    let started = send(
        "POST",
        &format!("{base}api/kernels?token={token}"),
        &[
            ("X-Tenant-Name", b"research"),
            ("Content-Type", b"application/json"),
        ],
        Some(b"{\"name\": \"python3\"}"),
    );
    assert_eq!(started.status, 201, "{}", started.body);
    let kernel: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    let kernel = kernel["id"].as_str().unwrap().to_string();

    let ws_url = format!(
        "{}api/kernels/{kernel}/channels?token={token}",
        base.replacen("http://", "ws://", 1)
    );
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(execute_one_plus_one(&ws_url));
    assert_eq!(answer, "2");

    // Without Jupyter's token the node's refusal comes back as it is.
    let refused = send(
        "GET",
        &format!("{base}api/kernels/{kernel}/channels"),
        &[
            ("X-Tenant-Name", b"research"),
            ("Connection", b"Upgrade"),
            ("Upgrade", b"websocket"),
            ("Sec-WebSocket-Version", b"13"),
            ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        None,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("refused the WebSocket"),
        "{}",
        refused.body
    );

    // Another tenant cannot open the same WebSocket.
    let foreign = send(
        "GET",
        &format!("{base}api/kernels/{kernel}/channels?token={token}"),
        &[
            ("X-Tenant-Name", b"intruder"),
            ("Connection", b"Upgrade"),
            ("Upgrade", b"websocket"),
            ("Sec-WebSocket-Version", b"13"),
            ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        None,
    );
    assert_eq!(foreign.status, 404);
}

/// Sends `1+1` to a kernel's channels WebSocket; returns the `text/plain` result.
async fn execute_one_plus_one(url: &str) -> String {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("X-Tenant-Name", "research".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket through the gateway");
    let execute = serde_json::json!({
        "header": {"msg_id": "disco-test-1", "username": "test", "session": "disco-test",
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": "1+1", "silent": false, "store_history": false,
                    "user_expressions": {}, "allow_stdin": false, "stop_on_error": true}
    });
    socket
        .send(Message::text(execute.to_string()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("no execute_result within 90 s")
            .expect("the WebSocket closed")
            .expect("a WebSocket message");
        let Message::Text(text) = message else {
            continue;
        };
        let message: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        if message["msg_type"] == "execute_result"
            && message["parent_header"]["msg_id"] == "disco-test-1"
        {
            let _ = socket.close(None).await;
            return message["content"]["data"]["text/plain"]
                .as_str()
                .unwrap()
                .to_string();
        }
    }
}
