//! A PDF file's objects read by hand through its cross-reference tables:
//! lopdf's parser combinators spend some 20,000 instructions on each object,
//! more than the rest of reading a one-page document costs. A file this
//! reader does not take whole (a cross-reference stream, encryption, an
//! offset that does not point at its object, a malformed object) is left to
//! lopdf, which reads every kind and repairs some.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};

use super::content::{delimiter, white, Tokens};

/// Cross-reference tables chained by /Prev, at most (one per incremental update).
const MAX_TABLES: usize = 64;
/// Arrays and dictionaries inside one another, at most.
const MAX_NESTING: u32 = 64;

/// Where each object in use starts, by number: its generation and offset;
/// `None` for a number a newer table marks free.
type Offsets = BTreeMap<u32, Option<(u16, usize)>>;

/// The document, or `None` when it is for lopdf to read.
pub(super) fn document(file: &[u8]) -> Option<Document> {
    let header = memchr::memmem::find(&file[..file.len().min(1024)], b"%PDF-")?;
    // Offsets count from the header, as lopdf counts them.
    let file = &file[header..];
    let version: Vec<u8> = file[5..]
        .iter()
        .take_while(|&&b| b.is_ascii_digit() || b == b'.')
        .copied()
        .collect();
    let mut offsets = Offsets::new();
    let mut trailer: Option<Dictionary> = None;
    let mut next = Some(startxref(file)?);
    let mut read = Vec::new();
    while let Some(at) = next.take() {
        if read.contains(&at) {
            break;
        }
        if read.len() == MAX_TABLES {
            return None;
        }
        read.push(at);
        let mut dict = table(file, at, &mut offsets)?;
        if dict.has(b"XRefStm") || dict.has(b"Encrypt") {
            return None;
        }
        next = dict
            .remove(b"Prev")
            .and_then(|prev| prev.as_i64().ok())
            .and_then(|prev| usize::try_from(prev).ok());
        trailer.get_or_insert(dict);
    }
    let mut doc = Document::new();
    doc.version = String::from_utf8(version).ok()?;
    doc.trailer = trailer?;
    for (&number, entry) in &offsets {
        let Some((generation, offset)) = *entry else {
            continue;
        };
        let id = (number, generation);
        let object = indirect(file, offset, id, &offsets)?;
        if let Object::Stream(stream) = &object {
            // Objects inside object streams are listed only by cross-reference streams.
            if stream.dict.has_type(b"ObjStm") {
                return None;
            }
        }
        doc.objects.insert(id, object);
    }
    doc.max_id = offsets.keys().next_back().copied().unwrap_or(0);
    Some(doc)
}

/// The offset `startxref` names near the file's end.
fn startxref(file: &[u8]) -> Option<usize> {
    let tail = file.len().saturating_sub(1024);
    let at = tail + memchr::memmem::rfind(&file[tail..], b"startxref")? + b"startxref".len();
    let mut tokens = Tokens { input: file, at };
    tokens.skip_space();
    usize::try_from(unsigned(&mut tokens)?).ok()
}

/// Reads the cross-reference table at `at` into `offsets` (keeping entries a
/// newer table gave) and answers its trailer dictionary.
fn table(file: &[u8], at: usize, offsets: &mut Offsets) -> Option<Dictionary> {
    let mut tokens = Tokens { input: file, at };
    tokens.skip_space();
    if !file.get(tokens.at..)?.starts_with(b"xref") {
        return None;
    }
    tokens.at += 4;
    loop {
        tokens.skip_space();
        if file[tokens.at..].starts_with(b"trailer") {
            tokens.at += b"trailer".len();
            return match object(&mut tokens, 0)? {
                Object::Dictionary(dict) => Some(dict),
                _ => None,
            };
        }
        let first = u32::try_from(unsigned(&mut tokens)?).ok()?;
        tokens.skip_space();
        let count = u32::try_from(unsigned(&mut tokens)?).ok()?;
        for number in first..first.checked_add(count)? {
            tokens.skip_space();
            let offset = usize::try_from(unsigned(&mut tokens)?).ok()?;
            tokens.skip_space();
            let generation = u16::try_from(unsigned(&mut tokens)?).ok()?;
            tokens.skip_space();
            let in_use = match tokens.peek()? {
                b'n' => true,
                b'f' => false,
                _ => return None,
            };
            tokens.at += 1;
            offsets
                .entry(number)
                .or_insert(in_use.then_some((generation, offset)));
        }
    }
}

/// The object numbered `id` at `offset`, a stream's length looked up in
/// `offsets` when it is a reference.
fn indirect(file: &[u8], offset: usize, id: ObjectId, offsets: &Offsets) -> Option<Object> {
    let mut tokens = Tokens {
        input: file,
        at: offset,
    };
    let object = direct_at(&mut tokens, id)?;
    let Object::Dictionary(dict) = object else {
        return Some(object);
    };
    tokens.skip_space();
    if !file[tokens.at..].starts_with(b"stream") {
        return Some(Object::Dictionary(dict));
    }
    tokens.at += b"stream".len();
    while matches!(tokens.peek(), Some(b' ' | b'\t')) {
        tokens.at += 1;
    }
    match file.get(tokens.at..)? {
        [b'\r', b'\n', ..] => tokens.at += 2,
        [b'\n' | b'\r', ..] => tokens.at += 1,
        _ => return None,
    }
    let data = &file[tokens.at..];
    let length = match dict.get(b"Length").ok()? {
        Object::Reference(length_id) => {
            let (generation, at) = (*offsets.get(&length_id.0)?)?;
            if generation != length_id.1 {
                return None;
            }
            // The length object's value alone: a stream there is no length,
            // and a chain of lengths naming one another ends at once.
            let mut at_length = Tokens { input: file, at };
            direct_at(&mut at_length, *length_id)?.as_i64().ok()
        }
        length => length.as_i64().ok(),
    };
    let content = length
        .and_then(|length| usize::try_from(length).ok())
        .filter(|&length| ends_stream(data.get(length..).unwrap_or_default()))
        .map(|length| &data[..length])
        .or_else(|| {
            // A wrong /Length (a writer's slip, or an edit by hand): the data
            // is what comes before `endstream`, less the line end before it.
            let end = memchr::memmem::find(data, b"endstream")?;
            let data = &data[..end];
            let data = data.strip_suffix(b"\n").unwrap_or(data);
            Some(data.strip_suffix(b"\r").unwrap_or(data))
        })?;
    Some(Object::Stream(Stream::new(dict, content.to_vec())))
}

/// The direct object after `tokens`' `number generation obj`, which must be `id`'s.
fn direct_at(tokens: &mut Tokens, id: ObjectId) -> Option<Object> {
    tokens.skip_space();
    let number = unsigned(tokens)?;
    tokens.skip_space();
    let generation = unsigned(tokens)?;
    tokens.skip_space();
    if (number, generation) != (u64::from(id.0), u64::from(id.1))
        || !tokens.input.get(tokens.at..)?.starts_with(b"obj")
    {
        return None;
    }
    tokens.at += 3;
    object(tokens, 0)
}

/// Whether `rest`, after a stream's data, is its `endstream` (a line end may come first).
fn ends_stream(rest: &[u8]) -> bool {
    let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
    let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
    rest.starts_with(b"endstream")
}

/// Digits as a number.
fn unsigned(tokens: &mut Tokens) -> Option<u64> {
    let start = tokens.at;
    let mut value: u64 = 0;
    while let Some(digit @ b'0'..=b'9') = tokens.peek() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        tokens.at += 1;
    }
    (tokens.at > start).then_some(value)
}

/// One direct object, or `None` for anything malformed.
fn object(tokens: &mut Tokens, depth: u32) -> Option<Object> {
    if depth > MAX_NESTING {
        return None;
    }
    tokens.skip_space();
    let input = tokens.input;
    Some(match tokens.peek()? {
        b'(' => {
            tokens.at += 1;
            Object::String(tokens.literal(), StringFormat::Literal)
        }
        b'<' if input.get(tokens.at + 1) == Some(&b'<') => {
            tokens.at += 2;
            let mut dict = Dictionary::new();
            loop {
                tokens.skip_space();
                match input.get(tokens.at..)? {
                    [b'>', b'>', ..] => {
                        tokens.at += 2;
                        break;
                    }
                    [b'/', ..] => {
                        tokens.at += 1;
                        let key = tokens.name();
                        let value = object(tokens, depth + 1)?;
                        dict.set(key, value);
                    }
                    _ => return None,
                }
            }
            Object::Dictionary(dict)
        }
        b'<' => {
            tokens.at += 1;
            if !input[tokens.at..]
                .iter()
                .take_while(|&&b| b != b'>')
                .all(|b| b.is_ascii_hexdigit() || white(*b))
            {
                return None;
            }
            Object::String(tokens.hex(), StringFormat::Hexadecimal)
        }
        b'[' => {
            tokens.at += 1;
            let mut items = Vec::new();
            loop {
                tokens.skip_space();
                if tokens.peek()? == b']' {
                    tokens.at += 1;
                    break;
                }
                items.push(object(tokens, depth + 1)?);
            }
            Object::Array(items)
        }
        b'/' => {
            tokens.at += 1;
            Object::Name(tokens.name())
        }
        b'+' | b'-' | b'.' | b'0'..=b'9' => number_or_reference(tokens)?,
        _ => {
            let start = tokens.at;
            while tokens.peek().is_some_and(|b| !white(b) && !delimiter(b)) {
                tokens.at += 1;
            }
            match &input[start..tokens.at] {
                b"true" => Object::Boolean(true),
                b"false" => Object::Boolean(false),
                b"null" => Object::Null,
                _ => return None,
            }
        }
    })
}

/// An integer, a real, or `number generation R`.
fn number_or_reference(tokens: &mut Tokens) -> Option<Object> {
    let input = tokens.input;
    let start = tokens.at;
    while tokens
        .peek()
        .is_some_and(|b| matches!(b, b'+' | b'-' | b'.' | b'0'..=b'9'))
    {
        tokens.at += 1;
    }
    let word = std::str::from_utf8(&input[start..tokens.at]).ok()?;
    if word.contains('.') {
        return word.parse::<f32>().ok().map(Object::Real);
    }
    let integer: i64 = word.parse().ok()?;
    if input[start].is_ascii_digit() {
        let after = tokens.at;
        tokens.skip_space();
        if let Some(generation) = unsigned(tokens) {
            tokens.skip_space();
            let ends = |at: usize| input.get(at).is_none_or(|&b| white(b) || delimiter(b));
            if tokens.peek() == Some(b'R') && ends(tokens.at + 1) {
                tokens.at += 1;
                return Some(Object::Reference((
                    u32::try_from(integer).ok()?,
                    u16::try_from(generation).ok()?,
                )));
            }
        }
        tokens.at = after;
    }
    Some(Object::Integer(integer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::tests::{composite, document as one_page};

    /// A file of `objects` (each the body between `N 0 obj` and `endobj`,
    /// numbered from 1) with a classic cross-reference table and `trailer`.
    fn file(objects: &[&[u8]], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        let size = objects.len() + 1;
        out.extend_from_slice(
            format!("trailer\n<< /Size {size} {trailer} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }

    /// lopdf's reading of the same file, the one this reader must match.
    fn assert_read_as_lopdf_reads(bytes: &[u8]) {
        let ours = document(bytes).expect("read here");
        let theirs = Document::load_mem(bytes).expect("lopdf reads it");
        assert_eq!(ours.objects, theirs.objects);
        assert_eq!(ours.trailer, theirs.trailer);
        assert_eq!(ours.version, theirs.version);
    }

    #[test]
    fn documents_are_read_as_lopdf_reads_them() {
        assert_read_as_lopdf_reads(&composite(true));
        assert_read_as_lopdf_reads(&one_page(
            b"BT /F1 12 Tf (Jane Doe) Tj ET",
            &[],
            &[],
            |_| {},
        ));
        assert_read_as_lopdf_reads(&file(
            &[
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>",
                b"<< /Length 5 0 R >>\nstream\r\nBT /F1 12 Tf (Jane Doe) Tj ET\r\nendstream",
                b"31",
                b"% a comment\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            ],
            "/Root 1 0 R /Info << /Producer (hand \\(made\\)) /Title <FEFF004A> >>",
        ));
    }

    /// A random direct object in the syntax writers use, nested at most `depth` deep.
    fn random_object(rng: &mut crate::test_rng::Rng, depth: u32) -> String {
        const ATOMS: [&str; 22] = [
            "0",
            "12",
            "-3",
            "+4",
            "3.25",
            "-.5",
            "4.",
            "0.0001",
            "true",
            "false",
            "null",
            "(Jane Doe)",
            "(a \\(b\\) c)",
            "(nested (paren) ok)",
            "(oct\\053al\\7)",
            "(line\\\nend)",
            "<4A6F65>",
            "<4a 6f\n65>",
            "<ABC>",
            "/Name",
            "/A#20B",
            "7 0 R",
        ];
        const SPACES: [&str; 4] = [" ", "\n", "\r\n", " % note\n"];
        let space = |rng: &mut crate::test_rng::Rng| SPACES[rng.below(4) as usize];
        match rng.below(if depth > 0 { 4 } else { 1 }) {
            0 | 1 => ATOMS[rng.below(22) as usize].to_string(),
            2 => {
                let items: Vec<String> = (0..rng.below(5))
                    .map(|_| random_object(rng, depth - 1))
                    .collect();
                format!("[{}]", items.join(space(rng)))
            }
            _ => {
                let mut dict = String::from("<<");
                for i in 0..rng.below(5) {
                    dict += &format!(
                        "/K{i}{}{}{}",
                        space(rng),
                        random_object(rng, depth - 1),
                        space(rng)
                    );
                }
                dict + ">>"
            }
        }
    }

    #[test]
    fn random_objects_are_read_as_lopdf_reads_them() {
        let mut rng = crate::test_rng::Rng(0x000b_1ec7_5eed);
        for _ in 0..300 {
            let bodies: Vec<String> = (0..8)
                .map(|_| format!("<< /Type /Thing /Value {} >>", random_object(&mut rng, 4)))
                .collect();
            let bodies: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
            assert_read_as_lopdf_reads(&file(&bodies, "/Root 1 0 R"));
        }
    }

    #[test]
    fn an_update_replaces_and_frees_objects_of_the_file_it_follows() {
        let mut bytes = file(
            &[
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [] /Count 0 >>",
                b"(before)",
                b"(gone)",
            ],
            "/Root 1 0 R",
        );
        let first_xref = memchr::memmem::find(&bytes, b"\nxref\n").unwrap() + 1;
        let replaced = bytes.len();
        bytes.extend_from_slice(b"3 0 obj\n(after)\nendobj\n");
        let xref = bytes.len();
        bytes.extend_from_slice(
            format!(
                "xref\n3 2\n{replaced:010} 00000 n \n0000000000 00001 f \ntrailer\n<< /Size 5 /Root 1 0 R /Prev {first_xref} >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        let ours = document(&bytes).unwrap();
        let theirs = Document::load_mem(&bytes).unwrap();
        assert_eq!(ours.trailer, theirs.trailer);
        assert_eq!(
            ours.objects.get(&(3, 0)),
            Some(&Object::string_literal("after"))
        );
        assert_eq!(ours.objects.get(&(3, 0)), theirs.objects.get(&(3, 0)));
        // lopdf keeps an object the update freed; it is gone.
        assert!(!ours.objects.contains_key(&(4, 0)));
    }

    #[test]
    fn a_stream_whose_length_is_wrong_is_read_to_its_endstream() {
        let bytes = file(
            &[
                b"<< /Type /Catalog >>",
                b"<< /Length 4 >>\nstream\nJane Doe 123-45-6788\nendstream",
            ],
            "/Root 1 0 R",
        );
        let doc = document(&bytes).unwrap();
        let stream = doc.objects[&(2, 0)].as_stream().unwrap();
        assert_eq!(stream.content, b"Jane Doe 123-45-6788");
    }

    #[test]
    fn lengths_that_name_each_other_end() {
        let bytes = file(
            &[
                b"<< /Type /Catalog >>",
                b"<< /Length 3 0 R >>\nstream\nJane Doe\nendstream",
                b"<< /Length 2 0 R >>\nstream\nJohn Roe\nendstream",
                b"<< /Length 4 0 R >>\nstream\nMary Poe\nendstream",
            ],
            "/Root 1 0 R",
        );
        // No length is a number: each stream is read to its endstream.
        let doc = document(&bytes).unwrap();
        let content = |n: u32| doc.objects[&(n, 0)].as_stream().unwrap().content.clone();
        assert_eq!(content(2), b"Jane Doe");
        assert_eq!(content(3), b"John Roe");
        assert_eq!(content(4), b"Mary Poe");
    }

    #[test]
    fn files_of_other_kinds_are_left_to_lopdf() {
        let plain = file(&[b"<< /Type /Catalog >>"], "/Root 1 0 R");
        assert!(document(&plain).is_some());
        let encrypted = file(
            &[b"<< /Type /Catalog >>"],
            "/Root 1 0 R /Encrypt << /Filter /Standard >>",
        );
        assert!(document(&encrypted).is_none());
        let hybrid = file(&[b"<< /Type /Catalog >>"], "/Root 1 0 R /XRefStm 9");
        assert!(document(&hybrid).is_none());
        // startxref naming an object (a cross-reference stream), not a table.
        let mut stream_xref = plain.clone();
        let at = memchr::memmem::rfind(&stream_xref, b"startxref\n").unwrap() + 10;
        stream_xref.truncate(at);
        stream_xref.extend_from_slice(b"15\n%%EOF\n");
        assert!(document(&stream_xref).is_none());
        // An offset that lands beside its object.
        let mut shifted = plain.clone();
        let entry = memchr::memmem::find(&shifted, b"0000000015 00000 n").unwrap();
        shifted[entry + 9] = b'6';
        assert!(document(&shifted).is_none());
        let packed = file(
            &[b"<< /Type /ObjStm /N 0 /First 0 /Length 0 >>\nstream\n\nendstream"],
            "",
        );
        assert!(document(&packed).is_none());
    }

    #[test]
    fn a_cut_or_garbled_file_is_refused_without_a_panic() {
        let whole = composite(true);
        for end in 0..whole.len() {
            let _ = document(&whole[..end]);
        }
        let mut rng = crate::test_rng::Rng(0xdead_beef);
        for _ in 0..2_000 {
            let mut bytes = whole.clone();
            for _ in 0..4 {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] = rng.below(256) as u8;
            }
            let _ = document(&bytes);
        }
        let deep = file(&["[".repeat(10_000).as_bytes()], "/Root 1 0 R");
        assert!(document(&deep).is_none());
    }
}
