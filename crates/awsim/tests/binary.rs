//! The `awsim` binary binds loopback unless told otherwise, and says so when told otherwise.
//! (The second case binds a documentation address this machine does not have, so nothing ever
//! listens beyond loopback during the tests.)

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn binds_loopback_by_default_without_a_warning() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("awsim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
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
