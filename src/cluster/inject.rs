//! Parser for the `icclab.disco.dependencies.inject` attribute.
//!
//! DISCO sent a Python dictionary literal (`{'spark': '', 'hadoop': ''}`) and ran it through
//! `exec`. disco parses the literal as data: dictionaries, lists, strings, numbers,
//! `True`/`False`/`None` (and JSON's `true`/`false`/`null`). Strings take the escapes both
//! languages share (`\n`, `\t`, `\uXXXX`…); any other backslash is kept as written. Nothing is
//! ever evaluated.

use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 16;

/// Parses a Python-literal or JSON value.
pub fn parse_literal(text: &str) -> Result<Value, String> {
    let mut parser = Parser {
        chars: text.char_indices().peekable(),
        text,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    if let Some((i, _)) = parser.chars.peek() {
        return Err(format!("unexpected text at character {}", i + 1));
    }
    Ok(value)
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space();
        match self.chars.next() {
            Some((_, c)) if c == wanted => Ok(()),
            Some((i, c)) => Err(format!(
                "expected `{wanted}` at character {}, found `{c}`",
                i + 1
            )),
            None => Err(format!("expected `{wanted}`, but the text ended")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_space();
        let Some(&(start, c)) = self.chars.peek() else {
            return Err("expected a value, but the text ended".into());
        };
        match c {
            '{' => self.dict(depth),
            '[' | '(' => self.list(depth),
            '\'' | '"' => self.string().map(Value::String),
            'u' | 'U' if self.text[start + 1..].starts_with(['\'', '"']) => {
                self.chars.next();
                self.string().map(Value::String)
            }
            c if c == '-' || c.is_ascii_digit() => self.number(),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let word = self.word();
                match word.as_str() {
                    "True" | "true" => Ok(Value::Bool(true)),
                    "False" | "false" => Ok(Value::Bool(false)),
                    "None" | "null" => Ok(Value::Null),
                    _ => Err(format!(
                        "`{}` at character {} is not a literal (names and calls are not allowed)",
                        word.chars().take(40).collect::<String>(),
                        start + 1
                    )),
                }
            }
            c => Err(format!("unexpected `{c}` at character {}", start + 1)),
        }
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        word
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.expect('{')?;
        let mut map = Map::new();
        loop {
            self.skip_space();
            if self.chars.peek().is_some_and(|(_, c)| *c == '}') {
                self.chars.next();
                return Ok(Value::Object(map));
            }
            let key = match self.value(depth + 1)? {
                Value::String(key) => key,
                other => return Err(format!("dictionary keys must be strings, not {other}")),
            };
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("key `{key}` appears twice"));
            }
            self.skip_space();
            match self.chars.next() {
                Some((_, ',')) => continue,
                Some((_, '}')) => return Ok(Value::Object(map)),
                Some((i, c)) => {
                    return Err(format!(
                        "expected `,` or `}}` at character {}, found `{c}`",
                        i + 1
                    ))
                }
                None => return Err("the dictionary is not closed with `}`".into()),
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Value, String> {
        let close = match self.chars.next() {
            Some((_, '(')) => ')',
            _ => ']',
        };
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.chars.peek().is_some_and(|(_, c)| *c == close) {
                self.chars.next();
                return Ok(Value::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.chars.next() {
                Some((_, ',')) => continue,
                Some((_, c)) if c == close => return Ok(Value::Array(items)),
                Some((i, c)) => {
                    return Err(format!(
                        "expected `,` or `{close}` at character {}, found `{c}`",
                        i + 1
                    ))
                }
                None => return Err(format!("the list is not closed with `{close}`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let Some((_, quote)) = self.chars.next() else {
            return Err("expected a string".into());
        };
        let mut out = String::new();
        while let Some((_, c)) = self.chars.next() {
            match c {
                c if c == quote => return Ok(out),
                '\\' => match self.chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, '0')) => out.push('\0'),
                    Some((_, 'b')) => out.push('\u{8}'),
                    Some((_, 'f')) => out.push('\u{c}'),
                    Some((i, 'u')) => out.push(self.unicode_escape(i)?),
                    Some((_, c @ ('\\' | '\'' | '"' | '/'))) => out.push(c),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("a string is not closed".into())
    }

    /// The character of a `\uXXXX` escape whose `u` is at byte `at` (JSON's and Python's
    /// form; a UTF-16 surrogate pair is two escapes in a row, as JSON writes it).
    fn unicode_escape(&mut self, at: usize) -> Result<char, String> {
        let high = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            let low = match (self.chars.next(), self.chars.next()) {
                (Some((_, '\\')), Some((_, 'u'))) => self.hex4(at)?,
                _ => 0,
            };
            if !(0xDC00..0xE000).contains(&low) {
                return Err(format!(
                    "the \\u escape at character {at} is half a surrogate pair; \
                     write the character itself"
                ));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| {
            format!("the \\u escape at character {at} is not a character; write it itself")
        })
    }

    /// Four hex digits of a `\u` escape (whose `u` is at byte `at`).
    fn hex4(&mut self, at: usize) -> Result<u32, String> {
        let mut code = 0;
        for _ in 0..4 {
            match self.chars.next().and_then(|(_, c)| c.to_digit(16)) {
                Some(digit) => code = code * 16 + digit,
                None => {
                    return Err(format!(
                        "\\u at character {at} must be followed by four hex digits \
                         (write \\\\u for a backslash and a u)"
                    ))
                }
            }
        }
        Ok(code)
    }

    fn number(&mut self) -> Result<Value, String> {
        let mut text = String::new();
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                text.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discos_python_dictionary_parses_as_data() {
        assert_eq!(
            parse_literal("{'hadoop':'','spark':'','zeppelin':'','jupyter':''}").unwrap(),
            json!({"hadoop": "", "spark": "", "zeppelin": "", "jupyter": ""})
        );
    }

    #[test]
    fn json_and_python_forms_are_equivalent() {
        assert_eq!(
            parse_literal("{'shell': {'command': 'echo hi', 'n': 2, 'x': True, 'y': None}}")
                .unwrap(),
            parse_literal(r#"{"shell": {"command": "echo hi", "n": 2, "x": true, "y": null}}"#)
                .unwrap()
        );
    }

    #[test]
    fn code_is_rejected_not_executed() {
        for hostile in [
            "__import__('os').system('id')",
            "{'a': open('/etc/passwd').read()}",
            "{'a': ''} or exec('x')",
            "{**x}",
        ] {
            assert!(parse_literal(hostile).is_err(), "{hostile} was accepted");
        }
    }

    #[test]
    fn escapes_and_trailing_commas_follow_python() {
        assert_eq!(
            parse_literal(r"{'a': 'it\'s', 'b': [1, 2,],}").unwrap(),
            json!({"a": "it's", "b": [1, 2]})
        );
    }

    #[test]
    fn unclosed_and_duplicate_forms_are_rejected() {
        assert!(parse_literal("{'a': ''").is_err());
        assert!(parse_literal("{'a': 'x").is_err());
        assert!(parse_literal("{'a': 1, 'a': 2}").is_err());
        assert!(parse_literal("{1: 2}").is_err());
    }

    #[test]
    fn unicode_escapes_are_decoded_as_json_and_python_do() {
        assert_eq!(
            parse_literal(r#"{"a": "caf\u00e9 \ud83d\ude00 \b\f", 'b': 'caf\u00E9'}"#).unwrap(),
            json!({"a": "café 😀 \u{8}\u{c}", "b": "café"})
        );
    }

    #[test]
    fn broken_unicode_escapes_are_rejected_with_what_to_write() {
        for (text, says) in [
            (r"'\ud800'", "half a surrogate pair"),
            (r"'\ud800\u0041'", "half a surrogate pair"),
            (r"'\udc00'", "not a character"),
            (r"'\u12'", "four hex digits"),
            (r"'C:\users'", "four hex digits"),
        ] {
            let error = parse_literal(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    /// Found by fuzzing (fuzz/ `inject`): JSON writes control characters as `\u0000`, which
    /// was read back as the six characters `\u0000`.
    #[test]
    fn a_parsed_value_rendered_as_json_parses_back_to_itself() {
        for text in [
            "{'spa\u{0}3': '', 'b': '\u{1f}\u{8}\u{c}\u{7f}'}",
            "{'x': ['\\\\', \"'\", '\u{2028}', -0.0, 1e300, -9223372036854775808]}",
        ] {
            let value = parse_literal(text).unwrap();
            assert_eq!(parse_literal(&value.to_string()).unwrap(), value, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_literal(&deep).unwrap_err().contains("nested"));
    }
}
