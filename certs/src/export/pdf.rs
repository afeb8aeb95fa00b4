//! One US Letter page per certificate, laid out like the NIST SP 800-88 Rev. 1
//! Appendix G form, with signature lines and the evidence that ties the paper to
//! the ledger (certificate hash, checkpoint).
//!
//! Uses the PDF base-14 fonts (Helvetica, Courier), so nothing is embedded and any
//! reader shows the same page. Text is WinAnsi-encoded; characters outside it are
//! shown as '?'.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{Export, ExportEntry};
use crate::certificate::{hex, Media, REFERENCES};

const WIDTH: f32 = 612.0;
const HEIGHT: f32 = 792.0;
const MARGIN: f32 = 48.0;
const LABEL_WIDTH: f32 = 150.0;
const ROW: f32 = 13.0;

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const MONO: Name = Name(b"F3");

/// Renders every certificate of `export`; `producer` names the tool and version
/// in the document's metadata.
pub fn render_pdf(export: &Export, producer: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let fonts = [Ref::new(4), Ref::new(5), Ref::new(6)];
    let first_page = 7;
    let pages: Vec<Ref> = (0..export.entries.len().max(1))
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(pages.iter().copied())
        .count(pages.len() as i32);
    pdf.document_info(info)
        .title(TextStr("Certificates of sanitization"))
        .creator(TextStr(producer));
    for (id, base) in fonts
        .iter()
        .zip([&b"Helvetica"[..], b"Helvetica-Bold", b"Courier"])
    {
        pdf.type1_font(*id)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }

    for (index, page_id) in pages.iter().enumerate() {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut font_dict = resources.fonts();
        font_dict.pair(REGULAR, fonts[0]);
        font_dict.pair(BOLD, fonts[1]);
        font_dict.pair(MONO, fonts[2]);
        font_dict.finish();
        resources.finish();
        page.finish();
        let content = match export.entries.get(index) {
            Some(entry) => certificate_page(entry, export, index + 1, export.entries.len()),
            None => empty_page(),
        };
        pdf.stream(content_id, &content);
    }
    pdf.finish()
}

fn empty_page() -> Vec<u8> {
    let mut page = Page::new();
    page.text(
        MARGIN,
        HEIGHT - MARGIN - 20.0,
        BOLD,
        16.0,
        "Certificates of sanitization",
    );
    page.text(
        MARGIN,
        HEIGHT - MARGIN - 44.0,
        REGULAR,
        10.0,
        "The ledger holds no signed certificates.",
    );
    page.content.finish().into_vec()
}

/// A page being drawn, top to bottom.
struct Page {
    content: Content,
    y: f32,
    sections: u32,
}

impl Page {
    fn new() -> Page {
        Page {
            content: Content::new(),
            y: HEIGHT - MARGIN,
            sections: 0,
        }
    }

    fn text(&mut self, x: f32, y: f32, font: Name, size: f32, text: &str) {
        self.content
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.content
            .set_line_width(width)
            .move_to(x1, y1)
            .line_to(x2, y2)
            .stroke();
    }

    /// A section heading on a grey band, numbered in order of appearance.
    fn section(&mut self, title: &str) {
        self.sections += 1;
        let number = self.sections;
        self.y -= 8.0;
        self.content
            .set_fill_gray(0.88)
            .rect(MARGIN, self.y - 4.0, WIDTH - 2.0 * MARGIN, 15.0)
            .fill_nonzero()
            .set_fill_gray(0.0);
        self.text(
            MARGIN + 4.0,
            self.y,
            BOLD,
            9.5,
            &format!("{number}. {title}"),
        );
        self.y -= ROW + 3.0;
    }

    /// A labelled field; long values wrap onto following lines.
    fn field(&mut self, label: &str, value: &str) {
        self.field_in(label, value, REGULAR, 9.0, 0.5)
    }

    /// A labelled field in a monospaced font (hashes, nonces).
    fn mono(&mut self, label: &str, value: &str) {
        self.field_in(label, value, MONO, 8.0, 0.6)
    }

    fn field_in(&mut self, label: &str, value: &str, font: Name, size: f32, em_per_char: f32) {
        self.text(MARGIN + 4.0, self.y, REGULAR, 8.0, label);
        let available = WIDTH - 2.0 * MARGIN - LABEL_WIDTH - 4.0;
        let per_line = ((available / (size * em_per_char)) as usize).max(10);
        let value = if value.is_empty() { "-" } else { value };
        for (i, chunk) in wrap(value, per_line).iter().enumerate() {
            if i > 0 {
                self.y -= ROW - 2.0;
            }
            self.text(MARGIN + LABEL_WIDTH, self.y, font, size, chunk);
        }
        self.y -= ROW;
    }
}

fn certificate_page(entry: &ExportEntry, export: &Export, page_no: usize, pages: usize) -> Vec<u8> {
    let c = &entry.certificate;
    let d = &c.disposal;
    let s = &d.sanitization;
    let mut page = Page::new();

    // Title block.
    page.text(
        MARGIN,
        page.y - 14.0,
        BOLD,
        17.0,
        "Certificate of Sanitization",
    );
    let number = format!("Certificate #{}", c.sequence);
    page.text(WIDTH - MARGIN - 110.0, page.y - 14.0, BOLD, 11.0, &number);
    page.y -= 30.0;
    page.text(
        MARGIN,
        page.y,
        REGULAR,
        8.5,
        "Form after NIST SP 800-88 Rev. 1 Appendix G. Recorded in a signed, append-only ledger by wisp.",
    );
    page.y -= 6.0;
    page.line(MARGIN, page.y, WIDTH - MARGIN, page.y, 1.2);
    page.y -= 6.0;

    page.section("Person performing sanitization");
    page.field("Name", &d.operator.name);
    page.field("Title", d.operator.title.as_deref().unwrap_or(""));
    page.field("Organization", &d.operator.organization);
    page.field("Location", d.operator.location.as_deref().unwrap_or(""));
    page.field(
        "Phone or contact",
        d.operator.contact.as_deref().unwrap_or(""),
    );

    page.section("Media information");
    let media_type = d.media.media_type().description();
    match &d.media {
        Media::Device(m) => {
            page.field(
                "Make / manufacturer",
                m.manufacturer.as_deref().unwrap_or(""),
            );
            page.field("Model", m.model.as_deref().unwrap_or(""));
            page.field("Serial number", m.serial.as_deref().unwrap_or(""));
            page.field("World Wide Name", m.wwn.as_deref().unwrap_or(""));
            page.field(
                "Property number",
                m.property_number.as_deref().unwrap_or(""),
            );
            page.field("Media type", media_type);
            page.field("Interface", m.transport.as_deref().unwrap_or(""));
            page.field("Capacity", &format!("{} bytes", group_digits(m.size_bytes)));
        }
        Media::File(f) => {
            page.field("File", &f.path);
            page.field("Size", &format!("{} bytes", group_digits(f.size_bytes)));
            page.field("Inode", &f.inode.map(|i| i.to_string()).unwrap_or_default());
            page.field("Filesystem", f.filesystem.as_deref().unwrap_or(""));
            page.field("Device", f.device.as_deref().unwrap_or(""));
            page.field("Media type", "file on a filesystem");
        }
        Media::Physical(p) => {
            page.field("Description", &p.description);
            page.field("Media type", media_type);
            page.field(
                "Quantity",
                &p.quantity.map(|q| q.to_string()).unwrap_or_default(),
            );
            page.field(
                "Serial numbers",
                &p.serials.clone().unwrap_or_default().join(", "),
            );
            page.field(
                "Property number",
                p.property_number.as_deref().unwrap_or(""),
            );
        }
    }

    page.section("Sanitization details");
    page.field("Method type", s.category.as_str());
    page.field("Technique", &s.technique);
    page.field("Method used", &s.method);
    let passes: Vec<String> = s
        .passes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{}: {} - {} bytes in {:.1} s",
                i + 1,
                p.pattern,
                group_digits(p.bytes),
                p.milliseconds as f64 / 1000.0
            )
        })
        .collect();
    if !passes.is_empty() {
        page.field("Passes", &passes.join("; "));
    }
    if let Some(generator) = &s.random_generator {
        page.field("Random generator", generator);
    }
    page.field(
        "Tool used (version)",
        &format!("{} {}", s.tool.name, s.tool.version),
    );
    page.field("Verification method", &s.verification.method);
    page.field("Verification result", s.verification.result.as_str());
    if let Some(blocks) = s.verification.sampled_blocks {
        page.field("Regions read back", &group_digits(blocks));
    }
    if let Some(nonce) = &s.verification.nonce {
        page.mono("Sample plan nonce", nonce);
    }
    if let Some(hash) = &s.verification.sample_hash {
        page.mono("Hash of sampled blocks", hash);
    }
    page.field(
        "Started / finished",
        &format!("{}  /  {}", utc(s.started_at), utc(s.finished_at)),
    );

    page.section("Exceptions (what was not reached)");
    if d.exceptions.is_empty() {
        page.field("Exceptions", "none reported");
    }
    for exception in &d.exceptions {
        let mut text = exception.description.clone();
        if !exception.ranges.is_empty() {
            let ranges: Vec<String> = exception
                .ranges
                .iter()
                .map(|[a, b]| format!("bytes {a}-{b}"))
                .collect();
            text.push_str(&format!(" ({})", ranges.join(", ")));
        }
        page.field(&super::serde_plain(&exception.kind), &text);
    }

    if d.findings.is_some() || d.retention.is_some() || d.content_fingerprint.is_some() {
        page.section("Record contents and retention");
        if let Some(f) = &d.findings {
            page.field(
                "Personal information found",
                &format!(
                    "{} - SSN {}, card {}, licence {}, account {}, names {} (counts only)",
                    if f.held_pi { "yes" } else { "no" },
                    f.ssn,
                    f.card,
                    f.license,
                    f.account,
                    f.names
                ),
            );
        }
        if let Some(fingerprint) = &d.content_fingerprint {
            page.mono("Content fingerprint", fingerprint);
        }
        if let Some(r) = &d.retention {
            page.field("Retention rule", &format!("{} - {}", r.rule, r.reason));
            page.mono("Policy hash", &r.policy_hash);
        }
    }

    page.section("Post-sanitization destination");
    page.field("Media goes to", d.destination.as_deref().unwrap_or(""));
    if let Some(notes) = &d.notes {
        page.field("Notes", notes);
    }

    // Signature blocks, as on the paper form: the person who did it, and a validator.
    page.section("Signatures");
    page.y -= 10.0;
    let col = (WIDTH - 2.0 * MARGIN) / 2.0;
    for (i, heading) in ["Performed by", "Validated by"].iter().enumerate() {
        let x = MARGIN + 4.0 + i as f32 * col;
        page.text(x, page.y, BOLD, 8.5, heading);
        let mut y = page.y - 22.0;
        for label in ["Name / title", "Signature", "Date"] {
            page.line(x + 70.0, y - 2.0, x + col - 16.0, y - 2.0, 0.5);
            page.text(x, y, REGULAR, 8.0, label);
            y -= 22.0;
        }
    }
    let printed_name = match &d.operator.title {
        Some(title) => format!("{}, {title}", d.operator.name),
        None => d.operator.name.clone(),
    };
    page.text(MARGIN + 78.0, page.y - 20.0, REGULAR, 8.0, &printed_name);
    page.y -= 80.0;

    // Evidence footer: what ties this page to the ledger.
    let footer_top = MARGIN + 58.0;
    let y = page.y.min(footer_top);
    page.line(MARGIN, y, WIDTH - MARGIN, y, 0.6);
    let mut fy = y - 11.0;
    page.text(
        MARGIN,
        fy,
        REGULAR,
        7.5,
        "Certificate hash (BLAKE3 Merkle leaf):",
    );
    page.text(MARGIN + 150.0, fy, MONO, 7.5, &hex(&entry.hash));
    fy -= 10.0;
    if let Some(checkpoint) = &export.checkpoint {
        let cp = &checkpoint.checkpoint;
        page.text(
            MARGIN,
            fy,
            REGULAR,
            7.5,
            &format!("Ledger checkpoint: {} size {}, root:", cp.origin, cp.size),
        );
        page.text(MARGIN + 220.0, fy, MONO, 7.0, &hex(&cp.root));
        fy -= 10.0;
    }
    page.text(
        MARGIN,
        fy,
        REGULAR,
        7.0,
        &format!("Recorded {} as entry #{} of the ledger. Check: wisp certs verify (--bundle for a single certificate).", utc(c.recorded_at), c.sequence),
    );
    fy -= 9.0;
    page.text(
        MARGIN,
        fy,
        REGULAR,
        6.5,
        &format!("References: {}", REFERENCES.join("; ")),
    );
    page.text(
        WIDTH - MARGIN - 50.0,
        MARGIN - 14.0,
        REGULAR,
        7.0,
        &format!("page {page_no} of {pages}"),
    );
    page.content.finish().into_vec()
}

/// A timestamp to the second, as people read it on a form (the JSON keeps full precision).
fn utc(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `1234567` → `1,234,567`.
fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Encodes for WinAnsiEncoding (Windows-1252): Latin-1 maps directly, a few
/// typographic characters to their 0x80–0x9F slots, anything else to '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2014}' => 0x97,
            '\u{2013}' => 0x96,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{20ac}' => 0x80,
            c if (c as u32) < 0x80 && !c.is_control() => c as u8,
            c if (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn digits_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(500_107_862_016), "500,107,862,016");
    }

    #[test]
    fn win_ansi_mapping() {
        assert_eq!(win_ansi("Zoë — ok\u{1F600}\n"), b"Zo\xeb \x97 ok??");
    }
}
