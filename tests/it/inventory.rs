//! `wisp inventory` over trees built at test time.

use crate::util::*;

const FULL_NUMBERS: [&str; 4] = [
    "123-45-6788",
    "4111 1111 1111 1111",
    "4111111111111111",
    "D1234567",
];

fn share() -> tempfile::TempDir {
    let dir = temp_dir();
    let root = dir.path().join("share");
    std::fs::create_dir_all(root.join("hr")).unwrap();
    std::fs::create_dir_all(root.join("misc")).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(
        root.join("hr/staff.csv"),
        "Employee Name,SSN,Salary\nJane Doe,123-45-6788,50000\nJohn Roe,234-56-7890,61000\n",
    )
    .unwrap();
    std::fs::write(
        root.join("misc/letter.txt"),
        "Dear Maria Garcia,\nyour card 4111 1111 1111 1111 was charged.\n\nOrder 123456789 shipped to zip 01608-1234.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("misc/intake.html"),
        "<p>Patient: Robert Brown</p><p>Driver License No: D1234567</p>",
    )
    .unwrap();
    std::fs::write(root.join("misc/blob.bin"), b"\x00\x01\x02binary").unwrap();
    // UTF-16 with a byte-order mark, as Windows tools write it.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "Ann Lee, SSN 345-67-8901\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    std::fs::write(root.join("misc/export.txt"), utf16).unwrap();
    std::fs::write(
        dir.path().join("outside/secret.txt"),
        "Carl Diaz SSN 456-78-9012",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("outside/secret.txt"),
        root.join("misc/link.txt"),
    )
    .unwrap();
    dir
}

fn rows(csv_text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn csv_report_counts_elements_names_and_pi() {
    let dir = share();
    let root = dir.path().join("share").display().to_string();
    let out = run(&["inventory", "--no-catalog", "--format", "csv", &root]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("path,kind,bytes,ssn,card,license,account,names,pi,error\n"),
        "{text}"
    );
    let rows = rows(&text);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0].ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .clone()
    };
    assert_eq!(
        row("staff.csv")[1..],
        ["csv", "79", "2", "0", "0", "0", "2", "1", ""]
    );
    let letter = row("letter.txt");
    assert_eq!(
        (letter[4].as_str(), letter[3].as_str(), letter[8].as_str()),
        ("1", "0", "1"),
        "card, no SSN from an order number, PI"
    );
    assert_eq!(row("intake.html")[5], "1");
    assert_eq!(row("export.txt")[3], "1", "UTF-16 is decoded");
    assert_eq!(row("blob.bin")[1], "binary");
    assert!(
        rows.iter().all(|r| !r[0].ends_with("link.txt")),
        "a symlink was followed"
    );
    assert!(stderr(&out).contains("summary by folder:"));
}

#[test]
fn no_output_ever_holds_a_full_number() {
    let dir = share();
    let root = dir.path().join("share").display().to_string();
    for format in ["table", "csv", "json"] {
        let out = run(&["inventory", "--no-catalog", "--format", format, &root]);
        assert!(out.status.success());
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for number in FULL_NUMBERS {
            assert!(!all.contains(number), "{format} output shows {number}");
        }
    }
    let json = stdout(&run(&[
        "inventory",
        "--no-catalog",
        "--format",
        "json",
        &root,
    ]));
    assert!(json.contains("***-**-6788"), "{json}");
    assert!(json.contains("4111 **** **** 1111"), "{json}");
}

#[test]
fn excludes_and_missing_roots() {
    let dir = share();
    let root = dir.path().join("share").display().to_string();
    let out = run(&[
        "inventory",
        "--no-catalog",
        "--format",
        "csv",
        "--exclude",
        "*.html",
        "--exclude",
        "hr/",
        &root,
    ]);
    let text = stdout(&out);
    assert!(
        !text.contains("intake.html") && !text.contains("staff.csv"),
        "{text}"
    );
    assert!(text.contains("letter.txt"));
    let missing = run(&[
        "inventory",
        "--no-catalog",
        &dir.path().join("nope").display().to_string(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
}

#[test]
fn rescans_read_only_what_changed() {
    let dir = share();
    let root = dir.path().join("share").display().to_string();
    let catalog = dir.path().join("catalog.sqlite").display().to_string();
    let scan = || {
        let out = run(&[
            "inventory",
            "--catalog",
            &catalog,
            "--format",
            "json",
            &root,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let find = |rows: &[serde_json::Value], name: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    let first = scan();
    assert!(first.iter().all(|r| r["cached"] == false));
    std::fs::write(
        dir.path().join("share/misc/letter.txt"),
        "Nothing personal here.\n",
    )
    .unwrap();
    let second = scan();
    let staff = find(&second, "staff.csv");
    assert_eq!(staff["cached"], true);
    assert_eq!(staff["counts"]["ssn"], 2, "cached counts");
    assert_eq!(staff["samples"][0]["masked"], "***-**-6788");
    let letter = find(&second, "letter.txt");
    assert_eq!(letter["cached"], false, "a changed file is read again");
    assert_eq!(letter["counts"]["card"], 0);
}

#[test]
fn locate_finds_the_files_holding_a_number_by_keyed_fingerprint() {
    use std::io::Write;
    let bench = LedgerFixture::new();
    let root = bench.path("share");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("staff.csv"), "Name,SSN\nJane Doe,123-45-6788\n").unwrap();
    std::fs::write(
        root.join("note.txt"),
        "Jane Doe's SSN is 123 45 6788, card 4111 1111 1111 1111",
    )
    .unwrap();
    std::fs::write(root.join("other.txt"), "John Roe SSN 234-56-7890").unwrap();
    let out = bench.wisp(&["inventory", "--format", "csv", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let locate = |input: &str| {
        let mut child = bench
            .command()
            .args(["inventory", "--locate"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = locate("123456788\n4111-1111-1111-1111\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].starts_with("***-**-6788\tssn\t") && rows[0].ends_with("note.txt"),
        "{text}"
    );
    assert!(rows[1].ends_with("staff.csv"), "{text}");
    assert!(
        rows[2].starts_with("4111 **** **** 1111\tcard\t") && rows[2].ends_with("note.txt"),
        "{text}"
    );
    for number in FULL_NUMBERS {
        assert!(
            !text.contains(number),
            "a full number in the output: {text}"
        );
    }
    let out = locate("999-99-9999\n");
    assert_eq!(out.status.code(), Some(1), "nothing found, like grep");
    assert!(stdout(&out).is_empty());

    // The catalog holds fingerprints, never the numbers.
    let catalog = std::fs::read(bench.ledger().join("inventory.sqlite")).unwrap();
    let wal = std::fs::read(bench.ledger().join("inventory.sqlite-wal")).unwrap_or_default();
    for bytes in [&catalog, &wal] {
        for value in [&b"123456788"[..], b"123-45-6788", b"4111111111111111"] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value),
                "a value in the catalog"
            );
        }
    }
}

#[test]
fn a_folder_is_summed_once_when_a_subfolder_sorts_between_its_files() {
    // In path order a/b/y.txt comes between a/a.txt and a/z.txt.
    let dir = temp_dir();
    let a = dir.path().join("a");
    std::fs::create_dir_all(a.join("b")).unwrap();
    let record = "John Smith, SSN 123-45-6788\n";
    for file in ["a.txt", "z.txt", "b/y.txt"] {
        std::fs::write(a.join(file), record).unwrap();
    }
    let out = run(&[
        "inventory",
        "--no-catalog",
        "--format",
        "csv",
        &a.display().to_string(),
    ]);
    assert!(out.status.success());
    let summary = stderr(&out);
    let line = |folder: &std::path::Path| {
        let prefix = format!("  {}: ", folder.display());
        summary
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(|l| l[prefix.len()..].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line(&a),
        ["2 files, 2 with elements, 2 with PI (ssn 2, card 0, license 0, account 0, names 2)"],
        "{summary}"
    );
    assert_eq!(
        line(&a.join("b")),
        ["1 files, 1 with elements, 1 with PI (ssn 1, card 0, license 0, account 0, names 1)"],
        "{summary}"
    );
}

#[test]
fn every_file_of_many_kinds_is_reported_once_whether_its_batch_fills_or_not() {
    // 70 files of each of three kinds fill batches and leave some over; 20
    // further extensions, one file each, overflow the batches per thread.
    let dir = temp_dir();
    let root = dir.path().join("many");
    let mut expected = std::collections::BTreeMap::new();
    for folder in 0..7 {
        std::fs::create_dir_all(root.join(format!("{folder:02}"))).unwrap();
    }
    for n in 0..70 {
        let folder = root.join(format!("{:02}", n % 7));
        let text = folder.join(format!("note-{n}.txt"));
        std::fs::write(
            &text,
            format!("Dear Jane Doe,\nSSN 123-45-{:04}\n", 6700 + n),
        )
        .unwrap();
        expected.insert(text, ("1", "0"));
        let csv = folder.join(format!("staff-{n}.csv"));
        std::fs::write(&csv, "Employee Name,Card\nJohn Roe,4111 1111 1111 1111\n").unwrap();
        expected.insert(csv, ("0", "1"));
        let html = folder.join(format!("page-{n}.html"));
        std::fs::write(&html, "<p>Nothing personal here.</p>").unwrap();
        expected.insert(html, ("0", "0"));
    }
    for n in 0..20 {
        let odd = root.join(format!("00/odd.ext{n}"));
        std::fs::write(&odd, "Mary Smith SSN 234-56-7890").unwrap();
        expected.insert(odd, ("1", "0"));
    }
    let catalog = dir.path().join("catalog.sqlite").display().to_string();
    let root_arg = root.display().to_string();
    for pass in ["first scan", "rescan from the catalog"] {
        let out = run(&[
            "inventory",
            "--catalog",
            &catalog,
            "--format",
            "csv",
            &root_arg,
        ]);
        assert!(out.status.success(), "{pass}: {}", stderr(&out));
        let rows = rows(&stdout(&out));
        assert_eq!(rows.len(), expected.len(), "{pass}: one row per file");
        for row in &rows {
            let (ssn, card) = expected[&std::path::PathBuf::from(&row[0])];
            assert_eq!(
                (row[3].as_str(), row[4].as_str()),
                (ssn, card),
                "{pass}: {}",
                row[0]
            );
        }
    }
}
