//! A labelled corpus for the inventory benchmark: realistic documents in several
//! formats, each with known counts of every element, names and whether it holds
//! PI, mixed with hard decoys (order and phone numbers, ZIP+4, invalid SSNs,
//! Luhn-valid digits inside longer runs, "lic" inside words).
//!
//! Deterministic: a seed makes the same corpus every time.

use std::io::Write;
use std::path::Path;

/// What a generated file holds, per the CSV columns of `wisp inventory`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Label {
    pub ssn: u64,
    pub card: u64,
    pub license: u64,
    pub account: u64,
    pub pi: bool,
    /// Some paragraph names a person (not a column; decides PI for formats whose
    /// paragraphs become adjacent lines).
    pub named: bool,
}

impl Label {
    fn elements(&self) -> u64 {
        self.ssn + self.card + self.license + self.account
    }

    /// Two documents in one file (an archive's members, a mailbox's messages).
    fn and(self, other: Label) -> Label {
        Label {
            ssn: self.ssn + other.ssn,
            card: self.card + other.card,
            license: self.license + other.license,
            account: self.account + other.account,
            pi: self.pi || other.pi,
            named: self.named || other.named,
        }
    }

    /// PI over a "nearby window of text": the 3-8 paragraphs of a document whose
    /// paragraphs are lines (HTML blocks, Word paragraphs) are one window.
    fn as_one_window(mut self) -> Label {
        self.pi = self.named && self.elements() > 0;
        self
    }
}

/// A small deterministic generator (SplitMix64): no dependency, same corpus everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const FIRST: [&str; 16] = [
    "James", "Mary", "Robert", "Patricia", "Michael", "Linda", "David", "Susan", "Carlos", "Maria",
    "Wei", "Aisha", "Thomas", "Karen", "Daniel", "Nancy",
];
const LAST: [&str; 16] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Nguyen",
    "Clark",
];

fn name(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST))
}

fn ssn(rng: &mut Rng) -> String {
    loop {
        let area = 1 + rng.below(899);
        if area == 666 {
            continue;
        }
        let group = 1 + rng.below(99);
        let serial = 1 + rng.below(9999);
        let value = format!("{area:03}-{group:02}-{serial:04}");
        if value != "078-05-1120" && value != "123-45-6789" {
            return value;
        }
    }
}

fn invalid_ssn(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("000-{:02}-{:04}", 1 + rng.below(99), 1 + rng.below(9999)),
        1 => format!("666-{:02}-{:04}", 1 + rng.below(99), 1 + rng.below(9999)),
        _ => format!(
            "9{:02}-{:02}-{:04}",
            rng.below(100),
            1 + rng.below(99),
            1 + rng.below(9999)
        ),
    }
}

fn luhn_complete(prefix_and_body: &str) -> String {
    let digits: Vec<u32> = prefix_and_body
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{prefix_and_body}{}", (10 - sum % 10) % 10)
}

fn card(rng: &mut Rng) -> String {
    let (prefix, len) = match rng.below(5) {
        0 => ("4".to_string(), 16),
        1 => (format!("5{}", 1 + rng.below(5)), 16),
        2 => (format!("{}", 2221 + rng.below(500)), 16),
        3 => (if rng.below(2) == 0 { "34" } else { "37" }.to_string(), 15),
        _ => ("6011".to_string(), 16),
    };
    let body = rng.digits(len - prefix.len() - 1);
    let number = luhn_complete(&format!("{prefix}{body}"));
    match (rng.below(3), len) {
        (0, 16) => number
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" "),
        (1, 16) => number
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("-"),
        _ => number,
    }
}

fn license(rng: &mut Rng) -> String {
    format!("S{}", rng.digits(8))
}

fn account(rng: &mut Rng) -> String {
    let len = 8 + rng.below(5) as usize;
    rng.digits(len)
}

/// Sentences with decoys only: numbers that must not be counted.
fn decoys(rng: &mut Rng) -> String {
    let mut out = Vec::new();
    for _ in 0..(2 + rng.below(3)) {
        out.push(match rng.below(7) {
            0 => format!("Order {} shipped on {}.", rng.digits(9), "2026-03-14"),
            1 => format!(
                "Call (508) {}-{} for the public records office.",
                rng.digits(3),
                rng.digits(4)
            ),
            2 => format!("Mail to Worcester, MA {}-{}.", rng.digits(5), rng.digits(4)),
            3 => format!("Reference number {} was rejected.", invalid_ssn(rng)),
            4 => format!(
                "Tracking 1Z{}{} en route.",
                rng.digits(8),
                luhn_complete(&format!("4{}", rng.digits(14)))
            ),
            5 => format!("Part S{} is out of stock.", rng.digits(9)),
            _ => format!(
                "Invoice {} total $1,250.00, publication {}.",
                rng.digits(10),
                rng.digits(7)
            ),
        });
    }
    out.join(" ")
}

/// One record of running text and its label.
fn paragraph(rng: &mut Rng, label: &mut Label) -> String {
    let with_name = rng.below(3) != 0;
    label.named |= with_name;
    let mut parts = Vec::new();
    if with_name {
        parts.push(format!("Client: {}.", name(rng)));
    }
    let mut elements = 0;
    match rng.below(6) {
        0 => {
            parts.push(format!("SSN {} on file.", ssn(rng)));
            label.ssn += 1;
            elements += 1;
        }
        1 => {
            parts.push(format!("Paid with card {}.", card(rng)));
            label.card += 1;
            elements += 1;
        }
        2 => {
            parts.push(format!("Driver's license {} verified.", license(rng)));
            label.license += 1;
            elements += 1;
        }
        3 => {
            parts.push(format!("Deposit to checking account {}.", account(rng)));
            label.account += 1;
            elements += 1;
        }
        _ => {}
    }
    parts.push(decoys(rng));
    if with_name && elements > 0 {
        label.pi = true;
    }
    parts.join(" ")
}

fn text_document(rng: &mut Rng) -> (String, Label) {
    let mut label = Label::default();
    let paragraphs: Vec<String> = (0..(3 + rng.below(6)))
        .map(|_| paragraph(rng, &mut label))
        .collect();
    (paragraphs.join("\n\n") + "\n", label)
}

fn csv_document(rng: &mut Rng) -> (String, Label) {
    let mut label = Label::default();
    let with_names = rng.below(3) != 0;
    let mut out = String::from(if with_names {
        "Employee Name,SSN,Order,Phone\n"
    } else {
        "Employee ID,SSN,Order,Phone\n"
    });
    for _ in 0..(5 + rng.below(20)) {
        let ssn_cell = if rng.below(4) == 0 {
            invalid_ssn(rng)
        } else {
            label.ssn += 1;
            ssn(rng).replace('-', "")
        };
        let who = if with_names { name(rng) } else { rng.digits(6) };
        out.push_str(&format!(
            "{who},{ssn_cell},{},508-{}-{}\n",
            rng.digits(9),
            rng.digits(3),
            rng.digits(4)
        ));
    }
    label.pi = with_names && label.ssn > 0;
    (out, label)
}

fn html_document(rng: &mut Rng) -> (String, Label) {
    let (text, label) = text_document(rng);
    let body: String = text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>\n", p.trim().replace('&', "&amp;")))
        .collect();
    (
        format!("<html><head><title>Notes</title></head><body>\n{body}</body></html>\n"),
        label.as_one_window(),
    )
}

fn email_document(rng: &mut Rng) -> (String, Label) {
    let (text, mut label) = text_document(rng);
    // A message is one record, and its sender is named: any element makes it PI.
    label.pi = label.elements() > 0;
    let message = format!(
        "From: {} <client@example.com>\r\nTo: Records <records@example.com>\r\nSubject: Documents\r\nDate: Mon, 2 Mar 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
        name(rng),
        text.replace('=', "=3D").replace('\n', "\r\n")
    );
    (message, label)
}

fn zip_file(path: &Path, members: &[(&str, String)]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        writer.start_file(*name, options)?;
        writer.write_all(data.as_bytes())?;
    }
    writer.finish()?;
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn docx(path: &Path, rng: &mut Rng) -> anyhow::Result<Label> {
    let (text, label) = text_document(rng);
    let body: String = text
        .split("\n\n")
        .map(|p| format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", xml_escape(p.trim())))
        .collect();
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip_file(
        path,
        &[
            ("[Content_Types].xml", "<Types/>".into()),
            ("word/document.xml", document),
        ],
    )?;
    Ok(label.as_one_window())
}

/// Two cell styles as Excel writes them: General, and its "Social Security
/// Number" format, a custom number format.
const XLSX_STYLES: &str = r#"<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="000\-00\-0000"/></numFmts><cellStyleXfs count="1"><xf numFmtId="0" fontId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" xfId="0"/><xf numFmtId="164" fontId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#;

fn xlsx(path: &Path, rng: &mut Rng) -> anyhow::Result<Label> {
    let (csv, label) = csv_document(rng);
    let mut shared: Vec<String> = Vec::new();
    let mut rows = String::new();
    for (r, line) in csv.lines().enumerate() {
        rows.push_str(&format!("<row r=\"{}\">", r + 1));
        for (c, cell) in line.split(',').enumerate() {
            let reference = format!("{}{}", char::from(b'A' + c as u8), r + 1);
            let bytes = cell.as_bytes();
            let dashed_ssn = bytes.len() == 11
                && bytes[3] == b'-'
                && bytes[6] == b'-'
                && cell.replace('-', "").bytes().all(|b| b.is_ascii_digit());
            if !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit()) && cell.len() < 16 {
                // A number cell, as a spreadsheet stores unquoted numbers.
                rows.push_str(&format!("<c r=\"{reference}\"><v>{cell}</v></c>"));
            } else if dashed_ssn {
                // Typed into a cell formatted as Excel's "Social Security
                // Number": stored as a number, leading zeros gone, shown
                // through style 1's format.
                let number: u64 = cell.replace('-', "").parse()?;
                rows.push_str(&format!("<c r=\"{reference}\" s=\"1\"><v>{number}</v></c>"));
            } else {
                shared.push(xml_escape(cell));
                rows.push_str(&format!(
                    "<c r=\"{reference}\" t=\"s\"><v>{}</v></c>",
                    shared.len() - 1
                ));
            }
        }
        rows.push_str("</row>");
    }
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    zip_file(
        path,
        &[
            ("[Content_Types].xml", "<Types/>".into()),
            ("xl/sharedStrings.xml", format!("<sst>{strings}</sst>")),
            ("xl/styles.xml", XLSX_STYLES.into()),
            (
                "xl/worksheets/sheet1.xml",
                format!("<worksheet><sheetData>{rows}</sheetData></worksheet>"),
            ),
        ],
    )?;
    Ok(label)
}

/// A one-page PDF of the paragraphs of `text`, wrapped into lines of Helvetica
/// as report and invoice generators set them, a wider gap between paragraphs.
fn pdf(path: &Path, text: &str) -> anyhow::Result<()> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
    let (catalog, tree, page, font, content) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let mut doc = Pdf::new();
    doc.catalog(catalog).pages(tree);
    doc.pages(tree).kids([page]).count(1);
    let mut p = doc.page(page);
    p.media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
        .parent(tree)
        .contents(content);
    p.resources().fonts().pair(Name(b"F1"), font);
    drop(p);
    doc.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let mut drawn = Content::new();
    let mut y = 740.0;
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let mut line = String::new();
        let mut lines = Vec::new();
        for word in paragraph.split(' ') {
            if !line.is_empty() && line.len() + word.len() > 90 {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
        for line in lines {
            drawn
                .begin_text()
                .set_font(Name(b"F1"), 10.0)
                .next_line(72.0, y)
                .show(Str(line.as_bytes()))
                .end_text();
            y -= 13.0;
        }
        y -= 13.0;
    }
    doc.stream(content, &drawn.finish().into_vec());
    std::fs::write(path, doc.finish())?;
    Ok(())
}

/// Writes `files` documents under `dir`, cycling through the formats, and returns
/// each file's name with its label.
/// Writes `labels` as CSV: the file (relative to the corpus) and its expected
/// counts, in the columns `wisp inventory --format csv` has.
pub fn write_labels(path: &Path, labels: &[(String, Label)]) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(["path", "ssn", "card", "license", "account", "pi"])?;
    for (name, label) in labels {
        out.write_record([
            name.clone(),
            label.ssn.to_string(),
            label.card.to_string(),
            label.license.to_string(),
            label.account.to_string(),
            u8::from(label.pi).to_string(),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// The seed of the corpus `cargo xtask bench inventory` measures.
pub const BENCH_SEED: u64 = 20261125;

pub fn generate(dir: &Path, files: usize, seed: u64) -> anyhow::Result<Vec<(String, Label)>> {
    let mut rng = Rng::new(seed);
    let mut labels = Vec::with_capacity(files);
    for index in 0..files {
        let sub = dir.join(format!("{:02}", index % 40));
        std::fs::create_dir_all(&sub)?;
        let folder = index % 40;
        let (name, label) = match index % 11 {
            0 => {
                let (text, label) = text_document(&mut rng);
                let name = format!("{:02}/note-{index}.txt", index % 40);
                std::fs::write(dir.join(&name), text)?;
                (name, label)
            }
            1 => {
                let (text, label) = csv_document(&mut rng);
                let name = format!("{:02}/roster-{index}.csv", index % 40);
                std::fs::write(dir.join(&name), text)?;
                (name, label)
            }
            2 => {
                let (text, label) = html_document(&mut rng);
                let name = format!("{:02}/page-{index}.html", index % 40);
                std::fs::write(dir.join(&name), text)?;
                (name, label)
            }
            3 => {
                let (text, label) = email_document(&mut rng);
                let name = format!("{:02}/message-{index}.eml", index % 40);
                std::fs::write(dir.join(&name), text)?;
                (name, label)
            }
            4 => {
                let name = format!("{:02}/letter-{index}.docx", index % 40);
                let label = docx(&dir.join(&name), &mut rng)?;
                (name, label)
            }
            5 => {
                let name = format!("{:02}/payroll-{index}.xlsx", index % 40);
                let label = xlsx(&dir.join(&name), &mut rng)?;
                (name, label)
            }
            6 => {
                let (text, label) = text_document(&mut rng);
                let name = format!("{folder:02}/statement-{index}.pdf");
                pdf(&dir.join(&name), &text)?;
                (name, label)
            }
            7 => {
                // An archive of a note and a roster, as files are sent.
                let (text, note) = text_document(&mut rng);
                let (csv, roster) = csv_document(&mut rng);
                let name = format!("{folder:02}/records-{index}.zip");
                zip_file(
                    &dir.join(&name),
                    &[("note.txt", text), ("staff/roster.csv", csv)],
                )?;
                (name, note.and(roster))
            }
            8 => {
                let (text, label) = text_document(&mut rng);
                let name = format!("{folder:02}/archived-{index}.txt.gz");
                let mut gz = flate2::write::GzEncoder::new(
                    std::fs::File::create(dir.join(&name))?,
                    flate2::Compression::default(),
                );
                gz.write_all(text.as_bytes())?;
                gz.finish()?;
                (name, label)
            }
            9 => {
                // A mailbox of two messages, each its own record.
                let (first, a) = email_document(&mut rng);
                let (second, b) = email_document(&mut rng);
                let name = format!("{folder:02}/inbox-{index}.mbox");
                let mbox = format!(
                    "From client@example.com Mon Mar  2 10:00:00 2026\n{}\nFrom client@example.com Tue Mar  3 11:00:00 2026\n{}\n",
                    first.replace("\r\n", "\n"),
                    second.replace("\r\n", "\n")
                );
                std::fs::write(dir.join(&name), mbox)?;
                (name, a.and(b))
            }
            _ => {
                // Saved by Windows tools: UTF-16 with a byte-order mark.
                let (text, label) = text_document(&mut rng);
                let name = format!("{folder:02}/export-{index}.txt");
                let bytes: Vec<u8> = [0xff, 0xfe]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect();
                std::fs::write(dir.join(&name), bytes)?;
                (name, label)
            }
        };
        labels.push((name, label));
    }
    Ok(labels)
}
