//! A framework the local backend cannot run is refused at request time with a 400 that says
//! what is missing, and nothing is created.

use crate::support::*;

#[test]
fn a_framework_this_machine_cannot_run_is_refused_saying_why() {
    let server = TestServer::start();
    let swarm = create(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'docker-swarm': ''}""#,
    );
    assert_eq!(swarm.status, 400, "{}", swarm.body);
    assert!(
        swarm
            .body
            .contains("framework docker-swarm cannot run on the local backend"),
        "{}",
        swarm.body
    );
    assert!(swarm.body.contains("Docker engine"), "{}", swarm.body);

    // Dependencies are checked too: zeppelin brings spark, and needs a Zeppelin distribution.
    let zeppelin = create(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'zeppelin': ''}""#,
    );
    assert_eq!(zeppelin.status, 400, "{}", zeppelin.body);
    assert!(
        zeppelin
            .body
            .contains("framework zeppelin cannot run on this machine"),
        "{}",
        zeppelin.body
    );
    assert!(zeppelin.body.contains("ZEPPELIN_HOME"), "{}", zeppelin.body);

    assert!(listed(&server, "t").is_empty());
    assert!(
        !server.clusters_dir().exists()
            || std::fs::read_dir(server.clusters_dir())
                .unwrap()
                .next()
                .is_none()
    );
}
