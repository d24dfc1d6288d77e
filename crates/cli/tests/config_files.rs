//! Secrets read from files (container secrets): `KEYWARD_<NAME>_FILE` names a file that holds
//! the setting, and a file that cannot be read stops start-up with a message naming the variable.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

fn init(data: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["init", "--admin-email", "ops@example.com", "--full-name", "Ops", "--password-stdin", "--data-dir"]).arg(data);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run keyward init");
    child.stdin.take().unwrap().write_all(b"Correct-Horse-7-Battery\n").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_master_key_can_come_from_a_file() {
    let dir = std::env::temp_dir().join(format!("keyward-cfg-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("master.key");
    // 32 bytes of base64, with the newline an editor or `echo` leaves.
    std::fs::write(&key_file, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let data = dir.join("data");
    let out = init(&data, &[("KEYWARD_MASTER_KEY_FILE", key_file.to_str().unwrap())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.join("keyward.key").exists(), "with a master key no key file is created in the data directory");

    let missing = dir.join("nowhere");
    let out = init(&dir.join("data2"), &[("KEYWARD_SMTP_PASSWORD_FILE", missing.to_str().unwrap())]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KEYWARD_SMTP_PASSWORD_FILE"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
