//! A page's content stream as operators with their operands, tokenized by
//! hand into one reused buffer: lopdf's parser builds an object for every
//! operand through parser combinators, which cost more than the rest of
//! reading a one-page document. What text extraction needs is kept (numbers,
//! strings, names, arrays); dictionaries and booleans are only counted as
//! operands, and inline images are skipped. lopdf's parser stays in the tests
//! as the specification.

/// One operand of an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    /// A literal or hexadecimal string, decoded.
    String(Vec<u8>),
    /// A name without its slash, `#xx` escapes decoded.
    Name(Vec<u8>),
    Array(Vec<Operand>),
    /// A dictionary, a boolean or null: nothing text extraction reads.
    Other,
}

impl Operand {
    pub fn number(&self) -> Option<f64> {
        match self {
            Operand::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// Arrays inside arrays (and dictionaries), at most: a deeper one ends the stream.
const MAX_NESTING: u32 = 64;

/// The powers of ten a double holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A number of at most 15 digits with an optional sign and point (nearly
/// every number in a content stream), computed without a string parse and
/// to the same double: both the digits and the power of ten are exact, so
/// one division rounds as the parse does.
fn plain_number(word: &[u8]) -> Option<f64> {
    let (negative, digits) = match word {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, word),
    };
    if digits.len() > 16 {
        return None;
    }
    let (mut mantissa, mut seen, mut fraction) = (0u64, 0usize, None);
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                seen += 1;
            }
            b'.' if fraction.is_none() => fraction = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if seen == 0 || seen > 15 {
        return None;
    }
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN[fraction.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

/// Calls `operation` with each operator of `content` and its operands, in
/// order, until it returns an error or the content ends. Bytes that start no
/// token are passed over.
pub fn for_each_operation<E>(
    content: &[u8],
    mut operation: impl FnMut(&[u8], &[Operand]) -> Result<(), E>,
) -> Result<(), E> {
    let mut tokens = Tokens {
        input: content,
        at: 0,
    };
    let mut operands = Vec::new();
    while let Some(token) = tokens.next(0) {
        match token {
            Token::Operand(operand) => operands.push(operand),
            Token::Operator(b"BI") => {
                tokens.skip_inline_image();
                operands.clear();
            }
            Token::Operator(operator) => {
                operation(operator, &operands)?;
                operands.clear();
            }
            Token::Close => {}
        }
    }
    Ok(())
}

enum Token<'a> {
    Operand(Operand),
    Operator(&'a [u8]),
    /// `]` or `>>`: the end of an array or dictionary.
    Close,
}

pub(super) struct Tokens<'a> {
    pub(super) input: &'a [u8],
    pub(super) at: usize,
}

pub(super) fn white(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

pub(super) fn delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl<'a> Tokens<'a> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    /// The next token, `None` at the end (or past `MAX_NESTING`).
    fn next(&mut self, depth: u32) -> Option<Token<'a>> {
        loop {
            self.skip_space();
            let b = self.peek()?;
            match b {
                b'(' => {
                    self.at += 1;
                    return Some(Token::Operand(Operand::String(self.literal())));
                }
                b'<' if self.input.get(self.at + 1) == Some(&b'<') => {
                    self.at += 2;
                    self.skip_until_close(depth)?;
                    return Some(Token::Operand(Operand::Other));
                }
                b'<' => {
                    self.at += 1;
                    return Some(Token::Operand(Operand::String(self.hex())));
                }
                b'>' if self.input.get(self.at + 1) == Some(&b'>') => {
                    self.at += 2;
                    return Some(Token::Close);
                }
                b']' => {
                    self.at += 1;
                    return Some(Token::Close);
                }
                b'[' => {
                    self.at += 1;
                    if depth >= MAX_NESTING {
                        return None;
                    }
                    let mut items = Vec::new();
                    loop {
                        match self.next(depth + 1) {
                            Some(Token::Operand(item)) => items.push(item),
                            Some(Token::Close) | None => break,
                            // An operator inside an array is malformed: its word is dropped.
                            Some(Token::Operator(_)) => {}
                        }
                    }
                    return Some(Token::Operand(Operand::Array(items)));
                }
                b'/' => {
                    self.at += 1;
                    return Some(Token::Operand(Operand::Name(self.name())));
                }
                b'+' | b'-' | b'.' | b'0'..=b'9' => {
                    if let Some(number) = self.number() {
                        return Some(Token::Operand(Operand::Number(number)));
                    }
                }
                _ if delimiter(b) => self.at += 1,
                _ => {
                    let start = self.at;
                    while self.peek().is_some_and(|b| !white(b) && !delimiter(b)) {
                        self.at += 1;
                    }
                    let word = &self.input[start..self.at];
                    return Some(match word {
                        b"true" | b"false" | b"null" => Token::Operand(Operand::Other),
                        _ => Token::Operator(word),
                    });
                }
            }
        }
    }

    /// Passes over white space and comments.
    pub(super) fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if white(b) {
                self.at += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A number (`12`, `-3.5`, `.5`, `+4.`); `None`, having passed over the
    /// word, when the word is no number.
    fn number(&mut self) -> Option<f64> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| matches!(b, b'+' | b'-' | b'.' | b'0'..=b'9'))
        {
            self.at += 1;
        }
        let word = &self.input[start..self.at];
        plain_number(word).or_else(|| {
            // "4." and "-.5" are numbers in PDF; Rust parses both.
            std::str::from_utf8(word).ok()?.parse().ok()
        })
    }

    /// The rest of a literal string after its `(`: nested parentheses kept,
    /// escapes decoded, an escaped line end dropped.
    pub(super) fn literal(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 0u32;
        loop {
            // Runs of plain bytes copied whole: most strings have no escape.
            let rest = &self.input[self.at..];
            let Some(special) = memchr::memchr3(b'(', b')', b'\\', rest) else {
                out.extend_from_slice(rest);
                self.at = self.input.len();
                break;
            };
            out.extend_from_slice(&rest[..special]);
            let b = rest[special];
            self.at += special + 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' if depth == 0 => break,
                b')' => {
                    depth -= 1;
                    out.push(b);
                }
                // The backslash: memchr3 stops at nothing else.
                _ => {
                    let Some(e) = self.peek() else { break };
                    self.at += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.at += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(value as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.at += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
            }
        }
        out
    }

    /// The rest of a hexadecimal string after its `<`: white space passed
    /// over, an odd last digit as if followed by 0.
    pub(super) fn hex(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.at += 1;
            let digit = match b {
                b'>' => break,
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => continue,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | digit),
                None => high = Some(digit),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// A name after its `/`, `#xx` escapes decoded.
    pub(super) fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek().filter(|&b| !white(b) && !delimiter(b)) {
            self.at += 1;
            let escaped = (b == b'#')
                .then(|| self.input.get(self.at..self.at + 2))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match escaped {
                Some(value) => {
                    out.push(value);
                    self.at += 2;
                }
                None => out.push(b),
            }
        }
        out
    }

    /// Passes over a dictionary's entries up to its `>>`.
    fn skip_until_close(&mut self, depth: u32) -> Option<()> {
        if depth >= MAX_NESTING {
            return None;
        }
        loop {
            match self.next(depth + 1)? {
                Token::Close => return Some(()),
                Token::Operand(_) | Token::Operator(_) => {}
            }
        }
    }

    /// Passes over an inline image after its `BI`: its entries, `ID`, and
    /// the data up to an `EI` standing alone.
    fn skip_inline_image(&mut self) {
        let Some(id) = memchr::memmem::find(&self.input[self.at..], b"ID") else {
            self.at = self.input.len();
            return;
        };
        let data = self.at + id + 2;
        let end = self.input[data..]
            .windows(4)
            .position(|w| white(w[0]) && &w[1..3] == b"EI" && white(w[3]))
            .map_or(self.input.len(), |at| data + at + 3);
        // An image at the very end of the stream may have no white space after EI.
        let end = if end == self.input.len() && self.input[data..].ends_with(b"EI") {
            self.input.len()
        } else {
            end
        };
        self.at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::Object;

    fn ours(content: &[u8]) -> Vec<(Vec<u8>, Vec<Operand>)> {
        let mut operations = Vec::new();
        for_each_operation::<()>(content, |operator, operands| {
            operations.push((operator.to_vec(), operands.to_vec()));
            Ok(())
        })
        .unwrap();
        operations
    }

    /// lopdf's reading, in our terms: its numbers as f32 (lopdf's reals).
    fn theirs(content: &[u8]) -> Option<Vec<(Vec<u8>, Vec<Operand>)>> {
        fn operand(object: &Object) -> Operand {
            match object {
                Object::Integer(i) => Operand::Number(*i as f64),
                Object::Real(r) => Operand::Number(f64::from(*r)),
                Object::String(bytes, _) => Operand::String(bytes.clone()),
                Object::Name(name) => Operand::Name(name.clone()),
                Object::Array(items) => Operand::Array(items.iter().map(operand).collect()),
                _ => Operand::Other,
            }
        }
        let decoded = lopdf::content::Content::decode(content).ok()?;
        Some(
            decoded
                .operations
                .iter()
                .filter(|op| op.operator != "BI")
                .map(|op| {
                    (
                        op.operator.as_bytes().to_vec(),
                        op.operands.iter().map(operand).collect(),
                    )
                })
                .collect(),
        )
    }

    /// Numbers compared as lopdf keeps them, in single precision.
    fn as_f32(operations: Vec<(Vec<u8>, Vec<Operand>)>) -> Vec<(Vec<u8>, Vec<Operand>)> {
        fn round(operand: Operand) -> Operand {
            match operand {
                Operand::Number(n) => Operand::Number(f64::from(n as f32)),
                Operand::Array(items) => Operand::Array(items.into_iter().map(round).collect()),
                other => other,
            }
        }
        operations
            .into_iter()
            .map(|(op, operands)| (op, operands.into_iter().map(round).collect()))
            .collect()
    }

    fn random_operand(rng: &mut crate::test_rng::Rng, depth: u32) -> String {
        const LITERALS: [&str; 10] = [
            "(Maria Garcia)",
            "(a \\(b\\) c)",
            "(nested (paren) ok)",
            "(tab\\there\\nnew)",
            "(oct\\053al\\7\\101)",
            "(back\\\\slash)",
            "(line\\\ncontinued)",
            "()",
            "(J\\351r\\364me)",
            "(x\\qy)",
        ];
        const HEX: [&str; 5] = ["<4A6F65>", "<4a 6f\n65>", "<ABC>", "<>", "<00030004>"];
        const NAMES: [&str; 5] = ["/F1", "/Helv-Bold", "/A#20B", "/T1_0", "/Fm1"];
        const NUMBERS: [&str; 9] = ["0", "12", "-3.5", ".5", "+4", "-.25", "612", "0.0001", "4."];
        match rng.below(if depth < 2 { 7 } else { 5 }) {
            0 => LITERALS[rng.below(10) as usize].to_string(),
            1 => HEX[rng.below(5) as usize].to_string(),
            2 => NAMES[rng.below(5) as usize].to_string(),
            3 | 4 => NUMBERS[rng.below(9) as usize].to_string(),
            5 => {
                let items: Vec<String> = (0..rng.below(5))
                    .map(|_| random_operand(rng, depth + 1))
                    .collect();
                format!("[{}]", items.join(" "))
            }
            _ => format!("<< /MCID {} /Lang (en) >>", rng.below(9)),
        }
    }

    #[test]
    fn operations_are_read_as_lopdf_reads_them() {
        const OPERATORS: [&str; 14] = [
            "BT", "ET", "Tf", "Td", "TD", "Tm", "Tj", "TJ", "T*", "'", "\"", "cm", "q", "Q",
        ];
        const SPACES: [&str; 5] = [" ", "\n", "\r\n", "  ", "\t"];
        let mut rng = crate::test_rng::Rng(0x0bad_cafe_f00d_2026);
        let mut compared = 0;
        for _ in 0..5_000 {
            let mut content = String::new();
            for _ in 0..rng.below(12) {
                for _ in 0..rng.below(4) {
                    content += &random_operand(&mut rng, 0);
                    content += SPACES[rng.below(5) as usize];
                }
                content += OPERATORS[rng.below(14) as usize];
                content += SPACES[rng.below(5) as usize];
                if rng.below(10) == 0 {
                    content += "% a comment\n";
                }
            }
            let Some(expected) = theirs(content.as_bytes()) else {
                continue;
            };
            compared += expected.len();
            assert_eq!(
                as_f32(ours(content.as_bytes())),
                as_f32(expected),
                "{content:?}"
            );
        }
        assert!(compared > 20_000, "{compared}");
    }

    #[test]
    fn an_inline_image_is_passed_over() {
        let content = b"BT /F1 12 Tf (before) Tj ET BI /W 4 /H 1 /BPC 8 /CS /G ID \x00EI)\xff( EI BT (after) Tj ET";
        let shown: Vec<Vec<u8>> = ours(content)
            .into_iter()
            .filter(|(op, _)| op == b"Tj")
            .flat_map(|(_, operands)| operands)
            .filter_map(|o| match o {
                Operand::String(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(shown, [b"before".to_vec(), b"after".to_vec()]);
    }

    #[test]
    fn plain_numbers_are_the_doubles_a_parse_gives() {
        const BYTES: &[u8] = b"0123456789.-+";
        let mut rng = crate::test_rng::Rng(0x5eed_0fd1_6175);
        let mut computed = 0;
        for _ in 0..200_000 {
            let len = 1 + rng.below(18) as usize;
            let word: Vec<u8> = (0..len)
                .map(|i| match rng.below(20) {
                    // Mostly digits, a point now and then, a sign in front.
                    0 if i == 0 => b'-',
                    1 => b'.',
                    2 => BYTES[rng.below(BYTES.len() as u64) as usize],
                    _ => b'0' + rng.below(10) as u8,
                })
                .collect();
            let parsed: Option<f64> = std::str::from_utf8(&word).unwrap().parse().ok();
            if let Some(value) = plain_number(&word) {
                computed += 1;
                assert_eq!(Some(value), parsed, "{}", String::from_utf8_lossy(&word));
            }
        }
        assert!(computed > 100_000, "{computed}");
        for word in ["72", "-3.5", ".5", "4.", "+0.0001", "612.000000000001"] {
            assert!(plain_number(word.as_bytes()).is_some(), "{word}");
        }
        for word in ["1.2.3", "--1", ".", "-", "1234567890123456"] {
            assert_eq!(plain_number(word.as_bytes()), None, "{word}");
        }
    }

    #[test]
    fn malformed_content_ends_without_a_panic() {
        for content in [
            &b"(unclosed"[..],
            b"<4a6",
            b"[[[[",
            b"<< /A << /B",
            b"BI /W 1 ID",
            b")))]]>>}{",
            b"/",
            b"-",
            b"\\",
        ] {
            ours(content);
        }
        let deep = "[".repeat(10_000);
        ours(deep.as_bytes());
    }
}
