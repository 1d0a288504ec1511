//! The `awsim` binary binds loopback unless told otherwise, and says so when told otherwise.
//! (The second case binds a documentation address this machine does not have, so nothing ever
//! listens beyond loopback during the tests.) The README's `--generate` recipe works against it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use awsim::GenerateSpec;

const SPEC: &str = "accounts=2,regions=1,instances=6,patches=3";

/// The `awsim` binary started with `args`, and the first line it printed.
fn spawn(args: &[&str], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("awsim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn sdk_with_key(url: &str, key: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key, "secret", None, None, "realism",
        )))
        .build()
}

#[test]
fn binds_loopback_by_default_without_a_warning() {
    let (mut child, line) = spawn(&["--port", "0"], Stdio::piped());
    child.kill().ok();
    child.wait().ok();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    assert!(
        line.starts_with("awsim listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(!err.contains("WARNING"), "{err}");
}

#[test]
fn warns_when_told_to_bind_beyond_loopback() {
    let out = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(["--bind", "192.0.2.1", "--port", "0"])
        .output()
        .expect("awsim runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WARNING: listening on 192.0.2.1 beyond loopback"),
        "{err}"
    );
    // The address is not this machine's: awsim cannot bind it and exits with an error.
    assert!(!out.status.success());
}

/// The README's recipe: `awsim --generate …` then the AWS CLI (any static key) sees the fleet,
/// because static credentials belong to the generated management account unless
/// `--default-account` says otherwise.
#[tokio::test]
async fn generated_fleet_is_visible_to_static_credentials() {
    let (mut child, line) = spawn(&["--port", "0", "--generate", SPEC], Stdio::null());
    let url = line
        .trim()
        .strip_prefix("awsim listening on ")
        .expect("listening line")
        .to_string();
    let conf = sdk_with_key(&url, "AKIAEXAMPLE", "us-east-1");
    let nodes = aws_sdk_ssm::Client::new(&conf)
        .describe_instance_information()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    let me = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await;
    child.kill().ok();
    child.wait().ok();
    assert!(!nodes.unwrap().is_empty(), "the generated nodes are listed");
    let spec: GenerateSpec = SPEC.parse().unwrap();
    let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
    assert_eq!(
        me.unwrap().account(),
        Some(
            fleet
                .organization
                .as_ref()
                .unwrap()
                .management_account
                .as_str()
        )
    );
}
