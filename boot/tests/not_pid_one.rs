//! `wisp-init` powers the machine off when it is done; run anywhere but as
//! PID 1 it must refuse before touching anything.

#[test]
fn refuses_to_run_unless_it_is_pid_one() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wisp-init"))
        .output()
        .expect("wisp-init runs");
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("only as PID 1"), "{message}");
    assert!(output.stdout.is_empty());
}
