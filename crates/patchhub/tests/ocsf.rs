//! `patchhub sync --dry-run --output ocsf` against awsim: one OCSF event for exactly each
//! finding the ASFF dry run prints (same count, same ids), a fixed patch as a closed event,
//! and a one-line refusal without --dry-run. The events' validity against an independent OCSF
//! schema is `scripts/check-ocsf`'s part.

mod support;

use std::collections::BTreeMap;

use patchhub_testkit::{assert_mentions, oracle, runtime, scenario};
use serde_json::Value;
use support::{dry_run, exited, fleet_of, run as patchhub};

const KEY: &str = "AKIATESTOCSF";
const REGION: &str = "us-east-1";
const CREDS: &[(&str, &str)] = &support::creds(KEY);

/// Both dry runs of the fleet at `url`: the ASFF findings and the OCSF events, keyed by id.
fn dry_runs(url: &str) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let run = |format: &str| dry_run(url, format, CREDS);
    let asff = run("jsonl");
    let ocsf = run("ocsf");
    assert_eq!(
        ocsf.len(),
        asff.len(),
        "one OCSF event per finding the ASFF dry run prints"
    );
    let by_id = |items: Vec<Value>, id: fn(&Value) -> &Value| {
        let n = items.len();
        let map: BTreeMap<String, Value> = items
            .into_iter()
            .map(|v| (id(&v).as_str().expect("an id").to_string(), v))
            .collect();
        assert_eq!(map.len(), n, "no id twice");
        map
    };
    let asff = by_id(asff, |f| &f["Id"]);
    let ocsf = by_id(ocsf, |e| &e["finding_info"]["uid"]);
    assert_eq!(
        asff.keys().collect::<Vec<_>>(),
        ocsf.keys().collect::<Vec<_>>(),
        "the same ids"
    );
    (asff, ocsf)
}

#[test]
fn the_ocsf_dry_run_renders_exactly_the_asff_dry_run() {
    let rt = runtime();
    let (sim, fleet, account) = fleet_of(
        &rt,
        "accounts=1,regions=1,instances=25,patches=25,seed=18",
        KEY,
    );
    let url = sim.url();

    let out = patchhub(&["sync", "--endpoint-url", &url, "--output", "ocsf"], CREDS);
    let err = exited(&out, 2);
    assert_mentions(
        &err,
        &["--output ocsf", "--dry-run", "BatchImportFindingsV2"],
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(sim.stats().ingestion_events(), 0);

    // First run: every finding is new.
    let (asff, ocsf) = dry_runs(&url);
    assert!(
        asff.len() > 25,
        "roll-ups and patch findings: {}",
        asff.len()
    );
    let mut classes = BTreeMap::new();
    for (id, e) in &ocsf {
        let f = &asff[id];
        assert_eq!(e["metadata"]["version"], "1.1.0");
        assert_eq!(e["activity_id"], 1, "{id}");
        assert_eq!(e["cloud"]["account"]["uid"], account.as_str());
        assert_eq!(e["resource"]["uid"], f["Resources"][0]["Id"]);
        let cves = f["Vulnerabilities"].as_array().map_or(0, Vec::len);
        if e["class_uid"] == 2002 {
            assert_eq!(e["vulnerabilities"].as_array().unwrap().len(), cves, "{id}");
        }
        *classes.entry(e["class_uid"].to_string()).or_insert(0) += 1;
    }
    assert!(
        classes.contains_key("2002") && classes.contains_key("2003"),
        "{classes:?}"
    );
    assert_eq!(sim.stats().ingestion_events(), 0, "dry runs import nothing");

    // Import, then one patch gets installed: its finding is closed, not dropped.
    exited(
        &patchhub(&["sync", "--endpoint-url", &url, "--output", "json"], CREDS),
        0,
    );
    let node = oracle::nodes_with_missing(&fleet, &account, REGION, 1)[0];
    let patch = node
        .patches
        .iter()
        .find(|p| p.state == "MISSING")
        .unwrap()
        .id
        .clone();
    rt.block_on(scenario::install(
        &sim,
        &account,
        REGION,
        std::slice::from_ref(&node.id),
        |p| p.id == patch,
    ));
    let (asff, ocsf) = dry_runs(&url);
    let closed: Vec<&String> = ocsf
        .iter()
        .filter(|(_, e)| e["activity_id"] == 3)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(closed.len(), 1, "{:?}", ocsf.keys());
    let id = closed[0];
    assert!(id.ends_with(&format!("/{}/patch/{patch}", node.id)), "{id}");
    assert_eq!(asff[id]["RecordState"], "ARCHIVED");
    assert_eq!(ocsf[id]["status_id"], 4);
    assert_eq!(ocsf[id]["status"], "Resolved");
    let rollup = ocsf
        .iter()
        .find(|(id, _)| id.ends_with(&format!("/{}/rollup", node.id)))
        .map(|(_, e)| e)
        .expect("the node's roll-up is updated");
    assert_eq!(rollup["activity_id"], 2);
    assert_eq!(rollup["class_uid"], 2003);
    drop(rt);
}
