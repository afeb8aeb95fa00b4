//! The command-line contract: help, exit codes, generated docs, error lines.

use crate::util::*;

#[test]
fn help_documents_exit_codes() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("Exit status:"), "{text}");
    assert!(text.contains("devices"), "{text}");
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    let output = run(&["no-such-command"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert!(stderr(&output).contains("no-such-command"));
}

#[test]
fn generated_man_page_and_completions() {
    let dir = temp_dir();
    let out_dir = dir.path().join("man");
    let out_dir = out_dir.display().to_string();
    let man = run(&["generate", "man", "--out-dir", &out_dir]);
    assert!(man.status.success(), "{}", stderr(&man));
    let page = std::fs::read_to_string(dir.path().join("man/wisp.1")).unwrap();
    assert!(page.contains(".TH wisp"), "{page}");
    let devices = std::fs::read_to_string(dir.path().join("man/wisp-devices.1")).unwrap();
    assert!(devices.contains("json"), "{devices}");
    assert!(
        !dir.path().join("man/wisp-generate.1").exists(),
        "hidden command got a page"
    );
    let bash = stdout(&run(&["generate", "bash"]));
    assert!(bash.contains("_wisp()"), "{bash}");
    assert!(bash.contains("--json"));
}

#[test]
fn output_to_a_pipe_has_no_colour() {
    let output = run(&["devices"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains('\x1b'));
}

#[test]
fn demo_runs_and_says_what_works() {
    // The demo keeps its temp dir for the user; keep it inside ours.
    let dir = temp_dir();
    let output = wisp()
        .arg("demo")
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("works now"), "{text}");
    assert!(text.contains("DEVICE"), "{text}");
    assert!(text.contains("verified: 1 certificate(s)"), "{text}");
    assert!(text.contains("TAMPERED"), "{text}");
    assert!(text.contains("erased "), "{text}");
    assert!(
        text.contains("the ledger now holds 4 certificates and verifies"),
        "{text}"
    );
    assert!(text.contains("summary by folder:"), "{text}");
    let swept = text
        .lines()
        .filter(|l| l.starts_with("shredded ") && l.contains("(certificate #"))
        .count();
    assert_eq!(
        swept, 2,
        "the sweep disposes of the two due records: {text}"
    );
    assert!(
        stderr(&output).contains("1 held, 1 kept permanently"),
        "{}",
        stderr(&output)
    );
    assert!(text.contains("loan-application.txt"), "{text}");
    assert!(
        !text.contains("000123456789"),
        "the demo printed a full account number"
    );
    let pdf = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("the auditor's PDF: "))
        .expect("the demo names its PDF");
    assert!(pdf.starts_with(&dir.path().display().to_string()), "{pdf}");
    assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF-"));
}
