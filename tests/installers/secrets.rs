use crate::sandbox::*;

#[test]
fn an_installer_sees_only_its_own_frameworks_secrets() {
    let mut sandbox = Sandbox::new(0);
    sandbox.listen(0, 8084);
    sandbox.stub(
        "apt-get",
        r#"printf 'own:%s other:%s\n' "${DISCO_BASE_TEST_SECRET:-unset}" "${DISCO_MONGODB_ADMIN_PASSWORD:-unset}" >> "$DISCO_STUB_LOG.seen""#,
    );
    // mongodb's generated password, and a secret that belongs to base (the test's own).
    let run = sandbox.deploy_with(
        0,
        &[("mongodb", &[])],
        &[
            ("DISCO_MONGODB_ADMIN_PASSWORD", "s3cret-for-mongodb-only"),
            ("DISCO_BASE_TEST_SECRET", "base-may-see-this"),
            (
                "DISCO_SECRET_VARS",
                "DISCO_MONGODB_ADMIN_PASSWORD:mongodb DISCO_BASE_TEST_SECRET:base",
            ),
        ],
    );
    let seen = std::fs::read_to_string(format!("{}.seen", sandbox.log_file().display())).unwrap();
    // base's installer runs first: its apt-get sees base's secret and not mongodb's.
    assert_eq!(
        seen.lines().next(),
        Some("own:base-may-see-this other:unset"),
        "{seen}\n{}",
        run.output
    );
}

#[test]
fn the_plan_lists_every_generated_and_secret_parameter_with_its_owner() {
    let catalog = catalog();
    let spec: disco::cluster::ClusterSpec = serde_json::from_value(serde_json::json!({
        "title": null, "summary": null, "slave_count": 0, "infrastructure": {},
        "region": null, "deployer_username": null,
        "frameworks": {"mongodb": {}, "jupyter": {}}
    }))
    .unwrap();
    let plan = disco::plan::ClusterPlan::build(uuid::Uuid::nil(), &spec, &catalog).unwrap();
    let vars: Vec<&str> = plan.secret_vars.split(' ').collect();
    assert!(
        vars.contains(&"DISCO_MONGODB_ADMIN_PASSWORD:mongodb"),
        "{vars:?}"
    );
    assert!(vars.contains(&"DISCO_JUPYTER_TOKEN:jupyter"), "{vars:?}");
    assert!(vars.contains(&"DISCO_JUPYTER_PASSWORD:jupyter"), "{vars:?}");
}
